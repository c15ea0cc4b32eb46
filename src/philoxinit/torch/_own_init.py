"""init_module: re-initialize a whole model on philoxinit streams named after its parameters."""
from __future__ import annotations

import fnmatch
import math
import warnings

import torch
import torch.nn as nn

from .. import rules as _rules
from ._dtensor import _dtensor_shard
from . import _twins
from ._twins import (uniform_, normal_, ones_, zeros_, kaiming_uniform_, xavier_uniform_,
                     xavier_normal_)

_NORMS = (nn.LayerNorm, nn.GroupNorm, nn.modules.batchnorm._NormBase) + (
    (nn.RMSNorm,) if hasattr(nn, "RMSNorm") else ())
_CONVS = (nn.modules.conv._ConvNd,)


def _linear_bias(bias, weight, seed, stream):
    fan_in = _rules.compute_fans(tuple(weight.shape), "torch")[0] if weight.dim() >= 2 else 0
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
    uniform_(bias, -bound, bound, seed=seed, stream=stream)


def _default_rules(module):
    """``{param_name: (description, fn(tensor, seed, stream))}`` for the module's own parameters,
    as its ``reset_parameters`` would initialize them, or None when the type is unknown."""
    def kaiming_sqrt5(t, seed, stream):
        kaiming_uniform_(t, a=math.sqrt(5), seed=seed, stream=stream)

    out = {}
    if isinstance(module, (nn.Linear,) + _CONVS):
        w = module.weight
        out["weight"] = ("kaiming_uniform(a=sqrt(5))", kaiming_sqrt5)
        if getattr(module, "bias", None) is not None:
            out["bias"] = ("uniform(+-1/sqrt(fan_in))",
                           lambda t, seed, stream: _linear_bias(t, w, seed, stream))
        return out
    if isinstance(module, nn.Embedding):
        pad = module.padding_idx

        def embed(t, seed, stream):
            normal_(t, seed=seed, stream=stream)
            if pad is not None:
                with torch.no_grad():
                    shard = _dtensor_shard(t.detach())
                    if shard is None:
                        t[pad].fill_(0)
                    else:   # zero the padding row where this rank holds it
                        local, global_shape, index = shard
                        row = pad % global_shape[0]
                        if index[0].start <= row < index[0].stop:
                            local[row - index[0].start].fill_(0)
        out["weight"] = ("normal(0, 1)" + (f", row {pad} zeroed" if pad is not None else ""), embed)
        return out
    if isinstance(module, _NORMS):
        if getattr(module, "weight", None) is not None:
            out["weight"] = ("ones", lambda t, seed, stream: ones_(t))
        if getattr(module, "bias", None) is not None:
            out["bias"] = ("zeros", lambda t, seed, stream: zeros_(t))
        return out
    if isinstance(module, nn.MultiheadAttention):
        def xu(t, seed, stream):
            xavier_uniform_(t, seed=seed, stream=stream)

        def xn(t, seed, stream):
            xavier_normal_(t, seed=seed, stream=stream)
        for name in ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight"):
            if getattr(module, name, None) is not None:
                out[name] = ("xavier_uniform", xu)
        if module.in_proj_bias is not None:
            out["in_proj_bias"] = ("zeros", lambda t, seed, stream: zeros_(t))
        for name in ("bias_k", "bias_v"):
            if getattr(module, name, None) is not None:
                out[name] = ("xavier_normal", xn)
        return out
    return None


def _rule_callable(rule):
    """A rules-dict value -> ``(description, fn(tensor, seed, stream))``."""
    if callable(rule):
        return getattr(rule, "__name__", repr(rule)), rule
    if isinstance(rule, str):
        rule = (rule, {})
    if isinstance(rule, tuple) and rule and isinstance(rule[0], str):
        name = rule[0] if rule[0].endswith("_") else rule[0] + "_"
        kwargs = dict(rule[1]) if len(rule) > 1 else {}
        if name not in _twins.INIT_NAMES or not name.endswith("_"):
            raise ValueError(f"unknown init function {rule[0]!r} in rules")
        fn = getattr(_twins, name)
        if name in ("constant_", "ones_", "zeros_", "eye_", "dirac_"):
            return f"{name[:-1]}{kwargs or ''}", lambda t, seed, stream: fn(t, **kwargs)
        return f"{name[:-1]}{kwargs or ''}", lambda t, seed, stream: fn(t, seed=seed, stream=stream,
                                                                        **kwargs)
    raise TypeError(f"a rule must be a callable (tensor, seed, stream) or a tuple "
                    f"(name, kwargs), got {rule!r}")


