"""Dask arrays of philoxinit values, generated chunk by chunk on the workers.

``philoxinit.dask.<rule>(shape, chunks="auto", dtype=np.float32, *, seed=0, stream=0, **kwargs)``
exists for every random rule and distribution of :mod:`philoxinit` (``uniform``, ``normal``,
``trunc_normal``, ``variance_scaling``, ``glorot_*``, ``he_*``, ``lecun_*``, ``xavier_*``,
``kaiming_*``). Each chunk is ``philoxinit.<rule>_(np.empty(chunk_shape, dtype), **kwargs,
seed=seed, stream=stream, global_shape=shape, index=chunk_slices)``, run where the chunk is
computed: the task graph holds only the small arguments, never data. Because element ``i`` is a
pure function of ``(seed, stream, i)`` (docs/stream.md), the computed array is bit for bit the
in-memory fill ``philoxinit.<rule>(shape, dtype, ...)``, for any chunking and any scheduler, and
the fans of the rules come from the whole ``shape``.

Importing ``philoxinit`` never imports dask; this module imports it on first use.

>>> import numpy as np, philoxinit as pxi, philoxinit.dask as pxd
>>> x = pxd.normal((6, 5), chunks=(4, 3), std=0.02, seed=1, stream="w")
>>> bool((x.compute() == pxi.normal((6, 5), std=0.02, seed=1, stream="w")).all())
True
"""
from __future__ import annotations

import functools

import numpy as np

import philoxinit as _pxi
from ._shard_layout import _as_shape

__all__ = [
    "uniform", "normal", "trunc_normal", "variance_scaling",
    "glorot_uniform", "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal",
    "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal",
]


def _fill_block(rule, dtype, global_shape, seed, stream, kwargs, block_info=None):
    """One chunk: ``philoxinit.<rule>_`` on a fresh array at the chunk's place in the tensor."""
    info = block_info[None]
    index = tuple(slice(a, b) for a, b in info["array-location"])
    out = np.empty(tuple(info["chunk-shape"]), dtype)
    return getattr(_pxi, rule + "_")(out, seed=seed, stream=stream, global_shape=global_shape,
                                     index=index, **kwargs)


def _make(rule):
    inplace = getattr(_pxi, rule + "_")

    def fn(shape, chunks="auto", dtype=np.float32, *, seed=0, stream=0, **kwargs):
        import dask.array as da
        from dask.base import tokenize

        shape = _as_shape(shape, "shape")
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"dtype must be a NumPy dtype: {exc}") from None
        # Check every argument now, on the client, with an empty shard (no values computed).
        inplace(np.empty((0,) * len(shape), dtype), seed=seed, stream=stream, global_shape=shape,
                index=tuple(slice(0, 0) for _ in shape), **kwargs)
        chunks = da.core.normalize_chunks(chunks, shape, dtype=dtype)
        token = tokenize(rule, shape, chunks, dtype.str, dtype.name, seed, stream, sorted(kwargs.items()))
        block = functools.partial(_fill_block, rule, dtype, shape, seed, stream, dict(kwargs))
        return da.map_blocks(block, chunks=chunks, dtype=dtype, meta=np.empty((0,) * len(shape), dtype),
                             name=f"philoxinit-{rule}-{token}")

    fn.__name__ = fn.__qualname__ = rule
    fn.__doc__ = (
        f"A ``dask.array.Array`` of ``shape`` filled like ``philoxinit.{rule}_``, chunk by chunk.\n\n"
        f"``chunks`` as ``dask.array`` takes it (``\"auto\"``, an int, a tuple, explicit block sizes);\n"
        f"``**kwargs`` are ``philoxinit.{rule}_``'s parameters. Each chunk calls\n"
        f"``philoxinit.{rule}_(np.empty(chunk_shape, dtype), ..., global_shape=shape, index=chunk)``\n"
        f"on the worker, so ``x.compute()`` equals ``philoxinit.{rule}(shape, dtype, ...)`` bit for bit.\n")
    return fn


for _rule in __all__:
    globals()[_rule] = _make(_rule)
del _rule
