"""The public API of ``philoxinit`` (C++ backend) against ``philoxinit.reference`` (NumPy).

What is checked here (docs/stream.md is the contract):

* facade vs reference over shapes, dtypes, seeds, streams and offsets: raw words and uniform
  values bit for bit, normal and truncated-normal values within the bound of §5, every named
  rule likewise;
* allocating twins, identical signatures of the two modules;
* thread-count invariance, slice (offset) consistency, non-contiguous outputs, np.memmap;
* the example of the issue;
* PHILOXINIT_ISA (in subprocesses), ``info()``, ``set_num_threads`` / ``get_num_threads``.
"""
from __future__ import annotations

import inspect
import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import philoxinit as pxi
from philoxinit import reference as ref
from philoxinit import rules

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - depends on the environment
    ml_dtypes = None

MODULES = [pytest.param(pxi, id="philoxinit"), pytest.param(ref, id="reference")]
DTYPE_NAMES = ["float16", "float32", "float64", "bfloat16"]
OFFSET_LIMIT = 1 << 62
U64 = (1 << 64) - 1
HYP = settings(max_examples=60, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def get_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        mld = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")
        return np.dtype(mld.bfloat16)
    return np.dtype(name)


def bits(a: np.ndarray) -> np.ndarray:
    """The raw bits of a float array (C order of the logical array)."""
    a = np.ascontiguousarray(a)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def assert_bits_equal(got: np.ndarray, want: np.ndarray, what: str = "") -> None:
    assert got.shape == want.shape, (what, got.shape, want.shape)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    gb, wb = bits(got), bits(want)
    if not np.array_equal(gb, wb):
        idx = np.flatnonzero(gb.reshape(-1) != wb.reshape(-1))
        i = idx[:5]
        raise AssertionError(
            f"{what}: {idx.size} of {gb.size} elements differ; first at flat index {i.tolist()}: "
            f"got {got.reshape(-1)[i].tolist()} want {want.reshape(-1)[i].tolist()}")


# (mantissa bits, minimum normal exponent) per dtype
_FORMAT = {"float16": (10, -14), "bfloat16": (7, -126), "float32": (23, -126),
           "float64": (52, -1022)}


def ulp(x: np.ndarray, dtype_name: str) -> np.ndarray:
    """Spacing of the format at |x| (subnormal spacing below the normal range)."""
    mant, emin = _FORMAT[dtype_name]
    ax = np.abs(np.asarray(x, dtype=np.float64))
    _, e = np.frexp(ax)
    e = np.where(ax == 0, emin, np.maximum(e - 1, emin))
    return np.ldexp(1.0, (e - mant).astype(np.int64))


def assert_normal_close(fast: np.ndarray, want: np.ndarray, mean: float, std: float,
                        what: str = "") -> None:
    """docs/stream.md §5: |fast - ref| <= 2e-6 std max(1, |z|) + 2 ulp (float32),
    1e-14 std max(1, |z|) + 2 ulp (float64); 16-bit outputs: the float32 bound plus one ulp of
    the output dtype (both sides round a float32 to 16 bits)."""
    assert fast.shape == want.shape and fast.dtype == want.dtype, (what, fast.dtype, want.dtype)
    name = fast.dtype.name
    fb, wb = bits(fast).reshape(-1), bits(want).reshape(-1)
    diff = fb != wb
    if not diff.any():
        return
    f = np.ascontiguousarray(fast).reshape(-1)[diff].astype(np.float64)
    r = np.ascontiguousarray(want).reshape(-1)[diff].astype(np.float64)
    assert np.isfinite(f).all() and np.isfinite(r).all(), (what, f[~np.isfinite(f)], r)
    z = np.abs(r - mean) / std if std > 0 else np.zeros_like(r)
    if name == "float64":
        tol = 1e-14 * std * np.maximum(1.0, z) + 2 * ulp(r, "float64")
    else:
        tol = 2e-6 * std * np.maximum(1.0, z) + 2 * ulp(r, "float32")
        if name in ("float16", "bfloat16"):
            tol = tol + np.maximum(ulp(f, name), ulp(r, name))
    bad = np.abs(f - r) > tol
    if bad.any():
        raise AssertionError(
            f"{what}: {int(bad.sum())} values outside the §5 bound (mean={mean!r}, std={std!r}, "
            f"{name}); e.g. fast={f[bad][:4].tolist()} ref={r[bad][:4].tolist()} "
            f"tol={tol[bad][:4].tolist()}")


def compare(dist: str, fast: np.ndarray, want: np.ndarray, params: tuple, what: str = "") -> None:
    """Bit equality for uniform, the §5 bound for normal and trunc_normal."""
    if dist == "uniform":
        assert_bits_equal(fast, want, what)
    else:
        assert_normal_close(fast, want, params[0], params[1], what)


FILL = {"uniform": "uniform_", "normal": "normal_", "trunc_normal": "trunc_normal_"}


def fill(mod, dist: str, out: np.ndarray, params: tuple, **kw) -> np.ndarray:
    return getattr(mod, FILL[dist])(out, *params, **kw)


# ----------------------------------------------------------------------------- strategies

seeds = st.one_of(st.sampled_from([0, 1, 2**32 - 1, 2**32, 2**63, U64]),
                  st.integers(0, 2**32 - 1), st.integers(2**32, U64))
streams = st.one_of(st.sampled_from([0, 1, 2**32 - 1, 2**32, U64, "", "layers.0.weight"]),
                    st.integers(0, U64), st.integers(2**32, U64), st.text(max_size=24))
small_shapes = st.integers(1, 4).flatmap(
    lambda r: st.lists(st.integers(0, 7), min_size=r, max_size=r).map(tuple))
shapes = st.one_of(
    small_shapes,
    st.integers(0, 3000).map(lambda n: (n,)),                 # SIMD tails, 0-size
    st.tuples(st.integers(1, 40), st.integers(1, 70)),
    st.just(()),                                              # 0-d array: one element
)


@st.composite
def offsets(draw, size: int):
    top = OFFSET_LIMIT - size
    return draw(st.one_of(
        st.integers(0, 64),
        st.integers(0, 2**40),
        st.integers(2**32 - 8, 2**32 + 8),                    # f64 words cross 2**33
        st.integers(2**34 - 16, 2**34 + 16),                  # f32 block counter crosses 2**32
        st.integers(2**33 - 16, 2**33 + 16),                  # f64 block counter crosses 2**32
        st.integers(max(0, top - 1000), top),                 # near 2**62 - size
        st.just(top),
    ))


def _f32_range(x):
    return float(np.float32(x)) if abs(x) <= 3e38 else x


finite_moderate = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@st.composite
def uniform_params(draw, dtype_name):
    if dtype_name == "float64":
        pool = st.one_of(finite_moderate, st.floats(-1e300, 1e300), st.sampled_from([0.0, 1.0, -1.0]))
    elif dtype_name == "float16":  # within the float16 range (the contract's condition)
        pool = st.one_of(finite_moderate, st.floats(-65504, 65504), st.sampled_from([0.0, 1.0, -1.0]),
                         st.floats(-1e-30, 1e-30))
    else:  # within the float32 (bfloat16: its own) range (the contract's condition)
        pool = st.one_of(finite_moderate, st.floats(-3e38, 3e38), st.sampled_from([0.0, 1.0, -1.0]),
                         st.floats(-1e-30, 1e-30))
    lo, hi = sorted([draw(pool), draw(pool)])
    if draw(st.booleans()) and lo != hi:
        lo = hi if draw(st.booleans()) else lo  # sometimes low == high
    return lo, hi


@st.composite
def normal_params(draw, dtype_name):
    span = 100.0 if dtype_name == "float16" else 1e3
    mean = draw(st.one_of(st.just(0.0), st.floats(-span, span)))
    std = draw(st.one_of(st.sampled_from([0.0, 1.0, 0.02]), st.floats(1e-6, span)))
    return mean, std


@st.composite
def trunc_params(draw, dtype_name):
    span = 100.0 if dtype_name == "float16" else 1e3
    mean = draw(st.one_of(st.just(0.0), st.floats(-span, span)))
    std = draw(st.one_of(st.sampled_from([1.0, 0.02]), st.floats(1e-3, span)))
    kind = draw(st.sampled_from(["finite", "finite", "lower_inf", "upper_inf", "both_inf",
                                 "far_tail"]))
    if kind == "far_tail":
        alpha, beta = sorted([draw(st.floats(3.0, 11.5)), draw(st.floats(3.0, 11.5))])
        if draw(st.booleans()):
            alpha, beta = -beta, -alpha
    else:
        alpha, beta = sorted([draw(st.floats(-11.5, 11.5)), draw(st.floats(-11.5, 11.5))])
    assume(beta - alpha > 1e-2)
    a, b = mean + alpha * std, mean + beta * std
    if kind == "lower_inf":
        a = -math.inf
    elif kind == "upper_inf":
        b = math.inf
    elif kind == "both_inf":
        a, b = -math.inf, math.inf
    assume(a < b)
    if dtype_name in ("float16", "bfloat16"):  # the window must hold a value of the dtype
        assume(b - a >= 2 * float(ulp(max(abs(a), abs(b)), dtype_name)) or math.isinf(b - a))
    return mean, std, a, b


PARAMS = {"uniform": uniform_params, "normal": normal_params, "trunc_normal": trunc_params}


# ============================================================================ facade vs ref

@HYP
@given(n=st.one_of(st.integers(0, 40), st.integers(0, 5000)), seed=seeds, stream=streams,
       data=st.data())
def test_random_raw_matches_reference(n, seed, stream, data):
    offset = data.draw(offsets(n))
    got = pxi.random_raw(n, seed, stream, offset)
    want = ref.random_raw(n, seed, stream, offset)
    assert got.dtype == np.uint32 and got.shape == (n,)
    assert_bits_equal(got, want, "random_raw")
    if n:  # keyword form, explicit threads
        assert_bits_equal(pxi.random_raw(n, seed=seed, stream=stream, offset=offset, threads=2),
                          want, "random_raw threads=2")


@pytest.mark.parametrize("dist", ["uniform", "normal", "trunc_normal"])
@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@HYP
@given(shape=shapes, seed=seeds, stream=streams, data=st.data())
def test_fill_matches_reference(dist, dtype_name, shape, seed, stream, data):
    dtype = get_dtype(dtype_name)
    size = math.prod(shape)
    offset = data.draw(offsets(size), label="offset")
    params = data.draw(PARAMS[dist](dtype_name), label="params")
    kw = dict(seed=seed, stream=stream, offset=offset)
    fast = np.full(shape, 7, dtype)
    out = fill(pxi, dist, fast, params, **kw)
    assert out is fast
    want = fill(ref, dist, np.full(shape, 7, dtype), params, **kw)
    compare(dist, fast, want, params, f"{dist} {dtype_name} {shape} {params} {kw}")
    if dist == "uniform" and size:
        lo, hi = params
        f = fast.astype(np.float64)
        if dtype_name == "float64":
            assert ((f >= lo) & ((f < hi) | (lo == hi))).all()
        elif dtype_name == "float32" and float(np.float32(lo)) < hi:
            assert ((f >= float(np.float32(lo))) & ((f < hi) | (f == float(np.float32(lo))))).all()
    if dist == "trunc_normal" and size:
        _, _, a, b = params
        for got in (fast, want):   # every dtype: 16-bit values are clamped on their own grid
            f = got.astype(np.float64)
            assert ((f >= a) & (f <= b)).all()


@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
def test_default_parameters_match_reference(dtype_name):
    dtype = get_dtype(dtype_name)
    for dist, params in (("uniform", (0.0, 1.0)), ("normal", (0.0, 1.0)),
                         ("trunc_normal", (0.0, 1.0))):
        fast = getattr(pxi, FILL[dist])(np.empty((33, 31), dtype))
        want = getattr(ref, FILL[dist])(np.empty((33, 31), dtype))
        compare(dist, fast, want, params, f"{dist} defaults")
    # uniform_(out) gives u itself: multiples of 2**-24 in [0, 1)
    u = pxi.uniform_(np.empty(4096, np.float32), seed=5)
    assert ((u >= 0) & (u < 1)).all() and (u * 2**24 == np.floor(u * 2**24)).all()
    w = pxi.random_raw(4096, seed=5)
    assert_bits_equal(u, ((w >> 8).astype(np.float64) * 2.0**-24).astype(np.float32))


# --------------------------------------------------------------------------- named rules

LAYOUTS = ["keras", "torch"]


def _vs(scale, mode, distribution):
    return lambda shape, layout: rules.variance_scaling_params(shape, scale, mode, distribution,
                                                               layout)


KERAS_RULES = {
    "glorot_uniform_": _vs(1.0, "fan_avg", "uniform"),
    "glorot_normal_": _vs(1.0, "fan_avg", "truncated_normal"),
    "he_uniform_": _vs(2.0, "fan_in", "uniform"),
    "he_normal_": _vs(2.0, "fan_in", "truncated_normal"),
    "lecun_uniform_": _vs(1.0, "fan_in", "uniform"),
    "lecun_normal_": _vs(1.0, "fan_in", "truncated_normal"),
}

rule_shapes = st.integers(2, 4).flatmap(
    lambda r: st.lists(st.integers(1, 9), min_size=r, max_size=r).map(tuple))


def _check_rule(call, params_of, shape, dtype, kw):
    fast = call(pxi, np.full(shape, 3, dtype), **kw)
    want = call(ref, np.full(shape, 3, dtype), **kw)
    dist, params = params_of(shape)
    compare(dist, fast, want, params, f"{shape} {dtype} {kw} -> {dist}{params}")
    return fast


@pytest.mark.parametrize("name", sorted(KERAS_RULES))
@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=20, deadline=None)
@given(shape=rule_shapes, dtype_name=st.sampled_from(DTYPE_NAMES), seed=seeds, stream=streams,
       data=st.data())
