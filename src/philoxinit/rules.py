"""Fans, gains and variance scaling: the parameter rules of the named initializers.

Pure Python (no torch/keras import). Every rule returns ``(dist, params)`` where

* ``("uniform", (low, high))``
* ``("normal", (mean, std))``
* ``("trunc_normal", (mean, std, a, b))`` -- ``a``, ``b`` absolute bounds, like
  ``torch.nn.init.trunc_normal_``; ``std`` is the std of the normal *before* truncation.

Two conventions are reproduced float for float (same operations, same order):

* Keras 3 (``keras.src.initializers.random_initializers.VarianceScaling``):
  :func:`variance_scaling_params` with the default ``fan_floor=1.0``.
* PyTorch (``torch/nn/init.py``): :func:`calculate_gain`, :func:`compute_fans` with
  ``layout="torch"`` and the ``xavier_*_params`` / ``kaiming_*_params`` helpers. These are
  variance scaling with ``scale = gain**2`` and no fan floor, but they evaluate torch's own
  expressions (``gain / sqrt(fan)``, ``gain * sqrt(2 / (fan_in + fan_out))``,
  ``sqrt(3) * std``): rewritten as ``sqrt(gain**2 / fan)`` about a third of all results differ
  from torch's in the last bit.

Zero-element tensors: torch's ``kaiming_*_`` warn "Initializing zero-element tensors is a no-op"
and return the tensor untouched; ``xavier_*_`` silently fill nothing, and raise
``ZeroDivisionError`` when ``fan_in + fan_out == 0``. Callers reproduce that by checking
``0 in shape`` *before* asking for parameters. The helpers here return parameters whenever the
fan they divide by is positive and raise ``ValueError`` when it is 0 (never ZeroDivisionError).
"""
from __future__ import annotations

import math
import numbers

__all__ = [
    "compute_fans",
    "calculate_gain",
    "variance_scaling_params",
    "xavier_uniform_params",
    "xavier_normal_params",
    "kaiming_uniform_params",
    "kaiming_normal_params",
]

LAYOUTS = ("torch", "keras")
MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")
# Std of a standard normal truncated to (-2, 2); the constant Keras and JAX divide by.
TRUNCATED_NORMAL_STD = 0.87962566103423978
_LINEAR_GAIN = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                "conv_transpose2d", "conv_transpose3d", "sigmoid")
NONLINEARITIES = _LINEAR_GAIN + ("tanh", "relu", "leaky_relu", "selu")


def _choice(value, name: str, allowed: tuple) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, allowed))}; got {value!r}")
    return value


