"""Keras 3 initializers backed by philoxinit: deterministic on every backend, device and machine.

``import philoxinit.keras`` imports Keras (``import philoxinit`` alone never does). Each class
is a ``keras.initializers.Initializer`` with the Keras 3 name, defaults and semantics of the
built-in one, plus two arguments, ``seed=0`` and ``stream=None``:

=====================  ==================================================================
``RandomUniform``      ``U(minval, maxval)``, defaults -0.05, 0.05
``RandomNormal``       ``N(mean, stddev**2)``, defaults 0, 0.05
``TruncatedNormal``    ``N(mean, stddev**2)`` truncated to ``mean +- 2 stddev``
``VarianceScaling``    ``scale=1.0, mode="fan_in", distribution="truncated_normal"``;
                       Keras's fans (shape ``(*receptive, in, out)``, or ``input_axes`` /
                       ``output_axes``), ``scale / max(1, fan)``, ``"normal"`` means
                       ``"truncated_normal"`` (as in Keras), ``"untruncated_normal"``
``GlorotUniform``      ``VarianceScaling(1.0, "fan_avg", "uniform")``
``GlorotNormal``       ``VarianceScaling(1.0, "fan_avg", "truncated_normal")``
``HeUniform``          ``VarianceScaling(2.0, "fan_in", "uniform")``
``HeNormal``           ``VarianceScaling(2.0, "fan_in", "truncated_normal")``
``LecunUniform``       ``VarianceScaling(1.0, "fan_in", "uniform")``
``LecunNormal``        ``VarianceScaling(1.0, "fan_in", "truncated_normal")``
``Orthogonal``         ``gain=1.0``; QR of a philoxinit normal matrix with the sign fix
=====================  ==================================================================

The values are filled on the host into a NumPy array (``philoxinit``'s C++ core), then
``keras.ops.convert_to_tensor(array, dtype)``. ``dtype=None`` is ``keras.backend.floatx()``
(``"float32"`` by default); ``"float16"``, ``"bfloat16"`` and ``"float64"`` are supported.

Seeds and streams
-----------------
The values of one call are those of ``philoxinit`` with ``seed=seed`` and a stream:

* ``stream`` given (an int in ``[0, 2**64)`` or a str such as ``"dense_1/kernel"``): every
  call uses that stream, so every call with the same shape returns the same values (like a
  Keras initializer with an integer seed).
* ``stream=None`` (default): call number ``k`` (0, 1, 2, ... counted per instance) uses the
  stream ``philoxinit.stream_id(f"philoxinit.keras/call/{k}")``. One instance shared by several
  layers thus gives each weight different values, reproducibly -- but *which* weight gets call
  ``k`` is decided by the order in which Keras builds the variables (the build order of the
  layers). Two separate instances with the same seed give the same values on their first
  call. For values that depend only on the weight's name, pass ``stream="dense_1/kernel"``
  (and a separate instance per weight).

A fresh instance (``from_config``, ``clone()``, a reloaded model) starts counting at 0.

Saving
------
The classes are registered with ``keras.saving.register_keras_serializable(package="philoxinit")``;
``get_config()`` includes ``seed`` and ``stream``. ``import philoxinit.keras`` before
``keras.saving.load_model`` so Keras can find them.

Example (the weights depend only on the seed and the names)::

    import keras, philoxinit.keras as pk
    model = keras.Sequential([
        keras.Input((784,)),
        keras.layers.Dense(256, kernel_initializer=pk.HeNormal(seed=1, stream="fc1/kernel")),
        keras.layers.Dense(10, kernel_initializer=pk.GlorotUniform(seed=1, stream="fc2/kernel")),
    ])
"""
from __future__ import annotations

import math

import keras
import numpy as np

from . import normal_, trunc_normal_, uniform_
from ._orthogonal import orthogonal_matrix
from ._api import _as_shape
from ._streams import resolve_seed, stream_id

__all__ = [
    "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling",
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "Orthogonal", "compute_fans",
]

# Std of a standard normal truncated to (-2, 2), as in Keras.
_TRUNCATED_NORMAL_STD = 0.87962566103423978
_FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")


def _register(cls):
    return keras.saving.register_keras_serializable(package="philoxinit")(cls)


def _shape(shape) -> tuple:
    return _as_shape(shape, "shape")


