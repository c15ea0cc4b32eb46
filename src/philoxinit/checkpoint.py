"""``philoxinit checkpoint``: randomly initialized weights written straight into a safetensors file.

::

    philoxinit checkpoint spec.json   --out model.safetensors --seed 0
    philoxinit checkpoint config.json --out llama.safetensors --seed 0 --dtype bfloat16

``SPEC`` is a JSON file holding either

* a list of tensors ``{"name": ..., "shape": [...], "dtype": "float32", "rule": "normal",
  "args": {"std": 0.02}}`` -- ``rule`` is any philoxinit fill (``uniform``, ``normal``,
  ``trunc_normal``, ``constant``, ``zeros``, ``ones``, ``variance_scaling``, ``xavier_*``,
  ``kaiming_*``, ``glorot_*``, ``he_*``, ``lecun_*``; with or without the trailing ``_``),
  ``args`` its keyword arguments; ``dtype`` defaults to ``--dtype`` (else float32); or
* a Hugging Face ``config.json`` of a Llama-family model (recognised by ``hidden_size`` and
  ``num_hidden_layers``): ``model.embed_tokens.weight``, per layer ``self_attn.{q,k,v,o}_proj``
  (grouped-query shapes from ``num_key_value_heads`` / ``head_dim``), ``mlp.{gate,up,down}_proj``,
  ``input_layernorm`` / ``post_attention_layernorm``, then ``model.norm.weight`` and
  ``lm_head.weight`` (unless ``tie_word_embeddings``); linear and embedding weights
  ``N(0, initializer_range**2)``, norms 1, biases (``attention_bias`` / ``mlp_bias``) 0, like
  transformers' ``_init_weights``. dtype: ``--dtype``, else the config's ``torch_dtype`` (or
  ``dtype``), else float32.

Every tensor is filled with ``seed=--seed, stream=<tensor name>``, so the file is the same,
byte for byte, on any machine and for any ``--threads``. The file is written tensor by tensor
through ``np.memmap`` (the model is never held in memory) into a temporary file next to
``--out`` that replaces it at the end. The format (https://github.com/huggingface/safetensors):
an 8-byte little-endian header length ``N``, ``N`` bytes of JSON (``{name: {"dtype", "shape",
"data_offsets": [begin, end]}, "__metadata__": {...}}``, padded with spaces to a multiple of 8),
then the raw little-endian data, tensors ordered by decreasing item size so every tensor is
aligned to its item size.

Exit status: 0 on success, 2 on a bad SPEC or bad arguments, 1 when the file cannot be written.
"""
from __future__ import annotations

import argparse
import json
import math
import numbers
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

SAFETENSORS_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16"}
DTYPE_ALIASES = {
    "float32": "float32", "fp32": "float32", "f32": "float32", "float": "float32",
    "float16": "float16", "fp16": "float16", "f16": "float16", "half": "float16",
    "bfloat16": "bfloat16", "bf16": "bfloat16",
    "float64": "float64", "fp64": "float64", "f64": "float64", "double": "float64",
}
# Fills with a stream; the others (constant, zeros, ones) take no seed.
RANDOM_RULES = ("uniform", "normal", "trunc_normal", "variance_scaling", "xavier_uniform",
                "xavier_normal", "kaiming_uniform", "kaiming_normal", "glorot_uniform",
                "glorot_normal", "he_uniform", "he_normal", "lecun_uniform", "lecun_normal")
CONSTANT_RULES = ("constant", "zeros", "ones")
RULES = RANDOM_RULES + CONSTANT_RULES
RESERVED_ARGS = ("out", "seed", "stream", "offset", "threads", "global_shape", "index", "progress")
LLAMA_REQUIRED = ("hidden_size", "intermediate_size", "num_hidden_layers",
                  "num_attention_heads", "vocab_size")
LLAMA_TYPES = ("llama", "mistral", "mixtral", "qwen2", "qwen3", "yi", "internlm2")
PIECE_BYTES = 64 * 2**20  # big tensors are filled in pieces of this size to move the bar


class SpecError(ValueError):
    """A bad SPEC (exit status 2)."""


