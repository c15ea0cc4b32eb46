"""philoxinit.torch.init_module on DTensor parameters (gloo, CPU): every rank fills only its
local shard (global_shape/index), and the gathered weights equal the single-process
init_module bit for bit, for world sizes 1 and 2 and Shard(0) / Shard(1) / Replicate()."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
import torch.nn as nn  # noqa: E402

if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with the gloo backend is not available", allow_module_level=True)
try:
    from torch.distributed.tensor import DTensor  # noqa: F401
except ImportError:  # pragma: no cover - old torch
    pytest.skip("torch.distributed.tensor (DTensor) is not available", allow_module_level=True)

import philoxinit.torch as pt  # noqa: E402

MODEL = textwrap.dedent('''
    import torch, torch.nn as nn

    def build():
        torch.manual_seed(0)
        return nn.Sequential(
            nn.Linear(10, 7),                                # weight (7, 10)
            nn.ReLU(),
            nn.Linear(7, 5),                                 # weight (5, 7)
            nn.Conv2d(3, 5, 3),                              # weight (5, 3, 3, 3)
            nn.Embedding(9, 6, padding_idx=4),
            nn.LayerNorm(6),
            nn.Linear(6, 6, bias=False).to(torch.bfloat16),
        )

    # qualified parameter name -> placement
    PLACEMENTS = {
        "0.weight": "Shard(0)", "0.bias": "Shard(0)",
        "2.weight": "Shard(1)", "2.bias": "Replicate()",
        "3.weight": "Shard(1)", "3.bias": "Shard(0)",
        "4.weight": "Shard(0)",
        "5.weight": "Replicate()", "5.bias": "Shard(0)",
        "6.weight": "Shard(1)",
    }
''')

WORKER = MODEL + textwrap.dedent('''
    import os, sys
    import numpy as np
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Replicate, Shard, distribute_tensor
    import philoxinit.torch as pt

    dist.init_process_group("gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    mesh = init_device_mesh("cpu", (world,))
    model = build()
    for mod_name, mod in model.named_modules():
        for pname, p in list(mod.named_parameters(recurse=False)):
            q = f"{mod_name}.{pname}" if mod_name else pname
            placement = eval(PLACEMENTS[q])
            mod.register_parameter(pname, nn.Parameter(distribute_tensor(p.data, mesh, [placement])))
    report = pt.init_module(model, seed=1234)
    out = {}
    for q, p in model.named_parameters():
        assert isinstance(p, DTensor), q
        full = p.detach().full_tensor()
        if full.dtype == torch.bfloat16:
            full = full.view(torch.int16)
        out[q] = full.numpy()
    # a direct call on a sharded DTensor too
    w = distribute_tensor(torch.zeros(11, 13), mesh, [Shard(1)])
    pt.trunc_normal_(w, std=0.5, seed=3, stream="extra")
    out["extra"] = w.full_tensor().numpy()
    w = distribute_tensor(torch.zeros(6, 9), mesh, [Shard(0)])
    pt.orthogonal_(w, seed=3, stream="orth")
    out["orth"] = w.full_tensor().numpy()
    if rank == 0:
        np.savez(sys.argv[1], **out)
    dist.barrier()
    dist.destroy_process_group()
''')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _single_process():
    ns: dict = {}
    exec(MODEL, ns)
    model = ns["build"]()
    pt.init_module(model, seed=1234)
    out = {}
    for q, p in model.named_parameters():
        t = p.detach()
        out[q] = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().copy()
    out["extra"] = pt.trunc_normal_(torch.zeros(11, 13), std=0.5, seed=3, stream="extra").numpy()
    out["orth"] = pt.orthogonal_(torch.zeros(6, 9), seed=3, stream="orth").numpy()
    return out


@pytest.mark.parametrize("world_size", [1, 2])
def test_dtensor_init_module_matches_single_process(world_size, tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    result = tmp_path / "weights.npz"
    port = _free_port()
    procs = []
    for rank in range(world_size):
        env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank),
                   WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank), OMP_NUM_THREADS="1")
        procs.append(subprocess.Popen([sys.executable, str(script), str(result)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    errors = []
    for rank, p in enumerate(procs):
        try:
            _, err = p.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"rank {rank} timed out")
        if p.returncode != 0:
            errors.append(f"rank {rank} exited {p.returncode}:\n{err[-3000:]}")
    assert not errors, "\n".join(errors)

    got = dict(np.load(result))
    want = _single_process()
    assert sorted(got) == sorted(want)
    for q in want:
        assert got[q].dtype == want[q].dtype and got[q].shape == want[q].shape, q
        assert got[q].tobytes() == want[q].tobytes(), f"{q} differs (world size {world_size})"
    # the padding row of the embedding is zero, the rest is not
    assert (got["4.weight"][4] == 0).all() and (got["4.weight"][3] != 0).any()


def test_plain_tensors_unchanged_by_dtensor_support():
    m = nn.Linear(8, 4)
    pt.init_module(m, seed=9)
    w = pt.kaiming_uniform_(torch.empty(4, 8), a=5 ** 0.5, seed=9, stream="weight")
    assert torch.equal(m.weight.detach(), w)