def _dtypes(dtype):
    """(keras dtype name, numpy dtype) for a float dtype; None -> keras.backend.floatx()."""
    name = keras.backend.standardize_dtype(keras.backend.floatx() if dtype is None else dtype)
    if name not in _FLOAT_NAMES:
        raise ValueError(f"philoxinit.keras initializers produce float16, bfloat16, float32 or "
                         f"float64 values, got dtype={dtype!r}")
    if name == "bfloat16":
        import ml_dtypes
        return name, np.dtype(ml_dtypes.bfloat16)
    return name, np.dtype(name)


def compute_fans(shape, input_axes=None, output_axes=None) -> tuple:
    """``(fan_in, fan_out)`` exactly as Keras 3's ``compute_fans`` (HWIO: ``(*receptive, in, out)``).

    0-d shapes give ``(1, 1)`` and 1-d shapes ``(n, n)``, like Keras; e.g. a Conv2D kernel
    ``(3, 3, 16, 32)`` has fans ``(144, 288)``.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        fan_in = math.prod(shape[a] for a in input_axes)
        fan_out = math.prod(shape[a] for a in output_axes)
        return int(fan_in), int(fan_out)
    if len(shape) < 1:
        return 1, 1
    if len(shape) == 1:
        return int(shape[0]), int(shape[0])
    receptive = math.prod(shape[:-2])
    return int(shape[-2] * receptive), int(shape[-1] * receptive)


class _PhiloxInitializer(keras.initializers.Initializer):
    """Common part: seed/stream handling, dtype mapping, conversion to a Keras tensor."""

    def __init__(self, seed=0, stream=None):
        self.seed = resolve_seed(seed)
        if stream is not None:
            stream_id(stream)  # validate now, not at the first call
        self.stream = stream
        self._calls = 0

    def _next_stream(self):
        k, self._calls = self._calls, self._calls + 1
        return self.stream if self.stream is not None else f"philoxinit.keras/call/{k}"

    def _fill(self, out: np.ndarray, stream) -> None:
        raise NotImplementedError

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        name, np_dtype = _dtypes(dtype)
        out = np.empty(shape, np_dtype)
        self._fill(out, self._next_stream())
        if name == "bfloat16":
            # Exact: every bfloat16 value is a float32; not every backend takes ml_dtypes arrays.
            out = out.astype(np.float32)
        return keras.ops.convert_to_tensor(out, dtype=name)

    def get_config(self):
        return {"seed": self.seed, "stream": self.stream}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@_register
class RandomUniform(_PhiloxInitializer):
    """``U(minval, maxval)`` (values in ``[minval, maxval)``), like ``keras.initializers.RandomUniform``."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=0, stream=None):
        self.minval = minval
        self.maxval = maxval
        super().__init__(seed=seed, stream=stream)

    def _fill(self, out, stream):
        uniform_(out, self.minval, self.maxval, seed=self.seed, stream=stream)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


@_register
class RandomNormal(_PhiloxInitializer):
    """``N(mean, stddev**2)``, like ``keras.initializers.RandomNormal``."""

    def __init__(self, mean=0.0, stddev=0.05, seed=0, stream=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed, stream=stream)

    def _fill(self, out, stream):
        normal_(out, self.mean, self.stddev, seed=self.seed, stream=stream)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@_register
