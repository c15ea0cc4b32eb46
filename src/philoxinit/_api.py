"""The public initializer API, written once over a backend.

``philoxinit`` binds it to the C++ core (``_native_backend.NativeBackend``) and
``philoxinit.reference`` to the independent NumPy implementation
(``_reference_backend.NumpyBackend``), so both have the same names, signatures, defaults and
argument checks by construction. A backend provides

* ``random_raw(n, seed, stream, offset, threads) -> uint32 array``
* ``fill(out, dist, params, seed, stream, offset, threads)`` for ``dist`` in
  ``"uniform" (low, high)``, ``"normal" (mean, std)``, ``"trunc_normal" (mean, std, a, b)``,
  called with validated arguments and a writable C-contiguous ``out``;
* ``constant(out, value, threads)``.

Every named rule is one line over :meth:`InitAPI.variance_scaling_` or its torch twin.
"""
from __future__ import annotations

import functools
import inspect
import numbers
import types

import numpy as np

from . import rules
from ._checks import _FLOAT_DTYPES, _OUT_DTYPES, _checked_params, _real, _threads, check_out
from ._shard_layout import _as_shape, shard_layout
from ._streams import resolve_offset, resolve_seed, stream_id


def _inplace(formula: str):
    """Marks an in-place method; ``formula`` is used for the allocating twin's docstring."""
    def mark(method):
        method._formula = formula
        return method
    return mark


