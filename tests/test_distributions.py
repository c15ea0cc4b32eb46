"""The fast path's distributions against scipy: quantile accuracy (docs/stream.md §5), KS tests,
and the sample std of every rule against its formula."""
import math

import numpy as np
import pytest

import philoxinit as pxi

scipy_special = pytest.importorskip("scipy.special", reason="scipy is needed for the accuracy tests")
stats = pytest.importorskip("scipy.stats", reason="scipy is needed for the KS tests")
ndtri = scipy_special.ndtri

F32_BOUND = 2e-6   # docs/stream.md §5: |z - ndtri(u)| <= 2e-6 * max(1, |z|)
F64_BOUND = 1e-14


def _all_float32_normal_inputs():
    """One word for each of the 2**24 values of m = w >> 8 (the low byte varies too)."""
    m = np.arange(1 << 24, dtype=np.uint32)
    return (m << np.uint32(8)) | (m & np.uint32(0xFF))


def test_float32_normal_quantile_over_every_uniform_value():
    # The fill maps word w to ndtri(u'), u' = ((w >> 8) + 1/2) 2^-24. A fill's words are
    # random_raw's; to sweep all 2^24 inputs, find them in a long stream: every m occurs.
    n = 1 << 26
    words = pxi.random_raw(n, seed=11, stream=3)
    z = pxi.normal_(np.empty(n, np.float32), seed=11, stream=3).astype(np.float64)
    m = (words >> np.uint32(8)).astype(np.float64)
    u = (m + 0.5) * 2.0**-24
    ref = ndtri(u)
    err = np.abs(z - ref) / np.maximum(1.0, np.abs(ref))
    assert err.max() <= F32_BOUND, (err.max(), ref[err.argmax()])
    covered = np.unique(words >> np.uint32(8)).size
    assert covered > 0.98 * (1 << 24)  # the sweep really reaches (almost) every input
    assert np.isfinite(z).all()
    assert np.abs(z).max() <= ndtri(1 - 2.0**-25) + 1e-5


def _trunc_reference(words, a, b):
    """ndtri of p = Phi(a) + u'(Phi(b) - Phi(a)) in float64, each tail from its own side."""
    k = ((words >> np.uint32(7)) | np.uint32(1)).astype(np.float64) - 2.0**24
    up, um = (2.0**24 + k) * 2.0**-25, (2.0**24 - k) * 2.0**-25   # u', 1 - u' (exact)
    pa, qb = stats.norm.cdf(a), stats.norm.sf(b)
    d = stats.norm.cdf(b) - stats.norm.cdf(a) if b <= 0 else (
        stats.norm.sf(a) - stats.norm.sf(b) if a >= 0 else 1 - stats.norm.cdf(a) - stats.norm.sf(b))
    p, q = pa + up * d, qb + um * d
    return np.clip(np.where(p < q, ndtri(p), -ndtri(q)), a, b)


@pytest.mark.parametrize("a,b", [(-2, 2), (3, 8), (-8, -3), (-math.inf, 1), (0.5, math.inf),
                                 (0.1, 0.1001), (6, 8), (-12, -11), (10, 12), (-1, 8), (4, 12)])
def test_float32_trunc_normal_quantile(a, b):
    n = 1 << 21
    words = pxi.random_raw(n, seed=5, stream=1)
    x = pxi.trunc_normal_(np.empty(n, np.float32), 0.0, 1.0, a, b, seed=5, stream=1)
    assert (x >= a).all() and (x <= b).all()  # no outliers, ever
    ref = _trunc_reference(words, a, b)
    err = np.abs(x.astype(np.float64) - ref) / np.maximum(1.0, np.abs(ref))
    assert err.max() <= F32_BOUND, (err.max(), ref[err.argmax()])


def test_float64_normal_quantile():
    n = 1 << 20
    w = pxi.random_raw(2 * n, seed=9).astype(np.uint64)
    k = (w[0::2] | (w[1::2] << np.uint64(32))) >> np.uint64(11)
    odd = 2 * k + np.uint64(1)                      # u' = odd * 2^-54; tails from their own side
    small = np.minimum(odd, (np.uint64(1) << np.uint64(54)) - odd).astype(np.float64) * 2.0**-54
    ref = np.where(odd < (np.uint64(1) << np.uint64(53)), ndtri(small), -ndtri(small))
    z = pxi.normal_(np.empty(n, np.float64), seed=9)
    err = np.abs(z - ref) / np.maximum(1.0, np.abs(ref))
    assert err.max() <= F64_BOUND