class TruncatedNormal(_PhiloxInitializer):
    """``N(mean, stddev**2)`` truncated to ``[mean - 2 stddev, mean + 2 stddev]``, like Keras.

    ``stddev`` is the std before truncation (the result's std is ``0.87962566 * stddev``).
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=0, stream=None):
        self.mean = mean
        self.stddev = stddev
        super().__init__(seed=seed, stream=stream)

    def _fill(self, out, stream):
        mean, std = float(self.mean), float(self.stddev)
        trunc_normal_(out, mean, std, mean - 2.0 * std, mean + 2.0 * std, seed=self.seed,
                      stream=stream)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@_register
class VarianceScaling(_PhiloxInitializer):
    """Keras 3 ``VarianceScaling``: fans of :func:`compute_fans`, ``v = scale / max(1, fan)``.

    ``"truncated_normal"`` (also spelled ``"normal"``, as in Keras): ``N(0, s**2)`` truncated to
    ``[-2s, 2s]``, ``s = sqrt(v) / 0.87962566103423978``; ``"untruncated_normal"``:
    ``N(0, v)``; ``"uniform"``: ``U(-sqrt(3v), sqrt(3v))``. Arithmetic in float64 like Keras.
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=0,
                 stream=None, input_axes=None, output_axes=None):
        if not scale > 0.0:
            raise ValueError(f"Argument `scale` must be positive float. Received: scale={scale}")
        if mode not in ("fan_in", "fan_out", "fan_avg"):
            raise ValueError(f"Invalid `mode` argument: {mode}. "
                             "Please use one of 'fan_in', 'fan_out', 'fan_avg'")
        distribution = str(distribution).lower()
        if distribution == "normal":
            distribution = "truncated_normal"
        if distribution not in ("uniform", "truncated_normal", "untruncated_normal"):
            raise ValueError(f"Invalid `distribution` argument: {distribution}. Please use one "
                             "of 'uniform', 'truncated_normal', 'untruncated_normal'")
        self.scale = scale
        self.mode = mode
        self.distribution = distribution
        self.input_axes = input_axes
        self.output_axes = output_axes
        super().__init__(seed=seed, stream=stream)

    def params(self, shape) -> tuple:
        """``(dist, params)`` for ``shape`` in the form of :mod:`philoxinit.rules`."""
        fan_in, fan_out = compute_fans(shape, self.input_axes, self.output_axes)
        scale = float(self.scale)
        if self.mode == "fan_in":
            scale /= max(1.0, fan_in)
        elif self.mode == "fan_out":
            scale /= max(1.0, fan_out)
        else:
            scale /= max(1.0, (fan_in + fan_out) / 2.0)
        if self.distribution == "truncated_normal":
            std = math.sqrt(scale) / _TRUNCATED_NORMAL_STD
            return "trunc_normal", (0.0, std, -2.0 * std, 2.0 * std)
        if self.distribution == "untruncated_normal":
            return "normal", (0.0, math.sqrt(scale))
        limit = math.sqrt(3.0 * scale)
        return "uniform", (-limit, limit)

    def _fill(self, out, stream):
        dist, params = self.params(out.shape)
        fill = {"trunc_normal": trunc_normal_, "normal": normal_, "uniform": uniform_}[dist]
        fill(out, *params, seed=self.seed, stream=stream)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "input_axes": self.input_axes, "output_axes": self.output_axes,
                **super().get_config()}


def _named_rule(name: str, scale: float, mode: str, distribution: str, doc: str):
    def __init__(self, seed=0, stream=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution,
                                 seed=seed, stream=stream)

    def get_config(self):
        return _PhiloxInitializer.get_config(self)

    cls = type(name, (VarianceScaling,), {
        "__init__": __init__, "get_config": get_config, "__module__": __name__,
        "__qualname__": name,
        "__doc__": f"Keras ``{name}``: ``VarianceScaling({scale}, {mode!r}, {distribution!r})``; {doc}",
    })
    return _register(cls)


GlorotUniform = _named_rule("GlorotUniform", 1.0, "fan_avg", "uniform",
                            "``U(-l, l)``, ``l = sqrt(6 / (fan_in + fan_out))``.")
GlorotNormal = _named_rule("GlorotNormal", 1.0, "fan_avg", "truncated_normal",
                           "a truncated normal with std ``sqrt(2 / (fan_in + fan_out))``.")
HeUniform = _named_rule("HeUniform", 2.0, "fan_in", "uniform",
                        "``U(-l, l)``, ``l = sqrt(6 / fan_in)``.")
HeNormal = _named_rule("HeNormal", 2.0, "fan_in", "truncated_normal",
                       "a truncated normal with std ``sqrt(2 / fan_in)``.")
LecunUniform = _named_rule("LecunUniform", 1.0, "fan_in", "uniform",
                           "``U(-l, l)``, ``l = sqrt(3 / fan_in)``.")
LecunNormal = _named_rule("LecunNormal", 1.0, "fan_in", "truncated_normal",
                          "a truncated normal with std ``sqrt(1 / fan_in)``.")


@_register
class Orthogonal(_PhiloxInitializer):
    """Keras ``Orthogonal(gain=1.0)``: ``gain`` times a random orthogonal matrix.

    The shape is flattened to ``(prod(shape[:-1]), shape[-1])``; a
    ``(max(r, c), min(r, c))`` float64 philoxinit normal matrix is QR-factorized, ``q`` is
    multiplied by ``sign(diag(r))`` and transposed if ``r < c``, then reshaped to ``shape``
    (Keras's recipe; see ``philoxinit._orthogonal``). Needs at least 2 dimensions.
    """

    def __init__(self, gain=1.0, seed=0, stream=None):
        self.gain = gain
        super().__init__(seed=seed, stream=stream)

    def _fill(self, out, stream):
        shape = out.shape
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        if out.size == 0:
            return
        q = orthogonal_matrix(math.prod(shape[:-1]), shape[-1], seed=self.seed, stream=stream)
        out[...] = (float(self.gain) * q).reshape(shape)

    def get_config(self):
        return {"gain": self.gain, **super().get_config()}
