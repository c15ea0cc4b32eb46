// AVX2 + FMA + F16C kernels (this file alone is compiled with -mavx2 -mfma -mf16c).
#include "simd_avx2.hpp"

#include "distributions.hpp"
#include "words.hpp"

namespace philoxinit {
namespace detail {

const KernelTable* kernels_avx2() {
  static const KernelTable table{Isa::avx2, simd_words<Avx2Philox>, Transforms32<Avx2Vec>::uniform,
                                 Transforms32<Avx2Vec>::normal, Transforms32<Avx2Vec>::trunc,
                                 Avx2Vec::stream_fence};
  return &table;
}

}  // namespace detail
}  // namespace philoxinit
