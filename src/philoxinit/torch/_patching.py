"""Dispatchers for the ``torch.nn.init`` functions, swapped in wherever code captured them.

Each dispatcher is made once per function and kept: with no session active in the calling thread
it *is* torch's original in behaviour (it calls it), so a library that captured a dispatcher while
a session or ``fast_init`` was active (e.g. ``transformers`` imported inside one) keeps working
as if it held torch's function.
"""
from __future__ import annotations

import sys

import torch

from . import _twins
from ._session import active_session, handle_init_call

_DISPATCHERS = {}


def _make(name, original):
    def dispatcher(tensor, *args, **kwargs):
        session = active_session()
        if session is None:
            return original(tensor, *args, **kwargs)
        with torch._C.DisableTorchFunction():
            return handle_init_call(session, name, original, tensor, args, kwargs)

    dispatcher.__name__ = dispatcher.__qualname__ = name
    dispatcher.__doc__ = original.__doc__
    dispatcher.__wrapped__ = original
    dispatcher._philoxinit_dispatcher = True
    return dispatcher


for _name in _twins.INIT_NAMES:
    _DISPATCHERS[_name] = _make(_name, _twins._ORIGINAL[_name])


def init_function_map():
    """function object (torch's original or our dispatcher) -> (name, torch's original)."""
    out = {}
    for name in _twins.INIT_NAMES:
        out[_twins._ORIGINAL[name]] = (name, _twins._ORIGINAL[name])
        out[_DISPATCHERS[name]] = (name, _twins._ORIGINAL[name])
    return out


_SCAN_PREFIXES = ("torch", "transformers", "timm", "torchtitan")


def patch(extra_modules=()):
    """Swap the originals for the dispatchers in every loaded module of torch, transformers,
    timm, torchtitan and ``extra_modules`` (names), and in transformers'
    ``TORCH_INIT_FUNCTIONS``; returns the undo list for :func:`unpatch`."""
    by_id = {id(_twins._ORIGINAL[n]): n for n in _twins.INIT_NAMES}
    undo = []
    wanted = set(extra_modules)
    for mname, mod in list(sys.modules.items()):
        if mod is None or not (mname.split(".")[0] in _SCAN_PREFIXES or mname in wanted):
            continue
        try:
            items = list(vars(mod).items())
        except TypeError:
            continue
        for attr, value in items:
            name = by_id.get(id(value))
            if name is not None:
                undo.append((mod, attr, value))
                setattr(mod, attr, _DISPATCHERS[name])
    hf = sys.modules.get("transformers.initialization")
    table = getattr(hf, "TORCH_INIT_FUNCTIONS", None)
    if isinstance(table, dict):
        for key, value in list(table.items()):
            name = by_id.get(id(value))
            if name is not None:
                undo.append((table, key, value))
                table[key] = _DISPATCHERS[name]
    return undo


def unpatch(undo):
    for target, key, value in reversed(undo):
        if isinstance(target, dict):
            target[key] = value
        else:
            setattr(target, key, value)