@pytest.mark.parametrize("a,b", [(-2, 2), (3, 8), (-math.inf, -5)])
def test_float64_trunc_normal_quantile(a, b):
    n = 1 << 18
    w = pxi.random_raw(2 * n, seed=2).astype(np.uint64)
    k = ((w[0::2] | (w[1::2] << np.uint64(32))) >> np.uint64(11)).astype(np.float64)
    x = pxi.trunc_normal_(np.empty(n, np.float64), 0.0, 1.0, a, b, seed=2)
    assert (x >= a).all() and (x <= b).all()
    u = (k + 0.5) * 2.0**-53
    pa, pb = stats.norm.cdf(a), stats.norm.cdf(b)
    sa, sb = stats.norm.sf(a), stats.norm.sf(b)
    if a >= 0:
        ref = -ndtri(sb + (1 - u) * (sa - sb))
    else:
        ref = ndtri(pa + u * (pb - pa))
    # u' carries 2^-53 relative rounding here; allow for it where the quantile is steep.
    err = np.abs(x - ref) / np.maximum(1.0, np.abs(ref))
    assert err.max() <= 1e-10


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ks_uniform_normal_truncnorm(dtype):
    n = 200_000
    u = pxi.uniform_(np.empty(n, dtype), -1.0, 3.0, seed=123)
    assert stats.kstest(u, stats.uniform(loc=-1, scale=4).cdf).pvalue > 1e-3
    z = pxi.normal_(np.empty(n, dtype), 0.5, 2.0, seed=123)
    assert stats.kstest(z, stats.norm(loc=0.5, scale=2.0).cdf).pvalue > 1e-3
    for a, b in [(-2, 2), (3, 8), (-math.inf, 0.5)]:
        t = pxi.trunc_normal_(np.empty(n, dtype), 1.0, 2.0, 1 + 2 * a, 1 + 2 * b, seed=7)
        dist = stats.truncnorm(a, b, loc=1.0, scale=2.0)
        assert stats.kstest(t, dist.cdf).pvalue > 1e-3, (a, b)


def test_ks_detects_a_wrong_distribution():
    # The KS checks above have power: a normal is rejected as a uniform of the same spread.
    z = pxi.normal_(np.empty(200_000, np.float32), seed=1)
    assert stats.kstest(z, stats.uniform(loc=-3, scale=6).cdf).pvalue < 1e-6


RULE_CASES = [
    # (function, kwargs, shape, expected std of the samples)
    ("xavier_uniform_", {"gain": 1.5}, (300, 500), 1.5 * math.sqrt(2 / 800)),
    ("xavier_normal_", {}, (300, 500), math.sqrt(2 / 800)),
    ("kaiming_uniform_", {"a": math.sqrt(5)}, (256, 128), math.sqrt(2 / 6) / math.sqrt(128)),
    ("kaiming_normal_", {"mode": "fan_out", "nonlinearity": "relu"}, (64, 32, 3, 3),
     math.sqrt(2) / math.sqrt(64 * 9)),
    ("glorot_uniform_", {}, (3, 3, 32, 64), math.sqrt(2 / (9 * 96))),
    ("glorot_normal_", {}, (400, 600), math.sqrt(2 / 1000)),
    ("he_uniform_", {}, (512, 256), math.sqrt(2 / 512)),
    ("he_normal_", {}, (3, 3, 64, 32), math.sqrt(2 / (9 * 64))),
    ("lecun_uniform_", {}, (512, 256), math.sqrt(1 / 512)),
    ("lecun_normal_", {}, (512, 256), math.sqrt(1 / 512)),
    ("variance_scaling_", {"scale": 3.0, "mode": "fan_out", "distribution": "untruncated_normal"},
     (200, 400), math.sqrt(3 / 400)),
]


@pytest.mark.parametrize("name,kwargs,shape,expected", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_sample_std_matches_formula(name, kwargs, shape, expected):
    w = getattr(pxi, name)(np.empty(shape, np.float32), seed=42, stream=name, **kwargs)
    n = w.size
    # the sample std of n values has relative standard error about 1/sqrt(2n); 6 of them
    assert abs(float(w.std()) / expected - 1) < 6 / math.sqrt(2 * n)
    assert abs(float(w.mean())) < 6 * expected / math.sqrt(n)


def test_float16_and_bfloat16_are_the_rounded_float32():
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 arrays need ml_dtypes")
    f32 = pxi.normal_(np.empty(100_003, np.float32), 0.0, 3e-5, seed=8, offset=5)  # f16 subnormals
    f16 = pxi.normal_(np.empty(100_003, np.float16), 0.0, 3e-5, seed=8, offset=5)
    assert (f16.view(np.uint16) == f32.astype(np.float16).view(np.uint16)).all()
    b32 = pxi.trunc_normal_(np.empty(100_003, np.float32), 1.0, 2.0, -3, 5, seed=8, offset=7)
    b16 = pxi.trunc_normal_(np.empty(100_003, ml_dtypes.bfloat16), 1.0, 2.0, -3, 5, seed=8, offset=7)
    assert (b16.view(np.uint16) == b32.astype(ml_dtypes.bfloat16).view(np.uint16)).all()
