"""Orthogonal matrices from a philoxinit normal fill (shared by ``philoxinit.keras`` / ``.jax``).

Pure NumPy; imports no framework.
"""
from __future__ import annotations

import numpy as np


def orthogonal_matrix(n_rows: int, n_cols: int, *, seed: int, stream) -> np.ndarray:
    """A float64 ``(n_rows, n_cols)`` matrix with orthonormal columns (or rows, if wider).

    The recipe of Keras's ``Orthogonal`` and ``jax.random.orthogonal`` (Mezzadri 2007): a
    ``(max(r, c), min(r, c))`` matrix ``z`` of standard normals -- here
    ``philoxinit.normal_(np.empty(..., np.float64), seed=seed, stream=stream)`` -- its reduced
    QR ``z = q r``, ``q *= sign(diag(r))`` (a zero diagonal entry counts as +1; Keras and JAX
    would zero that column, which has probability 0), transposed when ``r < c``. The result is
    Haar-distributed. The normals are bit-reproducible; the QR is NumPy's LAPACK, so the last
    bits of the result may differ between LAPACK builds.
    """
    from . import normal_  # late import: no cycle with philoxinit/__init__

    rows, cols = max(n_rows, n_cols), min(n_rows, n_cols)
    z = normal_(np.empty((rows, cols), np.float64), 0.0, 1.0, seed=seed, stream=stream)
    q, r = np.linalg.qr(z)
    q *= np.where(np.diagonal(r) < 0, -1.0, 1.0)
    return q.T if n_rows < n_cols else q