def test_keras_rules_match_reference(name, layout, shape, dtype_name, seed, stream, data):
    dtype = get_dtype(dtype_name)
    offset = data.draw(offsets(math.prod(shape)))
    kw = dict(layout=layout, seed=seed, stream=stream, offset=offset)
    _check_rule(lambda m, out, **k: getattr(m, name)(out, **k),
                lambda s: KERAS_RULES[name](s, layout), shape, dtype, kw)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "normal",
                                          "uniform"])
@pytest.mark.parametrize("layout", LAYOUTS)
@settings(max_examples=8, deadline=None)
@given(shape=rule_shapes, dtype_name=st.sampled_from(DTYPE_NAMES),
       scale=st.one_of(st.sampled_from([1.0, 2.0, 1 / 3]), st.floats(1e-4, 1e4)), seed=seeds,
       stream=streams, data=st.data())
def test_variance_scaling_matches_reference(mode, distribution, layout, shape, dtype_name, scale,
                                            seed, stream, data):
    dtype = get_dtype(dtype_name)
    offset = data.draw(offsets(math.prod(shape)))
    kw = dict(layout=layout, seed=seed, stream=stream, offset=offset)
    _check_rule(lambda m, out, **k: m.variance_scaling_(out, scale, mode, distribution, **k),
                lambda s: rules.variance_scaling_params(s, scale, mode, distribution, layout),
                shape, dtype, kw)


