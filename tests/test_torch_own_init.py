"""init_module on real models (transformers, timm, plain torch): the library's own scheme,
finite values, buffers and ties as in the eager build, and values keyed by parameter name.

Random parameters are compared with the eager init by a two-sample KS test (scipy), constant
ones exactly. Each model is tiny, so the whole file runs in seconds.
"""
import os
import subprocess
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch", reason="init_module needs PyTorch")
stats = pytest.importorskip("scipy.stats", reason="the KS comparison needs scipy")
import torch.nn as nn  # noqa: E402

import philoxinit.torch as pt  # noqa: E402


def _on_meta(build):
    with torch.device("meta"):
        model = build()
    return model.to_empty(device="cpu")


def _compare_with_eager(build, *, ks_min=200, p_floor=1e-4):
    """init_module on a meta-built copy vs the library's own eager init, tensor by tensor."""
    torch.manual_seed(0)
    eager = build()
    model = _on_meta(build)
    pt.init_module(model, seed=0)
    want, got = eager.state_dict(), model.state_dict()
    assert want.keys() == got.keys()
    for name, e in want.items():
        g = got[name]
        assert g.shape == e.shape and g.dtype == e.dtype, name
        if not g.is_floating_point():
            assert torch.equal(g, e), name
            continue
        assert bool(torch.isfinite(g).all()), f"{name} has non-finite values"
        flat = e.double().flatten()
        if flat.numel() < 2 or bool((flat == flat[0]).all()):
            assert torch.equal(g, e), f"{name}: constant differs"
        elif flat.numel() >= ks_min:
            p = stats.ks_2samp(flat.numpy(), g.double().flatten().numpy()).pvalue
            assert p > p_floor, f"{name}: KS p={p:.2g} against the eager init"
    return eager, model


def _hf():
    return pytest.importorskip("transformers", reason="HF tests need transformers")


def _llama(layers=2):
    tf = _hf()
    cfg = tf.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=600,
                         pad_token_id=0, tie_word_embeddings=True)
    return lambda: tf.LlamaForCausalLM(cfg)


def test_hf_llama_own_scheme_buffers_and_tie():
    eager, model = _compare_with_eager(_llama())
    # the weights tied in the eager model share storage again
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    # HF's own scheme: N(0, initializer_range^2) for Linear weights, padding row zeroed
    std = float(model.model.layers[0].mlp.up_proj.weight.detach().std())
    assert abs(std - 0.02) < 0.002
    assert bool((model.model.embed_tokens.weight[0] == 0).all())
    # non-persistent buffers destroyed by to_empty equal the eager build's
    for (name, b), (_, e) in zip(model.named_buffers(), eager.named_buffers()):
        assert torch.equal(b, e), name
    ids = torch.tensor([[1, 2, 3, 4]])
    assert bool(torch.isfinite(model(ids).logits).all())


@pytest.mark.parametrize("family", ["gpt2", "bert", "qwen2"])
def test_hf_families_match_eager_scheme(family):
    tf = _hf()
    if family == "gpt2":
        cfg = tf.GPT2Config(n_embd=64, n_layer=2, n_head=4, vocab_size=600, n_positions=64,
                            bos_token_id=0, eos_token_id=0)
        build = lambda: tf.GPT2LMHeadModel(cfg)  # noqa: E731
    elif family == "bert":
        cfg = tf.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=128, vocab_size=600, max_position_embeddings=64)
        build = lambda: tf.BertForMaskedLM(cfg)  # noqa: E731
    else:
        cfg = tf.Qwen2Config(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, vocab_size=600)
        build = lambda: tf.Qwen2ForCausalLM(cfg)  # noqa: E731
    _compare_with_eager(build)


def test_hf_order_independence_layer0_shared():
    two, three = _on_meta(_llama(2)), _on_meta(_llama(3))
    pt.init_module(two, seed=5)
    pt.init_module(three, seed=5)
    s2, s3 = two.state_dict(), three.state_dict()
    for name, v in s2.items():
        if ".layers.1." in name or ".layers.2." in name:
            continue
        assert torch.equal(v, s3[name]), name
    # and a different seed gives different weights
    other = _on_meta(_llama(2))
    pt.init_module(other, seed=6)
    assert not torch.equal(other.model.layers[0].mlp.up_proj.weight,
                           two.model.layers[0].mlp.up_proj.weight)


