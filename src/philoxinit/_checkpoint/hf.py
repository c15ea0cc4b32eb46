"""A Hugging Face ``config.json`` as a checkpoint: the model built on ``meta``, its tensors as
``save_pretrained`` writes them, their values from :func:`philoxinit.torch.plan_init`.

* **Keys and shapes.** The model class comes from ``architectures`` (else the causal-LM auto
  class of the ``model_type``, else ``AutoModel``), built with ``torch.device("meta")`` so
  nothing is allocated. Its ``state_dict`` is reduced the way ``save_pretrained`` reduces it:
  ``_keys_to_ignore_on_save`` dropped, tied weights kept once
  (``remove_tied_weights_from_state_dict``), and transformers' weight conversions reverted
  (``revert_weight_conversion``: e.g. Mixtral's fused ``experts.gate_up_proj`` is stored as
  per-expert ``block_sparse_moe.experts.<e>.w1/w3``). Both are transformers' own functions,
  run on the meta tensors.
* **Values.** ``plan_init(model, seed)`` records on meta what the model's own init code gives
  every parameter and buffer, name-keyed; ``InitPlan.fill(name, out)`` replays one of them into
  the file. A stored tensor that is a model tensor under another name (or the same) is filled
  straight into the file; one produced by a conversion is computed from its model tensor, in
  memory, by the same ``revert_weight_conversion``.
* **Fallback.** Where ``philoxinit.torch.plan_init`` does not exist (an older philoxinit), the
  model is built for real on the CPU under ``torch.manual_seed(seed)`` -- HF's own init with
  torch's RNG, not name-keyed -- for models up to :data:`FALLBACK_MAX_BYTES` only, and a note
  says so.
"""
from __future__ import annotations

import math
import sys
from typing import Optional

import numpy as np

from .layout import Entry
from .spec import SAFETENSORS_DTYPES, MAX_ELEMENTS, SpecError

FALLBACK_MAX_BYTES = 2 * 2**30
PROBE_ABOVE_LAYERS = 128  # deeper models are sized from 1- and 2-layer probes before building


def have_transformers() -> bool:
    """Whether transformers (and torch) can be imported."""
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        return False
    return True


def _torch_dtype(name: str):
    import torch
    return getattr(torch, name)


def _dtype_name(torch_dtype) -> str:
    name = str(torch_dtype).removeprefix("torch.")
    if name not in SAFETENSORS_DTYPES:
        raise SpecError(f"a tensor of dtype {name} cannot be stored (supported: "
                        f"{', '.join(SAFETENSORS_DTYPES)})")
    return name


def make_config(obj: dict):
    """The transformers config object of the JSON ``obj``; SpecError with transformers'
    message when it refuses it (its strict field types included)."""
    import transformers
    from transformers import CONFIG_MAPPING
    model_type = obj.get("model_type")
    if model_type is None:
        raise SpecError("config.json: no model_type (which transformers architecture?)")
    if model_type not in CONFIG_MAPPING:
        raise SpecError(f"config.json: model_type {model_type!r} is not known to the installed "
                        f"transformers {transformers.__version__}")
    try:
        return CONFIG_MAPPING[model_type].from_dict(dict(obj))
    except Exception as exc:  # transformers' strict validation: several error classes
        text = " ".join(str(exc).split())
        raise SpecError(f"config.json: transformers refuses it: {text}") from None


def model_class(cfg, obj: dict):
    """The model class for ``cfg``: its ``architectures[0]`` where transformers has it, else
    the causal-LM auto class, else ``AutoModel``."""
    import transformers
    archs = obj.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        cls = getattr(transformers, archs[0], None)
        if cls is not None:
            return cls
        raise SpecError(f"config.json: architectures[0] {archs[0]!r} is not a class of the "
                        f"installed transformers {transformers.__version__}")
    for auto in (transformers.AutoModelForCausalLM, transformers.AutoModel):
        if type(cfg) in auto._model_mapping:
            return auto._model_mapping[type(cfg)]
    raise SpecError(f"config.json: transformers has no model class for model_type "
                    f"{cfg.model_type!r}")


