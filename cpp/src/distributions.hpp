// The float32 distribution maps of docs/stream.md §3, written once over a vector wrapper V
// (ScalarVec, Avx2Vec, Avx512Vec). Every ISA instantiates this same source, and every step is
// an exactly rounded IEEE operation, so all ISAs produce the same bits.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <type_traits>

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

// The maps below work on K independent vectors at once, each step looping over the K vectors:
// log and the polynomials are long latency chains, and interleaving K of them keeps the FMA
// units busy. K changes nothing in the result: every lane sees the same operations.
#define PXI_EACH(k) _Pragma("GCC unroll 8") for (int k = 0; k < K; ++k)

template <class V, int K, int C>
PXI_INLINE void horner(const float (&c)[C], const typename V::F (&s)[K], typename V::F (&p)[K]) {
  PXI_EACH(k) p[k] = V::set1(c[0]);
  for (int i = 1; i < C; ++i) PXI_EACH(k) p[k] = V::fma(p[k], s[k], V::set1(c[i]));
}

// -log(1 + f) / f on f in [-1/3, 1/3]: philoxinit's own degree-7 fit (Lawson-weighted least
// squares on |f| * error), highest degree first. With the float32 Horner evaluation,
// |f * poly(f) + log1p(f)| < 7e-8 over the interval. Only an absolute error matters here: the
// quantile is z = x * P(v - 2.5), and dz / z = P'/P dv with |P'/P| < 0.2.
constexpr float kNegLog1p[8] = {0.16079728f, -0.17469184f, 0.16266762f, -0.19726127f,
                                0.250176f,   -0.33341748f, 0.49999753f, -0.99999934f};

// v - 2.5 with v = -log(t), for positive normal float32 t <= 1. t = 2^e m with m in
// [2/3, 4/3) by integer arithmetic on the bits (e = (bits(t) - bits(2/3)) >> 23, arithmetic
// shift), so f = m - 1 is exact; then v = -e ln2 - log1p(f), ln2 split in two so e ln2 loses
// nothing. The 2.5 is the shift of the central erfinv polynomial, folded in here for free.
template <class V, int K>
PXI_INLINE void neg_log_minus_2p5(const typename V::F (&t)[K], typename V::F (&out)[K]) {
  using F = typename V::F;
  F e[K], f[K], y[K];
  PXI_EACH(k) {
    const auto bits = V::bits_u(t[k]);
    const auto ei = V::template srai<23>(V::sub_u(bits, V::set1u(0x3f2aaaabu)));
    f[k] = V::sub(V::bits_f(V::sub_u(bits, V::template slli<23>(ei))), V::set1(1.0f));
    e[k] = V::cvt_i32(ei);
  }
  horner<V, K>(kNegLog1p, f, y);
  PXI_EACH(k) {
    F r = V::fma(f[k], y[k], V::set1(-2.5f));
    r = V::fma(e[k], V::set1(2.12194440e-4f), r);
    out[k] = V::fma(e[k], V::set1(-0.693359375f), r);
  }
}

// x = 2u' - 1 for the open uniform u' = (m + 1/2) 2^-24, m = w >> 8: exact in float32.
template <class V>
PXI_INLINE typename V::F centered_uniform(typename V::U w) {
  const auto k = V::sub_u(V::or_(V::template srli<7>(w), V::set1u(1)), V::set1u(1u << 24));
  return V::mul(V::cvt_i32(k), V::set1(0x1p-24f));
}