def _timm():
    return pytest.importorskip("timm", reason="timm tests need timm (and torchvision)")


@pytest.mark.parametrize("arch,kwargs", [
    ("vit_tiny_patch16_224", {"img_size": 32, "depth": 2}),
    ("resnet18", {}),
])
def test_timm_models_match_eager_scheme(arch, kwargs):
    timm = _timm()
    eager, model = _compare_with_eager(lambda: timm.create_model(arch, pretrained=False, **kwargs))
    if arch.startswith("vit"):
        assert bool((model.blocks[0].attn.qkv.bias == 0).all())   # timm: zero biases
        assert float(model.pos_embed.abs().max()) > 0               # not left as garbage


def test_timm_convnext_constructor_values_are_named_in_the_error():
    """ConvNeXt sets its layer-scale gamma in the constructor, which no init code repeats:
    after meta + to_empty init_module cannot know it, and says so instead of leaving garbage."""
    timm = _timm()
    model = _on_meta(lambda: timm.create_model("convnext_atto", pretrained=False))
    with pytest.raises(ValueError, match=r"stages\.0\.blocks\.0\.gamma"):
        pt.init_module(model, seed=0)
    pt.init_module(model, seed=0, rules={"*.gamma": ("constant", {"val": 1e-6})})
    assert bool((model.stages[0].blocks[0].gamma == 1e-6).all())


@pytest.mark.parametrize("build", [
    lambda: nn.LSTM(16, 24, num_layers=2),
    lambda: nn.GRU(16, 24),
    lambda: nn.Bilinear(8, 9, 10),
    lambda: nn.PReLU(5),
    lambda: nn.Conv2d(3, 64, 3),
    lambda: nn.Transformer(d_model=32, nhead=4, num_encoder_layers=1, num_decoder_layers=1,
                           dim_feedforward=64),
], ids=["lstm", "gru", "bilinear", "prelu", "conv2d", "transformer"])
def test_plain_torch_layers_use_their_reset_rules(build):
    _compare_with_eager(build, ks_min=100)


def test_plain_torch_not_from_torch_rng():
    model = _on_meta(lambda: nn.LSTM(8, 8))
    torch.manual_seed(1)
    pt.init_module(model, seed=3)
    a = {k: v.clone() for k, v in model.state_dict().items()}
    torch.manual_seed(2)
    pt.init_module(model, seed=3)
    for k, v in model.state_dict().items():
        assert torch.equal(v, a[k]), k


_CHILD = textwrap.dedent("""
    import hashlib, sys, torch, transformers as tf, philoxinit as pxi, philoxinit.torch as pt
    pxi.set_num_threads(int(sys.argv[1]))
    cfg = tf.LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=600)
    with torch.device("meta"):
        m = tf.LlamaForCausalLM(cfg)
    m = m.to_empty(device="cpu")
    torch.manual_seed(int(sys.argv[2]))
    pt.init_module(m, seed=11)
    h = hashlib.sha256()
    for k, v in m.state_dict().items():
        h.update(k.encode()); h.update(v.contiguous().view(torch.uint8).numpy().tobytes())
    print(h.hexdigest())
""")


def test_bitwise_across_processes_and_thread_counts():
    _hf()
    digests = set()
    for threads, torch_seed in ((1, 0), (2, 1), (3, 7)):
        out = subprocess.run([sys.executable, "-c", _CHILD, str(threads), str(torch_seed)],
                             capture_output=True, text=True, timeout=300,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
        assert out.returncode == 0, out.stderr[-2000:]
        digests.add(out.stdout.strip().splitlines()[-1])
    assert len(digests) == 1


def _plan_builds():
    def hf(name, **kw):
        def build():
            tf = _hf()
            cfg = getattr(tf, name + "Config")(**kw)
            return getattr(tf, name + "ForCausalLM")(cfg)
        return build
    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, vocab_size=120)

    def timm_model(arch, **kw):
        return lambda: pytest.importorskip("timm", reason="needs timm").create_model(arch, **kw)
    return {
        "llama": (_llama(2), True),
        "qwen2": (hf("Qwen2", **small), True),
        "mixtral": (hf("Mixtral", num_local_experts=4, **small), True),
        "vit": (timm_model("vit_tiny_patch16_224", num_classes=10, img_size=32), True),
        # an integer buffer (BatchNorm's num_batches_tracked): computed for real, same bits
        "resnet18": (timm_model("resnet18", num_classes=10), False),
    }


