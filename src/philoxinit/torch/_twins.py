"""The ``torch.nn.init`` twins: same names, signatures and torch's bounds, philoxinit values."""
from __future__ import annotations

import math
import threading
import warnings

import numpy as np
import torch
import torch.nn.init as _tinit

import philoxinit as _pxi
from .. import rules as _rules
from .._streams import resolve_seed as _resolve_seed
from .._streams import stream_id as _stream_id
from ._dtensor import _dtensor_shard

# torch's own functions, captured at import (fast_init patches torch.nn.init temporarily).
_ORIGINAL = {name: getattr(_tinit, name) for name in (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
    "sparse_", "calculate_gain")}

INIT_NAMES = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
              "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
              "orthogonal_", "sparse_")

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16}
_SUPPORTED = (torch.float32, torch.float64, torch.float16, torch.bfloat16)


def _check_tensor(tensor) -> None:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"tensor must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dtype not in _SUPPORTED:
        raise TypeError("tensor must have dtype float32, float64, float16 or bfloat16, "
                        f"got {tensor.dtype}")


def _numpy_view(t: torch.Tensor) -> np.ndarray:
    """Zero-copy NumPy view of a contiguous CPU tensor (bfloat16 through ml_dtypes)."""
    if t.dtype == torch.bfloat16:
        import ml_dtypes
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()

def _viewable(t: torch.Tensor) -> bool:
    """Whether ``t``'s values are exactly its NumPy view's: CPU, contiguous, no lazy conj/neg."""
    return t.is_cpu and t.is_contiguous() and not t.is_conj() and not t.is_neg()


def _fill_plain(t: torch.Tensor, fill) -> None:
    if _viewable(t):
        fill(_numpy_view(t))
    else:
        tmp = torch.empty(t.shape, dtype=t.dtype, device="cpu")
        fill(_numpy_view(tmp))
        t.copy_(tmp)


def _fill_tensor(tensor: torch.Tensor, fill, sharded: bool = False) -> torch.Tensor:
    """Run ``fill(ndarray)`` on ``tensor``'s values in place (staging when it must); return it.

    A ``DTensor`` is filled shard by shard: with ``sharded=True`` ``fill(local_ndarray,
    global_shape=..., index=...)`` generates only the local block; otherwise the whole tensor is
    filled on the CPU and the local block copied out (for fills that need all of it).
    """
    _check_tensor(tensor)
    if tensor.is_meta:
        return tensor
    with torch.no_grad():
        shard = _dtensor_shard(tensor.detach())
        if shard is None:
            _fill_plain(tensor.detach(), fill)
            return tensor
        local, global_shape, index = shard
        if local.is_meta:
            return tensor
        if sharded:
            _fill_plain(local, lambda a: fill(a, global_shape=global_shape, index=index))
        else:
            full = torch.empty(global_shape, dtype=local.dtype, device="cpu")
            fill(_numpy_view(full))
            local.copy_(full[index])
    return tensor


class _GlobalStreams:
    """torch's convention for calls without ``stream=``: a counter of streams under a seed.

    ``manual_seed(s)`` sets ``(seed, next) = (s, 0)``; each twin called without ``stream=``
    takes ``stream = next`` (then ``next += 1``) and, without ``seed=``, ``seed = s``. The
    state starts as ``manual_seed(0)`` at import. Calls with an explicit ``stream=`` neither
    read nor advance the counter (their ``seed`` defaults to ``s`` all the same).
    """

    def __init__(self):
        self.lock = threading.Lock()
        self.seed, self.next = 0, 0

    def manual_seed(self, seed):
        seed = _resolve_seed(seed)
        with self.lock:
            self.seed, self.next = seed, 0

    def resolve(self, seed, stream):
        if seed is not None and stream is not None:  # nothing to read or take
            return seed, stream
        with self.lock:
            if seed is None:
                seed = self.seed
            if stream is None:
                stream, self.next = self.next, self.next + 1
        return seed, stream


_GLOBAL = _GlobalStreams()


def manual_seed(seed) -> None:
    """Seed the stream counter that the twins use when called without ``stream=``.

    After ``manual_seed(s)``, the ``k``-th such call (``k = 0, 1, ...``, counted over every
    twin and thread of the process) fills with ``seed=s, stream=k``: so
    ``for l in layers: pt.xavier_uniform_(l.weight)`` gives each layer new values, the same
    ones in every run, like ``torch.manual_seed`` with ``torch.nn.init``. A call with
    ``stream=`` is order-free: it does not take a counter value. ``seed=`` defaults to ``s``.
    Independent of ``torch.manual_seed`` (torch's RNG is never used).

    >>> import torch, philoxinit.torch as pt
    >>> pt.manual_seed(5)
    >>> a, b = pt.normal_(torch.empty(4)), pt.normal_(torch.empty(4))
    >>> bool(torch.equal(b, pt.normal_(torch.empty(4), seed=5, stream=1)))
    True
    >>> bool(torch.equal(a, b))
    False
    """
    _GLOBAL.manual_seed(seed)


