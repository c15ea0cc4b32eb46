"""SPEC reading and validation for ``philoxinit checkpoint``: bounded, strict JSON; the tensor
list; the built-in Llama layout (used only where transformers is not installed).

Everything here runs before anything large is built or written, so a bad SPEC is refused
(:class:`SpecError`, exit status 2) in well under a second.
"""
from __future__ import annotations

import json
import math
import numbers
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

MAX_SPEC_BYTES = 64 * 2**20       # a SPEC larger than this is refused unread (/dev/zero, ...)
MAX_ELEMENTS = 2**62              # elements of one checkpoint, all tensors together
MAX_LAYERS = 65536                # num_hidden_layers above this is refused before any import

SAFETENSORS_DTYPES = {"float64": "F64", "float32": "F32", "float16": "F16", "bfloat16": "BF16",
                      "int64": "I64", "int32": "I32", "int16": "I16", "int8": "I8",
                      "uint8": "U8", "bool": "BOOL"}
FLOAT_DTYPES = ("float32", "float16", "bfloat16", "float64")
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
BUILTIN_TYPES = (None, "llama", "mistral")   # model types the built-in layout is right for

# Config keys whose type is checked before transformers is imported: sizes must be positive
# ints (None where the key is optional), flags must be JSON booleans.
POSITIVE_INT_KEYS = ("hidden_size", "intermediate_size", "num_hidden_layers",
                     "num_attention_heads", "vocab_size", "n_embd", "n_layer", "n_head",
                     "n_positions", "moe_intermediate_size", "num_local_experts",
                     "num_experts", "num_experts_per_tok")
OPTIONAL_POSITIVE_INT_KEYS = ("num_key_value_heads", "head_dim", "n_inner")
BOOL_KEYS = ("tie_word_embeddings", "attention_bias", "mlp_bias", "use_cache")


class SpecError(ValueError):
    """A bad SPEC, argument or output path: refused before anything is written (exit 2)."""


@dataclass
class TensorSpec:
    """One tensor of a list SPEC (or of the built-in Llama layout).

    ``zero_rows``: rows set to 0 after the fill (an embedding's ``padding_idx``).
    """

    name: str
    shape: tuple
    dtype: str
    rule: str
    args: dict = field(default_factory=dict)
    zero_rows: tuple = ()

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return self.size * itemsize(self.dtype)

    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.rule}({args})"


# ---- dtypes ------------------------------------------------------------------------------

def dtype_name(value, where: str) -> str:
    """The canonical float dtype name (float32, float16, bfloat16, float64) for ``value``.

    >>> dtype_name("bf16", "--dtype"), dtype_name("torch.float16", "x")
    ('bfloat16', 'float16')
    """
    if not isinstance(value, str):
        raise SpecError(f"{where}: dtype must be a string, got {value!r}")
    key = value.strip().lower().removeprefix("torch.")
    if key not in DTYPE_ALIASES:
        raise SpecError(f"{where}: unsupported dtype {value!r}; choose from "
                        f"{', '.join(FLOAT_DTYPES)}")
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


def itemsize(name: str) -> int:
    """Bytes per element of a dtype name (``bfloat16``: 2) without importing ml_dtypes."""
    return 2 if name == "bfloat16" else np.dtype(name).itemsize


# ---- bounded, strict JSON ----------------------------------------------------------------

def _no_duplicate_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise SpecError(f"duplicate key {key!r} in a JSON object")
        obj[key] = value
    return obj


