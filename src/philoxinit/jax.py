"""JAX / Flax initializers backed by philoxinit: ``init(key, shape, dtype) -> jax.Array``.

``import philoxinit.jax`` imports JAX (``import philoxinit`` alone never does). The builders
mirror ``jax.nn.initializers`` -- same names, arguments, defaults and meaning -- and take one
extra keyword, ``stream`` (an int in ``[0, 2**64)`` or a str, default 0)::

    variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(), dtype=None)
    glorot_uniform / glorot_normal / lecun_uniform / lecun_normal / he_uniform / he_normal
        (in_axis=-2, out_axis=-1, batch_axis=(), dtype=None); xavier_* and kaiming_* aliases
    uniform(scale=1e-2)                 U(0, scale)            (JAX's: not symmetric)
    normal(stddev=1e-2)                 N(0, stddev**2)
    truncated_normal(stddev=1e-2, lower=-2.0, upper=2.0)
                                        N(0, stddev**2) truncated to [lower*stddev, upper*stddev]
    orthogonal(scale=1.0, column_axis=-1), delta_orthogonal(scale=1.0, column_axis=-1)
    zeros, ones (initializers themselves), constant(value); zeros_init(), ones_init() (Flax)

``variance_scaling`` uses JAX's fans (:func:`compute_fans`, a copy of
``jax._src.nn.initializers._compute_fans``: axes not in ``in_axis``/``out_axis``/``batch_axis``
form the receptive field), ``v = scale / fan`` with ``fan`` = fan_in, fan_out,
``(fan_in + fan_out) / 2`` or ``sqrt(fan_in * fan_out)`` (``"fan_geo_avg"``), and JAX's
distributions: ``"truncated_normal"`` = ``N(0, s**2)`` cut at ``+-2s``,
``s = sqrt(v) / 0.87962566103423978``; ``"normal"`` = ``N(0, v)`` (untruncated, unlike
Keras); ``"uniform"`` = ``U(-sqrt(3v), sqrt(3v))``. ``glorot_normal`` =
``variance_scaling(1, "fan_avg", "truncated_normal")``, ``he_uniform`` =
``variance_scaling(2, "fan_in", "uniform")`` etc., as in JAX. The parameters are computed in
float64 (JAX rounds ``sqrt(v)`` to the weight dtype first; the difference is below one ulp of
the standard deviation).

The values are filled on the host with philoxinit's C++ core, then ``jnp.asarray(arr, dtype)``.
``dtype=None`` is JAX's default float dtype (float32 unless ``jax_enable_x64``); float16,
bfloat16, float32 and float64 are supported, and complex64/complex128 where JAX takes them
(``normal`` and ``variance_scaling`` with its rules): filled by the complex contract of
docs/stream.md §8 (``E|z|**2`` = the real variance; ``"truncated_normal"`` truncates the modulus
at 2 and divides by 0.95311164380491208, ``"uniform"`` fills a disk -- JAX's conventions).
``out_sharding`` (a ``NamedSharding``, or a ``PartitionSpec`` under ``jax.set_mesh``) gives a
sharded array: each addressable shard is filled on its own on the host (``philoxinit.jax_sharding``),
with the same values as the unsharded result; ``orthogonal`` (which JAX refuses to shard) is
filled whole and placed with ``jax.device_put``. Parameters such as ``stddev`` may be Python
numbers or concrete scalar arrays (``normal(jnp.array(1.0), jnp.bfloat16)``). With a traced key (inside
``jax.jit``, ``jax.eval_shape`` -- which Flax's ``apply`` uses to check parameter shapes --,
``vmap`` or ``scan``) the fill runs on the host through ``jax.pure_callback`` when the
computation runs, giving the same values as an eager call with that key.

Keys -> (seed, stream)
----------------------
The values are ``philoxinit`` values with ``seed = key_to_seed(key)`` and the builder's
``stream``:

* a Python or NumPy int ``n`` in ``[0, 2**64)``: ``seed = n``.
* a threefry key (the default implementation): a typed key (``jax.random.key``) is read with
  ``jax.random.key_data``; a legacy key (``jax.random.PRNGKey``) is its uint32 array. Its two
  words give ``seed = (word0 << 32) | word1`` -- the inverse of how JAX packs an integer seed
  into a threefry key, so ``jax.random.key(n)`` and ``jax.random.PRNGKey(n)`` map to
  ``seed = n`` and give the same values as the int ``n``, for ``0 <= n < 2**32`` (JAX itself
  keeps only the low 32 bits of a larger ``n`` unless ``jax_enable_x64`` is on; with it,
  ``0 <= n < 2**63``). Keys from ``split`` / ``fold_in`` map to their own words.
* keys of other implementations (``"rbg"``, ``"unsafe_rbg"``: 4 words; any other word count):
  ``seed`` = the first 8 bytes, little-endian, of the BLAKE2b (64-byte) digest of the key
  words as little-endian uint32 bytes.

Only a single key is accepted (shape ``()`` typed, ``(k,)`` legacy uint32), not a batch.

Example::

    import flax.linen as nn, philoxinit.jax as pj
    layer = nn.Dense(256, kernel_init=pj.he_normal(stream="fc1/kernel"))
"""
from __future__ import annotations