def initial_seed() -> int:
    """The seed of the last :func:`manual_seed` (0 before any).

    >>> import philoxinit.torch as pt
    >>> pt.manual_seed(12); pt.initial_seed()
    12
    """
    return _GLOBAL.seed


_DIST_FNS = {"uniform": "uniform_", "normal": "normal_", "trunc_normal": "trunc_normal_"}
_PLAIN_TYPES = (torch.Tensor, torch.nn.Parameter)


def _fill_dist(tensor, dist_params, seed, stream, offset, threads):
    seed, stream = _GLOBAL.resolve(seed, stream)
    dist, params = dist_params
    fn = getattr(_pxi, _DIST_FNS[dist])
    # the common case, a plain contiguous CPU tensor, straight into its NumPy view
    if type(tensor) in _PLAIN_TYPES and tensor.dtype in _NUMPY_DTYPES and _viewable(tensor):
        fn((tensor.detach() if tensor.requires_grad else tensor).numpy(), *params, seed=seed,
           stream=stream, offset=offset, threads=threads)
        return tensor
    return _fill_tensor(tensor, lambda a, **shard: fn(a, *params, seed=seed, stream=stream,
                                                      offset=offset, threads=threads, **shard),
                        sharded=True)


# ---- torch.nn.init twins ---------------------------------------------------------------------

def uniform_(tensor, a=0.0, b=1.0, generator=None, *, seed=None, stream=None, offset=0,
            threads=None):
    """Fill ``tensor`` in place with ``U(a, b)`` (``torch.nn.init.uniform_``); returns it.

    ``u = (w >> 8) * 2**-24`` from the element's Philox word ``w``, value ``a + u * (b - a)``,
    in ``[a, b)``. ``generator`` is ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.uniform_(torch.empty(3, 4), -1.0, 1.0, seed=7)
    >>> bool(((w >= -1) & (w < 1)).all())
    True
    """
    return _fill_dist(tensor, ("uniform", (a, b)), seed, stream, offset, threads)


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, seed=None, stream=None, offset=0,
            threads=None):
    """Fill ``tensor`` in place with ``N(mean, std**2)`` (``torch.nn.init.normal_``); returns it.

    ``mean + std * ndtri(((w >> 8) + 1/2) * 2**-24)``. ``generator`` is ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.normal_(torch.empty(100_000), 0.0, 0.02, seed=3)
    >>> abs(float(w.std()) - 0.02) < 1e-3
    True
    """
    return _fill_dist(tensor, ("normal", (mean, std)), seed, stream, offset, threads)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, seed=None,
                  stream=None, offset=0, threads=None):
    """``N(mean, std**2)`` truncated to the absolute bounds ``[a, b]`` (``torch.nn.init.trunc_normal_``).

    Inverse CDF: ``mean + std * ndtri(Phi(alpha) + u * (Phi(beta) - Phi(alpha)))``,
    ``alpha = (a - mean) / std``, ``beta = (b - mean) / std``. ``generator`` is ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.trunc_normal_(torch.empty(1000), std=0.02, a=-0.04, b=0.04, seed=0)
    >>> bool(w.abs().max() <= 0.04)
    True
    """
    return _fill_dist(tensor, ("trunc_normal", (mean, std, a, b)), seed, stream, offset, threads)


def constant_(tensor, val):
    """Fill ``tensor`` with ``val``: exactly ``torch.nn.init.constant_`` (no randomness).

    >>> import torch, philoxinit.torch as pt
    >>> pt.constant_(torch.empty(2), 0.5).tolist()
    [0.5, 0.5]
    """
    return _ORIGINAL["constant_"](tensor, val)


def ones_(tensor):
    """Fill ``tensor`` with 1: exactly ``torch.nn.init.ones_``.

    >>> import torch, philoxinit.torch as pt
    >>> pt.ones_(torch.empty(2)).tolist()
    [1.0, 1.0]
    """
    return _ORIGINAL["ones_"](tensor)


def zeros_(tensor):
    """Fill ``tensor`` with 0: exactly ``torch.nn.init.zeros_``.

    >>> import torch, philoxinit.torch as pt
    >>> pt.zeros_(torch.ones(2)).tolist()
    [0.0, 0.0]
    """
    return _ORIGINAL["zeros_"](tensor)


