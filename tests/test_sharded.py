"""Sharded fills: ``global_shape=`` / ``index=`` give exactly ``full[index]`` of the unsharded fill.

* row, column, block and single-element slices of 2-D and 4-D tensors, every dtype, the
  distributions and the named rules (fans from the global shape): bit for bit;
* shards that tile a tensor (uneven grids) reassemble to the full fill;
* ``philoxinit.reference`` shards: bit for bit against its own full fill, and against the fast
  path within the docs/stream.md §5 bound (bitwise for uniform values);
* hypothesis: random global shapes (0..7 per dim, incl. zero-size) and random step-1 slices
  with negative / None bounds;
* bad inputs raise ValueError/TypeError naming the argument and leave the buffer untouched.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import philoxinit as pxi
from philoxinit import reference as ref
from philoxinit import rules

DTYPE_NAMES = ["float16", "float32", "float64", "bfloat16"]
HYP = settings(max_examples=150, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def get_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        mld = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")
        return np.dtype(mld.bfloat16)
    return np.dtype(name)


def bits(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a).reshape(-1)
    return a.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def assert_bits_equal(got, want, what=""):
    assert got.shape == want.shape, (what, got.shape, want.shape)
    assert got.dtype == want.dtype, (what, got.dtype, want.dtype)
    gb, wb = bits(got), bits(want)
    if not np.array_equal(gb, wb):
        idx = np.flatnonzero(gb != wb)
        raise AssertionError(f"{what}: {idx.size} of {gb.size} elements differ, first at "
                             f"{idx[:5].tolist()}")


_FORMAT = {"float16": (10, -14), "bfloat16": (7, -126), "float32": (23, -126),
           "float64": (52, -1022)}


def ulp(x, name):
    mant, emin = _FORMAT[name]
    ax = np.abs(np.asarray(x, dtype=np.float64))
    _, e = np.frexp(ax)
    e = np.where(ax == 0, emin, np.maximum(e - 1, emin))
    return np.ldexp(1.0, (e - mant).astype(np.int64))


def assert_close_to_reference(fast, want, dist, params, what=""):
    """As tests/test_api.py: uniform bit for bit; normal and truncated normal within
    2e-6 std max(1, |z|) + 2 ulp (float32; 1e-14 for float64), plus one 16-bit ulp for
    float16/bfloat16."""
    if dist == "uniform":
        return assert_bits_equal(fast, want, what)
    mean, std = params[0], params[1]
    assert fast.shape == want.shape and fast.dtype == want.dtype
    name = fast.dtype.name
    diff = bits(fast) != bits(want)
    if not diff.any():
        return
    f = np.ascontiguousarray(fast).reshape(-1)[diff].astype(np.float64)
    r = np.ascontiguousarray(want).reshape(-1)[diff].astype(np.float64)
    z = np.abs(r - mean) / std if std > 0 else np.zeros_like(r)
    if name == "float64":
        tol = 1e-14 * std * np.maximum(1.0, z) + 2 * ulp(r, "float64")
    else:
        tol = 2e-6 * std * np.maximum(1.0, z) + 2 * ulp(r, "float32")
        if name in ("float16", "bfloat16"):
            tol = tol + np.maximum(ulp(f, name), ulp(r, name))
    bad = np.abs(f - r) > tol
    assert not bad.any(), (what, f[bad][:4], r[bad][:4], tol[bad][:4])


def _vs(scale, mode, distribution, layout="keras"):
    return lambda shape: rules.variance_scaling_params(shape, scale, mode, distribution, layout)


# name -> (positional args, keyword args, shape -> (dist, params)); rules need >= 2 dims.
CASES = {
    "uniform": ((-1.0, 2.0), {}, lambda s: ("uniform", (-1.0, 2.0))),
    "normal": ((0.5, 2.0), {}, lambda s: ("normal", (0.5, 2.0))),
    "trunc_normal": ((0.0, 1.0, -1.5, 2.0), {}, lambda s: ("trunc_normal", (0.0, 1.0, -1.5, 2.0))),
    "variance_scaling": ((2.0, "fan_out", "untruncated_normal"), {"layout": "torch"},
                         _vs(2.0, "fan_out", "untruncated_normal", "torch")),
    "glorot_uniform": ((), {}, _vs(1.0, "fan_avg", "uniform")),
    "glorot_normal": ((), {}, _vs(1.0, "fan_avg", "truncated_normal")),
    "he_uniform": ((), {}, _vs(2.0, "fan_in", "uniform")),
    "he_normal": ((), {"layout": "torch"}, _vs(2.0, "fan_in", "truncated_normal", "torch")),
    "lecun_uniform": ((), {}, _vs(1.0, "fan_in", "uniform")),
    "lecun_normal": ((), {}, _vs(1.0, "fan_in", "truncated_normal")),
    "xavier_uniform": ((1.5,), {}, lambda s: rules.xavier_uniform_params(s, 1.5)),
    "xavier_normal": ((), {}, lambda s: rules.xavier_normal_params(s)),
    "kaiming_uniform": ((math.sqrt(5),), {}, lambda s: rules.kaiming_uniform_params(s, math.sqrt(5))),
    "kaiming_normal": ((0, "fan_out", "relu"), {},
                       lambda s: rules.kaiming_normal_params(s, 0, "fan_out", "relu")),
}
DISTS = ["uniform", "normal", "trunc_normal"]
KW = {"seed": 2**40 + 17, "stream": "layers.3.mlp.weight"}


def call(mod, name, out, **kw):
    args, kwargs, _ = CASES[name]
    return getattr(mod, name + "_")(out, *args, **kwargs, **KW, **kw)


def full_fill(mod, name, shape, dtype, **kw):
    return call(mod, name, np.empty(shape, dtype), **kw)


def shard_fill(mod, name, shape, dtype, index, **kw):
    local_shape = np.empty(shape, np.bool_)[index].shape
    out = np.full(local_shape, 3, dtype)
    return call(mod, name, out, global_shape=shape, index=index, **kw)


S = slice
G2 = (37, 53)
SLICES_2D = {
    "row": (S(5, 6),),
    "rows": (S(10, 20), S(None)),
    "column": (S(None), S(7, 8)),
    "columns": (S(None), S(3, 40)),
    "block": (S(2, 30), S(11, 50)),
    "element": (S(36, 37), S(52, 53)),
    "negative": (S(-5, None), S(None, -3)),
    "whole": (),
}
G4 = (6, 5, 7, 9)
SLICES_4D = {
    "row": (S(2, 3),),
    "middle": (S(None), S(1, 3)),
    "column": (S(None), S(None), S(None), S(4, 5)),
    "block": (S(1, 4), S(0, 5), S(2, 6), S(3, 9)),
    "inner-block": (S(3, 4), S(2, 3), S(1, 6)),
    "element": (S(5, 6), S(4, 5), S(6, 7), S(8, 9)),
    "negative": (S(-2, None), S(None, -1), S(-7, -2), S(-9, 5)),
    "empty": (S(None), S(3, 3)),
}
SLICE_CASES = [pytest.param(G2, idx, id=f"2d-{k}") for k, idx in SLICES_2D.items()] + [
    pytest.param(G4, idx, id=f"4d-{k}") for k, idx in SLICES_4D.items()]


@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_slices_equal_full_bitwise(name, dtype_name):
    dtype = get_dtype(dtype_name)
    for shape, slices in [(G2, SLICES_2D), (G4, SLICES_4D)]:
        full = full_fill(pxi, name, shape, dtype)
        for what, index in slices.items():
            got = shard_fill(pxi, name, shape, dtype, index)
            assert_bits_equal(got, full[index], f"{name} {shape}[{what}]")
        # index=None / a bare slice with global_shape
        assert_bits_equal(call(pxi, name, np.empty(shape, dtype), global_shape=shape), full)
        assert_bits_equal(call(pxi, name, np.empty((2,) + shape[1:], dtype), global_shape=shape,
                               index=S(1, 3)), full[1:3])


@pytest.mark.parametrize("name", ["uniform", "normal", "kaiming_normal"])
def test_offset_threads_and_layouts_of_out(name):
    """offset= shifts the whole tensor; threads and the memory layout of out change nothing."""
    shape, index = G4, SLICES_4D["block"]
    full = full_fill(pxi, name, shape, np.float32, offset=12345)
    want = full[index]
    for threads in (1, 3, None):
        got = shard_fill(pxi, name, shape, np.float32, index, offset=12345, threads=threads)
        assert_bits_equal(got, want, f"threads={threads}")
    fortran = np.asfortranarray(np.zeros(want.shape, np.float32))
    assert_bits_equal(call(pxi, name, fortran, global_shape=shape, index=index, offset=12345), want)
    strided = np.zeros(tuple(2 * d for d in want.shape), np.float32)[::2, ::2, ::2, ::2]
    call(pxi, name, strided, global_shape=shape, index=index, offset=12345)
    assert_bits_equal(strided, want, "strided out")


def _tiles(shape, cuts):
    """Every block of the grid whose boundaries per dim are ``cuts[d]`` (all of it if absent)."""
    bounds = [list(zip(cuts.get(d, [0, n])[:-1], cuts.get(d, [0, n])[1:]))
              for d, n in enumerate(shape)]
    grids = np.meshgrid(*[np.arange(len(b)) for b in bounds], indexing="ij")
    for ks in zip(*[g.reshape(-1) for g in grids]):
        yield tuple(S(*bounds[d][k]) for d, k in enumerate(ks))


TILINGS = [
    pytest.param((7, 5, 6, 4), {0: [0, 2, 5, 7], 3: [0, 1, 4]}, id="4d-3x2-dims0,3"),
    pytest.param((7, 5, 6, 4), {1: [0, 3, 4, 5], 2: [0, 5, 6]}, id="4d-3x2-dims1,2"),
    pytest.param((33, 65), {0: [0, 11, 22, 33], 1: [0, 40, 65]}, id="2d-3x2"),
    pytest.param((33, 65), {1: [0, 1, 2, 64, 65]}, id="2d-column-strips"),
]


@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("name", ["uniform", "normal", "trunc_normal", "glorot_normal",
                                  "xavier_uniform", "kaiming_normal"])
@pytest.mark.parametrize("shape,cuts", TILINGS)
def test_tiles_reassemble_to_full(shape, cuts, name, dtype_name):
    dtype = get_dtype(dtype_name)
    whole = np.zeros(shape, dtype)
    count = 0
    for index in _tiles(shape, cuts):
        whole[index] = shard_fill(pxi, name, shape, dtype, index)
        count += 1
    assert count == math.prod(len(c) - 1 for c in cuts.values())
    assert_bits_equal(whole, full_fill(pxi, name, shape, dtype), f"{name} {shape} {cuts}")


@pytest.mark.parametrize("dtype_name", DTYPE_NAMES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_reference_shards(name, dtype_name):
    """The NumPy reference: its shards are its own full[index] bit for bit, and agree with the
    fast path's shards (bitwise uniform, §5 bound otherwise)."""
    dtype = get_dtype(dtype_name)
    shape = (6, 5, 7, 9)
    dist, params = CASES[name][2](shape)
    ref_full = full_fill(ref, name, shape, dtype)
    for what, index in SLICES_4D.items():
        want = shard_fill(ref, name, shape, dtype, index)
        assert_bits_equal(want, ref_full[index], f"reference {what}")
        fast = shard_fill(pxi, name, shape, dtype, index)
        assert_close_to_reference(fast, want, dist, params, f"fast vs reference {what}")


