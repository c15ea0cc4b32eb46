"""The interception behind ``init_module``: every random fill a model's own init code makes is
redirected to philoxinit, on the stream named after the parameter or buffer it writes.

A :class:`InitSession` knows the module's parameters and buffers by storage. While it is active

* a ``torch.overrides.TorchFunctionMode`` (:class:`_Interceptor`) sees every ``Tensor`` method
  (``normal_``, ``uniform_``, ``fill_``, ``erfinv_``, ...) and the ``torch.nn.init`` functions
  that dispatch through ``__torch_function__``;
* the ``torch.nn.init`` functions themselves, wherever they were captured by name (the
  ``torch.*`` modules, ``transformers.initialization.TORCH_INIT_FUNCTIONS``, any module of the
  model's own classes), are swapped for dispatchers (:mod:`._patching`), because most of them
  (``xavier_*``, ``trunc_normal_``, ``orthogonal_``) are not visible to a mode as one call.

A fill into tensor ``t`` whose storage belongs to entry ``e`` (a parameter or buffer, qualified
name ``q``) uses ``stream = prefix + q``, with ``e``'s shape as the global shape: a fill into a
part of ``e`` (a slice, a view) writes at each element of ``e`` it covers the value that element
has in the whole-tensor fill. Fills into other tensors (temporaries) get
``prefix + scope + "#tmp<k>"``, ``scope`` the qualified name of the module whose init code runs
and ``k`` the count of such fills in that scope so far.

Whole-distribution fills and constants are deferred and run together through
``philoxinit._batch.fill_batch``; pending fills are flushed before any other operation touches a
storage they write (and at the end), and a later fill that covers a pending one drops it.
"""
from __future__ import annotations

import math
import threading

import numpy as np
import torch
from torch.overrides import TorchFunctionMode

from .. import _batch
from .. import rules as _rules
from . import _twins
from ._dtensor import _dtensor_shard
from ._twins import _SUPPORTED, _numpy_view

_FLOAT_DTYPES = _SUPPORTED
# Tensor methods that only read metadata or make views: they never force pending fills out.
_NO_DATA = frozenset((
    "__get__", "size", "dim", "ndimension", "numel", "nelement", "stride", "storage_offset",
    "is_contiguous", "is_floating_point", "is_complex", "element_size", "data_ptr",
    "untyped_storage", "__len__", "view", "view_as", "narrow", "select", "t", "transpose",
    "permute", "unsqueeze", "squeeze", "expand", "expand_as", "detach", "unbind", "split",
    "chunk", "as_strided", "_is_view", "requires_grad_", "__hash__", "get_device", "type",
    "is_set_to", "__format__", "_set_grad_enabled", "__setstate__", "__reduce_ex__"))
_BASIC_INDEX = (int, slice, type(None), type(Ellipsis))

_active = threading.local()


def active_session():
    """The session running in this thread, or None."""
    stack = getattr(_active, "stack", None)
    return stack[-1] if stack else None


def _contiguous_strides(shape):
    strides, acc = [], 1
    for d in reversed(shape):
        strides.append(acc)
        acc *= max(d, 1)
    return tuple(reversed(strides))


def _storage_key(t: torch.Tensor):
    try:
        return t.untyped_storage()._cdata
    except (RuntimeError, NotImplementedError, TypeError):
        return None


def _span(t: torch.Tensor):
    """``[lo, hi)`` storage elements ``t`` can reach."""
    lo = t.storage_offset()
    if t.numel() == 0:
        return lo, lo
    return lo, lo + sum((s - 1) * abs(st) for s, st in zip(t.shape, t.stride())) + 1


