"""Complex outputs (docs/stream.md §8): native == reference bit for bit, the contract's formula
from the raw words, shards, offsets, moments of JAX's three complex distributions, bad input."""
import math

import numpy as np
import pytest

import philoxinit as pxi

native, reference = pxi._api, pxi.reference._api
DISTS = [("normal", 2.0), ("trunc_normal", 2.0), ("trunc_normal", 0.5), ("uniform", 2.0)]


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("dist, upper", DISTS)
def test_native_and_reference_agree_bitwise(dtype, dist, upper):
    for shape, offset in [((37, 5), 0), ((3, 4, 6), 11), ((1,), 2**40)]:
        a = native.complex_(np.empty(shape, dtype), dist, 0.7, upper, seed=9, stream="z",
                            offset=offset)
        b = reference.complex_(np.empty(shape, dtype), dist, 0.7, upper, seed=9, stream="z",
                               offset=offset)
        assert a.tobytes() == b.tobytes()


def _uniforms_from_words(n, dtype, seed, stream, offset=0):
    """u1, u2 of elements 0..n-1 straight from random_raw, as the contract states them."""
    if dtype == np.complex64:
        w = pxi.random_raw(2 * n, seed=seed, stream=stream, offset=2 * offset).astype(np.uint64)
        u = (w >> np.uint64(8)).astype(np.float64) * 2.0**-24
    else:
        w = pxi.random_raw(4 * n, seed=seed, stream=stream, offset=4 * offset).astype(np.uint64)
        x64 = w[0::2] | (w[1::2] << np.uint64(32))
        u = (x64 >> np.uint64(11)).astype(np.float64) * 2.0**-53
    return u[0::2], u[1::2]


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("dist, upper", DISTS)
def test_formula_from_raw_words(dtype, dist, upper):
    n, scale, offset = 4000, 1.3, 7
    u1, u2 = _uniforms_from_words(n, dtype, 5, 3, offset)
    rho = {"normal": lambda: np.sqrt(-np.log1p(-u1)),
           "trunc_normal": lambda: np.sqrt(-np.log1p(np.expm1(-upper * upper) * u1)),
           "uniform": lambda: np.sqrt(2.0 * u1)}[dist]()
    theta = 2.0 * math.pi * u2
    real = np.float32 if dtype == np.complex64 else np.float64
    want_re = (scale * rho * np.cos(theta)).astype(real)
    want_im = (scale * rho * np.sin(theta)).astype(real)
    got = native.complex_(np.empty(n, dtype), dist, scale, upper, seed=5, stream=3, offset=offset)
    assert np.array_equal(got.real, want_re) and np.array_equal(got.imag, want_im)


def test_moments_match_jax_conventions():
    n = 200_000
    z = native.complex_(np.empty(n, np.complex128), "normal", 0.5, seed=1)
    assert np.mean(np.abs(z) ** 2) == pytest.approx(0.25, rel=0.02)
    assert np.var(z.real) == pytest.approx(0.125, rel=0.02)
    assert np.var(z.imag) == pytest.approx(0.125, rel=0.02)
    assert abs(np.mean(z.real * z.imag)) < 0.002
    t = native.complex_(np.empty(n, np.complex128), "trunc_normal", 1.0, 2.0, seed=2)
    assert np.abs(t).max() < 2.0
    # JAX's sampler: |z|^2 is Exp(1) cut at 4, so E|z|^2 = 1 - 4 e^-4 / (1 - e^-4)
    exact = 1.0 - 4.0 * math.exp(-4.0) / -math.expm1(-4.0)
    assert np.mean(np.abs(t) ** 2) == pytest.approx(exact, rel=0.01)
    d = native.complex_(np.empty(n, np.complex128), "uniform", 1.0, seed=3)
    assert np.abs(d).max() < math.sqrt(2.0)
    assert np.mean(np.abs(d) ** 2) == pytest.approx(1.0, rel=0.02)
    # uniform on the disk: |z|^2 / 2 is U(0, 1)
    assert np.mean(np.abs(d) ** 2 < 1.0) == pytest.approx(0.5, abs=0.005)


def test_shards_and_non_contiguous_outputs():
    full = native.complex_(np.empty((6, 8), np.complex64), "uniform", 2.0, seed=4, stream="s")
    shard = native.complex_(np.empty((3, 4), np.complex64), "uniform", 2.0, seed=4, stream="s",
                            global_shape=(6, 8), index=(slice(3, 6), slice(2, 6)))
    assert np.array_equal(shard, full[3:6, 2:6])
    rows = native.complex_(np.empty((2, 8), np.complex64), "uniform", 2.0, seed=4, stream="s",
                           global_shape=(6, 8), index=(slice(1, 3),))
    assert np.array_equal(rows, full[1:3])
    big = np.zeros((8, 6), np.complex64)
    view = big.T  # Fortran-ordered view: filled in the logical C order
    native.complex_(view, "uniform", 2.0, seed=4, stream="s")
    assert np.array_equal(view, native.complex_(np.empty((6, 8), np.complex64), "uniform", 2.0,
                                                seed=4, stream="s"))
    # a fill at offset k is the tail of a longer fill
    long = native.complex_(np.empty(50, np.complex128), seed=8)
    assert np.array_equal(native.complex_(np.empty(30, np.complex128), seed=8, offset=20),
                          long[20:])


def test_bad_input_leaves_out_untouched():
    out = np.full(4, 1 + 2j, np.complex64)
    cases = [(dict(dist="cauchy"), ValueError), (dict(scale=-1.0), ValueError),
             (dict(scale=float("nan")), ValueError), (dict(scale="1"), TypeError),
             (dict(dist="trunc_normal", upper=0.0), ValueError), (dict(seed=-1), ValueError),
             (dict(offset=-1), ValueError)]
    for kwargs, exc in cases:
        with pytest.raises(exc):
            native.complex_(out, **kwargs)
        assert (out == 1 + 2j).all()
    with pytest.raises(TypeError, match="complex64 or complex128"):
        native.complex_(np.empty(3, np.float32))
    with pytest.raises(TypeError):
        native.complex_([1j, 2j])
    ro = np.empty(3, np.complex64)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        native.complex_(ro)
    assert native.complex_(np.empty((0, 3), np.complex64)).shape == (0, 3)
