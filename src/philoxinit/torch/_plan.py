"""plan_init: what init_module would write into each tensor of a model, one tensor at a time.

The checkpoint writer builds a model on ``meta`` and needs, per state-dict key, the values
``init_module`` would give it, written straight into its file (a memmap). The model's own init
code runs once on ``meta`` with every fill recorded (nothing is computed); ``fill(name, out)``
replays the fills of one tensor into ``out`` through the same session ``init_module`` uses.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from .._streams import resolve_seed as _resolve_seed
from . import _patching
from ._fast_init import _FLOAT_DTYPES, _Recorder, _replay
from ._own_init import _module_names, _run_own_init, init_module
from ._session import InitSession, _active, _Interceptor, _storage_key


class _MetaRecorder(_Recorder):
    """Records fills into meta tensors; a storage that other code reads or writes is tainted
    (its values cannot be known without running the code for real)."""

    def __init__(self, seed, prefix):
        super().__init__(seed, prefix, None)
        self.tainted = set()

    def recordable(self, t):
        return isinstance(t, torch.Tensor) and t.is_meta and t.dtype in _FLOAT_DTYPES \
            and _storage_key(t) is not None

    def touches_pending(self, args, kwargs):
        return False        # reads of meta tensors compute nothing; writes taint (below)

    def mark_written(self, t):
        if isinstance(t, torch.Tensor) and t.is_meta:
            self.tainted.add(_storage_key(t))


def _substitute(call, meta_base, out):
    """The call with its target (a view of ``meta_base``) replaced by that view of ``out``."""
    kind, key, payload = call

    def view(t):
        rel = t.storage_offset() - meta_base.storage_offset()
        return out.as_strided(t.shape, t.stride(), out.storage_offset() + rel)

    if kind == "fill":
        t, dist, params, how = payload
        return kind, key, (view(t), dist, params, how)
    if kind == "init":
        name, original, t, args, kwargs = payload
        return kind, key, (name, original, view(t), args, kwargs)
    func, name, args, kwargs = payload
    return kind, key, (func, name, (view(args[0]),) + tuple(args[1:]), kwargs)


def _to_empty_meta(module):
    """``to_empty`` onto meta as ``to_empty(device="cpu")`` would do it: new parameter objects
    per module, so weights come out untied until the init code ties them again (on a
    meta-to-meta conversion torch would keep the objects, and the ties)."""
    overwrite = torch.__future__.get_overwrite_module_params_on_conversion()
    torch.__future__.set_overwrite_module_params_on_conversion(True)
    try:
        return module.to_empty(device="meta")
    finally:
        torch.__future__.set_overwrite_module_params_on_conversion(overwrite)


class InitPlan:
    """The init of a module, to be written tensor by tensor.

    ``tensors`` maps every key of ``module.state_dict()`` (in its order: parameters and
    persistent buffers, tied weights under each of their names) to ``(shape, dtype)``.
    ``fill(name, out)`` writes into the CPU tensor ``out`` exactly the bits
    ``init_module(module, seed, rules, init=init, prefix=prefix)`` gives ``name``.

    For a ``meta`` module without ``rules``, the own init code runs once on a ``meta`` copy with
    every fill recorded; ``fill`` replays the fills of one tensor into ``out``: memory is one
    tensor. Where that cannot give the values (``rules=``, a real module, or init code that reads
    or changes a tensor other than by fills, e.g. a rejection loop), ``init_module`` runs once on
    a CPU copy made at the first ``fill`` and the values are copied out of it (memory: one model).
    ``replayed`` tells which of the two this plan uses.
    """

    def __init__(self, module, seed, rules=None, *, init=None, prefix=""):
        if not isinstance(module, nn.Module):
            raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
        if init is not None and not callable(init):
            raise TypeError(f"init must be a callable(module) or None, got {type(init).__name__}")
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        self.seed = _resolve_seed(seed)
        self._module, self._rules, self._init, self._prefix = module, rules, init, prefix
        self.tensors = {k: (tuple(v.shape), v.dtype) for k, v in module.state_dict().items()}
        self._state = None
        self._recording = None
        self.replayed = False
        if not rules and all(t.is_meta for t in list(module.parameters()) +
                             [b for b in module.buffers() if b is not None]):
            self._recording = self._record()
            self.replayed = self._recording is not None

    # ---- recorded on meta ----------------------------------------------------------------------
    def _record(self):
        work = _to_empty_meta(copy.deepcopy(self._module))
        recorder = _MetaRecorder(self.seed, self._prefix)
        session = InitSession(work, self.seed, self._prefix)      # the names, by storage
        undo = _patching.patch(_module_names(work))
        stack = getattr(_active, "stack", None)
        if stack is None:
            stack = _active.stack = []
        stack.append(recorder)
        try:
            with torch.no_grad(), _Interceptor(recorder, _patching.init_function_map()):
                _run_own_init(recorder, work, self._init)
        except Exception:      # init code that needs real values: run it for real instead
            return None
        finally:
            stack.pop()
            _patching.unpatch(undo)
        by_key = {}
        for call in recorder.calls:
            by_key.setdefault(call[1], []).append(call)
        keyed = {}
        state = work.state_dict(keep_vars=True)
        for name, t in state.items():
            e = session.by_id.get(id(t))
            if e is None or not t.is_floating_point():
                return None
            calls = by_key.get(e.key)
            if not calls or e.key in recorder.tainted or not e.contiguous:
                return None     # not (only) written by fills: its values need the real code
            keyed[name] = (e, calls)
        return keyed

    def _replay_into(self, name, out):
        e, calls = self._recording[name]
        session = InitSession(nn.Module(), self.seed, self._prefix)
        session._add(e.name, out, e.is_param, set())
        base = e.tensor.detach()
        with torch.no_grad():
            for call in calls:
                _replay(session, _substitute(call, base, out))
            session.flush()

    # ---- run for real --------------------------------------------------------------------------
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
        >>> plan.tensors["weight"], plan.replayed
        (((3, 4), torch.float32), True)
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
        if self._recording is not None and out.is_contiguous():
            self._replay_into(name, out)
            return out
        with torch.no_grad():
            out.copy_(self._materialize()[name])
        return out


def plan_init(module, seed, rules=None, *, init=None, prefix=""):
    """The :class:`InitPlan` of ``init_module(module, seed, rules, init=init, prefix=prefix)``;
    ``module`` may live on ``meta`` (then, without ``rules``, nothing is materialized: each
    ``fill`` computes one tensor).

    >>> import torch, torch.nn as nn, philoxinit.torch as pt
    >>> with torch.device("meta"):
    ...     m = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))
    >>> list(pt.plan_init(m, seed=0).tensors)
    ['0.weight', '0.bias', '1.weight', '1.bias']
    """
    return InitPlan(module, seed, rules, init=init, prefix=prefix)
