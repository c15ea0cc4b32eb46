"""The fast backend: the C++ core through the pybind11 binding (``_core``)."""
from __future__ import annotations

from . import _core

# Must match philoxinit::DType in cpp/include/philoxinit/core.hpp.
DTYPE_CODES = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3}


# dtype object -> code, filled on first sight (``dtype.name`` is a slow Python property).
_CODES: dict = {}


def dtype_code(dtype) -> int:
    """The core's DType code of a (checked) float dtype."""
    code = _CODES.get(dtype)
    if code is None:
        code = _CODES[dtype] = DTYPE_CODES[dtype.name]
    return code


_FILL_FUNCS = {"uniform": _core.fill_uniform, "normal": _core.fill_normal,
               "trunc_normal": _core.fill_trunc_normal}


class NativeBackend:
    name = "native"

    def random_raw(self, n, seed, stream, offset, threads):
        return _core.random_raw(n, seed, stream, offset, threads)

    def fill(self, out, dist, params, seed, stream, offset, threads):
        _FILL_FUNCS[dist](out, dtype_code(out.dtype), *params, seed, stream, offset, threads)

    def fill_runs(self, out, dist, params, seed, stream, offset, threads, run_starts, run_length):
        _FILL_FUNCS[dist](out, dtype_code(out.dtype), *params, seed, stream, offset, threads,
                          run_starts, run_length)

    def constant(self, out, value, threads):
        _core.fill_constant(out, dtype_code(out.dtype), value, threads)


# Must match philoxinit::Dist in cpp/include/philoxinit/core.hpp.
_DIST_CODES = {"uniform": 0, "normal": 1, "trunc_normal": 2, "constant": 3}


def run_checked_jobs(jobs, threads):
    """Run checked batch jobs (``_batch._Checked``) through the core in one call: one parallel
    pass over all of them, small ones sharing chunks (``philoxinit::fill_batch``)."""
    batch = []
    for job in jobs:
        if job.out.size == 0:
            continue
        p = job.params + (0.0,) * (4 - len(job.params))
        batch.append((job.out, dtype_code(job.out.dtype), _DIST_CODES[job.dist],
                      p[0], p[1], p[2], p[3], job.seed, job.stream, job.offset,
                      job.run_starts, job.run_length))
    if batch:
        _core.fill_batch(batch, threads)
