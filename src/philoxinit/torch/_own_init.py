"""init_module: run a model's own init code with every random fill on a philoxinit stream named
after the parameter or buffer it writes (the interception is in :mod:`._session`)."""
from __future__ import annotations

import fnmatch
import sys

import torch
import torch.nn as nn

from .._streams import resolve_seed as _resolve_seed
from . import _patching, _twins
from ._dtensor import _dtensor_shard
from ._session import InitSession, _Interceptor

_CONSTANT_RULES = ("constant_", "ones_", "zeros_", "eye_", "dirac_")


def _rule_callable(rule):
    """A rules-dict value -> ``(description, fn(tensor, seed, stream))``."""
    if callable(rule):
        return getattr(rule, "__name__", repr(rule)), rule
    if isinstance(rule, str):
        rule = (rule, {})
    if isinstance(rule, tuple) and rule and isinstance(rule[0], str):
        name = rule[0] if rule[0].endswith("_") else rule[0] + "_"
        kwargs = dict(rule[1]) if len(rule) > 1 else {}
        if name not in _twins.INIT_NAMES:
            raise ValueError(f"unknown init function {rule[0]!r} in rules")
        fn = getattr(_twins, name)
        if name in _CONSTANT_RULES:
            return f"{name[:-1]}{kwargs or ''}", lambda t, seed, stream: fn(t, **kwargs)
        return f"{name[:-1]}{kwargs or ''}", lambda t, seed, stream: fn(t, seed=seed, stream=stream,
                                                                        **kwargs)
    raise TypeError(f"a rule must be a callable (tensor, seed, stream), a function name or a "
                    f"tuple (name, kwargs), got {rule!r}")


def _is_wildcard(text):
    return any(c in text for c in "*?[")


class Rules:
    """The ``rules=`` of :func:`init_module`, sorted by precedence (first match wins):

    1. an exact qualified name (``"lm_head.weight"``);
    2. a pattern that names a module path (literal text before its last ``.``, e.g.
       ``"*c_proj.weight"``, ``"layers.*.mlp.*"``), in dict order;
    3. ``(ModuleType, "param")``: that parameter of modules of that type (``isinstance``);
    4. ``ModuleType``: every direct parameter of such modules;
    5. a pattern on the parameter name only (``"*.weight"``, ``"*bias"``), in dict order.

    So ``"*.weight"`` never beats a type rule, and a type rule can target ``weight`` or
    ``bias`` alone.
    """

    def __init__(self, rules):
        self.exact, self.path, self.typed_param, self.typed, self.leaf = [], [], [], [], []
        for key, value in dict(rules or {}).items():
            rule = _rule_callable(value)
            if isinstance(key, str):
                if not _is_wildcard(key):
                    self.exact.append((key, rule))
                elif not key.rpartition(".")[0].replace("*", "").replace("?", ""):
                    self.leaf.append((key, rule))
                else:
                    self.path.append((key, rule))
            elif isinstance(key, type):
                self.typed.append((key, rule))
            elif (isinstance(key, tuple) and len(key) == 2 and isinstance(key[0], type)
                  and isinstance(key[1], str)):
                self.typed_param.append((key, rule))
            else:
                raise TypeError(f"rules keys must be a str name or pattern, a module type or a "
                                f"tuple (module type, parameter name), got {key!r}")

    def __bool__(self):
        return bool(self.exact or self.path or self.typed_param or self.typed or self.leaf)

    def find(self, qualified, module, pname):
        for key, rule in self.exact:
            if key == qualified:
                return rule
        for key, rule in self.path:
            if fnmatch.fnmatchcase(qualified, key):
                return rule
        for (typ, name), rule in self.typed_param:
            if name == pname and isinstance(module, typ):
                return rule
        for typ, rule in self.typed:
            if isinstance(module, typ):
                return rule
        for key, rule in self.leaf:
            if fnmatch.fnmatchcase(qualified, key):
                return rule
        return None


def _post_order(module, prefix=""):
    for name, child in module.named_children():
        yield from _post_order(child, f"{prefix}{name}." if prefix or name else "")
    yield prefix[:-1], module


def _reset_stage(session, module):
    """What construction ran: every submodule's ``reset_parameters()`` (or
    ``_reset_parameters()``), children before their parents."""
    for qual, mod in _post_order(module):
        fn = getattr(type(mod), "reset_parameters", None)
        if fn is None:
            fn = getattr(type(mod), "_reset_parameters", None)
        if callable(fn):
            session.scope = qual
            fn(mod)
            if isinstance(mod, nn.Embedding) and mod.padding_idx is not None:
                _zero_dtensor_row(session, mod.weight, mod.padding_idx)
    session.scope = ""


def _zero_dtensor_row(session, weight, row):
    """``weight[row].fill_(0)`` does not reach a DTensor's shards: zero the row where this rank
    holds it."""
    shard = _dtensor_shard(weight.detach())
    if shard is None:
        return
    session.flush()
    local, global_shape, index = shard
    row = row % global_shape[0]
    if index[0].start <= row < index[0].stop:
        local[row - index[0].start].fill_(0)


