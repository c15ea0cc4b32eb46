"""Fans, gains and variance scaling (philoxinit.rules) against the formulas, torch and Keras."""
import doctest
import math
import os
import warnings
from fractions import Fraction
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from philoxinit import rules
from philoxinit.rules import (
    calculate_gain,
    compute_fans,
    kaiming_normal_params,
    kaiming_uniform_params,
    variance_scaling_params,
    xavier_normal_params,
    xavier_uniform_params,
)

TRUNC_STD = 0.87962566103423978
NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]
SLOPES = [None, 0, 1, -1, 3, 0.0, 0.01, 0.2, -0.5, 1e-300, 1e10, np.float64(0.3)]
MODES = ["fan_in", "fan_out", "fan_avg"]
DISTRIBUTIONS = ["truncated_normal", "untruncated_normal", "uniform"]


def shapes(min_rank=2, max_rank=5, max_dim=64, min_dim=0):
    return st.integers(min_rank, max_rank).flatmap(
        lambda r: st.lists(st.integers(min_dim, max_dim), min_size=r, max_size=r).map(tuple))


# Dims mostly small, sometimes 0 or 1, sometimes large (products up to 2**60 stay exact ints).
dims = st.one_of(st.integers(0, 8), st.integers(1, 64), st.integers(1, 4096))
any_shape = st.integers(2, 5).flatmap(lambda r: st.lists(dims, min_size=r, max_size=r).map(tuple))
pos_shape = st.integers(2, 5).flatmap(
    lambda r: st.lists(st.integers(1, 4096) | st.integers(1, 4), min_size=r, max_size=r).map(tuple))
scales = st.floats(1e-6, 1e6) | st.sampled_from([1.0, 2.0, 1 / 3, 0.1])
gains = st.just(0.0) | st.floats(1e-100, 10.0) | st.sampled_from([1.0, 5 / 3, math.sqrt(2.0), 0.75])


def prod(xs):
    p = 1
    for x in xs:
        p *= x
    return p


def close(a, b, rel=1e-15):
    return all(math.isclose(x, y, rel_tol=rel, abs_tol=0.0) for x, y in zip(a, b))


# --------------------------------------------------------------------------- formulas


def test_doctests():
    assert doctest.testmod(rules).failed == 0


@given(any_shape)
def test_fans_formula_both_layouts(shape):
    fi, fo = compute_fans(shape)  # torch: (out, in, *receptive)
    assert (fi, fo) == (shape[1] * prod(shape[2:]), shape[0] * prod(shape[2:]))
    assert type(fi) is int and type(fo) is int
    ki, ko = compute_fans(shape, "keras")  # keras: (*receptive, in, out)
    assert (ki, ko) == (shape[-2] * prod(shape[:-2]), shape[-1] * prod(shape[:-2]))
    # The same layer in both layouts has the same fans.
    moved = shape[2:] + (shape[1], shape[0])
    assert compute_fans(moved, "keras") == (fi, fo)


@pytest.mark.parametrize("shape", [(1, 1), (0, 5), (5, 0), (3, 4, 1), (3, 4, 0), (1, 1, 1, 1, 1)])
def test_fans_edge_dims(shape):
    assert compute_fans(shape) == (shape[1] * prod(shape[2:]), shape[0] * prod(shape[2:]))
    assert compute_fans(np.array(shape)) == compute_fans(list(shape))


def test_fans_accept_numpy_ints():
    assert compute_fans((np.int64(4), np.uint8(3), np.int32(2))) == (6, 8)


@pytest.mark.parametrize("name", NONLINEARITIES)
def test_gain_table(name):
    want = {"tanh": 5.0 / 3, "relu": math.sqrt(2.0), "selu": 0.75,
            "leaky_relu": math.sqrt(2.0 / (1 + 0.01**2))}.get(name, 1.0)
    got = calculate_gain(name)
    assert got == want and type(got) is float


@given(st.floats(-1e6, 1e6) | st.integers(-1000, 1000))
def test_leaky_relu_gain(slope):
    assert calculate_gain("leaky_relu", slope) == math.sqrt(2.0 / (1 + slope**2))
    assert calculate_gain("leaky_relu", np.float32(0.5)) == math.sqrt(2.0 / 1.25)
    assert calculate_gain("leaky_relu", np.int64(2)) == math.sqrt(2.0 / 5)


def test_param_ignored_unless_leaky_relu():
    assert calculate_gain("relu", "anything") == math.sqrt(2.0)
    assert calculate_gain("tanh", True) == 5.0 / 3


