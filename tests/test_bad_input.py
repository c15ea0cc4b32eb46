"""Bad arguments: the right exception, a message naming the argument, and an untouched buffer.

Every case runs against ``philoxinit`` (C++ backend) and ``philoxinit.reference`` (NumPy):
the two share one API layer, so they must refuse the same calls the same way. Before each
call the output buffer is filled with a sentinel pattern (``np.arange``); afterwards its bytes
(or, for a list/tuple passed as ``out``, its contents) must be exactly what they were.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pytest

import philoxinit as pxi
from philoxinit import reference as ref

MODULES = [pytest.param(pxi, id="philoxinit"), pytest.param(ref, id="reference")]
NAN, INF = math.nan, math.inf
SHAPE = (4, 5)
SIZE = 20
# "a" and "b" are also English words ("a finite number"): match them only as argument names.
A_RE = r"\ba (must|and)\b|\ba=|\[a, b\]"
B_RE = r"\bb (must)\b|\band b\b|\bb=|\[a, b\]"


def _f32(shape=SHAPE):
    return lambda: np.arange(math.prod(shape), dtype=np.float32).reshape(shape)


def _dtype(name, shape=SHAPE):
    def make():
        if name == "bfloat16":
            mld = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")
            return np.arange(math.prod(shape)).astype(mld.bfloat16).reshape(shape)
        return (np.arange(math.prod(shape)) % 7).astype(name).reshape(shape)
    return make


def _readonly():
    a = np.arange(SIZE, dtype=np.float32).reshape(SHAPE)
    a.flags.writeable = False
    return a


def _readonly_view():
    base = np.arange(SIZE, dtype=np.float64).reshape(SHAPE)
    base.flags.writeable = False
    return base[:, ::2]


@dataclass
class Case:
    id: str
    call: Callable[[Any, Any], Any]          # call(module, out)
    exc: type
    match: str
    make: Callable[[], Any] = field(default_factory=_f32)


# ------------------------------------------------------------------ the in-place functions

# name -> positional arguments after `out` that make a valid call on a (4, 5) float32 array
INPLACE = {
    "uniform_": (), "normal_": (), "trunc_normal_": (), "constant_": (0.5,), "zeros_": (),
    "ones_": (), "variance_scaling_": (), "glorot_uniform_": (), "glorot_normal_": (),
    "he_uniform_": (), "he_normal_": (), "lecun_uniform_": (), "lecun_normal_": (),
    "xavier_uniform_": (), "xavier_normal_": (), "kaiming_uniform_": (), "kaiming_normal_": (),
}
RANDOM = [n for n in INPLACE if n not in ("constant_", "zeros_", "ones_")]
FAN_RULES = [n for n in RANDOM if n not in ("uniform_", "normal_", "trunc_normal_")]
KERAS_RULES = [n for n in FAN_RULES if not n.startswith(("xavier", "kaiming"))]


def _call(name, *args, **kw):
    return lambda mod, out: getattr(mod, name)(out, *(INPLACE[name] + args), **kw)


CASES: list[Case] = []

# --- the output itself: read-only, wrong dtype, not an array --------------------------------
BAD_DTYPES = ["int8", "int32", "int64", "uint16", "uint32", "bool", "complex64", "complex128",
              "longdouble", "object", "datetime64[s]"]
NOT_ARRAYS = {"list": lambda: [[0.0] * 5 for _ in range(4)], "tuple": lambda: (0.0, 1.0, 2.0),
              "float": lambda: 3.0, "None": lambda: None, "np_scalar": lambda: np.float32(1.0),
              "memoryview": lambda: memoryview(bytearray(16)), "str": lambda: "out"}
for name in INPLACE:
    CASES.append(Case(f"{name}-readonly", _call(name), ValueError, r"\bout\b", _readonly))
    CASES.append(Case(f"{name}-readonly_view", _call(name), ValueError, r"\bout\b",
                      _readonly_view))
    for dt in BAD_DTYPES:
        CASES.append(Case(f"{name}-dtype_{dt}", _call(name), TypeError, r"\bout\b",
                          (lambda dt=dt: np.zeros(SHAPE, dt))))
    for what, make in NOT_ARRAYS.items():
        CASES.append(Case(f"{name}-not_array_{what}", _call(name), TypeError, r"\bout\b", make))

# --- distribution parameters -----------------------------------------------------------------
for v in (NAN, INF, -INF):
    CASES += [
        Case(f"uniform_-low_{v}", _call("uniform_", v, 1.0), ValueError, r"\blow\b"),
        Case(f"uniform_-high_{v}", _call("uniform_", 0.0, v), ValueError, r"\bhigh\b"),
        Case(f"normal_-mean_{v}", _call("normal_", v, 1.0), ValueError, r"\bmean\b"),
        Case(f"normal_-std_{v}", _call("normal_", 0.0, v), ValueError, r"\bstd\b"),
        Case(f"trunc_normal_-mean_{v}", _call("trunc_normal_", v, 1.0), ValueError, r"\bmean\b"),
        Case(f"trunc_normal_-std_{v}", _call("trunc_normal_", 0.0, v), ValueError, r"\bstd\b"),
        Case(f"normal_-kw_mean_{v}", _call("normal_", mean=v), ValueError, r"\bmean\b"),
    ]
CASES += [
    Case("normal_-std_negative", _call("normal_", 0.0, -1.0), ValueError, r"\bstd\b"),
    Case("normal_-std_tiny_negative", _call("normal_", 0.0, -1e-300), ValueError, r"\bstd\b"),
    Case("trunc_normal_-std_negative", _call("trunc_normal_", 0.0, -1.0), ValueError, r"\bstd\b"),
    Case("trunc_normal_-std_zero", _call("trunc_normal_", 0.0, 0.0), ValueError, r"\bstd\b"),
    Case("uniform_-low_gt_high", _call("uniform_", 2.0, 1.0), ValueError, r"\blow\b"),
    Case("uniform_-low_gt_high_kw", _call("uniform_", low=-1.0, high=-2.0), ValueError,
         r"\blow\b"),
    Case("uniform_-low_gt_high_tiny", _call("uniform_", 1.0, math.nextafter(1.0, 0.0)),
         ValueError, r"\blow\b"),
    Case("trunc_normal_-a_eq_b", _call("trunc_normal_", 0.0, 1.0, 1.0, 1.0), ValueError,
         A_RE),
    Case("trunc_normal_-a_gt_b", _call("trunc_normal_", 0.0, 1.0, 2.0, -2.0), ValueError,
         A_RE),
    Case("trunc_normal_-a_b_inf", _call("trunc_normal_", 0.0, 1.0, INF, INF), ValueError,
         A_RE),
    Case("trunc_normal_-a_b_-inf", _call("trunc_normal_", 0.0, 1.0, -INF, -INF), ValueError,
         A_RE),
    Case("trunc_normal_-a_nan", _call("trunc_normal_", 0.0, 1.0, NAN, 2.0), ValueError,
         A_RE),
    Case("trunc_normal_-b_nan", _call("trunc_normal_", 0.0, 1.0, -2.0, NAN), ValueError,
         B_RE),
    Case("trunc_normal_-a_b_nan", _call("trunc_normal_", 0.0, 1.0, NAN, NAN), ValueError,
         A_RE),
    # the trunc window entirely beyond 12 standard deviations
    Case("trunc_normal_-window_above_12", _call("trunc_normal_", 0.0, 1.0, 12.5, 13.0),
         ValueError, r"window|12"),
    Case("trunc_normal_-window_below_-12", _call("trunc_normal_", 0.0, 1.0, -13.0, -12.5),
         ValueError, r"window|12"),
    Case("trunc_normal_-window_above_12_onesided", _call("trunc_normal_", 0.0, 1.0, 12.01, INF),
         ValueError, r"window|12"),
    Case("trunc_normal_-window_below_-12_onesided",
         _call("trunc_normal_", 0.0, 1.0, -INF, -12.01), ValueError, r"window|12"),
    Case("trunc_normal_-window_scaled", _call("trunc_normal_", 1.0, 0.1, 2.3, 5.0), ValueError,
         r"window|12"),
    Case("trunc_normal_-window_far", _call("trunc_normal_", 0.0, 1.0, 1e6, 1e7), ValueError,
         r"window|12"),
    # wrong types for the parameters
    Case("normal_-mean_str", _call("normal_", "0"), TypeError, r"\bmean\b"),
    Case("normal_-std_None", _call("normal_", 0.0, None), TypeError, r"\bstd\b"),
    Case("normal_-std_complex", _call("normal_", 0.0, 1j), TypeError, r"\bstd\b"),
    Case("uniform_-low_list", _call("uniform_", [0.0], 1.0), TypeError, r"\blow\b"),
    Case("uniform_-high_bool", _call("uniform_", 0.0, True), TypeError, r"\bhigh\b"),
    Case("trunc_normal_-a_str", _call("trunc_normal_", 0.0, 1.0, "-2", 2.0), TypeError,
         A_RE),
    Case("trunc_normal_-b_None", _call("trunc_normal_", 0.0, 1.0, -2.0, None), TypeError,
         B_RE),
    Case("constant_-val_str", lambda mod, out: mod.constant_(out, "1"), TypeError, r"\bval\b"),
    Case("constant_-val_None", lambda mod, out: mod.constant_(out, None), TypeError, r"\bval\b"),
]

# --- seed, stream, offset, threads: every random fill --------------------------------------
for name in RANDOM:
    for v in (-1, 2**64, 2**70, -(2**64)):
        CASES.append(Case(f"{name}-seed_{v}", _call(name, seed=v), ValueError, r"\bseed\b"))
        CASES.append(Case(f"{name}-stream_{v}", _call(name, stream=v), ValueError,
                          r"\bstream\b"))
    for tag, v in (("float", 1.0), ("str", "1"), ("bool", True), ("None", None),
                   ("np_float", np.float64(3.0)), ("np_bool", np.bool_(True))):
        CASES.append(Case(f"{name}-seed_{tag}", _call(name, seed=v), TypeError, r"\bseed\b"))
    for tag, v in (("float", 1.5), ("bool", False), ("None", None), ("bytes", b"w")):
        CASES.append(Case(f"{name}-stream_{tag}", _call(name, stream=v), TypeError,
                          r"\bstream\b"))
    for tag, v in (("negative", -1), ("past_limit", 2**62 - SIZE + 1), ("2**62", 2**62),
                   ("2**64", 2**64)):
        CASES.append(Case(f"{name}-offset_{tag}", _call(name, offset=v), ValueError,
                          r"\boffset\b"))
    for tag, v in (("float", 2.0), ("bool", True), ("str", "0")):
        CASES.append(Case(f"{name}-offset_{tag}", _call(name, offset=v), TypeError,
                          r"\boffset\b"))
for name in INPLACE:
    for v in (0, -1, 4097):
        CASES.append(Case(f"{name}-threads_{v}", _call(name, threads=v), ValueError,
                          r"\bthreads\b"))
    for tag, v in (("float", 2.5), ("str", "2"), ("bool", True), ("np_float", np.float32(2))):
        CASES.append(Case(f"{name}-threads_{tag}", _call(name, threads=v), TypeError,
                          r"\bthreads\b"))

# --- the rules: choices, fans, scales, gains --------------------------------------------------
for name in FAN_RULES:
    for shape in [(5,), (), (1,)]:
        CASES.append(Case(f"{name}-ndim_{len(shape)}_{shape}", _call(name), ValueError,
                          r"2 dimensions", _f32(shape)))
for name in KERAS_RULES:  # variance_scaling_ and the Keras names
    for v in ("nchw", "Torch", "", None):
        CASES.append(Case(f"{name}-layout_{v!r}", _call(name, layout=v), ValueError,
                          r"\blayout\b"))
for v in ("fan_sum", "FAN_IN", "", None, 1):
    CASES.append(Case(f"variance_scaling_-mode_{v!r}",
                      _call("variance_scaling_", 1.0, v), ValueError, r"\bmode\b"))
for v in ("gaussian", "truncated", "", None):
    CASES.append(Case(f"variance_scaling_-distribution_{v!r}",
                      _call("variance_scaling_", 1.0, "fan_in", v), ValueError,
                      r"\bdistribution\b"))
for v in (0.0, -1.0, NAN, INF):
    CASES.append(Case(f"variance_scaling_-scale_{v}", _call("variance_scaling_", v), ValueError,
                      r"\bscale\b"))
CASES.append(Case("variance_scaling_-scale_str", _call("variance_scaling_", "1"), TypeError,
                  r"\bscale\b"))
for name in ("kaiming_uniform_", "kaiming_normal_"):
    for v in ("fan_avg", "bogus", "", None):
        CASES.append(Case(f"{name}-mode_{v!r}", _call(name, mode=v), ValueError, r"\bmode\b"))
    for v in ("gelu", "ReLU", "", None):
        CASES.append(Case(f"{name}-nonlinearity_{v!r}", _call(name, nonlinearity=v), ValueError,
                          r"\bnonlinearity\b"))
    # torch.nn.init.calculate_gain raises ValueError for a non-number slope
    CASES.append(Case(f"{name}-a_str", _call(name, a="x"), ValueError, r"slope|" + A_RE))
for name in ("xavier_uniform_", "xavier_normal_"):
    for v in (-1.0, NAN, INF):
        CASES.append(Case(f"{name}-gain_{v}", _call(name, gain=v), ValueError, r"\bgain\b"))
    CASES.append(Case(f"{name}-gain_str", _call(name, gain="1"), TypeError, r"\bgain\b"))


# --- contract limits the docs state (docs/stream.md §3) ---------------------------------------
# "low and high must be finite, low <= high, and both must lie within the float32 range when
# the output is float32, float16 or bfloat16"; the C++ core also refuses a trunc window holding
# no float32 value and a float64 uniform whose high - low overflows. Both backends must agree.
for dt in ("float32", "float16", "bfloat16"):
    CASES += [
        Case(f"uniform_-{dt}-high_beyond_float32", _call("uniform_", 0.0, 1e39), ValueError,
             r"\bhigh\b", _dtype(dt)),
        Case(f"uniform_-{dt}-low_beyond_float32", _call("uniform_", -1e39, 0.0), ValueError,
             r"\blow\b", _dtype(dt)),
        Case(f"normal_-{dt}-mean_beyond_float32", _call("normal_", 1e39, 1.0), ValueError,
             r"\bmean\b", _dtype(dt)),
        Case(f"normal_-{dt}-std_beyond_float32", _call("normal_", 0.0, 1e39), ValueError,
             r"\bstd\b", _dtype(dt)),
        Case(f"trunc_normal_-{dt}-mean_beyond_float32", _call("trunc_normal_", 1e39, 1.0, -INF, INF),
             ValueError, r"\bmean\b", _dtype(dt)),
        Case(f"trunc_normal_-{dt}-no_float32_in_window",
             _call("trunc_normal_", 0.0, 1.0, 1.00000001, 1.00000002), ValueError,
             A_RE, _dtype(dt)),
    ]
CASES.append(Case("uniform_-float64-range_overflows", _call("uniform_", -1e308, 1e308),
                  ValueError, r"\bhigh\b|\blow\b", _dtype("float64")))

# --- each output dtype's own range (issue 11): a fill never writes inf ------------------------
# float16 holds |x| <= 65504, bfloat16 |x| <= 3.3895e38 (below float32's 3.4028e38): bounds
# beyond them are refused, naming the argument, as are a normal whose largest value
# |mean| + 5.42 std (8.3 std for float64) and a truncated normal whose window (where a bound
# is infinite, mean +- (6 + the far edge) std) would not fit.
CASES += [
    Case("uniform_-float16-low_beyond_float16", _call("uniform_", -1e5, 1e5), ValueError,
         r"\blow must lie within the float16 range", _dtype("float16")),
    Case("uniform_-float16-high_beyond_float16", _call("uniform_", 0.0, 65505.0), ValueError,
         r"\bhigh must lie within the float16 range", _dtype("float16")),
    Case("uniform_-bfloat16-high_beyond_bfloat16", _call("uniform_", 0.0, 3.4e38), ValueError,
         r"\bhigh must lie within the bfloat16 range", _dtype("bfloat16")),
    Case("normal_-float16-mean_beyond_float16", _call("normal_", 7e4, 1.0), ValueError,
         r"\bmean\b.*float16", _dtype("float16")),
    Case("normal_-float16-std_reaches_inf", _call("normal_", 0.0, 12100.0), ValueError,
         r"\bstd is too large for a float16", _dtype("float16")),
    Case("normal_-float16-mean_plus_std_reaches_inf", _call("normal_", 6.2e4, 1000.0), ValueError,
         r"\bstd is too large for a float16.*mean=", _dtype("float16")),
    Case("normal_-float32-std_reaches_inf", _call("normal_", 0.0, 1e38), ValueError,
         r"\bstd is too large for a float32"),
    Case("normal_-float64-std_reaches_inf", _call("normal_", 0.0, 1e308), ValueError,
         r"\bstd is too large for a float64", _dtype("float64")),
    Case("trunc_normal_-float16-std_beyond_float16", _call("trunc_normal_", 0.0, 1e5, -7e4, 7e4),
         ValueError, r"\bstd must lie within the float16 range", _dtype("float16")),
    Case("trunc_normal_-float16-b_beyond_float16", _call("trunc_normal_", 0.0, 2e4, -1.0, 7e4),
         ValueError, r"\bb = 70000.0 gives values beyond the float16 range", _dtype("float16")),
    Case("trunc_normal_-float16-a_beyond_float16", _call("trunc_normal_", 0.0, 2e4, -7e4, 1.0),
         ValueError, r"\ba = -70000.0 gives values beyond the float16 range", _dtype("float16")),
    Case("trunc_normal_-float16-std_with_inf_b", _call("trunc_normal_", 0.0, 2e4, 0.0, INF),
         ValueError, r"\bstd = 20000.0 .*beyond the float16 range", _dtype("float16")),
    Case("trunc_normal_-bfloat16-no_value_in_window",
         _call("trunc_normal_", 0.0, 1.0, 1.001, 1.006), ValueError,
         r"no bfloat16 value lies in \[a, b\]", _dtype("bfloat16")),
    Case("trunc_normal_-float16-no_value_in_window",
         _call("trunc_normal_", 0.0, 1.0, 1.0001, 1.0009), ValueError,
         r"no float16 value lies in \[a, b\]", _dtype("float16")),
    # 10**400 is an int no float holds: a ValueError naming the argument, not OverflowError
    Case("normal_-std_10**400", _call("normal_", 0.0, 10**400), ValueError, r"\bstd must be finite"),
    Case("uniform_-low_-10**400", _call("uniform_", -(10**400), 1.0), ValueError,
         r"\blow must be finite"),
    Case("trunc_normal_-b_10**400", _call("trunc_normal_", 0.0, 1.0, -2.0, 10**400), ValueError,
         r"\bb must be finite"),
    Case("constant_-val_10**400", lambda mod, out: mod.constant_(out, 10**400), ValueError,
         r"\bval must be finite"),
]
for name in ("kaiming_uniform_", "kaiming_normal_"):
    for tag, v in (("-1e200", -1e200), ("10**400", 10**400), ("inf", INF)):
        CASES.append(Case(f"{name}-a_{tag}", _call(name, a=v), ValueError,
                          r"\ba \(the negative slope\) must be a finite real number"))
# constants take the random fills' keywords (README: every fill takes seed, stream, offset),
# and check them the same way
for name in ("constant_", "zeros_", "ones_"):
    CASES += [
        Case(f"{name}-seed_negative", _call(name, seed=-1), ValueError, r"\bseed\b"),
        Case(f"{name}-stream_float", _call(name, stream=1.5), TypeError, r"\bstream\b"),
        Case(f"{name}-offset_past_limit", _call(name, offset=2**62), ValueError, r"\boffset\b"),
        Case(f"{name}-index_without_global_shape", _call(name, index=(slice(0, 2),)), ValueError,
             r"\bglobal_shape\b"),
    ]

# --- validation must not depend on the size of out --------------------------------------------
# (fills of a zero-size array validate everything; the named rules must too)
for name in RANDOM:
    CASES += [
        Case(f"{name}-empty-seed_negative", _call(name, seed=-1), ValueError, r"\bseed\b",
             _f32((0, 3))),
        Case(f"{name}-empty-stream_float", _call(name, stream=1.5), TypeError, r"\bstream\b",
             _f32((3, 0))),
        Case(f"{name}-empty-threads_0", _call(name, threads=0), ValueError, r"\bthreads\b",
             _f32((0, 4))),
    ]
CASES += [
    Case("variance_scaling_-empty-mode_bad", _call("variance_scaling_", 1.0, "fan_sum"),
         ValueError, r"\bmode\b", _f32((0, 3))),
    Case("he_normal_-empty-layout_bad", _call("he_normal_", layout="nchw"), ValueError,
         r"\blayout\b", _f32((3, 0))),
    Case("kaiming_normal_-empty-nonlinearity_bad", _call("kaiming_normal_", nonlinearity="gelu"),
         ValueError, r"\bnonlinearity\b", _f32((0, 3))),
]

# --- kaiming's slope a: a NaN slope is refused, and the message should name it ---------------
for name in ("kaiming_uniform_", "kaiming_normal_"):
    CASES.append(Case(f"{name}-a_nan", _call(name, a=NAN), ValueError, r"slope|" + A_RE))


def _snapshot(out):
    if isinstance(out, np.ndarray):
        return ("ndarray", out.dtype.str, out.shape, bool(out.flags.writeable),
                np.array(out, copy=True).tobytes())
    if isinstance(out, memoryview):
        return ("memoryview", out.tobytes())
    return ("object", copy.deepcopy(out))


assert len({c.id for c in CASES}) == len(CASES), "duplicate case ids"


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(mod, case):
    out = case.make()
    before = _snapshot(out)
    with pytest.raises(case.exc, match=case.match):
        case.call(mod, out)
    assert _snapshot(out) == before, f"{case.id}: the buffer was modified"


# ----------------------------------------------------------------- functions without a buffer

NO_BUFFER = [
    ("random_raw-n_negative", lambda m: m.random_raw(-1), ValueError, r"\bn must\b"),
    ("random_raw-n_float", lambda m: m.random_raw(2.0), TypeError, r"\bn must\b"),
    ("random_raw-n_bool", lambda m: m.random_raw(True), TypeError, r"\bn must\b"),
    ("random_raw-n_None", lambda m: m.random_raw(None), TypeError, r"\bn must\b"),
    ("random_raw-seed_negative", lambda m: m.random_raw(4, -1), ValueError, r"\bseed\b"),
    ("random_raw-seed_2**64", lambda m: m.random_raw(4, 2**64), ValueError, r"\bseed\b"),
    ("random_raw-seed_float", lambda m: m.random_raw(4, 1.0), TypeError, r"\bseed\b"),
    ("random_raw-seed_str", lambda m: m.random_raw(4, "1"), TypeError, r"\bseed\b"),
    ("random_raw-seed_bool", lambda m: m.random_raw(4, True), TypeError, r"\bseed\b"),
    ("random_raw-stream_negative", lambda m: m.random_raw(4, 0, -1), ValueError, r"\bstream\b"),
    ("random_raw-stream_2**64", lambda m: m.random_raw(4, 0, 2**64), ValueError, r"\bstream\b"),
    ("random_raw-stream_float", lambda m: m.random_raw(4, 0, 2.0), TypeError, r"\bstream\b"),
    ("random_raw-offset_negative", lambda m: m.random_raw(4, 0, 0, -1), ValueError,
     r"\boffset\b"),
    ("random_raw-offset_past_limit", lambda m: m.random_raw(4, 0, 0, 2**62 - 3), ValueError,
     r"\boffset\b"),
    ("random_raw-offset_float", lambda m: m.random_raw(4, 0, 0, 1.0), TypeError, r"\boffset\b"),
    ("random_raw-threads_0", lambda m: m.random_raw(4, threads=0), ValueError, r"\bthreads\b"),
    ("random_raw-threads_float", lambda m: m.random_raw(4, threads=2.5), TypeError,
     r"\bthreads\b"),
    ("twin-int_dtype", lambda m: m.normal((3, 4), np.int32), TypeError, r"^dtype must be float16"),
    ("twin-int_dtype_kw", lambda m: m.zeros((3,), dtype="int32"), TypeError, r"^dtype must be"),
    ("twin-big_endian", lambda m: m.normal((3,), ">f4"), TypeError, r"^dtype must be in the"),
    ("twin-negative_shape", lambda m: m.normal((3, -1)), ValueError,
     r"^shape must have non-negative dimensions"),
    ("twin-negative_int_shape", lambda m: m.uniform(-2), ValueError, r"^shape must have"),
    ("twin-float_shape", lambda m: m.uniform((2.0, 3)), TypeError, r"^shape must be a tuple"),
    ("twin-complex_dtype", lambda m: m.kaiming_uniform((3, 4), np.complex64), TypeError,
     r"dtype"),
    ("twin-bad_shape", lambda m: m.uniform("abc"), TypeError, r"shape"),
    ("twin-seed_negative", lambda m: m.he_normal((3, 4), seed=-1), ValueError, r"\bseed\b"),
    ("twin-std_negative", lambda m: m.normal((3,), np.float64, 0.0, -1.0), ValueError, r"\bstd\b"),
    ("twin-ndim_1", lambda m: m.xavier_normal((7,)), ValueError, r"2 dimensions"),
    ("twin-window_beyond_12", lambda m: m.trunc_normal((3,), a=13.0, b=14.0), ValueError,
     r"window|12"),
]


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("call,exc,match", [c[1:] for c in NO_BUFFER],
                         ids=[c[0] for c in NO_BUFFER])
def test_bad_input_no_buffer(mod, call, exc, match):
    with pytest.raises(exc, match=match):
        call(mod)


@pytest.mark.parametrize("bad,exc", [(-1, ValueError), (-(2**40), ValueError), (2.5, TypeError),
                                     ("2", TypeError), (True, TypeError), (None, TypeError)])
def test_set_num_threads_bad(bad, exc):
    before = pxi.get_num_threads()
    try:
        with pytest.raises(exc, match=r"\bn must\b"):
            pxi.set_num_threads(bad)
        assert pxi.get_num_threads() == before
    finally:
        pxi.set_num_threads(0)


@pytest.mark.parametrize("mod", MODULES)
def test_valid_neighbours_of_bad_cases_pass(mod):
    """The boundaries the cases above probe are tight: the valid side of each is accepted."""
    a = np.arange(SIZE, dtype=np.float32).reshape(SHAPE)
    mod.normal_(a, 0.0, 0.0)                           # std == 0 is allowed for normal_
    assert (a == 0).all()
    mod.uniform_(a, 1.5, 1.5)                          # low == high
    assert (a == 1.5).all()
    mod.trunc_normal_(a, 0.0, 1.0, 11.9, INF)          # nearer edge within 12 sigma
    assert (a >= 11.9).all()
    mod.trunc_normal_(a, 0.0, 1.0, -INF, INF)          # both edges infinite
    mod.normal_(a, seed=2**64 - 1, stream=2**64 - 1, offset=2**62 - SIZE, threads=4096)
    mod.normal_(a, seed=np.uint64(2**64 - 1), stream=np.int8(3), offset=np.int64(5),
                threads=np.int32(2))
    mod.uniform_(a, -3.4e38, 3.4e38)                   # the float32 range itself
    mod.uniform_(np.empty(3), -1e300, 1e300)           # float64 range, high - low finite
    mod.kaiming_uniform_(a, a=3, mode="FAN_OUT")      # torch lower-cases the mode
    mod.variance_scaling_(a, 1.0, "fan_avg", "Uniform")  # and Keras the distribution
    mod.normal_(np.empty((0,)), seed=1)                # a 1-D zero-size fill is fine
    assert mod.random_raw(0, offset=2**62).shape == (0,)


# ------------------------------------------------------------------ issue 11: messages that name

@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("name", ["normal_", "normal", "zeros_", "kaiming_uniform", "random_raw"])
def test_unknown_keyword_names_the_public_function(mod, name):
    fn = getattr(mod, name)
    args = (8,) if name == "random_raw" else ((np.empty(3, np.float32),) if name.endswith("_")
                                              else ((4, 4),))
    with pytest.raises(TypeError, match=rf"^{name}\(\) got an unexpected keyword argument 'sed'"):
        fn(*args, sed=1)
    with pytest.raises(TypeError) as info:
        fn(*args, sed=1)
    assert "InitAPI" not in str(info.value)


@pytest.mark.parametrize("mod", MODULES)
def test_stream_type_error_says_int_or_str(mod):
    with pytest.raises(TypeError, match=r"^stream must be an int in \[0, 2\*\*64\) or a str, got float"):
        mod.normal_(np.empty(3, np.float32), stream=1.5)
    with pytest.raises(TypeError, match=r"or a str"):
        pxi.stream_id(b"layer")


@pytest.mark.parametrize("bad", [4097, 10**6, 2**40])
def test_set_num_threads_has_the_threads_limit(bad):
    before = pxi.get_num_threads()
    try:
        with pytest.raises(ValueError, match=r"^n must be between 0 and 4096"):
            pxi.set_num_threads(bad)
        assert pxi.get_num_threads() == before
        with pytest.raises(ValueError, match=r"threads must be between 1 and 4096"):
            pxi.normal_(np.empty(3, np.float32), threads=bad)   # the same limit per call
        pxi.set_num_threads(4096)            # the limit itself is accepted (no fill runs here)
        assert pxi.get_num_threads() == 4096
    finally:
        pxi.set_num_threads(0)
    assert pxi.get_num_threads() == before


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("param,match", [
    (1e200, r"param \(the leaky_relu negative slope\) is too large"),
    (-1e200, r"param \(the leaky_relu negative slope\) is too large"),
    (10**400, r"param \(the leaky_relu negative slope\) is too large.*an int of 401 digits"),
    (NAN, r"param \(the leaky_relu negative slope\) must be finite"),
    (INF, r"param \(the leaky_relu negative slope\) must be finite"),
])
def test_calculate_gain_bad_slope(mod, param, match):
    with pytest.raises(ValueError, match=match):
        mod.calculate_gain("leaky_relu", param)


def test_calculate_gain_large_finite_slope_still_works():
    # the valid side of the overflow: torch's own expression, finite
    assert pxi.calculate_gain("leaky_relu", 1e150) == math.sqrt(2.0 / (1 + 1e150**2))
    assert pxi.calculate_gain("relu", NAN) == math.sqrt(2.0)   # param is read for leaky_relu only


@pytest.mark.parametrize("mod", MODULES)
def test_constant_fills_take_the_random_keywords(mod):
    """README: every fill takes seed, stream, offset, threads; a constant ignores their values."""
    z = mod.zeros((3,), seed=0, stream="fc.bias", offset=5, threads=1)
    assert z.tolist() == [0.0, 0.0, 0.0] and z.dtype == np.float32
    assert mod.ones((2, 2), np.float64, seed=2**64 - 1).tolist() == [[1.0, 1.0], [1.0, 1.0]]
    assert mod.constant((2,), 0.25, seed=3, stream=7).tolist() == [0.25, 0.25]
    shard = mod.zeros_(np.ones((2, 4), np.float32), global_shape=(4, 4), index=(slice(2, 4),))
    assert (shard == 0).all()
    with pytest.raises(ValueError, match=r"global_shape\[index\] has shape"):
        mod.ones_(np.zeros((3, 4), np.float32), global_shape=(4, 4), index=(slice(2, 4),))


# ------------------------------------------------------------ the valid side: never inf, in range

def _finite_values(dt_name):
    if dt_name == "bfloat16":
        mld = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")
        dtype = np.dtype(mld.bfloat16)
    else:
        dtype = np.dtype(dt_name)
    with np.errstate(invalid="ignore"):                 # the NaN patterns
        allv = np.arange(2**16, dtype=np.uint32).astype(np.uint16).view(dtype).astype(np.float64)
    return dtype, np.unique(allv[np.isfinite(allv)])     # sorted; -0.0 and 0.0 merge


@pytest.mark.parametrize("mod", MODULES)
def test_largest_accepted_parameters_write_no_inf(mod):
    f16 = np.empty(200_000, np.float16)
    for call in (lambda: mod.uniform_(f16, -65504.0, 65504.0, seed=1),
                 lambda: mod.normal_(f16, 0.0, 12000.0, seed=2),          # 5.42 * 12000 < 65504
                 lambda: mod.normal_(f16, 1000.0, 11800.0, seed=3),
                 lambda: mod.trunc_normal_(f16, 0.0, 1e4, -INF, INF, seed=4),
                 lambda: mod.trunc_normal_(f16, 0.0, 1e4, -7e4, 7e4, seed=5),  # mean +- 6 std fits
                 lambda: mod.trunc_normal_(f16, 0.0, 60000.0, -65504.0, 65504.0, seed=6)):
        out = call().astype(np.float64)
        assert np.isfinite(out).all()
    a32 = mod.normal_(np.empty(100_000, np.float32), 0.0, 6e37, seed=7)
    assert np.isfinite(a32).all()
    dtype, _ = _finite_values("bfloat16")
    bmax = float(np.finfo(dtype).max)
    b = mod.uniform_(np.empty(100_000, dtype), -bmax, bmax, seed=8).astype(np.float64)
    assert np.isfinite(b).all()


@pytest.mark.parametrize("mod", MODULES)
@pytest.mark.parametrize("dt_name", ["float16", "bfloat16"])
def test_16bit_trunc_normal_stays_in_window(mod, dt_name):
    """The issue's case and random windows: every value in [a, b] (the clamp bounds are the
    output's own values inside [a, b]), checked against all 2**16 bit patterns of the dtype."""
    dtype, grid = _finite_values(dt_name)
    rng = np.random.default_rng(11)
    windows = [(0.0, 0.02, -0.04, 0.04), (0.0, 1.0, -2.0, 2.0), (0.5, 0.1, 0.3, 0.7)]
    for _ in range(60):
        mean = float(rng.normal()) * 10.0 ** int(rng.integers(-3, 3))
        std = float(np.exp(rng.uniform(-7, 3)))
        alpha = float(rng.uniform(-4, 3.5))
        beta = alpha + float(np.exp(rng.uniform(-6, 1.5)))
        windows.append((mean, std, mean + alpha * std, mean + beta * std))
    for mean, std, a, b in windows:
        out = np.empty(4096, dtype)
        inside = grid[(grid >= a) & (grid <= b)]
        if inside.size == 0:
            with pytest.raises(ValueError, match=rf"no {dt_name} value lies in \[a, b\]"):
                mod.trunc_normal_(out, mean, std, a, b, seed=3)
            continue
        v = mod.trunc_normal_(out, mean, std, a, b, seed=3, stream="w").astype(np.float64)
        assert ((v >= a) & (v <= b)).all(), (mean, std, a, b, v.min(), v.max())
        assert np.isin(v, inside).all()
        if inside.size == 1:                  # the clamp bounds themselves: one value only
            assert (v == inside[0]).all()


