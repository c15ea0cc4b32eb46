// From the user's parameters to the constants the kernels use (docs/stream.md §3-4). The
// validation here is the core's own; the Python layer checks the same things first so that it
// can name the argument.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <string>

#include "kernels.hpp"

namespace philoxinit {
namespace detail {
namespace {

constexpr double kMaxTruncSigma = 12.0;

bool is_32bit_family(DType dtype) { return dtype != DType::f64; }

void require(bool ok, const std::string& message) {
  if (!ok) throw InvalidArgument(message);
}

void require_float32_range(DType dtype, double value, const char* name) {
  if (is_32bit_family(dtype))
    require(std::fabs(value) <= double(FLT_MAX),
            std::string(name) + " must lie within the float32 range for a 32-bit or 16-bit output");
}

float float32_below(double high) {
  float f = float(high);
  if (double(f) >= high) f = std::nextafter(f, -INFINITY);
  return f;
}
float float32_at_or_above(double a) {
  float f = float(a);
  if (double(f) < a) f = std::nextafter(f, INFINITY);
  return f;
}
float float32_at_or_below(double b) {
  float f = float(b);
  if (double(f) > b) f = std::nextafter(f, -INFINITY);
  return f;
}

// The finite values of a 16-bit output: `digits` significand bits, `min_exp` the frexp exponent
// of its smallest normal, `max` its largest finite value.
struct Grid16 {
  int digits, min_exp;
  double max;
};
Grid16 grid16(DType dtype) {
  return dtype == DType::f16 ? Grid16{11, -13, 65504.0} : Grid16{8, -125, std::ldexp(255.0, 120)};
}
// The smallest value of the grid >= a (-max for a below it, +inf above max). Every step is
// exact in double: a / ulp only shifts the exponent.
double grid_at_or_above(double a, const Grid16& g) {
  if (a <= -g.max) return -g.max;
  if (a == 0.0 || std::isinf(a)) return a;
  int e;
  std::frexp(a, &e);
  const double ulp = std::ldexp(1.0, std::max(e, g.min_exp) - g.digits);
  const double up = std::ceil(a / ulp) * ulp;
  return up <= g.max ? up : INFINITY;
}
double grid_at_or_below(double b, const Grid16& g) { return -grid_at_or_above(-b, g); }

double normal_cdf(double z) { return 0.5 * std::erfc(-z / 1.41421356237309504880); }

}  // namespace

UniformParams make_uniform_params(DType dtype, double low, double high) {
  require(std::isfinite(low) && std::isfinite(high), "low and high must be finite");
  require(low <= high, "low must be <= high");
  require_float32_range(dtype, low, "low");
  require_float32_range(dtype, high, "high");
  require(std::isfinite(high - low), "high - low must be finite");
  UniformParams p{};
  p.low = low;
  p.range = high - low;
  p.low32 = float(low);
  p.range32 = float(p.range);
  p.below_high32 = float32_below(high);
  p.below_high64 = std::nextafter(high, -INFINITY);
  return p;
}

NormalParams make_normal_params(DType dtype, double mean, double stddev) {
  require(std::isfinite(mean) && std::isfinite(stddev), "mean and std must be finite");
  require(stddev >= 0.0, "std must be >= 0");
  require_float32_range(dtype, mean, "mean");
  require_float32_range(dtype, stddev, "std");
  return NormalParams{float(mean), float(stddev), mean, stddev};
}

TruncParams make_trunc_params(DType dtype, double mean, double stddev, double a, double b) {
  require(std::isfinite(mean) && std::isfinite(stddev), "mean and std must be finite");
  require(stddev > 0.0, "std must be > 0");
  require(!std::isnan(a) && !std::isnan(b), "a and b must not be NaN");
  require(a < b, "a must be < b");
  require_float32_range(dtype, mean, "mean");
  require_float32_range(dtype, stddev, "std");
  const double alpha = (a - mean) / stddev, beta = (b - mean) / stddev;
  require(alpha <= kMaxTruncSigma && beta >= -kMaxTruncSigma,
          "the window [a, b] lies entirely more than 12 standard deviations from the mean");
  const double pa = normal_cdf(alpha), qb = normal_cdf(-beta);
  double d;
  if (alpha >= 0.0)
    d = normal_cdf(-alpha) - normal_cdf(-beta);
  else if (beta <= 0.0)
    d = normal_cdf(beta) - normal_cdf(alpha);
  else
    d = 1.0 - normal_cdf(alpha) - normal_cdf(-beta);
  require(d > 0.0, "the window [a, b] is too narrow: it has no probability mass in float64");
  TruncParams p{};
  p.pa64 = pa;
  p.qb64 = qb;
  p.h64 = 0.5 * d;
  p.d64 = d;
  p.xm64 = pa - qb;
  p.mean64 = mean;
  p.std64 = stddev;
  p.lo64 = a;
  p.hi64 = b;
  p.pa = float(pa);
  p.qb = float(qb);
  p.h = float(p.h64);
  p.d = float(p.d64);
  p.xm = float(p.xm64);
  p.mean = float(mean);
  p.std = float(stddev);
  if (dtype == DType::f16 || dtype == DType::bf16) {
    // Clamp to the output's own values inside [a, b]: a float32 between two of them then
    // rounds to one of them, never past a bound (or to inf).
    const Grid16 g = grid16(dtype);
    p.lo = float(grid_at_or_above(a, g));
    p.hi = float(grid_at_or_below(b, g));
    require(p.lo <= p.hi, "no value of the 16-bit output dtype lies in [a, b]");
  } else {
    p.lo = float32_at_or_above(a);
    p.hi = float32_at_or_below(b);
    if (is_32bit_family(dtype))
      require(p.lo <= p.hi, "no float32 value lies in [a, b]");
  }
  return p;
}

}  // namespace detail
}  // namespace philoxinit
