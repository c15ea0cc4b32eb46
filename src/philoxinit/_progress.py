"""Progress bars for big fills: a fill split into contiguous pieces, bit for bit one call.

Element ``i`` (C order) of a fill is a pure function of ``(seed, stream, offset + i)``, so a
C-contiguous array filled piece by piece -- each piece a box ``out[index]`` passed with
``global_shape=out.shape, index=index`` (the fans of a named rule still come from the whole
shape; element ``i`` of the piece gets word ``offset + its global index``) -- holds exactly the
bits of one call. :func:`flat_boxes` cuts a run of elements into such boxes, each contiguous in
memory; :func:`fill_in_pieces` runs the pieces and advances a bar.

The bar is tqdm's (``pip install "philoxinit[progress]"``); without tqdm there is no bar and
the fill runs as one call.
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

# Fills with more elements than this show a bar when asked to (progress=True).
PROGRESS_MIN_ELEMENTS = 2**24
# A piece is sized to take about PIECE_SECONDS (measured on the pieces before it), and holds
# at least MIN_PIECE elements: each piece costs a Python call, a thread-team start and the
# threads' uneven finish (up to one 2**16-element chunk of the core), so few, long pieces
# keep the fill within a few percent of one call while the bar still moves several times a
# second.
MIN_PIECE = 2**22
PIECE_SECONDS = 0.2
MAX_GROWTH = 8


def flat_boxes(shape: tuple, begin: int, end: int) -> list:
    """Boxes (tuples of step-1 slices, one per dim) covering the C-order elements
    ``begin .. end-1`` of ``shape``, in order; each is contiguous in a C-ordered array (at most
    ``2 * ndim - 1`` of them, one when ``begin`` and ``end`` are multiples of a row).

    >>> flat_boxes((4, 3), 3, 9)
    [(slice(1, 3, None), slice(0, 3, None))]
    >>> [tuple((s.start, s.stop) for s in b) for b in flat_boxes((4, 3), 2, 10)]
    [((0, 1), (2, 3)), ((1, 3), (0, 3)), ((3, 4), (0, 1))]
    """
    shape = tuple(int(d) for d in shape)
    if begin >= end:
        return []
    if not shape:
        return [()]
    if len(shape) == 1:
        return [(slice(begin, end),)]
    inner = math.prod(shape[1:])
    i0, r0 = divmod(begin, inner)
    i1, r1 = divmod(end, inner)
    if i0 == i1:
        return [(slice(i0, i0 + 1),) + b for b in flat_boxes(shape[1:], r0, r1)]
    boxes = []
    if r0:
        boxes += [(slice(i0, i0 + 1),) + b for b in flat_boxes(shape[1:], r0, inner)]
        i0 += 1
    if i1 > i0:
        boxes.append((slice(i0, i1),) + tuple(slice(0, d) for d in shape[1:]))
    if r1:
        boxes += [(slice(i1, i1 + 1),) + b for b in flat_boxes(shape[1:], 0, r1)]
    return boxes


def piece_ends(n: int, row: int, piece: int = 0, seconds: float = PIECE_SECONDS):
    """Generator of piece ends over ``n`` elements: fixed ``piece`` elements, or (``piece=0``)
    sized from the time the previous piece took, which the caller sends in (``gen.send(dt)``).
    Ends fall on multiples of ``row`` where a piece holds at least one row."""
    pos, size = 0, piece or MIN_PIECE
    while pos < n:
        end = min(n, pos + size)
        if end < n and (end // row) * row > pos:
            end = (end // row) * row
        dt = yield end
        if not piece and dt:
            done = end - pos
            size = int(min(max(done / dt * seconds, MIN_PIECE), MAX_GROWTH * done))
        pos = end


def make_bar(total: int, desc: str, unit: str = "val"):
    """A tqdm bar on stderr, or None when tqdm is not installed."""
    try:
        from tqdm import tqdm
    except Exception:
        return None
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, file=sys.stderr,
                dynamic_ncols=True)


def fill_in_pieces(inplace, out: np.ndarray, kwargs: dict, advance, piece: int = 0) -> np.ndarray:
    """``inplace(out, **kwargs)`` run piece by piece, calling ``advance(n_elements)`` after each.

    ``out`` must be C-contiguous. ``piece``: elements per piece (0: about
    :data:`PIECE_SECONDS` of work each). Functions taking ``global_shape`` (the random fills)
    get each piece as a shard of the whole (composed with the caller's own ``global_shape`` /
    ``index`` when given, so a shard of a shard is still the same shard); the others
    (``constant_``, ``zeros_``, ``ones_``) get flat pieces.
    """
    if "global_shape" not in kwargs:  # constants: no stream, any flat split will do
        flat = out.reshape(-1)
        ends = piece_ends(flat.size, 1, piece)
        pos, end = 0, next(ends, None)
        while end is not None:
            t0 = time.perf_counter()
            inplace(flat[pos:end], **kwargs)
            advance(end - pos)
            pos = end
            end = _send(ends, time.perf_counter() - t0)
        return out
    from ._shard_layout import shard_layout
    global_shape, index = kwargs.get("global_shape"), kwargs.get("index")
    if global_shape is None:
        if index is not None:  # the one-call error message
            return inplace(out, **kwargs)
        global_shape, starts = out.shape, (0,) * out.ndim
    else:
        shard_layout(out.shape, global_shape, index)  # the one-call checks and messages
        dims = tuple(int(d) for d in global_shape)
        if isinstance(index, slice):
            index = (index,)
        index = tuple(index or ()) + (slice(None),) * (len(dims) - len(index or ()))
        starts = tuple(s.indices(d)[0] for s, d in zip(index, dims))
    row = math.prod(out.shape[1:]) if out.ndim else 1
    ends = piece_ends(out.size, max(1, row), piece)
    pos, end = 0, next(ends, None)
    while end is not None:
        t0 = time.perf_counter()
        for box in flat_boxes(out.shape, pos, end):
            view = out[box]
            shard = tuple(slice(b + s.start, b + s.stop) for b, s in zip(starts, box))
            inplace(view, **{**kwargs, "global_shape": global_shape, "index": shard})
            advance(view.size)
        pos = end
        end = _send(ends, time.perf_counter() - t0)
    return out


def _send(gen, value):
    try:
        return gen.send(value)
    except StopIteration:
        return None


def fill_with_progress(inplace, out: np.ndarray, kwargs: dict, desc: str) -> np.ndarray:
    """``inplace(out, **kwargs)``, with a tqdm bar when ``out`` is big and tqdm is installed."""
    if out.size <= PROGRESS_MIN_ELEMENTS or not out.flags.c_contiguous:
        return inplace(out, **kwargs)
    bar = make_bar(out.size, desc)
    if bar is None:
        return inplace(out, **kwargs)
    try:
        return fill_in_pieces(inplace, out, kwargs, bar.update)
    finally:
        bar.close()


class ByteProgress:
    """Progress over a known number of bytes on stderr: tqdm when installed, else a plain
    line (``\\r``-updated on a terminal, else one line per 10%). ``enabled=False``: silent."""

    def __init__(self, total: int, desc: str = "", enabled: bool = True):
        self.total, self.done, self.desc, self.enabled = total, 0, desc, enabled
        self._bar = None
        self._tty = enabled and sys.stderr.isatty()
        self._last_print, self._last_decile = 0.0, -1
        self._shown = False
        if enabled:
            try:
                from tqdm import tqdm
                self._bar = tqdm(total=total, desc=desc, unit="B", unit_scale=True,
                                 unit_divisor=1024, file=sys.stderr, dynamic_ncols=True)
            except Exception:
                self._bar = None

    def set_description(self, text: str) -> None:
        self.desc = text
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=False)

    def update(self, n: int) -> None:
        if not self.enabled:
            return
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
            return
        pct = 100.0 * self.done / self.total if self.total else 100.0
        now = time.perf_counter()
        if self._tty:
            if now - self._last_print >= 0.1 or self.done >= self.total:
                sys.stderr.write(f"\r\033[K{pct:5.1f}%  {self.done / 1e9:.2f}/{self.total / 1e9:.2f} GB  "
                                 f"{self.desc}")
                sys.stderr.flush()
                self._last_print, self._shown = now, True
        else:
            decile = int(pct // 10)
            if decile > self._last_decile:
                sys.stderr.write(f"{pct:5.1f}%  {self.done / 1e9:.2f}/{self.total / 1e9:.2f} GB\n")
                sys.stderr.flush()
                self._last_decile = decile

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        elif self._shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