def _hf_pretrained(module):
    mu = sys.modules.get("transformers.modeling_utils")
    cls = getattr(mu, "PreTrainedModel", None)
    return cls is not None and isinstance(module, cls)


def _hf_init(session, module):
    """``from_config``'s init: the flags cleared, ``init_weights()`` (``_init_weights`` per
    module, buffers, ``tie_weights``), each module's init in the scope of its name."""
    names = {id(m): n for n, m in module.named_modules()}
    for m in module.modules():
        if "_is_hf_initialized" in m.__dict__:
            del m.__dict__["_is_hf_initialized"]
        for t in list(m.parameters(recurse=False)) + [b for b in m.buffers(recurse=False)
                                                       if b is not None]:
            if "_is_hf_initialized" in getattr(t, "__dict__", {}):
                del t.__dict__["_is_hf_initialized"]
    mu = sys.modules["transformers.modeling_utils"]
    wrapped = []
    for m in module.modules():
        if isinstance(m, mu.PreTrainedModel):
            original = m._initialize_weights

            def scoped(sub, *args, _original=original, **kwargs):
                session.scope = names.get(id(sub), "")
                try:
                    return _original(sub, *args, **kwargs)
                finally:
                    session.scope = ""
            m.__dict__["_initialize_weights"] = scoped
            wrapped.append(m)
    untied = _untie_targets(module)
    try:
        module.init_weights()
    finally:
        for m in wrapped:
            m.__dict__.pop("_initialize_weights", None)
        for owner, attr, placeholder, tensor in untied:
            if owner._parameters.get(attr) is placeholder:    # init_weights did not re-tie
                owner._parameters[attr] = tensor


def _untie_targets(module):
    """``from_config`` ties weights after the init, so the init of a tie's target (``lm_head``)
    never overwrites its source (the embedding, padding row zeroed). On a model that is tied
    already, each target is a meta placeholder while ``init_weights`` runs (fills of it are
    no-ops); ``tie_weights`` at its end, or the ``finally`` above, restores the tie."""
    keys = getattr(module, "all_tied_weights_keys", None) or getattr(
        module, "_tied_weights_keys", None)
    if not isinstance(keys, dict):
        return []
    params = dict(module.named_parameters(remove_duplicate=False))
    out = []
    for target, source in keys.items():
        t, s = params.get(target), params.get(source)
        if t is None or s is None or t is not s or t.is_meta:
            continue
        owner_name, _, attr = target.rpartition(".")
        owner = module.get_submodule(owner_name) if owner_name else module
        if owner._parameters.get(attr) is not t:
            continue
        placeholder = nn.Parameter(torch.empty_like(t, device="meta"), requires_grad=t.requires_grad)
        owner._parameters[attr] = placeholder
        out.append((owner, attr, placeholder, t))
    return out


def own_init_description(module):
    if _hf_pretrained(module):
        return "transformers init_weights()"
    if callable(getattr(module, "init_weights", None)):
        return f"{type(module).__name__}.init_weights()"
    return "reset_parameters() of every submodule"


# Per-module init methods (torchtitan's protocol, timm's, torch's): while one runs, fills into
# temporaries are named after its module (torchtitan's fused wqkv draws q, k, v into temporaries
# inside wqkv's _init_self_parameters), not after a count over the whole model.
_SCOPED_METHODS = ("init_states", "_init_self_parameters", "_init_self_buffers", "init_weights",
                   "reset_parameters", "_reset_parameters")


def _scope_methods(session, module):
    wrapped = []
    for qual, mod in module.named_modules():
        for name in _SCOPED_METHODS:
            if name in mod.__dict__ or not callable(getattr(type(mod), name, None)):
                continue
            bound = getattr(mod, name)

            def scoped(*args, _bound=bound, _qual=qual, **kwargs):
                outer, session.scope = session.scope, _qual
                try:
                    return _bound(*args, **kwargs)
                finally:
                    session.scope = outer
            mod.__dict__[name] = scoped
            wrapped.append((mod, name))
    return wrapped


def _run_own_init(session, module, init):
    if init is not None:
        init(module)
        return
    _reset_stage(session, module)
    if _hf_pretrained(module):
        _hf_init(session, module)
    elif callable(getattr(module, "init_weights", None)):
        wrapped = _scope_methods(session, module)
        try:
            module.init_weights()
        finally:
            for mod, name in wrapped:
                mod.__dict__.pop(name, None)


def _module_names(module):
    return {type(m).__module__ for m in module.modules()}


def _apply_rules(session, module, rules, prefix):
    by_id = {id(e.tensor): e for e in session.entries}
    done = set()
    for mod_name, mod in module.named_modules():
        for pname, p in mod.named_parameters(recurse=False):
            e = by_id.get(id(p))
            if e is None or id(p) in done:
                continue
            q = prefix + (f"{mod_name}.{pname}" if mod_name else pname)
            rule = rules.find(q, mod, pname)
            if rule is None:
                continue
            done.add(id(p))
            session.flush()
            rule[1](p, session.seed, prefix + e.name)
            session.flush()
            e.written, e.how = True, rule[0]


