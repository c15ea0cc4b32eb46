// AVX-512 kernels with AVX512_BF16 bfloat16 stores (this file alone is compiled with the AVX-512
// flags plus -mavx512bf16). Same bits as kernels_avx512.cpp; chosen by fill.cpp when the CPU
// has AVX512_BF16.
#include "simd_avx512.hpp"

#include "distributions.hpp"
#include "words.hpp"

namespace philoxinit {
namespace detail {

const KernelTable* kernels_avx512bf16() {
  static const KernelTable table{Isa::avx512, simd_words<Avx512Philox>,
                                 Transforms32<Avx512Bf16Vec>::uniform,
                                 Transforms32<Avx512Bf16Vec>::normal,
                                 Transforms32<Avx512Bf16Vec>::trunc, Avx512Bf16Vec::stream_fence};
  return &table;
}

}  // namespace detail
}  // namespace philoxinit
