"""philoxinit: fast, deterministic neural-network weight initialization.

Element ``i`` of every tensor is a pure function of ``(seed, stream, i)`` through Philox4x32-10
(docs/stream.md), so the same weights come out for any thread count, SIMD level, machine, or
slice of the tensor generated on its own. In-place functions end in ``_`` and fill NumPy arrays
and memmaps without copying; each has an allocating twin without the ``_``.

>>> import numpy as np, philoxinit as pxi
>>> w = np.empty((256, 128), np.float32)
>>> _ = pxi.xavier_uniform_(w, seed=1234, stream="layers.0.mlp.up_proj.weight")
>>> bool((pxi.reference.xavier_uniform((256, 128), seed=1234,
...                                     stream="layers.0.mlp.up_proj.weight") == w).all())
True
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from . import _core
from ._api import InitAPI
from ._checks import THREADS_LIMIT
from ._native_backend import NativeBackend
from ._streams import stream_id
from .rules import calculate_gain, compute_fans

__version__ = "0.1.0"

_api = InitAPI(NativeBackend())
globals().update(_api.exports())


def set_num_threads(n: int) -> None:
    """Set the default number of threads for fills (``threads=None``); ``0`` restores the default.

    ``n`` is at most 4096, the limit of a fill's ``threads=``. The values written never depend
    on it.

    >>> import philoxinit as pxi
    >>> pxi.set_num_threads(1); pxi.get_num_threads()
    1
    >>> pxi.set_num_threads(0)
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    n = int(n)
    if not 0 <= n <= THREADS_LIMIT:
        raise ValueError(f"n must be between 0 and {THREADS_LIMIT} (0: the default), got {n}")
    _core.set_num_threads(n)


def get_num_threads() -> int:
    """The number of threads a fill with ``threads=None`` uses.

    >>> import philoxinit as pxi
    >>> pxi.get_num_threads() >= 1
    True
    """
    return _core.get_num_threads()


def info() -> dict:
    """What this build runs with: ISA in use and the best available, threads, compiler, flags.

    ``PHILOXINIT_ISA=scalar|avx2|avx512`` in the environment forces a kernel path at import.

    >>> import philoxinit as pxi
    >>> sorted(pxi.info())
    ['best_isa', 'build', 'isa', 'openmp', 'threads', 'version']
    """
    return {"version": __version__, "isa": _core.active_isa(), "best_isa": _core.best_isa(),
            "threads": _core.get_num_threads(), "openmp": _core.openmp_enabled(),
            "build": _core.build_info()}


def _apply_isa_override() -> None:
    requested = os.environ.get("PHILOXINIT_ISA", "").strip().lower()
    if not requested:
        return
    try:
        _core.set_isa(requested)
    except ValueError as exc:
        warnings.warn(f"PHILOXINIT_ISA={requested!r} ignored: {exc}; using {_core.active_isa()}",
                      RuntimeWarning, stacklevel=2)


_apply_isa_override()

from . import reference  # noqa: E402  (the NumPy twin of this API)

__all__ = sorted(_api.exports()) + [
    "calculate_gain", "compute_fans", "stream_id", "set_num_threads", "get_num_threads", "info",
    "reference"]
