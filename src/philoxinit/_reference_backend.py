"""Independent pure-NumPy reference backend for philoxinit.

This module re-implements the stream contract of ``docs/stream.md`` from the document alone,
without sharing any code with the C++ core, so that the two implementations check each other:

* raw words (Philox4x32-10, key = (seed lo, seed hi), counter = (block lo, block hi,
  stream lo, stream hi), word ``w`` = output word ``w mod 4`` of block ``w div 4``) and the
  uniform values are **bit exact**.  The float32 fused multiply-add of the uniform mapping is
  emulated exactly by an exact float64 product and a sum rounded to odd (``_fma32``); the
  float64 one (float64 outputs, and float32 ranges wider than ``FLT_MAX``) is emulated exactly (TwoProduct + TwoSum + round-to-odd, Boldo & Melquiond 2008), with an exact
  integer fallback for parameters so extreme that the emulation could under- or overflow;
* normal and truncated-normal values are the **accurate answer** the fast path is compared
  with: the quantile is computed in float64 with Wichura's AS241 (PPND16) from ``min(p, 1-p)``
  (never from the float32 polynomials of the core), then ``fma(z, std, mean)`` is formed
  exactly in float64 and rounded once to the output dtype (float16 and bfloat16 go through
  the float32 value, as the contract says).

NumPy is the only dependency; ``ml_dtypes`` is only consulted to recognise a bfloat16 output
array (the bfloat16 rounding itself is done here on the bits).  Work is done in chunks of
2**20 elements, so memory stays bounded for any output size.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

__all__ = ["NumpyBackend", "philox4x32"]

_M32 = 0xFFFFFFFF
_PHILOX_M0 = 0xD2511F53
_PHILOX_M1 = 0xCD9E8D57
_PHILOX_W0 = 0x9E3779B9
_PHILOX_W1 = 0xBB67AE85

_CHUNK = 1 << 20  # elements per chunk

_TWO_M24 = 2.0**-24
_TWO_M25 = 2.0**-25
_TWO_M53 = 2.0**-53
_TWO_M54 = 2.0**-54


# --------------------------------------------------------------------------------------------
# Philox4x32
# --------------------------------------------------------------------------------------------


def philox4x32(ctr, key, rounds: int = 10):
    """Philox4x32-``rounds`` of counters ``ctr = (c0, c1, c2, c3)`` under ``key = (k0, k1)``.

    Each ``c_i`` is an integer or an integer array (broadcast together); ``k0``, ``k1`` are
    integers.  Returns four ``uint32`` arrays (the output words 0..3).
    """
    c0, c1, c2, c3 = np.broadcast_arrays(*[np.asarray(c, dtype=np.uint64) for c in ctr])
    c0 = c0 & np.uint64(_M32)
    c1 = c1 & np.uint64(_M32)
    c2 = c2 & np.uint64(_M32)
    c3 = c3 & np.uint64(_M32)
    k0 = int(key[0]) & _M32
    k1 = int(key[1]) & _M32
    m0 = np.uint64(_PHILOX_M0)
    m1 = np.uint64(_PHILOX_M1)
    mask = np.uint64(_M32)
    s32 = np.uint64(32)
    for _ in range(rounds):
        p0 = c0 * m0  # < 2**64: exact 32x32 -> 64 product
        p1 = c2 * m1
        n0 = p1 >> s32
        n0 ^= c1
        n0 ^= np.uint64(k0)
        n2 = p0 >> s32
        n2 ^= c3
        n2 ^= np.uint64(k1)
        p1 &= mask
        p0 &= mask
        c0, c1, c2, c3 = n0, p1, n2, p0
        k0 = (k0 + _PHILOX_W0) & _M32
        k1 = (k1 + _PHILOX_W1) & _M32
    return tuple(c.astype(np.uint32) for c in (c0, c1, c2, c3))


def _words(seed: int, stream: int, w0: int, n: int) -> np.ndarray:
    """Words ``w0 .. w0+n-1`` of ``(seed, stream)`` as uint32 (one chunk, no size limit)."""
    if n <= 0:
        return np.empty(0, dtype=np.uint32)
    b0 = w0 >> 2
    b1 = (w0 + n - 1) >> 2
    nb = b1 - b0 + 1
    blocks = np.arange(nb, dtype=np.uint64)
    blocks += np.uint64(b0)
    ctr = (
        blocks & np.uint64(_M32),
        blocks >> np.uint64(32),
        np.full(nb, stream & _M32, dtype=np.uint64),
        np.full(nb, stream >> 32, dtype=np.uint64),
    )
    o = philox4x32(ctr, (seed & _M32, seed >> 32))
    words = np.stack(o, axis=1).reshape(-1)
    start = w0 & 3
    return words[start : start + n]


# --------------------------------------------------------------------------------------------
# Exact float64 fma emulation
# --------------------------------------------------------------------------------------------

_VELTKAMP = 134217729.0  # 2**27 + 1
_SAFE_LO = 2.0**-700
_SAFE_HI = 2.0**700


def _split(a):
    t = a * _VELTKAMP
    hi = t - (t - a)
    return hi, a - hi


def _two_sum(a, b):
    s = a + b
    bb = s - a
    e = (a - (s - bb)) + (b - bb)
    return s, e


def _two_prod(a, b):
    """``p + e == a * b`` exactly (Dekker), valid without under/overflow."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    e = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    return p, e