class Entry:
    """A parameter or buffer of the module: its qualified name and where it lies."""

    __slots__ = ("name", "tensor", "key", "lo", "hi", "shape", "contiguous", "written",
                 "is_param", "dtensor", "how", "finite_by_fill")

    def __init__(self, name, tensor, is_param):
        self.name, self.tensor, self.is_param = name, tensor, is_param
        self.dtensor = _dtensor_shard(tensor.detach()) is not None
        self.shape = tuple(tensor.shape)
        self.written = False
        self.how = None
        # True while the last whole write was a philoxinit fill with finite parameters and no
        # other code wrote into it since: its values are finite without looking at them.
        self.finite_by_fill = False
        if self.dtensor:
            self.key, self.lo, self.hi, self.contiguous = None, 0, 0, False
            return
        t = tensor.detach()
        self.key = _storage_key(t)
        self.lo, self.hi = _span(t)
        self.contiguous = tuple(t.stride()) == _contiguous_strides(self.shape) or t.numel() <= 1


class _Pending:
    __slots__ = ("target", "entry", "out", "dist", "params", "stream", "global_shape", "index",
                 "key", "lo", "hi", "post")

    def __init__(self, **kw):
        for k in self.__slots__:
            setattr(self, k, kw.get(k))


def describe(dist, params):
    if dist == "constant":
        return f"constant({float(params[0]):.6g})"
    return dist + "(" + ", ".join(f"{float(p):.6g}" for p in params) + ")"


