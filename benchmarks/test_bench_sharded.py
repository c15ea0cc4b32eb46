"""Sharded fills cost the same as plain fills of the shard's size (pytest-benchmark).

    pytest benchmarks/test_bench_sharded.py --benchmark-only

Global tensor (8192, 8192) float32; each shard has 2**25 elements: a column shard
``index=(slice(None), slice(0, 4096))`` (8192 runs of 4096 elements, filled by the C++ core from
each run's global offset), a row shard (one contiguous run) and a (4096, 4096) block (values/s
is the comparable figure), against
``normal_``/``uniform_`` on a plain (8192, 4096) array and ``buf.fill(1.0)`` (the bandwidth
ceiling). The column shard should be within a few percent of the plain fill.
"""
from __future__ import annotations

import numpy as np
import pytest
from conftest import ALL_THREADS, run

import philoxinit as pxi

GLOBAL = (8192, 8192)
SHARDS = {
    "plain": None,
    "column-shard": (slice(None), slice(0, 4096)),
    "row-shard": (slice(4096, 8192),),
    "block-shard": (slice(2048, 6144), slice(1000, 5096)),   # 2**24 elements
}
N = 8192 * 4096


@pytest.fixture(scope="module")
def out():
    buf = np.empty((8192, 4096), np.float32)
    buf.fill(0)
    return buf


@pytest.mark.benchmark(group="sharded")
def test_fill_ceiling(benchmark, out):
    run(benchmark, lambda: out.fill(1.0), N, role="fill")


@pytest.mark.benchmark(group="sharded")
@pytest.mark.parametrize("dist", ["uniform", "normal"])
@pytest.mark.parametrize("threads", [1, ALL_THREADS], ids=["1t", "all"])
@pytest.mark.parametrize("shard", list(SHARDS))
def test_sharded_fill(benchmark, out, shard, threads, dist):
    fn = getattr(pxi, dist + "_")
    index = SHARDS[shard]
    kw = {} if index is None else {"global_shape": GLOBAL, "index": index}
    local_shape = np.empty(GLOBAL, np.bool_)[index].shape if index else out.shape
    local = out.reshape(-1)[:int(np.prod(local_shape))].reshape(local_shape)
    run(benchmark, lambda: fn(local, seed=1, stream="w", threads=threads, **kw), local.size)