def eye_(tensor):
    """The identity matrix ``I[i, j] = (i == j)`` in a 2-D tensor: exactly ``torch.nn.init.eye_``.

    >>> import torch, philoxinit.torch as pt
    >>> pt.eye_(torch.empty(2, 2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    return _ORIGINAL["eye_"](tensor)


def dirac_(tensor, groups=1):
    """Dirac delta ``w[g*out_g + d, d, center...] = 1`` in a 3/4/5-D tensor: ``torch.nn.init.dirac_``.

    >>> import torch, philoxinit.torch as pt
    >>> float(pt.dirac_(torch.empty(2, 2, 3)).sum())
    2.0
    """
    return _ORIGINAL["dirac_"](tensor, groups)


def calculate_gain(nonlinearity, param=None):
    """``torch.nn.init.calculate_gain`` itself: 1 (linear/conv/sigmoid), 5/3 (tanh), sqrt(2)
    (relu), 3/4 (selu), ``sqrt(2 / (1 + slope**2))`` (leaky_relu, ``slope = param or 0.01``).

    >>> import philoxinit.torch as pt
    >>> pt.calculate_gain("relu")
    1.4142135623730951
    """
    return _ORIGINAL["calculate_gain"](nonlinearity, param)


def _zero_element_xavier(tensor) -> bool:
    """torch's xavier on a zero-element tensor: no-op, ZeroDivisionError if fan_in + fan_out == 0."""
    if tensor.numel() != 0:
        return False
    fan_in, fan_out = _rules.compute_fans(tuple(tensor.shape), "torch")
    if fan_in + fan_out == 0:
        raise ZeroDivisionError("float division by zero (fan_in + fan_out == 0)")
    return True


def xavier_uniform_(tensor, gain=1.0, generator=None, *, seed=None, stream=None, offset=0,
            threads=None):
    """``torch.nn.init.xavier_uniform_``: ``U(-b, b)``, ``b = gain * sqrt(6 / (fan_in + fan_out))``.

    Evaluated as torch does: ``sqrt(3) * gain * sqrt(2 / (fan_in + fan_out))``. ``generator`` is
    ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.xavier_uniform_(torch.empty(64, 32), seed=0, stream="attn.in_proj_weight")
    >>> bool(w.abs().max() < (6 / 96) ** 0.5)
    True
    """
    _check_tensor(tensor)
    if _zero_element_xavier(tensor):
        return tensor
    params = _rules.xavier_uniform_params(tuple(tensor.shape), gain)
    return _fill_dist(tensor, params, seed, stream, offset, threads)


def xavier_normal_(tensor, gain=1.0, generator=None, *, seed=None, stream=None, offset=0,
            threads=None):
    """``torch.nn.init.xavier_normal_``: ``N(0, std**2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.xavier_normal_(torch.empty(500, 300), seed=0)
    >>> abs(float(w.std()) - (2 / 800) ** 0.5) < 1e-3
    True
    """
    _check_tensor(tensor)
    if _zero_element_xavier(tensor):
        return tensor
    params = _rules.xavier_normal_params(tuple(tensor.shape), gain)
    return _fill_dist(tensor, params, seed, stream, offset, threads)


def _kaiming(tensor, params_fn, a, mode, nonlinearity, seed, stream, offset, threads):
    _check_tensor(tensor)
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=3)
        return tensor
    params = params_fn(tuple(tensor.shape), a, mode, nonlinearity)
    return _fill_dist(tensor, params, seed, stream, offset, threads)


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                     seed=None, stream=None, offset=0, threads=None):
    """``torch.nn.init.kaiming_uniform_``: ``U(-b, b)``, ``b = sqrt(3) * gain / sqrt(fan)``.

    ``gain = calculate_gain(nonlinearity, a)``, ``fan`` = fan_in or fan_out (``mode``). With
    ``a=sqrt(5)`` (``nn.Linear``'s default) ``b = 1 / sqrt(fan_in)``. ``generator`` is ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.kaiming_uniform_(torch.empty(128, 64), nonlinearity="relu", seed=1)
    >>> bool(w.abs().max() < 2 ** 0.5 * (3 / 64) ** 0.5)
    True
    """
    return _kaiming(tensor, _rules.kaiming_uniform_params, a, mode, nonlinearity, seed, stream,
                    offset, threads)


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu", generator=None, *,
                    seed=None, stream=None, offset=0, threads=None):
    """``torch.nn.init.kaiming_normal_``: ``N(0, std**2)``, ``std = gain / sqrt(fan)``.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.kaiming_normal_(torch.empty(1000, 200), mode="fan_out", nonlinearity="relu")
    >>> abs(float(w.std()) - (2 / 1000) ** 0.5) < 1e-3
    True
    """
    return _kaiming(tensor, _rules.kaiming_normal_params, a, mode, nonlinearity, seed, stream,
                    offset, threads)