class InitAPI:
    """The initializer functions over one backend (see the module docstring)."""

    def __init__(self, backend):
        self._backend = backend

    # ---- the primitives ------------------------------------------------------------------

    def _fill(self, out, dist, params, seed, stream, offset, threads, global_shape=None,
              index=None):
        # The common call (a whole, writable, C-contiguous array of a dtype seen before, no
        # offset, threads or shard) skips the checks that cannot fail for it: a small fill's
        # time is mostly these checks (docs/performance.md, "Per-call overhead").
        if (type(out) is np.ndarray and global_shape is None and index is None
                and threads is None and type(offset) is int and offset == 0
                and out.dtype in _OUT_DTYPES):
            flags = out.flags
            if flags.writeable and flags.c_contiguous and out.size:
                self._backend.fill(out, dist, _checked_params(dist, params, out.dtype),
                                   resolve_seed(seed), stream_id(stream), 0, 0)
                return out
        check_out(out)
        params = _checked_params(dist, params, out.dtype)
        if global_shape is None and index is None:
            layout, total = None, out.size
        else:
            layout = shard_layout(out.shape, global_shape, index)
            total = out.size if layout is None else layout.global_size
        seed, stream = resolve_seed(seed), stream_id(stream)
        offset, threads = resolve_offset(offset, total), _threads(threads)
        if out.size == 0:
            return out
        # Element i in C order of the logical array gets word offset + i (of its global index,
        # for a shard), whatever the memory layout; a non-contiguous view is filled through a
        # contiguous copy.
        target = out if out.flags.c_contiguous else np.empty(out.shape, out.dtype)
        if layout is None or layout.run_starts is None:
            start = 0 if layout is None else layout.first
            self._backend.fill(target, dist, params, seed, stream, offset + start, threads)
        elif hasattr(self._backend, "fill_runs"):
            self._backend.fill_runs(target, dist, params, seed, stream, offset, threads,
                                    layout.run_starts, layout.run_length)
        else:
            flat, length = target.reshape(-1), layout.run_length
            for r, start in enumerate(layout.run_starts.tolist()):
                self._backend.fill(flat[r * length:(r + 1) * length], dist, params, seed, stream,
                                   offset + start, threads)
        if target is not out:
            out[...] = target
        return out

    def random_raw(self, n, seed=0, stream=0, offset=0, *, threads=None):
        """Raw Philox4x32-10 words ``offset .. offset+n-1`` of ``(seed, stream)`` as uint32.

        Word ``w`` is output word ``w mod 4`` of block ``w div 4``; block ``b`` has counter
        ``(b mod 2**32, b >> 32, s mod 2**32, s >> 32)`` and key ``(seed mod 2**32, seed >> 32)``
        (docs/stream.md).

        >>> import philoxinit as pxi
        >>> [hex(w) for w in pxi.random_raw(4, seed=0, stream=0)]
        ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
        """
        if isinstance(n, (bool, np.bool_)) or not isinstance(n, (numbers.Integral, np.integer)):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        seed, stream = resolve_seed(seed), stream_id(stream)
        offset = resolve_offset(offset, int(n))
        return self._backend.random_raw(int(n), seed, stream, offset, _threads(threads))

    @_inplace("U(low, high)")
    def uniform_(self, out, low=0.0, high=1.0, *, seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Fill ``out`` in place with ``U(low, high)``; returns ``out``.

        ``u = (w >> 8) * 2**-24`` from the element's word ``w``, then
        ``min(fma(u, float32(high - low), float32(low)), largest float32 < high)`` with the fma in
        float32 (in float64 when ``high - low`` overflows float32; float64 output: 53-bit ``u``
        from two words and the fma in float64). Values lie in ``[float32(low), high)``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.uniform_(np.empty((2, 3), np.float32), -1.0, 1.0, seed=1)
        >>> bool(((w >= -1) & (w < 1)).all())
        True
        """
        return self._fill(out, "uniform", (low, high), seed, stream, offset, threads, global_shape, index)

    @_inplace("N(mean, std**2)")
    def normal_(self, out, mean=0.0, std=1.0, *, seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Fill ``out`` in place with ``N(mean, std**2)``; returns ``out``.

        ``out = mean + std * ndtri(u')``, ``u' = ((w >> 8) + 1/2) * 2**-24`` (open interval, so
        never infinite; largest ``|z|`` is 5.42 in float32, 8.29 in float64). The float32 quantile
        is accurate to ``2e-6 * max(1, |z|)`` (docs/stream.md §5).

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.normal_(np.empty(100_000, np.float32), 0.0, 0.02, seed=3)
        >>> abs(float(w.std()) - 0.02) < 1e-3
        True
        """
        return self._fill(out, "normal", (mean, std), seed, stream, offset, threads, global_shape, index)

    @_inplace("N(mean, std**2) truncated to [a, b]")
    def trunc_normal_(self, out, mean=0.0, std=1.0, a=-2.0, b=2.0, *, seed=0, stream=0, offset=0,
                      threads=None, global_shape=None, index=None):
        """Fill ``out`` in place with ``N(mean, std**2)`` truncated to ``[a, b]``; returns ``out``.

        ``a`` and ``b`` are absolute bounds, like ``torch.nn.init.trunc_normal_``. Inverse CDF:
        ``out = mean + std * ndtri(Phi(alpha) + u' * (Phi(beta) - Phi(alpha)))`` with
        ``alpha = (a - mean) / std``, ``beta = (b - mean) / std``, evaluated with both tails
        carried separately so far-tail windows work; every value lies in ``[a, b]``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.trunc_normal_(np.empty(10_000, np.float32), 0.0, 1.0, 3.0, 8.0, seed=0)
        >>> bool(((w >= 3) & (w <= 8)).all())
        True
        """
        return self._fill(out, "trunc_normal", (mean, std, a, b), seed, stream, offset, threads, global_shape, index)

    @_inplace("the constant val")
    def constant_(self, out, val, *, seed=0, stream=0, offset=0, threads=None,
                  global_shape=None, index=None):
        """Fill ``out`` with ``val`` (rounded to the dtype via float32 for 16-bit outputs).

        ``seed``, ``stream``, ``offset``, ``global_shape`` and ``index`` are accepted (and
        checked) like every fill's, so code can pass the same keywords to any rule; a constant
        does not depend on them.

        >>> import numpy as np, philoxinit as pxi
        >>> pxi.constant_(np.empty(3, np.float32), 0.5, seed=1, stream="fc.bias").tolist()
        [0.5, 0.5, 0.5]
        """
        check_out(out)
        val = _real(val, "val")
        layout = shard_layout(out.shape, global_shape, index)
        resolve_seed(seed), stream_id(stream)
        resolve_offset(offset, out.size if layout is None else layout.global_size)
        threads = _threads(threads)
        if out.dtype.itemsize == 2:
            val = float(np.float32(val))  # one rounding path for every backend
        if out.size == 0:
            return out
        if out.flags.c_contiguous:
            self._backend.constant(out, val, threads)
        else:
            out[...] = val
        return out

    @_inplace("zeros")
    def zeros_(self, out, *, seed=0, stream=0, offset=0, threads=None, global_shape=None,
               index=None):
        """Fill ``out`` with 0 (``seed``, ``stream``, ... checked and unused, as for ``constant_``).

        >>> import numpy as np, philoxinit as pxi
        >>> pxi.zeros_(np.ones(2, np.float32)).tolist()
        [0.0, 0.0]
        """
        return self.constant_(out, 0.0, seed=seed, stream=stream, offset=offset, threads=threads,
                              global_shape=global_shape, index=index)

    @_inplace("ones")
    def ones_(self, out, *, seed=0, stream=0, offset=0, threads=None, global_shape=None,
              index=None):
        """Fill ``out`` with 1 (``seed``, ``stream``, ... checked and unused, as for ``constant_``).

        >>> import numpy as np, philoxinit as pxi
        >>> pxi.ones_(np.zeros(2, np.float32)).tolist()
        [1.0, 1.0]
        """
        return self.constant_(out, 1.0, seed=seed, stream=stream, offset=offset, threads=threads,
                              global_shape=global_shape, index=index)

    def _rule(self, out, rule, seed, stream, offset, threads, global_shape=None, index=None):
        """Fill with the (dist, params) that ``rule(shape)`` gives; the fans of a shard come from
        its global shape."""
        check_out(out)
        shape = out.shape if global_shape is None else _as_shape(global_shape, "global_shape")
        if out.size == 0:
            # Torch leaves zero-element tensors untouched; the arguments are still checked, on
            # the same shape with each 0 replaced by 1 (the fans of the real shape may be 0).
            rule(tuple(max(1, d) for d in shape))
            return self._fill(out, "uniform", (0.0, 1.0), seed, stream, offset, threads,
                              global_shape, index)
        dist, params = rule(shape)
        return self._fill(out, dist, params, seed, stream, offset, threads, global_shape, index)

    # ---- variance scaling (Keras / JAX) --------------------------------------------------

    @_inplace("variance scaling")
    def variance_scaling_(self, out, scale=1.0, mode="fan_in", distribution="truncated_normal", *,
                          layout="keras", seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Keras/JAX variance scaling, in place.

        ``fan`` = fan_in, fan_out or (fan_in + fan_out)/2 of ``compute_fans(out.shape, layout)``;
        ``v = scale / max(1, fan)``. ``"truncated_normal"``: ``N(0, s**2)`` truncated to
        ``[-2s, 2s]`` with ``s = sqrt(v) / 0.87962566103423978``; ``"untruncated_normal"`` (or
        JAX's ``"normal"``): ``N(0, v)``; ``"uniform"``: ``U(-sqrt(3v), sqrt(3v))``.
        ``layout="keras"`` reads shapes as ``(*receptive, in, out)``, ``"torch"`` as
        ``(out, in, *receptive)``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.variance_scaling_(np.empty((256, 512), np.float32), 2.0, "fan_in", "uniform")
        >>> float(abs(w).max()) <= (3 * 2.0 / 256) ** 0.5
        True
        """
        rule = functools.partial(_vs_rule, scale=scale, mode=mode, distribution=distribution,
                                 layout=layout)
        return self._rule(out, rule, seed, stream, offset, threads, global_shape, index)

    @_inplace("Glorot uniform")
    def glorot_uniform_(self, out, *, layout="keras", seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Keras/JAX ``glorot_uniform``: ``U(-l, l)``, ``l = sqrt(6 / (fan_in + fan_out))``.

        ``variance_scaling_(out, 1.0, "fan_avg", "uniform")``; Keras layout by default.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.glorot_uniform_(np.empty((300, 600), np.float32), seed=0)
        >>> float(abs(w).max()) < (6 / 900) ** 0.5
        True
        """
        return self.variance_scaling_(out, 1.0, "fan_avg", "uniform", layout=layout, seed=seed,
                                      stream=stream, offset=offset, threads=threads,
                                      global_shape=global_shape, index=index)

    @_inplace("Glorot normal")
    def glorot_normal_(self, out, *, layout="keras", seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Keras/JAX ``glorot_normal``: a **truncated** normal, std ``sqrt(2 / (fan_in + fan_out))``.

        ``variance_scaling_(out, 1.0, "fan_avg", "truncated_normal")``: ``N(0, s**2)`` cut at
        ``+-2s``, ``s = sqrt(2 / (fan_in + fan_out)) / 0.87962566103423978``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.glorot_normal_(np.empty((400, 400), np.float32), seed=0)
        >>> abs(float(w.std()) - (2 / 800) ** 0.5) < 1e-3
        True
        """
        return self.variance_scaling_(out, 1.0, "fan_avg", "truncated_normal", layout=layout,
                                      seed=seed, stream=stream, offset=offset, threads=threads,
                                      global_shape=global_shape, index=index)

    @_inplace("He uniform")
    def he_uniform_(self, out, *, layout="keras", seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Keras/JAX ``he_uniform``: ``U(-l, l)``, ``l = sqrt(6 / fan_in)``.

        ``variance_scaling_(out, 2.0, "fan_in", "uniform")``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.he_uniform_(np.empty((3, 3, 16, 32), np.float32), seed=0)
        >>> float(abs(w).max()) < (6 / (3 * 3 * 16)) ** 0.5
        True
        """
        return self.variance_scaling_(out, 2.0, "fan_in", "uniform", layout=layout, seed=seed,
                                      stream=stream, offset=offset, threads=threads,
                                      global_shape=global_shape, index=index)

    @_inplace("He normal")
    def he_normal_(self, out, *, layout="keras", seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Keras/JAX ``he_normal``: a **truncated** normal with std ``sqrt(2 / fan_in)``.

        ``variance_scaling_(out, 2.0, "fan_in", "truncated_normal")``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.he_normal_(np.empty((512, 256), np.float32), seed=0)
        >>> abs(float(w.std()) - (2 / 512) ** 0.5) < 1e-3
        True
        """
        return self.variance_scaling_(out, 2.0, "fan_in", "truncated_normal", layout=layout,
                                      seed=seed, stream=stream, offset=offset, threads=threads,
                                      global_shape=global_shape, index=index)

    @_inplace("LeCun uniform")
    def lecun_uniform_(self, out, *, layout="keras", seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Keras/JAX ``lecun_uniform``: ``U(-l, l)``, ``l = sqrt(3 / fan_in)``.

        ``variance_scaling_(out, 1.0, "fan_in", "uniform")``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.lecun_uniform_(np.empty((300, 20), np.float32), seed=0)
        >>> float(abs(w).max()) < (3 / 300) ** 0.5
        True
        """
        return self.variance_scaling_(out, 1.0, "fan_in", "uniform", layout=layout, seed=seed,
                                      stream=stream, offset=offset, threads=threads,
                                      global_shape=global_shape, index=index)

    @_inplace("LeCun normal")
    def lecun_normal_(self, out, *, layout="keras", seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """Keras/JAX ``lecun_normal``: a **truncated** normal with std ``sqrt(1 / fan_in)``.

        ``variance_scaling_(out, 1.0, "fan_in", "truncated_normal")``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.lecun_normal_(np.empty((400, 300), np.float32), seed=0)
        >>> abs(float(w.std()) - (1 / 400) ** 0.5) < 1e-3
        True
        """
        return self.variance_scaling_(out, 1.0, "fan_in", "truncated_normal", layout=layout,
                                      seed=seed, stream=stream, offset=offset, threads=threads,
                                      global_shape=global_shape, index=index)

    # ---- torch.nn.init names (torch layout: (out, in, *receptive)) -----------------------

    @_inplace("Xavier uniform")
    def xavier_uniform_(self, out, gain=1.0, *, seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """``torch.nn.init.xavier_uniform_``: ``U(-b, b)``, ``b = gain * sqrt(6 / (fan_in + fan_out))``.

        Variance scaling with ``scale = gain**2``, fan_avg, uniform; torch layout.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.xavier_uniform_(np.empty((64, 32), np.float32), seed=0, stream="fc.weight")
        >>> float(abs(w).max()) < (6 / 96) ** 0.5
        True
        """
        rule = functools.partial(rules.xavier_uniform_params, gain=gain)
        return self._rule(out, rule, seed, stream, offset, threads, global_shape, index)

    @_inplace("Xavier normal")
    def xavier_normal_(self, out, gain=1.0, *, seed=0, stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """``torch.nn.init.xavier_normal_``: ``N(0, std**2)``, ``std = gain * sqrt(2 / (fan_in + fan_out))``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.xavier_normal_(np.empty((500, 300), np.float32), seed=0)
        >>> abs(float(w.std()) - (2 / 800) ** 0.5) < 1e-3
        True
        """
        rule = functools.partial(rules.xavier_normal_params, gain=gain)
        return self._rule(out, rule, seed, stream, offset, threads, global_shape, index)

    @_inplace("Kaiming uniform")
    def kaiming_uniform_(self, out, a=0, mode="fan_in", nonlinearity="leaky_relu", *, seed=0,
                         stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """``torch.nn.init.kaiming_uniform_``: ``U(-b, b)``, ``b = gain * sqrt(3 / fan)``.

        ``gain = calculate_gain(nonlinearity, a)``, ``fan`` = fan_in or fan_out (``mode``).

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.kaiming_uniform_(np.empty((128, 64), np.float32), nonlinearity="relu")
        >>> float(abs(w).max()) < 2 ** 0.5 * (3 / 64) ** 0.5
        True
        """
        rule = functools.partial(rules.kaiming_uniform_params, a=a, mode=mode,
                                 nonlinearity=nonlinearity)
        return self._rule(out, rule, seed, stream, offset, threads, global_shape, index)

    @_inplace("Kaiming normal")
    def kaiming_normal_(self, out, a=0, mode="fan_in", nonlinearity="leaky_relu", *, seed=0,
                        stream=0, offset=0, threads=None,
                global_shape=None, index=None):
        """``torch.nn.init.kaiming_normal_``: ``N(0, std**2)``, ``std = gain / sqrt(fan)``.

        >>> import numpy as np, philoxinit as pxi
        >>> w = pxi.kaiming_normal_(np.empty((1000, 200), np.float32), mode="fan_out",
        ...                         nonlinearity="relu", seed=0)
        >>> abs(float(w.std()) - (2 / 1000) ** 0.5) < 1e-3
        True
        """
        rule = functools.partial(rules.kaiming_normal_params, a=a, mode=mode,
                                 nonlinearity=nonlinearity)
        return self._rule(out, rule, seed, stream, offset, threads, global_shape, index)

    # ---- complex outputs (docs/stream.md §8) ---------------------------------------------

    def complex_(self, out, dist="normal", scale=1.0, upper=2.0, *, seed=0, stream=0, offset=0,
                 threads=None, global_shape=None, index=None):
        """Fill a complex64/complex128 ``out`` in place; returns ``out``.

        ``z = scale * rho(u1) * exp(2 pi i u2)`` with ``u1, u2`` the ``U(0, 1)`` values of
        consecutive words (the real view ``out.view(real).reshape(out.shape + (2,))`` filled by
        ``uniform_``); ``rho = sqrt(-log1p(-u1))`` for ``"normal"`` (``E|z|**2 = scale**2``),
        ``sqrt(-log1p(expm1(-upper**2) u1))`` for ``"trunc_normal"`` (``|z| < upper * scale``),
        ``sqrt(2 u1)`` for ``"uniform"`` (the disk of radius ``sqrt(2) scale``).

        >>> import numpy as np, philoxinit as pxi
        >>> z = pxi._api.complex_(np.empty(100_000, np.complex64), "normal", 0.5, seed=1)
        >>> abs(float(np.mean(np.abs(z) ** 2)) - 0.25) < 0.01
        True
        """
        from ._complex import fill_complex
        return fill_complex(self, out, dist, scale, upper, seed=seed, stream=stream,
                            offset=offset, threads=threads, global_shape=global_shape,
                            index=index)

    # ---- the public namespace ------------------------------------------------------------

    def exports(self) -> dict:
        """Every public function: the in-place ones, their allocating twins, random_raw."""
        names = {"random_raw": _public(self, type(self).random_raw)}
        for name, member in inspect.getmembers(type(self)):
            if hasattr(member, "_formula"):
                bound = _public(self, member)
                names[name] = bound
                names[name[:-1]] = _allocating_twin(bound, name, member._formula)
        return names


def _public(api, method):
    """``method`` bound to ``api`` under its public name, so that Python's own argument errors
    say ``normal_()``, not ``InitAPI.normal_()``."""
    fn = types.FunctionType(method.__code__, method.__globals__, method.__name__,
                            method.__defaults__, method.__closure__)
    fn.__kwdefaults__, fn.__doc__ = method.__kwdefaults__, method.__doc__
    fn.__qualname__, fn.__module__ = method.__name__, method.__module__
    fn.__dict__.update(method.__dict__)
    return types.MethodType(fn, api)


def _vs_rule(shape, *, scale, mode, distribution, layout):
    return rules.variance_scaling_params(shape, scale, mode, distribution, layout)


def _allocating_twin(inplace, name: str, formula: str):
    """``name(shape, dtype=np.float32, ...)``: a new array filled by ``name_(out, ...)``.

    Parameters without a default (``constant``'s ``val``) come before ``dtype``.
    """
    params = list(inspect.signature(inplace).parameters.values())[1:]  # drop `out`
    required = [p for p in params if p.default is inspect.Parameter.empty]
    optional = [p for p in params if p.default is not inspect.Parameter.empty]
    signature = inspect.Signature(
        [inspect.Parameter("shape", inspect.Parameter.POSITIONAL_OR_KEYWORD)] + required
        + [inspect.Parameter("dtype", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=np.float32)]
        + optional
        + [inspect.Parameter("progress", inspect.Parameter.KEYWORD_ONLY, default=False)])

    def twin(*args, **kwargs):
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{name[:-1]}() {exc}") from None
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        shape, dtype = arguments.pop("shape"), arguments.pop("dtype")
        progress = arguments.pop("progress")
        if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, (bool, np.bool_)):
            shape = (shape,)
        shape = _as_shape(shape, "shape")
        try:
            dtype = np.dtype(dtype)
        except TypeError as exc:
            raise TypeError(f"dtype must be a NumPy dtype, got {dtype!r}: {exc}") from None
        if dtype.name not in _FLOAT_DTYPES:
            raise TypeError(f"dtype must be float16, float32, float64 or bfloat16, got {dtype}")
        if not dtype.isnative:
            raise TypeError(f"dtype must be in the machine's byte order, got {dtype.str!r}")
        out = np.empty(shape, dtype)
        if progress:
            from ._progress import fill_with_progress
            return fill_with_progress(inplace, out, arguments, name[:-1])
        return inplace(out, **arguments)

    twin.__name__ = twin.__qualname__ = name[:-1]
    twin.__signature__ = signature
    twin.__doc__ = (
        f"Allocating twin of ``{name}``: a new array of ``shape`` and ``dtype`` (default float32)\n"
        f"filled with {formula}, exactly as ``{name}(np.empty(shape, dtype), ...)`` would.\n"
        f"``progress=True`` shows a tqdm bar (if installed) for fills of more than 2**24 elements;\n"
        f"the values are the same bits.\n\n"
        f"{inspect.getdoc(inplace)}\n"
    )
    return twin
