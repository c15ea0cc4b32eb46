"""Does torch's thread pool slow philoxinit down, or the other way round?

    python benchmarks/torch_interference.py [--repeat N]

Times, in one process, a 2**20-element pre-touched ``philoxinit.uniform_`` fill and a
256x256 torch matmul: each alone, then alternating (each fill right after torch work, each
matmul right after a fill), which is what ``init_module`` does between torch ops. Prints the
medians and the ratios alternating/alone; ~1.0 means the two pools do not steal from each other
(neither spins after its work: philoxinit's pool sleeps when idle).
"""
import argparse
import statistics
import time

import numpy as np


def _median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200, help="timed calls per case")
    args = parser.parse_args(argv)
    import torch
    import philoxinit as pxi

    buf = np.empty(2 ** 20, np.float32)
    pxi.uniform_(buf, seed=0)                      # pre-touched
    a, b = torch.randn(256, 256), torch.randn(256, 256)

    def fill():
        pxi.uniform_(buf, seed=1, stream=2)

    def matmul():
        torch.mm(a, b)

    for fn in (fill, matmul):
        fn()
    fill_alone = _median_time(fill, args.repeat)
    mm_alone = _median_time(matmul, args.repeat)
    fill_after, mm_after = [], []
    for _ in range(args.repeat):
        matmul()
        start = time.perf_counter()
        fill()
        fill_after.append(time.perf_counter() - start)
        start = time.perf_counter()
        matmul()
        mm_after.append(time.perf_counter() - start)
    fill_mixed, mm_mixed = statistics.median(fill_after), statistics.median(mm_after)
    n = buf.size
    print(f"torch {torch.__version__}, torch threads {torch.get_num_threads()}, "
          f"philoxinit threads {pxi.get_num_threads()}")
    print(f"{'':28s}{'alone':>10s}{'after other':>13s}{'ratio':>8s}")
    print(f"{'fill 2^20 (G values/s)':28s}{n / fill_alone / 1e9:10.2f}"
          f"{n / fill_mixed / 1e9:13.2f}{fill_mixed / fill_alone:8.2f}")
    print(f"{'matmul 256^2 (ms)':28s}{mm_alone * 1e3:10.3f}{mm_mixed * 1e3:13.3f}"
          f"{mm_mixed / mm_alone:8.2f}")


if __name__ == "__main__":
    main()
