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


# Truncated normals that are not torch.nn.init's public functions, each a whole-tensor
# distribution a session fills with the trunc_normal kernel in one go:
# * timm's ``trunc_normal_``/``trunc_normal_tf_``/``_trunc_normal_``: its own code
#   (``Tensor.uniform_`` then ``erfinv_``, ``mul_``, ...);
# * ``torch.nn.init._no_grad_trunc_normal_``: the module global torch's ``trunc_normal_`` calls
#   at run time, so swapping it reaches calls made through references that cannot be swapped
#   (torchtitan's ``functools.partial`` objects).
def _absolute_bounds(mean, std, a, b):
    return mean, std, a, b


def _standard_bounds(mean, std, a, b):     # trunc_normal_tf_: bounds on N(0, 1), then scaled
    return mean, std, mean + a * std, mean + b * std


def _make_trunc(name, original, bounds):
    def dispatcher(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, **kwargs):
        session = active_session()
        if session is not None and isinstance(tensor, torch.Tensor):
            try:
                params = bounds(float(mean), float(std), float(a), float(b))
            except (TypeError, ValueError):
                params = None
            if params is not None and params[1] > 0 and params[2] < params[3]:
                with torch._C.DisableTorchFunction():
                    if session.fill(tensor, "trunc_normal", params) is not None:
                        return tensor
        return original(tensor, mean, std, a, b, **kwargs)

    dispatcher.__name__ = dispatcher.__qualname__ = name
    dispatcher.__doc__ = original.__doc__
    dispatcher.__wrapped__ = original
    dispatcher._philoxinit_dispatcher = True
    return dispatcher


_TIMM_NAMES = {"trunc_normal_": _absolute_bounds, "trunc_normal_tf_": _standard_bounds,
               "_trunc_normal_": _absolute_bounds}
_TIMM_DISPATCHERS = {}    # id(timm's function) -> (function, dispatcher)


def _timm_functions():
    """id(timm's original) -> dispatcher, for the timm loaded now (empty without timm)."""
    wi = sys.modules.get("timm.layers.weight_init")
    out = {}
    if wi is None:
        return out
    for name, bounds in _TIMM_NAMES.items():
        fn = getattr(wi, name, None)
        if fn is None or getattr(fn, "_philoxinit_dispatcher", False):
            continue
        entry = _TIMM_DISPATCHERS.get(id(fn))
        if entry is None or entry[0] is not fn:
            entry = _TIMM_DISPATCHERS[id(fn)] = (fn, _make_trunc(name, fn, bounds))
        out[id(fn)] = entry[1]
    return out


_TORCH_TRUNC_PRIVATE = getattr(torch.nn.init, "_no_grad_trunc_normal_", None)
_TORCH_TRUNC_DISPATCHER = (
    _make_trunc("_no_grad_trunc_normal_", _TORCH_TRUNC_PRIVATE, _absolute_bounds)
    if _TORCH_TRUNC_PRIVATE is not None else None)


def init_function_map():
    """function object (torch's original or our dispatcher) -> (name, torch's original)."""
    out = {}
    for name in _twins.INIT_NAMES:
        out[_twins._ORIGINAL[name]] = (name, _twins._ORIGINAL[name])
        out[_DISPATCHERS[name]] = (name, _twins._ORIGINAL[name])
    return out


_SCAN_PREFIXES = ("torch", "transformers", "timm", "torchtitan")


def patch(extra_modules=()):
    """Swap the originals (torch's ``torch.nn.init`` functions, timm's truncated normals) for
    the dispatchers in every loaded module of torch, transformers, timm, torchtitan and
    ``extra_modules`` (names), and in transformers' ``TORCH_INIT_FUNCTIONS``; returns the undo
    list for :func:`unpatch`."""
    by_id = {id(_twins._ORIGINAL[n]): _DISPATCHERS[n] for n in _twins.INIT_NAMES}
    by_id.update(_timm_functions())
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
            dispatcher = by_id.get(id(value))
            if dispatcher is not None:
                undo.append((mod, attr, value))
                setattr(mod, attr, dispatcher)
    if _TORCH_TRUNC_DISPATCHER is not None and \
            getattr(torch.nn.init, "_no_grad_trunc_normal_", None) is _TORCH_TRUNC_PRIVATE:
        undo.append((torch.nn.init, "_no_grad_trunc_normal_", _TORCH_TRUNC_PRIVATE))
        torch.nn.init._no_grad_trunc_normal_ = _TORCH_TRUNC_DISPATCHER
    hf = sys.modules.get("transformers.initialization")
    table = getattr(hf, "TORCH_INIT_FUNCTIONS", None)
    if isinstance(table, dict):
        for key, value in list(table.items()):
            dispatcher = by_id.get(id(value))
            if dispatcher is not None:
                undo.append((table, key, value))
                table[key] = dispatcher
    return undo


def unpatch(undo):
    for target, key, value in reversed(undo):
        if isinstance(target, dict):
            target[key] = value
        else:
            setattr(target, key, value)