@dataclass
class TensorSpec:
    """One tensor of the checkpoint."""

    name: str
    shape: tuple
    dtype: str
    rule: str
    args: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * np.dtype(numpy_dtype(self.dtype)).itemsize

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.rule}({args})"


# ---- SPEC parsing ------------------------------------------------------------------------

def dtype_name(value, where: str) -> str:
    """The canonical dtype name (float32, float16, bfloat16, float64) for ``value``."""
    if not isinstance(value, str):
        raise SpecError(f"{where}: dtype must be a string, got {value!r}")
    key = value.strip().lower().removeprefix("torch.")
    if key not in DTYPE_ALIASES:
        raise SpecError(f"{where}: unsupported dtype {value!r}; choose from "
                        f"{', '.join(SAFETENSORS_DTYPES)}")
    return DTYPE_ALIASES[key]


def numpy_dtype(name: str):
    """The NumPy dtype of a canonical dtype name (bfloat16 through ml_dtypes)."""
    if name == "bfloat16":
        try:
            import ml_dtypes
        except ImportError:
            raise SpecError("bfloat16 needs the ml_dtypes package (pip install ml_dtypes)") from None
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _shape(value, where: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"{where}: shape must be a list of non-negative ints, got {value!r}")
    for d in value:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise SpecError(f"{where}: shape must be a list of non-negative ints, got {value!r}")
    return tuple(int(d) for d in value)


def _positive_int(cfg: dict, key: str) -> int:
    value = cfg[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"config.json: {key} must be a positive int, got {value!r}")
    return value


def tensors_from_list(items: list, default_dtype: Optional[str]) -> list:
    """TensorSpecs from a list-of-tensors SPEC."""
    if not items:
        raise SpecError("SPEC: the tensor list is empty")
    tensors, seen = [], set()
    for k, item in enumerate(items):
        where = f"SPEC tensor #{k}"
        if not isinstance(item, dict):
            raise SpecError(f"{where}: expected an object with name, shape, rule, got {item!r}")
        unknown = set(item) - {"name", "shape", "dtype", "rule", "args"}
        if unknown:
            raise SpecError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} "
                            "(allowed: name, shape, dtype, rule, args)")
        for key in ("name", "shape", "rule"):
            if key not in item:
                raise SpecError(f"{where}: missing {key!r}")
        name = item["name"]
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise SpecError(f"{where}: name must be a non-empty string (not __metadata__), "
                            f"got {name!r}")
        where = f"SPEC tensor {name!r}"
        if name in seen:
            raise SpecError(f"{where}: duplicate name")
        seen.add(name)
        rule = item["rule"]
        if not isinstance(rule, str) or rule.rstrip("_") not in RULES:
            raise SpecError(f"{where}: unknown rule {rule!r}; choose from {', '.join(RULES)}")
        args = item.get("args", {})
        if args is None:
            args = {}
        if not isinstance(args, dict):
            raise SpecError(f"{where}: args must be an object of keyword arguments, got {args!r}")
        reserved = sorted(set(args) & set(RESERVED_ARGS))
        if reserved:
            raise SpecError(f"{where}: args may not set {', '.join(reserved)} (the seed is "
                            "--seed and the stream is the tensor name)")
        dtype = item.get("dtype", default_dtype or "float32")
        tensors.append(TensorSpec(name, _shape(item["shape"], where), dtype_name(dtype, where),
                                  rule.rstrip("_"), dict(args)))
    return tensors


def is_llama_config(obj) -> bool:
    """Whether ``obj`` looks like a Hugging Face config.json of a decoder model."""
    return isinstance(obj, dict) and "hidden_size" in obj and "num_hidden_layers" in obj


