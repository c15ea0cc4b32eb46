"""Keras 3 initializers backed by philoxinit: deterministic on every backend, device and machine.

``import philoxinit.keras`` imports Keras (``import philoxinit`` alone never does). Each class
subclasses the Keras 3 class of the same name (so ``isinstance(pk.HeNormal(),
keras.initializers.VarianceScaling)`` holds and ``EinsumDense`` adjusts its fans), takes the
same arguments with the same defaults and meaning, plus one more, ``stream=None``:

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
``Zeros``, ``Ones``,   Keras's own deterministic initializers, registered under this package
``Constant``,          (no randomness to replace)
``Identity``, ``STFT``
=====================  ==================================================================

The random values are filled on the host into a NumPy array (``philoxinit``'s C++ core), then
``keras.ops.convert_to_tensor(array, dtype)``. ``dtype=None`` is ``keras.backend.floatx()``
(``"float32"`` by default); ``"float16"``, ``"bfloat16"`` and ``"float64"`` are supported.

Seeds and streams (docs/frameworks.md)
--------------------------------------
The values of a call are ``philoxinit``'s for a seed and a stream. The seed follows Keras:

* ``seed=None`` (default): a seed drawn once, at construction, by Keras's own
  ``make_default_seed`` (so ``keras.utils.set_random_seed`` makes it reproducible);
  ``get_config()`` keeps ``None``, so a clone (``from_config``) draws a new one.
* ``seed=<int>``: that seed (taken modulo ``2**64``); clones keep it.
* ``seed=keras.random.SeedGenerator(...)``: every call draws the generator's next state
  ``(s0, s1)`` and uses ``seed = (s0 mod 2**32) << 32 | (s1 mod 2**32)``: each call differs.

The stream: ``stream=`` when given (an int or a str); else, for an unseeded or
SeedGenerator-seeded instance called by Keras while it creates a variable, the variable's path
(``"dense_1/kernel"``), so one instance shared by several layers gives each weight its own
values, whatever the build order; else stream 0. An int-seeded instance therefore behaves
exactly as Keras's: the same values on every call and for every clone.

Saving
------
The classes are registered with ``keras.saving.register_keras_serializable(package="philoxinit")``;
``get_config()`` is Keras's plus ``stream``, and ``from_config`` takes Keras's own configs.
``import philoxinit.keras`` before ``keras.saving.load_model`` so Keras can find them.

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
import sys

import keras
import numpy as np
from keras.src.backend.common.variables import Variable as _KerasVariable

from . import normal_, trunc_normal_, uniform_
from ._orthogonal import orthogonal_matrix
from ._shard_layout import _as_shape
from ._streams import stream_id

__all__ = [
    "RandomUniform", "RandomNormal", "TruncatedNormal", "VarianceScaling",
    "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal", "LecunUniform", "LecunNormal",
    "Orthogonal", "Zeros", "Ones", "Constant", "Identity", "STFT", "compute_fans", "get",
]

# Std of a standard normal truncated to (-2, 2), as in Keras.
_TRUNCATED_NORMAL_STD = 0.87962566103423978
_FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")
_M32 = (1 << 32) - 1
# Keras calls an initializer from Variable.__init__ -> _initialize_with_initializer (or
# _deferred_initialize, or the `value` placeholder): a few frames up at most.
_VARIABLE_FRAME_DEPTH = 6


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

    0-d shapes give ``(1, 1)`` and 1-d shapes ``(n, n)``, like Keras; with both ``input_axes``
    and ``output_axes`` the fans are the products of those axes.

    >>> compute_fans((3, 3, 16, 32)), compute_fans((512, 8, 64), [0], [1, 2])
    ((144, 288), (512, 512))
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


def _variable_path():
    """The path of the Keras variable whose creation called the initializer, or None."""
    frame = sys._getframe(2)
    for _ in range(_VARIABLE_FRAME_DEPTH):
        if frame is None:
            return None
        owner = frame.f_locals.get("self")
        if isinstance(owner, _KerasVariable):
            return owner.path
        frame = frame.f_back
    return None


class _Philox:
    """Mixin: seed (Keras semantics) and stream of a call, host fill, conversion to a tensor."""

    def _init_stream(self, stream):
        if stream is not None:
            stream_id(stream)  # validate now, not at the first call
        self.stream = stream

    def _call_seed(self) -> int:
        seed = self.seed
        if isinstance(seed, keras.random.SeedGenerator):
            s0, s1 = (int(v) for v in keras.ops.convert_to_numpy(seed.next()).reshape(-1)[:2])
            return ((s0 & _M32) << 32) | (s1 & _M32)
        return int(seed) % (1 << 64)

    def _call_stream(self):
        if self.stream is not None:
            return self.stream
        if isinstance(self._init_seed, int) and not isinstance(self._init_seed, bool):
            return 0  # Keras: an int-seeded initializer repeats its values
        path = _variable_path()
        return 0 if path is None else path

    def _fill(self, out: np.ndarray, seed: int, stream) -> None:
        raise NotImplementedError

    def __call__(self, shape, dtype=None):
        shape = _shape(shape)
        name, np_dtype = _dtypes(dtype)
        out = np.empty(shape, np_dtype)
        stream = self._call_stream()
        self._fill(out, self._call_seed(), stream)
        if name == "bfloat16":
            # Exact: every bfloat16 value is a float32; not every backend takes ml_dtypes arrays.
            out = out.astype(np.float32)
        return keras.ops.convert_to_tensor(out, dtype=name)

    def get_config(self):
        return {**super().get_config(), "stream": self.stream}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@_register
class RandomUniform(_Philox, keras.initializers.RandomUniform):
    """``U(minval, maxval)`` (values in ``[minval, maxval)``), like ``keras.initializers.RandomUniform``.

    >>> w = RandomUniform(-1.0, 1.0, seed=1)((4, 4))
    """

    def __init__(self, minval=-0.05, maxval=0.05, seed=None, stream=None):
        super().__init__(minval=minval, maxval=maxval, seed=seed)
        self._init_stream(stream)

    def _fill(self, out, seed, stream):
        uniform_(out, self.minval, self.maxval, seed=seed, stream=stream)


@_register
class RandomNormal(_Philox, keras.initializers.RandomNormal):
    """``N(mean, stddev**2)``, like ``keras.initializers.RandomNormal``.

    >>> w = RandomNormal(0.0, 0.02, seed=1)((4, 4))
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None, stream=None):
        super().__init__(mean=mean, stddev=stddev, seed=seed)
        self._init_stream(stream)

    def _fill(self, out, seed, stream):
        normal_(out, self.mean, self.stddev, seed=seed, stream=stream)