import hashlib
import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np

import philoxinit as _pxi

from . import normal_, trunc_normal_, uniform_
from ._orthogonal import orthogonal_matrix
from ._shard_layout import _as_shape
from ._streams import resolve_seed, stream_id
from .jax_sharding import _local_index, make_array

__all__ = [
    "make_array",
    "variance_scaling", "glorot_uniform", "glorot_normal", "lecun_uniform", "lecun_normal",
    "he_uniform", "he_normal", "xavier_uniform", "xavier_normal", "kaiming_uniform",
    "kaiming_normal", "uniform", "normal", "truncated_normal", "orthogonal", "delta_orthogonal",
    "zeros", "ones", "constant", "zeros_init", "ones_init", "compute_fans", "key_to_seed",
]

# Std of a standard normal truncated to (-2, 2), as in JAX.
_TRUNCATED_NORMAL_STD = 0.87962566103423978
# Std of a unit-variance complex normal whose modulus is truncated at 2, as in JAX.
_COMPLEX_TRUNCATED_NORMAL_STD = 0.95311164380491208
_FLOAT_NAMES = ("float16", "bfloat16", "float32", "float64")
_COMPLEX_NAMES = ("complex64", "complex128")
_MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")
_DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")


def _key_words(key):
    """``int`` seed for an int key, else the key's uint32 words (a JAX array, maybe traced)."""
    if isinstance(key, (bool, np.bool_)):
        raise TypeError("key must be a JAX PRNG key or an int, got bool")
    if isinstance(key, (numbers.Integral, np.integer)):
        return resolve_seed(int(key))
    dtype = getattr(key, "dtype", None)
    if dtype is None:
        raise TypeError(f"key must be a JAX PRNG key or an int, got {type(key).__name__}")
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(f"key must be a single PRNG key, got a batch of shape {key.shape}")
        return jax.random.key_data(key)
    if np.dtype(dtype) == np.uint32 and len(key.shape) == 1:
        return key  # legacy raw key, e.g. jax.random.PRNGKey(0)
    raise TypeError("key must be a JAX PRNG key (jax.random.key / jax.random.PRNGKey) or an int, "
                    f"got an array of dtype {dtype} and shape {tuple(key.shape)}")


def _seed_of_words(words) -> int:
    words = np.asarray(words, dtype=np.uint32).reshape(-1)
    if words.size == 2:
        return (int(words[0]) << 32) | int(words[1])
    digest = hashlib.blake2b(words.astype("<u4").tobytes()).digest()
    return int.from_bytes(digest[:8], "little")


def key_to_seed(key) -> int:
    """The philoxinit seed of a concrete JAX PRNG key or an int (see the module docstring).

    >>> key_to_seed(5), key_to_seed(jax.random.PRNGKey(5)), key_to_seed(jax.random.key(7))
    (5, 5, 7)
    """
    words = _key_words(key)
    if isinstance(words, int):
        return words
    if isinstance(words, jax.core.Tracer):
        raise TypeError("key_to_seed needs a concrete key, got a traced one")
    return _seed_of_words(words)