def tensors_from_llama(cfg: dict, dtype_override: Optional[str]) -> list:
    """TensorSpecs of a Llama-family model from its Hugging Face ``config.json``."""
    missing = [k for k in LLAMA_REQUIRED if k not in cfg]
    if missing:
        raise SpecError(f"config.json: missing {', '.join(missing)} (needed for a Llama-family "
                        "model)")
    hidden, inter = _positive_int(cfg, "hidden_size"), _positive_int(cfg, "intermediate_size")
    layers, heads = _positive_int(cfg, "num_hidden_layers"), _positive_int(cfg, "num_attention_heads")
    vocab = _positive_int(cfg, "vocab_size")
    kv_heads = _positive_int(cfg, "num_key_value_heads") if cfg.get("num_key_value_heads") else heads
    if cfg.get("head_dim"):
        head_dim = _positive_int(cfg, "head_dim")
    else:
        if hidden % heads:
            raise SpecError(f"config.json: hidden_size {hidden} is not a multiple of "
                            f"num_attention_heads {heads} (give head_dim)")
        head_dim = hidden // heads
    if heads % kv_heads:
        raise SpecError(f"config.json: num_attention_heads {heads} is not a multiple of "
                        f"num_key_value_heads {kv_heads}")
    std = cfg.get("initializer_range", 0.02)
    if isinstance(std, bool) or not isinstance(std, (int, float)) or not math.isfinite(std) or std < 0:
        raise SpecError(f"config.json: initializer_range must be a number >= 0, got {std!r}")
    if dtype_override:
        dtype = dtype_override
    else:
        raw = cfg.get("torch_dtype", cfg.get("dtype")) or "float32"
        dtype = "float32" if raw == "auto" else dtype_name(raw, "config.json torch_dtype")
    normal = ("normal", {"mean": 0.0, "std": float(std)})
    ones, zeros = ("ones", {}), ("zeros", {})
    attn_bias, mlp_bias = bool(cfg.get("attention_bias", False)), bool(cfg.get("mlp_bias", False))

    out = [("model.embed_tokens.weight", (vocab, hidden), normal)]
    for i in range(layers):
        p = f"model.layers.{i}."
        for proj, rows in (("q", heads * head_dim), ("k", kv_heads * head_dim),
                           ("v", kv_heads * head_dim)):
            out.append((f"{p}self_attn.{proj}_proj.weight", (rows, hidden), normal))
            if attn_bias:
                out.append((f"{p}self_attn.{proj}_proj.bias", (rows,), zeros))
        out.append((f"{p}self_attn.o_proj.weight", (hidden, heads * head_dim), normal))
        if attn_bias:
            out.append((f"{p}self_attn.o_proj.bias", (hidden,), zeros))
        for proj, shape in (("gate", (inter, hidden)), ("up", (inter, hidden)),
                            ("down", (hidden, inter))):
            out.append((f"{p}mlp.{proj}_proj.weight", shape, normal))
            if mlp_bias:
                out.append((f"{p}mlp.{proj}_proj.bias", shape[:1], zeros))
        out.append((f"{p}input_layernorm.weight", (hidden,), ones))
        out.append((f"{p}post_attention_layernorm.weight", (hidden,), ones))
    out.append(("model.norm.weight", (hidden,), ones))
    if not cfg.get("tie_word_embeddings", False):
        out.append(("lm_head.weight", (vocab, hidden), normal))
    return [TensorSpec(name, shape, dtype, rule, dict(args)) for name, shape, (rule, args) in out]


