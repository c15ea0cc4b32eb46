"""``torch.nn.init`` on philoxinit streams: same names, same signatures, deterministic values.

Importing this module needs PyTorch (``import philoxinit`` itself never imports torch). Every
function of ``torch.nn.init`` is here under the same name, with the same positional parameters
and defaults, plus keyword-only ``seed=0, stream=0, offset=0, threads=None``. Element ``i`` in C
order of the *logical* tensor gets Philox word ``offset + i`` of ``(seed, stream)``, exactly as
the NumPy API (``philoxinit.uniform_(tensor.numpy(), ...)``) would give it; the bounds and stds
are torch's own, computed with torch's arithmetic (:mod:`philoxinit.rules`).

* ``generator=`` is accepted for signature compatibility and **ignored**: the values are a pure
  function of ``(seed, stream, offset, i)``, never of a torch RNG.
* CPU float32/float64/float16 tensors are filled in place through ``tensor.detach().numpy()``
  and bfloat16 ones through ``tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)``: no
  copy, the storage (``data_ptr``) is unchanged.
* Non-contiguous CPU tensors are filled through a contiguous temporary and ``tensor.copy_``.
* Tensors on another device (CUDA, ...) are filled on a CPU staging tensor and copied over.
* ``meta`` tensors have no storage: every function is a no-op on them (like torch's).
* ``torch.distributed.tensor.DTensor`` (``distribute_tensor``, FSDP2 ``fully_shard``) with
  ``Shard(dim)`` / ``Replicate()`` placements: each rank fills only its local shard
  (``global_shape=``/``index=`` of the NumPy API), so ``full_tensor()`` equals the
  single-process fill bit for bit; no communication. ``sparse_`` and ``orthogonal_`` need the
  whole tensor: each rank computes it and keeps its block.
* Zero-element tensors: like torch (``kaiming_*_`` warn "Initializing zero-element tensors is
  a no-op"; the others silently return).

Beyond ``torch.nn.init``: :func:`init_module` re-initializes a whole model with one stream per
parameter name (order independent, works after ``meta`` + ``to_empty``), and :func:`fast_init`
routes ``torch.nn.init`` itself to philoxinit while modules are constructed.

>>> import torch, philoxinit.torch as pt
>>> w = pt.kaiming_uniform_(torch.empty(64, 32), a=5 ** 0.5, seed=1, stream="fc.weight")
>>> bool(w.abs().max() <= 1 / 32 ** 0.5)
True
"""
from __future__ import annotations

import contextlib
import fnmatch
import itertools
import math
import sys
import threading
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.init as _tinit

import philoxinit as _pxi
from . import rules as _rules
from ._streams import resolve_seed as _resolve_seed, stream_id as _stream_id

__all__ = [
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
    "sparse_", "calculate_gain", "init_module", "fast_init",
]

# torch's own functions, captured at import (fast_init patches torch.nn.init temporarily).
_ORIGINAL = {name: getattr(_tinit, name) for name in (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
    "sparse_", "calculate_gain")}

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


def _fill_plain(t: torch.Tensor, fill) -> None:
    if t.device.type == "cpu" and t.is_contiguous() and not t.is_conj() and not t.is_neg():
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


def _fill_dist(tensor, dist_params, seed, stream, offset, threads):
    dist, params = dist_params
    fn = {"uniform": _pxi.uniform_, "normal": _pxi.normal_, "trunc_normal": _pxi.trunc_normal_}[dist]
    return _fill_tensor(tensor, lambda a, **shard: fn(a, *params, seed=seed, stream=stream,
                                                      offset=offset, threads=threads, **shard),
                        sharded=True)


# ---- torch.nn.init twins ---------------------------------------------------------------------

def uniform_(tensor, a=0.0, b=1.0, generator=None, *, seed=0, stream=0, offset=0, threads=None):
    """Fill ``tensor`` in place with ``U(a, b)`` (``torch.nn.init.uniform_``); returns it.

    ``u = (w >> 8) * 2**-24`` from the element's Philox word ``w``, value ``a + u * (b - a)``,
    in ``[a, b)``. ``generator`` is ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.uniform_(torch.empty(3, 4), -1.0, 1.0, seed=7)
    >>> bool(((w >= -1) & (w < 1)).all())
    True
    """
    return _fill_dist(tensor, ("uniform", (a, b)), seed, stream, offset, threads)