def read_json(path: str, what: str = "SPEC"):
    """The JSON value in file ``path``: at most :data:`MAX_SPEC_BYTES`, strict UTF-8, no
    nesting deep enough to exhaust the parser's recursion limit, no duplicate keys, no NaN/Infinity; SpecError otherwise."""
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SpecError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None
    if len(raw) > MAX_SPEC_BYTES:
        raise SpecError(f"{what} {path!r} is larger than {MAX_SPEC_BYTES // 2**20} MB; "
                        "a tensor list or config.json is far smaller")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"{what} {path!r} is not valid UTF-8 (byte {exc.start}: "
                        f"{raw[exc.start:exc.start + 1]!r})") from None
    def bad_constant(name):
        raise SpecError(f"{name} is not allowed in {what} (JSON has no {name})")

    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys,
                          parse_constant=bad_constant)
    except json.JSONDecodeError as exc:
        raise SpecError(f"{what} {path!r} is not valid JSON: {exc}") from None
    except RecursionError:
        raise SpecError(f"{what} {path!r}: JSON nested too deeply (a tensor list or "
                        "config.json needs a few levels)") from None
    except SpecError as exc:
        raise SpecError(f"{what} {path!r}: {exc}") from None


# ---- the tensor list ---------------------------------------------------------------------

