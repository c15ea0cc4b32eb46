"""The argument checks every fill shares: the output array, real numbers, thread counts, and
each distribution's parameters against the output dtype's range. Each failure is a
TypeError/ValueError naming the argument; nothing here writes to the output.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

_FLOAT_DTYPES = ("float16", "float32", "float64", "bfloat16")


def _dtype_name(dtype) -> str:
    return np.dtype(dtype).name


# The dtypes check_out has accepted: a set lookup on the dtype object instead of
# ``dtype.name`` (a Python property, ~1.5 us) on every call. A non-native byte order is a
# different (unequal) dtype, never stored.
_OUT_DTYPES: set = set()


def check_out(out) -> None:
    """TypeError/ValueError unless ``out`` is a writable float16/32/64 or bfloat16 ndarray."""
    if isinstance(out, np.ndarray) and out.dtype in _OUT_DTYPES:
        if not out.flags.writeable:
            raise ValueError("out is read-only (its WRITEABLE flag is False)")
        return
    check_array_out(out, _FLOAT_DTYPES, "float16, float32, float64 or bfloat16")
    _OUT_DTYPES.add(out.dtype)


def check_array_out(out, dtype_names, expected: str) -> None:
    """TypeError/ValueError unless ``out`` is a writable, native-order ndarray whose dtype name
    is in ``dtype_names`` (``expected`` spells them for the message)."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy.ndarray (or np.memmap), got {type(out).__name__}")
    if out.dtype.name not in dtype_names:
        raise TypeError(f"out must have dtype {expected}, got {out.dtype}")
    if not out.dtype.isnative:
        raise TypeError(f"out must be in the machine's byte order, got dtype {out.dtype.str!r}")
    if not out.flags.writeable:
        raise ValueError("out is read-only (its WRITEABLE flag is False)")


def _real(value, name: str) -> float:
    if type(value) is float:  # the common case, first
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        return float(value)
    except OverflowError:  # an int beyond the float64 range, e.g. 10**400
        raise ValueError(f"{name} must be finite, got an int too large for a float "
                         f"(about 10**{len(str(abs(int(value)))) - 1})") from None


def _finite(value, name: str) -> float:
    if type(value) is float and math.isfinite(value):  # the common case, first
        return value
    value = _real(value, name)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


THREADS_LIMIT = 4096


def _threads(threads) -> int:
    """None -> 0 (the process default), else a positive int."""
    if threads is None:
        return 0
    if isinstance(threads, (bool, np.bool_)) or not isinstance(threads, (numbers.Integral, np.integer)):
        raise TypeError(f"threads must be a positive int or None, got {type(threads).__name__}")
    if not 1 <= int(threads) <= THREADS_LIMIT:
        raise ValueError(f"threads must be between 1 and {THREADS_LIMIT}, got {threads}")
    return int(threads)


class _Grid:
    """The finite values of an output dtype: ``digits`` significand bits, ``min_exp`` the
    :func:`math.frexp` exponent of its smallest normal, ``max`` its largest finite value."""

    def __init__(self, digits: int, min_exp: int, max_value: float):
        self.digits, self.min_exp, self.max = digits, min_exp, max_value

    def at_or_above(self, x: float) -> float:
        """The smallest value of the dtype ``>= x`` (``inf`` when ``x`` exceeds ``max``)."""
        if x <= -self.max:
            return -self.max
        if x == 0 or math.isinf(x):
            return x
        ulp = math.ldexp(1.0, max(math.frexp(x)[1], self.min_exp) - self.digits)
        up = math.ceil(x / ulp) * ulp
        return up if up <= self.max else math.inf

    def at_or_below(self, x: float) -> float:
        """The largest value of the dtype ``<= x`` (``-inf`` when ``x`` is below ``-max``)."""
        return -self.at_or_above(-x)


_GRIDS = {"float16": _Grid(11, -13, 65504.0),
          "bfloat16": _Grid(8, -125, math.ldexp(255, 120)),
          "float32": _Grid(24, -125, float(np.finfo(np.float32).max)),
          "float64": _Grid(53, -1021, float(np.finfo(np.float64).max))}
# The largest |z| of the normal quantile: ndtri of the outermost u' (docs/stream.md 5), 5.41998
# for the float32 family and 8.29236 for float64, rounded up.
_NORMAL_Z_MAX = {8: 8.3}
_NORMAL_Z_MAX_32 = 5.42
# A truncated normal's z lies within [alpha, beta] and, beyond the larger of 0 and alpha,
# at most sqrt(2 log(2**word_bits)) more: 6 for the float32 family, 9 for float64.
_TRUNC_Z_EXTRA = {8: 9.0}
_TRUNC_Z_EXTRA_32 = 6.0


def _in_dtype_range(values: dict, name: str) -> None:
    """Parameters must lie within the output dtype's finite range (float32's for the 32-bit
    family's arithmetic): a float16 output cannot hold 1e5, and a fill must never write inf.
    ``name`` is the dtype's name."""
    top = _GRIDS[name].max
    for arg, value in values.items():
        if abs(value) > top:
            raise ValueError(f"{arg} must lie within the {name} range (|{arg}| <= {top:g}) "
                             f"for a {name} output, got {value}")


