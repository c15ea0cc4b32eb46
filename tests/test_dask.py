"""philoxinit.dask: chunked generation equals the in-memory fill bit for bit, on the threaded
scheduler and on a 2-process distributed.LocalCluster; the graph carries no data."""
from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

import philoxinit as pxi

da = pytest.importorskip("dask.array", reason="dask is not installed (pip install 'dask[distributed]')")
import philoxinit.dask as pxd  # noqa: E402

KW = {"seed": 11, "stream": "encoder.layers.0.weight"}
# (rule, shape, kwargs)
CASES = [
    ("uniform", (37, 29), {"low": -0.5, "high": 0.5}),
    ("normal", (64, 48), {"std": 0.02}),
    ("trunc_normal", (30, 20, 3), {"std": 1.0, "a": -1.0, "b": 2.0}),
    ("xavier_uniform", (40, 24), {"gain": 2.0}),
    ("kaiming_normal", (16, 8, 3, 3), {"mode": "fan_out", "nonlinearity": "relu"}),
    ("glorot_normal", (3, 3, 16, 32), {}),
    ("he_uniform", (50, 30), {}),
    ("variance_scaling", (25, 35), {"scale": 0.5, "mode": "fan_avg", "distribution": "uniform"}),
]
CHUNKINGS = {
    "auto": lambda shape: "auto",
    "int": lambda shape: 7,
    "uneven": lambda shape: tuple((max(1, d - 3), min(3, d - 1)) if d > 1 else (d,) for d in shape),
    "single": lambda shape: shape,
    "half": lambda shape: tuple(max(1, d // 2) for d in shape),
}


def want(rule, shape, dtype, kwargs):
    return getattr(pxi, rule)(shape, dtype, **kwargs, **KW)


def bits_equal(a, b):
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_import_philoxinit_does_not_import_dask():
    code = "import sys, philoxinit; assert 'dask' not in sys.modules, 'dask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_rule_exists():
    names = {n[:-1] for n in dir(pxi) if n.endswith("_") and not n.startswith("_")} - {
        "constant", "zeros", "ones"}
    assert names <= set(pxd.__all__), names - set(pxd.__all__)
    for n in pxd.__all__:
        assert callable(getattr(pxd, n))


@pytest.mark.parametrize("chunking", sorted(CHUNKINGS))
@pytest.mark.parametrize("rule,shape,kwargs", CASES, ids=[c[0] for c in CASES])
def test_threaded_scheduler_equals_in_memory(rule, shape, kwargs, chunking):
    x = getattr(pxd, rule)(shape, CHUNKINGS[chunking](shape), **kwargs, **KW)
    assert isinstance(x, da.Array) and x.shape == shape and x.dtype == np.float32
    got = x.compute(scheduler="threads")
    assert bits_equal(got, want(rule, shape, np.float32, kwargs))


@pytest.mark.parametrize("dtype", ["float16", "float64", "bfloat16"])
def test_dtypes(dtype):
    if dtype == "bfloat16":
        dtype = pytest.importorskip("ml_dtypes").bfloat16
    x = pxd.normal((33, 17), (10, 5), dtype, std=0.1, **KW)
    assert bits_equal(x.compute(scheduler="threads"), want("normal", (33, 17), dtype, {"std": 0.1}))


def test_slicing_a_dask_array_computes_only_what_is_needed():
    x = pxd.uniform((1000, 1000), (100, 100), **KW)
    assert bits_equal(x[250:260, 990:].compute(), want("uniform", (1000, 1000), np.float32, {})[250:260, 990:])


def test_graph_holds_only_small_arguments():
    x = pxd.normal((4096, 4096), (512, 512), std=0.02, **KW)     # 64 MiB of values
    graph = dict(x.__dask_graph__())
    assert len(graph) == 64
    assert len(pickle.dumps(graph)) < 64 * 1024
    # deterministic names: same arguments, same graph keys
    assert pxd.normal((4096, 4096), (512, 512), std=0.02, **KW).name == x.name
    assert pxd.normal((4096, 4096), (512, 512), std=0.03, **KW).name != x.name


def test_bad_arguments_raise_on_the_client():
    with pytest.raises(ValueError, match="std"):
        pxd.normal((4, 4), std=-1.0)
    with pytest.raises(ValueError, match="shape"):
        pxd.uniform((4, -1))
    with pytest.raises(TypeError):
        pxd.normal((4, 4), np.int32)
    with pytest.raises(TypeError):
        pxd.xavier_uniform((4, 4), bogus=1)


def test_distributed_local_cluster():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        arrays = {}
        for rule, shape, kwargs in CASES:
            for chunking in ("uneven", "half", "int"):
                arrays[(rule, chunking)] = getattr(pxd, rule)(shape, CHUNKINGS[chunking](shape),
                                                             **kwargs, **KW)
        results = client.compute(list(arrays.values()), sync=True)
        for ((rule, chunking), _), got in zip(arrays.items(), results):
            shape, kwargs = next((s, k) for r, s, k in CASES if r == rule)
            assert bits_equal(got, want(rule, shape, np.float32, kwargs)), (rule, chunking)
        # persisted blocks live on the worker processes (no client-side data)
        x = pxd.normal((256, 64), (16, 64), **KW).persist()
        distributed.wait(x)
        holders = {w for ws in client.who_has(x).values() for w in ws}
        assert len(client.scheduler_info()["workers"]) == 2 and holders
        assert bits_equal(x.compute(), want("normal", (256, 64), np.float32, {}))
