"""The fast backend: the C++ core through the pybind11 binding (``_core``)."""
from __future__ import annotations

from . import _core

# Must match philoxinit::DType in cpp/include/philoxinit/core.hpp.
DTYPE_CODES = {"float32": 0, "float64": 1, "float16": 2, "bfloat16": 3}


class NativeBackend:
    name = "native"

    def random_raw(self, n, seed, stream, offset, threads):
        return _core.random_raw(n, seed, stream, offset, threads)

    def fill(self, out, dist, params, seed, stream, offset, threads):
        fill = {"uniform": _core.fill_uniform, "normal": _core.fill_normal,
                "trunc_normal": _core.fill_trunc_normal}[dist]
        fill(out, DTYPE_CODES[out.dtype.name], *params, seed, stream, offset, threads)

    def fill_runs(self, out, dist, params, seed, stream, offset, threads, run_starts, run_length):
        fill = {"uniform": _core.fill_uniform, "normal": _core.fill_normal,
                "trunc_normal": _core.fill_trunc_normal}[dist]
        fill(out, DTYPE_CODES[out.dtype.name], *params, seed, stream, offset, threads,
             run_starts, run_length)

    def constant(self, out, value, threads):
        _core.fill_constant(out, DTYPE_CODES[out.dtype.name], value, threads)


_FILLS = {"uniform": "fill_uniform", "normal": "fill_normal", "trunc_normal": "fill_trunc_normal"}


def run_checked_jobs(jobs, threads):
    """Run checked batch jobs (``_batch._Checked``) through the core."""
    for job in jobs:
        if job.out.size == 0:
            continue
        code = DTYPE_CODES[job.out.dtype.name]
        if job.dist == "constant":
            _core.fill_constant(job.out, code, job.params[0], threads)
        else:
            getattr(_core, _FILLS[job.dist])(job.out, code, *job.params, job.seed, job.stream,
                                             job.offset, threads, job.run_starts, job.run_length)
