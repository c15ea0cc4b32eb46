#!/usr/bin/env python3
"""Normality battery for philoxinit's float32 normal_: N samples per seed (default 10**8,
generated in chunks) through scipy's D'Agostino-Pearson normaltest, Kolmogorov-Smirnov vs
N(0, 1), Anderson-Darling, and a chi-square on 1000 equiprobable bins.

    python tools/normality.py [--n N] [--seeds 0,1,2] [--stream S] [--quick]

--quick: 10**6 samples, two seeds (for CI). Exit status 1 if any p-value < --alpha
(default 1e-4, far below what chance gives over this handful of tests) or Anderson-Darling
exceeds its 1% critical value (SciPy < 1.17, which gives no p-value).
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from scipy import special, stats

import philoxinit as pxi


def battery(n: int, seed: int, stream, chunk: int, bins: int = 1000) -> dict:
    x = np.empty(n, np.float32)
    counts = np.zeros(bins, np.int64)
    for start in range(0, n, chunk):
        part = x[start:start + chunk]
        pxi.normal_(part, seed=seed, stream=stream, offset=start)
        # equiprobable bins of N(0, 1): bin = floor(Phi(x) * bins)
        k = np.minimum((special.ndtr(part.astype(np.float64)) * bins).astype(np.int64), bins - 1)
        counts += np.bincount(k, minlength=bins)
    res = {"n": n, "seed": seed, "stream": stream,
           "mean": float(x.mean(dtype=np.float64)), "std": float(x.std(dtype=np.float64))}
    res["normaltest_p"] = float(stats.normaltest(x).pvalue)
    res["kstest_p"] = float(stats.kstest(x, "norm").pvalue)
    try:  # SciPy >= 1.17: an interpolated p-value
        ad = stats.anderson(x, "norm", method="interpolate")
        res["anderson_stat"], res["anderson_p"] = float(ad.statistic), float(ad.pvalue)
    except TypeError:  # older SciPy: critical values only
        ad = stats.anderson(x, "norm")
        res["anderson_stat"] = float(ad.statistic)
        res["anderson_crit_1pct"] = float(ad.critical_values[list(ad.significance_level).index(1.0)])
    res["chisq_stat"], res["chisq_p"] = (float(v) for v in stats.chisquare(counts))
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10**8, help="samples per seed (default 1e8)")
    p.add_argument("--seeds", default="0,1,2,12345", help="comma-separated seeds")
    p.add_argument("--stream", default="0", help="stream (int or name)")
    p.add_argument("--chunk", type=int, default=10**7)
    p.add_argument("--alpha", type=float, default=1e-4)
    p.add_argument("--quick", action="store_true", help="1e6 samples, seeds 0 and 1")
    args = p.parse_args(argv)
    if args.quick:
        args.n, args.seeds = 10**6, "0,1"
    stream = int(args.stream) if args.stream.isdigit() else args.stream
    bad = False
    for seed in (int(s) for s in args.seeds.split(",")):
        t = time.perf_counter()
        r = battery(args.n, seed, stream, args.chunk)
        fails = [k for k in ("normaltest_p", "kstest_p", "chisq_p") if r[k] < args.alpha]
        if r.get("anderson_p", 1.0) < args.alpha or r["anderson_stat"] > r.get("anderson_crit_1pct", np.inf):
            fails.append("anderson")
        ad = (f"p={r['anderson_p']:.4f}" if "anderson_p" in r
              else f"(1% crit {r['anderson_crit_1pct']:.3f})")
        bad |= bool(fails)
        print(f"seed={seed} stream={stream!r} n={r['n']:.0e} mean={r['mean']:+.2e} std={r['std']:.6f} "
              f"normaltest p={r['normaltest_p']:.4f} kstest p={r['kstest_p']:.4f} "
              f"anderson A2={r['anderson_stat']:.3f} {ad} "
              f"chisq(999 df)={r['chisq_stat']:.1f} p={r['chisq_p']:.4f} "
              f"{'FAIL ' + ','.join(fails) if fails else 'PASS'} ({time.perf_counter() - t:.1f} s)",
              flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
