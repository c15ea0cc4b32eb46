// AVX-512 (F, DQ, BW, VL) wrapper: 16 float32 lanes. Include only from a file compiled for it.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "philoxinit/philox.hpp"

namespace philoxinit {
namespace detail {

struct Avx512Vec {
  static constexpr int N = 16;
  using F = __m512;
  using U = __m512i;
  using M = __mmask16;

  static U loadu(const uint32_t* p) { return _mm512_loadu_si512(p); }
  static U set1u(uint32_t v) { return _mm512_set1_epi32(int(v)); }
  template <int S>
  static U srli(U a) { return _mm512_srli_epi32(a, S); }
  template <int S>
  static U srai(U a) { return _mm512_srai_epi32(a, S); }
  template <int S>
  static U slli(U a) { return _mm512_slli_epi32(a, S); }
  static U or_(U a, U b) { return _mm512_or_si512(a, b); }
  static U and_u(U a, U b) { return _mm512_and_si512(a, b); }
  static U add_u(U a, U b) { return _mm512_add_epi32(a, b); }
  static U sub_u(U a, U b) { return _mm512_sub_epi32(a, b); }
  static F cvt_i32(U a) { return _mm512_cvtepi32_ps(a); }

  static F set1(float v) { return _mm512_set1_ps(v); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnma(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static F sqrt(F a) { return _mm512_sqrt_ps(a); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F abs(F a) { return _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a), _mm512_set1_epi32(0x7fffffff))); }
  static F neg(F a) { return _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(a), _mm512_set1_epi32(int(0x80000000u)))); }
  static F bits_f(U a) { return _mm512_castsi512_ps(a); }
  static U bits_u(F a) { return _mm512_castps_si512(a); }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static bool all(M m) { return m == 0xffff; }
  static F select(M m, F a, F b) { return _mm512_mask_blend_ps(m, b, a); }
  static F fma_f64(F u, double range, double low) {
    const __m512d r = _mm512_set1_pd(range), l = _mm512_set1_pd(low);
    const __m512d lo = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm512_castps512_ps256(u)), r, l);
    const __m512d hi = _mm512_fmadd_pd(_mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(u), 1))), r, l);
    return _mm512_insertf32x8(_mm512_castps256_ps512(_mm512_cvtpd_ps(lo)), _mm512_cvtpd_ps(hi), 1);
  }

  static __m256i to_f16(F v) { return _mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static __m256i to_bf16(F v) {
    const __m512i x = _mm512_castps_si512(v);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(_mm512_add_epi32(_mm512_add_epi32(x, _mm512_set1_epi32(0x7fff)), lsb), 16));
  }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
  static void store_f16(uint16_t* p, F v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), to_f16(v)); }
  static void store_bf16(uint16_t* p, F v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), to_bf16(v)); }
  // Non-temporal stores (p aligned to the vector's size) and the fence that orders them.
  static void stream(float* p, F v) { _mm512_stream_ps(p, v); }
  static void stream_f16(uint16_t* p, F v) { _mm256_stream_si256(reinterpret_cast<__m256i*>(p), to_f16(v)); }
  static void stream_bf16(uint16_t* p, F v) { _mm256_stream_si256(reinterpret_cast<__m256i*>(p), to_bf16(v)); }
  static void stream_fence() { _mm_sfence(); }
};

#ifdef __AVX512BF16__
// Avx512Vec with bfloat16 conversion by VCVTNEPS2BF16 (Zen 4, Sapphire Rapids and later): one
// instruction instead of the integer rounding. It rounds to nearest even as the integer path
// does, but reads float32 subnormals as zero, so a vector holding one takes the integer path.
struct Avx512Bf16Vec : Avx512Vec {
  static __m256i to_bf16(F v) {
    if (_mm512_fpclass_ps_mask(v, 0x20)) return Avx512Vec::to_bf16(v);  // 0x20: subnormal
    return reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(v));
  }
  static void store_bf16(uint16_t* p, F v) { _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), to_bf16(v)); }
  static void stream_bf16(uint16_t* p, F v) { _mm256_stream_si256(reinterpret_cast<__m256i*>(p), to_bf16(v)); }
};
#endif

// Philox4x32-10 for 32 blocks at once: four interleaved groups of 8 blocks in 64-bit lanes
// (see Avx2Philox); the three-way XOR is one vpternlogq.
struct Avx512Philox {
  static constexpr int kGroups = 8;
  static constexpr int kBlocks = 8 * kGroups;
  static inline void blocks(uint32_t* dst, uint64_t block, uint64_t seed, uint64_t stream) {
    __m512i c0[kGroups], c1[kGroups], c2[kGroups], c3[kGroups];
    for (int g = 0; g < kGroups; ++g) {
      c0[g] = _mm512_add_epi64(_mm512_set1_epi64(int64_t(block + 8 * g)), _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0));
      c1[g] = _mm512_srli_epi64(c0[g], 32);
      c2[g] = _mm512_set1_epi64(int64_t(uint32_t(stream)));
      c3[g] = _mm512_set1_epi64(int64_t(stream >> 32));
    }
    const __m512i m0 = _mm512_set1_epi64(kPhiloxM0), m1 = _mm512_set1_epi64(kPhiloxM1);
    uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
    for (int r = 0; r < kPhiloxRounds; ++r) {
      if (r > 0) {
        k0 += kPhiloxW0;
        k1 += kPhiloxW1;
      }
      const __m512i key0 = _mm512_set1_epi64(k0), key1 = _mm512_set1_epi64(k1);
      for (int g = 0; g < kGroups; ++g) {
        const __m512i p0 = _mm512_mul_epu32(c0[g], m0);
        const __m512i p1 = _mm512_mul_epu32(c2[g], m1);
        c0[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p1, 32), c1[g], key0, 0x96);
        c1[g] = p1;
        c2[g] = _mm512_ternarylogic_epi64(_mm512_srli_epi64(p0, 32), c3[g], key1, 0x96);
        c3[g] = p0;
      }
    }
    const __m512i first = _mm512_set_epi64(11, 3, 10, 2, 9, 1, 8, 0);
    const __m512i second = _mm512_set_epi64(15, 7, 14, 6, 13, 5, 12, 4);
    for (int g = 0; g < kGroups; ++g) {
      const __m512i a = _mm512_mask_blend_epi32(0xaaaa, c0[g], _mm512_slli_epi64(c1[g], 32));
      const __m512i b = _mm512_mask_blend_epi32(0xaaaa, c2[g], _mm512_slli_epi64(c3[g], 32));
      _mm512_storeu_si512(dst + 32 * g, _mm512_permutex2var_epi64(a, first, b));
      _mm512_storeu_si512(dst + 32 * g + 16, _mm512_permutex2var_epi64(a, second, b));
    }
  }
};

}  // namespace detail
}  // namespace philoxinit
