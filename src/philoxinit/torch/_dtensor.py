"""DTensor support: the local block of a ``Shard(dim)``/``Replicate()`` DTensor in the global tensor."""
from __future__ import annotations

import sys


def _dtensor_shard(tensor):
    """``(local tensor, global shape, index slices)`` of a ``DTensor``, None for other tensors.

    Only ``Shard(dim)`` and ``Replicate()`` placements (any mesh) are supported: the local
    tensor is then the block ``full[index]`` of the global tensor (``torch.chunk`` sizes, the
    same as ``distribute_tensor`` and FSDP2's ``fully_shard``).
    """
    dt_mod = sys.modules.get("torch.distributed.tensor")   # no DTensor exists unless imported
    if dt_mod is None or not isinstance(tensor, dt_mod.DTensor):
        return None
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset
    placements = tuple(tensor.placements)
    for p in placements:
        if not (type(p) is dt_mod.Shard or isinstance(p, dt_mod.Replicate)):
            raise NotImplementedError(
                f"philoxinit fills DTensors with Shard(dim) and Replicate() placements only, got "
                f"{placements}")
    global_shape = tuple(tensor.shape)
    local_shape, offset = compute_local_shape_and_global_offset(
        tensor.shape, tensor.device_mesh, placements)
    local = tensor.to_local()
    if tuple(local.shape) != tuple(local_shape):
        raise RuntimeError(f"DTensor local shape {tuple(local.shape)} is not the expected "
                           f"{tuple(local_shape)} for placements {placements}")
    index = tuple(slice(min(o, d), min(o + n, d))
                  for o, n, d in zip(offset, local_shape, global_shape))
    return local, global_shape, index


