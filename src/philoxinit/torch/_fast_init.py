"""fast_init: construction-time init on philoxinit streams named after the parameters.

While the context is active, the random fills that module constructors make (``torch.nn.init``
however captured, ``Tensor.normal_`` & co, timm's truncated normals) are *recorded*, not run.
The modules built inside are tracked (``nn.Module.__init__``); at exit, when the model is
assembled and every parameter has its qualified name, the recorded fills are replayed through
the same session as :func:`init_module` (:mod:`._session`), so a parameter gets the stream
``prefix + its name``, batched, with later whole-tensor fills dropping earlier ones.
"""
from __future__ import annotations

import contextlib
import threading
import weakref

import torch
import torch.nn as nn

from .._streams import resolve_seed as _resolve_seed
from . import _patching
from ._dtensor import _dtensor_shard
from ._session import (
    _FLOAT_DTYPES, InitSession, _active, _arg, _Interceptor, _scalar, _storage_key,
    _tensor_method, _tensors, handle_init_call, init_fn_params, touches)

_RANDOM = ("uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_")

# nn.Module.__init__ is wrapped while any fast_init is active (in any thread), to see which
# modules are built; the wrapper only records for a recorder of the calling thread.
_MODULE_INIT = nn.Module.__init__
_install_lock = threading.Lock()
_install_count = 0


def _tracking_init(self, *args, **kwargs):
    _MODULE_INIT(self, *args, **kwargs)
    stack = getattr(_active, "stack", None)
    if stack and isinstance(stack[-1], _Recorder):
        stack[-1].modules.append(weakref.ref(self))


def _install_tracking():
    global _install_count
    with _install_lock:
        if _install_count == 0:
            nn.Module.__init__ = _tracking_init
        _install_count += 1


def _uninstall_tracking():
    global _install_count
    with _install_lock:
        _install_count -= 1
        if _install_count == 0 and nn.Module.__init__ is _tracking_init:
            nn.Module.__init__ = _MODULE_INIT


def _recordable(t):
    return (isinstance(t, torch.Tensor) and not t.is_meta and t.dtype in _FLOAT_DTYPES
            and _dtensor_shard(t) is None and _storage_key(t) is not None)


class _Recorder:
    """The thread's session while a fast_init is active: keeps the fill calls in order."""

    recording = True

    def __init__(self, seed, prefix, threads):
        self.seed, self.prefix, self.threads = seed, prefix, threads
        self.calls = []         # (kind, storage key, payload)
        self.keys = {}          # storage key -> number of recorded calls
        self.modules = []       # weakrefs, in the order their __init__ started
        # Fills that had to run before the names were known: temporaries of this session.
        self.early = InitSession(nn.Module(), seed, prefix, threads)
        self.early_fills = []

    def _record(self, kind, t, payload):
        key = _storage_key(t)
        self.calls.append((kind, key, payload))
        self.keys[key] = self.keys.get(key, 0) + 1

    # the three ways a fill reaches a session
    def recordable(self, t):
        return _recordable(t)

    def fill(self, t, dist, params, how=None):
        if not self.recordable(t):
            return None
        self._record("fill", t, (t, dist, params, how))
        return t

    def record_init(self, name, original, tensor, args, kwargs):
        if not self.recordable(tensor):
            return original(tensor, *args, **kwargs)
        init_fn_params(name, tensor, args, kwargs)      # bad arguments raise now, like torch
        self._record("init", tensor, (name, original, tensor, args, kwargs))
        return tensor

    def record_method(self, func, name, args, kwargs):
        self._record("method", args[0], (func, name, args, kwargs))
        return args[0]

    def method_call(self, func, name, args, kwargs):
        if self.recordable(args[0]) and _method_ok(name, args, kwargs):
            return self.record_method(func, name, args, kwargs)
        return NotImplemented

    # an operation that is no fill reads or writes a recorded storage: run its fills now
    def touches_pending(self, args, kwargs):
        return touches(self.keys, args, kwargs)

    def before_op(self, args, kwargs):
        if self.touches_pending(args, kwargs):
            with torch._C.DisableTorchFunction():
                self.force(args, kwargs)

    def force(self, args, kwargs):
        wanted = {_storage_key(a) for a in _tensors(args, kwargs) if not a.is_meta}
        now = [c for c in self.calls if c[1] in wanted]
        self.calls = [c for c in self.calls if c[1] not in wanted]
        for k in wanted:
            self.keys.pop(k, None)
        for call in now:
            self.early_fills.append(_describe_call(call))
            _replay(self.early, call)
        self.early.flush()

    def mark_written(self, t):
        pass


def _describe_call(call):
    kind, _, payload = call
    if kind == "init":
        return f"torch.nn.init.{payload[0]}"
    if kind == "method":
        return f"Tensor.{payload[1]}"
    return payload[1]


def _replay(session, call):
    kind, _, payload = call
    if kind == "fill":
        t, dist, params, how = payload
        session.fill(t, dist, params, how)
    elif kind == "init":
        name, original, tensor, args, kwargs = payload
        handle_init_call(session, name, original, tensor, args, kwargs)
    else:
        func, name, args, kwargs = payload
        if _tensor_method(session, name, args, kwargs) is NotImplemented:
            func(*args, **kwargs)