def init_module(module, seed, rules=None, *, prefix="", progress=False):
    """Re-initialize every parameter of ``module`` like its own ``reset_parameters``, on
    philoxinit streams named after the parameters; returns ``{qualified_name: rule}``.

    Parameter ``p`` with qualified name ``q`` (``module.named_parameters()``) is filled with
    ``seed=seed, stream=prefix + q``, so the weights depend only on ``(seed, name, shape)`` -- not on
    the construction order, the torch RNG, or the device the model was built on (e.g. ``meta``
    then ``model.to_empty(device="cpu")``). Defaults (torch's own rules and bounds):

    * ``nn.Linear``, ``nn.Conv{1,2,3}d``, ``nn.ConvTranspose{1,2,3}d``: weight
      ``kaiming_uniform_(a=sqrt(5))`` (``U(+-1/sqrt(fan_in))``, fans from the weight's shape, so
      transposed convs use ``weight.shape[1] * prod(kernel)``), bias ``U(+-1/sqrt(fan_in))``.
    * ``nn.Embedding``: ``N(0, 1)``, row ``padding_idx`` zeroed.
    * ``nn.LayerNorm``, ``nn.RMSNorm``, ``nn.GroupNorm``, ``nn.BatchNorm*d``/``InstanceNorm``:
      weight 1, bias 0 (BatchNorm running stats reset with ``reset_running_stats()``).
    * ``nn.MultiheadAttention`` (its ``_reset_parameters``): ``xavier_uniform_`` on
      ``in_proj_weight`` (or ``q/k/v_proj_weight``), 0 on ``in_proj_bias`` and ``out_proj.bias``,
      ``xavier_normal_`` on ``bias_k``/``bias_v``; ``out_proj.weight`` keeps the
      ``nn.Linear`` rule (torch never re-initializes it).

    ``rules`` maps a module type or an fnmatch pattern (matched against the qualified parameter
    name, with ``prefix``) to a callable ``(tensor, seed, stream) -> None`` or a tuple
    ``(name, kwargs)`` naming a function of this module, e.g. ``("normal", {"std": 0.02})``.
    The first matching pattern wins; then a type key (``isinstance``, first match); then the
    defaults. Modules with parameters of other types (and no rule for them) fall back to their
    own ``reset_parameters()`` (torch RNG, not deterministic here) with a warning, or are left
    untouched with a warning when they have none. ``DTensor`` parameters (tensor
    parallel, FSDP2) are filled shard by shard from their global shape, so every parallel layout
    gives the single-process weights (docs/parallel.md). Composite ``_reset_parameters`` of container
    modules (e.g. ``nn.Transformer``'s xavier on every matrix) are not reproduced: use ``rules``.
    ``progress=True`` shows a tqdm bar (if installed) over the parameters' elements when there
    are more than 2**24 of them; the values are the same.

    >>> import torch.nn as nn, philoxinit.torch as pt
    >>> m = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8))
    >>> report = pt.init_module(m, seed=0, rules={"0.bias": ("zeros", {})})
    >>> report["0.weight"], report["0.bias"], report["1.weight"]
    ('kaiming_uniform(a=sqrt(5))', 'zeros', 'ones')
    """
    rules = dict(rules or {})
    patterns = [(k, _rule_callable(v)) for k, v in rules.items() if isinstance(k, str)]
    types = [(k, _rule_callable(v)) for k, v in rules.items() if isinstance(k, type)]
    bad = [k for k in rules if not isinstance(k, (str, type))]
    if bad:
        raise TypeError(f"rules keys must be module types or str patterns, got {bad!r}")

    plan = {}          # qualified name -> (description, fn, tensor)
    fallback = []      # (module name, module) with unknown parameters
    with torch.no_grad():
        for mod_name, mod in module.named_modules():
            own = dict(mod.named_parameters(recurse=False))
            if not own:
                if isinstance(mod, nn.modules.batchnorm._NormBase):
                    mod.reset_running_stats()
                continue
            defaults = _default_rules(mod)
            type_rule = next((r for k, r in types if isinstance(mod, k)), None)
            uncovered = []
            for pname, p in own.items():
                q = prefix + (f"{mod_name}.{pname}" if mod_name else pname)
                rule = next((r for pat, r in patterns if fnmatch.fnmatchcase(q, pat)), None)
                if rule is None:
                    rule = type_rule
                if rule is None and defaults is not None:
                    rule = defaults.get(pname)
                if rule is None:
                    uncovered.append(pname)
                    continue
                plan[q] = (rule[0], rule[1], p)
            if isinstance(mod, nn.modules.batchnorm._NormBase):
                mod.reset_running_stats()
            if isinstance(mod, nn.MultiheadAttention) and mod.in_proj_bias is not None \
                    and mod.out_proj.bias is not None:
                q = prefix + (f"{mod_name}.out_proj.bias" if mod_name else "out_proj.bias")
                if not any(fnmatch.fnmatchcase(q, pat) for pat, _ in patterns):
                    plan[q + "\0mha"] = ("zeros", lambda t, seed, stream: zeros_(t),
                                         mod.out_proj.bias)
            if uncovered:
                fallback.append((mod_name, mod, uncovered))

        report = {}
        for mod_name, mod, names in fallback:
            if hasattr(mod, "reset_parameters"):
                mod.reset_parameters()
                how = f"{type(mod).__name__}.reset_parameters() (torch RNG)"
            else:
                how = "left untouched"
            for pname in names:
                report[prefix + (f"{mod_name}.{pname}" if mod_name else pname)] = how
        if fallback:
            warnings.warn("init_module: no philoxinit rule for "
                          + ", ".join(f"{n or '<root>'} ({type(m).__name__}: {', '.join(ps)})"
                                      for n, m, ps in fallback)
                          + "; used their own reset_parameters() where they have one",
                          stacklevel=2)
        # MultiheadAttention's override of out_proj.bias runs after the Linear rule.
        items = sorted(plan.items(), key=lambda kv: kv[0].endswith("\0mha"))
        bar = None
        if progress:
            from ._progress import PROGRESS_MIN_ELEMENTS, make_bar
            total = sum(t.numel() for _, (_, _, t) in items)
            if total > PROGRESS_MIN_ELEMENTS:
                bar = make_bar(total, "init_module")
        try:
            for q, (desc, fn, tensor) in items:
                name = q.split("\0")[0]
                fn(tensor, seed, name)
                report[name] = desc
                if bar is not None:
                    bar.update(tensor.numel())
        finally:
            if bar is not None:
                bar.close()
    return report