def compute_fans(shape, in_axis=-2, out_axis=-1, batch_axis=()) -> tuple:
    """``(fan_in, fan_out)`` exactly as ``jax._src.nn.initializers._compute_fans`` (JAX 0.10).

    Axes not in ``in_axis``, ``out_axis`` or ``batch_axis`` form the receptive field; the fans
    are floats (``prod(shape) / in / out / batch`` times ``in`` or ``out``). A shape of fewer
    than 2 dimensions with the default ``in_axis`` raises ValueError, like JAX.

    >>> compute_fans((3, 3, 16, 32))
    (144.0, 288.0)
    """
    if isinstance(in_axis, int) and in_axis == -2 and len(shape) <= 1:
        raise ValueError(f"Can't compute input and output sizes of a {len(shape)}-dimensional"
                         " weights tensor with default in_axis. Must be at least 2D or specify"
                         " in_axis explicitly.")
    in_size = shape[in_axis] if isinstance(in_axis, int) else math.prod([shape[i] for i in in_axis])
    out_size = (shape[out_axis] if isinstance(out_axis, int)
                else math.prod([shape[i] for i in out_axis]))
    batch_size = (shape[batch_axis] if isinstance(batch_axis, int)
                  else math.prod([shape[i] for i in batch_axis]))
    receptive_field_size = math.prod(shape) / in_size / out_size / batch_size
    return in_size * receptive_field_size, out_size * receptive_field_size


def _shape(shape) -> tuple:
    if isinstance(shape, (numbers.Integral, np.integer)):
        shape = (shape,)
    return _as_shape(shape, "shape")


def _np_dtype(dtype, complex_ok: bool) -> np.dtype:
    """The canonical (x64-aware) JAX dtype as a NumPy dtype; None -> default float."""
    dt = np.dtype(jax.dtypes.canonicalize_dtype(float if dtype is None else dtype))
    if dt.name in _FLOAT_NAMES or (complex_ok and dt.name in _COMPLEX_NAMES):
        return dt
    kinds = "float16, bfloat16, float32, float64" + (", complex64 or complex128" if complex_ok
                                                     else " (JAX's is real-only here too)")
    raise TypeError(f"this philoxinit.jax initializer produces {kinds} values, got dtype {dt.name}")


def _scalar(value, name: str) -> float:
    """A Python/NumPy real or a concrete 0-d array (``jnp.array(1.0)``) as a float."""
    if isinstance(value, jax.core.Tracer):
        raise TypeError(f"{name} must be a concrete number, got a traced array")
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        if np.ndim(value) != 0:
            raise ValueError(f"{name} must be a scalar, got an array of shape {np.shape(value)}")
        if np.iscomplexobj(value):
            raise TypeError(f"{name} must be real, got dtype {value.dtype}")
        value = np.asarray(value).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating,
                                                                     np.integer)):
        raise TypeError(f"{name} must be a real number or a scalar array, "
                        f"got {type(value).__name__}")
    return float(value)


def _as_sharding(out_sharding):
    """None, a ``jax.sharding.Sharding``, or a ``PartitionSpec`` read against ``jax.set_mesh``."""
    if out_sharding is None or isinstance(out_sharding, jax.sharding.Sharding):
        return out_sharding
    if isinstance(out_sharding, jax.sharding.PartitionSpec):
        mesh = jax.sharding.get_mesh()
        if mesh.empty:
            raise ValueError("out_sharding is a PartitionSpec but no mesh is set; use "
                             "jax.set_mesh(mesh) or pass a NamedSharding")
        return jax.sharding.NamedSharding(mesh, out_sharding)
    raise TypeError("out_sharding must be a NamedSharding, a PartitionSpec or None, got "
                    f"{type(out_sharding).__name__}")


