// Internal interface between the fill driver (fill.cpp) and the per-ISA kernels.
#pragma once
#include <cstddef>
#include <cstdint>

#include "philoxinit/core.hpp"

namespace philoxinit {
namespace detail {

// Per-fill constants, derived once from the user's parameters (params.cpp, docs/stream.md §3-4).
struct UniformParams {
  double low, range;       // float64 outputs (and infinite range32): t = fma(u, range, low) in float64
  float low32, range32;    // float32 family: t = fma(u, range32, low32) in float32
  float below_high32;      // largest float32 < high
  double below_high64;     // largest float64 < high
};

struct NormalParams {
  float mean32, std32;
  double mean64, std64;
};

struct TruncParams {
  float pa, qb, h, d, xm, mean, std, lo, hi;  // lo/hi: [a, b] rounded inwards to float32
  double pa64, qb64, h64, d64, xm64, mean64, std64, lo64, hi64;
};

// One ISA's kernels. `words` holds the element's Philox words (one per element for the 32-bit
// family, two per element for float64); `out` points at element 0 of the piece being written.
// `stream`: write with non-temporal stores (out must then be 64-byte aligned), after which the
// writing thread runs stream_fence.
struct KernelTable {
  Isa isa;
  void (*gen_words)(uint32_t* dst, uint64_t first_word, size_t count, uint64_t seed,
                    uint64_t stream);
  void (*uniform32)(const uint32_t* words, void* out, size_t n, DType dtype, bool stream,
                    const UniformParams& p);
  void (*normal32)(const uint32_t* words, void* out, size_t n, DType dtype, bool stream,
                   const NormalParams& p);
  void (*trunc32)(const uint32_t* words, void* out, size_t n, DType dtype, bool stream,
                  const TruncParams& p);
  void (*stream_fence)();
};

const KernelTable& kernels_scalar();
const KernelTable* kernels_avx2();    // nullptr when not compiled in
const KernelTable* kernels_avx512();  // nullptr when not compiled in
const KernelTable* kernels_avx512bf16();  // kernels_avx512 with AVX512_BF16 bfloat16 stores

// float64 transforms: one portable implementation for every ISA (docs/stream.md §4).
void uniform64(const uint32_t* words, double* out, size_t n, const UniformParams& p);
void normal64(const uint32_t* words, double* out, size_t n, const NormalParams& p);
void trunc64(const uint32_t* words, double* out, size_t n, const TruncParams& p);

UniformParams make_uniform_params(DType dtype, double low, double high);
NormalParams make_normal_params(DType dtype, double mean, double std);
TruncParams make_trunc_params(DType dtype, double mean, double std, double a, double b);

}  // namespace detail
}  // namespace philoxinit