# ------------------------------------------------------------------------------- hypothesis

@st.composite
def sharded_cases(draw):
    ndim = draw(st.integers(1, 4))
    shape = tuple(draw(st.lists(st.integers(0, 7), min_size=ndim, max_size=ndim)))
    bound = st.one_of(st.none(), st.integers(-9, 9))
    nslices = draw(st.integers(0, ndim))
    index = tuple(S(draw(bound), draw(bound), draw(st.sampled_from([None, 1])))
                  for _ in range(nslices))
    names = DISTS + (sorted(set(CASES) - set(DISTS)) if ndim >= 2 else [])
    return shape, index, draw(st.sampled_from(names))


@HYP
@given(case=sharded_cases(), dtype_name=st.sampled_from(DTYPE_NAMES),
       mod=st.sampled_from([pxi, ref]), offset=st.sampled_from([0, 1, 2**33 - 3]))
def test_random_shards_equal_full(case, dtype_name, mod, offset):
    shape, index, name = case
    dtype = get_dtype(dtype_name)
    full = full_fill(mod, name, shape, dtype, offset=offset)
    got = shard_fill(mod, name, shape, dtype, index, offset=offset)
    assert_bits_equal(got, full[index], f"{name} {shape}[{index}]")


# -------------------------------------------------------------------------------- bad input