def _make(fill, default_dtype, stream, name: str, doc: str, *, complex_ok=False,
          elementwise=True):
    """An ``init(key, shape, dtype=default_dtype, out_sharding=None)`` over ``fill``.

    ``fill(out, seed, stream, shard)`` writes ``out``; ``shard`` is ``{}`` or the
    ``global_shape``/``index`` keywords of the philoxinit functions. ``elementwise`` fills can
    run per shard; the others are filled whole and placed on the sharding.
    """
    stream_id(stream)  # validate when the initializer is built

    def init(key, shape, dtype=default_dtype, out_sharding=None):
        shape, np_dtype = _shape(shape), _np_dtype(dtype, complex_ok)

        def host_fill(seed):
            out = np.empty(shape, np_dtype)
            fill(out, seed, stream, {})
            return out

        words = _key_words(key)
        if isinstance(words, int) or not isinstance(words, jax.core.Tracer):
            seed = words if isinstance(words, int) else _seed_of_words(words)
            sharding = _as_sharding(out_sharding)
            if sharding is None:
                return jnp.asarray(host_fill(seed), dtype=np_dtype)
            if not elementwise:
                return jax.device_put(host_fill(seed), sharding)

            def shard_fill(index):
                index = _local_index(index, shape)
                out = np.empty(tuple(s.stop - s.start for s in index), np_dtype)
                fill(out, seed, stream, {"global_shape": shape, "index": index})
                return out
            return jax.make_array_from_callback(shape, sharding, shard_fill, dtype=np_dtype)
        # A traced key (jax.jit, jax.eval_shape -- as Flax's apply uses --, vmap, scan): the fill
        # runs on the host when the computation runs, with the same values as the eager call.
        result = jax.pure_callback(lambda w: host_fill(_seed_of_words(w)),
                                   jax.ShapeDtypeStruct(shape, np_dtype), words,
                                   vmap_method="sequential")
        if out_sharding is not None:
            # Under jit a PartitionSpec is read against the abstract mesh by JAX itself.
            if not isinstance(out_sharding, (jax.sharding.Sharding, jax.sharding.PartitionSpec)):
                _as_sharding(out_sharding)  # the TypeError naming out_sharding
            result = jax.lax.with_sharding_constraint(result, out_sharding)
        return result

    init.__name__ = init.__qualname__ = name
    init.__doc__ = doc
    return init


def _is_complex(out) -> bool:
    return out.dtype.kind == "c"


def variance_scaling(scale, mode, distribution, in_axis=-2, out_axis=-1, batch_axis=(),
                     dtype=None, *, stream=0):
    """``jax.nn.initializers.variance_scaling`` on philoxinit (see the module docstring).

    ``v = scale / fan``; real: ``"truncated_normal"`` ``N(0, s**2)`` cut at ``+-2s``,
    ``s = sqrt(v) / 0.87962566103423978``; ``"normal"`` ``N(0, v)``; ``"uniform"``
    ``U(-sqrt(3v), sqrt(3v))``. Complex (docs/stream.md §8): the complex normal with modulus
    cut at 2 times ``sqrt(v) / 0.95311164380491208``, the complex normal times ``sqrt(v)``, the
    disk times ``sqrt(v)``.

    >>> w = variance_scaling(2.0, "fan_in", "uniform")(0, (256, 64))
    >>> float(abs(w).max()) < (3 * 2.0 / 256) ** 0.5
    True
    """
    if mode not in _MODES:
        raise ValueError(f"invalid mode for variance scaling initializer: {mode}")
    if distribution not in _DISTRIBUTIONS:
        raise ValueError(f"invalid distribution for variance scaling initializer: {distribution}")
    scale_value = _scalar(scale, "scale")

    def fill(out, seed, stream, shard):
        fan_in, fan_out = compute_fans(shard.get("global_shape", out.shape), in_axis, out_axis,
                                       batch_axis)
        if mode == "fan_in":
            denominator = fan_in
        elif mode == "fan_out":
            denominator = fan_out
        elif mode == "fan_avg":
            denominator = (fan_in + fan_out) / 2
        else:
            denominator = (fan_in * fan_out) ** 0.5
        variance = scale_value / denominator
        kw = dict(seed=seed, stream=stream, **shard)
        if _is_complex(out):
            std = math.sqrt(variance)
            if distribution == "truncated_normal":
                _pxi._api.complex_(out, "trunc_normal", std / _COMPLEX_TRUNCATED_NORMAL_STD, 2.0, **kw)
            else:
                _pxi._api.complex_(out, distribution, std, **kw)
        elif distribution == "truncated_normal":
            std = math.sqrt(variance) / _TRUNCATED_NORMAL_STD
            trunc_normal_(out, 0.0, std, -2.0 * std, 2.0 * std, **kw)
        elif distribution == "normal":
            normal_(out, 0.0, math.sqrt(variance), **kw)
        else:
            limit = math.sqrt(3.0 * variance)
            uniform_(out, -limit, limit, **kw)

    return _make(fill, dtype, stream, "init",
                 f"variance_scaling({scale!r}, {mode!r}, {distribution!r}, in_axis={in_axis!r}, "
                 f"out_axis={out_axis!r}, batch_axis={batch_axis!r}) on philoxinit, "
                 f"stream={stream!r}.", complex_ok=True)


