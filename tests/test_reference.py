"""Tests of the independent NumPy reference backend against docs/stream.md.

Raw words are checked against Random123's known-answer vectors and against a tiny pure-Python
Philox written here; uniform values against the contract formula in exact rational
arithmetic; normal and truncated-normal values against scipy's ``ndtri`` and with KS tests.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import exact_arith
from philoxinit import _reference_backend as rb
from philoxinit._reference_backend import NumpyBackend

KAT_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "philox4x32_kat.txt")
M32 = 0xFFFFFFFF
BACKEND = NumpyBackend()


# ---------------------------------------------------------------------------------------------
# A tiny, independent, pure-Python Philox4x32 (Python ints only)
# ---------------------------------------------------------------------------------------------


def py_philox(ctr, key, rounds=10):
    c0, c1, c2, c3 = ctr
    k0, k1 = key
    for _ in range(rounds):
        p0 = 0xD2511F53 * c0
        p1 = 0xCD9E8D57 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & M32, (p0 >> 32) ^ c3 ^ k1, p0 & M32
        k0 = (k0 + 0x9E3779B9) & M32
        k1 = (k1 + 0xBB67AE85) & M32
    return [c0, c1, c2, c3]


def py_words(seed, stream, offset, n):
    out = []
    cache = {}
    for w in range(offset, offset + n):
        b, j = divmod(w, 4)
        if b not in cache:
            cache[b] = py_philox((b & M32, b >> 32, stream & M32, stream >> 32),
                                 (seed & M32, seed >> 32))
        out.append(cache[b][j])
    return out


def kat_lines():
    rows = []
    with open(KAT_PATH) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0] != "philox4x32":
                continue
            vals = [int(x, 16) for x in parts[2:]]
            rows.append((int(parts[1]), vals[0:4], vals[4:6], vals[6:10]))
    return rows


# ---------------------------------------------------------------------------------------------
# Philox and raw words
# ---------------------------------------------------------------------------------------------


def test_kat_file_has_r10_lines():
    assert any(r == 10 for r, *_ in kat_lines())


@pytest.mark.parametrize("row", kat_lines(), ids=lambda r: f"R{r[0]}-{r[1][0]:08x}")
def test_kat(row):
    rounds, ctr, key, expected = row
    got = [int(np.asarray(o)[()]) for o in rb.philox4x32(ctr, key, rounds)]
    assert got == expected
    assert py_philox(ctr, key, rounds) == expected  # the test's own Philox is right too


def test_kat_vectorised_broadcast():
    rows = [r for r in kat_lines() if r[0] == 10]
    for rounds, ctr, key, expected in rows:
        ctrs = [np.array([c, c], dtype=np.uint64) for c in ctr]
        outs = rb.philox4x32(ctrs, key, rounds)
        assert [o.dtype for o in outs] == [np.uint32] * 4
        assert [int(o[1]) for o in outs] == expected


@pytest.mark.parametrize(
    "seed,stream,offset,n",
    [
        (0, 0, 0, 17),
        (1, 0, 3, 9),
        (0x0123456789ABCDEF, 0xFEDCBA9876543210, 0, 12),
        (2**64 - 1, 2**64 - 1, 5, 11),
        (42, 7, 4 * 2**32 - 6, 13),  # crosses block 2^32 (counter word 1 becomes 1)
        (42, 7, 4 * 2**32, 4),
        (2**40 + 3, 2**33 + 1, 4 * (2**33 - 1) + 2, 9),  # crosses block 2^33
        (99, 2**63, 2**63 - 9, 9),  # the last words a float64 fill can reach
        (5, 6, 2**62 - 3, 7),
    ],
)
def test_random_raw_layout(seed, stream, offset, n):
    got = BACKEND.random_raw(n, seed, stream, offset)
    assert got.dtype == np.uint32 and got.shape == (n,)
    assert got.tolist() == py_words(seed, stream, offset, n)


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**64 - 1),
    stream=st.integers(0, 2**64 - 1),
    offset=st.one_of(st.integers(0, 64), st.integers(0, 2**63 - 64),
                     st.integers(4 * 2**32 - 40, 4 * 2**32 + 40)),
    n=st.integers(0, 24),
)
def test_random_raw_hypothesis(seed, stream, offset, n):
    assert BACKEND.random_raw(n, seed, stream, offset).tolist() == py_words(seed, stream, offset, n)


def test_random_raw_empty_and_tails():
    assert BACKEND.random_raw(0, 1, 2, 3).shape == (0,)
    n = 4 * rb._CHUNK + 11  # spans the internal chunking
    full = BACKEND.random_raw(n, 3, 4, 0)
    for k in (1, 2, 3, 4, 5, 4 * rb._CHUNK - 1, 4 * rb._CHUNK + 1):
        np.testing.assert_array_equal(BACKEND.random_raw(n - k, 3, 4, k), full[k:])
    blocks = rb.philox4x32((np.arange(8, dtype=np.uint64), 0, 4, 0), (3, 0))
    np.testing.assert_array_equal(full[:32], np.stack(blocks, axis=1).reshape(-1))


# ---------------------------------------------------------------------------------------------
# Exact fma emulation
# ---------------------------------------------------------------------------------------------


def exact_fma(x, a, c):
    s = Fraction(x) * Fraction(a) + Fraction(c)
    if s == 0:
        if (x == 0 or a == 0) and c == 0:
            neg = math.copysign(1, x) * math.copysign(1, a) < 0 and math.copysign(1, c) < 0
            return -0.0 if neg else 0.0
        return 0.0
    try:
        return s.numerator / s.denominator  # correctly rounded in CPython
    except OverflowError:
        return math.inf if s > 0 else -math.inf


def same_bits(x, y):
    return np.float64(x).view(np.uint64) == np.float64(y).view(np.uint64)


def test_fma_emulation_adversarial():
    """Few-bit operands at nearby exponents: many exact ties and near-ties."""
    rng = np.random.default_rng(1234)
    n_ties = 0
    for _ in range(600):
        def f(bits, elo, ehi):
            m = int(rng.integers(0, 2**bits)) | 1
            return math.ldexp(m, int(rng.integers(elo, ehi + 1))) * float(rng.choice([-1.0, 1.0]))
        a = f(int(rng.choice([1, 2, 3, 10, 27, 53])), -30, 30)
        c = f(int(rng.choice([1, 2, 3, 10, 27, 53])), -60, 60)
        xs = np.array([f(int(rng.choice([1, 2, 5, 24, 53])), -60, 5) for _ in range(20)])
        got = rb._fma(xs, a, c)
        for x, g in zip(xs.tolist(), got.tolist()):
            e = exact_fma(x, a, c)
            assert same_bits(g, e), (x, a, c, g, e)
            ex = Fraction(x) * Fraction(a) + Fraction(c)
            if Fraction(e) != ex:
                nb = math.nextafter(e, math.inf if ex > Fraction(e) else -math.inf)
                n_ties += (Fraction(e) + Fraction(nb)) / 2 == ex
    assert n_ties > 50  # the sample really exercised ties


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(x=st.floats(-2.0**64, 2.0**64), a=finite, c=finite)
def test_fma_emulation_hypothesis(x, a, c):
    """Any finite operands (the fast path or the exact fallback), bit for bit."""
    xs = np.array([x, x * 0.5, 0.0, -0.0, x + 1.0])
    got = rb._fma(xs, a, c)
    for xi, g in zip(xs.tolist(), got.tolist()):
        assert same_bits(g, exact_fma(xi, a, c)), (xi, a, c, g)


# ---------------------------------------------------------------------------------------------
# Uniform: bit exact against the contract in exact arithmetic
# ---------------------------------------------------------------------------------------------


def uniform_expected_f32(words, low, high):
    return np.array([exact_arith.uniform32(int(w), low, high) for w in words], dtype=np.float32)


def uniform_expected_f64(words, low, high):
    if low == high:
        return np.full(len(words) // 2, low)
    c = high - low
    below = math.nextafter(high, -math.inf)
    out = []
    for j in range(len(words) // 2):
        k = (words[2 * j] | (words[2 * j + 1] << 32)) >> 11
        t = Fraction(k, 2**53) * Fraction(c) + Fraction(low)
        out.append(min(t.numerator / t.denominator, below))
    return np.array(out)


def uniform_param_cases():
    rng = np.random.default_rng(7)
    cases = [(0.0, 1.0), (-2.0, 3.0), (1.0, 1.0 + 3 * 2.0**-23), (1e-3, 1e-3 + 1e-9),
             (-1e30, 3e30), (-3.0, -3.0), (-0.0, 1.0), (0.1, 0.7), (2.0**-126, 2.0**-125),
             (-1.0, 0.0), (5.0, 5.000001), (-3e38, 3.1e38), (-1.7e38, 1.7e38), (-1e-40, 3e-39)]
    for _ in range(10):
        low = float(rng.normal()) * 10.0 ** int(rng.integers(-6, 6))
        high = low + abs(float(rng.normal())) * 10.0 ** int(rng.integers(-8, 6))
        cases.append((low, high))
    return cases


@pytest.mark.parametrize("low,high", uniform_param_cases())
def test_uniform_float32_exact(low, high):
    n, seed, stream, offset = 40, 11, 2**40 + 5, 4 * 2**32 - 17
    out = np.empty(n, np.float32)
    BACKEND.fill(out, "uniform", (low, high), seed, stream, offset, 1)
    words = py_words(seed, stream, offset, n)
    exp = uniform_expected_f32(words, low, high)
    np.testing.assert_array_equal(out.view(np.uint32), exp.view(np.uint32))
    if low != high:
        o = out.astype(np.float64)  # compare in float64, not in float32
        assert np.all(o < high) and np.all(o >= float(np.float32(low)))


@pytest.mark.parametrize("low,high", uniform_param_cases())
def test_uniform_float64_exact(low, high):
    n, seed, stream, offset = 30, 2**63 + 1, 3, 2**62 - 30  # the highest reachable elements
    out = np.empty(n, np.float64)
    BACKEND.fill(out, "uniform", (low, high), seed, stream, offset, 1)
    words = py_words(seed, stream, 2 * offset, 2 * n)
    exp = uniform_expected_f64(words, low, high)
    np.testing.assert_array_equal(out.view(np.uint64), exp.view(np.uint64))


def test_uniform_float64_extreme_params_exact():
    """Parameters where the fma emulation falls back to exact arithmetic."""
    for low, high in [(1e-310, 3e-310), (0.0, 1e300), (-1e-300, 1e-300), (2.0**-1070, 1.0)]:
        out = np.empty(25, np.float64)
        BACKEND.fill(out, "uniform", (low, high), 8, 9, 1000, 1)
        exp = uniform_expected_f64(py_words(8, 9, 2000, 50), low, high)
        np.testing.assert_array_equal(out.view(np.uint64), exp.view(np.uint64))


def test_uniform_extremes_of_u():
    """u = 0 gives low, u = 1 - 2^-24 is clamped below high (words chosen by hand)."""
    w = np.array([0, 0xFF, 0xFFFFFFFF, 0xFFFFFF00, 0x80000000], dtype=np.uint32)
    for low, high in [(0.0, 1.0), (1.0, 1.0000001), (-1.0, 2.0**-30)]:
        gen = NumpyBackend._uniform_chunk_factory("f32", low, high)
        got = gen(w)
        exp = uniform_expected_f32(w.tolist(), low, high)
        np.testing.assert_array_equal(got.view(np.uint32), exp.view(np.uint32))
    gen = NumpyBackend._uniform_chunk_factory("f32", 1.0, 1.0 + 2.0**-23)
    assert gen(np.array([0xFFFFFFFF], np.uint32))[0] == np.float32(1.0)  # below(high) clamp


def test_uniform_default_is_u():
    out = np.empty(1000, np.float32)
    BACKEND.fill(out, "uniform", (0.0, 1.0), 3, 0, 0, 4)
    w = BACKEND.random_raw(1000, 3, 0, 0)
    np.testing.assert_array_equal(out, (w >> 8).astype(np.float32) * np.float32(2.0**-24))


def test_half_precision_is_rounded_float32():
    for dist, params in [("uniform", (-1.0, 1.0)), ("uniform", (0.0, 1.0)), ("normal", (0.5, 3.0)),
                         ("trunc_normal", (0.0, 1.0, -2.0, 2.0))]:
        ref = np.empty((37, 41), np.float32)
        BACKEND.fill(ref, dist, params, 5, 6, 77, 1)
        h = np.empty((37, 41), np.float16)
        BACKEND.fill(h, dist, params, 5, 6, 77, 1)
        np.testing.assert_array_equal(h.view(np.uint16), ref.astype(np.float16).view(np.uint16))
        ml_dtypes = pytest.importorskip("ml_dtypes")
        bf = np.empty((37, 41), ml_dtypes.bfloat16)
        BACKEND.fill(bf, dist, params, 5, 6, 77, 1)
        np.testing.assert_array_equal(bf.view(np.uint16),
                                      ref.astype(ml_dtypes.bfloat16).view(np.uint16))


def test_bfloat16_rounding_bits():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    bits = np.random.default_rng(3).integers(0, 2**32, 100000, dtype=np.uint64).astype(np.uint32)
    f = bits.view(np.float32)
    f = f[np.isfinite(f)]
    np.testing.assert_array_equal(rb._f32_to_bf16_bits(f), f.astype(ml_dtypes.bfloat16).view(np.uint16))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("dist,params", [("uniform", (-1.0, 2.0)), ("normal", (0.0, 1.0)),
                                         ("trunc_normal", (1.0, 2.0, -3.0, 4.0))])
def test_offset_equals_tail_and_shape(dtype, dist, params):
    n = rb._CHUNK + 300  # crosses the internal chunk boundary
    full = np.empty(n, dtype)
    BACKEND.fill(full, dist, params, 17, 2**35, 0, 1)
    for k in (1, 3, rb._CHUNK - 7):
        part = np.empty(n - k, dtype)
        BACKEND.fill(part, dist, params, 17, 2**35, k, 8)
        np.testing.assert_array_equal(part, full[k:])
    shaped = np.empty((10, 3, 7), dtype)
    BACKEND.fill(shaped, dist, params, 17, 2**35, 5, 1)
    np.testing.assert_array_equal(shaped.reshape(-1), full[5:215])


# ---------------------------------------------------------------------------------------------
# Normal and truncated normal: accuracy against scipy.special.ndtri
# ---------------------------------------------------------------------------------------------


def rel_err(z, zr):
    return np.max(np.abs(z - zr) / np.maximum(1.0, np.abs(zr)))


def test_normal_z_float32_all_m():
    ndtri = pytest.importorskip("scipy.special").ndtri
    step = 1 << 21
    for s in range(0, 1 << 24, step):
        m = np.arange(s, s + step, dtype=np.uint32)
        z = rb.normal_z(rb._x_float32(m << np.uint32(8)))
        zr = ndtri((m.astype(np.float64) + 0.5) * 2.0**-24)
        assert rel_err(z, zr) <= 1e-14


def test_normal_z_float64():
    ndtri = pytest.importorskip("scipy.special").ndtri
    rng = np.random.default_rng(5)
    k = np.concatenate([rng.integers(0, 2**53, 200000, dtype=np.int64), np.arange(300),
                        2**53 - 1 - np.arange(300), 2**52 + np.arange(-300, 300)])
    x = (2 * k + 1 - 2**53).astype(np.float64) * 2.0**-53
    z = rb.normal_z(x)
    s = (1.0 - np.abs(x)) / 2  # exact min(u', 1 - u')
    zr = -np.sign(x) * ndtri(s)
    assert rel_err(z, zr) <= 1e-14
    assert abs(z.max() - 8.292361075813595) < 1e-12 and z.min() == -z.max()


def test_normal_fill_end_to_end():
    ndtri = pytest.importorskip("scipy.special").ndtri
    n, seed, stream, offset = 50000, 12345, 2**50, 2**40
    mean, std = 0.25, 3.0
    out64 = np.empty(n, np.float64)
    BACKEND.fill(out64, "normal", (mean, std), seed, stream, offset, 1)
    w = BACKEND.random_raw(2 * n, seed, stream, 2 * offset).astype(np.uint64)
    k = ((w[0::2] | (w[1::2] << np.uint64(32))) >> np.uint64(11)).astype(np.int64)
    x = (2 * k + 1 - 2**53).astype(np.float64) * 2.0**-53
    zr = -np.sign(x) * ndtri((1.0 - np.abs(x)) / 2)
    assert np.max(np.abs(out64 - (mean + std * zr)) / (std * np.maximum(1, np.abs(zr)))) <= 1e-14

    out32 = np.empty(n, np.float32)
    BACKEND.fill(out32, "normal", (mean, std), seed, stream, offset, 1)
    m = BACKEND.random_raw(n, seed, stream, offset) >> np.uint32(8)
    y = mean + std * ndtri((m.astype(np.float64) + 0.5) * 2.0**-24)
    # rounded once from an accurate float64 value: within half an ulp (+ float64 noise)
    assert np.all(np.abs(out32 - y) <= 0.5 * np.spacing(np.abs(out32)) * (1 + 1e-9) + 1e-13)
    # and exactly float32(fma(z, std, mean)) of the backend's own z
    z = rb.normal_z(rb._x_float32(m << np.uint32(8)))
    for i in range(0, n, 997):
        t = Fraction(float(z[i])) * Fraction(std) + Fraction(mean)
        assert out32[i] == np.float32(t.numerator / t.denominator)


WINDOWS = [(-2.0, 2.0), (3.0, 8.0), (-8.0, -3.0), (-math.inf, 1.0), (0.5, math.inf), (0.1, 0.1001),
           (-12.0, -11.99), (-1e-4, 1e-4), (-math.inf, -5.0), (11.0, math.inf)]


@pytest.mark.parametrize("a,b", WINDOWS)
def test_trunc_constants(a, b):
    sp = pytest.importorskip("scipy.special")
    tc = rb.TruncConstants(0.0, 1.0, a, b)
    assert tc.pa == pytest.approx(sp.ndtr(a), rel=1e-13, abs=0)
    assert tc.qa == pytest.approx(sp.ndtr(-a), rel=1e-13, abs=0)
    assert tc.qb == pytest.approx(sp.ndtr(-b), rel=1e-13, abs=0)
    if a >= 0:
        d_ref = sp.ndtr(-a) - sp.ndtr(-b)
    elif b <= 0:
        d_ref = sp.ndtr(b) - sp.ndtr(a)
    else:
        d_ref = 1.0 - sp.ndtr(a) - sp.ndtr(-b)
    assert tc.d == pytest.approx(d_ref, rel=1e-9 if b - a < 0.01 else 1e-13)


@pytest.mark.parametrize("a,b", WINDOWS)
@pytest.mark.parametrize("kind", ["f32", "f64"])
def test_trunc_z_vs_ndtri(a, b, kind):
    ndtri = pytest.importorskip("scipy.special").ndtri
    tc = rb.TruncConstants(0.0, 1.0, a, b)
    w = np.random.default_rng(9).integers(0, 2**32, 200000, dtype=np.uint64).astype(np.uint32)
    w[:4] = [0, 0, 0xFFFFFFFF, 0xFFFFFFFF]  # extreme u' for both layouts
    u, v = rb._uv_float32(w) if kind == "f32" else rb._uv_float64(w)
    p, q = tc.pq(u, v)
    assert np.all(p > 0) and np.all(q > 0)
    assert np.max(np.abs(p + q - 1)) <= 4e-16
    # p is the contract's pa + u' d; q = qa - u' d, carried on its own
    np.testing.assert_allclose(p, tc.pa + u * tc.d, rtol=4e-16, atol=0)
    np.testing.assert_allclose(q, tc.qa - u * tc.d, rtol=1e-12, atol=4e-16)
    z = tc.z(u, v)
    zr = np.where(p <= q, ndtri(p), -ndtri(q))
    assert rel_err(z, zr) <= 1e-14
    assert np.all(z >= a - 1e-12 * max(1, abs(a))) and np.all(z <= b + 1e-12 * max(1, abs(b)))


@pytest.mark.parametrize("a,b", WINDOWS)
def test_trunc_fill_in_bounds(a, b):
    mean, std = 1.5, 0.5
    aa, bb = mean + std * a, mean + std * b
    out32 = np.empty(30000, np.float32)
    BACKEND.fill(out32, "trunc_normal", (mean, std, aa, bb), 1, 2, 3, 1)
    assert np.all(out32 >= aa) and np.all(out32 <= bb)
    out64 = np.empty(30000, np.float64)
    BACKEND.fill(out64, "trunc_normal", (mean, std, aa, bb), 1, 2, 3, 1)
    assert np.all(out64 >= aa) and np.all(out64 <= bb)
    # the float32 value is the float64-accurate value rounded (then clamped into [A, B])
    tc = rb.TruncConstants(mean, std, aa, bb)
    u, v = rb._uv_float32(BACKEND.random_raw(30000, 1, 2, 3))
    y = np.clip(mean + std * tc.z(u, v), aa, bb)
    assert np.all(np.abs(out32 - y) <= np.spacing(np.abs(out32).astype(np.float32)) + 1e-15)


def test_trunc_float32_bounds_clamped():
    """Bounds that are not float32 values: float32 results are clamped into [A, B]."""
    a, b = 0.1, 0.1 + 1e-8  # holds exactly two float32 values
    A = np.float32(a) if float(np.float32(a)) >= a else np.nextafter(np.float32(a), np.float32(1))
    B = np.nextafter(A, np.float32(1))
    assert float(A) >= a and float(B) <= b < float(np.nextafter(B, np.float32(1)))
    out = np.empty(1000, np.float32)
    BACKEND.fill(out, "trunc_normal", (0.0, 1.0, a, b), 4, 4, 4, 1)
    assert np.all(out >= a) and np.all(out <= b)
    assert set(out.tolist()) == {float(A), float(B)}


# ---------------------------------------------------------------------------------------------
# Statistics
# ---------------------------------------------------------------------------------------------

N_KS = 100000


def sample(dtype, dist, params, seed, stream=0):
    out = np.empty(N_KS, dtype)
    BACKEND.fill(out, dist, params, seed, stream, 0, 1)
    return out.astype(np.float64)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ks_uniform(dtype):
    stats = pytest.importorskip("scipy.stats")
    assert stats.kstest(sample(dtype, "uniform", (-2.0, 3.0), 101), "uniform", args=(-2.0, 5.0)).pvalue > 1e-3
    assert stats.kstest(sample(dtype, "uniform", (0.0, 1.0), 102, 9), "uniform").pvalue > 1e-3


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ks_normal(dtype):
    stats = pytest.importorskip("scipy.stats")
    assert stats.kstest(sample(dtype, "normal", (1.0, 2.0), 201), "norm", args=(1.0, 2.0)).pvalue > 1e-3
    # the tails: the |x| > 2.5 conditional distribution is the normal tail
    x = sample(dtype, "normal", (0.0, 1.0), 202)
    tail = np.abs(x[np.abs(x) > 2.5])
    assert stats.kstest(tail, stats.truncnorm(2.5, np.inf).cdf).pvalue > 1e-3


@pytest.mark.parametrize("a,b", [(-2.0, 2.0), (3.0, 8.0), (-8.0, -3.0), (-math.inf, 1.0),
                                 (0.5, math.inf), (0.1, 0.1001)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ks_truncnorm(a, b, dtype):
    stats = pytest.importorskip("scipy.stats")
    mean, std = -1.0, 2.0
    seed = 301 + int(1000 * abs(math.atan(a)) + 10 * abs(math.atan(b)))  # one seed per window
    x = sample(dtype, "trunc_normal", (mean, std, mean + std * a, mean + std * b), seed)
    z = (x - mean) / std
    assert stats.kstest(z, stats.truncnorm(a, b).cdf).pvalue > 1e-3


@settings(max_examples=300, deadline=None)
@given(x=st.floats(0.0, 1.0), a=st.floats(1e-30, 1e30), c=st.floats(-1e30, 1e30),
       bits=st.integers(1, 53))
def test_fma_emulation_fast_path_hypothesis(x, a, c, bits):
    """The emulated (fast) path: operands in the safe range, u-like x with few bits."""
    m, e = math.frexp(x)
    xq = math.ldexp(math.floor(math.ldexp(m, bits)), e - bits)  # x truncated to `bits` bits
    xs = np.array([x, xq, 1.0 - 2.0**-53, 2.0**-53, 0.5])
    assume(rb._fma_safe(a, c))
    got = rb._fma(xs, a, c)
    for xi, g in zip(xs.tolist(), got.tolist()):
        assert same_bits(g, exact_fma(xi, a, c)), (xi, a, c, g)
