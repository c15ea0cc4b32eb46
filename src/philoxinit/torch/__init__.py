"""``torch.nn.init`` on philoxinit streams: same names, same signatures, deterministic values.

Importing this module needs PyTorch (``import philoxinit`` itself never imports torch). Every
function of ``torch.nn.init`` is here under the same name, with the same positional parameters
and defaults, plus keyword-only ``seed=None, stream=None, offset=0, threads=None``. Element ``i``
in C order of the *logical* tensor gets Philox word ``offset + i`` of ``(seed, stream)``, exactly
as the NumPy API (``philoxinit.uniform_(tensor.numpy(), ...)``) would give it; the bounds and
stds are torch's own, computed with torch's arithmetic (:mod:`philoxinit.rules`).

* torch's convention for the defaults: a call without ``stream=`` takes the next stream of a
  counter, so successive calls give new values; :func:`manual_seed` ``(s)`` restarts it
  (``seed=s``, streams ``0, 1, 2, ...``), like ``torch.manual_seed``. ``seed=None`` means the
  last ``manual_seed`` (0 at import). An explicit ``stream=`` (a name such as
  ``"layers.3.weight"`` or an int) is order-free and leaves the counter alone: use it for
  values that must not depend on what else was initialized first.
* torch's deprecated names without the underscore (``normal``, ``xavier_uniform``, ...) are
  here too and warn FutureWarning, as torch's do.

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
from __future__ import annotations

from ._twins import (
    uniform_, normal_, trunc_normal_, constant_, ones_, zeros_, eye_, dirac_, xavier_uniform_,
    xavier_normal_, kaiming_uniform_, kaiming_normal_, orthogonal_, sparse_, calculate_gain,
    manual_seed, initial_seed, _ORIGINAL, _SUPPORTED)
from ._twins import (  # torch's deprecated aliases (FutureWarning)
    uniform, normal, constant, eye, dirac, xavier_uniform, xavier_normal, kaiming_uniform,
    kaiming_normal, orthogonal, sparse)
from ._own_init import init_module
from ._fast_init import fast_init, _RANDOM
from ._plan import InitPlan, plan_init

__all__ = [
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_",
    "sparse_", "calculate_gain", "manual_seed", "initial_seed", "init_module", "fast_init",
    "plan_init", "InitPlan",
    "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
]