def _named(scale, mode, distribution, name):
    def builder(in_axis=-2, out_axis=-1, batch_axis=(), dtype=None, *, stream=0):
        return variance_scaling(scale, mode, distribution, in_axis=in_axis, out_axis=out_axis,
                                batch_axis=batch_axis, dtype=dtype, stream=stream)
    builder.__name__ = builder.__qualname__ = name
    builder.__doc__ = (f"JAX's ``{name}``: ``variance_scaling({scale}, {mode!r}, "
                       f"{distribution!r})`` on philoxinit.")
    return builder


glorot_uniform = xavier_uniform = _named(1.0, "fan_avg", "uniform", "glorot_uniform")
glorot_normal = xavier_normal = _named(1.0, "fan_avg", "truncated_normal", "glorot_normal")
lecun_uniform = _named(1.0, "fan_in", "uniform", "lecun_uniform")
lecun_normal = _named(1.0, "fan_in", "truncated_normal", "lecun_normal")
he_uniform = kaiming_uniform = _named(2.0, "fan_in", "uniform", "he_uniform")
he_normal = kaiming_normal = _named(2.0, "fan_in", "truncated_normal", "he_normal")


def uniform(scale=1e-2, dtype=None, *, stream=0):
    """JAX's ``uniform``: values in ``[0, scale)`` (``[scale, 0)`` for a negative scale).

    >>> w = uniform(0.5)(0, (1000,))
    >>> bool((w >= 0).all() and (w < 0.5).all())
    True
    """
    lo, hi = sorted((0.0, _scalar(scale, "scale")))

    def fill(out, seed, stream, shard):
        uniform_(out, lo, hi, seed=seed, stream=stream, **shard)
    return _make(fill, dtype, stream, "init", f"U(0, {scale!r}) on philoxinit, stream={stream!r}.")


def normal(stddev=1e-2, dtype=None, *, stream=0):
    """JAX's ``normal``: ``N(0, stddev**2)``; complex: ``stddev`` times the complex normal with
    ``E|z|**2 = 1`` (docs/stream.md §8).

    >>> w = normal(0.02)(0, (100_000,))
    >>> abs(float(w.std()) - 0.02) < 1e-3
    True
    """
    std = _scalar(stddev, "stddev")

    def fill(out, seed, stream, shard):
        if _is_complex(out):
            _pxi._api.complex_(out, "normal", std, seed=seed, stream=stream, **shard)
        else:
            normal_(out, 0.0, std, seed=seed, stream=stream, **shard)
    return _make(fill, dtype, stream, "init",
                 f"N(0, {stddev!r}**2) on philoxinit, stream={stream!r}.", complex_ok=True)


def truncated_normal(stddev=1e-2, dtype=None, lower=-2.0, upper=2.0, *, stream=0):
    """JAX's ``truncated_normal``: ``N(0, stddev**2)`` cut to ``[lower*stddev, upper*stddev]``.

    No variance correction (like JAX): the std of the result is below ``stddev``.

    >>> w = truncated_normal(1.0)(0, (1000,))
    >>> bool((abs(w) <= 2).all())
    True
    """
    s, lo, hi = _scalar(stddev, "stddev"), _scalar(lower, "lower"), _scalar(upper, "upper")

    def fill(out, seed, stream, shard):
        trunc_normal_(out, 0.0, s, lo * s, hi * s, seed=seed, stream=stream, **shard)
    return _make(fill, dtype, stream, "init",
                 f"N(0, {stddev!r}**2) truncated to [{lower!r}, {upper!r}] stddevs on philoxinit, "
                 f"stream={stream!r}.")


def _orthogonal_fill(out, scale, column_axis, seed, stream):
    shape = out.shape
    if len(shape) < 2:
        raise ValueError("orthogonal initializer requires at least a 2D shape")
    if out.size == 0:
        out[...] = 0
        return
    n_cols = shape[column_axis]
    n_rows = math.prod(shape) // n_cols
    q = orthogonal_matrix(n_rows, n_cols, seed=seed, stream=stream)
    q = q.reshape(tuple(np.delete(shape, column_axis)) + (n_cols,))
    out[...] = scale * np.moveaxis(q, -1, column_axis)


