// float64 transforms (docs/stream.md §4): two words per element, Wichura's AS241 quantile and
// philoxinit's own log, so the bits depend on nothing but IEEE arithmetic. One portable
// implementation serves every ISA.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "kernels.hpp"

namespace philoxinit {
namespace detail {
namespace {

inline uint64_t word_pair(const uint32_t* words, size_t i) {
  return uint64_t(words[2 * i]) | (uint64_t(words[2 * i + 1]) << 32);
}

inline double min_as_simd(double a, double b) { return a < b ? a : b; }
inline double max_as_simd(double a, double b) { return a > b ? a : b; }

// fdlibm's __ieee754_log for positive normal x: x = 2^k (1 + f), 1 + f in [sqrt(1/2), sqrt 2),
// log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2)), s = f / (2 + f).
double log64(double x) {
  constexpr double kLn2Hi = 6.93147180369123816490e-01, kLn2Lo = 1.90821492927058770002e-10;
  constexpr double kLg1 = 6.666666666666735130e-01, kLg2 = 3.999999999940941908e-01,
                   kLg3 = 2.857142874366239149e-01, kLg4 = 2.222219843214978396e-01,
                   kLg5 = 1.818357216161805012e-01, kLg6 = 1.531383769920937332e-01,
                   kLg7 = 1.479819860511658591e-01;
  uint64_t bits;
  std::memcpy(&bits, &x, 8);
  int k = int(bits >> 52) - 1023;
  bits = (bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull;
  double m;
  std::memcpy(&m, &bits, 8);
  if (m > 1.41421356237309504880) {
    m *= 0.5;
    k += 1;
  }
  const double f = m - 1.0;
  const double s = f / (2.0 + f);
  const double z = s * s, w = z * z;
  const double t1 = w * (kLg2 + w * (kLg4 + w * kLg6));
  const double t2 = z * (kLg1 + w * (kLg3 + w * (kLg5 + w * kLg7)));
  const double r = t2 + t1;
  const double hfsq = 0.5 * f * f;
  const double dk = double(k);
  return dk * kLn2Hi - ((hfsq - (s * (hfsq + r) + dk * kLn2Lo)) - f);
}

template <int K>
inline double poly(const double (&c)[K], double r) {
  double p = c[0];
  for (int i = 1; i < K; ++i) p = p * r + c[i];
  return p;
}

// Wichura, "The percentage points of the normal distribution", Applied Statistics 37 (1988),
// algorithm AS241 (PPND16): q = p - 1/2, tail = min(p, 1 - p), each carried accurately.
double ndtri_as241(double q, double tail) {
  static constexpr double a[8] = {2.5090809287301226727e+3, 3.3430575583588128105e+4,
                                  6.7265770927008700853e+4, 4.5921953931549871457e+4,
                                  1.3731693765509461125e+4, 1.9715909503065514427e+3,
                                  1.3314166789178437745e+2, 3.3871328727963666080e+0};
  static constexpr double b[8] = {5.2264952788528545610e+3, 2.8729085735721942674e+4,
                                  3.9307895800092710610e+4, 2.1213794301586595867e+4,
                                  5.3941960214247511077e+3, 6.8718700749205790830e+2,
                                  4.2313330701600911252e+1, 1.0};
  static constexpr double c[8] = {7.74545014278341407640e-4, 2.27238449892691845833e-2,
                                  2.41780725177450611770e-1, 1.27045825245236838258e+0,
                                  3.64784832476320460504e+0, 5.76949722146069140550e+0,
                                  4.63033784615654529590e+0, 1.42343711074968357734e+0};
  static constexpr double d[8] = {1.05075007164441684324e-9, 5.47593808499534494600e-4,
                                  1.51986665636164571966e-2, 1.48103976427480074590e-1,
                                  6.89767334985100004550e-1, 1.67638483018380384940e+0,
                                  2.05319162663775882187e+0, 1.0};
  static constexpr double e[8] = {2.01033439929228813265e-7, 2.71155556874348757815e-5,
                                  1.24266094738807843860e-3, 2.65321895265761230930e-2,
                                  2.96560571828504891230e-1, 1.78482653991729133580e+0,
                                  5.46378491116411436990e+0, 6.65790464350110377720e+0};
  static constexpr double f[8] = {2.04426310338993978564e-15, 1.42151175831644588870e-7,
                                  1.84631831751005468180e-5, 7.86869131145613259100e-4,
                                  1.48753612908506148525e-2, 1.36929880922735805310e-1,
                                  5.99832206555887937690e-1, 1.0};
  if (std::fabs(q) <= 0.425) {
    const double r = 0.180625 - q * q;
    return q * poly(a, r) / poly(b, r);
  }
  double r = std::sqrt(-log64(max_as_simd(tail, 0x1p-1022)));
  double value;
  if (r <= 5.0) {
    r -= 1.6;
    value = poly(c, r) / poly(d, r);
  } else {
    r -= 5.0;
    value = poly(e, r) / poly(f, r);
  }
  return q < 0.0 ? -value : value;
}

// x = 2u' - 1 for the open uniform u' = (k + 1/2) 2^-53, k = x64 >> 11: exact.
inline double centered_uniform64(uint64_t x64) {
  const int64_t k = int64_t(((x64 >> 11) << 1) | 1) - (int64_t(1) << 53);
  return double(k) * 0x1p-53;
}

}  // namespace

void uniform64(const uint32_t* words, double* out, size_t n, const UniformParams& p) {
  for (size_t i = 0; i < n; ++i) {
    const double u = double(word_pair(words, i) >> 11) * 0x1p-53;
    out[i] = min_as_simd(std::fma(u, p.range, p.low), p.below_high64);
  }
}

void normal64(const uint32_t* words, double* out, size_t n, const NormalParams& p) {
  for (size_t i = 0; i < n; ++i) {
    const double x = centered_uniform64(word_pair(words, i));
    const double tail = (1.0 - std::fabs(x)) * 0.5;
    out[i] = std::fma(ndtri_as241(0.5 * x, tail), p.std64, p.mean64);
  }
}

void trunc64(const uint32_t* words, double* out, size_t n, const TruncParams& p) {
  for (size_t i = 0; i < n; ++i) {
    const double xu = centered_uniform64(word_pair(words, i));
    const double cdf = std::fma(1.0 + xu, p.h64, p.pa64);  // as in the float32 kernel
    const double ccdf = std::fma(1.0 - xu, p.h64, p.qb64);
    const double x = std::fma(xu, p.d64, p.xm64);
    const double z = ndtri_as241(0.5 * x, min_as_simd(cdf, ccdf));
    out[i] = min_as_simd(max_as_simd(std::fma(z, p.std64, p.mean64), p.lo64), p.hi64);
  }
}

}  // namespace detail
}  // namespace philoxinit