@settings(max_examples=300)
@given(any_shape, scales, st.sampled_from(MODES), st.sampled_from(DISTRIBUTIONS),
       st.sampled_from(["torch", "keras"]))
def test_variance_scaling_formula(shape, scale, mode, distribution, layout):
    fi, fo = compute_fans(shape, layout)
    fan = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]
    v = scale / max(1.0, fan)
    dist, params = variance_scaling_params(shape, scale, mode, distribution, layout)
    if distribution == "truncated_normal":
        std = math.sqrt(v) / TRUNC_STD
        assert dist == "trunc_normal" and params == (0.0, std, -2 * std, 2 * std)
    elif distribution == "uniform":
        assert dist == "uniform" and params == (-math.sqrt(3 * v), math.sqrt(3 * v))
        assert math.isclose(params[1] ** 2 / 3, v, rel_tol=1e-14)  # variance of U(-l, l)
    else:
        assert dist == "normal" and params == (0.0, math.sqrt(v))


@given(any_shape, scales, st.sampled_from(MODES))
def test_variance_scaling_fan_floor(shape, scale, mode):
    fi, fo = compute_fans(shape, "keras")
    fan = {"fan_in": fi, "fan_out": fo, "fan_avg": (fi + fo) / 2}[mode]
    if fan == 0:
        with pytest.raises(ValueError, match="fan_floor"):
            variance_scaling_params(shape, scale, mode, "normal", fan_floor=0)
        # Keras's clamp: a fan below 1 counts as 1.
        assert variance_scaling_params(shape, scale, mode, "normal") == ("normal", (0.0, math.sqrt(scale)))
    else:
        got = variance_scaling_params(shape, scale, mode, "normal", fan_floor=0)
        assert got == ("normal", (0.0, math.sqrt(scale / fan)))


def test_distribution_aliases():
    shape = (30, 40)
    assert variance_scaling_params(shape, distribution="normal") == \
        variance_scaling_params(shape, distribution="untruncated_normal")
    assert variance_scaling_params(shape, distribution="Uniform") == \
        variance_scaling_params(shape, distribution="uniform")
    assert variance_scaling_params(shape, scale=2) == variance_scaling_params(shape, scale=2.0)


@settings(max_examples=300)
@given(pos_shape, gains)
def test_xavier_is_variance_scaling(shape, gain):
    fi, fo = compute_fans(shape)
    _, (lo, hi) = xavier_uniform_params(shape, gain)
    assert math.isclose(hi, gain * math.sqrt(6 / (fi + fo)), rel_tol=1e-15) and lo == -hi
    _, (mean, std) = xavier_normal_params(shape, gain)
    assert math.isclose(std, gain * math.sqrt(2 / (fi + fo)), rel_tol=1e-15) and mean == 0.0
    if gain**2 > 0:  # scale must be > 0
        for fn, d in [(xavier_uniform_params, "uniform"), (xavier_normal_params, "untruncated_normal")]:
            want = variance_scaling_params(shape, gain**2, "fan_avg", d, "torch", fan_floor=0)
            got = fn(shape, gain)
            assert got[0] == want[0] and close(got[1], want[1])


@settings(max_examples=300)
@given(pos_shape, st.sampled_from(["fan_in", "fan_out", "FAN_IN", "Fan_Out"]),
       st.sampled_from(NONLINEARITIES), st.sampled_from(SLOPES[1:]))
def test_kaiming_is_variance_scaling(shape, mode, nonlinearity, a):
    fi, fo = compute_fans(shape)
    fan = fi if mode.lower() == "fan_in" else fo
    gain = calculate_gain(nonlinearity, a)
    _, (lo, hi) = kaiming_uniform_params(shape, a, mode, nonlinearity)
    assert math.isclose(hi, gain * math.sqrt(3 / fan), rel_tol=1e-15) and lo == -hi
    _, (mean, std) = kaiming_normal_params(shape, a, mode, nonlinearity)
    assert math.isclose(std, gain / math.sqrt(fan), rel_tol=1e-15) and mean == 0.0
    for fn, d in [(kaiming_uniform_params, "uniform"), (kaiming_normal_params, "untruncated_normal")]:
        want = variance_scaling_params(shape, gain**2, mode.lower(), d, "torch", fan_floor=0)
        got = fn(shape, a, mode, nonlinearity)
        assert got[0] == want[0] and close(got[1], want[1])