def normal_(tensor, mean=0.0, std=1.0, generator=None, *, seed=0, stream=0, offset=0, threads=None):
    """Fill ``tensor`` in place with ``N(mean, std**2)`` (``torch.nn.init.normal_``); returns it.

    ``mean + std * ndtri(((w >> 8) + 1/2) * 2**-24)``. ``generator`` is ignored.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.normal_(torch.empty(100_000), 0.0, 0.02, seed=3)
    >>> abs(float(w.std()) - 0.02) < 1e-3
    True
    """
    return _fill_dist(tensor, ("normal", (mean, std)), seed, stream, offset, threads)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None, *, seed=0, stream=0,
                  offset=0, threads=None):
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


def xavier_uniform_(tensor, gain=1.0, generator=None, *, seed=0, stream=0, offset=0, threads=None):
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


def xavier_normal_(tensor, gain=1.0, generator=None, *, seed=0, stream=0, offset=0, threads=None):
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
                     seed=0, stream=0, offset=0, threads=None):
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
                    seed=0, stream=0, offset=0, threads=None):
    """``torch.nn.init.kaiming_normal_``: ``N(0, std**2)``, ``std = gain / sqrt(fan)``.

    >>> import torch, philoxinit.torch as pt
    >>> w = pt.kaiming_normal_(torch.empty(1000, 200), mode="fan_out", nonlinearity="relu")
    >>> abs(float(w.std()) - (2 / 1000) ** 0.5) < 1e-3
    True
    """
    return _kaiming(tensor, _rules.kaiming_normal_params, a, mode, nonlinearity, seed, stream,
                    offset, threads)


def orthogonal_(tensor, gain=1, generator=None, *, seed=0, stream=0, offset=0, threads=None):
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


def sparse_(tensor, sparsity, std=0.01, generator=None, *, seed=0, stream=0, offset=0, threads=None):
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
    perm_stream = _stream_id("philoxinit.sparse_/" + str(_stream_id(stream)))

    def fill(arr):
        _pxi.normal_(arr, 0.0, std, seed=seed, stream=stream, offset=offset, threads=threads)
        if num_zeros > 0 and arr.size:
            keys = _pxi.random_raw(rows * cols, seed, perm_stream, offset,
                                   threads=threads).reshape(rows, cols)
            idx = np.argsort(keys, axis=0, kind="stable")[:num_zeros]
            np.put_along_axis(arr, idx, arr.dtype.type(0), axis=0)

    return _fill_tensor(tensor, fill)


# ---- init_module -----------------------------------------------------------------------------