gains = st.one_of(st.sampled_from([1.0, 0.0, 5 / 3, math.sqrt(2.0)]), st.floats(1e-3, 10.0))


@pytest.mark.parametrize("name", ["xavier_uniform_", "xavier_normal_"])
@settings(max_examples=40, deadline=None)
@given(shape=rule_shapes, dtype_name=st.sampled_from(DTYPE_NAMES), gain=gains, seed=seeds,
       stream=streams, data=st.data())
def test_xavier_matches_reference(name, shape, dtype_name, gain, seed, stream, data):
    dtype = get_dtype(dtype_name)
    offset = data.draw(offsets(math.prod(shape)))
    params_of = getattr(rules, name[:-1] + "_params")
    _check_rule(lambda m, out, **k: getattr(m, name)(out, gain, **k),
                lambda s: params_of(s, gain), shape, dtype,
                dict(seed=seed, stream=stream, offset=offset))


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
@settings(max_examples=50, deadline=None)
@given(shape=rule_shapes, dtype_name=st.sampled_from(DTYPE_NAMES),
       a=st.one_of(st.sampled_from([0, 1, 0.01, 0.2, -0.5, 5]), st.floats(-10, 10)),
       mode=st.sampled_from(["fan_in", "fan_out", "FAN_OUT", "Fan_In"]),
       nonlinearity=st.sampled_from(list(rules.NONLINEARITIES)), seed=seeds, stream=streams,
       data=st.data())
