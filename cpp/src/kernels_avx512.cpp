// AVX-512 F/DQ/BW/VL kernels (this file alone is compiled with the AVX-512 flags).
#include "simd_avx512.hpp"

#include "distributions.hpp"
#include "words.hpp"

namespace philoxinit {
namespace detail {

const KernelTable* kernels_avx512() {
  static const KernelTable table{Isa::avx512, simd_words<Avx512Philox>,
                                 Transforms32<Avx512Vec>::uniform, Transforms32<Avx512Vec>::normal,
                                 Transforms32<Avx512Vec>::trunc, Avx512Vec::stream_fence};
  return &table;
}

}  // namespace detail
}  // namespace philoxinit
