// AVX2 + FMA + F16C wrapper: 8 float32 lanes. Include only from a file compiled for AVX2.
#pragma once
#include <immintrin.h>

#include <cstdint>

#include "philoxinit/philox.hpp"

namespace philoxinit {
namespace detail {

struct Avx2Vec {
  static constexpr int N = 8;
  using F = __m256;
  using U = __m256i;
  using M = __m256;

  static U loadu(const uint32_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static U set1u(uint32_t v) { return _mm256_set1_epi32(int(v)); }
  template <int S>
  static U srli(U a) { return _mm256_srli_epi32(a, S); }
  template <int S>
  static U srai(U a) { return _mm256_srai_epi32(a, S); }
  template <int S>
  static U slli(U a) { return _mm256_slli_epi32(a, S); }
  static U or_(U a, U b) { return _mm256_or_si256(a, b); }
  static U and_u(U a, U b) { return _mm256_and_si256(a, b); }
  static U add_u(U a, U b) { return _mm256_add_epi32(a, b); }
  static U sub_u(U a, U b) { return _mm256_sub_epi32(a, b); }
  static F cvt_i32(U a) { return _mm256_cvtepi32_ps(a); }

  static F set1(float v) { return _mm256_set1_ps(v); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F fma(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fnma(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  static F sqrt(F a) { return _mm256_sqrt_ps(a); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F abs(F a) { return _mm256_castsi256_ps(_mm256_and_si256(_mm256_castps_si256(a), _mm256_set1_epi32(0x7fffffff))); }
  static F neg(F a) { return _mm256_xor_ps(a, _mm256_set1_ps(-0.0f)); }
  static F bits_f(U a) { return _mm256_castsi256_ps(a); }
  static U bits_u(F a) { return _mm256_castps_si256(a); }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static bool all(M m) { return _mm256_movemask_ps(m) == 0xff; }
  static F select(M m, F a, F b) { return _mm256_blendv_ps(b, a, m); }
  static F fma_f64(F u, double range, double low) {
    const __m256d r = _mm256_set1_pd(range), l = _mm256_set1_pd(low);
    const __m256d lo = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(u)), r, l);
    const __m256d hi = _mm256_fmadd_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(u, 1)), r, l);
    return _mm256_set_m128(_mm256_cvtpd_ps(hi), _mm256_cvtpd_ps(lo));
  }

  static __m128i to_f16(F v) { return _mm256_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static __m128i to_bf16(F v) {
    const __m256i x = _mm256_castps_si256(v);
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(x, 16), _mm256_set1_epi32(1));
    const __m256i r = _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(x, _mm256_set1_epi32(0x7fff)), lsb), 16);
    return _mm256_castsi256_si128(_mm256_permute4x64_epi64(_mm256_packus_epi32(r, r), 0x08));
  }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
  static void store_f16(uint16_t* p, F v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_f16(v)); }
  static void store_bf16(uint16_t* p, F v) { _mm_storeu_si128(reinterpret_cast<__m128i*>(p), to_bf16(v)); }
  // Non-temporal stores (p aligned to the vector's size) and the fence that orders them.
  static void stream(float* p, F v) { _mm256_stream_ps(p, v); }
  static void stream_f16(uint16_t* p, F v) { _mm_stream_si128(reinterpret_cast<__m128i*>(p), to_f16(v)); }
  static void stream_bf16(uint16_t* p, F v) { _mm_stream_si128(reinterpret_cast<__m128i*>(p), to_bf16(v)); }
  static void stream_fence() { _mm_sfence(); }
};

// Philox4x32-10 for 16 blocks at once: four independent groups of 4 blocks interleaved (the
// rounds are a latency chain of multiply, shift and XOR), each block's state word in the low
// half of a 64-bit lane: one vpmuludq gives the full 64-bit product, a 64-bit shift its high
// half, and the high garbage the lanes carry never reaches a low half. Writes the 64 words in
// stream order.
struct Avx2Philox {
  static constexpr int kGroups = 4;
  static constexpr int kBlocks = 4 * kGroups;
  static inline void blocks(uint32_t* dst, uint64_t block, uint64_t seed, uint64_t stream) {
    __m256i c0[kGroups], c1[kGroups], c2[kGroups], c3[kGroups];
    for (int g = 0; g < kGroups; ++g) {
      c0[g] = _mm256_add_epi64(_mm256_set1_epi64x(int64_t(block + 4 * g)), _mm256_set_epi64x(3, 2, 1, 0));
      c1[g] = _mm256_srli_epi64(c0[g], 32);
      c2[g] = _mm256_set1_epi64x(int64_t(uint32_t(stream)));
      c3[g] = _mm256_set1_epi64x(int64_t(stream >> 32));
    }
    const __m256i m0 = _mm256_set1_epi64x(kPhiloxM0), m1 = _mm256_set1_epi64x(kPhiloxM1);
    uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
    for (int r = 0; r < kPhiloxRounds; ++r) {
      if (r > 0) {
        k0 += kPhiloxW0;
        k1 += kPhiloxW1;
      }
      const __m256i key0 = _mm256_set1_epi64x(k0), key1 = _mm256_set1_epi64x(k1);
      for (int g = 0; g < kGroups; ++g) {
        const __m256i p0 = _mm256_mul_epu32(c0[g], m0);
        const __m256i p1 = _mm256_mul_epu32(c2[g], m1);
        c0[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p1, 32), c1[g]), key0);
        c1[g] = p1;
        c2[g] = _mm256_xor_si256(_mm256_xor_si256(_mm256_srli_epi64(p0, 32), c3[g]), key1);
        c3[g] = p0;
      }
    }
    for (int g = 0; g < kGroups; ++g) {
      const __m256i a = _mm256_blend_epi32(c0[g], _mm256_slli_epi64(c1[g], 32), 0xaa);  // words 0,1
      const __m256i b = _mm256_blend_epi32(c2[g], _mm256_slli_epi64(c3[g], 32), 0xaa);  // words 2,3
      const __m256i lo = _mm256_unpacklo_epi64(a, b), hi = _mm256_unpackhi_epi64(a, b);
      __m256i* out = reinterpret_cast<__m256i*>(dst + 16 * g);
      _mm256_storeu_si256(out, _mm256_permute2x128_si256(lo, hi, 0x20));
      _mm256_storeu_si256(out + 1, _mm256_permute2x128_si256(lo, hi, 0x31));
    }
  }
};

}  // namespace detail
}  // namespace philoxinit