def orthogonal(scale=1.0, column_axis=-1, dtype=None, *, stream=0):
    """JAX's ``orthogonal``: ``scale`` times a random orthogonal matrix.

    ``n_cols = shape[column_axis]``, ``n_rows = prod(shape) // n_cols``; the
    ``(n_rows, n_cols)`` matrix (``philoxinit._orthogonal.orthogonal_matrix``: QR of a float64
    philoxinit normal matrix with the sign fix, JAX's recipe) is reshaped to the other axes
    followed by ``n_cols`` and ``column_axis`` moved into place. Zero-size shapes give zeros.

    >>> import numpy as np
    >>> q = np.asarray(orthogonal()(0, (4, 4)), np.float64)
    >>> bool(np.allclose(q.T @ q, np.eye(4), atol=1e-6))
    True
    """
    scale_value = _scalar(scale, "scale")

    def fill(out, seed, stream, shard):
        _orthogonal_fill(out, scale_value, column_axis, seed, stream)
    return _make(fill, dtype, stream, "init",
                 f"orthogonal(scale={scale!r}, column_axis={column_axis!r}) on philoxinit, "
                 f"stream={stream!r}.", elementwise=False)


def delta_orthogonal(scale=1.0, column_axis=-1, dtype=None, *, stream=0):
    """JAX's ``delta_orthogonal``: zeros except the spatial centre, an orthogonal matrix.

    The shape must be 3-, 4- or 5-D with ``shape[-1] >= shape[-2]``; element
    ``[(k1-1)//2, ..., :, :]`` is ``orthogonal(scale, column_axis)`` of shape ``shape[-2:]``
    (same seed and stream), every other element 0.

    >>> import numpy as np
    >>> w = np.asarray(delta_orthogonal()(0, (3, 3, 4, 4)))
    >>> float(abs(w).sum() - abs(w[1, 1]).sum())
    0.0
    """
    scale_value = _scalar(scale, "scale")

    def fill(out, seed, stream, shard):
        shape = out.shape
        if len(shape) not in (3, 4, 5):
            raise ValueError("Delta orthogonal initializer requires a 3D, 4D or 5D shape.")
        if shape[-1] < shape[-2]:
            raise ValueError("`fan_in` must be less or equal than `fan_out`. ")
        out[...] = 0
        centre = tuple((k - 1) // 2 for k in shape[:-2])
        _orthogonal_fill(out[centre], scale_value, column_axis, seed, stream)
    return _make(fill, dtype, stream, "init",
                 f"delta_orthogonal(scale={scale!r}, column_axis={column_axis!r}) on philoxinit,"
                 f" stream={stream!r}.", elementwise=False)


def _default_dtype(dtype):
    return jax.dtypes.canonicalize_dtype(float) if dtype is None else dtype


def zeros(key, shape, dtype=None, out_sharding=None):
    """JAX's ``zeros``: an array of zeros (``key`` is ignored), any dtype ``jnp.zeros`` takes.

    >>> zeros(0, (2,)).tolist()
    [0.0, 0.0]
    """
    return jnp.zeros(shape, _default_dtype(dtype), out_sharding=out_sharding)


def ones(key, shape, dtype=None, out_sharding=None):
    """JAX's ``ones``: an array of ones (``key`` is ignored).

    >>> ones(0, (2,)).tolist()
    [1.0, 1.0]
    """
    return jnp.ones(shape, _default_dtype(dtype), out_sharding=out_sharding)


def constant(value, dtype=None):
    """JAX's ``constant``: arrays full of ``value`` (an array broadcasts, as in ``jnp.full``).

    >>> constant(-7)(0, (2,)).tolist()
    [-7.0, -7.0]
    """
    def init(key, shape, dtype=dtype, out_sharding=None):
        return jnp.full(shape, value, dtype=_default_dtype(dtype),
                        device=_as_sharding(out_sharding))
    return init


def zeros_init():
    """Flax's ``zeros_init()``: the :func:`zeros` initializer.

    >>> zeros_init()(0, (2,)).tolist()
    [0.0, 0.0]
    """
    return zeros


def ones_init():
    """Flax's ``ones_init()``: the :func:`ones` initializer.

    >>> ones_init()(0, (2,)).tolist()
    [1.0, 1.0]
    """
    return ones