def load_spec(path: str, dtype_override: Optional[str] = None) -> tuple:
    """``(kind, tensors)`` from the SPEC file at ``path``: kind ``"list"`` or ``"llama"``."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise SpecError(f"cannot read SPEC {path!r}: {exc.strerror or exc}") from None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(f"SPEC {path!r} is not valid JSON: {exc}") from None
    override = dtype_name(dtype_override, "--dtype") if dtype_override else None
    if isinstance(obj, dict) and isinstance(obj.get("tensors"), list):
        obj = obj["tensors"]
    if isinstance(obj, list):
        tensors = tensors_from_list(obj, override)
        kind = "list"
    elif is_llama_config(obj):
        model_type = obj.get("model_type")
        if model_type is not None and model_type not in LLAMA_TYPES:
            print(f"philoxinit checkpoint: note: model_type {model_type!r} is written with the "
                  "Llama tensor layout", file=sys.stderr)
        tensors = tensors_from_llama(obj, override)
        kind = "llama"
    else:
        raise SpecError(f"SPEC {path!r}: expected a JSON list of tensors "
                        '({"name", "shape", "dtype", "rule", "args"}) or a Hugging Face '
                        "config.json of a Llama-family model (with hidden_size, "
                        "num_hidden_layers, ...)")
    for t in tensors:
        numpy_dtype(t.dtype)  # bfloat16 without ml_dtypes: a SpecError now, not mid-file
        check_args(t)
    return kind, tensors


def _fill_function(rule: str):
    import philoxinit as pxi
    return getattr(pxi, rule + "_")


def fill_kwargs(t: TensorSpec, seed: int, threads: Optional[int]) -> dict:
    """The keyword arguments of ``<rule>_(out, **kwargs)`` for tensor ``t``."""
    kwargs = dict(t.args, threads=threads)
    if t.rule in RANDOM_RULES:
        kwargs.update(seed=seed, stream=t.name, global_shape=None)
    return kwargs


def check_args(t: TensorSpec) -> None:
    """SpecError unless ``<rule>_`` accepts ``t.args`` for ``t.shape`` (checked on an empty
    shard of the tensor, so nothing big is allocated)."""
    fn = _fill_function(t.rule)
    dtype = numpy_dtype(t.dtype)
    kwargs = fill_kwargs(t, 0, None)
    try:
        if t.size <= 4096 or t.rule in CONSTANT_RULES or not t.shape:
            probe = np.empty(t.shape if t.size <= 4096 else (0,), dtype)
            fn(probe, **kwargs)
        else:
            kwargs.update(global_shape=t.shape, index=(slice(0, 0),))
            fn(np.empty((0,) + t.shape[1:], dtype), **kwargs)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"SPEC tensor {t.name!r}: {t.rule} with args {t.args!r} for shape "
                        f"{list(t.shape)}: {exc}") from None


# ---- writing -----------------------------------------------------------------------------

def layout(tensors: list) -> tuple:
    """``(ordered tensors, header dict without metadata, data bytes)``: decreasing item size,
    then SPEC order, so each tensor's offset is a multiple of its item size."""
    ordered = sorted(tensors, key=lambda t: -np.dtype(numpy_dtype(t.dtype)).itemsize)
    header, pos = {}, 0
    for t in ordered:
        header[t.name] = {"dtype": SAFETENSORS_DTYPES[t.dtype], "shape": list(t.shape),
                          "data_offsets": [pos, pos + t.nbytes]}
        pos += t.nbytes
    return ordered, header, pos


def header_bytes(header: dict, metadata: dict) -> bytes:
    """The JSON header, ``__metadata__`` first, padded with spaces to a multiple of 8."""
    text = json.dumps({"__metadata__": metadata, **header}, separators=(",", ":"),
                      ensure_ascii=True).encode("ascii")
    return text + b" " * (-len(text) % 8)