def test_kaiming_defaults_are_leaky_relu_slope_0():
    # a=0 with leaky_relu: gain sqrt(2), bound sqrt(6 / fan_in).
    assert kaiming_uniform_params((10, 6)) == ("uniform", (-1.0, 1.0))


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (3, 4, 0), (0, 0), (1, 0, 7)])
def test_zero_fan_is_value_error_not_zero_division(shape):
    fi, fo = compute_fans(shape)
    for mode, fan in [("fan_in", fi), ("fan_out", fo)]:
        for fn in (kaiming_uniform_params, kaiming_normal_params):
            if fan == 0:
                with pytest.raises(ValueError, match=f"{mode} of shape .* is 0"):
                    fn(shape, mode=mode)
            else:
                fn(shape, mode=mode)  # a zero-element tensor; the caller checks size first
    for fn in (xavier_uniform_params, xavier_normal_params):
        if fi + fo == 0:
            with pytest.raises(ValueError, match="fan_avg of shape .* is 0"):
                fn(shape)
        else:
            fn(shape)


# --------------------------------------------------------------------------- bad input

BAD = [
    (compute_fans, ((3,),), ValueError, r"at least 2 dimensions, got shape \(3,\)"),
    (compute_fans, ((),), ValueError, "at least 2 dimensions"),
    (compute_fans, ((3, 4), "tf"), ValueError, "layout must be one of 'torch', 'keras'"),
    (compute_fans, ((3, 4), None), ValueError, "layout"),
    (compute_fans, (5,), TypeError, "shape must be a sequence"),
    (compute_fans, ("34",), TypeError, "shape must be a sequence"),
    (compute_fans, ((3, 4.0),), TypeError, "shape must contain ints"),
    (compute_fans, ((3, True),), TypeError, "shape must contain ints"),
    (compute_fans, ((3, -4),), ValueError, "shape must contain non-negative"),
    (calculate_gain, ("gelu",), ValueError, "nonlinearity must be one of .*'leaky_relu'"),
    (calculate_gain, ("ReLU",), ValueError, "nonlinearity"),
    (calculate_gain, (None,), ValueError, "nonlinearity"),
    (calculate_gain, ("leaky_relu", "0.2"), ValueError, "param"),
    (calculate_gain, ("leaky_relu", True), ValueError, "param"),
    (calculate_gain, ("leaky_relu", [0.2]), ValueError, "param"),
    (calculate_gain, ("leaky_relu", 1j), ValueError, "param"),
    (variance_scaling_params, ((3, 4), 0.0), ValueError, "scale"),
    (variance_scaling_params, ((3, 4), -1.0), ValueError, "scale"),
    (variance_scaling_params, ((3, 4), math.nan), ValueError, "scale"),
    (variance_scaling_params, ((3, 4), math.inf), ValueError, "scale"),
    (variance_scaling_params, ((3, 4), "1"), TypeError, "scale"),
    (variance_scaling_params, ((3, 4), True), TypeError, "scale"),
    (variance_scaling_params, ((3, 4), 1.0, "fan_sum"), ValueError, "mode must be one of 'fan_in', 'fan_out', 'fan_avg'"),
    (variance_scaling_params, ((3, 4), 1.0, "FAN_IN"), ValueError, "mode"),
    (variance_scaling_params, ((3, 4), 1.0, "fan_in", "gamma"), ValueError, "distribution must be one of .*'uniform'"),
    (variance_scaling_params, ((3, 4), 1.0, "fan_in", None), ValueError, "distribution"),
    (variance_scaling_params, ((3, 4), 1.0, "fan_in", "uniform", "jax"), ValueError, "layout"),
    (variance_scaling_params, ((4,),), ValueError, "at least 2 dimensions"),
    (xavier_uniform_params, ((3, 4), -1.0), ValueError, "gain"),
    (xavier_normal_params, ((3, 4), math.nan), ValueError, "gain"),
    (xavier_normal_params, ((3, 4), "1"), TypeError, "gain"),
    (xavier_uniform_params, ((3,),), ValueError, "at least 2 dimensions"),
    (kaiming_uniform_params, ((3, 4), 0, "fan_avg"), ValueError, "mode must be one of 'fan_in', 'fan_out'"),
    (kaiming_normal_params, ((3, 4), 0, None), ValueError, "mode"),
    (kaiming_normal_params, ((3, 4), 0, "fan_in", "swish"), ValueError, "nonlinearity"),
    (kaiming_uniform_params, ((3, 4), "0.1"), ValueError, "a \\(the negative slope\\)"),
    (kaiming_uniform_params, ((5,),), ValueError, "at least 2 dimensions"),
]


@pytest.mark.parametrize("fn,args,exc,match", BAD, ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD)])
def test_bad_input(fn, args, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args)


