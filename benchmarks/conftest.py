"""Fixtures and helpers for the pytest-benchmark suite (``pytest benchmarks/ --benchmark-only``).

Not collected by a plain ``pytest`` run: the root ``pyproject.toml`` has ``testpaths = ["tests"]``.

* sizes 2**20 and 2**26 elements; 2**30 too with ``PHILOXINIT_BENCH_BIG=1``;
* :func:`run` times with ``benchmark.pedantic`` (one warm-up round, few rounds for big sizes)
  and records values/s; the terminal summary prints G/s per group and each row's ratio to the
  group's ``numpy-pcg64`` row and to its ``fill`` row (the memory-bandwidth ceiling).
"""
from __future__ import annotations

import os

import numpy as np
import pytest

BIG = os.environ.get("PHILOXINIT_BENCH_BIG", "").strip() not in ("", "0")
SIZES = [2**20, 2**26] + ([2**30] if BIG else [])
SMALL = SIZES[0]
ALL_THREADS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)

_RESULTS: list = []   # (group, name, n, bytes per value, best seconds, role, dtype)
_BUFFERS: dict = {}


def size_id(n: int) -> str:
    """``2^26`` for powers of two, else the number."""
    return f"2^{n.bit_length() - 1}" if n & (n - 1) == 0 else str(n)


def rounds_for(n: int) -> int:
    """Timed rounds for ``n`` elements: many for small buffers, few for 2**26 and up."""
    if n <= 2**20:
        return 30
    if n <= 2**26:
        return 3
    return 1


def buffer(n: int, dtype=np.float32) -> np.ndarray:
    """A cached, pre-faulted buffer of ``n`` elements (one per size and dtype; at most 2 alive)."""
    key = (n, np.dtype(dtype).str)
    if key not in _BUFFERS:
        if len(_BUFFERS) >= 2:
            _BUFFERS.pop(next(iter(_BUFFERS)))
        buf = np.empty(n, dtype)
        buf.fill(0)
        _BUFFERS[key] = buf
    return _BUFFERS[key]


def run(benchmark, fn, n: int, itemsize: int = 4, *, role: str = "", dtype: str = "float32",
        rounds: int | None = None):
    """``benchmark.pedantic(fn, rounds, iterations=1, warmup_rounds=1)``; records values/s.

    ``role`` ``"numpy-pcg64"`` / ``"fill"`` marks the group's reference rows for the summary;
    ``dtype`` pairs a row with the fill row of the same dtype.
    """
    benchmark.extra_info.update(n=n, bytes_per_value=itemsize, dtype=dtype,
                                threads_available=ALL_THREADS)
    result = benchmark.pedantic(fn, rounds=rounds or rounds_for(n), iterations=1,
                                warmup_rounds=1)
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    if stats is not None:
        best = stats.min
        benchmark.extra_info["gvalues_per_s"] = n / best / 1e9
        benchmark.extra_info["gb_per_s"] = n * itemsize / best / 1e9
        _RESULTS.append((benchmark.group or "", benchmark.name, n, itemsize, best, role, dtype))
    return result


@pytest.fixture(scope="session")
def torch():
    """The ``torch`` module with ``set_num_threads(all CPUs)``, or skip."""
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch)")
    torch.set_num_threads(ALL_THREADS)
    return torch


def pytest_terminal_summary(terminalreporter):
    """Per group: G/s (best round) and ratios to the group's numpy-pcg64 and fill rows."""
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.write_sep("-", "philoxinit: values/s (best round) and ratios within each group")
    tr.write_line("x numpy = row's values/s / the group's numpy-pcg64 row's (> 1: faster than "
                  "NumPy); of fill = row's values/s / fill's of the same dtype (bandwidth ceiling)")
    groups: dict = {}
    for group, name, n, itemsize, best, role, dtype in _RESULTS:
        groups.setdefault(group, []).append((name, n / best, itemsize, role, dtype))
    for group, rows in groups.items():
        ref_np = next((rate for _, rate, _, role, _ in rows if role == "numpy-pcg64"), None)
        fills = {dtype: rate for _, rate, _, role, dtype in rows if role == "fill"}
        tr.write_line("")
        tr.write_line(f"[{group}]")
        width = max(len(r[0]) for r in rows)
        for name, rate, itemsize, role, dtype in sorted(rows, key=lambda r: -r[1]):
            line = f"  {name:<{width}}  {rate / 1e9:8.3f} G/s  {rate * itemsize / 1e9:7.2f} GB/s"
            if ref_np:
                line += f"  x numpy {rate / ref_np:6.2f}"
            if dtype in fills:
                line += f"  of fill {rate / fills[dtype]:6.1%}"
            tr.write_line(line)