def _add_round_to_odd(a, b):
    """``a + b`` rounded to odd (exact result kept, else the neighbour with an odd last bit)."""
    s, e = _two_sum(a, b)
    s = np.ascontiguousarray(s, dtype=np.float64)
    inexact = e != 0
    even = (s.view(np.int64) & 1) == 0
    fix = inexact & even
    if np.any(fix):
        s = s.copy()
        s[fix] = np.nextafter(s[fix], np.where(e[fix] > 0, np.inf, -np.inf))
    return s


def _fma32(u: np.ndarray, a: float, c: float) -> np.ndarray:
    """Correctly rounded binary32 ``fma(u, a, c)`` for float32 values ``a``, ``c`` and
    ``u = m * 2**-24`` (``m`` a 24-bit integer): ``u * a`` is exact in binary64 (48 significant
    bits, no under/overflow), the sum is rounded to odd in binary64, and rounding that to
    binary32 is then the single correct rounding (53 >= 24 + 2)."""
    p = np.asarray(u, dtype=np.float64) * np.float64(a)
    return _add_round_to_odd(p, np.full_like(p, c)).astype(np.float32)


def _fma_safe(a: float, c: float) -> bool:
    """Whether ``fma(x, a, c)`` can be emulated by :func:`_fma_fast` for ``|x| in {0} u
    [2**-120, 2**64]``: every intermediate is then a multiple of 2**-924 and below 2**800, so
    nothing underflows or overflows and every "exact" step is exact."""
    if not (math.isfinite(a) and math.isfinite(c)):
        return False
    aa = abs(a)
    ac = abs(c)
    if not (_SAFE_LO <= aa <= _SAFE_HI):
        return False
    return ac == 0.0 or _SAFE_LO <= ac <= _SAFE_HI


def _fma_fast(x: np.ndarray, a: float, c: float) -> np.ndarray:
    """Correctly rounded ``x * a + c`` (float64, one rounding), Boldo & Melquiond's emulated
    FMA: TwoProduct, TwoSum, one addition rounded to odd, one final rounded addition."""
    x = np.asarray(x, dtype=np.float64)
    uh, ul = _two_prod(x, np.float64(a))
    th, tl = _two_sum(np.float64(c), uh)
    v = _add_round_to_odd(tl, ul)
    r = th + v
    zero = x == 0
    if np.any(zero):  # signed-zero rule of an exact zero product: c + (+-0)
        r[zero] = np.float64(c) + x[zero] * np.float64(a)
    return r


def _fma_exact_scalar(x: float, a: float, c: float) -> float:
    """Correctly rounded ``x * a + c`` for finite float64 scalars, by exact rationals.

    ``int / int`` true division and ``float(int)`` are correctly rounded in CPython
    (round-half-even, subnormals included)."""
    fx = Fraction(x)
    fa = Fraction(a)
    fc = Fraction(c)
    s = fx * fa + fc
    if s == 0:
        # IEEE sign of an exact zero sum in round-to-nearest
        prod_zero_sign = math.copysign(1.0, x) * math.copysign(1.0, a)
        if (x == 0 or a == 0) and c == 0:
            neg = prod_zero_sign < 0 and math.copysign(1.0, c) < 0
            return -0.0 if neg else 0.0
        return 0.0
    try:
        return s.numerator / s.denominator
    except OverflowError:
        return math.inf if s > 0 else -math.inf