BAD = [
    pytest.param({"index": (S(0, 2),)}, ValueError, "global_shape", id="index-without-global_shape"),
    pytest.param({"global_shape": (4, 6), "index": (S(0, 4, 2),)}, ValueError, "step",
                 id="step-2"),
    pytest.param({"global_shape": (4, 6), "index": (S(None), S(0, 6, -1))}, ValueError, "step",
                 id="negative-step"),
    pytest.param({"global_shape": (4, 6), "index": (S(0, 3),)}, ValueError, "global_shape[index]",
                 id="shape-mismatch"),
    pytest.param({"global_shape": (5, 6)}, ValueError, "global_shape", id="global-shape-mismatch"),
    pytest.param({"global_shape": (4, 6), "index": (S(None),) * 3}, ValueError, "index",
                 id="too-many-slices"),
    pytest.param({"global_shape": (4, 6), "index": (0, S(None))}, TypeError, "index",
                 id="integer-index"),
    pytest.param({"global_shape": (4, 6), "index": [S(0, 2)]}, TypeError, "index", id="list-index"),
    pytest.param({"global_shape": (4, 6), "index": (Ellipsis,)}, TypeError, "index",
                 id="ellipsis-index"),
    pytest.param({"global_shape": (4, 6.0), "index": (S(0, 2),)}, TypeError, "shape",
                 id="float-global_shape"),
    pytest.param({"global_shape": (-4, 6)}, ValueError, "shape", id="negative-global_shape"),
]


