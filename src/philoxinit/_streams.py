"""Seeds, streams and offsets: the integer inputs of the stream contract (docs/stream.md §2)."""
from __future__ import annotations

import hashlib
import numbers

import numpy as np

UINT64_LIMIT = 1 << 64
OFFSET_LIMIT = 1 << 62


def _as_int(value, name: str) -> int:
    if type(value) is int:  # the common case, first (bool is a subclass, not int itself)
        return value
    # bool is an int subclass, but seed=True is almost certainly a mistake.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    return int(value)


def resolve_seed(seed) -> int:
    """Check ``seed`` is an int in [0, 2**64) and return it as a Python int."""
    if type(seed) is int and 0 <= seed < UINT64_LIMIT:
        return seed
    seed = _as_int(seed, "seed")
    if not 0 <= seed < UINT64_LIMIT:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    return seed


# Stream numbers of the str streams seen last (a model's parameter names, filled again and
# again): the BLAKE2b of each is computed once. Bounded; cleared when full.
_STR_STREAMS: dict = {}
_STR_STREAMS_MAX = 1 << 16


def stream_id(stream) -> int:
    """Map ``stream`` (an int in [0, 2**64) or a str) to its 64-bit stream number.

    A str maps to the first 8 bytes, little-endian, of the BLAKE2b (64-byte digest) of its
    UTF-8 bytes, so a parameter name gives the same stream on every machine and Python version.

    >>> stream_id(7)
    7
    >>> stream_id("layers.0.weight") == stream_id("layers.0.weight")
    True
    """
    if type(stream) is int and 0 <= stream < UINT64_LIMIT:
        return stream
    if type(stream) is str:
        number = _STR_STREAMS.get(stream)
        if number is not None:
            return number
    if isinstance(stream, str):
        try:
            data = stream.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"stream must be a str encodable as UTF-8, got {stream!r}") from None
        number = int.from_bytes(hashlib.blake2b(data).digest()[:8], "little")
        if type(stream) is str:
            if len(_STR_STREAMS) >= _STR_STREAMS_MAX:
                _STR_STREAMS.clear()
            _STR_STREAMS[stream] = number
        return number
    if isinstance(stream, (bool, np.bool_)) or not isinstance(stream, (numbers.Integral, np.integer)):
        raise TypeError(f"stream must be an int in [0, 2**64) or a str, got {type(stream).__name__}")
    stream = int(stream)
    if not 0 <= stream < UINT64_LIMIT:
        raise ValueError(f"stream must be in [0, 2**64) or a str, got {stream}")
    return stream


def resolve_offset(offset, size: int) -> int:
    """Check the element offset: an int >= 0 with offset + size <= 2**62."""
    if type(offset) is int and 0 <= offset and offset + size <= OFFSET_LIMIT:
        return offset
    offset = _as_int(offset, "offset")
    if offset < 0:
        raise ValueError(f"offset must be >= 0, got {offset}")
    if offset + size > OFFSET_LIMIT:
        raise ValueError(f"offset + size must be <= 2**62, got {offset} + {size}")
    return offset
