"""Where a shard (``full[index]`` of a C-ordered ``global_shape`` tensor) lies in the global
element order: the runs that sharded fills generate on their own (docs/stream.md).
"""
from __future__ import annotations

import math
import numbers

import numpy as np

def _as_shape(shape, name: str) -> tuple:
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(f"{name} must be a tuple of ints, got {type(shape).__name__}") from None
    for d in dims:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must be a tuple of ints, got {shape!r}")
        if d < 0:
            raise ValueError(f"{name} must have non-negative dimensions, got {shape!r}")
    return tuple(int(d) for d in dims)


class ShardLayout:
    """Where a shard's elements lie in the global tensor: equal runs of ``run_length``
    elements starting at ``run_starts`` (C-order element indices), or, when the shard is
    contiguous in the global tensor, one run starting at ``first`` (``run_starts`` None)."""

    def __init__(self, global_size, first, run_starts, run_length):
        self.global_size, self.first = global_size, first
        self.run_starts, self.run_length = run_starts, run_length


def shard_layout(local_shape, global_shape, index):
    """The layout of ``full[index]`` inside a C-ordered ``global_shape`` tensor, or None.

    ``index`` is a tuple of slices with step 1 (missing trailing dims mean the whole dim);
    ``local_shape`` must equal the shape ``full[index]`` has.
    """
    if global_shape is None:
        if index is not None:
            raise ValueError("index needs global_shape (the shape of the whole tensor)")
        return None
    dims = _as_shape(global_shape, "global_shape")
    if index is None:
        index = ()
    if isinstance(index, slice):
        index = (index,)
    if not isinstance(index, tuple) or not all(isinstance(s, slice) for s in index):
        raise TypeError(f"index must be a tuple of slices, got {index!r}")
    if len(index) > len(dims):
        raise ValueError(f"index has {len(index)} slices for a {len(dims)}-d global_shape")
    starts, stops = [], []
    for d, (size, s) in enumerate(zip(dims, index + (slice(None),) * (len(dims) - len(index)))):
        if s.step not in (None, 1):
            raise ValueError(f"index slices must have step 1, got {s!r} in dim {d}")
        try:
            start, stop, _ = s.indices(size)
        except TypeError:
            raise TypeError(f"index slices must have int or None bounds, got {s!r} in dim {d}") from None
        starts.append(start)
        stops.append(max(start, stop))
    shard_shape = tuple(b - a for a, b in zip(starts, stops))
    if tuple(local_shape) != shard_shape:
        raise ValueError(f"out has shape {tuple(local_shape)} but global_shape[index] has shape "
                         f"{shard_shape}")
    global_size = math.prod(dims)
    strides = [math.prod(dims[d + 1:]) for d in range(len(dims))]
    partial = [d for d in range(len(dims)) if (starts[d], stops[d]) != (0, dims[d])]
    if not partial or math.prod(shard_shape) == 0:
        return ShardLayout(global_size, 0, None, 0)
    j = partial[-1]  # dims after j are whole: each index over dims[:j] is one contiguous run
    run_length = shard_shape[j] * strides[j]
    first = sum(a * st for a, st in zip(starts, strides))
    if all(shard_shape[d] == 1 for d in range(j)):
        return ShardLayout(global_size, first, None, run_length)
    # Outer sums, one dimension at a time: no meshgrid temporaries of the full run count each.
    run_starts = np.array([starts[j] * strides[j]], dtype=np.uint64)
    for d in reversed(range(j)):
        axis = np.arange(starts[d], stops[d], dtype=np.uint64) * np.uint64(strides[d])
        run_starts = np.add.outer(axis, run_starts).reshape(-1)
    return ShardLayout(global_size, first, run_starts.astype(np.uint64), run_length)
