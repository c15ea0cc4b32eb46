"""philoxinit.reference: the same API as ``philoxinit``, computed by pure NumPy.

Its Philox4x32-10 and its distributions are written independently of the C++ core
(``_reference_backend.py``); the tests compare the two. Raw words and uniform values agree bit
for bit; normal and truncated-normal values are the float64 quantile of the same uniform,
rounded once, and agree with the fast path within the bound of docs/stream.md §5. It is slow
(a few seconds for 10**7 values) and single-threaded; ``threads`` is accepted and ignored.

>>> import numpy as np, philoxinit as pxi
>>> w = pxi.xavier_uniform((64, 32), seed=1, stream="fc.weight")
>>> bool((pxi.reference.xavier_uniform((64, 32), seed=1, stream="fc.weight") == w).all())
True
"""
from __future__ import annotations

from ._api import InitAPI
from ._reference_backend import NumpyBackend
from .rules import calculate_gain, compute_fans


class _ReferenceBackend(NumpyBackend):
    def random_raw(self, n, seed, stream, offset, threads=0):
        return super().random_raw(n, seed, stream, offset)

    def constant(self, out, value, threads):
        out.fill(value)


_api = InitAPI(_ReferenceBackend())
globals().update(_api.exports())
__all__ = sorted(_api.exports()) + ["calculate_gain", "compute_fans"]