# dtype -> (name, grid, itemsize) for check_dist_params, filled on first sight of each dtype.
_DTYPE_INFO: dict = {}


def _dtype_info(dtype) -> tuple:
    info = _DTYPE_INFO.get(dtype) if isinstance(dtype, np.dtype) else None
    if info is None:
        d = np.dtype(dtype)
        info = (d.name, _GRIDS[d.name], d.itemsize)
        if isinstance(dtype, np.dtype):
            _DTYPE_INFO[dtype] = info
    return info


def check_dist_params(dist: str, params: tuple, dtype=np.float32) -> tuple:
    """Validate distribution parameters (names as in the public functions); return floats.

    Every value the fill can write must be finite in ``dtype``: uniform's ``low``/``high``,
    normal's ``|mean| + 5.42 std`` (8.3 for float64: the largest quantile) and the truncated
    normal's window lie within the dtype's range, and the window holds a value of the dtype.
    """
    name, grid, itemsize = _dtype_info(dtype)
    top = grid.max
    if dist == "uniform":
        low, high = _finite(params[0], "low"), _finite(params[1], "high")
        if low > high:
            raise ValueError(f"low must be <= high, got low={low}, high={high}")
        if abs(low) > top or abs(high) > top:
            _in_dtype_range({"low": low, "high": high}, name)
        if not math.isfinite(high - low):
            raise ValueError(f"high - low must be finite, got low={low}, high={high}")
        return low, high
    if dist == "normal":
        mean, std = _finite(params[0], "mean"), _finite(params[1], "std")
        if std < 0:
            raise ValueError(f"std must be >= 0, got {std}")
        if abs(mean) > top or std > top:
            _in_dtype_range({"mean": mean, "std": std}, name)
        z = _NORMAL_Z_MAX.get(itemsize, _NORMAL_Z_MAX_32)
        if abs(mean) + z * std > top:
            raise ValueError(f"std is too large for a {name} output: values reach |mean| + "
                             f"{z} * std = {abs(mean) + z * std:g}, beyond the largest "
                             f"{name}, {top:g} (mean={mean}, std={std})")
        return mean, std
    mean, std = _finite(params[0], "mean"), _finite(params[1], "std")
    _in_dtype_range({"mean": mean, "std": std}, name)
    a, b = _real(params[2], "a"), _real(params[3], "b")
    if std <= 0:
        raise ValueError(f"std must be > 0 for a truncated normal, got {std}")
    if math.isnan(a) or math.isnan(b):
        raise ValueError("a and b must not be NaN")
    if not a < b:
        raise ValueError(f"a must be < b, got a={a}, b={b}")
    alpha, beta = (a - mean) / std, (b - mean) / std
    if alpha > 12.0 or beta < -12.0:
        raise ValueError("the window [a, b] lies entirely more than 12 standard deviations "
                         "from the mean; float32 cannot represent its probabilities")
    if b <= top and -a <= top and a <= 0.0 <= b:
        return mean, std, a, b  # [a, b] within the range and holding 0: every check below passes
    extra = _TRUNC_Z_EXTRA.get(itemsize, _TRUNC_Z_EXTRA_32)
    for arg, bound, reach in (("b", b, mean + std * (max(alpha, 0.0) + extra)),
                              ("a", -a, -mean + std * (max(-beta, 0.0) + extra))):
        if min(bound, reach) > grid.max:
            which = f"{arg} = {bound if arg == 'b' else -bound}" if bound <= reach else \
                f"std = {std} (with mean = {mean}, {arg} = {bound if arg == 'b' else -bound})"
            raise ValueError(f"{which} gives values beyond the {name} range "
                             f"(+-{grid.max:g}): keep a and b within it, or use a smaller std")
    if not grid.at_or_above(a) <= grid.at_or_below(b):
        raise ValueError(f"no {name} value lies in [a, b] = [{a}, {b}]")
    return mean, std, a, b


# The float-only parameter tuples check_dist_params has accepted, per distribution and dtype
# (a model has a few distinct scales, filled over and over). A float the check accepts it
# returns unchanged, so the tuple passed in is the answer; -0.0 == 0.0 sharing a key is
# harmless, since no check depends on the sign of a zero. Ints and bools always take the full
# check: 1 == 1.0 == True would share a key, and True must be refused.
_ACCEPTED_PARAMS: set = set()
_ACCEPTED_PARAMS_MAX = 4096


def _checked_params(dist: str, params: tuple, dtype) -> tuple:
    for value in params:
        if type(value) is not float:
            return check_dist_params(dist, params, dtype)
    key = (dist, dtype, params)
    if key not in _ACCEPTED_PARAMS:
        check_dist_params(dist, params, dtype)
        if len(_ACCEPTED_PARAMS) >= _ACCEPTED_PARAMS_MAX:
            _ACCEPTED_PARAMS.clear()
        _ACCEPTED_PARAMS.add(key)
    return params
