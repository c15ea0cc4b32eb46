"""Whole-model init times (own init, init_module, fast_init, zero_ floor, fill): one table.

One run, one model alive at a time, the way a user waits for it:

    python benchmarks/model_init.py            # full size: HF Llama 1.1B etc. (~10 min, 2 cores)
    python benchmarks/model_init.py --quick    # 4 decoder layers each (~5 min)
    python benchmarks/model_init.py --layers 8 --only Llama --repeat 5

Models: HF ``LlamaForCausalLM`` at TinyLlama-1.1B shape (hidden 2048, intermediate 5632, 22
layers, 32 heads, 4 kv heads, vocab 32000, float32), torchtitan llama3 1B where torchtitan is
installed, the plain-torch decoder of ``test_bench_model.py`` (d_model 2048, 20 layers, vocab
32000: 1.1e9 parameters), timm ViT-B/16 and timm ResNet-50.

Ways (columns), each timed end to end and reported as the best of ``--repeat`` runs:

* ``own init``: the library's own eager construction (``LlamaForCausalLM(config)``,
  ``timm.create_model``, the torch modules' default ``reset_parameters``);
* ``init_module``: build on ``meta``, ``to_empty(device="cpu")``,
  ``philoxinit.torch.init_module(model, seed=0)`` (the model's own init code, every random fill
  done by philoxinit);
* ``fast_init``: ``with philoxinit.torch.fast_init(seed=0): build``;
* ``zero_ floor``: build on ``meta``, ``to_empty``, ``p.zero_()`` for every parameter: the cost
  of getting the memory and writing it once, with no random numbers;
* ``fill``: one ``philoxinit.normal_`` of the model's parameter count into a pre-touched float32
  buffer: the generator alone, without first-touch page faults or Python per tensor.

Before a model's timed runs, one untimed init_module and one floor run absorb one-time costs
(``--no-warmup`` skips them). Each cell is seconds and, in parentheses, the ratio to the ``zero_ floor`` of that model; the
last columns are the speed-ups of ``init_module`` and ``fast_init`` over ``own init``. The
ways are interleaved and their order rotates from run to run (1..5, then 2..5 1, ...): on a VM a
fill into memory just freed by the previous way can be several times faster than one into
memory the system has not handed out for a while, so no way should always come first.
"""
from __future__ import annotations

import argparse
import gc
import pathlib
import sys
import time

import numpy as np

WAYS = ("own init", "init_module", "fast_init", "zero_ floor", "fill")


def _meta(build):
    import torch
    with torch.device("meta"):
        model = build()
    return model.to_empty(device="cpu")


def _zero_floor(build):
    import torch
    model = _meta(build)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def _param_count(model) -> int:
    return sum(p.numel() for p in model.parameters())


def _models(quick: bool, layers_override):
    """(name, build, own-init build or None for ``build``) for every model available here;
    a str instead of a build says why a model is skipped."""
    import torch
    models = []
    try:
        import transformers
        layers = layers_override or (4 if quick else 22)
        cfg = transformers.LlamaConfig(hidden_size=2048, intermediate_size=5632,
                                       num_hidden_layers=layers, num_attention_heads=32,
                                       num_key_value_heads=4, vocab_size=32000)
        models.append((f"HF Llama TinyLlama-shape, {layers} layers",
                       lambda: transformers.LlamaForCausalLM(cfg), None))
    except ImportError as exc:
        models.append(("HF Llama", f"skipped: transformers not importable ({exc})", None))
    models.append(_torchtitan(layers_override or (4 if quick else None)))
    sys.path.insert(0, str(pathlib.Path(__file__).parent))
    from test_bench_model import Decoder  # the decoder of model_construction.py
    layers = layers_override or (4 if quick else 20)
    models.append((f"plain-torch decoder, {layers} layers",
                   lambda layers=layers: Decoder(d=2048, layers=layers, vocab=32000), None))
    try:
        import timm
        models.append(("timm vit_base_patch16_224",
                       lambda: timm.create_model("vit_base_patch16_224"), None))
        models.append(("timm resnet50", lambda: timm.create_model("resnet50"), None))
    except ImportError as exc:
        models.append(("timm ViT-B/16", f"skipped: timm not importable ({exc})", None))
    del torch
    return models


def _torchtitan(layers):
    """torchtitan's llama3 1B flavor (dim 2048, 16 layers, 32 heads, 8 kv heads, vocab 128256,
    tied embedding; torchtitan 0.3's config API). Its own init is what torchtitan runs:
    build, then ``init_states()``."""
    try:
        import torchtitan  # noqa: F401
    except ImportError:
        return ("torchtitan llama3 1B", "skipped: torchtitan is not installed", None)
    try:
        import dataclasses
        from torchtitan.models.llama3 import llama3_configs
        cfg = llama3_configs["1B"](attn_backend="flex")
        if layers:
            cfg = dataclasses.replace(cfg, layers=cfg.layers[:layers])
        layers = len(cfg.layers)
    except Exception as exc:  # a torchtitan API this script does not know
        return ("torchtitan llama3 1B", f"skipped: cannot build it ({type(exc).__name__}: {exc})",
                None)

    def own():
        model = cfg.build()
        model.init_states()
        return model
    return (f"torchtitan llama3 1B, {layers} layers", cfg.build, own)


