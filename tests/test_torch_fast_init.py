"""fast_init: modules initialized while they are built, on streams named after their parameters.

The reference is init_module on an eagerly built copy (same seed): it runs the same init code
by name, so every tensor that construction initializes must be bitwise equal. Real models from
transformers and timm where installed.
"""
import copy
import math
import os
import subprocess
import sys
import textwrap
import threading

import pytest

torch = pytest.importorskip("torch", reason="fast_init needs PyTorch")
import torch.nn as nn  # noqa: E402
import torch.nn.init as tinit  # noqa: E402

import philoxinit.torch as pt  # noqa: E402

ORIGINAL = dict(pt._ORIGINAL)


def _originals_restored():
    import torch.nn.modules.activation as act
    import torch.nn.modules.transformer as tr
    return (all(getattr(tinit, n) is ORIGINAL[n] for n in pt._RANDOM)
            and act.xavier_uniform_ is ORIGINAL["xavier_uniform_"]
            and tr.xavier_uniform_ is ORIGINAL["xavier_uniform_"]
            and nn.Module.__init__.__name__ == "__init__"
            and nn.Module.__init__.__module__ == "torch.nn.modules.module")


def _assert_same_as_init_module(build, seed=3, skip=()):
    with pt.fast_init(seed=seed) as ctx:
        built = build()
    torch.manual_seed(123)
    reference = build()
    pt.init_module(reference, seed=seed)
    got, want = built.state_dict(), reference.state_dict()
    assert got.keys() == want.keys()
    compared = 0
    for name, t in got.items():
        if name in skip:
            continue
        assert bool(torch.isfinite(t).all()) if t.is_floating_point() else True, name
        assert torch.equal(t, want[name]), f"{name} differs from init_module's"
        compared += 1
    assert compared > 0 and not ctx.early_fills
    return built, ctx


def _plain_layers():
    return nn.Sequential(
        nn.Linear(8, 16), nn.LayerNorm(16), nn.Embedding(10, 4, padding_idx=1),
        nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.LSTM(4, 8, 2), nn.GRU(4, 4), nn.PReLU(),
        nn.Bilinear(3, 4, 5), nn.MultiheadAttention(16, 2), nn.ConvTranspose1d(2, 3, 4))


def test_plain_torch_layers_equal_init_module():
    model, ctx = _assert_same_as_init_module(_plain_layers)
    assert torch.equal(model[2].weight[1], torch.zeros(4))      # Embedding's padding row
    assert ctx.report["0.weight"].startswith("uniform(")
    assert _originals_restored()


def test_linear_values_are_the_named_twin_fills():
    torch.manual_seed(0)
    default = nn.Linear(64, 32)
    with pt.fast_init(seed=8):
        assert tinit.kaiming_uniform_ is not ORIGINAL["kaiming_uniform_"]
        torch.manual_seed(0)
        a = nn.Linear(64, 32)
    assert _originals_restored()
    assert not torch.equal(a.weight, default.weight)
    w = pt.kaiming_uniform_(torch.empty(32, 64), a=math.sqrt(5), seed=8, stream="weight")
    bound = 1 / math.sqrt(64)
    b = pt.uniform_(torch.empty(32), -bound, bound, seed=8, stream="bias")
    assert torch.equal(a.weight, w) and torch.equal(a.bias, b)
    with pt.fast_init(seed=8, prefix="enc."):
        c = nn.Linear(64, 32)
    assert torch.equal(c.weight, pt.kaiming_uniform_(torch.empty(32, 64), a=math.sqrt(5),
                                                     seed=8, stream="enc.weight"))
    with pt.fast_init(seed=9):
        d = nn.Linear(64, 32)
    assert not torch.equal(a.weight, d.weight)


def test_layers_get_distinct_values_and_order_does_not_matter():
    def stack(n):
        return nn.ModuleList([nn.Linear(16, 16) for _ in range(n)])

    with pt.fast_init(seed=1):
        two = stack(2)
    with pt.fast_init(seed=1):
        three = stack(3)
    assert not torch.equal(two[0].weight, two[1].weight)
    assert torch.equal(two[0].weight, three[0].weight)
    assert torch.equal(two[1].bias, three[1].bias)
    # several outermost modules: the k-th (k >= 1) is named "<k>/..."
    with pt.fast_init(seed=1):
        first, second = nn.Linear(16, 16), nn.Linear(16, 16)
    assert not torch.equal(first.weight, second.weight)
    assert torch.equal(second.weight, pt.kaiming_uniform_(torch.empty(16, 16), a=math.sqrt(5),
                                                          seed=1, stream="1/weight"))


def test_fills_read_inside_the_context_run_early_and_stay_consistent():
    with pt.fast_init(seed=4) as ctx:
        layer = nn.Linear(6, 6)
        clone = copy.deepcopy(layer)        # reads the values: they must exist now
    assert ctx.early_fills and torch.equal(layer.weight, clone.weight)
    assert bool(torch.isfinite(layer.weight).all())
    # nn.Transformer deep-copies its layers: the copies are equal before its own xavier init
    model = _build_after(lambda: nn.Transformer(16, 2, 2, 1, 32), seed=4)
    b0, b1 = model.encoder.layers[0].linear1.bias, model.encoder.layers[1].linear1.bias
    assert torch.equal(b0, b1)
    assert not torch.equal(model.encoder.layers[0].linear1.weight,
                           model.encoder.layers[1].linear1.weight)


def _build_after(build, seed):
    with pt.fast_init(seed=seed):
        return build()


