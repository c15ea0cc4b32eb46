"""plan_init: what init_module would write into each tensor of a model, one tensor at a time.

The checkpoint writer builds a model on ``meta`` and needs, per state-dict key, the values
``init_module`` would give it, written straight into its file (a memmap).
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from .._streams import resolve_seed as _resolve_seed
from ._own_init import init_module


class InitPlan:
    """The init of a module, to be written tensor by tensor.

    ``tensors`` maps every key of ``module.state_dict()`` (in its order: parameters and
    persistent buffers, tied weights under each of their names) to ``(shape, dtype)``.
    ``fill(name, out)`` writes into the CPU tensor ``out`` exactly the bits
    ``init_module(module, seed, rules, init=init, prefix=prefix)`` gives ``name``.

    This version runs ``init_module`` once, on a CPU copy of the module made at the first
    ``fill`` (``to_empty`` for a ``meta`` model), and copies out of it: memory is one copy of
    the model, the values are those of ``init_module`` by construction.
    """

    def __init__(self, module, seed, rules=None, *, init=None, prefix=""):
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        self.seed = _resolve_seed(seed)
        self._module, self._rules, self._init, self._prefix = module, rules, init, prefix
        self.tensors = {k: (tuple(v.shape), v.dtype) for k, v in module.state_dict().items()}
        self._state = None

    def _materialize(self):
        if self._state is None:
            work = copy.deepcopy(self._module)
            if any(t.is_meta for t in list(work.parameters()) + list(work.buffers())):
                work = work.to_empty(device="cpu")
            init_module(work, self.seed, self._rules, init=self._init, prefix=self._prefix)
            self._state = {k: v.detach() for k, v in work.state_dict().items()}
        return self._state

    def fill(self, name, out):
        """Write ``name``'s values into ``out`` (a CPU tensor of its shape and dtype); returns out.

        >>> import torch, torch.nn as nn, philoxinit.torch as pt
        >>> with torch.device("meta"):
        ...     m = nn.Linear(4, 3)
        >>> plan = pt.plan_init(m, seed=1)
        >>> plan.tensors["weight"]
        ((3, 4), torch.float32)
        >>> w = plan.fill("weight", torch.empty(3, 4))
        >>> real = nn.Linear(4, 3); _ = pt.init_module(real, seed=1)
        >>> bool(torch.equal(w, real.weight))
        True
        """
        if name not in self.tensors:
            raise KeyError(f"{name!r} is not a tensor of this plan (see plan.tensors)")
        if not isinstance(out, torch.Tensor):
            raise TypeError(f"out must be a torch.Tensor, got {type(out).__name__}")
        shape, dtype = self.tensors[name]
        if tuple(out.shape) != shape or out.dtype != dtype:
            raise ValueError(f"out must have shape {shape} and dtype {dtype} for {name!r}, got "
                             f"{tuple(out.shape)} {out.dtype}")
        if out.device.type != "cpu":
            raise ValueError(f"out must be a CPU tensor, got device {out.device}")
        with torch.no_grad():
            out.copy_(self._materialize()[name])
        return out


def plan_init(module, seed, rules=None, *, init=None, prefix=""):
    """The :class:`InitPlan` of ``init_module(module, seed, rules, init=init, prefix=prefix)``;
    ``module`` may live on ``meta``.

    >>> import torch, torch.nn as nn, philoxinit.torch as pt
    >>> with torch.device("meta"):
    ...     m = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
    >>> list(pt.plan_init(m, seed=0).tensors)
    ['0.weight', '0.bias', '1.weight', '1.bias']
    """
    return InitPlan(module, seed, rules, init=init, prefix=prefix)
