"""fast_init: route ``torch.nn.init`` to philoxinit while modules are constructed."""
from __future__ import annotations

import contextlib
import itertools
import sys
import threading

import torch
import torch.nn.init as _tinit

from .._streams import resolve_seed as _resolve_seed
from . import _twins
from ._twins import _SUPPORTED

_RANDOM = ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")


class fast_init(contextlib.ContextDecorator):
    """Route ``torch.nn.init``'s random functions to philoxinit while active.

    Inside ``with fast_init(seed=s):`` the functions ``uniform_``, ``normal_``,
    ``trunc_normal_``, ``xavier_*_``, ``kaiming_*_``, ``orthogonal_`` and ``sparse_`` of
    ``torch.nn.init`` -- and every alias a ``torch.*`` module imported by name, such as
    ``torch.nn.modules.activation.xavier_uniform_`` (used by ``nn.MultiheadAttention``) -- are
    replaced by this module's, called with ``seed=s`` and ``stream`` = a counter starting at 0,
    incremented per call. So ``nn.Linear(64, 32)`` built inside gets philoxinit weights fast
    and reproducibly, but they depend on the *order* of the calls (the n-th initialized tensor
    gets stream n); use :func:`init_module` for name-based, order-independent streams. Tensors
    of other dtypes (e.g. integer) go to torch's original. Every original is restored on exit,
    also when an exception escapes. Works as a decorator too.

    >>> import torch, torch.nn as nn, philoxinit.torch as pt
    >>> with pt.fast_init(seed=1):
    ...     a = nn.Linear(64, 32)
    >>> with pt.fast_init(seed=1):
    ...     b = nn.Linear(64, 32)
    >>> bool(torch.equal(a.weight, b.weight))
    True
    """

    def __init__(self, seed=0):
        self.seed = _resolve_seed(seed)
        self._saved = []
        self._lock = threading.Lock()

    def _patched(self, name, original):
        ours = getattr(_twins, name)

        def fn(tensor, *args, **kwargs):
            if not isinstance(tensor, torch.Tensor) or tensor.dtype not in _SUPPORTED:
                return original(tensor, *args, **kwargs)
            with self._lock:
                stream = next(self._counter)
            return ours(tensor, *args, seed=self.seed, stream=stream, **kwargs)

        fn.__name__ = fn.__qualname__ = name
        fn.__doc__ = f"philoxinit.torch.{name} under fast_init (seed={self.seed})."
        fn.__wrapped__ = original
        return fn

    def __enter__(self):
        self._counter = itertools.count()
        saved = []
        try:
            for name in _RANDOM:
                current = getattr(_tinit, name)
                patched = self._patched(name, current)
                for mod in list(sys.modules.values()):
                    mname = getattr(mod, "__name__", "") or ""
                    if not (mname == "torch" or mname.startswith("torch.")):
                        continue
                    if getattr(mod, name, None) is current:
                        saved.append((mod, name, current))
                        setattr(mod, name, patched)
        except BaseException:
            for mod, name, value in reversed(saved):
                setattr(mod, name, value)
            raise
        self._saved.append(saved)
        return self

    def __exit__(self, *exc):
        for mod, name, value in reversed(self._saved.pop()):
            setattr(mod, name, value)
        return False