class InitSession:
    """The state of one ``init_module`` run: entries by storage, pending fills, temp counters."""

    def __init__(self, module, seed, prefix="", threads=None):
        self.seed, self.prefix, self.threads = seed, prefix, threads
        self.entries = []
        self.by_key = {}
        self.by_id = {}
        seen = set()
        for name, t in module.named_parameters(remove_duplicate=False):
            self._add(name, t, True, seen)
        for name, t in module.named_buffers(remove_duplicate=False):
            if t is not None:
                self._add(name, t, False, seen)
        self.pending = []
        self.pending_keys = {}
        self.scope = ""
        self.tmp_counts = {}
        self.fills = 0

    def _add(self, name, t, is_param, seen):
        if id(t) in seen:
            return      # a tied alias: the first name is the stream
        seen.add(id(t))
        e = Entry(name, t, is_param)
        self.entries.append(e)
        self.by_id[id(t)] = e
        if e.key is not None:
            self.by_key.setdefault(e.key, []).append(e)

    # ---- where a tensor lies -----------------------------------------------------------------
    def locate(self, t):
        """``(entry, kind, index)``: kind "whole", "box" (index = slices of entry's shape),
        "strided" (any other view of a contiguous entry), or ``(None, None, None)``."""
        e = self.by_id.get(id(t))
        if e is not None and e.dtensor:
            return e, "whole", None
        if _dtensor_shard(t) is not None:
            return None, None, None
        key = _storage_key(t)
        cands = self.by_key.get(key) if key is not None else None
        if not cands:
            return None, None, None
        lo, hi = _span(t)
        best = None
        for c in cands:
            if c.lo <= lo and hi <= c.hi and (best is None or c.hi - c.lo < best.hi - best.lo):
                best = c
        if best is None:
            return None, None, None
        e = best
        if (lo, hi) == (e.lo, e.hi) and t.numel() == math.prod(e.shape) and (
                t.is_contiguous() or tuple(t.shape) == e.shape and tuple(t.stride()) == tuple(
                    e.tensor.stride())):
            return e, "whole", None
        if not e.contiguous:
            return None, None, None
        if t.dim() == len(e.shape) and tuple(t.stride()) == _contiguous_strides(e.shape):
            d, index, ok = lo - e.lo, [], True
            for size, st, n in zip(e.shape, _contiguous_strides(e.shape), t.shape):
                start, d = divmod(d, st) if st else (0, d)
                if start + n > size:
                    ok = False
                    break
                index.append(slice(start, start + n))
            if ok:
                return e, "box", tuple(index)
        return e, "strided", None

    def tmp_stream(self):
        k = self.tmp_counts.get(self.scope, 0)
        self.tmp_counts[self.scope] = k + 1
        return f"{self.prefix}{self.scope}#tmp{k}"

    # ---- fills -------------------------------------------------------------------------------
    def fill(self, t, dist, params, how=None):
        """Fill ``t`` (a tensor the init code passed) with ``dist(params)`` by name; returns t."""
        if not isinstance(t, torch.Tensor) or t.dtype not in _FLOAT_DTYPES or t.is_meta:
            return None     # the caller runs torch's own
        self.fills += 1
        e, kind, index = self.locate(t)
        how = how or describe(dist, params)
        if e is None:       # a temporary: derived name, filled now
            if dist == "constant":
                with torch.no_grad():
                    t.fill_(params[0])
                return t
            _twins._fill_dist(t, (dist, params), self.seed, self.tmp_stream(), 0, self.threads)
            return t
        e.written = True
        finite = dist != "constant" or math.isfinite(float(params[0]))
        if kind == "whole":
            e.finite_by_fill = finite
        elif not finite:
            e.finite_by_fill = False
        if kind == "whole" or e.how is None:
            e.how = how
        elif not e.how.endswith(" (part)"):
            e.how = f"{e.how}, then {how} (part)"
        stream = self.prefix + e.name
        if e.dtensor:
            self.flush()
            if dist == "constant":
                with torch.no_grad():
                    t.fill_(params[0])
            else:
                _twins._fill_dist(t, (dist, params), self.seed, stream, 0, self.threads)
            return t
        td = t.detach()
        lo, hi = _span(td)
        self._make_room(e.key, lo, hi, kind == "whole", e)
        native_const = dist == "constant" and (td.dtype.itemsize == 2 or td.device.type != "cpu"
                                               or not td.is_contiguous())
        if native_const:
            p = _Pending(target=td, entry=e, out=None, dist=dist, params=params, key=e.key,
                         lo=lo, hi=hi)
        elif td.device.type == "cpu" and td.is_contiguous() and kind in ("whole", "box"):
            p = _Pending(target=td, entry=e, out=_numpy_view(td), dist=dist, params=params,
                         stream=stream, global_shape=e.shape if kind == "box" else None,
                         index=index, key=e.key, lo=lo, hi=hi)
        else:   # staged: fill a contiguous CPU buffer, copy it over after the batch
            if kind == "strided":
                full = torch.empty(e.shape, dtype=td.dtype)
                buf = full
                gshape, gindex = None, None

                def post(full=full, td=td, e=e):
                    td.copy_(full.as_strided(td.shape, td.stride(), td.storage_offset() - e.lo))
            else:
                buf = torch.empty(td.shape, dtype=td.dtype)
                gshape, gindex = (e.shape, index) if kind == "box" else (None, None)

                def post(buf=buf, td=td):
                    td.copy_(buf)
            p = _Pending(target=td, entry=e, out=_numpy_view(buf), dist=dist, params=params,
                         stream=stream, global_shape=gshape, index=gindex, key=e.key, lo=lo,
                         hi=hi, post=post)
        self.pending.append(p)
        self.pending_keys[e.key] = self.pending_keys.get(e.key, 0) + 1
        return t

    def _make_room(self, key, lo, hi, whole, entry):
        """Before a fill of [lo, hi) of storage ``key``: drop pending fills it covers whole,
        flush everything if it overlaps one only in part (their order matters)."""
        if not self.pending_keys.get(key):
            return
        overlapping = [p for p in self.pending if p.key == key and p.lo < hi and lo < p.hi]
        if not overlapping:
            return
        if all(lo <= p.lo and p.hi <= hi for p in overlapping) and whole:
            drop = set(map(id, overlapping))
            self.pending = [p for p in self.pending if id(p) not in drop]
            self.pending_keys[key] -= len(overlapping)
            return
        self.flush()

    def touches_pending(self, args, kwargs):
        return touches(self.pending_keys, args, kwargs)

    # what the interceptor asks of a session (fast_init's recorder answers differently)
    def method_call(self, func, name, args, kwargs):
        """A random Tensor method: handled (its result) or NotImplemented (torch's own runs)."""
        return _tensor_method(self, name, args, kwargs)

    def before_op(self, args, kwargs):
        """Any other op that may read or write data: pending fills it touches run first."""
        if self.touches_pending(args, kwargs):
            self.flush()

    def mark_written(self, t):
        e = self.by_id.get(id(t))
        if e is None:
            k = _storage_key(t) if isinstance(t, torch.Tensor) and not t.is_meta else None
            cands = self.by_key.get(k) if k is not None else None
            if not cands:
                return
            lo, hi = _span(t)
            for c in cands:
                if c.lo < hi and lo < c.hi:
                    c.written = True
                    c.finite_by_fill = False
                    c.how = c.how or "the module's own code"
            return
        e.written = True
        e.finite_by_fill = False
        e.how = e.how or "the module's own code"

    def flush(self):
        if not self.pending:
            return
        pending, self.pending, self.pending_keys = self.pending, [], {}
        jobs = []
        with torch.no_grad(), torch._C.DisableTorchFunction():
            for p in pending:
                if p.out is None:
                    p.target.fill_(p.params[0])
                    continue
                jobs.append(_batch.FillJob(p.out, p.dist, p.params, self.seed, p.stream,
                                           global_shape=p.global_shape, index=p.index))
            _batch.fill_batch(jobs, threads=self.threads)
            for p in pending:
                if p.post is not None:
                    p.post()

    def __enter__(self):
        stack = getattr(_active, "stack", None)
        if stack is None:
            stack = _active.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _active.stack.pop()
        return False


