"""Where every byte of a checkpoint goes: tensor order inside a safetensors file, its header,
the split into shards and the ``model.safetensors.index.json`` of a sharded checkpoint.

The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
header length ``N``, ``N`` bytes of JSON (``{"__metadata__": {...}, name: {"dtype", "shape",
"data_offsets": [begin, end]}, ...}``, padded with spaces to a multiple of 8), then the raw
little-endian data. Like the safetensors writer, tensors go by decreasing item size, then by
name, so each one is aligned to its item size.

Shards follow ``save_pretrained``: tensors are taken in state-dict order and a new shard is
started when the next tensor would push the current one past ``max_shard_size`` (a tensor
bigger than that gets a shard of its own; tensors sharing one storage, as the per-expert tensors
cut out of a fused MoE tensor do, count once and stay together); the files are
``model-0000k-of-0000n.safetensors`` and the index is ``{"metadata": {"total_parameters", "total_size"}, "weight_map": {name:
file}}``, written with ``indent=2, sort_keys=True``.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Optional

from .spec import SAFETENSORS_DTYPES, SpecError, itemsize

MAX_HEADER_BYTES = 100_000_000        # safetensors refuses larger headers
WEIGHTS_NAME = "model.safetensors"
INDEX_NAME = "model.safetensors.index.json"
SHARD_RE = re.compile(r"model-(\d{5})-of-(\d{5})\.safetensors")
SIZE_UNITS = {"TB": 10**12, "GB": 10**9, "MB": 10**6, "KB": 10**3}


@dataclass(frozen=True)
class Entry:
    """One tensor as it is stored: its key in the file, shape and dtype name."""

    name: str
    shape: tuple
    dtype: str

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * itemsize(self.dtype)


@dataclass
class FileLayout:
    """One safetensors file: its name, the header bytes, and ``(entry, offset)`` in data order
    (``offset`` from the start of the file)."""

    filename: str
    header: bytes
    placed: list

    @property
    def total_bytes(self) -> int:
        if not self.placed:
            return 8 + len(self.header)
        entry, offset = self.placed[-1]
        return offset + entry.nbytes

    @property
    def data_bytes(self) -> int:
        return self.total_bytes - 8 - len(self.header)


def parse_size(text) -> int:
    """Bytes from ``--max-shard-size``: an int, or a number with TB/GB/MB/KB (powers of 10, as
    in ``save_pretrained``; GiB/MiB/KiB are powers of 2).

    >>> parse_size("5GB"), parse_size("500MB"), parse_size("2KiB"), parse_size("1000")
    (5000000000, 500000000, 2048, 1000)
    """
    raw = str(text).strip().replace("_", "")
    m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)\s*([KMGT]i?B)?", raw, flags=re.IGNORECASE)
    if not m:
        raise SpecError(f"--max-shard-size: expected a size like 5GB, 500MB or 1000000, "
                        f"got {text!r}")
    unit = (m.group(2) or "").upper()
    if unit.endswith("IB"):
        scale = 2 ** (10 * "KMGT".index(unit[0]) + 10)
    else:
        scale = SIZE_UNITS.get(unit, 1)
    value = int(float(m.group(1)) * scale)
    if value < 1:
        raise SpecError(f"--max-shard-size must be at least 1 byte, got {text!r}")
    return value


def header_bytes(placed_header: dict, metadata: dict) -> bytes:
    """The JSON header, ``__metadata__`` first, padded with spaces to a multiple of 8."""
    text = json.dumps({"__metadata__": metadata, **placed_header}, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")
    return text + b" " * (-len(text) % 8)


def file_layout(filename: str, entries: list, metadata: dict) -> FileLayout:
    """The layout of one file holding ``entries``; SpecError when its header would exceed
    the 100 MB safetensors accepts."""
    ordered = sorted(entries, key=lambda e: (-itemsize(e.dtype), e.name))
    header, pos = {}, 0
    for e in ordered:
        header[e.name] = {"dtype": SAFETENSORS_DTYPES[e.dtype], "shape": list(e.shape),
                          "data_offsets": [pos, pos + e.nbytes]}
        pos += e.nbytes
    head = header_bytes(header, metadata)
    if len(head) > MAX_HEADER_BYTES:
        raise SpecError(f"{filename}: its safetensors header would be {len(head):,} bytes "
                        f"({len(entries):,} tensors); safetensors refuses headers over "
                        f"{MAX_HEADER_BYTES:,} bytes (use --max-shard-size to split it)")
    start = 8 + len(head)
    return FileLayout(filename, head, [(e, start + h["data_offsets"][0])
                                       for e, h in zip(ordered, header.values())])


def _storage_of(entry, storage: Optional[dict]) -> tuple:
    """``(storage id or None, bytes it counts for)`` of ``entry`` (see :func:`split_shards`)."""
    if storage and entry.name in storage:
        return storage[entry.name]
    return None, entry.nbytes


def split_shards(entries: list, max_shard_size: Optional[int], storage: Optional[dict] = None):
    """Lists of entries, one per shard, by ``save_pretrained``'s greedy rule (state-dict order).

    A tensor bigger than ``max_shard_size`` gets a shard of its own, appended at once (before
    the shard being filled); otherwise a new shard is started when the next tensor would push
    the current one past ``max_shard_size``. ``storage`` (optional) maps a name to ``(storage
    id, storage bytes)``: as in ``save_pretrained``, tensors that share a storage (the
    per-expert tensors transformers' weight conversion cuts out of one fused tensor) count once,
    with the size of the whole storage, and all go to the shard of the first of them.

    >>> E = lambda n, k: Entry(n, (k,), "uint8")
    >>> [[e.name for e in s] for s in split_shards([E("a", 6), E("b", 6), E("c", 2), E("d", 6)], 10)]
    [['a'], ['b', 'c'], ['d']]
    >>> [[e.name for e in s] for s in split_shards([E("a", 4), E("B", 12), E("c", 4)], 10)]
    [['B'], ['a', 'c']]
    >>> shared = {"x": (1, 12), "y": (1, 12)}
    >>> [[e.name for e in s] for s in split_shards([E("a", 4), E("x", 6), E("y", 6), E("c", 4)], 10,
    ...                                            shared)]
    [['x', 'y'], ['a', 'c']]
    """
    if max_shard_size is None:
        return [list(entries)]
    shards, current, current_size = [], [], 0
    first_of, followers = {}, {}
    for e in entries:
        sid, size = _storage_of(e, storage)
        if sid is not None:
            if sid in first_of:
                followers.setdefault(first_of[sid], []).append(e)
                continue
            first_of[sid] = e.name
        if size > max_shard_size:
            shards.append([e])
            continue
        if current_size + size > max_shard_size:
            shards.append(current)
            current, current_size = [], 0
        current.append(e)
        current_size += size
    if current:
        shards.append(current)
    if followers:
        for shard in shards:
            for e in list(shard):
                shard.extend(followers.pop(e.name, ()))
    return shards


def total_size(entries: list, storage: Optional[dict] = None) -> int:
    """The ``total_size`` of a sharded index as ``save_pretrained`` counts it: bytes per storage
    (a storage shared by several tensors once, whole).

    >>> total_size([Entry("a", (3,), "float32"), Entry("b", (2,), "uint8")])
    14
    """
    seen, total = set(), 0
    for e in entries:
        sid, size = _storage_of(e, storage)
        if sid is not None:
            if sid in seen:
                continue
            seen.add(sid)
        total += size
    return total


def shard_names(n: int) -> list:
    """The file names of ``n`` shards, as ``save_pretrained`` names them.

    >>> shard_names(1), shard_names(2)
    (['model.safetensors'], ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'])
    """
    if n == 1:
        return [WEIGHTS_NAME]
    return [f"model-{k + 1:05d}-of-{n:05d}.safetensors" for k in range(n)]


def index_json(layouts: list, total_parameters: int, total: Optional[int] = None) -> bytes:
    """The ``model.safetensors.index.json`` of a sharded checkpoint (``total``: its
    ``total_size``, by default the bytes of all tensors)."""
    weight_map = {e.name: lay.filename for lay in layouts for e, _ in lay.placed}
    if total is None:
        total = sum(e.nbytes for lay in layouts for e, _ in lay.placed)
    index = {"metadata": {"total_parameters": total_parameters, "total_size": total},
             "weight_map": weight_map}
    return (json.dumps(index, indent=2, sort_keys=True) + "\n").encode("utf-8")