@pytest.mark.parametrize("dt_name", ["float16", "bfloat16"])
def test_16bit_trunc_clamp_bounds_agree_bit_for_bit(dt_name):
    """Windows that hold one or two values of the dtype, so every output is a clamp bound or
    rounds to one: the C++ core and the reference give the same bits."""
    dtype, grid = _finite_values(dt_name)
    rng = np.random.default_rng(5)
    pos = grid[(grid > 1e-6) & (grid < 1e4)]
    for _ in range(150):
        i = int(rng.integers(1, pos.size - 2))
        lo_gap, hi_gap = pos[i] - pos[i - 1], pos[i + 1] - pos[i]
        a = pos[i] - float(rng.uniform(0.01, 0.99)) * lo_gap
        b = pos[i] + float(rng.uniform(0.01, 0.99)) * hi_gap if rng.integers(2) else pos[i + 1]
        if rng.integers(2):
            a, b = -b, -a
        mean, std = float(rng.uniform(a, b)), float(np.exp(rng.uniform(-12, 2))) * abs(b)
        fast = pxi.trunc_normal_(np.empty(512, dtype), mean, std, a, b, seed=1, stream=i)
        want = ref.trunc_normal_(np.empty(512, dtype), mean, std, a, b, seed=1, stream=i)
        f = fast.astype(np.float64)
        assert ((f >= a) & (f <= b)).all()
        single = ((grid >= a) & (grid <= b)).sum() == 1
        if single:
            assert (fast.view(np.uint16) == want.view(np.uint16)).all(), (a, b, mean, std)
        else:                                 # two values: the two may differ only at a tie
            assert np.isin(np.unique(f), grid[(grid >= a) & (grid <= b)]).all()