def _real(value, name: str, *, positive: bool) -> float:
    """A finite real (not bool), > 0 if ``positive`` else >= 0, as a float."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:
        value = math.inf if value > 0 else -math.inf
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be a finite number {'>' if positive else '>='} 0, got {value}")
    return value


def _show(value) -> str:
    """``repr(value)``, but a huge int as its number of digits."""
    text = repr(value)
    return text if len(text) <= 40 else f"an int of {len(str(abs(int(value))))} digits"


def _shape(shape) -> tuple:
    if isinstance(shape, (str, bytes)):
        raise TypeError(f"shape must be a sequence of ints, got {type(shape).__name__}")
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"shape must be a sequence of ints, got {type(shape).__name__}") from None
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral):
            raise TypeError(f"shape must contain ints, got {type(d).__name__} in shape {dims!r}")
        if d < 0:
            raise ValueError(f"shape must contain non-negative ints, got shape {dims!r}")
    return tuple(int(d) for d in dims)


def compute_fans(shape, layout: str = "torch") -> tuple:
    """Return ``(fan_in, fan_out)`` of a weight shape, as Python ints.

    * ``layout="torch"``: shape ``(out, in, *receptive)``, like
      ``torch.nn.init._calculate_fan_in_and_fan_out``:
      ``fan_in = in * prod(receptive)``, ``fan_out = out * prod(receptive)``.
    * ``layout="keras"``: shape ``(*receptive, in, out)``, like Keras 3
      ``keras.src.initializers.random_initializers.compute_fans`` (and JAX's default
      ``in_axis=-2, out_axis=-1``): ``fan_in = in * prod(receptive)``,
      ``fan_out = out * prod(receptive)``.

    Both need at least 2 dimensions (ValueError otherwise; Keras itself returns
    ``(1, 1)`` for a scalar and ``(n, n)`` for shape ``(n,)``).

    >>> compute_fans((64, 3, 3, 3))            # torch Conv2d(3, 64, 3) weight
    (27, 576)
    >>> compute_fans((3, 3, 3, 64), "keras")   # keras Conv2D(64, 3) kernel on 3 channels
    (27, 576)
    """
    _choice(layout, "layout", LAYOUTS)
    dims = _shape(shape)
    if len(dims) < 2:
        raise ValueError(f"compute_fans needs a shape with at least 2 dimensions, got shape {dims!r}")
    if layout == "torch":
        receptive = math.prod(dims[2:])
        return dims[1] * receptive, dims[0] * receptive
    receptive = math.prod(dims[:-2])
    return dims[-2] * receptive, dims[-1] * receptive


def calculate_gain(nonlinearity: str, param=None) -> float:
    """Recommended gain for a nonlinearity: ``torch.nn.init.calculate_gain``'s table.

    ``linear``, ``conv{1,2,3}d``, ``conv_transpose{1,2,3}d``, ``sigmoid``: 1;
    ``tanh``: 5/3; ``relu``: sqrt(2); ``selu``: 3/4;
    ``leaky_relu``: ``sqrt(2 / (1 + slope**2))`` with ``slope = param`` (default 0.01).

    ``param`` is only read for ``leaky_relu``; it must be a real number, not a bool (torch
    accepts only ``int``/``float``; NumPy scalars are accepted here too). Always returns a
    float (torch returns the int ``1`` for the linear group).

    >>> calculate_gain("relu")
    1.4142135623730951
    >>> calculate_gain("leaky_relu", 0.2)
    1.3867504905630728
    """
    _choice(nonlinearity, "nonlinearity", NONLINEARITIES)
    if nonlinearity in _LINEAR_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4
    if param is None:
        slope = 0.01
    elif isinstance(param, bool) or not isinstance(param, numbers.Real):
        raise ValueError(f"param (the leaky_relu negative slope) must be an int or float, got {param!r}")
    else:
        slope = int(param) if isinstance(param, numbers.Integral) else float(param)
        if isinstance(slope, float) and not math.isfinite(slope):
            raise ValueError(f"param (the leaky_relu negative slope) must be finite, got {param!r}")
    try:
        return math.sqrt(2.0 / (1 + slope**2))  # torch's expression, same rounding
    except OverflowError:  # slope**2 beyond the float range (torch raises OverflowError)
        raise ValueError(f"param (the leaky_relu negative slope) is too large: param**2 "
                         f"overflows a float, got {_show(param)}") from None


def _fan(shape, mode: str, layout: str) -> tuple:
    """``(fan_in, fan_out, fan)`` with ``fan`` chosen by ``mode`` (fan_avg is a float)."""
    fan_in, fan_out = compute_fans(shape, layout)
    fan = {"fan_in": fan_in, "fan_out": fan_out}.get(mode)
    return fan_in, fan_out, ((fan_in + fan_out) / 2.0 if fan is None else fan)


def variance_scaling_params(shape, scale=1.0, mode: str = "fan_in",
                            distribution: str = "truncated_normal", layout: str = "keras",
                            *, fan_floor=1.0) -> tuple:
    """Variance scaling (Keras 3 ``VarianceScaling``, ``jax.nn.initializers.variance_scaling``).

    ``fan`` is ``fan_in``, ``fan_out`` or ``(fan_in + fan_out) / 2`` (``mode``) of
    :func:`compute_fans` ``(shape, layout)``; ``v = scale / max(fan_floor, fan)``:

    * ``"truncated_normal"``: ``std = sqrt(v) / 0.87962566103423978`` (so the std *after*
      truncation to +-2 std is ``sqrt(v)``) -> ``("trunc_normal", (0.0, std, -2*std, 2*std))``
    * ``"untruncated_normal"`` or ``"normal"``: ``("normal", (0.0, sqrt(v)))``
    * ``"uniform"``: ``limit = sqrt(3 * v)`` -> ``("uniform", (-limit, limit))``

    ``distribution`` is lower-cased first (as Keras does); ``mode`` is matched exactly.
    ``scale`` must be a finite real > 0. ``fan_floor=1.0`` is Keras's ``max(1.0, fan)``;
    ``fan_floor=0`` divides by the fan itself like JAX and torch (ValueError if it is 0).

    Keras vs JAX (Keras 3.15 ``random_initializers.py``; JAX ``jax/_src/nn/initializers.py``):

    * ``"normal"`` means *untruncated* in JAX (whose names are ``"truncated_normal"``,
      ``"normal"``, ``"uniform"``) but Keras 3 maps ``"normal"`` to ``"truncated_normal"``.
      Here it is JAX's meaning; Keras users should spell ``"truncated_normal"``.
    * Keras divides by ``max(1.0, fan)``; JAX by ``fan`` (``inf`` variance for fan 0), so the
      two differ for fan < 1 (a 0-sized dim, or fan_avg 0.5).
    * JAX computes ``scale / fan`` in Python floats, then the sqrt and the division by the
      constant in the weight dtype (float32 by default); Keras and this function in float64.
    * Keras accepts ``scale = nan`` (its check is ``scale <= 0``), JAX checks nothing;
      ``compute_fans`` of Keras accepts 0-d/1-d shapes, JAX raises.

    >>> variance_scaling_params((4, 100), scale=3.0, distribution="uniform")
    ('uniform', (-1.5, 1.5))
    >>> variance_scaling_params((100, 25), mode="fan_out", distribution="untruncated_normal",
    ...                         layout="torch")
    ('normal', (0.0, 0.1))
    """
    scale = _real(scale, "scale", positive=True)
    _choice(mode, "mode", MODES)
    if isinstance(distribution, str):
        distribution = distribution.lower()
    _choice(distribution, "distribution", DISTRIBUTIONS)
    fan_floor = _real(fan_floor, "fan_floor", positive=False)
    fan = max(fan_floor, _fan(shape, mode, layout)[2])
    if fan == 0:
        raise ValueError(f"{mode} of shape {tuple(shape)!r} is 0 and fan_floor is 0: "
                         "cannot divide by it (fan_floor=1.0 clamps like Keras)")
    v = scale / fan
    if distribution == "truncated_normal":
        std = math.sqrt(v) / TRUNCATED_NORMAL_STD
        return "trunc_normal", (0.0, std, -2.0 * std, 2.0 * std)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * v)
        return "uniform", (-limit, limit)
    return "normal", (0.0, math.sqrt(v))


def _torch_rule(shape, gain, mode: str, uniform: bool) -> tuple:
    """Variance scaling with ``scale = gain**2``, no fan floor, torch layout, in torch's arithmetic."""
    gain = _real(gain, "gain", positive=False)
    fan_in, fan_out, fan = _fan(shape, mode, "torch")
    if fan == 0:
        raise ValueError(f"{mode} of shape {tuple(shape)!r} is 0; torch's rule divides by it "
                         "(check for zero-element tensors first: torch leaves them untouched)")
    if mode == "fan_avg":
        std = gain * math.sqrt(2.0 / float(fan_in + fan_out))   # xavier_*_
    else:
        std = gain / math.sqrt(fan)                              # kaiming_*_
    if uniform:
        bound = math.sqrt(3.0) * std
        return "uniform", (-bound, bound)
    return "normal", (0.0, std)