def touches(keys, args, kwargs):
    """Whether a tensor among ``args``/``kwargs`` lies in a storage counted in ``keys``."""
    if not keys:
        return False
    for a in _tensors(args, kwargs):
        k = _storage_key(a) if not a.is_meta else None
        if k is not None and keys.get(k):
            return True
    return False


def _tensors(args, kwargs):
    for a in args:
        if isinstance(a, torch.Tensor):
            yield a
        elif isinstance(a, (list, tuple)):
            for b in a:
                if isinstance(b, torch.Tensor):
                    yield b
    for a in kwargs.values():
        if isinstance(a, torch.Tensor):
            yield a


# ---- the parameters of the init functions, as torch computes them --------------------------

def init_fn_params(name, tensor, args, kwargs):
    """``(dist, params)`` of a ``torch.nn.init`` call, or None when it is no whole-tensor
    distribution (eye_, dirac_, orthogonal_, sparse_) or a zero-element no-op."""
    sig = _SIGNATURES[name]
    bound = sig.bind(tensor, *args, **kwargs)
    bound.apply_defaults()
    a = bound.arguments
    shape = tuple(tensor.shape)
    if name == "uniform_":
        return "uniform", (a["a"], a["b"])
    if name == "normal_":
        return "normal", (a["mean"], a["std"])
    if name == "trunc_normal_":
        return "trunc_normal", (a["mean"], a["std"], a["a"], a["b"])
    if name == "constant_":
        return "constant", (a["val"],)
    if name == "ones_":
        return "constant", (1.0,)
    if name == "zeros_":
        return "constant", (0.0,)
    if name in ("xavier_uniform_", "xavier_normal_"):
        if tensor.numel() == 0:
            _twins._zero_element_xavier(tensor)
            return None
        fn = _rules.xavier_uniform_params if name == "xavier_uniform_" else _rules.xavier_normal_params
        return fn(shape, a["gain"])
    if name in ("kaiming_uniform_", "kaiming_normal_"):
        if 0 in shape:
            return None
        fn = _rules.kaiming_uniform_params if name == "kaiming_uniform_" else _rules.kaiming_normal_params
        return fn(shape, a["a"], a["mode"], a["nonlinearity"])
    return None


def _signatures():
    import inspect
    return {n: inspect.signature(_twins._ORIGINAL[n]) for n in _twins.INIT_NAMES}


_SIGNATURES = _signatures()