def test_temporaries_and_modules_built_before_are_filled_at_exit():
    outside = nn.Linear(5, 5)
    with pt.fast_init(seed=2):
        t = torch.empty(1000)
        tinit.normal_(t, 0.0, 0.5)
        outside.reset_parameters()
    assert torch.equal(t, pt.normal_(torch.empty(1000), 0.0, 0.5, seed=2, stream="#tmp0"))
    assert torch.equal(outside.weight, pt.kaiming_uniform_(torch.empty(5, 5), a=math.sqrt(5),
                                                           seed=2, stream="#tmp1"))


def test_bad_arguments_raise_inside_and_everything_is_restored():
    w = torch.empty(4, 4)
    with pytest.raises(ValueError, match="fan_sideways"):
        with pt.fast_init(seed=1):
            tinit.kaiming_uniform_(w, mode="fan_sideways")
    with pytest.raises(RuntimeError, match="boom"):
        with pt.fast_init(seed=3):
            half = nn.Linear(4, 4)
            raise RuntimeError("boom")
    assert bool(torch.isfinite(half.weight).all())      # filled although the block failed
    assert _originals_restored()
    with pytest.raises(TypeError, match="prefix"):
        pt.fast_init(seed=1, prefix=3)

    @pt.fast_init(seed=2)
    def build():
        return nn.Linear(8, 8)
    w1, w2 = build().weight, build().weight
    assert torch.equal(w1, w2) and _originals_restored()


def test_meta_and_integer_tensors_are_torch_own():
    with pt.fast_init(seed=1):
        with torch.device("meta"):
            m = nn.Linear(8, 8)
        bn = nn.BatchNorm1d(3)
    assert m.weight.is_meta
    assert bn.num_batches_tracked.dtype == torch.long and int(bn.num_batches_tracked) == 0


def test_other_threads_keep_torch_rng():
    def torch_default():
        torch.manual_seed(7)
        return nn.Linear(8, 8).weight.detach().clone()

    want = torch_default()
    got = {}
    with pt.fast_init(seed=1):
        th = threading.Thread(target=lambda: got.setdefault("w", torch_default()))
        th.start()
        th.join()
    assert torch.equal(got["w"], want)


def _tiny_llama(layers):
    tf = pytest.importorskip("transformers", reason="HF tests need transformers")
    cfg = tf.LlamaConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=layers,
                         num_attention_heads=4, num_key_value_heads=2, vocab_size=120,
                         pad_token_id=0)
    return lambda: tf.LlamaForCausalLM(cfg)


def test_transformers_models_equal_init_module():
    tf = pytest.importorskip("transformers", reason="HF tests need transformers")
    model, ctx = _assert_same_as_init_module(_tiny_llama(2))
    emb = model.model.embed_tokens.weight
    assert torch.equal(emb[0], torch.zeros_like(emb[0]))            # pad row, as HF does
    std = float(model.model.layers[0].mlp.up_proj.weight.detach().std())
    assert abs(std - 0.02) < 0.004
    gpt2 = tf.GPT2Config(n_embd=32, n_layer=2, n_head=4, vocab_size=120, n_positions=64,
                         bos_token_id=0, eos_token_id=0)
    model, _ = _assert_same_as_init_module(lambda: tf.GPT2LMHeadModel(gpt2))
    assert model.lm_head.weight.data_ptr() == model.transformer.wte.weight.data_ptr()
    bert = tf.BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=64, vocab_size=120)
    _assert_same_as_init_module(lambda: tf.BertModel(bert))


def test_transformers_layer0_independent_of_depth():
    with pt.fast_init(seed=5):
        two = _tiny_llama(2)()
    with pt.fast_init(seed=5):
        three = _tiny_llama(3)()
    a, b = two.model.layers[0].state_dict(), three.model.layers[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_timm_models_equal_init_module():
    timm = pytest.importorskip("timm", reason="timm tests need timm (and torchvision)")
    model, ctx = _assert_same_as_init_module(
        lambda: timm.create_model("vit_tiny_patch16_224", num_classes=10, img_size=32))
    # timm's own trunc_normal_(std=.02), whole, with its absolute bounds [-2, 2]
    assert ctx.report["pos_embed"] == "trunc_normal(0, 0.02, -2, 2)"
    assert abs(float(model.pos_embed.detach().std()) - 0.02) < 0.003
    _assert_same_as_init_module(lambda: timm.create_model("resnet18", num_classes=10))


def test_a_library_imported_inside_keeps_torch_behaviour_after_exit():
    """transformers and timm imported inside the context keep torch's RNG semantics after it."""
    pytest.importorskip("transformers", reason="needs transformers")
    code = textwrap.dedent("""
        import sys, torch, torch.nn as nn, philoxinit.torch as pt
        assert "transformers" not in sys.modules
        with pt.fast_init(seed=1):
            import transformers, transformers.initialization as hfi
            nn.Linear(3, 3)
        def twice(fn):
            out = []
            for _ in range(2):
                torch.manual_seed(0)
                out.append(fn())
            return out
        a, b = twice(lambda: hfi.normal_(torch.empty(50), 0.0, 1.0))
        torch.manual_seed(0)
        ref = torch.nn.init.normal_(torch.empty(50), 0.0, 1.0)
        assert torch.equal(a, b) and torch.equal(a, ref), "captured function left patched"
        cfg = transformers.LlamaConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                       num_attention_heads=2, num_key_value_heads=1,
                                       vocab_size=50)
        m1, m2 = twice(lambda: transformers.LlamaForCausalLM(cfg))
        assert all(torch.equal(x, y) for x, y in zip(m1.parameters(), m2.parameters()))
        print("ok")
    """)
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                       timeout=300)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr[-2000:]