def test_bad_fan_floor():
    with pytest.raises(ValueError, match="fan_floor"):
        variance_scaling_params((3, 4), fan_floor=-1)
    with pytest.raises(TypeError, match="fan_floor"):
        variance_scaling_params((3, 4), fan_floor=None)


# --------------------------------------------------------------------------- torch


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason="torch not installed: comparisons with torch.nn.init skipped")


class _Recorder:
    """Stands in for a tensor: torch.nn.init computes the bound/std and hands it to uniform_/normal_."""

    def __init__(self, torch, shape):
        self.shape = torch.Size(shape)
        self.calls = []

    def dim(self):
        return len(self.shape)

    def size(self, i):
        return self.shape[i]

    def uniform_(self, a, b, generator=None):
        self.calls.append(("uniform", (a, b)))
        return self

    def normal_(self, mean, std, generator=None):
        self.calls.append(("normal", (mean, std)))
        return self


def _torch_params(torch, fn, shape, *args):
    rec = _Recorder(torch, shape)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn(rec, *args)
    return rec.calls


@given(shape=any_shape)
def test_fans_match_torch(torch, shape):
    t = torch.empty(shape, device="meta")
    assert compute_fans(shape) == torch.nn.init._calculate_fan_in_and_fan_out(t)


def test_fans_fewer_than_2_dims_raise_like_torch(torch):
    for shape in [(), (7,)]:
        with pytest.raises(ValueError):
            torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
        with pytest.raises(ValueError, match="at least 2 dimensions"):
            compute_fans(shape)


@pytest.mark.parametrize("name", NONLINEARITIES)
@pytest.mark.parametrize("param", SLOPES)
def test_gain_matches_torch(torch, name, param):
    assert calculate_gain(name, param) == torch.nn.init.calculate_gain(name, param)


@given(st.floats(-1e150, 1e150) | st.integers(-10**6, 10**6))
def test_leaky_relu_gain_matches_torch(torch, slope):
    assert calculate_gain("leaky_relu", slope) == torch.nn.init.calculate_gain("leaky_relu", slope)


@pytest.mark.parametrize("args", [("gelu",), ("Tanh",), ("leaky_relu", "0.2"), ("leaky_relu", True),
                                  ("leaky_relu", [1])])
def test_gain_errors_match_torch(torch, args):
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain(*args)
    with pytest.raises(ValueError):
        calculate_gain(*args)


@settings(max_examples=300)
@given(pos_shape, gains)
def test_xavier_matches_torch_exactly(torch, shape, gain):
    init = torch.nn.init
    assert _torch_params(torch, init.xavier_uniform_, shape, gain) == [xavier_uniform_params(shape, gain)]
    assert _torch_params(torch, init.xavier_normal_, shape, gain) == [xavier_normal_params(shape, gain)]


@settings(max_examples=300)
@given(pos_shape, st.sampled_from(["fan_in", "fan_out", "FAN_OUT"]), st.sampled_from(NONLINEARITIES),
       st.sampled_from(SLOPES[1:]) | st.floats(-100, 100))
def test_kaiming_matches_torch_exactly(torch, shape, mode, nonlinearity, a):
    init = torch.nn.init
    assert _torch_params(torch, init.kaiming_uniform_, shape, a, mode, nonlinearity) == \
        [kaiming_uniform_params(shape, a, mode, nonlinearity)]
    assert _torch_params(torch, init.kaiming_normal_, shape, a, mode, nonlinearity) == \
        [kaiming_normal_params(shape, a, mode, nonlinearity)]


def test_kaiming_default_args_match_torch(torch):
    for shape in [(64, 3, 3, 3), (10, 20), (7, 5, 3)]:
        assert _torch_params(torch, torch.nn.init.kaiming_uniform_, shape) == [kaiming_uniform_params(shape)]
        assert _torch_params(torch, torch.nn.init.kaiming_normal_, shape) == [kaiming_normal_params(shape)]


@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (3, 4, 0), (0, 0)])
def test_zero_element_tensors_vs_torch(torch, shape):
    """torch's kaiming_* warn and do nothing; xavier_* fill nothing or divide by zero."""
    init = torch.nn.init
    for fn in (init.kaiming_uniform_, init.kaiming_normal_):
        rec = _Recorder(torch, shape)
        with pytest.warns(UserWarning, match="zero-element"):
            fn(rec)
        assert rec.calls == []
    fi, fo = compute_fans(shape)
    for fn, ours in [(init.xavier_uniform_, xavier_uniform_params), (init.xavier_normal_, xavier_normal_params)]:
        if fi + fo == 0:
            with pytest.raises(ZeroDivisionError):
                fn(_Recorder(torch, shape))
            with pytest.raises(ValueError, match="is 0"):
                ours(shape)
        else:
            assert _torch_params(torch, fn, shape) == [ours(shape)]