def _time(fn) -> float:
    gc.collect()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    del result
    gc.collect()
    return seconds


def _run_ways(build, own, n_params: int, seed: int, rotation: int = 0):
    import philoxinit as pxi
    import philoxinit.torch as pt

    def fast():
        with pt.fast_init(seed=seed):
            return build()

    def fill():
        # The pre-touched buffer is made outside the timed call.
        return pxi.normal_(buffer, 0.0, 0.02, seed=seed, stream="fill")

    buffer = None
    ways = {"own init": own or build,
            "init_module": lambda: pt.init_module(_meta(build), seed=seed),
            "fast_init": fast,
            "zero_ floor": lambda: _zero_floor(build),
            "fill": fill}
    times = {}
    k = rotation % len(WAYS)
    for way in WAYS[k:] + WAYS[:k]:
        if way == "fill":
            buffer = np.empty(n_params, np.float32)
            buffer.fill(0.0)
        try:
            times[way] = _time(ways[way])
        except Exception as exc:  # one broken way must not hide the others
            times[way] = f"{type(exc).__name__}: {exc}"
        buffer = None
    return times


def _cell(seconds, floor) -> str:
    if isinstance(seconds, str):
        return "error"
    if isinstance(floor, float):
        return f"{seconds:6.2f}s ({seconds / floor:4.2f}x)"
    return f"{seconds:6.2f}s"


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true",
                    help="4 decoder layers instead of 22 (Llama) / 16 (torchtitan) / 20 (decoder)")
    ap.add_argument("--layers", type=int, default=None,
                    help="this many decoder layers in every decoder model (torchtitan: at most 16)")
    ap.add_argument("--repeat", type=int, default=None,
                    help="runs of every way per model; the best is reported (default: 3 with "
                         "--quick, 2 without)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-warmup", dest="warmup", action="store_false",
                    help="skip the untimed init_module and zero_ floor run before each model")
    ap.add_argument("--only", default="", help="run only models whose name contains this text")
    args = ap.parse_args(argv)
    repeat = args.repeat or (3 if args.quick else 2)

    import torch
    import philoxinit as pxi
    print(f"philoxinit {pxi.__version__} ({pxi.info()['isa']}, {pxi.get_num_threads()} threads), "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads); best of {repeat} "
          f"runs per cell{', after one untimed init_module and floor run' if args.warmup else ''}; "
          f"in parentheses: the ratio to the zero_ floor", flush=True)
    header = (f"{'model':38} {'params':>8}" + "".join(f" {w:>17}" for w in WAYS)
              + f" {'init_module':>12} {'fast_init':>10}")
    print(header)
    print(f"{'':38} {'':>8}" + " " * 18 * len(WAYS) + f" {'speed-up':>12} {'speed-up':>10}")
    errors = []
    for name, build, own in _models(args.quick, args.layers):
        if args.only and args.only not in name:
            continue
        if isinstance(build, str):
            print(f"{name:38} {build}", flush=True)
            continue
        import torch
        with torch.device("meta"):
            n_params = _param_count(build())
        if args.warmup:
            # Untimed: the first init_module in a process pays one-time costs (imports, the
            # scan for captured nn.init functions), and memory the system has not handed out
            # for a while is slower to fault in than memory just freed (seen on VMs).
            import philoxinit.torch as pt
            for fn in (lambda: pt.init_module(_meta(build), seed=args.seed),
                       lambda: _zero_floor(build)):
                try:
                    _time(fn)
                except Exception:
                    pass  # reported by the timed run
        best = {}
        for r in range(repeat):
            for way, t in _run_ways(build, own, n_params, args.seed, rotation=r).items():
                if isinstance(t, str):
                    best.setdefault(way, t)
                    errors.append(f"{name} / {way}: {t}")
                elif not isinstance(best.get(way), float) or t < best[way]:
                    best[way] = t
        floor = best.get("zero_ floor")
        speedups = []
        for way in ("init_module", "fast_init"):
            a, b = best.get("own init"), best.get(way)
            speedups.append(f"{a / b:.1f}x" if isinstance(a, float) and isinstance(b, float)
                            else "-")
        print(f"{name:38} {n_params / 1e6:7.1f}M" + "".join(f" {_cell(best[w], floor):>17}"
                                                           for w in WAYS)
              + f" {speedups[0]:>12} {speedups[1]:>10}", flush=True)
    for line in dict.fromkeys(errors):
        print(f"error: {line}")


if __name__ == "__main__":
    main()