// The normal quantile z = x * poly(v), v = -log((1-x)(1+x)) = -log(4 p q): Giles' central and
// tail polynomials, and for truncated windows beyond 16 the far-tail fit. The tail branches
// are evaluated only when some lane needs them.
// s = v - 2.5 on entry (neg_log_minus_2p5).
template <class V, int K>
PXI_INLINE void quantile_poly(const typename V::F (&s0)[K], bool far_tail, typename V::F (&poly)[K]) {
  using F = typename V::F;
  bool all_central = true;
  PXI_EACH(k) all_central = all_central && V::all(V::lt(s0[k], V::set1(2.5f)));
  horner<V, K>(kCentral, s0, poly);
  if (all_central) return;  // normal_: |z| > 2.9 in about 1 lane in 370
  F v[K], s[K], root[K], tail[K];
  bool all_near = true;
  PXI_EACH(k) {
    v[k] = V::add(s0[k], V::set1(2.5f));
    root[k] = V::sqrt(v[k]);
    s[k] = V::sub(root[k], V::set1(3.0f));
    all_near = all_near && V::all(V::lt(v[k], V::set1(16.0f)));
  }
  horner<V, K>(kTail, s, tail);
  if (far_tail && !all_near) {
    F far[K];
    PXI_EACH(k) s[k] = V::sub(root[k], V::set1(4.0f));
    horner<V, K>(kFarTail, s, far);
    PXI_EACH(k) tail[k] = V::select(V::lt(v[k], V::set1(16.0f)), tail[k], far[k]);
  }
  PXI_EACH(k) poly[k] = V::select(V::lt(s0[k], V::set1(2.5f)), poly[k], tail[k]);
}

// u = (w >> 8) 2^-24, then min(fma(u, R, L), below(high)) in float32 (R = float32(high - low),
// L = float32(low)), or, when R overflows float32, the fma in float64 (docs/stream.md §3).
template <bool kWide>
struct UniformMap {
  const UniformParams& p;
  template <class V, int K>
  PXI_INLINE void operator()(V, std::integral_constant<int, K>, const uint32_t* w,
                             typename V::F (&out)[K]) const {
    PXI_EACH(k) {
      const auto u = V::mul(V::cvt_i32(V::template srli<8>(V::loadu(w + k * V::N))), V::set1(0x1p-24f));
      const auto t = kWide ? V::fma_f64(u, p.range, p.low) : V::fma(u, V::set1(p.range32), V::set1(p.low32));
      out[k] = V::min(t, V::set1(p.below_high32));
    }
  }
};

struct NormalMap {
  const NormalParams& p;
  template <class V, int K>
  PXI_INLINE void operator()(V, std::integral_constant<int, K>, const uint32_t* w,
                             typename V::F (&out)[K]) const {
    using F = typename V::F;
    F x[K], t[K], v[K], poly[K];
    PXI_EACH(k) {
      x[k] = centered_uniform<V>(V::loadu(w + k * V::N));
      t[k] = V::fnma(x[k], x[k], V::set1(1.0f));  // (1-x)(1+x), rounded once
    }
    neg_log_minus_2p5<V, K>(t, v);
    quantile_poly<V, K>(v, false, poly);
    PXI_EACH(k) out[k] = V::fma(V::mul(x[k], poly[k]), V::set1(p.std32), V::set1(p.mean32));
  }
};

struct TruncNormalMap {
  const TruncParams& p;
  template <class V, int K>
  PXI_INLINE void operator()(V, std::integral_constant<int, K>, const uint32_t* w,
                             typename V::F (&out)[K]) const {
    using F = typename V::F;
    F x[K], t[K], v[K], poly[K];
    PXI_EACH(k) {
      const F xu = centered_uniform<V>(V::loadu(w + k * V::N));
      // cdf = Phi(alpha) + u' d and ccdf = Phi(-beta) + (1 - u') d as sums of positive terms,
      // with 2u' = 1 + xu exact where cdf is small and 2(1 - u') = 1 - xu exact where ccdf is
      // small: each keeps its full relative precision, however far out in a tail the window is.
      const F cdf = V::fma(V::add(V::set1(1.0f), xu), V::set1(p.h), V::set1(p.pa));
      const F ccdf = V::fma(V::sub(V::set1(1.0f), xu), V::set1(p.h), V::set1(p.qb));
      x[k] = V::fma(xu, V::set1(p.d), V::set1(p.xm));
      t[k] = V::max(V::mul(V::mul(cdf, ccdf), V::set1(4.0f)), V::set1(0x1p-126f));
    }
    neg_log_minus_2p5<V, K>(t, v);
    quantile_poly<V, K>(v, true, poly);
    PXI_EACH(k) {
      const F y = V::fma(V::mul(x[k], poly[k]), V::set1(p.std), V::set1(p.mean));
      out[k] = V::min(V::max(y, V::set1(p.lo)), V::set1(p.hi));
    }
  }
};