@pytest.mark.parametrize("family", sorted(_plan_builds()))
def test_plan_init_replays_init_module_bitwise(family):
    build, replayed = _plan_builds()[family]
    with torch.device("meta"):
        meta = build()
    plan = pt.plan_init(meta, seed=4)
    assert plan.replayed is replayed       # recorded on meta: nothing materialized
    model = _on_meta(build)
    pt.init_module(model, seed=4)
    sd = model.state_dict()
    assert list(plan.tensors) == list(sd)
    for name, (shape, dtype) in plan.tensors.items():
        out = torch.empty(shape, dtype=dtype)
        plan.fill(name, out)
        assert torch.equal(out, sd[name]), name
    # rules= are run for real (a CPU copy), with the same bits as init_module
    rules = {"*.weight": ("normal", {"std": 0.5})} if family == "llama" else None
    if rules:
        ruled = pt.plan_init(meta, seed=4, rules=rules)
        assert not ruled.replayed
        model = _on_meta(build)
        pt.init_module(model, seed=4, rules=rules)
        name = "model.layers.0.mlp.up_proj.weight"
        out = ruled.fill(name, torch.empty(plan.tensors[name][0]))
        assert torch.equal(out, model.state_dict()[name])


class _WithBuffer(nn.Module):
    def __init__(self, value):
        super().__init__()
        self.lin = nn.Linear(4, 4)
        self.register_buffer("scale", torch.full((4,), float("nan")))
        self.value = value

    def init_weights(self):
        self.lin.reset_parameters()
        self.lin.weight.data.fill_(self.value)


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_left_or_written_is_named(value):
    with pytest.raises(ValueError, match=r"lin\.weight|scale"):
        pt.init_module(_WithBuffer(value), seed=0)


def test_buffer_garbage_is_named():
    with pytest.raises(ValueError, match=r"scale"):
        pt.init_module(_WithBuffer(0.5), seed=0)


# ---- torchtitan (optional: CI installs it where it can) ---------------------------------------

def _titan_llama3(layers=None):
    llama3 = pytest.importorskip("torchtitan.models.llama3",
                                 reason="torchtitan is not installed (pip install torchtitan)")
    cfg = llama3.llama3_configs["debugmodel"]("flex")
    if layers is not None:
        cfg.layers = cfg.layers[:layers]
    with torch.device("meta"):
        model = cfg.build()
    return model.to_empty(device="cpu")


def test_torchtitan_llama3_own_scheme_by_name():
    torch.manual_seed(0)
    eager = _titan_llama3()
    eager.init_weights(buffer_device=torch.device("cpu"))
    model = _titan_llama3()
    report = pt.init_module(model, seed=0)
    assert any("qkv" in name for name in report)
    want, got = eager.state_dict(), model.state_dict()
    assert want.keys() == got.keys()
    for name, e in want.items():
        g = got[name]
        if not g.is_floating_point():
            assert torch.equal(g, e), name
            continue
        assert bool(torch.isfinite(g).all()), name
        if bool((e.flatten() == e.flatten()[0]).all()):
            assert torch.equal(g, e), f"{name}: constant differs"
        else:
            p = stats.ks_2samp(e.double().flatten().numpy(), g.double().flatten().numpy()).pvalue
            assert p > 1e-4, f"{name}: KS p={p:.2g} against torchtitan's init_weights"
    for name, buf in eager.named_buffers():       # RoPE caches: exactly torchtitan's
        assert torch.equal(dict(model.named_buffers())[name], buf), name
    # layer 0 does not depend on how many layers follow; the values repeat by name
    short = _titan_llama3(layers=2)
    pt.init_module(short, seed=0)
    again = _titan_llama3()
    pt.init_module(again, seed=0)
    s0, g0 = short.layers["0"].state_dict(), model.layers["0"].state_dict()
    assert all(torch.equal(s0[k], g0[k]) for k in s0)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