def write_checkpoint(path: str, tensors: list, seed: int = 0, threads: Optional[int] = None,
                     metadata: Optional[dict] = None, progress=None) -> dict:
    """Write ``tensors`` to the safetensors file ``path``; returns a summary dict.

    ``progress``: an object with ``update(n_bytes)`` and ``set_description(text)`` (or None).
    """
    from ._progress import fill_in_pieces
    ordered, header, data_len = layout(tensors)
    meta = {"format": "pt", "philoxinit.seed": str(seed)}
    meta.update(metadata or {})
    head = header_bytes(header, meta)
    data_start = 8 + len(head)
    directory = os.path.dirname(os.path.abspath(path))
    t0 = time.perf_counter()
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; a plain open() would not
        with os.fdopen(fd, "wb") as f:
            f.write(len(head).to_bytes(8, "little"))
            f.write(head)
            f.truncate(data_start + data_len)
        for t in ordered:
            begin = header[t.name]["data_offsets"][0]
            if progress is not None:
                progress.set_description(t.name)
            if t.size == 0:
                continue
            dtype = numpy_dtype(t.dtype)
            mm = np.memmap(tmp, dtype=dtype, mode="r+", offset=data_start + begin,
                           shape=t.shape or (1,))
            view = mm.reshape(t.shape)
            fn, kwargs = _fill_function(t.rule), fill_kwargs(t, seed, threads)
            if progress is not None and t.nbytes > PIECE_BYTES:
                fill_in_pieces(fn, view, kwargs,
                               lambda n, s=dtype.itemsize: progress.update(n * s),
                               piece=PIECE_BYTES // dtype.itemsize)
            else:
                fn(view, **kwargs)
                if progress is not None:
                    progress.update(t.nbytes)
            mm.flush()
            del view, mm
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    seconds = time.perf_counter() - t0
    total = data_start + data_len
    return {"path": path, "tensors": len(ordered), "parameters": sum(t.size for t in ordered),
            "bytes": total, "data_bytes": data_len, "seconds": seconds,
            "gb_per_s": total / seconds / 1e9 if seconds > 0 else float("inf"),
            "seed": seed, "metadata": meta}


# ---- command line ------------------------------------------------------------------------

from .cli import _positive_int as _int_in_range, _seed  # noqa: E402  (one parser for every command)

_threads = _int_in_range(4096)


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``checkpoint`` on an argparse subparsers object; sets ``func=run``."""
    p = subparsers.add_parser(
        "checkpoint", help="write randomly initialized weights into a safetensors file",
        description="Write randomly initialized weights straight into a safetensors file, "
                    "tensor by tensor through np.memmap, each tensor on stream=<its name>. "
                    "SPEC: a JSON list of {name, shape, dtype, rule, args} or a Hugging Face "
                    "config.json of a Llama-family model.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("spec", metavar="SPEC", help="JSON tensor list or Llama config.json")
    p.add_argument("--out", required=True, metavar="FILE", help="the .safetensors file to write")
    p.add_argument("--seed", type=_seed, default=0, help="philoxinit seed")
    p.add_argument("--dtype", default=None, choices=tuple(SAFETENSORS_DTYPES),
                   help="dtype (config.json: overrides torch_dtype; list: the default for "
                        "tensors without one)")
    p.add_argument("--threads", type=_threads, default=None, metavar="N",
                   help="fill threads (the file never depends on it; default: all)")
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.set_defaults(func=run)
    return p


def _human(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return f"{n} B"


def summary_lines(kind: str, tensors: list, report: dict, show: int = 8) -> list:
    """The plain-text summary: a few tensors, then the totals."""
    width = max(len(t.name) for t in tensors)
    lines = []
    listed = tensors if len(tensors) <= show + 2 else tensors[:show]
    for t in listed:
        lines.append(f"  {t.name.ljust(width)}  {t.dtype:8s}  {str(list(t.shape)):16s}  "
                     f"{t.describe()}")
    if len(listed) < len(tensors):
        lines.append(f"  ... and {len(tensors) - len(listed)} more")
    lines.append(f"wrote {report['path']} ({kind} SPEC, seed {report['seed']}): "
                 f"{report['tensors']:,} tensors, {report['parameters']:,} parameters, "
                 f"{report['bytes']:,} bytes ({_human(report['bytes'])}) in "
                 f"{report['seconds']:.2f} s ({report['gb_per_s']:.2f} GB/s)")
    return lines


def run(args) -> int:
    """``philoxinit checkpoint``; returns the exit status."""
    from ._progress import ByteProgress
    try:
        kind, tensors = load_spec(args.spec, args.dtype)
    except SpecError as exc:
        print(f"philoxinit checkpoint: error: {exc}", file=sys.stderr)
        return 2
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        print(f"philoxinit checkpoint: error: directory {out_dir!r} does not exist",
              file=sys.stderr)
        return 1
    _, _, data_len = layout(tensors)
    bar = ByteProgress(data_len, "", enabled=not args.no_progress)
    try:
        report = write_checkpoint(args.out, tensors, args.seed, args.threads,
                                  {"philoxinit.spec": kind}, progress=bar)
    except OSError as exc:
        bar.close()
        print(f"philoxinit checkpoint: error: cannot write {args.out!r}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        bar.close()
        print("interrupted", file=sys.stderr)
        return 130
    bar.close()
    if args.json:
        report["spec"] = kind
        report["tensor_list"] = [{"name": t.name, "shape": list(t.shape), "dtype": t.dtype,
                                  "rule": t.rule, "args": t.args} for t in tensors]
        json.dump(report, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print("\n".join(summary_lines(kind, tensors, report)))
    return 0


def main(argv: Optional[list] = None) -> int:
    """``python -m philoxinit.checkpoint``: the same as ``philoxinit checkpoint``."""
    from .cli import run_subcommand
    return run_subcommand("checkpoint", add_parser, argv, prog="philoxinit")

if __name__ == "__main__":
    sys.exit(main())