def test_torch_samples_within_bound(torch):
    w = torch.empty(256, 64, 3, 3, dtype=torch.float64)
    torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5))  # torch's own Conv2d default
    _, (lo, hi) = kaiming_uniform_params(tuple(w.shape), a=math.sqrt(5))
    assert lo <= w.min().item() and w.max().item() <= hi and w.abs().max().item() > 0.999 * hi
    torch.nn.init.xavier_normal_(w, gain=2.0)
    _, (_, std) = xavier_normal_params(tuple(w.shape), gain=2.0)
    assert math.isclose(w.std().item(), std, rel_tol=0.01)


# --------------------------------------------------------------------------- keras


@pytest.fixture(scope="module")
def keras_ri():
    pytest.importorskip("torch", reason="the Keras comparisons use the torch backend")
    os.environ["KERAS_BACKEND"] = "torch"
    keras = pytest.importorskip("keras")
    from keras.src.initializers import random_initializers
    return keras, random_initializers


@given(shape=any_shape)
def test_fans_match_keras(keras_ri, shape):
    assert compute_fans(shape, "keras") == keras_ri[1].compute_fans(shape)


def _keras_params(ri, shape, scale, mode, distribution):
    """Run keras VarianceScaling with its samplers replaced by recorders of their arguments."""
    calls = []

    def rec(name):
        return lambda shape, **kw: calls.append((name, kw))

    init = ri.VarianceScaling(scale=scale, mode=mode, distribution=distribution)
    with mock.patch.object(ri.random, "truncated_normal", rec("trunc_normal")), \
            mock.patch.object(ri.random, "normal", rec("normal")), \
            mock.patch.object(ri.random, "uniform", rec("uniform")):
        init(shape)
    ((name, kw),) = calls
    if name == "uniform":
        return name, (kw["minval"], kw["maxval"])
    std = kw["stddev"]
    return name, (kw["mean"], std) + ((-2 * std, 2 * std) if name == "trunc_normal" else ())


@settings(max_examples=300)
@given(any_shape, scales | st.integers(1, 10), st.sampled_from(MODES), st.sampled_from(DISTRIBUTIONS))
def test_variance_scaling_matches_keras_exactly(keras_ri, shape, scale, mode, distribution):
    assert _keras_params(keras_ri[1], shape, scale, mode, distribution) == \
        variance_scaling_params(shape, scale, mode, distribution, "keras")


@pytest.mark.parametrize("name,scale,mode,distribution", [
    ("GlorotUniform", 1.0, "fan_avg", "uniform"), ("GlorotNormal", 1.0, "fan_avg", "truncated_normal"),
    ("HeUniform", 2.0, "fan_in", "uniform"), ("HeNormal", 2.0, "fan_in", "truncated_normal"),
    ("LecunUniform", 1.0, "fan_in", "uniform"), ("LecunNormal", 1.0, "fan_in", "truncated_normal"),
])
def test_keras_named_initializers(keras_ri, name, scale, mode, distribution):
    init = getattr(keras_ri[0].initializers, name)()
    assert (init.scale, init.mode, init.distribution) == (scale, mode, distribution)


def test_keras_normal_alias_differs_from_jax(keras_ri):
    # Keras 3 maps distribution="normal" to truncated_normal; JAX's "normal" is untruncated,
    # and rules follows JAX. A change on either side should be noticed here.
    assert keras_ri[1].VarianceScaling(distribution="normal").distribution == "truncated_normal"
    assert variance_scaling_params((3, 4), distribution="normal")[0] == "normal"


def test_keras_sample_std(keras_ri):
    keras = keras_ri[0]
    shape = (3, 3, 64, 128)
    for distribution in DISTRIBUTIONS:
        w = keras.ops.convert_to_numpy(
            keras.initializers.VarianceScaling(2.0, "fan_avg", distribution, seed=1)(shape))
        dist, params = variance_scaling_params(shape, 2.0, "fan_avg", distribution)
        target = math.sqrt(2.0 / max(1.0, 9 * (64 + 128) / 2))  # std after truncation
        assert math.isclose(float(np.std(w)), target, rel_tol=0.02)
        if dist == "uniform":
            assert params[0] <= w.min() and w.max() <= params[1]
