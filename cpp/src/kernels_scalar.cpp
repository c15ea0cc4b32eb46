// Portable kernels: the definition every SIMD path is tested against, and the path used on
// CPUs (or compilers) without AVX2.
#include "distributions.hpp"
#include "words.hpp"

namespace philoxinit {
namespace detail {

const KernelTable& kernels_scalar() {
  static const KernelTable table{Isa::scalar, scalar_words, Transforms32<ScalarVec>::uniform,
                                 Transforms32<ScalarVec>::normal, Transforms32<ScalarVec>::trunc,
                                 ScalarVec::stream_fence};
  return table;
}

}  // namespace detail
}  // namespace philoxinit