def _shape(value, where: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise SpecError(f"{where}: shape must be a list of non-negative ints, got {value!r}")
    for d in value:
        if isinstance(d, bool) or not isinstance(d, numbers.Integral) or d < 0:
            raise SpecError(f"{where}: shape must be a list of non-negative ints, got {value!r}")
    shape = tuple(int(d) for d in value)
    if math.prod(shape) > MAX_ELEMENTS:
        raise SpecError(f"{where}: shape {list(shape)} has more than 2**62 elements")
    return shape


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
    total = sum(t.size for t in tensors)
    if total > MAX_ELEMENTS:
        raise SpecError(f"SPEC: {total:,} elements in all, more than 2**62")
    return tensors


def fill_function(rule: str):
    """``philoxinit.<rule>_``."""
    import philoxinit as pxi
    return getattr(pxi, rule + "_")


def fill_kwargs(t: TensorSpec, seed: int, threads: Optional[int]) -> dict:
    """The keyword arguments of ``<rule>_(out, **kwargs)`` for tensor ``t``."""
    kwargs = dict(t.args, threads=threads)
    if t.rule in RANDOM_RULES:
        kwargs.update(seed=seed, stream=t.name, global_shape=None)
    return kwargs


def check_all_args(tensors: list) -> None:
    """:func:`check_args` once per distinct (rule, args, dtype, shape)."""
    seen = set()
    for t in tensors:
        key = (t.rule, json.dumps(t.args, sort_keys=True, default=repr), t.dtype, t.shape)
        if key not in seen:
            seen.add(key)
            check_args(t)


def check_args(t: TensorSpec) -> None:
    """SpecError unless ``<rule>_`` accepts ``t.args`` for ``t.shape`` (checked on an empty
    shard of the tensor, so nothing big is allocated)."""
    fn = fill_function(t.rule)
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


# ---- config.json: checks that need no transformers ---------------------------------------

def is_config(obj) -> bool:
    """Whether ``obj`` looks like a Hugging Face ``config.json`` (a ``model_type``, or
    ``hidden_size`` and ``num_hidden_layers``)."""
    return isinstance(obj, dict) and ("model_type" in obj or
                                      ("hidden_size" in obj and "num_hidden_layers" in obj))


def check_config_types(cfg: dict) -> None:
    """SpecError for a size that is not a positive int, a flag that is not a JSON boolean,
    or an absurd layer count -- the checks that need no transformers."""
    for key in POSITIVE_INT_KEYS + OPTIONAL_POSITIVE_INT_KEYS:
        if key not in cfg or (cfg[key] is None and key in OPTIONAL_POSITIVE_INT_KEYS):
            continue
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError(f"config.json: {key} must be a positive int, got {value!r}")
    for key in BOOL_KEYS:
        if key in cfg and not isinstance(cfg[key], bool):
            raise SpecError(f"config.json: {key} must be true or false (a JSON boolean), "
                            f"got {cfg[key]!r}")
    layers = cfg.get("num_hidden_layers", cfg.get("n_layer"))
    if isinstance(layers, int) and layers > MAX_LAYERS:
        raise SpecError(f"config.json: num_hidden_layers {layers:,} is absurd (more than "
                        f"{MAX_LAYERS:,})")
    if "model_type" in cfg and not isinstance(cfg["model_type"], str):
        raise SpecError(f"config.json: model_type must be a string, got {cfg['model_type']!r}")


def config_dtype(cfg: dict, override: Optional[str]) -> str:
    """The checkpoint dtype: ``--dtype``, else the config's ``dtype`` / ``torch_dtype``, else
    float32."""
    if override:
        return override
    raw = cfg.get("dtype", cfg.get("torch_dtype")) or "float32"
    return "float32" if raw == "auto" else dtype_name(raw, "config.json dtype")


# ---- the built-in Llama layout (only where transformers is absent) -----------------------

def tensors_from_llama(cfg: dict, dtype_override: Optional[str]) -> list:
    """TensorSpecs of a Llama/Mistral model from its ``config.json``, without transformers.

    Linear and embedding weights ``N(0, initializer_range**2)`` on ``stream=<name>``, norms
    1, biases 0, the ``pad_token_id`` row of the embedding 0 -- like transformers'
    ``_init_weights``, whose tensor names and shapes this mirrors for these two model types.
    """
    check_config_types(cfg)
    model_type = cfg.get("model_type")
    if model_type not in BUILTIN_TYPES:
        raise SpecError(f"config.json: model_type {model_type!r} needs transformers (pip "
                        "install transformers); without it only llama and mistral are written")
    missing = [k for k in LLAMA_REQUIRED if k not in cfg]
    if missing:
        raise SpecError(f"config.json: missing {', '.join(missing)} (needed for a Llama-family "
                        "model)")
    hidden, inter = cfg["hidden_size"], cfg["intermediate_size"]
    layers, heads, vocab = cfg["num_hidden_layers"], cfg["num_attention_heads"], cfg["vocab_size"]
    kv_heads = heads if cfg.get("num_key_value_heads") is None else cfg["num_key_value_heads"]
    if cfg.get("head_dim") is not None:
        head_dim = cfg["head_dim"]
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
    pad = cfg.get("pad_token_id")
    if pad is not None and (isinstance(pad, bool) or not isinstance(pad, int)
                            or not 0 <= pad < vocab):
        raise SpecError(f"config.json: pad_token_id must be null or an int in [0, vocab_size), "
                        f"got {pad!r}")
    dtype = config_dtype(cfg, dtype_override)
    normal = ("normal", {"mean": 0.0, "std": float(std)})
    ones, zeros = ("ones", {}), ("zeros", {})
    attn_bias, mlp_bias = cfg.get("attention_bias", False), cfg.get("mlp_bias", False)

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
    tensors = [TensorSpec(name, shape, dtype, rule, dict(args)) for name, shape, (rule, args) in out]
    if pad is not None:
        tensors[0].zero_rows = (pad,)
    total = sum(t.size for t in tensors)
    if total > MAX_ELEMENTS:
        raise SpecError(f"config.json: {total:,} parameters, more than 2**62")
    return tensors


class ListSource:
    """Fills the tensors of a list SPEC (or the built-in Llama layout): ``<rule>_`` on
    ``seed``, ``stream=<tensor name>``. Picklable (for dask workers)."""

    kind = "list"

    def __init__(self, tensors: list, seed: int):
        self.tensors = {t.name: t for t in tensors}
        self.seed = seed

    def fill(self, entry, buf: np.ndarray, threads: Optional[int] = None) -> None:
        """Write ``entry``'s values into ``buf`` (its bytes)."""
        t = self.tensors[entry.name]
        arr = buf.view(numpy_dtype(t.dtype)).reshape(t.shape)
        fill_function(t.rule)(arr, **fill_kwargs(t, self.seed, threads))
        for row in t.zero_rows:
            arr[row] = 0