def handle_init_call(session, name, original, tensor, args, kwargs):
    """A ``torch.nn.init.<name>`` call inside a session (mode disabled by the caller)."""
    if getattr(session, "recording", False):      # fast_init: run at exit, by name
        return session.record_init(name, original, tensor, args, kwargs)
    if not isinstance(tensor, torch.Tensor) or tensor.dtype not in _FLOAT_DTYPES or tensor.is_meta:
        return original(tensor, *args, **kwargs)
    if name in ("kaiming_uniform_", "kaiming_normal_") and 0 in tensor.shape:
        return original(tensor, *args, **kwargs)    # torch's warning, no fill
    dp = init_fn_params(name, tensor, args, kwargs)
    if dp is not None:
        session.fill(tensor, *dp)
        return tensor
    if name in ("orthogonal_", "sparse_"):
        e, kind, _ = session.locate(tensor)
        session.flush()
        stream = session.prefix + e.name if e is not None and kind == "whole" else \
            session.tmp_stream()
        if e is not None:
            e.written, e.how = True, name[:-1]
        bound = _SIGNATURES[name].bind(tensor, *args, **kwargs)
        bound.arguments.pop("generator", None)
        kw = {k: v for k, v in bound.arguments.items() if k != "tensor"}
        getattr(_twins, name)(tensor, **kw, seed=session.seed, stream=stream,
                              threads=session.threads)
        return tensor
    # eye_, dirac_ and zero-element no-ops: deterministic, torch's own
    session.flush()
    session.mark_written(tensor.detach())
    return original(tensor, *args, **kwargs)


# ---- the Tensor methods ----------------------------------------------------------------------

def _arg(args, kwargs, i, name, default):
    if len(args) > i:
        return args[i]
    return kwargs.get(name, default)


def _scalar(v):
    if isinstance(v, torch.Tensor):
        return v.item() if v.numel() == 1 else None
    return v


def _compose(session, t, produce, how):
    """A distribution philoxinit has no kernel for: ``produce(u)`` maps float64 uniforms
    ``u in [0, 1)`` (whole entry, by name) to the values; written in t's dtype."""
    e, kind, index = session.locate(t)
    session.flush()
    td = t.detach()
    shape = e.shape if e is not None else tuple(td.shape)
    stream = session.prefix + e.name if e is not None else session.tmp_stream()
    u = _batch_uniform64(shape, session.seed, stream, session.threads)
    vals = torch.from_numpy(produce(u))
    with torch.no_grad():
        if e is None or kind == "whole":
            td.copy_(vals.reshape(td.shape))
        elif kind == "box":
            td.copy_(vals[index])
        else:
            td.copy_(vals.as_strided(td.shape, td.stride(), td.storage_offset() - e.lo))
    if e is not None:
        e.written, e.how = True, how
    return t


def _batch_uniform64(shape, seed, stream, threads):
    out = np.empty(shape, np.float64)
    _batch.fill_batch([_batch.FillJob(out, "uniform", (0.0, 1.0), seed, stream)], threads=threads)
    return out


