"""Complex outputs (docs/stream.md §8): a complex tensor filled through its real view.

A complex64 (complex128) tensor of shape ``S`` is filled through its float32 (float64) view of
shape ``S + (2,)``: element ``k`` (C order) takes two uniforms ``u1, u2`` -- the ``U(0, 1)``
values that ``uniform_`` writes into view elements ``(k, 0)`` and ``(k, 1)``, i.e. from
consecutive words -- and becomes, in float64,

    z = scale * rho(u1) * (cos(2 pi u2) + i sin(2 pi u2))

with ``rho`` from the distribution:

* ``"normal"``: ``rho = sqrt(-log1p(-u1))``: ``|z|**2 / scale**2`` is Exp(1), so the real and
  imaginary parts are independent ``N(0, scale**2 / 2)`` and ``E|z|**2 = scale**2`` (JAX's
  complex normal);
* ``"trunc_normal"`` with modulus bound ``upper`` (in units of ``scale``):
  ``rho = sqrt(-log1p(expm1(-upper**2) * u1))``, the normal above conditioned on
  ``rho < upper`` (JAX's ``_complex_truncated_normal``);
* ``"uniform"``: ``rho = sqrt(2 u1)``: uniform on the disk of radius ``sqrt(2) * scale``,
  ``E|z|**2 = scale**2`` (JAX's ``_complex_uniform``).

The real and imaginary parts are rounded once to the output's real dtype. Both backends
produce the uniforms bit for bit and then run this same NumPy code, so ``philoxinit`` and
``philoxinit.reference`` agree bit for bit.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from ._checks import check_array_out
from ._streams import resolve_offset

COMPLEX_DISTS = ("normal", "trunc_normal", "uniform")
_REAL_OF = {"complex64": np.dtype(np.float32), "complex128": np.dtype(np.float64)}
_CHUNK = 1 << 20  # complex elements transformed per step


def check_complex_out(out) -> np.dtype:
    """The real dtype of a writable, native-order complex64/complex128 ndarray ``out``."""
    check_array_out(out, _REAL_OF, "complex64 or complex128")
    return _REAL_OF[out.dtype.name]


def _nonnegative(value, name: str, *, allow_inf: bool = False) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.floating,
                                                                     np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if math.isnan(value) or value < 0 or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be a {'' if allow_inf else 'finite '}number >= 0, "
                         f"got {value}")
    return value


def _view_shard(global_shape, index):
    """global_shape/index of the real view: one more whole dimension of length 2."""
    if global_shape is None:
        return None, index  # shard_layout refuses an index without global_shape
    dims = tuple(global_shape)
    if index is None:
        index = ()
    if isinstance(index, slice):
        index = (index,)
    if not isinstance(index, tuple):
        raise TypeError(f"index must be a tuple of slices, got {index!r}")
    if len(index) > len(dims):
        raise ValueError(f"index has {len(index)} slices for a {len(dims)}-d global_shape")
    index = index + (slice(None),) * (len(dims) - len(index))
    return dims + (2,), index + (slice(None),)


def _modulus(dist: str, u1: np.ndarray, upper: float) -> np.ndarray:
    if dist == "normal":
        return np.sqrt(-np.log1p(-u1))
    if dist == "trunc_normal":
        return np.sqrt(-np.log1p(np.expm1(-upper * upper) * u1))
    return np.sqrt(2.0 * u1)


def fill_complex(api, out, dist="normal", scale=1.0, upper=2.0, *, seed=0, stream=0, offset=0,
                 threads=None, global_shape=None, index=None):
    """Fill the complex ``out`` in place by the rule of the module docstring; returns ``out``.

    ``api`` is the :class:`philoxinit._api.InitAPI` whose ``uniform_`` makes the uniforms.
    ``offset`` counts complex elements (element ``k`` uses the words of real-view elements
    ``2 (offset + k)`` and ``2 (offset + k) + 1``).
    """
    real = check_complex_out(out)
    if not isinstance(dist, str) or dist not in COMPLEX_DISTS:
        raise ValueError(f"dist must be one of {', '.join(map(repr, COMPLEX_DISTS))}; got {dist!r}")
    scale = _nonnegative(scale, "scale")
    if dist == "trunc_normal":
        upper = _nonnegative(upper, "upper", allow_inf=True)
        if upper == 0:
            raise ValueError("upper must be > 0 for a truncated complex normal")
    offset = resolve_offset(offset, out.size)
    view_shape, view_index = _view_shard(global_shape, index)
    target = out if out.flags.c_contiguous else np.empty(out.shape, out.dtype)
    view = target.reshape(-1).view(real).reshape(out.shape + (2,))
    api.uniform_(view, 0.0, 1.0, seed=seed, stream=stream, offset=2 * offset, threads=threads,
                 global_shape=view_shape, index=view_index)
    flat = view.reshape(-1, 2)
    for start in range(0, flat.shape[0], _CHUNK):
        part = flat[start:start + _CHUNK]
        u = part.astype(np.float64)
        magnitude = scale * _modulus(dist, u[:, 0], upper)
        theta = (2.0 * math.pi) * u[:, 1]
        part[:, 0] = magnitude * np.cos(theta)
        part[:, 1] = magnitude * np.sin(theta)
    if target is not out:
        out[...] = target
    return out
