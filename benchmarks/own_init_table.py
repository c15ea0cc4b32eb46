"""Whole-model init time: the library's own eager init vs meta + to_empty + init_module, and the
zero_ floor (meta + to_empty + zero_ of every parameter), one model at a time, one run.

    python benchmarks/own_init_table.py [--layers N]

HF Llama at TinyLlama-1.1B width (hidden 2048, intermediate 5632, 32 heads, 4 kv heads, vocab
32000; --layers of the 22, default 4 to fit a quick run), timm ViT-B/16 and ResNet-50.
"""
import argparse
import gc
import time

import torch

import philoxinit.torch as pt


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


def _meta(build):
    with torch.device("meta"):
        m = build()
    return m.to_empty(device="cpu")


def _floor(build):
    m = _meta(build)
    with torch.no_grad():
        for p in m.parameters():
            p.zero_()
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, default=4)
    args = ap.parse_args()
    models = {}
    try:
        import transformers as tf
        cfg = tf.LlamaConfig(hidden_size=2048, intermediate_size=5632,
                             num_hidden_layers=args.layers, num_attention_heads=32,
                             num_key_value_heads=4, vocab_size=32000)
        models[f"HF Llama (TinyLlama width, {args.layers} layers)"] = lambda: tf.LlamaForCausalLM(cfg)
    except ImportError:
        pass
    try:
        import timm
        models["timm vit_base_patch16_224"] = lambda: timm.create_model("vit_base_patch16_224")
        models["timm resnet50"] = lambda: timm.create_model("resnet50")
    except ImportError:
        pass
    print(f"{'model':44} {'params':>8} {'own eager':>10} {'init_module':>12} {'zero_ floor':>12} "
          f"{'speed-up':>9} {'x floor':>8}")
    for name, build in models.items():
        m, eager = _timed(build)
        n = sum(p.numel() for p in m.parameters())
        del m; gc.collect()
        m, floor = _timed(lambda: _floor(build))
        del m; gc.collect()
        m, ours = _timed(lambda: pt.init_module(_meta(build), seed=0))
        del m; gc.collect()
        print(f"{name:44} {n / 1e6:7.1f}M {eager:9.2f}s {ours:11.2f}s {floor:11.2f}s "
              f"{eager / ours:8.1f}x {ours / floor:7.2f}x")


if __name__ == "__main__":
    main()
