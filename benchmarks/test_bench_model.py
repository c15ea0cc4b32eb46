"""Building a decoder-only transformer of plain torch modules three ways (issue: framework
integration): torch's default eager init; meta device + to_empty + init_module; fast_init().

The model has ~1.1e9 parameters with PHILOXINIT_BENCH_BIG=1 (d_model 2048, 20 layers, vocab
32000), ~0.1e9 otherwise. Run: ``pytest benchmarks/test_bench_model.py --benchmark-only``.
"""
import os

import pytest

torch = pytest.importorskip("torch", reason="the model benchmark needs torch")
nn = torch.nn
pt = pytest.importorskip("philoxinit.torch")

BIG = os.environ.get("PHILOXINIT_BENCH_BIG") == "1"
D_MODEL, LAYERS, VOCAB = (2048, 20, 32000) if BIG else (768, 12, 16000)


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, d // 64, batch_first=True)
        self.up, self.down = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)


class Decoder(nn.Module):
    def __init__(self, d=D_MODEL, layers=LAYERS, vocab=VOCAB):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.blocks = nn.ModuleList(Block(d) for _ in range(layers))
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)


def build_torch_default():
    return Decoder()


def build_meta_init_module():
    with torch.device("meta"):
        model = Decoder()
    model = model.to_empty(device="cpu")
    pt.init_module(model, seed=0)
    return model


def build_fast_init():
    with pt.fast_init(seed=0):
        return Decoder()


@pytest.mark.benchmark(group="model-construction")
@pytest.mark.parametrize("how", [build_torch_default, build_meta_init_module, build_fast_init],
                         ids=["torch-default", "meta+init_module", "fast_init"])
def test_build_decoder(benchmark, how):
    model = benchmark.pedantic(how, rounds=2, iterations=1, warmup_rounds=0)
    n = sum(p.numel() for p in model.parameters())
    benchmark.extra_info["parameters"] = n
    assert n > 5e7
