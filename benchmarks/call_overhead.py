"""Per-call cost of small fills: the Python facade against the bare core call.

    python benchmarks/call_overhead.py [--calls 3000] [--rounds 7]

For 1 element (almost pure overhead) and 2**14 elements (the issue's small-fill size), float32,
it times ``philoxinit.uniform_/normal_/trunc_normal_/constant_`` on a NumPy array, the
pybind11 call underneath them (``philoxinit._core.fill_*``, no argument checks), and, with torch
installed, ``philoxinit.torch.uniform_`` and torch's own ``Tensor.uniform_`` on a tensor.
Each row: microseconds per call and values per second, the best of ``--rounds`` loops of
``--calls`` calls (the same output reused, so it stays in cache).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

import philoxinit as pxi


def best_per_call(fn, calls: int, rounds: int) -> float:
    for _ in range(min(calls, 200)):
        fn()
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def rows(size: int):
    out = np.empty(size, np.float32)
    core = pxi._core
    yield "_core.fill_uniform (no checks)", lambda: core.fill_uniform(out, 0, 0.0, 1.0, 1, 3, 0, 0)
    yield "uniform_(seed=1, stream=3)", lambda: pxi.uniform_(out, seed=1, stream=3)
    yield "uniform_(-0.1, 0.1, stream=str)", lambda: pxi.uniform_(out, -0.1, 0.1, seed=1,
                                                                   stream="layers.0.weight")
    yield "_core.fill_normal (no checks)", lambda: core.fill_normal(out, 0, 0.0, 0.02, 1, 3, 0, 0)
    yield "normal_(0, 0.02)", lambda: pxi.normal_(out, 0.0, 0.02, seed=1, stream=3)
    yield "trunc_normal_(0, .02, -.04, .04)", lambda: pxi.trunc_normal_(out, 0.0, 0.02, -0.04,
                                                                         0.04, seed=1, stream=3)
    yield "constant_(0.0)", lambda: pxi.constant_(out, 0.0)
    try:
        import torch
        import philoxinit.torch as pt
    except ImportError:
        return
    t = torch.empty(size)
    yield "philoxinit.torch.uniform_", lambda: pt.uniform_(t, seed=1, stream=3)
    yield "torch Tensor.uniform_", lambda: t.uniform_()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=3000)
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args(argv)
    print(f"philoxinit {pxi.__version__}: best of {args.rounds} x {args.calls} calls, float32")
    print(f"{'call':34} {'elements':>8} {'us/call':>8} {'G values/s':>10}")
    for size in (1, 2**14):
        for name, fn in rows(size):
            s = best_per_call(fn, args.calls, args.rounds)
            print(f"{name:34} {size:8d} {s * 1e6:8.2f} {size / s / 1e9:10.3f}", flush=True)


if __name__ == "__main__":
    main()