def _kaiming_gain(nonlinearity, a) -> float:
    # `a` (the leaky_relu slope) is checked here so a bad one is reported under its own name.
    finite = not isinstance(a, bool) and isinstance(a, numbers.Real)
    try:
        finite = finite and math.isfinite(float(a) ** 2)   # slope**2 is in the gain's formula
    except OverflowError:
        finite = False
    if not finite:
        raise ValueError(f"a (the negative slope) must be a finite real number with a**2 within "
                         f"the float range, got {_show(a)}")
    return calculate_gain(nonlinearity, a)


def _kaiming_mode(mode) -> str:
    # torch lower-cases the mode and accepts only fan_in / fan_out.
    return _choice(mode.lower() if isinstance(mode, str) else mode, "mode", MODES[:2])


def xavier_uniform_params(shape, gain=1.0) -> tuple:
    """``torch.nn.init.xavier_uniform_``: ``U(-b, b)``, ``b = gain * sqrt(6 / (fan_in + fan_out))``.

    Variance scaling with ``scale = gain**2``, ``fan_avg``, uniform, no fan floor; torch layout.
    Evaluated as torch does: ``sqrt(3) * (gain * sqrt(2 / (fan_in + fan_out)))``.

    >>> xavier_uniform_params((2, 4))   # torch's rounding: sqrt(3) * sqrt(1/3), not sqrt(6/6)
    ('uniform', (-0.9999999999999999, 0.9999999999999999))
    """
    return _torch_rule(shape, gain, "fan_avg", uniform=True)


def xavier_normal_params(shape, gain=1.0) -> tuple:
    """``torch.nn.init.xavier_normal_``: ``N(0, std)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    Variance scaling with ``scale = gain**2``, ``fan_avg``, untruncated normal, no fan floor.

    >>> xavier_normal_params((100, 100))
    ('normal', (0.0, 0.1))
    """
    return _torch_rule(shape, gain, "fan_avg", uniform=False)


def kaiming_uniform_params(shape, a=0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> tuple:
    """``torch.nn.init.kaiming_uniform_``: ``U(-b, b)``, ``b = sqrt(3) * gain / sqrt(fan)``.

    ``gain = calculate_gain(nonlinearity, a)``, ``fan`` = ``fan_in`` or ``fan_out`` (``mode``,
    case-insensitive like torch). Variance scaling with ``scale = gain**2``, uniform, no fan floor.

    >>> kaiming_uniform_params((128, 3, 3, 3), nonlinearity="relu")
    ('uniform', (-0.4714045207910317, 0.4714045207910317))
    """
    return _torch_rule(shape, _kaiming_gain(nonlinearity, a), _kaiming_mode(mode), uniform=True)


def kaiming_normal_params(shape, a=0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> tuple:
    """``torch.nn.init.kaiming_normal_``: ``N(0, std)``, ``std = gain / sqrt(fan)``.

    Same gain and fan as :func:`kaiming_uniform_params`; untruncated normal.

    >>> kaiming_normal_params((64, 50), mode="fan_out", nonlinearity="relu")
    ('normal', (0.0, 0.1767766952966369))
    """
    return _torch_rule(shape, _kaiming_gain(nonlinearity, a), _kaiming_mode(mode), uniform=False)
