// The float32 distribution maps of docs/stream.md §3, written once over a vector wrapper V
// (ScalarVec, Avx2Vec, Avx512Vec). Every ISA instantiates this same source, and every step is
// an exactly rounded IEEE operation, so all ISAs produce the same bits.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels.hpp"
#include "simd_scalar.hpp"

#if defined(__GNUC__)
#define PXI_INLINE inline __attribute__((always_inline))
#else
#define PXI_INLINE inline
#endif

namespace philoxinit {
namespace detail {

constexpr double kSqrt2 = 1.41421356237309504880;

// M. Giles' single-precision erfinv polynomials, each coefficient times sqrt(2) (so the result
// is the normal quantile, not erfinv), highest degree first.
constexpr float kCentral[9] = {
    float(2.81022636e-08 * kSqrt2),  float(3.43273939e-07 * kSqrt2),
    float(-3.5233877e-06 * kSqrt2),  float(-4.39150654e-06 * kSqrt2),
    float(0.00021858087 * kSqrt2),   float(-0.00125372503 * kSqrt2),
    float(-0.00417768164 * kSqrt2),  float(0.246640727 * kSqrt2),
    float(1.50140941 * kSqrt2)};
constexpr float kTail[9] = {
    float(-0.000200214257 * kSqrt2), float(0.000100950558 * kSqrt2),
    float(0.00134934322 * kSqrt2),   float(-0.00367342844 * kSqrt2),
    float(0.00573950773 * kSqrt2),   float(-0.0076224613 * kSqrt2),
    float(0.00943887047 * kSqrt2),   float(1.00167406 * kSqrt2),
    float(2.83297682 * kSqrt2)};
// philoxinit's own fit of ndtri(p) / (2p - 1) against s = sqrt(-log(4p(1-p))) - 4 for
// -log(4p(1-p)) in [16, 88.8] (p down to FLT_MIN): relative error < 2.4e-7. Needed only by
// truncated-normal windows beyond 5.4 sigma, which a 24-bit normal_ never reaches.
constexpr float kFarTail[8] = {-1.94661723e-07f, 4.67901054e-06f, -4.86419704e-05f,
                               0.000290008058f,  -0.0010713184f,  0.0016985808f,
                               1.42765641f,      5.43027353f};

template <class V, int K>
PXI_INLINE typename V::F horner(const float (&c)[K], typename V::F s) {
  typename V::F p = V::set1(c[0]);
  for (int i = 1; i < K; ++i) p = V::fma(p, s, V::set1(c[i]));
  return p;
}

// Natural log for positive normal float32 (Cephes logf): t = 2^e * m, m in [sqrt(1/2), sqrt 2).
template <class V>
PXI_INLINE typename V::F log_f32(typename V::F t) {
  using F = typename V::F;
  using U = typename V::U;
  const U bits = V::bits_u(t);
  const U exponent = V::sub_u(V::template srli<23>(bits), V::set1u(126));
  F e = V::cvt_i32(exponent);
  F m = V::bits_f(V::or_(V::and_u(bits, V::set1u(0x807fffffu)), V::set1u(0x3f000000u)));  // [0.5, 1)
  const auto small = V::lt(m, V::set1(0.707106781186547524f));
  // m < sqrt(1/2): use 2m - 1 and e - 1 (both exact)
  const F f = V::sub(V::add(m, V::select(small, m, V::set1(0.0f))), V::set1(1.0f));
  e = V::sub(e, V::select(small, V::set1(1.0f), V::set1(0.0f)));
  const F z = V::mul(f, f);
  F y = V::set1(7.0376836292e-2f);
  y = V::fma(y, f, V::set1(-1.1514610310e-1f));
  y = V::fma(y, f, V::set1(1.1676998740e-1f));
  y = V::fma(y, f, V::set1(-1.2420140846e-1f));
  y = V::fma(y, f, V::set1(1.4249322787e-1f));
  y = V::fma(y, f, V::set1(-1.6668057665e-1f));
  y = V::fma(y, f, V::set1(2.0000714765e-1f));
  y = V::fma(y, f, V::set1(-2.4999993993e-1f));
  y = V::fma(y, f, V::set1(3.3333331174e-1f));
  y = V::mul(V::mul(y, f), z);
  y = V::fma(e, V::set1(-2.12194440e-4f), y);
  y = V::fma(z, V::set1(-0.5f), y);
  F r = V::add(f, y);
  return V::fma(e, V::set1(0.693359375f), r);
}

// x = 2u' - 1 for the open uniform u' = (m + 1/2) 2^-24, m = w >> 8: exact in float32.
template <class V>
PXI_INLINE typename V::F centered_uniform(typename V::U w) {
  const auto k = V::sub_u(V::or_(V::template srli<7>(w), V::set1u(1)), V::set1u(1u << 24));
  return V::mul(V::cvt_i32(k), V::set1(0x1p-24f));
}

template <class V>
PXI_INLINE typename V::F uniform_value(typename V::U w, const UniformParams& p) {
  const auto u = V::mul(V::cvt_i32(V::template srli<8>(w)), V::set1(0x1p-24f));
  return V::min(V::fma_f64(u, p.range, p.low), V::set1(p.below_high32));
}

template <class V>
PXI_INLINE typename V::F normal_value(typename V::U w, const NormalParams& p) {
  using F = typename V::F;
  const F x = centered_uniform<V>(w);
  const F ax = V::abs(x);
  const F t = V::mul(V::sub(V::set1(1.0f), ax), V::add(V::set1(1.0f), ax));
  const F v = V::neg(log_f32<V>(t));
  const auto central = V::lt(v, V::set1(5.0f));
  F poly = horner<V>(kCentral, V::sub(v, V::set1(2.5f)));
  if (!V::all(central)) {  // |z| > 2.9: about 1 lane in 270
    const F tail = horner<V>(kTail, V::sub(V::sqrt(v), V::set1(3.0f)));
    poly = V::select(central, poly, tail);
  }
  return V::fma(V::mul(x, poly), V::set1(p.std32), V::set1(p.mean32));
}

template <class V>
PXI_INLINE typename V::F trunc_normal_value(typename V::U w, const TruncParams& p) {
  using F = typename V::F;
  const F xu = centered_uniform<V>(w);
  // cdf = Phi(alpha) + u' d and ccdf = Phi(-beta) + (1 - u') d as sums of positive terms, with
  // 2u' = 1 + xu exact where cdf is small and 2(1 - u') = 1 - xu exact where ccdf is small: each
  // keeps its full relative precision, however far out in a tail the window lies.
  const F cdf = V::fma(V::add(V::set1(1.0f), xu), V::set1(p.h), V::set1(p.pa));
  const F ccdf = V::fma(V::sub(V::set1(1.0f), xu), V::set1(p.h), V::set1(p.qb));
  const F x = V::fma(xu, V::set1(p.d), V::set1(p.xm));
  const F t = V::max(V::mul(V::mul(cdf, ccdf), V::set1(4.0f)), V::set1(0x1p-126f));
  const F v = V::neg(log_f32<V>(t));
  const auto central = V::lt(v, V::set1(5.0f));
  F poly = horner<V>(kCentral, V::sub(v, V::set1(2.5f)));
  if (!V::all(central)) {
    const F s = V::sqrt(v);
    const auto near = V::lt(v, V::set1(16.0f));
    F tail = horner<V>(kTail, V::sub(s, V::set1(3.0f)));
    if (!V::all(near)) tail = V::select(near, tail, horner<V>(kFarTail, V::sub(s, V::set1(4.0f))));
    poly = V::select(central, poly, tail);
  }
  const F y = V::fma(V::mul(x, poly), V::set1(p.std), V::set1(p.mean));
  return V::min(V::max(y, V::set1(p.lo)), V::set1(p.hi));
}

// Applies `value` to n words and stores in the requested dtype: full vectors with V, the
// remainder with the one-lane wrapper (same operations, so the same bits).
template <class V, class ValueFn>
PXI_INLINE void transform32(const uint32_t* words, void* out, size_t n, DType dtype,
                            ValueFn value) {
  const size_t full = n - n % V::N;
  switch (dtype) {
    case DType::f32: {
      float* o = static_cast<float*>(out);
      for (size_t i = 0; i < full; i += V::N) V::store(o + i, value(V(), V::loadu(words + i)));
      for (size_t i = full; i < n; ++i) ScalarVec::store(o + i, value(ScalarVec(), words[i]));
      break;
    }
    case DType::f16: {
      uint16_t* o = static_cast<uint16_t*>(out);
      for (size_t i = 0; i < full; i += V::N) V::store_f16(o + i, value(V(), V::loadu(words + i)));
      for (size_t i = full; i < n; ++i) ScalarVec::store_f16(o + i, value(ScalarVec(), words[i]));
      break;
    }
    case DType::bf16: {
      uint16_t* o = static_cast<uint16_t*>(out);
      for (size_t i = 0; i < full; i += V::N)
        V::store_bf16(o + i, value(V(), V::loadu(words + i)));
      for (size_t i = full; i < n; ++i) ScalarVec::store_bf16(o + i, value(ScalarVec(), words[i]));
      break;
    }
    case DType::f64:
      break;  // float64 has its own two-word transforms
  }
}

// The kernel table entries for one ISA.
template <class V>
struct Transforms32 {
  static void uniform(const uint32_t* w, void* out, size_t n, DType dt, const UniformParams& p) {
    transform32<V>(w, out, n, dt, [&](auto tag, auto word) {
      return uniform_value<decltype(tag)>(word, p);
    });
  }
  static void normal(const uint32_t* w, void* out, size_t n, DType dt, const NormalParams& p) {
    transform32<V>(w, out, n, dt, [&](auto tag, auto word) {
      return normal_value<decltype(tag)>(word, p);
    });
  }
  static void trunc(const uint32_t* w, void* out, size_t n, DType dt, const TruncParams& p) {
    transform32<V>(w, out, n, dt, [&](auto tag, auto word) {
      return trunc_normal_value<decltype(tag)>(word, p);
    });
  }
};

}  // namespace detail
}  // namespace philoxinit