def _fma(x: np.ndarray, a: float, c: float) -> np.ndarray:
    """Correctly rounded float64 ``fma(x, a, c)`` for an array ``x`` with ``|x| < 2**64`` and
    finite scalars ``a``, ``c``."""
    x = np.asarray(x, dtype=np.float64)
    if _fma_safe(a, c):
        nz = x[x != 0]
        if nz.size == 0 or (np.min(np.abs(nz)) >= 2.0**-120 and np.max(np.abs(nz)) <= 2.0**64):
            return _fma_fast(x, a, c)
    # exact (slow) fallback for extreme parameters
    f = np.frompyfunc(lambda xi: _fma_exact_scalar(float(xi), a, c), 1, 1)
    return f(x).astype(np.float64)


# --------------------------------------------------------------------------------------------
# Inverse normal CDF (Wichura AS241 / PPND16), vectorised, float64
# --------------------------------------------------------------------------------------------

# coefficients as in Wichura (1988) / CPython's statistics._normal_dist_inv_cdf
_A = (3.387132872796366608, 1.3314166789178437745e2, 1.9715909503065514427e3,
      1.3731693765509461125e4, 4.5921953931549871457e4, 6.7265770927008700853e4,
      3.3430575583588128105e4, 2.5090809287301226727e3)
_B = (1.0, 4.2313330701600911252e1, 6.8718700749205790830e2, 5.3941960214247511077e3,
      2.1213794301586595867e4, 3.9307895800092710610e4, 2.8729085735721942674e4,
      5.2264952788528545610e3)
_C = (1.42343711074968357734, 4.63033784615654529590, 5.76949722146069140550,
      3.64784832476320460504, 1.27045825245236838258, 2.41780725177450611770e-1,
      2.27238449892691845833e-2, 7.74545014278341407640e-4)
_D = (1.0, 2.05319162663775882187, 1.67638483018380384940, 6.89767334985100004550e-1,
      1.48103976427480074590e-1, 1.51986665636164571966e-2, 5.47593808499534494600e-4,
      1.05075007164441684324e-9)
_E = (6.65790464350110377720, 5.46378491116411436990, 1.78482653991729133580,
      2.96560571828504891230e-1, 2.65321895265761230930e-2, 1.24266094738807843860e-3,
      2.71155556874348757815e-5, 2.01033439929228813265e-7)
_F = (1.0, 5.99832206555887937690e-1, 1.36929880922735805310e-1, 1.48753612908506148525e-2,
      7.86869131145613259100e-4, 1.84631831751005468180e-5, 1.42151175831644588870e-7,
      2.04426310338993978564e-15)


def _horner(coeffs, r):
    acc = coeffs[-1] * r + coeffs[-2]
    for c in coeffs[-3::-1]:
        acc *= r
        acc += c
    return acc