def build_meta(cfg, cls, dtype: str):
    """``cls`` built from ``cfg`` on the meta device in ``dtype``."""
    import torch
    try:
        with torch.device("meta"):
            return cls._from_config(cfg, dtype=_torch_dtype(dtype))
    except SpecError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split())
        raise SpecError(f"config.json: {cls.__name__} cannot be built from it: "
                        f"{type(exc).__name__}: {text}") from None


def _meta_bytes(model) -> tuple:
    elements = nbytes = 0
    for t in model.state_dict().values():
        n = math.prod(t.shape)
        elements += n
        nbytes += n * t.element_size()
    return elements, nbytes


def _storages(stored: dict) -> Optional[dict]:
    """``{key: (storage id, storage bytes)}`` of the meta tensors ``stored``: what
    ``save_pretrained`` shards by (tensors sharing one storage count once, whole, and stay
    together). Views made by a weight conversion share their storage on meta as on the CPU."""
    try:
        return {k: (t.untyped_storage()._cdata, t.untyped_storage().nbytes())
                for k, t in stored.items()}
    except (AttributeError, RuntimeError, NotImplementedError):
        return None


def check_size_before_building(obj: dict, dtype: str, budget: int) -> None:
    """For a deep model, build 1- and 2-layer copies on meta and refuse (SpecError) when the
    extrapolated size exceeds ``budget`` bytes or 2**62 elements -- before the real build."""
    layers = obj.get("num_hidden_layers", obj.get("n_layer"))
    if not isinstance(layers, int) or layers <= PROBE_ABOVE_LAYERS:
        return
    sizes = []
    for n in (1, 2):
        probe = dict(obj, num_hidden_layers=n)
        if "n_layer" in obj:
            probe["n_layer"] = n
        for key, value in obj.items():  # per-layer lists (layer_types, ...) cut to match
            if isinstance(value, list) and len(value) == layers:
                probe[key] = value[:n]
        try:
            cfg = make_config(probe)
            sizes.append(_meta_bytes(build_meta(cfg, model_class(cfg, probe), dtype)))
        except SpecError:
            return  # cannot be probed this way: the full build's own sizes are checked
    (e1, b1), (e2, b2) = sizes
    elements, nbytes = e1 + (layers - 1) * (e2 - e1), b1 + (layers - 1) * (b2 - b1)
    if elements > MAX_ELEMENTS:
        raise SpecError(f"config.json: about {elements:,} parameters ({layers:,} layers), "
                        "more than 2**62")
    if nbytes > budget:
        raise SpecError(f"config.json: about {nbytes:,} bytes ({nbytes / 1e9:.1f} GB, "
                        f"{layers:,} layers), more than the {budget:,} bytes free at --out")


class RealBuildPlan:
    """The documented fallback without ``plan_init``: HF's own init run for real on the CPU
    under ``torch.manual_seed(seed)`` (values from torch's RNG, not name-keyed)."""

    def __init__(self, cfg, cls, dtype: str, seed: int):
        import torch
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed % 2**63)
            self.model = cls._from_config(cfg, dtype=_torch_dtype(dtype))
        self.state = self.model.state_dict()
        self.tensors = {k: (tuple(v.shape), v.dtype) for k, v in self.state.items()}

    def fill(self, name: str, out) -> None:
        out.copy_(self.state[name])