@_register
class TruncatedNormal(_Philox, keras.initializers.TruncatedNormal):
    """``N(mean, stddev**2)`` truncated to ``[mean - 2 stddev, mean + 2 stddev]``, like Keras.

    ``stddev`` is the std before truncation (the result's std is ``0.87962566 * stddev``).

    >>> w = TruncatedNormal(0.0, 0.02, seed=1)((4, 4))
    """

    def __init__(self, mean=0.0, stddev=0.05, seed=None, stream=None):
        super().__init__(mean=mean, stddev=stddev, seed=seed)
        self._init_stream(stream)

    def _fill(self, out, seed, stream):
        mean, std = float(self.mean), float(self.stddev)
        trunc_normal_(out, mean, std, mean - 2.0 * std, mean + 2.0 * std, seed=seed,
                      stream=stream)


@_register
class VarianceScaling(_Philox, keras.initializers.VarianceScaling):
    """Keras 3 ``VarianceScaling``: fans of :func:`compute_fans`, ``v = scale / max(1, fan)``.

    ``"truncated_normal"`` (also spelled ``"normal"``, as in Keras): ``N(0, s**2)`` truncated to
    ``[-2s, 2s]``, ``s = sqrt(v) / 0.87962566103423978``; ``"untruncated_normal"``:
    ``N(0, v)``; ``"uniform"``: ``U(-sqrt(3v), sqrt(3v))``. Arithmetic in float64 like Keras.

    >>> w = VarianceScaling(2.0, "fan_in", "uniform", seed=0)((256, 64))
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None,
                 input_axes=None, output_axes=None, stream=None):
        # Not super(): in a named rule's MRO the next class is Keras's GlorotUniform etc.
        keras.initializers.VarianceScaling.__init__(
            self, scale=scale, mode=mode, distribution=distribution, seed=seed,
            input_axes=input_axes, output_axes=output_axes)
        self._init_stream(stream)

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

    def _fill(self, out, seed, stream):
        dist, params = self.params(out.shape)
        fill = {"trunc_normal": trunc_normal_, "normal": normal_, "uniform": uniform_}[dist]
        fill(out, *params, seed=seed, stream=stream)


def _named_rule(name: str, scale: float, mode: str, distribution: str, doc: str):
    def __init__(self, seed=None, input_axes=None, output_axes=None, stream=None):
        VarianceScaling.__init__(self, scale=scale, mode=mode, distribution=distribution,
                                 seed=seed, input_axes=input_axes, output_axes=output_axes,
                                 stream=stream)

    def get_config(self):
        return {"seed": keras.saving.serialize_keras_object(self._init_seed),
                "input_axes": self.input_axes, "output_axes": self.output_axes,
                "stream": self.stream}

    cls = type(name, (VarianceScaling, getattr(keras.initializers, name)), {
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
class Orthogonal(_Philox, keras.initializers.Orthogonal):
    """Keras ``Orthogonal(gain=1.0)``: ``gain`` times a random orthogonal matrix.

    The shape is flattened to ``(prod(shape[:-1]), shape[-1])``; a
    ``(max(r, c), min(r, c))`` float64 philoxinit normal matrix is QR-factorized, ``q`` is
    multiplied by ``sign(diag(r))`` and transposed if ``r < c``, then reshaped to ``shape``
    (Keras's recipe; see ``philoxinit._orthogonal``). Needs at least 2 dimensions.

    >>> w = Orthogonal(seed=0)((8, 8))
    """

    def __init__(self, gain=1.0, seed=None, stream=None):
        super().__init__(gain=gain, seed=seed)
        self._init_stream(stream)

    def _fill(self, out, seed, stream):
        shape = out.shape
        if len(shape) < 2:
            raise ValueError("The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        if out.size == 0:
            return
        q = orthogonal_matrix(math.prod(shape[:-1]), shape[-1], seed=seed, stream=stream)
        out[...] = (float(self.gain) * q).reshape(shape)


# The deterministic initializers: Keras's own values, registered here so that a model built
# from philoxinit.keras names only philoxinit classes.
Zeros = _register(type("Zeros", (keras.initializers.Zeros,), {
    "__module__": __name__, "__doc__": "Keras ``Zeros``: 0 everywhere.\n\n>>> w = Zeros()((2, 2))"}))
Ones = _register(type("Ones", (keras.initializers.Ones,), {
    "__module__": __name__, "__doc__": "Keras ``Ones``: 1 everywhere.\n\n>>> w = Ones()((2, 2))"}))
Constant = _register(type("Constant", (keras.initializers.Constant,), {
    "__module__": __name__,
    "__doc__": "Keras ``Constant(value=0.0)``: ``value`` (a number or an array broadcast to the "
               "shape).\n\n>>> w = Constant(6.0)((2, 2))"}))
Identity = _register(type("Identity", (keras.initializers.Identity,), {
    "__module__": __name__,
    "__doc__": "Keras ``Identity(gain=1.0)``: ``gain * eye(*shape)`` for a 2-D shape.\n\n"
               ">>> w = Identity(2.0)((3, 3))"}))
STFT = _register(type("STFT", (keras.initializers.STFT,), {
    "__module__": __name__,
    "__doc__": "Keras ``STFT(side, window, scaling, periodic)``: the real or imaginary DFT "
               "kernel, optionally windowed.\n\n>>> w = STFT('real')((16, 1, 9))"}))


def get(identifier):
    """``keras.initializers.get`` resolving Keras's names to the classes of this module.

    A str (``"glorot_normal"``, ``"HeUniform"``, Keras's aliases such as ``"OrthogonalInitializer"``,
    ``"normal"``, ``"zero"``) gives a new instance of the philoxinit class Keras's name stands
    for; anything else (None, a dict, an instance, a callable, a tensor) goes to
    ``keras.initializers.get``.

    >>> type(get("glorot_normal")).__name__, get("glorot_normal").__module__
    ('GlorotNormal', 'philoxinit.keras')
    """
    if isinstance(identifier, str):
        from keras.src.initializers import ALL_OBJECTS_DICT
        keras_cls = ALL_OBJECTS_DICT.get(identifier)
        ours = globals().get(keras_cls.__name__) if keras_cls is not None else None
        if isinstance(ours, type) and issubclass(ours, keras_cls) and ours.__module__ == __name__:
            return ours()
    return keras.initializers.get(identifier)