def _as241(qc: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Standard normal quantile ``z`` with ``Phi(z) = p`` given ``qc = p - 1/2`` and
    ``r = min(p, 1 - p)`` (both float64, each carried with its own precision)."""
    qc = np.asarray(qc, dtype=np.float64)
    r = np.asarray(r, dtype=np.float64)
    z = np.empty_like(qc)
    central = np.abs(qc) <= 0.425
    if np.any(central):
        q = qc[central]
        rr = 0.180625 - q * q
        z[central] = (_horner(_A, rr) * q) / _horner(_B, rr)
    tail = ~central
    if np.any(tail):
        rt = r[tail]
        rt = np.maximum(rt, np.finfo(np.float64).smallest_subnormal)
        s = np.sqrt(-np.log(rt))
        zt = np.empty_like(s)
        near = s <= 5.0
        if np.any(near):
            t = s[near] - 1.6
            zt[near] = _horner(_C, t) / _horner(_D, t)
        far = ~near
        if np.any(far):
            t = s[far] - 5.0
            zt[far] = _horner(_E, t) / _horner(_F, t)
        z[tail] = np.where(qc[tail] < 0.0, -zt, zt)
    return z


def ndtri(p) -> np.ndarray:
    """Inverse standard normal CDF of float64 ``p`` in (0, 1) (AS241)."""
    p = np.asarray(p, dtype=np.float64)
    return _as241(p - 0.5, np.minimum(p, 1.0 - p))


# --------------------------------------------------------------------------------------------
# Element uniforms: x = 2u' - 1 exactly, u' = (m + 1/2) 2^-24 (float32) or (k + 1/2) 2^-53
# --------------------------------------------------------------------------------------------


def _x_float32(w: np.ndarray) -> np.ndarray:
    """``x = (((w >> 7) | 1) - 2^24) * 2^-24`` (exact odd multiple of 2^-24 in (-1, 1))."""
    i = ((w >> np.uint32(7)) | np.uint32(1)).astype(np.int64) - (1 << 24)
    return i.astype(np.float64) * _TWO_M24


def _k53(words: np.ndarray) -> np.ndarray:
    """53-bit integers ``k = x64 >> 11`` from pairs of words (little-endian)."""
    w = words.reshape(-1, 2).astype(np.uint64)
    x64 = w[:, 0] | (w[:, 1] << np.uint64(32))
    return x64 >> np.uint64(11)


def _x_float64(words: np.ndarray) -> np.ndarray:
    """``x = (2k + 1 - 2^53) * 2^-53`` (exact) for float64 outputs."""
    k = _k53(words).astype(np.int64)
    i = 2 * k + 1 - (1 << 53)  # |i| < 2^53: exact in float64
    return i.astype(np.float64) * _TWO_M53


def normal_z(x: np.ndarray) -> np.ndarray:
    """Standard normal quantile of ``u' = (1 + x) / 2``: ``AS241(x / 2, (1 - |x|) / 2)``."""
    return _as241(x * 0.5, (1.0 - np.abs(x)) * 0.5)


# --------------------------------------------------------------------------------------------
# Truncated normal
# --------------------------------------------------------------------------------------------


def _phi_cdf(z: float) -> float:
    return math.erfc(-z / math.sqrt(2.0)) / 2.0


class TruncConstants:
    """float64 window constants of trunc_normal_ (section 3 of the contract).

    ``pa = Phi(alpha)``, ``qa = Phi(-alpha)``, ``pb = Phi(beta)``, ``qb = Phi(-beta)`` each by
    ``erfc`` on its own; ``d = Phi(beta) - Phi(alpha)`` from the tail the window is in:
    ``qa - qb`` for ``alpha >= 0``, ``pb - pa`` for ``beta <= 0``, and
    ``(erf(beta/sqrt2) - erf(alpha/sqrt2)) / 2`` (a sum of two non-negative terms) for a window
    containing 0.
    """

    def __init__(self, mean: float, std: float, a: float, b: float):
        self.mean = float(mean)
        self.std = float(std)
        self.a = float(a)
        self.b = float(b)
        self.alpha = (self.a - self.mean) / self.std
        self.beta = (self.b - self.mean) / self.std
        al, be = self.alpha, self.beta
        self.pa = _phi_cdf(al)
        self.qa = _phi_cdf(-al)
        self.pb = _phi_cdf(be)
        self.qb = _phi_cdf(-be)
        if al >= 0.0:
            d = self.qa - self.qb
        elif be <= 0.0:
            d = self.pb - self.pa
        else:
            r2 = math.sqrt(2.0)
            d = (math.erf(be / r2) - math.erf(al / r2)) / 2.0
        self.d = max(d, 0.0)

    def pq(self, u: np.ndarray, v: np.ndarray):
        """``p = pa + u d`` and ``q = 1 - p`` carried on its own as ``qb + (1 - u) d``
        (``= qa - u d``), for ``u`` = u' and ``v = 1 - u'``."""
        p = self.pa + u * self.d
        q = self.qb + v * self.d
        return p, q

    def z(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        p, q = self.pq(u, v)
        lower = p <= q
        qc = np.where(lower, p - 0.5, 0.5 - q)
        r = np.where(lower, p, q)
        return _as241(qc, r)


def _uv_float32(w: np.ndarray):
    """u' = (2m + 1) 2^-25 and 1 - u', both exact."""
    i = ((w >> np.uint32(7)) | np.uint32(1)).astype(np.int64)  # 2m + 1
    u = i.astype(np.float64) * _TWO_M25
    v = ((1 << 25) - i).astype(np.float64) * _TWO_M25
    return u, v


def _uv_float64(words: np.ndarray):
    """u' = (2k + 1) 2^-54 and 1 - u', each correctly rounded to float64."""
    k = _k53(words).astype(np.int64)
    i = 2 * k + 1  # < 2^54
    u = i.astype(np.float64) * _TWO_M54  # int64 -> float64 rounds to nearest
    v = ((1 << 54) - i).astype(np.float64) * _TWO_M54
    return u, v


# --------------------------------------------------------------------------------------------
# Rounding helpers
# --------------------------------------------------------------------------------------------


def _below32(high: float) -> np.float32:
    """Largest float32 strictly below the float64 ``high``."""
    with np.errstate(over="ignore"):
        h = np.float32(high)
    if np.isinf(h) and h > 0:
        return np.float32(np.finfo(np.float32).max)
    if float(h) >= high:
        return np.nextafter(h, np.float32(-np.inf))
    return h


def _ceil32(a: float) -> np.float32:
    """Smallest float32 ``>= a`` (``a`` float64, may be infinite)."""
    with np.errstate(over="ignore"):
        x = np.float32(a)
    if float(x) < a:
        x = np.nextafter(x, np.float32(np.inf))
    return x


def _floor32(b: float) -> np.float32:
    """Largest float32 ``<= b``."""
    with np.errstate(over="ignore"):
        x = np.float32(b)
    if float(x) > b:
        x = np.nextafter(x, np.float32(-np.inf))
    return x


def _ceil16(a: float, kind: str) -> np.float32:
    """The smallest finite float16 (``kind="f16"``) or bfloat16 (``"bf16"``) ``>= a``, as the
    float32 that holds it exactly: the lower clamp of a 16-bit truncated normal."""
    x = _ceil32(a)  # every 16-bit value is a float32, so round to float32 first
    if kind == "f16":
        with np.errstate(over="ignore"):
            h = np.float16(x)
        if np.isfinite(h) and float(h) < float(x):
            h = np.nextafter(h, np.float16(np.inf))
        if np.isneginf(h):
            h = -np.finfo(np.float16).max
        return np.float32(h)
    # bfloat16 = the high half of a float32: cut the low half toward +inf
    bits = int(np.array(x, np.float32).view(np.uint32))
    if np.isneginf(x):
        bits = 0xFF7F0000                          # -(largest finite bfloat16)
    elif bits & 0xFFFF:
        bits = (bits & 0xFFFF0000) + (0 if bits >> 31 else 0x10000)
    return np.array(bits, np.uint32).view(np.float32)[()]


def _floor16(b: float, kind: str) -> np.float32:
    """The largest finite 16-bit value ``<= b`` (see :func:`_ceil16`)."""
    return -_ceil16(-b, kind)


def _f32_to_bf16_bits(f: np.ndarray) -> np.ndarray:
    """bfloat16 bits of float32 values, rounded to nearest even (no NaNs occur here)."""
    bits = np.ascontiguousarray(f, dtype=np.float32).view(np.uint32)
    lsb = (bits >> np.uint32(16)) & np.uint32(1)
    return ((bits + np.uint32(0x7FFF) + lsb) >> np.uint32(16)).astype(np.uint16)


_BF16 = None


def _bfloat16_dtype():
    global _BF16
    if _BF16 is None:
        try:
            import ml_dtypes  # optional
        except ImportError:  # pragma: no cover - depends on the environment
            _BF16 = False
        else:
            _BF16 = np.dtype(ml_dtypes.bfloat16)
    return _BF16


def _kind(dtype: np.dtype) -> str:
    if dtype == np.float32:
        return "f32"
    if dtype == np.float64:
        return "f64"
    if dtype == np.float16:
        return "f16"
    bf = _bfloat16_dtype()
    if bf is not False and dtype == bf:
        return "bf16"
    raise TypeError(f"unsupported output dtype {dtype}")


def _store(flat: np.ndarray, start: int, vals: np.ndarray, kind: str) -> None:
    """Write float32 (or float64 for ``f64``) values into ``flat[start:...]``."""
    n = vals.shape[0]
    if kind == "f64" or kind == "f32":
        flat[start : start + n] = vals
    elif kind == "f16":
        flat[start : start + n] = vals.astype(np.float32).astype(np.float16)
    else:
        flat.view(np.uint16)[start : start + n] = _f32_to_bf16_bits(vals.astype(np.float32))


# --------------------------------------------------------------------------------------------
# The backend
# --------------------------------------------------------------------------------------------


class NumpyBackend:
    """Pure-NumPy implementation of the stream contract (bit exact for raw words and uniforms,
    float64-accurate for normal and truncated normal)."""

    name = "numpy-reference"

    # -- raw words ---------------------------------------------------------------------------
    def random_raw(self, n: int, seed: int, stream: int, offset: int) -> np.ndarray:
        n = int(n)
        seed = int(seed)
        stream = int(stream)
        offset = int(offset)
        out = np.empty(n, dtype=np.uint32)
        step = 4 * _CHUNK
        for start in range(0, n, step):
            m = min(step, n - start)
            out[start : start + m] = _words(seed, stream, offset + start, m)
        return out

    # -- fills -------------------------------------------------------------------------------
    def fill(self, out: np.ndarray, dist: str, params: tuple, seed: int, stream: int,
             offset: int, threads: int) -> None:
        del threads  # single-threaded reference; results never depend on it
        kind = _kind(out.dtype)
        if not out.flags.c_contiguous:  # pragma: no cover - the API layer guarantees this
            raise ValueError("out must be C-contiguous")
        flat = out.reshape(-1)  # a view
        seed = int(seed)
        stream = int(stream)
        offset = int(offset)
        size = flat.size
        if dist == "uniform":
            low, high = (float(v) for v in params)
            gen = self._uniform_chunk_factory(kind, low, high)
        elif dist == "normal":
            mean, std = (float(v) for v in params)
            gen = self._normal_chunk_factory(kind, mean, std)
        elif dist == "trunc_normal":
            mean, std, a, b = (float(v) for v in params)
            gen = self._trunc_chunk_factory(kind, mean, std, a, b)
        else:
            raise ValueError(f"unknown distribution {dist!r}")
        wpe = 2 if kind == "f64" else 1
        for start in range(0, size, _CHUNK):
            m = min(_CHUNK, size - start)
            e0 = offset + start
            words = _words(seed, stream, wpe * e0, wpe * m)
            _store(flat, start, gen(words), kind)

    # -- per-distribution chunk functions (words -> float32/float64 values) -------------------
    @staticmethod
    def _uniform_chunk_factory(kind, low, high):
        if kind == "f64":
            below = float(np.nextafter(high, -np.inf))

            def uvals(words):
                return _k53(words).astype(np.float64) * _TWO_M53
        else:
            below = _below32(high)

            def uvals(words):
                return (words >> np.uint32(8)).astype(np.float64) * _TWO_M24

        if low == high:
            def gen(words):
                n = words.shape[0] // (2 if kind == "f64" else 1)
                return np.full(n, low, dtype=np.float64 if kind == "f64" else np.float32)
            return gen

        c = high - low  # binary64 rounding, as the contract says
        with np.errstate(over="ignore"):  # float32(high - low) may overflow: the float64 path
            c32 = float(np.float32(c))
        if kind != "f64" and math.isfinite(c32):
            # the float32 family: fma(u, float32(high - low), float32(low)) in binary32
            r32, l32 = c32, float(np.float32(low))

            def gen(words):
                return np.minimum(_fma32(uvals(words), r32, l32), below)

            return gen

        def gen(words):
            u = uvals(words)
            if math.isinf(c):
                # high - low overflowed: fma(u, inf, low) = inf for u > 0 (then min with
                # below(high)); for u == 0 we return low (see the module notes).
                t = np.where(u == 0.0, low, np.inf)
            else:
                t = _fma(u, c, low)
            if kind == "f64":
                return np.minimum(t, below)
            r = t.astype(np.float32)
            return np.minimum(r, below)

        return gen

    @staticmethod
    def _normal_chunk_factory(kind, mean, std):
        def gen(words):
            x = _x_float64(words) if kind == "f64" else _x_float32(words)
            z = normal_z(x)
            y = _fma(z, std, mean)
            return y if kind == "f64" else y.astype(np.float32)

        return gen

    @staticmethod
    def _trunc_chunk_factory(kind, mean, std, a, b):
        tc = TruncConstants(mean, std, a, b)
        if kind in ("f16", "bf16"):
            # clamp to the output's own values inside [a, b]: rounding a float32 that lies
            # between two of them to 16 bits then cannot leave [a, b] (or reach inf)
            lo32, hi32 = _ceil16(a, kind), _floor16(b, kind)
        else:
            lo32, hi32 = _ceil32(a), _floor32(b)

        def gen(words):
            u, v = _uv_float64(words) if kind == "f64" else _uv_float32(words)
            z = tc.z(u, v)
            y = np.clip(_fma(z, std, mean), a, b)
            if kind == "f64":
                return y
            return np.clip(y.astype(np.float32), lo32, hi32)

        return gen