@pytest.mark.parametrize("mod", [pxi, ref], ids=["philoxinit", "reference"])
@pytest.mark.parametrize("name", ["uniform", "normal", "trunc_normal", "glorot_uniform",
                                  "xavier_normal", "kaiming_uniform", "variance_scaling"])
@pytest.mark.parametrize("kwargs,exc,needle", BAD)
def test_bad_shard_arguments(kwargs, exc, needle, name, mod):
    out = np.full((2, 6), 7.0, np.float32)
    with pytest.raises(exc) as info:
        call(mod, name, out, **kwargs)
    assert needle in str(info.value), str(info.value)
    assert (out == 7.0).all(), "the buffer was modified"


def test_rule_with_bad_global_shape_names_the_argument():
    out = np.full((4, 6), 7.0, np.float32)
    with pytest.raises(TypeError, match="global_shape"):
        pxi.xavier_uniform_(out, global_shape=4, index=(S(0, 4),))
    with pytest.raises(ValueError, match="global_shape"):
        pxi.xavier_uniform_(out, global_shape=(-4, 6), index=(S(0, 4),))
    with pytest.raises(TypeError, match="index"):
        pxi.normal_(out, global_shape=(8, 6), index=(S(0.0, 4),))
    assert (out == 7.0).all()


def test_int_global_shape_is_refused_by_distributions():
    out = np.full((4,), 7.0, np.float32)
    with pytest.raises(TypeError, match="global_shape"):
        pxi.normal_(out, global_shape=4, index=(S(0, 4),))
    assert (out == 7.0).all()
