"""philoxinit.jax_sharding.make_array on 4 forced CPU devices (in a subprocess, because
XLA_FLAGS must be set before jax is imported): every mesh and PartitionSpec gives the unsharded
fill bit for bit, and each shard's data is full[shard.index]."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("jax", reason="jax is not installed")

CODE = textwrap.dedent(r'''
    import json, os
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    os.environ["JAX_PLATFORMS"] = "cpu"
    import numpy as np
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import ml_dtypes
    import philoxinit as pxi
    from philoxinit.jax_sharding import make_array

    assert len(jax.devices()) == 4, jax.devices()
    devs = np.array(jax.devices())
    mesh1 = Mesh(devs, ("x",))
    mesh2 = Mesh(devs.reshape(2, 2), ("x", "y"))
    cases = [
        # (mesh, spec, shape)
        (mesh1, P("x"), (8, 6)),
        (mesh1, P(None, "x"), (6, 12)),
        (mesh1, P(), (5, 7)),
        (mesh1, P(None, None, None, "x"), (3, 2, 5, 8)),
        (mesh2, P("x", "y"), (8, 6)),
        (mesh2, P("y", "x"), (6, 10)),
        (mesh2, P(("x", "y"), None), (12, 5)),
        (mesh2, P(None, ("y", "x")), (3, 16)),
        (mesh2, P("x"), (4, 7)),                      # replicated over y
        (mesh2, P(None, "x", None, "y"), (3, 4, 5, 6)),
    ]
    inits = [(pxi.normal_, {"std": 0.02}), ("uniform", {"low": -1.0, "high": 1.0}),
             ("trunc_normal_", {}), (pxi.xavier_uniform_, {"gain": 2.0}),
             ("kaiming_normal", {"mode": "fan_out"}), ("glorot_normal", {}),
             (pxi.reference.he_uniform_, {})]
    dtypes = [np.float32, np.float64, np.float16, ml_dtypes.bfloat16]
    if not jax.config.jax_enable_x64:
        jax.config.update("jax_enable_x64", True)
    checked = 0
    for i, (mesh, spec, shape) in enumerate(cases):
        for j, (init, kw) in enumerate(inits):
            dtype = dtypes[(i + j) % len(dtypes)]
            name = init if isinstance(init, str) else init.__name__
            name = name.rstrip("_")
            fn = getattr(pxi, name)
            want = fn(shape, dtype, seed=5, stream="w%d" % i, **kw)
            arr = make_array(init, shape, NamedSharding(mesh, spec), dtype, seed=5,
                             stream="w%d" % i, **kw)
            assert arr.shape == shape and arr.dtype == np.dtype(dtype), (arr.shape, arr.dtype)
            got = np.asarray(arr)
            assert got.tobytes() == want.tobytes(), (name, spec, shape, dtype)
            for shard in arr.addressable_shards:
                assert np.asarray(shard.data).tobytes() == \
                    np.ascontiguousarray(want[shard.index]).tobytes(), (name, spec, shard.index)
            checked += 1
    # bad arguments are refused before any callback
    for bad, exc in [(("nope",), ValueError), ((42,), TypeError)]:
        try:
            make_array(bad[0], (4, 4), NamedSharding(mesh1, P("x")))
        except exc:
            pass
        else:
            raise AssertionError(bad)
    try:
        make_array("normal", (4, 4), NamedSharding(mesh1, P("x")), std=-1.0)
    except ValueError as e:
        assert "std" in str(e)
    else:
        raise AssertionError("std=-1 accepted")
    # philoxinit.jax initializers with out_sharding: per-shard fills == the unsharded result
    import jax.numpy as jnp
    import philoxinit.jax as pj
    key = jax.random.key(3)
    inits = [pj.glorot_uniform(), pj.normal(0.5), pj.variance_scaling(2.0, "fan_in", "uniform"),
             pj.truncated_normal(0.1), pj.orthogonal(), pj.constant(1.5)]
    sharded_checked = 0
    for init in inits:
        for spec, shape, dtype in [(P("x", "y"), (8, 6), jnp.float32),
                                   (P(None, ("x", "y")), (3, 8), jnp.bfloat16),
                                   (P("y"), (4, 4), jnp.complex64)]:
            if dtype == jnp.complex64 and init in inits[3:]:
                continue
            want = np.asarray(init(key, shape, dtype))
            arr = init(key, shape, dtype, out_sharding=NamedSharding(mesh2, spec))
            assert arr.sharding == NamedSharding(mesh2, spec), arr.sharding
            assert np.asarray(arr).tobytes() == want.tobytes(), (init, spec)
            for shard in arr.addressable_shards:
                assert np.asarray(shard.data).tobytes() == \
                    np.ascontiguousarray(want[shard.index]).tobytes()
            sharded_checked += 1
    with jax.set_mesh(mesh2):
        arr = pj.he_normal()(key, (8, 6), out_sharding=P("x", "y"))
        jitted = jax.jit(lambda k: pj.he_normal()(k, (8, 6), out_sharding=P("x", "y")))(key)
    want = np.asarray(pj.he_normal()(key, (8, 6)))
    assert np.asarray(arr).tobytes() == want.tobytes()
    assert np.asarray(jitted).tobytes() == want.tobytes()
    print(json.dumps({"checked": checked, "sharded": sharded_checked, "jax": jax.__version__}))
''')


def test_make_array_matches_unsharded_fill():
    env = dict(os.environ)
    env.pop("XLA_FLAGS", None)
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["checked"] == 70
    assert result["sharded"] == 15


def test_import_does_not_import_jax_into_philoxinit():
    code = "import sys, philoxinit; assert 'jax' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