def _method_ok(name, args, kwargs):
    """Whether the session's Tensor-method handler takes this call (else torch runs it now)."""
    if name == "fill_":
        v = _scalar(_arg(args[1:], kwargs, 0, "value", None))
        return v is not None and not isinstance(v, bool) and isinstance(v, (int, float))
    if name == "bernoulli_":
        return _scalar(_arg(args[1:], kwargs, 0, "p", 0.5)) is not None
    return True


def _roots(modules):
    """The live modules built inside that are no submodule of another one, in build order."""
    alive = [m for m in (w() for w in modules) if m is not None]
    inner = set()
    for m in alive:
        for child in m.modules():
            if child is not m:
                inner.add(id(child))
    roots, seen = [], set()
    for m in alive:
        if id(m) not in inner and id(m) not in seen:
            seen.add(id(m))
            roots.append(m)
    return roots


class fast_init(contextlib.ContextDecorator):
    """Initialize modules *while they are built* with their own init code on philoxinit
    streams named after their parameters.

    Inside ``with fast_init(seed=s):`` every random fill a module constructor makes --
    ``torch.nn.init.*`` however it was captured (also by transformers and timm),
    ``Tensor.normal_``/``uniform_``/``fill_``/..., timm's ``trunc_normal_`` -- is recorded. At
    exit the outermost modules built inside (the *roots*) have their final names, and the
    recorded fills run, batched, on the streams :func:`init_module` uses: a fill into parameter
    or buffer ``q`` of the first root uses ``stream = prefix + q``, of the ``k``-th root
    (``k >= 1``, in build order) ``prefix + f"{k}/" + q``. So::

        with fast_init(seed=s):
            model = Model()

    gives every tensor ``Model``'s construction initializes the values ``init_module(Model(),
    s)`` gives it: a function of ``(seed, name, shape, scheme)``, independent of the order or
    the number of other layers. Order dependence remains only where names cannot be known:

    * a fill whose tensor is read or changed by other code while the context is still active
      (e.g. ``copy.deepcopy`` of a freshly built layer, a ``mul_`` after the fill) runs at that
      moment on stream ``prefix + "#tmp<k>"``, ``k`` counting such fills; their descriptions
      are in ``.early_fills`` after exit;
    * fills into tensors of no module built inside (modules built before the context,
      temporaries) run at exit on ``prefix + "#tmp<k>"`` in call order.

    Fills of other threads, of meta tensors and of non-floating tensors are torch's own. On
    exit every function is as before; a library imported inside keeps dispatchers that behave
    exactly as torch's functions outside a philoxinit session. ``.report`` maps each initialized
    name to how it was filled. Works as a decorator too.

    >>> import torch, torch.nn as nn, philoxinit.torch as pt
    >>> with pt.fast_init(seed=1):
    ...     a = nn.Linear(64, 32)
    >>> b = nn.Linear(64, 32)
    >>> _ = pt.init_module(b, seed=1)
    >>> bool(torch.equal(a.weight, b.weight)), bool(torch.equal(a.bias, b.bias))
    (True, True)
    """

    def __init__(self, seed=0, *, prefix="", threads=None):
        if not isinstance(prefix, str):
            raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
        self.seed = _resolve_seed(seed)
        self.prefix, self.threads = prefix, threads
        self._frames = []
        self.report, self.early_fills = {}, []

    def __enter__(self):
        recorder = _Recorder(self.seed, self.prefix, self.threads)
        _install_tracking()
        undo = []
        try:
            undo = _patching.patch()
            mode = _Interceptor(recorder, _patching.init_function_map())
            stack = getattr(_active, "stack", None)
            if stack is None:
                stack = _active.stack = []
            stack.append(recorder)
            mode.__enter__()
        except BaseException:
            _patching.unpatch(undo)
            _uninstall_tracking()
            raise
        self._frames.append((recorder, undo, mode))
        return self

    def __exit__(self, exc_type, exc, tb):
        recorder, undo, mode = self._frames.pop()
        try:
            mode.__exit__(None, None, None)
        finally:
            _active.stack.pop()
            _patching.unpatch(undo)
            _uninstall_tracking()
        try:
            self._run(recorder)     # also after an exception: no recorded tensor stays unfilled
        except Exception:
            if exc_type is None:
                raise
        return False

    def _run(self, recorder):
        roots = _roots(recorder.modules)
        sessions = [InitSession(m, self.seed, self.prefix if k == 0 else f"{self.prefix}{k}/",
                                self.threads) for k, m in enumerate(roots)]
        owner = {}
        for s in sessions:
            for key in s.by_key:
                owner.setdefault(key, s)
        orphans = recorder.early
        with torch.no_grad():
            for call in recorder.calls:
                _replay(owner.get(call[1], orphans), call)
            for s in sessions + [orphans]:
                s.flush()
        self.early_fills = list(recorder.early_fills)
        report = {}
        for s in sessions:
            for e in s.entries:
                if e.written:
                    report[s.prefix + e.name] = e.how
        self.report = report