def run_init(module, seed, rules=None, *, init=None, prefix="", threads=None):
    """The session after running the module's own init (and the rules); see init_module."""
    seed = _resolve_seed(seed)
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    if init is not None and not callable(init):
        raise TypeError(f"init must be a callable(module) or None, got {type(init).__name__}")
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, got {type(prefix).__name__}")
    rules = Rules(rules)
    session = InitSession(module, seed, prefix, threads)
    meta = [e.name for e in session.entries if e.tensor.is_meta]
    if meta:
        raise ValueError("init_module needs real tensors: these are on the meta device "
                         f"({', '.join(meta[:5])}{', ...' if len(meta) > 5 else ''}); call "
                         "module.to_empty(device=...) first (or use plan_init)")
    undo = _patching.patch(_module_names(module))
    try:
        with session, torch.no_grad(), _Interceptor(session, _patching.init_function_map()):
            _run_own_init(session, module, init)
            session.flush()
            if rules:
                _apply_rules(session, module, rules, prefix)
            session.flush()
    finally:
        _patching.unpatch(undo)
    return session


def _check_covered(session):
    missing, bad = [], []
    for e in session.entries:
        t = e.tensor.detach()
        if not t.is_floating_point():
            continue
        if e.is_param and not e.written:
            missing.append(e.name)
            continue
        if e.finite_by_fill:
            continue
        local = t.to_local() if e.dtensor else t
        if local.numel() and not bool(torch.isfinite(local).all()):
            bad.append(e.name)
    if missing:
        raise ValueError("init_module: the module's init code does not write "
                         + ", ".join(missing) + "; give them a rule (rules={name: ...}) or an "
                         "init= callable")
    if bad:
        raise ValueError("init_module: non-finite values remain in " + ", ".join(bad)
                         + " after the module's init code (buffers it does not set keep what "
                         "they held, e.g. the garbage of to_empty); set them with rules= or init=")


def init_module(module, seed, rules=None, *, init=None, prefix="", progress=False):
    """Run ``module``'s own initialization code with every random fill done by philoxinit, on
    the stream named after the parameter or buffer it writes; returns ``{name: how}``.

    Which code runs (``init=callable(module)`` replaces the choice):

    * a transformers ``PreTrainedModel``: what ``from_config`` runs -- every submodule's
      ``reset_parameters()``, then ``init_weights()`` (``_init_weights`` per module, its
      buffers such as RoPE ``inv_freq``, weight tying);
    * another module with ``init_weights()`` (timm, torchtitan): ``reset_parameters()`` of
      every submodule, then that method;
    * otherwise every submodule's ``reset_parameters()`` / ``_reset_parameters()``, children
      first (torch's own rules, RNNs, ``PReLU``, ``Bilinear``, ``nn.Transformer`` included).

    A fill of ``dist`` into parameter/buffer ``q`` (or a slice or view of it) writes, at each
    element ``i`` (C order of ``q``) it covers, what ``philoxinit.<dist>_`` gives element ``i``
    with ``seed=seed, stream=prefix + q``: the values depend only on ``(seed, name, shape,
    scheme)``, not on the order, the torch RNG or the thread count. Tied weights take the first
    name (``named_parameters()`` order). ``rules`` then overrides named parameters (precedence
    in :class:`Rules`): ``{key: rule}`` with a rule a callable ``(tensor, seed, stream)``, a
    function name of this module or ``(name, kwargs)``, e.g. ``("normal", {"std": 0.02})``.

    Raises ValueError naming every floating parameter no code wrote, and every floating
    buffer left non-finite. Tensors must be real (``to_empty`` a ``meta`` model first); CUDA
    tensors are filled on the CPU and copied. ``progress=True`` shows a tqdm bar (if installed)
    over the rules stage of models above 2**24 elements; the values are the same.

    >>> import torch.nn as nn, philoxinit.torch as pt
    >>> m = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8))
    >>> report = pt.init_module(m, seed=0, rules={"0.bias": "zeros"})
    >>> report["0.weight"], report["0.bias"], report["1.weight"]
    ('uniform(-0.5, 0.5)', 'zeros', 'constant(1)')
    """
    bar = None
    if progress:
        from .._progress import PROGRESS_MIN_ELEMENTS, make_bar
        total = sum(p.numel() for p in module.parameters())
        if total > PROGRESS_MIN_ELEMENTS:
            bar = make_bar(total, "init_module")
    try:
        session = run_init(module, seed, rules, init=init, prefix=prefix)
        _check_covered(session)
        if bar is not None:
            bar.update(sum(p.numel() for p in module.parameters()))
    finally:
        if bar is not None:
            bar.close()
    report = {}
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update({k: v for k, v in module.named_buffers(remove_duplicate=False) if v is not None})
    by_id = {id(e.tensor): e for e in session.entries}
    for q, t in named.items():
        e = by_id.get(id(t))
        if e is not None and (e.written or e.is_param):
            report[prefix + q] = e.how
    return report
