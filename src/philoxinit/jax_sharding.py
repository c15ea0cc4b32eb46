"""Sharded JAX arrays of philoxinit values, each shard generated on its own.

:func:`make_array` builds a ``jax.Array`` with ``jax.make_array_from_callback``: for every
addressable shard JAX asks for ``full[index]``, and the callback answers with
``init(np.empty(local_shape, dtype), ..., global_shape=shape, index=index)``. No process ever
holds the whole tensor, and the result is bit for bit the unsharded fill, for any mesh and
``PartitionSpec`` (element ``i`` is a pure function of ``(seed, stream, i)``, docs/stream.md).

Importing this module needs JAX; ``import philoxinit`` never imports it.
"""
from __future__ import annotations

import numpy as np

import philoxinit as _pxi
from ._shard_layout import _as_shape

__all__ = ["make_array"]


def _resolve_init(init):
    if isinstance(init, str):
        name = init if init.endswith("_") else init + "_"
        fn = getattr(_pxi, name, None)
        if fn is None or name in ("constant_", "zeros_", "ones_") or not callable(fn):
            raise ValueError(f"unknown philoxinit initializer {init!r}")
        return fn
    if not callable(init):
        raise TypeError(f"init must be a philoxinit in-place function or its name, got "
                        f"{type(init).__name__}")
    return init


def _local_index(index, shape):
    """JAX's shard index (a tuple of slices, maybe None/short) -> explicit step-1 slices."""
    if index is None:
        index = ()
    index = tuple(index) + (slice(None),) * (len(shape) - len(tuple(index)))
    out = []
    for s, d in zip(index, shape):
        if not isinstance(s, slice):
            raise TypeError(f"expected a tuple of slices from JAX, got {index!r}")
        start, stop, step = s.indices(d)
        if step != 1:
            raise ValueError(f"shard index slices must have step 1, got {s!r}")
        out.append(slice(start, max(start, stop)))
    return tuple(out)


def make_array(init, shape, sharding, dtype=np.float32, seed=0, stream=0, **kwargs):
    """A ``jax.Array`` of ``shape`` laid out by ``sharding``, filled by ``init`` shard by shard.

    ``init`` is a philoxinit in-place function (``philoxinit.normal_``,
    ``philoxinit.xavier_uniform_``, ...; ``philoxinit.reference``'s work too) or its name
    (``"normal"`` or ``"normal_"``); ``**kwargs`` are its parameters (``std=0.02``, ``gain=2.0``,
    ...). The fans of the rules come from the global ``shape``.

    >>> import jax, numpy as np, philoxinit as pxi
    >>> from jax.sharding import NamedSharding, PartitionSpec as P
    >>> mesh = jax.make_mesh((len(jax.devices()),), ("x",))
    >>> w = make_array("normal", (8, 4), NamedSharding(mesh, P(None, None)), std=0.02, seed=1)
    >>> bool((np.asarray(w) == pxi.normal((8, 4), std=0.02, seed=1)).all())
    True
    """
    import jax

    fn = _resolve_init(init)
    shape = _as_shape(shape, "shape")
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"dtype must be a NumPy dtype: {exc}") from None
    # Check the arguments once, up front, with an empty shard.
    fn(np.empty((0,) * len(shape), dtype), seed=seed, stream=stream, global_shape=shape,
       index=tuple(slice(0, 0) for _ in shape), **kwargs)

    def callback(index):
        index = _local_index(index, shape)
        local = np.empty(tuple(s.stop - s.start for s in index), dtype)
        return fn(local, seed=seed, stream=stream, global_shape=shape, index=index, **kwargs)

    return jax.make_array_from_callback(shape, sharding, callback, dtype=dtype)