def test_kaiming_matches_reference(name, shape, dtype_name, a, mode, nonlinearity, seed, stream,
                                   data):
    dtype = get_dtype(dtype_name)
    offset = data.draw(offsets(math.prod(shape)))
    params_of = getattr(rules, name[:-1] + "_params")
    _check_rule(lambda m, out, **k: getattr(m, name)(out, a, mode, nonlinearity, **k),
                lambda s: params_of(s, a, mode, nonlinearity), shape, dtype,
                dict(seed=seed, stream=stream, offset=offset))


def test_rules_are_not_all_the_same():
    """Guards the comparisons above against a rule that ignores its arguments."""
    shape = (64, 32)
    outs = {}
    for name in sorted(KERAS_RULES) + ["xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                                       "kaiming_normal_"]:
        outs[name] = getattr(pxi, name)(np.empty(shape, np.float32), seed=9).copy()
    stds = {k: float(v.std()) for k, v in outs.items()}
    assert len({round(s, 6) for s in stds.values()}) >= 6, stds
    keras_t = pxi.he_uniform_(np.empty(shape, np.float32), layout="torch", seed=9)
    assert not np.array_equal(keras_t, outs["he_uniform_"])  # fan_in 64 vs 32


# ======================================================================= allocating twins

TWIN_CASES = [
    ("uniform_", (-2.0, 3.0), {}),
    ("normal_", (0.5, 2.0), {}),
    ("trunc_normal_", (0.0, 1.0, -0.5, 1.5), {}),
    ("constant_", (0.3,), {}),
    ("zeros_", (), {}),
    ("ones_", (), {}),
    ("variance_scaling_", (2.0, "fan_out", "uniform"), {"layout": "torch"}),
    ("glorot_uniform_", (), {}), ("glorot_normal_", (), {"layout": "torch"}),
    ("he_uniform_", (), {}), ("he_normal_", (), {}),
    ("lecun_uniform_", (), {}), ("lecun_normal_", (), {}),
    ("xavier_uniform_", (1.5,), {}), ("xavier_normal_", (), {}),
    ("kaiming_uniform_", (0.1, "fan_out", "leaky_relu"), {}),
    ("kaiming_normal_", (), {"mode": "fan_out", "nonlinearity": "relu"}),
]
RANDOM_KW = {"seed": 2**40 + 3, "stream": "layers.3.attn.qkv.weight", "offset": 17}


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("name,args,kw", TWIN_CASES, ids=[c[0] for c in TWIN_CASES])
def test_allocating_twin_equals_inplace(mod, dtype_name, name, args, kw):
    dtype = get_dtype(dtype_name)
    shape = (24, 10, 3)
    kw = dict(kw)
    if name not in ("constant_", "zeros_", "ones_"):
        kw.update(RANDOM_KW)
    inplace = getattr(mod, name)(np.empty(shape, dtype), *args, **kw)
    twin = getattr(mod, name[:-1])
    if name == "constant_":
        got = twin(shape, *args, dtype=dtype, **kw)
    else:
        got = twin(shape, *args, dtype=dtype, **kw) if not args else twin(shape, dtype, *args, **kw)
    assert type(got) is np.ndarray and got.flags.c_contiguous
    assert_bits_equal(got, inplace, f"{name[:-1]} vs {name}")
    if name not in ("constant_", "zeros_", "ones_"):  # the twin really used seed/stream/offset
        plain = getattr(mod, name)(np.empty(shape, dtype), *args)
        assert not np.array_equal(bits(plain), bits(inplace))


@pytest.mark.parametrize("mod", MODULES)
def test_allocating_twin_default_dtype_and_shapes(mod):
    a = mod.kaiming_normal((64, 16, 3, 3), seed=1, stream="conv1.weight")
    assert a.dtype == np.float32 and a.shape == (64, 16, 3, 3)
    b = mod.kaiming_normal_(np.empty((64, 16, 3, 3), np.float32), seed=1, stream="conv1.weight")
    assert_bits_equal(a, b)
    assert mod.normal(5).shape == (5,) and mod.normal(5).dtype == np.float32
    assert mod.uniform((0, 3)).shape == (0, 3)
    assert mod.constant((2, 2), 1.5, np.float64).dtype == np.float64
    assert mod.constant((2, 2), 1.5, np.float64).tolist() == [[1.5, 1.5], [1.5, 1.5]]
    assert mod.zeros((3,)).tolist() == [0.0] * 3 and mod.ones((3,)).tolist() == [1.0] * 3


def _public_callables(module):
    return {n for n in module.__all__ if callable(getattr(module, n, None))
            and not inspect.ismodule(getattr(module, n))}


def test_signatures_identical():
    shared = [n for n in pxi.__all__ if hasattr(ref, n)]
    assert len(shared) >= 30, shared
    for name in shared:
        f, g = getattr(pxi, name), getattr(ref, name)
        if inspect.ismodule(f):
            continue
        assert inspect.signature(f) == inspect.signature(g), name
    # the reference offers every initializer of the facade, and nothing the facade lacks
    assert set(ref.__all__) <= set(pxi.__all__)
    facade_only = _public_callables(pxi) - _public_callables(ref)
    assert facade_only == {"set_num_threads", "get_num_threads", "info", "stream_id"}, facade_only
    for name in pxi.__all__:
        if name.endswith("_") and not name.startswith("_"):
            assert hasattr(pxi, name[:-1]), f"{name} has no allocating twin"


def test_twin_signature_shape():
    sig = inspect.signature(pxi.kaiming_normal)
    names = list(sig.parameters)
    assert names[:2] == ["shape", "dtype"] and sig.parameters["dtype"].default is np.float32
    assert list(inspect.signature(pxi.constant).parameters)[:3] == ["shape", "val", "dtype"]
    inplace = list(inspect.signature(pxi.kaiming_normal_).parameters)
    assert names[2:] == inplace[1:] + ["progress"]  # progress=: the twins' own keyword


# ===================================================================== thread invariance

N_THREADED = 300_001  # > 2**17: several 2**16-element chunks, so threads really split the work


@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("dist,params", [("uniform", (-1.0, 3.0)), ("normal", (0.1, 0.02)),
                                         ("trunc_normal", (0.0, 1.0, -0.5, 3.0))])
def test_thread_count_invariance(dtype_name, dist, params):
    dtype = get_dtype(dtype_name)
    kw = dict(seed=2**33 + 11, stream="blocks.7.ffn.w2", offset=12_345)
    base = fill(pxi, dist, np.empty(N_THREADED, dtype), params, threads=1, **kw)
    for threads in (2, 3, 8):
        got = fill(pxi, dist, np.empty(N_THREADED, dtype), params, threads=threads, **kw)
        assert_bits_equal(got, base, f"threads={threads}")
    try:
        for n in (1, 2, 3, 8):
            pxi.set_num_threads(n)
            assert pxi.get_num_threads() == n
            got = fill(pxi, dist, np.empty(N_THREADED, dtype), params, **kw)
            assert_bits_equal(got, base, f"set_num_threads({n})")
    finally:
        pxi.set_num_threads(0)
    # and the threaded result is the contract's: spot-check a window against the reference
    k = 200_000
    want = fill(ref, dist, np.empty(1000, dtype), params, **{**kw, "offset": kw["offset"] + k})
    compare(dist, base[k:k + 1000], want, params, "threaded vs reference")


def test_random_raw_thread_invariance():
    base = pxi.random_raw(4 * N_THREADED + 3, seed=U64, stream=2**63 + 5, offset=2**34 - 100_001,
                          threads=1)
    for threads in (2, 3, 8):
        got = pxi.random_raw(4 * N_THREADED + 3, seed=U64, stream=2**63 + 5,
                             offset=2**34 - 100_001, threads=threads)
        assert_bits_equal(got, base, f"threads={threads}")
    assert_bits_equal(base[-1000:], ref.random_raw(1000, U64, 2**63 + 5,
                                                   2**34 - 100_001 + 4 * N_THREADED + 3 - 1000))


def test_rule_thread_invariance():
    a = pxi.he_normal((600, 501), np.float64, seed=3, threads=1)
    for threads in (2, 3, 8):
        assert_bits_equal(pxi.he_normal((600, 501), np.float64, seed=3, threads=threads), a)


# ===================================================================== slice consistency

DISTS = [("uniform", (-1.5, 2.5)), ("normal", (1.0, 3.0)), ("trunc_normal", (0.0, 2.0, -1.0, 5.0))]
SLICE_CASES = [  # (n, base offset, k)
    (1000, 0, 1), (1000, 0, 2), (1000, 0, 3), (1000, 0, 4), (1000, 0, 5), (1000, 0, 999),
    (70_001, 0, 1025), (70_001, 0, 65_537),
    (5000, 2**32 - 3, 7),            # the f64 word index crosses 2**33
    (5000, 2**33 - 2501, 2503),      # the f64 block counter crosses 2**32
    (5000, 2**34 - 2501, 2499),      # the f32 block counter crosses 2**32
    (4000, 2**62 - 4000, 1),         # ends exactly at 2**62
    (4000, 2**62 - 4003, 3001),
]


@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("dist,params", DISTS, ids=[d[0] for d in DISTS])
@pytest.mark.parametrize("n,base,k", SLICE_CASES)
def test_offset_equals_tail(dtype_name, dist, params, n, base, k):
    dtype = get_dtype(dtype_name)
    full = fill(pxi, dist, np.empty(n, dtype), params, seed=77, stream="s", offset=base)
    a = (np.arange(n) % 1000).astype(dtype)
    sentinel = a.copy()
    fill(pxi, dist, a[k:], params, seed=77, stream="s", offset=base + k)
    assert_bits_equal(a[k:], full[k:], f"tail at k={k}")
    assert_bits_equal(a[:k], sentinel[:k], "elements before the slice")
    # a 2-D array whose rows are the tail gives the same words in C order
    if (n - k) % 5 == 0:
        b = fill(pxi, dist, np.empty(((n - k) // 5, 5), dtype), params, seed=77, stream="s",
                 offset=base + k)
        assert_bits_equal(b.reshape(-1), full[k:])


@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("dist,params", DISTS, ids=[d[0] for d in DISTS])
def test_offset_equals_tail_reference(dtype_name, dist, params):
    dtype = get_dtype(dtype_name)
    for base, k in ((0, 3), (2**62 - 600, 5)):
        full = fill(ref, dist, np.empty(600, dtype), params, seed=5, stream=9, offset=base)
        tail = fill(ref, dist, np.empty(600 - k, dtype), params, seed=5, stream=9,
                    offset=base + k)
        assert_bits_equal(tail, full[k:])
        fast = fill(pxi, dist, np.empty(600 - k, dtype), params, seed=5, stream=9,
                    offset=base + k)
        compare(dist, fast, full[k:], params, "facade tail vs reference")


# ===================================================================== non-contiguous outputs

def _views(dtype):
    """(name, base array, view of it, mask of base elements outside the view)."""
    out = []
    base = np.arange(37 * 54).astype(dtype).reshape(37, 54)
    out.append(("transpose", base, base.T, np.zeros(base.shape, bool)))
    base = np.arange(37 * 54).astype(dtype).reshape(37, 54)
    mask = np.ones(base.shape, bool)
    mask[:, ::2] = False
    out.append(("strided_cols", base, base[:, ::2], mask))
    base = np.asfortranarray(np.arange(37 * 54).astype(dtype).reshape(37, 54))
    out.append(("fortran", base, base, np.zeros(base.shape, bool)))
    base = np.arange(37 * 54).astype(dtype).reshape(37, 54)
    mask = np.ones(base.shape, bool)
    mask[::-1, ::-3] = False
    out.append(("negative_strides", base, base[::-1, ::-3], mask))
    base = np.arange(5 * 6 * 7).astype(dtype).reshape(5, 6, 7)
    out.append(("permuted_3d", base, base.transpose(2, 0, 1), np.zeros(base.shape, bool)))
    base = np.arange(37 * 54).astype(dtype).reshape(37, 54)
    mask = np.ones(base.shape, bool)
    mask[3:20, 5:40] = False
    out.append(("inner_block", base, base[3:20, 5:40], mask))
    base = np.arange(2 * 3000).astype(dtype)
    mask = np.ones(base.shape, bool)
    mask[1::2] = False
    out.append(("every_other_1d", base, base[1::2], mask))
    return out


VIEW_IDS = ["transpose", "strided_cols", "fortran", "negative_strides", "permuted_3d",
            "inner_block", "every_other_1d"]


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("dist,params", DISTS, ids=[d[0] for d in DISTS])
@pytest.mark.parametrize("view_id", VIEW_IDS)
def test_non_contiguous_output(mod, dtype_name, dist, params, view_id):
    dtype = get_dtype(dtype_name)
    name, base, view, outside = {v[0]: v for v in _views(dtype)}[view_id]
    before = base.copy()
    kw = dict(seed=2**32 + 1, stream=3, offset=2**33 - 5)
    ret = fill(mod, dist, view, params, **kw)
    assert ret is view
    want = fill(mod, dist, np.empty(view.shape, dtype), params, **kw)
    assert_bits_equal(np.ascontiguousarray(view), want, f"{name}: logical C order")
    assert_bits_equal(base[outside], before[outside], f"{name}: elements outside the view")


@pytest.mark.parametrize("mod", MODULES)
def test_non_contiguous_rule_and_constant(mod):
    base = np.zeros((48, 40), np.float32)
    view = base.T  # logical shape (40, 48): torch fan_in 48, fan_out 40
    mod.kaiming_uniform_(view, nonlinearity="relu", seed=4)
    want = mod.kaiming_uniform((40, 48), nonlinearity="relu", seed=4)
    assert_bits_equal(np.ascontiguousarray(view), want)
    base = np.arange(40.0).reshape(5, 8)
    mod.constant_(base[:, 1::2], -2.5)
    assert (base[:, 1::2] == -2.5).all() and (base[:, ::2] == np.arange(40.0).reshape(5, 8)[:, ::2]).all()


@pytest.mark.parametrize("dtype_name", ["float32", "float64", "float16"])
def test_unaligned_contiguous_output(dtype_name):
    dtype = np.dtype(dtype_name)
    n = 1001
    raw = bytearray(n * dtype.itemsize + 1)
    a = np.frombuffer(raw, dtype=dtype, count=n, offset=1)
    assert not a.flags.aligned and a.flags.writeable
    for dist, params in DISTS:
        fill(pxi, dist, a, params, seed=1, offset=3)
        want = fill(pxi, dist, np.empty(n, dtype), params, seed=1, offset=3)
        assert_bits_equal(a.copy(), want, f"unaligned {dist}")


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("byteorder", [">", "<"])
@pytest.mark.parametrize("dtype_name", ["float32", "float64", "float16"])
def test_non_native_byte_order_is_refused_or_correct(mod, byteorder, dtype_name):
    """A byte-swapped array must either be refused (TypeError, buffer intact) or get the values
    of a native fill -- never byte-swapped garbage."""
    dtype = np.dtype(dtype_name).newbyteorder(byteorder)
    a = np.arange(50).astype(dtype)
    before = a.copy()
    try:
        mod.normal_(a, 0.0, 1.0, seed=2)
    except TypeError:
        assert a.tobytes() == before.tobytes()
        return
    want = mod.normal_(np.empty(50, dtype_name), 0.0, 1.0, seed=2)
    np.testing.assert_array_equal(a.astype(dtype_name), want)


# ================================================================================ memmap

@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("file_offset", [0, 6])
def test_memmap_in_place(tmp_path, dtype_name, file_offset):
    dtype = get_dtype(dtype_name)
    shape = (123, 77)
    path = tmp_path / "w.bin"
    path.write_bytes(b"\xab" * file_offset)
    with open(path, "ab") as f:  # make room for the array after the header bytes
        f.write(b"\0" * (math.prod(shape) * dtype.itemsize))
    mm = np.memmap(path, dtype=dtype, mode="r+", shape=shape, offset=file_offset)
    kw = dict(seed=1234, stream="layers.0.mlp.up_proj.weight", offset=5)
    ret = pxi.trunc_normal_(mm, 0.0, 0.02, -0.04, 0.04, **kw)
    assert ret is mm
    want = pxi.trunc_normal_(np.empty(shape, dtype), 0.0, 0.02, -0.04, 0.04, **kw)
    assert_bits_equal(np.asarray(mm), want, "memmap fill")
    pxi.xavier_uniform_(mm[:, 10:20], seed=3)  # a non-contiguous view of the memmap
    want[:, 10:20] = pxi.xavier_uniform((123, 10), dtype, seed=3)
    mm.flush()
    del mm, ret
    back = np.memmap(path, dtype=dtype, mode="r", shape=shape, offset=file_offset)
    assert_bits_equal(np.asarray(back), want, "memmap after flush and re-open")
    assert path.read_bytes()[:file_offset] == b"\xab" * file_offset
    del back


def test_memmap_reference_backend(tmp_path):
    mm = np.memmap(tmp_path / "r.bin", dtype=np.float32, mode="w+", shape=(40, 30))
    ref.kaiming_normal_(mm, seed=8)
    assert_normal_close(np.asarray(mm), pxi.kaiming_normal((40, 30), seed=8), 0.0,
                        rules.kaiming_normal_params((40, 30))[1][1])


# =========================================================================== the issue

def test_issue_example():
    w = np.empty((512, 1024), np.float32)
    out = pxi.xavier_uniform_(w, seed=1234, stream="layers.0.mlp.up_proj.weight")
    assert out is w
    want = pxi.reference.xavier_uniform((512, 1024), seed=1234,
                                        stream="layers.0.mlp.up_proj.weight")
    assert (want == w).all()
    bound = math.sqrt(6.0 / (512 + 1024))
    assert float(np.abs(w).max()) < bound and float(np.abs(w).max()) > 0.99 * bound
    other = pxi.xavier_uniform((512, 1024), seed=1234, stream="layers.0.mlp.down_proj.weight")
    assert not (other == w).all()


# ================================================================================ the ISA

_ISA_SCRIPT = textwrap.dedent(r"""
    import json, sys, warnings
    import numpy as np
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        import philoxinit as pxi
    out = {}
    dtypes = ["float32", "float64", "float16"]
    try:
        import ml_dtypes
        dtypes.append("bfloat16")
    except ImportError:
        pass
    dists = {
        "uniform": ("uniform_", (-0.75, 2.5)),
        "normal": ("normal_", (0.5, 2.0)),
        "trunc_centre": ("trunc_normal_", (0.1, 1.5, -1.0, 3.0)),
        "trunc_tail": ("trunc_normal_", (0.0, 1.0, 3.0, 8.0)),
        "trunc_far": ("trunc_normal_", (0.0, 1.0, -11.5, -6.0)),
        "trunc_onesided": ("trunc_normal_", (0.0, 1.0, float("-inf"), 0.5)),
    }
    cases = [(3, 1001), (4 * 2**32 - 5, 77), (2**62 - 70_003, 70_003), (7, 65_541)]
    for dname in dtypes:
        dt = np.dtype(getattr(ml_dtypes, dname)) if dname == "bfloat16" else np.dtype(dname)
        for key, (fn, params) in dists.items():
            for off, n in cases:
                a = getattr(pxi, fn)(np.empty(n, dt), *params, seed=2**40 + 1, stream="isa",
                                     offset=off)
                view = {2: np.uint16, 4: np.uint32, 8: np.uint64}[dt.itemsize]
                out[f"{dname}/{key}/{off}/{n}"] = a.view(view).copy()
    for off, n in cases:
        out[f"raw/{off}/{n}"] = pxi.random_raw(n, seed=5, stream=6, offset=off)
    np.savez(sys.argv[1], **out)
    info = pxi.info()
    print(json.dumps({"isa": info["isa"], "best_isa": info["best_isa"],
                      "warnings": [[w.category.__name__, str(w.message)] for w in caught]}))
""")

_ISA_RANK = {"scalar": 0, "avx2": 1, "avx512": 2}


def _run_isa(tmp_path, isa):
    env = {k: v for k, v in os.environ.items() if k != "PHILOXINIT_ISA"}
    if isa is not None:
        env["PHILOXINIT_ISA"] = isa
    path = tmp_path / f"isa_{isa}.npz"
    proc = subprocess.run([sys.executable, "-c", _ISA_SCRIPT, str(path)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    meta = json.loads(proc.stdout.strip().splitlines()[-1])
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    return meta, arrays


def test_isa_override_gives_identical_bytes(tmp_path):
    best = pxi.info()["best_isa"]
    default_meta, default = _run_isa(tmp_path, None)
    assert default_meta["isa"] == best and default_meta["warnings"] == []
    assert len(default) >= 3 * 6 * 4 + 4
    requested = ["scalar"] + [i for i in ("avx2", "avx512") if _ISA_RANK[i] <= _ISA_RANK[best]]
    if best != "scalar":
        assert len(requested) >= 2
    for isa in requested:
        meta, arrays = _run_isa(tmp_path, isa)
        assert meta["isa"] == isa, meta
        assert meta["warnings"] == [], meta
        assert sorted(arrays) == sorted(default)
        for key in default:
            assert_bits_equal(arrays[key], default[key], f"PHILOXINIT_ISA={isa}: {key}")
    # and the default ISA's bytes are the contract's (raw words, uniform bit for bit)
    w = ref.random_raw(77, 5, 6, 4 * 2**32 - 5)
    assert_bits_equal(default[f"raw/{4 * 2**32 - 5}/77"], w)
    u = ref.uniform_(np.empty(1001, np.float32), -0.75, 2.5, seed=2**40 + 1, stream="isa",
                     offset=3)
    assert_bits_equal(default["float32/uniform/3/1001"], u.view(np.uint32))


def test_isa_override_unavailable_warns_and_falls_back(tmp_path):
    best = pxi.info()["best_isa"]
    unavailable = [i for i in ("avx2", "avx512") if _ISA_RANK[i] > _ISA_RANK[best]]
    for isa in unavailable + ["sse9"]:
        meta, _ = _run_isa(tmp_path, isa)
        assert meta["isa"] == best, meta
        cats = [c for c, _ in meta["warnings"]]
        assert cats == ["RuntimeWarning"], meta
        assert isa in meta["warnings"][0][1]


# ================================================================= info() and the threads

def test_info_keys_and_types():
    info = pxi.info()
    assert set(info) == {"version", "isa", "best_isa", "threads", "openmp", "build"}
    assert isinstance(info["version"], str) and info["version"] == pxi.__version__
    assert info["isa"] in _ISA_RANK and info["best_isa"] in _ISA_RANK
    assert _ISA_RANK[info["isa"]] <= _ISA_RANK[info["best_isa"]]
    assert type(info["threads"]) is int and info["threads"] >= 1
    assert info["threads"] == pxi.get_num_threads()
    assert type(info["openmp"]) is bool
    assert isinstance(info["build"], str) and "compiler=" in info["build"]
    if not info["openmp"]:
        assert info["threads"] == 1


def test_set_num_threads_round_trip():
    default = pxi.get_num_threads()
    assert type(default) is int and default >= 1
    try:
        for n in (1, 3, 7, 2):
            pxi.set_num_threads(n)
            assert pxi.get_num_threads() == n
            assert pxi.info()["threads"] == n
    finally:
        pxi.set_num_threads(0)
    assert pxi.get_num_threads() == default


def test_set_num_threads_accepts_numpy_int():
    """``threads=np.int64(4)`` is accepted by every fill; the process default takes it too."""
    pxi.normal_(np.empty(10, np.float32), threads=np.int64(4))
    try:
        pxi.set_num_threads(np.int64(4))
        assert pxi.get_num_threads() == 4
    finally:
        pxi.set_num_threads(0)


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (2.5, TypeError), ("2", TypeError),
                                     (True, TypeError), (None, TypeError)])
def test_set_num_threads_rejects(bad, exc):
    before = pxi.get_num_threads()
    try:
        with pytest.raises(exc, match=r"\bn must\b"):
            pxi.set_num_threads(bad)
        assert pxi.get_num_threads() == before
    finally:
        pxi.set_num_threads(0)