#undef PXI_EACH

template <class V, class Store, class Map>
PXI_INLINE void transform_store(const uint32_t* words, size_t n, const Map& map, Store store) {
  constexpr int kInterleave = 4;
  size_t i = 0;
  for (; i + kInterleave * V::N <= n; i += kInterleave * V::N) {
    typename V::F r[kInterleave];
    map(V(), std::integral_constant<int, kInterleave>(), words + i, r);
    for (int k = 0; k < kInterleave; ++k) store(V(), i + k * V::N, r[k]);
  }
  for (; i + V::N <= n; i += V::N) {
    typename V::F r[1];
    map(V(), std::integral_constant<int, 1>(), words + i, r);
    store(V(), i, r[0]);
  }
  for (; i < n; ++i) {  // the remainder: the same operations one lane at a time
    float r[1];
    map(ScalarVec(), std::integral_constant<int, 1>(), words + i, r);
    store(ScalarVec(), i, r[0]);
  }
}

// Applies `map` to n words and stores in the requested dtype: with plain stores, or, for a
// fill much larger than the caches (kStream, out aligned to 64 bytes), with non-temporal
// stores that write each output line once instead of reading it in first.
template <bool kStream, class V, class Map>
void transform32_stores(const uint32_t* words, void* out, size_t n, DType dtype, const Map& map) {
  switch (dtype) {
    case DType::f32: {
      float* o = static_cast<float*>(out);
      transform_store<V>(words, n, map, [o](auto tag, size_t i, auto v) {
        if constexpr (kStream) decltype(tag)::stream(o + i, v); else decltype(tag)::store(o + i, v);
      });
      break;
    }
    case DType::f16: {
      uint16_t* o = static_cast<uint16_t*>(out);
      transform_store<V>(words, n, map, [o](auto tag, size_t i, auto v) {
        if constexpr (kStream) decltype(tag)::stream_f16(o + i, v); else decltype(tag)::store_f16(o + i, v);
      });
      break;
    }
    case DType::bf16: {
      uint16_t* o = static_cast<uint16_t*>(out);
      transform_store<V>(words, n, map, [o](auto tag, size_t i, auto v) {
        if constexpr (kStream) decltype(tag)::stream_bf16(o + i, v); else decltype(tag)::store_bf16(o + i, v);
      });
      break;
    }
    case DType::f64:
      break;  // float64 has its own two-word transforms
  }
}

template <class V, class Map>
void transform32(const uint32_t* words, void* out, size_t n, DType dtype, bool stream, const Map& map) {
  if (stream)
    transform32_stores<true, V>(words, out, n, dtype, map);
  else
    transform32_stores<false, V>(words, out, n, dtype, map);
}

// The kernel table entries for one ISA.
template <class V>
struct Transforms32 {
  static void uniform(const uint32_t* w, void* out, size_t n, DType dt, bool stream, const UniformParams& p) {
    if (!std::isfinite(p.range32))  // a range wider than FLT_MAX: the float64 fma
      transform32<V>(w, out, n, dt, stream, UniformMap<true>{p});
    else
      transform32<V>(w, out, n, dt, stream, UniformMap<false>{p});
  }
  static void normal(const uint32_t* w, void* out, size_t n, DType dt, bool stream, const NormalParams& p) {
    transform32<V>(w, out, n, dt, stream, NormalMap{p});
  }
  static void trunc(const uint32_t* w, void* out, size_t n, DType dt, bool stream, const TruncParams& p) {
    transform32<V>(w, out, n, dt, stream, TruncNormalMap{p});
  }
};

}  // namespace detail
}  // namespace philoxinit
