// One-lane "vector": the portable definition of every operation the SIMD wrappers provide.
// Each op here is the exact IEEE operation the AVX2/AVX-512 instruction performs, including
// min/max's choice of operand (so signed zeros match), which is what makes every ISA give the
// same bits.
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace philoxinit {
namespace detail {

inline float bits_to_float(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline uint32_t float_to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// Round-to-nearest-even float32 -> IEEE binary16 (F. Giesen's float_to_half_fast3_rtne), the
// same result as F16C's vcvtps2ph with rounding mode 0.
inline uint16_t float_to_half(float value) {
  uint32_t x = float_to_bits(value);
  const uint32_t sign = (x >> 16) & 0x8000u;
  x &= 0x7fffffffu;
  if (x >= 0x7f800000u) return uint16_t(sign | (x > 0x7f800000u ? 0x7e00u : 0x7c00u));
  if (x >= 0x477ff000u) return uint16_t(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (x < 0x38800000u) {                                     // half subnormal or zero
    // Adding 0.5 puts the half subnormal ulp (2^-24) at the float's last place, so the FPU's
    // round-to-nearest-even does the rounding.
    const float t = bits_to_float(x) + 0.5f;
    return uint16_t(sign | (float_to_bits(t) - 0x3f000000u));
  }
  const uint32_t odd = (x >> 13) & 1u;
  x += 0xc8000fffu + odd;  // rebias exponent by -112 and round to nearest even
  return uint16_t(sign | (x >> 13));
}

// Round-to-nearest-even float32 -> bfloat16 (finite inputs).
inline uint16_t float_to_bfloat16(float value) {
  const uint32_t x = float_to_bits(value);
  return uint16_t((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

struct ScalarVec {
  static constexpr int N = 1;
  using F = float;
  using U = uint32_t;
  using M = bool;

  static U loadu(const uint32_t* p) { return *p; }
  static U set1u(uint32_t v) { return v; }
  template <int S>
  static U srli(U a) { return a >> S; }
  template <int S>
  static U srai(U a) { return uint32_t(int32_t(a) >> S); }  // arithmetic (C++20 defines it; gcc/clang/msvc always did)
  template <int S>
  static U slli(U a) { return a << S; }
  static U or_(U a, U b) { return a | b; }
  static U sub_u(U a, U b) { return a - b; }
  static F cvt_i32(U a) { return float(int32_t(a)); }

  static F set1(float v) { return v; }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F fma(F a, F b, F c) { return std::fma(a, b, c); }
  static F fnma(F a, F b, F c) { return std::fma(-a, b, c); }  // c - a b, rounded once
  static F sqrt(F a) { return std::sqrt(a); }
  static F min(F a, F b) { return a < b ? a : b; }  // as minps: the second operand unless a < b
  static F max(F a, F b) { return a > b ? a : b; }  // as maxps
  static F abs(F a) { return bits_to_float(float_to_bits(a) & 0x7fffffffu); }
  static F neg(F a) { return bits_to_float(float_to_bits(a) ^ 0x80000000u); }
  static F bits_f(U a) { return bits_to_float(a); }
  static U bits_u(F a) { return float_to_bits(a); }
  static U and_u(U a, U b) { return a & b; }
  static U add_u(U a, U b) { return a + b; }
  static M lt(F a, F b) { return a < b; }
  static bool all(M m) { return m; }
  static F select(M m, F a, F b) { return m ? a : b; }
  // float32(fma(double(u), range, low)): the uniform map of docs/stream.md §3.
  static F fma_f64(F u, double range, double low) { return float(std::fma(double(u), range, low)); }

  static void store(float* p, F v) { *p = v; }
  static void store_f16(uint16_t* p, F v) { *p = float_to_half(v); }
  static void store_bf16(uint16_t* p, F v) { *p = float_to_bfloat16(v); }
  // No portable non-temporal store: plain stores, which need no fence.
  static void stream(float* p, F v) { store(p, v); }
  static void stream_f16(uint16_t* p, F v) { store_f16(p, v); }
  static void stream_bf16(uint16_t* p, F v) { store_bf16(p, v); }
  static void stream_fence() {}
};

}  // namespace detail
}  // namespace philoxinit
