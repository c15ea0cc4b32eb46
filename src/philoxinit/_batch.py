"""Many fills in one call: ``fill_batch(jobs)`` for whole-model initialization.

A model is hundreds of tensors, most of them small (biases, norms). Filling them one call at a
time pays the per-call overhead and a thread start-up for each; ``fill_batch`` checks every job
first, then hands them all to the core at once.
"""
from __future__ import annotations

import numpy as np

from ._checks import _threads, check_dist_params, check_out
from ._shard_layout import shard_layout
from ._streams import resolve_offset, resolve_seed, stream_id

__all__ = ["FillJob", "fill_batch"]

_DISTS = ("uniform", "normal", "trunc_normal", "constant")
_PARAM_COUNTS = {"uniform": 2, "normal": 2, "trunc_normal": 4, "constant": 1}


class FillJob:
    """One fill of a batch: ``out`` gets what ``philoxinit.<dist>_(out, *params, seed=seed,
    stream=stream, offset=offset, global_shape=global_shape, index=index)`` would write.

    ``dist`` is ``"uniform"`` (params ``(low, high)``), ``"normal"`` (``(mean, std)``),
    ``"trunc_normal"`` (``(mean, std, a, b)``) or ``"constant"`` (``(value,)``; seed, stream,
    offset and the shard arguments are ignored then). ``out`` must be a writable C-contiguous
    float16/32/64 or bfloat16 ndarray.

    >>> import numpy as np
    >>> job = FillJob(np.empty(4, np.float32), "normal", (0.0, 0.02), seed=1, stream="fc.weight")
    >>> job.dist
    'normal'
    """

    __slots__ = ("out", "dist", "params", "seed", "stream", "offset", "global_shape", "index")

    def __init__(self, out, dist, params, seed, stream, offset=0, global_shape=None, index=None):
        self.out, self.dist, self.params = out, dist, params
        self.seed, self.stream, self.offset = seed, stream, offset
        self.global_shape, self.index = global_shape, index

    def __repr__(self) -> str:
        shape = getattr(self.out, "shape", None)
        return (f"FillJob(out=<{type(self.out).__name__} {shape}>, dist={self.dist!r}, "
                f"params={self.params!r}, seed={self.seed!r}, stream={self.stream!r}, "
                f"offset={self.offset!r})")


class _Checked:
    """A job after its checks: everything the core needs, as plain values."""

    __slots__ = ("out", "dist", "params", "seed", "stream", "offset", "run_starts", "run_length")

    def __init__(self, out, dist, params, seed=0, stream=0, offset=0, run_starts=None,
                 run_length=0):
        self.out, self.dist, self.params = out, dist, params
        self.seed, self.stream, self.offset = seed, stream, offset
        self.run_starts, self.run_length = run_starts, run_length


def _check_job(job) -> _Checked:
    if not isinstance(job, FillJob):
        raise TypeError(f"must be a philoxinit FillJob, got {type(job).__name__}")
    out = job.out
    check_out(out)
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    dist = job.dist
    if dist not in _DISTS:
        raise ValueError(f"dist must be one of {', '.join(map(repr, _DISTS))}, got {dist!r}")
    params = job.params
    if not isinstance(params, (tuple, list)) or len(params) != _PARAM_COUNTS[dist]:
        names = {"uniform": "(low, high)", "normal": "(mean, std)",
                 "trunc_normal": "(mean, std, a, b)", "constant": "(value,)"}[dist]
        raise TypeError(f"params for {dist!r} must be a tuple {names}, got {params!r}")
    if dist == "constant":
        from ._checks import _real
        value = _real(params[0], "value")
        if out.dtype.itemsize == 2:
            value = float(np.float32(value))  # the rounding constant_ uses
        return _Checked(out, dist, (value,))
    params = check_dist_params(dist, tuple(params), out.dtype)
    layout = shard_layout(out.shape, job.global_shape, job.index)
    total = out.size if layout is None else layout.global_size
    seed, stream = resolve_seed(job.seed), stream_id(job.stream)
    offset = resolve_offset(job.offset, total)
    if layout is None:
        return _Checked(out, dist, params, seed, stream, offset)
    if layout.run_starts is None:
        return _Checked(out, dist, params, seed, stream, offset + layout.first)
    return _Checked(out, dist, params, seed, stream, offset, layout.run_starts, layout.run_length)


def check_jobs(jobs) -> list:
    """Every job checked (TypeError/ValueError naming ``jobs[i]`` and the argument)."""
    try:
        jobs = list(jobs)
    except TypeError:
        raise TypeError(f"jobs must be an iterable of FillJob, got {type(jobs).__name__}") from None
    checked = []
    for i, job in enumerate(jobs):
        try:
            checked.append(_check_job(job))
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"jobs[{i}]: {exc}") from None
    return checked


def fill_batch(jobs, threads=None) -> None:
    """Run every :class:`FillJob` in ``jobs``; each ``out`` gets exactly the bits the single
    call ``philoxinit.<dist>_(out, *params, seed=, stream=, offset=, global_shape=, index=)``
    writes. All jobs are checked before any is written: a bad one raises TypeError/ValueError
    naming ``jobs[i]`` and its argument, and no output is touched.

    >>> import numpy as np, philoxinit as pxi
    >>> w, b = np.empty((8, 4), np.float32), np.empty(8, np.float32)
    >>> fill_batch([FillJob(w, "uniform", (-0.5, 0.5), seed=3, stream="fc.weight"),
    ...             FillJob(b, "constant", (0.0,), seed=3, stream="fc.bias")])
    >>> bool((w == pxi.uniform((8, 4), low=-0.5, high=0.5, seed=3, stream="fc.weight")).all())
    True
    """
    threads = _threads(threads)
    checked = check_jobs(jobs)
    from ._native_backend import run_checked_jobs
    run_checked_jobs(checked, threads)