def orthogonal_(tensor, gain=1, generator=None, *, seed=None, stream=None, offset=0,
            threads=None):
    """``torch.nn.init.orthogonal_``: a (semi-)orthogonal matrix times ``gain``.

    torch's algorithm on a philoxinit normal matrix: ``A ~ N(0, 1)`` of shape
    ``(rows, numel // rows)`` (element ``i`` from word ``offset + i``, float64 for float64
    tensors, else float32), transposed when ``rows < cols``; ``Q, R = torch.linalg.qr(A)``;
    ``Q *= sign(diag(R))``; transposed back; ``tensor = gain * Q``. ``generator`` is ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.orthogonal_(torch.empty(8, 8), seed=0)
    >>> bool(torch.allclose(w @ w.T, torch.eye(8), atol=1e-5))
    True
    """
    _check_tensor(tensor)
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0 or tensor.is_meta:
        return tensor
    seed, stream = _GLOBAL.resolve(seed, stream)
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    work = np.float64 if tensor.dtype == torch.float64 else np.float32
    flat = torch.from_numpy(_pxi.normal_(np.empty((rows, cols), work), 0.0, 1.0, seed=seed,
                                         stream=stream, offset=offset, threads=threads))
    if rows < cols:
        flat = flat.t()
    q, r = torch.linalg.qr(flat)
    q *= torch.diag(r, 0).sign()
    if rows < cols:
        q = q.t()
    shard = _dtensor_shard(tensor.detach())
    if shard is not None:   # every rank computes the (small) global Q, keeps its block
        local, global_shape, index = shard
        with torch.no_grad():
            full = q.reshape(global_shape).to(local.dtype)
            local.copy_(full[index])
            local.mul_(gain)
        return tensor
    with torch.no_grad():
        if tensor.is_contiguous():
            tensor.view_as(q).copy_(q)
        else:
            tensor.copy_(q.reshape(tensor.shape))
        tensor.mul_(gain)
    return tensor


def sparse_(tensor, sparsity, std=0.01, generator=None, *, seed=None, stream=None, offset=0,
            threads=None):
    """``torch.nn.init.sparse_``: ``N(0, std**2)``, then ``ceil(sparsity * rows)`` zeros per column.

    The normal values are those of :func:`normal_` with the same arguments. The rows zeroed in
    column ``c`` are the first ``ceil(sparsity * rows)`` of a stable ``argsort`` of the column's
    keys: ``random_raw`` words ``offset .. offset + numel - 1`` (C order, shape ``(rows, cols)``)
    of the derived stream ``stream_id("philoxinit.sparse_/" + str(stream_id(stream)))``.
    ``generator`` is ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.sparse_(torch.empty(10, 4), sparsity=0.3, seed=0)
    >>> (w == 0).sum(0).tolist()
    [3, 3, 3, 3]
    """
    _check_tensor(tensor)
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    seed, stream = _GLOBAL.resolve(seed, stream)
    perm_stream = _stream_id("philoxinit.sparse_/" + str(_stream_id(stream)))

    def fill(arr):
        _pxi.normal_(arr, 0.0, std, seed=seed, stream=stream, offset=offset, threads=threads)
        if num_zeros > 0 and arr.size:
            keys = _pxi.random_raw(rows * cols, seed, perm_stream, offset,
                                   threads=threads).reshape(rows, cols)
            idx = np.argsort(keys, axis=0, kind="stable")[:num_zeros]
            np.put_along_axis(arr, idx, arr.dtype.type(0), axis=0)

    return _fill_tensor(tensor, fill)


# ---- torch's deprecated names without the trailing underscore -------------------------------

def _deprecated(new):
    old = new.__name__[:-1]

    def deprecated_init(*args, **kwargs):
        warnings.warn(f"`nn.init.{old}` is now deprecated in favor of `nn.init.{new.__name__}`.",
                      FutureWarning, stacklevel=2)
        return new(*args, **kwargs)

    deprecated_init.__name__ = deprecated_init.__qualname__ = old
    deprecated_init.__doc__ = (f"Deprecated alias of :func:`{new.__name__}` (as "
                               f"``torch.nn.init.{old}``): warns FutureWarning, then calls it.")
    deprecated_init.__wrapped__ = new
    return deprecated_init


uniform = _deprecated(uniform_)
normal = _deprecated(normal_)
constant = _deprecated(constant_)
eye = _deprecated(eye_)
dirac = _deprecated(dirac_)
xavier_uniform = _deprecated(xavier_uniform_)
xavier_normal = _deprecated(xavier_normal_)
kaiming_uniform = _deprecated(kaiming_uniform_)
kaiming_normal = _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
sparse = _deprecated(sparse_)
DEPRECATED_NAMES = ("uniform", "normal", "constant", "eye", "dirac", "xavier_uniform",
                    "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse")
