"""Exact-arithmetic statements of the uniform contract (docs/stream.md §3), shared by the
tests that check the fast path and the reference bit for bit. Written with Fraction, not with
the package's own emulation, so they are an independent check of both."""
from __future__ import annotations

from fractions import Fraction

import numpy as np


def round_to_float32(t: Fraction) -> np.float32:
    """``t`` rounded once to binary32, nearest, ties to even (finite results only)."""
    guess = np.float32(t.numerator / t.denominator)  # within one ulp of the answer
    candidates = [np.nextafter(guess, np.float32(-np.inf)), guess,
                  np.nextafter(guess, np.float32(np.inf))]
    def key(c):
        return (abs(Fraction(float(c)) - t), int(c.view(np.uint32)) & 1)
    return min(candidates, key=key)


def below32(high: float) -> np.float32:
    """Largest float32 < high, found by exact comparisons."""
    b = np.float32(high)
    if np.isinf(b):
        b = np.float32(np.finfo(np.float32).max)
    while Fraction(float(b)) >= Fraction(high):
        b = np.nextafter(b, np.float32(-np.inf))
    while Fraction(float(np.nextafter(b, np.float32(np.inf)))) < Fraction(high):
        b = np.nextafter(b, np.float32(np.inf))
    return b


def uniform32(word: int, low: float, high: float) -> np.float32:
    """The float32 uniform of one word: ``min(fma(u, R, L), below(high))`` in binary32 with
    ``R = float32(high - low)``, ``L = float32(low)``; when ``R`` overflows, the fma is taken in
    binary64 and rounded to float32 (both roundings to nearest even)."""
    if low == high:
        return np.float32(low)
    u = Fraction(word >> 8, 2**24)
    with np.errstate(over="ignore"):  # a range wider than FLT_MAX: inf, the float64 formula below
        r32 = np.float32(high - low)
    if np.isfinite(r32):
        r = round_to_float32(u * Fraction(float(r32)) + Fraction(float(np.float32(low))))
    else:
        t = u * Fraction(high - low) + Fraction(low)
        r = np.float32(t.numerator / t.denominator)  # binary64 first (Fraction / is exact-rounded), then binary32
    return min(r, below32(high))