def _tensor_method(session, name, args, kwargs):
    """Handle ``Tensor.<name>(*args, **kwargs)``; NotImplemented to run torch's own."""
    t = args[0]
    if not isinstance(t, torch.Tensor) or t.is_meta or t.dtype not in _FLOAT_DTYPES:
        return NotImplemented
    rest = args[1:]
    if name == "normal_":
        r = session.fill(t, "normal", (_arg(rest, kwargs, 0, "mean", 0.0),
                                       _arg(rest, kwargs, 1, "std", 1.0)))
    elif name == "uniform_":
        r = session.fill(t, "uniform", (_arg(rest, kwargs, 0, "from", 0.0),
                                        _arg(rest, kwargs, 1, "to", 1.0)))
    elif name == "fill_":
        v = _scalar(_arg(rest, kwargs, 0, "value", None))
        if v is None or isinstance(v, bool) or not isinstance(v, (int, float)):
            return NotImplemented
        r = session.fill(t, "constant", (float(v),))
    elif name == "zero_":
        r = session.fill(t, "constant", (0.0,))
    elif name == "log_normal_":
        mean, std = _arg(rest, kwargs, 0, "mean", 1.0), _arg(rest, kwargs, 1, "std", 2.0)
        from scipy.special import ndtri  # noqa: F401  (only where a model uses log_normal_)
        r = _compose(session, t, lambda u: np.exp(mean + std * ndtri(u + 0.5 * 2.0 ** -53)),
                     f"log_normal({mean}, {std})")
    elif name == "exponential_":
        lambd = _arg(rest, kwargs, 0, "lambd", 1.0)
        r = _compose(session, t, lambda u: -np.log1p(-u) / lambd, f"exponential({lambd})")
    elif name == "cauchy_":
        med, sig = _arg(rest, kwargs, 0, "median", 0.0), _arg(rest, kwargs, 1, "sigma", 1.0)
        r = _compose(session, t, lambda u: med + sig * np.tan(np.pi * (u - 0.5)),
                     f"cauchy({med}, {sig})")
    elif name == "geometric_":
        p = _arg(rest, kwargs, 0, "p", None)
        r = _compose(session, t, lambda u: np.maximum(1.0, np.ceil(np.log1p(-u) / math.log1p(-p))),
                     f"geometric({p})")
    elif name == "bernoulli_":
        p = _scalar(_arg(rest, kwargs, 0, "p", 0.5))
        if p is None:
            return NotImplemented
        r = _compose(session, t, lambda u: (u < p).astype(np.float64), f"bernoulli({p})")
    elif name == "random_":
        lo, hi = _random_range(t, rest, kwargs)
        r = _compose(session, t, lambda u: np.floor(lo + u * (hi - lo)), f"random({lo}, {hi})")
    else:
        return NotImplemented
    return NotImplemented if r is None else r


def _random_range(t, rest, kwargs):
    digits = {torch.float16: 11, torch.bfloat16: 8, torch.float32: 24, torch.float64: 53}[t.dtype]
    vals = [v for v in (_arg(rest, kwargs, 0, "from", None), _arg(rest, kwargs, 1, "to", None))
            if v is not None]
    if not vals:
        return 0, 2 ** digits + 1
    if len(vals) == 1:
        return 0, vals[0]
    return vals[0], vals[1]


RANDOM_METHODS = ("normal_", "uniform_", "fill_", "zero_", "log_normal_", "exponential_",
                  "cauchy_", "geometric_", "bernoulli_", "random_")
_METHODS = {getattr(torch.Tensor, n): n for n in RANDOM_METHODS}


class _Interceptor(TorchFunctionMode):
    """Sends the session every tensor op of the init code (see the module docstring): an
    ``InitSession``, or the recorder of ``fast_init``/``plan_init``, which records instead."""

    def __init__(self, session, init_functions):
        super().__init__()
        self.session = session
        self.init_functions = init_functions     # function object -> (name, torch original)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        s = self.session
        name = _METHODS.get(func)
        if name is not None and args:
            r = s.method_call(func, name, args, kwargs)
            if r is not NotImplemented:
                return r
        init = self.init_functions.get(func)
        if init is not None and args:
            return handle_init_call(s, init[0], init[1], args[0], args[1:], kwargs)
        fname = getattr(func, "__name__", "")
        # a basic index makes a view: it neither reads nor writes data
        view = fname == "__getitem__" and len(args) > 1 and (
            isinstance(args[1], _BASIC_INDEX) or isinstance(args[1], tuple) and all(
                isinstance(i, _BASIC_INDEX) for i in args[1]))
        if fname not in _NO_DATA and not view:
            s.before_op(args, kwargs)
            if (fname.endswith("_") or fname in ("__setitem__", "copy_")) and args and \
                    isinstance(args[0], torch.Tensor):
                s.mark_written(args[0])
            out = kwargs.get("out")
            if isinstance(out, torch.Tensor):
                s.mark_written(out)
        return func(*args, **kwargs)