class HFSource:
    """Fills the tensors of a Hugging Face model. Picklable (for dask workers): only the
    config, class name, dtype and seed travel; each process builds the meta model once."""

    kind = "hf"

    def __init__(self, obj: dict, dtype: str, seed: int, budget: Optional[int] = None):
        self.obj, self.dtype, self.seed = obj, dtype, seed
        self._built = False
        if budget is not None:
            check_size_before_building(obj, dtype, budget)
        self._build()

    def __getstate__(self):
        return {"obj": self.obj, "dtype": self.dtype, "seed": self.seed}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._built = False

    # ---- the model, its stored keys and how each is produced ----

    def _build(self) -> None:
        if self._built:
            return
        from transformers.core_model_loading import revert_weight_conversion
        from transformers.modeling_utils import remove_tied_weights_from_state_dict
        self.cfg = make_config(self.obj)
        self.cls = model_class(self.cfg, self.obj)
        self.model = build_meta(self.cfg, self.cls, self.dtype)
        state = self.model.state_dict()
        for key in getattr(self.model, "_keys_to_ignore_on_save", None) or ():
            state.pop(key, None)
        state = remove_tied_weights_from_state_dict(state, self.model)
        stored = revert_weight_conversion(self.model, dict(state))
        self.routes = {}
        if list(stored) == list(state) and all(stored[k] is state[k] for k in state):
            self.routes = {k: ("direct", k) for k in state}
        else:
            for key, tensor in state.items():
                out = revert_weight_conversion(self.model, {key: tensor})
                direct = len(out) == 1 and next(iter(out.values())) is tensor
                for new_key in out:
                    self.routes[new_key] = ("direct" if direct else "convert", key)
            wrong = [k for k in stored if k not in self.routes]
            if wrong or len(self.routes) != len(stored):
                raise SpecError(f"config.json: transformers' weight conversion for "
                                f"{self.cls.__name__} does not map single tensors "
                                f"({', '.join(wrong[:3])} ...): not supported")
        self.entries = [Entry(k, tuple(t.shape), _dtype_name(t.dtype)) for k, t in stored.items()]
        self.storage = _storages(stored)
        self.parameters = self.model.num_parameters()
        self.plan_kind = "plan_init"
        try:
            from philoxinit.torch import plan_init
        except ImportError:
            plan_init = None
        if plan_init is not None:
            self.plan = plan_init(self.model, self.seed)
        else:
            nbytes = sum(e.nbytes for e in self.entries)
            if nbytes > FALLBACK_MAX_BYTES:
                raise SpecError(f"config.json: philoxinit.torch.plan_init is not available, and "
                                f"the fallback (a real CPU build) is limited to "
                                f"{FALLBACK_MAX_BYTES:,} bytes; this model has {nbytes:,}")
            self.plan_kind = "real CPU build under torch.manual_seed (not name-keyed)"
            self.plan = RealBuildPlan(self.cfg, self.cls, self.dtype, self.seed)
        self._revert = revert_weight_conversion
        self._converted, self._pending = {}, {}
        self._built = True

    def config_files(self) -> dict:
        """``{"config.json": bytes, "generation_config.json": bytes}`` as ``save_pretrained``
        writes them (``dtype`` and ``architectures`` set)."""
        cfg = self.model.config
        cfg.dtype = self.dtype
        cfg.architectures = [type(self.model).__name__]
        files = {"config.json": cfg.to_json_string(use_diff=True).encode("utf-8")}
        gen = getattr(self.model, "generation_config", None)
        if gen is not None and self.model.can_generate():
            files["generation_config.json"] = gen.to_json_string(use_diff=True).encode("utf-8")
        return files

    # ---- filling ----

    def begin_file(self, entries: list) -> None:
        """Count, per converted model tensor, the stored tensors of this file it still owes,
        so each is computed once per file and dropped after its last use."""
        self._build()
        self._converted, self._pending = {}, {}
        for e in entries:
            how, src = self.routes[e.name]
            if how == "convert":
                self._pending[src] = self._pending.get(src, 0) + 1

    def _model_tensor(self, name: str):
        import torch
        shape, dtype = self.plan.tensors[name]
        t = torch.empty(shape, dtype=dtype)
        self.plan.fill(name, t)
        return t

    def fill(self, entry: Entry, buf: np.ndarray, threads: Optional[int] = None) -> None:
        """Write ``entry``'s values into ``buf`` (its bytes)."""
        import torch
        self._build()
        if threads is not None:
            import philoxinit
            philoxinit.set_num_threads(threads)
        out = torch.from_numpy(buf).view(_torch_dtype(entry.dtype)).view(entry.shape)
        how, src = self.routes[entry.name]
        if how == "direct":
            self.plan.fill(src, out)
            return
        if src not in self._converted:
            self._converted[src] = self._revert(self.model, {src: self._model_tensor(src)})
        out.copy_(self._converted[src][entry.name])
        left = self._pending.get(src, 1) - 1
        self._pending[src] = left
        if left <= 0:
            self._converted.pop(src, None)


def describe_route(source: HFSource, name: str) -> str:
    how, src = source.routes[name]
    return f"from {src}" if how == "convert" or src != name else "own init"


def note(text: str) -> None:
    print(f"philoxinit checkpoint: note: {text}", file=sys.stderr)