_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase) + (
    (nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())
_CONVS = (nn.modules.conv._ConvNd,)


def _linear_bias(bias, weight, seed, stream):
    fan_in = _rules.compute_fans(tuple(weight.shape), "torch")[0] if weight.dim() >= 2 else 0
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    uniform_(bias, -bound, bound, seed=seed, stream=stream)


def _default_rules(module):
    """``{param_name: (description, fn(tensor, seed, stream))}`` for the module's own parameters,
    as its ``reset_parameters`` would initialize them, or None when the type is unknown."""
    def kaiming_sqrt5(t, seed, stream):
        kaiming_uniform_(t, a=math.sqrt(5), seed=seed, stream=stream)

    out = {}
    if isinstance(module, (nn.Linear,) + _CONVS):
        w = module.weight
        out["weight"] = ("kaiming_uniform(a=sqrt(5))", kaiming_sqrt5)
        if getattr(module, "bias", None) is not None:
            out["bias"] = ("uniform(+-1/sqrt(fan_in))",
                           lambda t, seed, stream: _linear_bias(t, w, seed, stream))
        return out
    if isinstance(module, nn.Embedding):
        pad = module.padding_idx

        def embed(t, seed, stream):
            normal_(t, seed=seed, stream=stream)
            if pad is not None:
                with torch.no_grad():
                    shard = _dtensor_shard(t.detach())
                    if shard is None:
                        t[pad].fill_(0)
                    else:   # zero the padding row where this rank holds it
                        local, global_shape, index = shard
                        row = pad % global_shape[0]
                        if index[0].start <= row < index[0].stop:
                            local[row - index[0].start].fill_(0)
        out["weight"] = ("normal(0, 1)" + (f", row {pad} zeroed" if pad is not None else ""), embed)
        return out
    if isinstance(module, _NORMS):
        if getattr(module, "weight", None) is not None:
            out["weight"] = ("ones", lambda t, seed, stream: ones_(t))
        if getattr(module, "bias", None) is not None:
            out["bias"] = ("zeros", lambda t, seed, stream: zeros_(t))
        return out
    if isinstance(module, nn.MultiheadAttention):
        def xu(t, seed, stream):
            xavier_uniform_(t, seed=seed, stream=stream)

        def xn(t, seed, stream):
            xavier_normal_(t, seed=seed, stream=stream)
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            if getattr(module, name, None) is not None:
                out[name] = ("xavier_uniform", xu)
        if module.in_proj_bias is not None:
            out["in_proj_bias"] = ("zeros", lambda t, seed, stream: zeros_(t))
        for name in ("bias_k", "bias_v"):
            if getattr(module, name, None) is not None:
                out[name] = ("xavier_normal", xn)
        return out
    return None


def _rule_callable(rule):
    """A rules-dict value -> ``(description, fn(tensor, seed, stream))``."""
    if callable(rule):
        return getattr(rule, "__name__", repr(rule)), rule
    if isinstance(rule, str):
        rule = (rule, {})
    if isinstance(rule, tuple) and rule and isinstance(rule[0], str):
        name = rule[0] if rule[0].endswith("_") else rule[0] + "_"
        kwargs = dict(rule[1]) if len(rule) > 1 else {}
        if name not in __all__ or not name.endswith("_"):
            raise ValueError(f"unknown init function {rule[0]!r} in rules")
        fn = globals()[name]
        if name in ("constant_", "ones_", "zeros_", "eye_", "dirac_"):
            return f"{name[:-1]}{kwargs or ''}", lambda t, seed, stream: fn(t, **kwargs)
        return f"{name[:-1]}{kwargs or ''}", lambda t, seed, stream: fn(t, seed=seed, stream=stream,
                                                                        **kwargs)
    raise TypeError(f"a rule must be a callable (tensor, seed, stream) or a tuple "
                    f"(name, kwargs), got {rule!r}")


def init_module(module, seed, rules=None, *, prefix="", progress=False):
    """Re-initialize every parameter of ``module`` like its own ``reset_parameters``, on
    philoxinit streams named after the parameters; returns ``{qualified_name: rule}``.

    Parameter ``p`` with qualified name ``q`` (``module.named_parameters()``) is filled with
    ``seed=seed, stream=prefix + q``, so the weights depend only on ``(seed, name, shape)`` -- not on
    the construction order, the torch RNG, or the device the model was built on (e.g. ``meta``
    then ``model.to_empty(device="cpu")``). Defaults (torch's own rules and bounds):

    * ``nn.Linear``, ``nn.Conv{1,2,3}d``, ``nn.ConvTranspose{1,2,3}d``: weight
      ``kaiming_uniform_(a=sqrt(5))`` (``U(+-1/sqrt(fan_in))``, fans from the weight's shape, so
      transposed convs use ``weight.shape[1] * prod(kernel)``), bias ``U(+-1/sqrt(fan_in))``.
    * ``nn.Embedding``: ``N(0, 1)``, row ``padding_idx`` zeroed.
    * ``nn.LayerNorm``, ``nn.RMSNorm``, ``nn.GroupNorm``, ``nn.BatchNorm*d``/``InstanceNorm``:
      weight 1, bias 0 (BatchNorm running stats reset with ``reset_running_stats()``).
    * ``nn.MultiheadAttention`` (its ``_reset_parameters``): ``xavier_uniform_`` on
      ``in_proj_weight`` (or ``q/k/v_proj_weight``), 0 on ``in_proj_bias`` and ``out_proj.bias``,
      ``xavier_normal_`` on ``bias_k``/``bias_v``; ``out_proj.weight`` keeps the
      ``nn.Linear`` rule (torch never re-initializes it).

    ``rules`` maps a module type or an fnmatch pattern (matched against the qualified parameter
    name, with ``prefix``) to a callable ``(tensor, seed, stream) -> None`` or a tuple
    ``(name, kwargs)`` naming a function of this module, e.g. ``("normal", {"std": 0.02})``.
    The first matching pattern wins; then a type key (``isinstance``, first match); then the
    defaults. Modules with parameters of other types (and no rule for them) fall back to their
    own ``reset_parameters()`` (torch RNG, not deterministic here) with a warning, or are left
    untouched with a warning when they have none. ``DTensor`` parameters (tensor
    parallel, FSDP2) are filled shard by shard from their global shape, so every parallel layout
    gives the single-process weights (docs/parallel.md). Composite ``_reset_parameters`` of container
    modules (e.g. ``nn.Transformer``'s xavier on every matrix) are not reproduced: use ``rules``.
    ``progress=True`` shows a tqdm bar (if installed) over the parameters' elements when there
    are more than 2**24 of them; the values are the same.

    >>> import torch.nn as nn, philoxinit.torch as pt
    >>> m = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8))
    >>> report = pt.init_module(m, seed=0, rules={"0.bias": ("zeros", {})})
    >>> report["0.weight"], report["0.bias"], report["1.weight"]
    ('kaiming_uniform(a=sqrt(5))', 'zeros', 'ones')
    """
    rules = dict(rules or {})
    patterns = [(k, _rule_callable(v)) for k, v in rules.items() if isinstance(k, str)]
    types = [(k, _rule_callable(v)) for k, v in rules.items() if isinstance(k, type)]
    bad = [k for k in rules if not isinstance(k, (str, type))]
    if bad:
        raise TypeError(f"rules keys must be module types or str patterns, got {bad!r}")

    plan = {}          # qualified name -> (description, fn, tensor)
    fallback = []      # (module name, module) with unknown parameters
    with torch.no_grad():
        for mod_name, mod in module.named_modules():
            own = dict(mod.named_parameters(recurse=False))
            if not own:
                if isinstance(mod, nn.modules.batchnorm._NormBase):
                    mod.reset_running_stats()
                continue
            defaults = _default_rules(mod)
            type_rule = next((r for k, r in types if isinstance(mod, k)), None)
            uncovered = []
            for pname, p in own.items():
                q = prefix + (f"{mod_name}.{pname}" if mod_name else pname)
                rule = next((r for pat, r in patterns if fnmatch.fnmatchcase(q, pat)), None)
                if rule is None:
                    rule = type_rule
                if rule is None and defaults is not None:
                    rule = defaults.get(pname)
                if rule is None:
                    uncovered.append(pname)
                    continue
                plan[q] = (rule[0], rule[1], p)
            if isinstance(mod, nn.modules.batchnorm._NormBase):
                mod.reset_running_stats()
            if isinstance(mod, nn.MultiheadAttention) and mod.in_proj_bias is not None \
                    and mod.out_proj.bias is not None:
                q = prefix + (f"{mod_name}.out_proj.bias" if mod_name else "out_proj.bias")
                if not any(fnmatch.fnmatchcase(q, pat) for pat, _ in patterns):
                    plan[q + "\0mha"] = ("zeros", lambda t, seed, stream: zeros_(t),
                                         mod.out_proj.bias)
            if uncovered:
                fallback.append((mod_name, mod, uncovered))

        report = {}
        for mod_name, mod, names in fallback:
            if hasattr(mod, "reset_parameters"):
                mod.reset_parameters()
                how = f"{type(mod).__name__}.reset_parameters() (torch RNG)"
            else:
                how = "left untouched"
            for pname in names:
                report[prefix + (f"{mod_name}.{pname}" if mod_name else pname)] = how
        if fallback:
            warnings.warn("init_module: no philoxinit rule for "
                          + ", ".join(f"{n or '<root>'} ({type(m).__name__}: {', '.join(ps)})"
                                      for n, m, ps in fallback)
                          + "; used their own reset_parameters() where they have one",
                          stacklevel=2)
        # MultiheadAttention's override of out_proj.bias runs after the Linear rule.
        items = sorted(plan.items(), key=lambda kv: kv[0].endswith("\0mha"))
        bar = None
        if progress:
            from ._progress import PROGRESS_MIN_ELEMENTS, make_bar
            total = sum(t.numel() for _, (_, _, t) in items)
            if total > PROGRESS_MIN_ELEMENTS:
                bar = make_bar(total, "init_module")
        try:
            for q, (desc, fn, tensor) in items:
                name = q.split("\0")[0]
                fn(tensor, seed, name)
                report[name] = desc
                if bar is not None:
                    bar.update(tensor.numel())
        finally:
            if bar is not None:
                bar.close()
    return report


# ---- fast_init -------------------------------------------------------------------------------

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
        ours = globals()[name]

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
