"""``philoxinit checkpoint`` against real transformers (issue 14): for tiny configs of many
architectures, the written directory has the keys, shapes and dtypes ``save_pretrained`` writes,
loads with ``from_pretrained`` with nothing missing, unexpected or mismatched, runs a finite
forward pass, and holds values distributed as HF's own init gives them. Sharded output names
files and splits tensors as ``save_pretrained`` does; ``--workers 2`` writes the same bytes as
``--workers 1``.

The command runs in-process (``philoxinit.checkpoint.main``): a subprocess per architecture
would import torch and transformers each time.
"""
import json
import math
import os

import pytest

transformers = pytest.importorskip("transformers", reason="checkpoints of HF models need "
                                                          "transformers")
torch = pytest.importorskip("torch", reason="transformers models need torch")
from safetensors import safe_open  # noqa: E402  (a dependency of transformers)

from philoxinit._checkpoint.hf import HFSource  # noqa: E402
from philoxinit.checkpoint import main  # noqa: E402

COMMON = dict(vocab_size=96, hidden_size=32, intermediate_size=64, num_hidden_layers=2,
              num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64,
              bos_token_id=1, eos_token_id=2)
MOE = dict(num_experts_per_tok=2)

# name -> (config class name, kwargs); every one is a causal LM of the installed transformers
ARCHS = {
    "llama": ("LlamaConfig", dict(COMMON, pad_token_id=0)),
    "llama-tied": ("LlamaConfig", dict(COMMON, tie_word_embeddings=True)),
    "qwen2": ("Qwen2Config", dict(COMMON)),
    "qwen3": ("Qwen3Config", dict(COMMON, head_dim=8)),
    "mistral": ("MistralConfig", dict(COMMON)),
    "gpt2": ("GPT2Config", dict(vocab_size=96, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                                bos_token_id=1, eos_token_id=2)),
    "mixtral": ("MixtralConfig", dict(COMMON, num_local_experts=4, **MOE)),
    "gemma": ("GemmaConfig", dict(COMMON, head_dim=8, pad_token_id=0)),
    "phi3": ("Phi3Config", dict(COMMON, pad_token_id=0)),
    "gemma2": ("Gemma2Config", dict(COMMON, head_dim=8)),
    "qwen2_moe": ("Qwen2MoeConfig", dict(COMMON, num_experts=4, moe_intermediate_size=32,
                                         shared_expert_intermediate_size=32, **MOE)),
    "qwen3_moe": ("Qwen3MoeConfig", dict(COMMON, head_dim=8, num_experts=4,
                                         moe_intermediate_size=32, **MOE)),
    "phi": ("PhiConfig", dict(COMMON)),
    "olmo2": ("Olmo2Config", dict(COMMON)),
    "gpt_neox": ("GPTNeoXConfig", dict(COMMON)),
    "starcoder2": ("Starcoder2Config", dict(COMMON)),
}
# a few written in bfloat16 too (the reference then built in bfloat16)
BF16 = ("llama", "mixtral", "gemma")


def make_config(name):
    cls_name, kwargs = ARCHS[name]
    cls = getattr(transformers, cls_name, None)
    if cls is None:
        pytest.skip(f"transformers {transformers.__version__} has no {cls_name}")
    return cls(**kwargs)


def write_config(cfg, tmp_path):
    src = tmp_path / "src"
    cfg.save_pretrained(str(src))
    return str(src / "config.json")


def checkpoint(capsys, *args):
    rc = main([*map(str, args), "--no-progress"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return out, err


def reference(cfg, directory, dtype="float32", **save):
    """HF's own: ``from_config`` (torch's RNG, seeded) then ``save_pretrained``."""
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(cfg, dtype=getattr(torch, dtype))
    model.save_pretrained(str(directory), **save)
    return model


def read_all(directory):
    """``{key: tensor}`` of every safetensors file in ``directory``, and ``{key: file}``."""
    tensors, where = {}, {}
    for f in sorted(os.listdir(directory)):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(directory, f), "pt") as h:
                for k in h.keys():
                    tensors[k], where[k] = h.get_tensor(k), f
    return tensors, where


def signature(tensors):
    return {k: (tuple(t.shape), t.dtype) for k, t in tensors.items()}


def load(directory):
    model, info = transformers.AutoModelForCausalLM.from_pretrained(str(directory),
                                                                    output_loading_info=True)
    assert not info["missing_keys"], info
    assert not info["unexpected_keys"], info
    assert not info["mismatched_keys"], info
    assert not info.get("error_msgs"), info
    return model


def assert_like_hf(name, ours, ref):
    """``ours`` is distributed like HF's ``ref``: a constant tensor exactly equal, a random one
    with the same mean and std within 6 standard errors for its element count."""
    a, b = ours.double().flatten(), ref.double().flatten()
    if b.numel() < 2 or bool((b == b[0]).all()):
        assert torch.equal(a, b), f"{name}: HF's init gives the constant {b[0].item()}, " \
                                  f"ours has {a.unique()[:5].tolist()}"
        return
    n, sd = b.numel(), b.std().item()
    assert abs(a.std().item() - sd) <= 6 * sd / math.sqrt(n), (name, a.std().item(), sd, n)
    assert abs(a.mean().item() - b.mean().item()) <= 6 * sd * math.sqrt(2 / n), \
        (name, a.mean().item(), b.mean().item(), n)


def within(t, std, what):
    """The std of ``t`` is ``std`` within 6 standard errors for its element count."""
    n = t.numel()
    got = t.double().std().item()
    assert abs(got - std) <= 6 * std / math.sqrt(n), f"{what}: std {got} vs {std} ({n} values)"


ARCH_PARAMS = [pytest.param(n, "float32", id=n) for n in ARCHS] + \
              [pytest.param(n, "bfloat16", id=f"{n}-bf16") for n in BF16]


@pytest.mark.parametrize("name,dtype", ARCH_PARAMS)
def test_arch_written_like_save_pretrained_and_loads(tmp_path, capsys, name, dtype):
    cfg = make_config(name)
    config = write_config(cfg, tmp_path)
    out = tmp_path / "ours"
    checkpoint(capsys, config, "--out", out, "--dtype", dtype)
    ref_model = reference(cfg, tmp_path / "ref", dtype)

    ours, _ = read_all(out)
    ref, _ = read_all(tmp_path / "ref")
    # (a) the key set, shapes and dtypes save_pretrained writes
    assert signature(ours) == signature(ref)
    assert sorted(f for f in os.listdir(out) if f.endswith(".safetensors")) == \
        ["model.safetensors"]
    for f in ("config.json", "generation_config.json"):   # as save_pretrained writes them
        assert json.loads((out / f).read_text()) == json.loads((tmp_path / "ref" / f).read_text())
    written_cfg = json.loads((out / "config.json").read_text())
    assert written_cfg["architectures"] == [type(ref_model).__name__]
    assert written_cfg["dtype"] == dtype
    # the values come from plan_init replaying the recorded init, one tensor at a time
    source = HFSource(json.loads(open(config).read()), dtype, 0)
    assert source.plan_kind == "plan_init" and source.plan.replayed

    # (b) from_pretrained: nothing missing, unexpected or mismatched; (c) finite forward
    model = load(out)
    assert model.dtype == getattr(torch, dtype)
    with torch.no_grad():
        logits = model(torch.tensor([[1, 5, 7, 3]])).logits
    assert logits.shape == (1, 4, cfg.vocab_size) and torch.isfinite(logits).all()
    assert all(torch.equal(p.detach(), ours[k]) for k, p in model.state_dict().items()
               if k in ours)

    # (d) values as HF's own init gives them
    for k in ref:
        assert_like_hf(k, ours[k], ref[k])
    std = cfg.initializer_range
    linears = [k for k in ours if k.endswith(("q_proj.weight", "c_attn.weight",
                                               "query_key_value.weight", "qkv_proj.weight"))]
    assert linears, sorted(ours)
    for k in linears:
        within(ours[k], std, k)
    norms = [k for k in ours if "norm" in k and k.endswith(".weight")]
    for k in norms:      # Gemma's RMSNorm scales by 1 + weight: zeros there, ones elsewhere
        expected = 0.0 if cfg.model_type.startswith("gemma") else 1.0
        assert bool((ours[k] == expected).all()), k
    embed = next(k for k in ours if k.endswith(("embed_tokens.weight", "wte.weight",
                                                 "embed_in.weight")))
    pad = getattr(cfg, "pad_token_id", None)
    if pad is not None:
        assert bool((ref[embed][pad] == 0).all())              # HF zeroes it: so do we
        assert bool((ours[embed][pad] == 0).all()), f"{embed}: padding row {pad} is not zero"
        assert bool((ours[embed][pad + 1] != 0).any())
    if name in ("qwen2", "qwen2_moe"):
        biases = [k for k in ours if k.endswith(("q_proj.bias", "k_proj.bias", "v_proj.bias"))]
        assert len(biases) == 3 * cfg.num_hidden_layers
        assert all(bool((ours[k] == 0).all()) for k in biases)
    if name == "qwen3":
        assert sum(k.endswith(("q_norm.weight", "k_norm.weight")) for k in ours) == \
            2 * cfg.num_hidden_layers
    if name == "gpt2":   # c_proj: initializer_range / sqrt(2 * n_layer), HF's GPT-2 scheme
        for k in (k for k in ours if k.endswith("c_proj.weight")):
            within(ours[k], std / math.sqrt(2 * cfg.n_layer), k)
    if name == "mixtral":
        assert sum(".experts." in k for k in ours) == 3 * 4 * cfg.num_hidden_layers
    if name == "llama-tied":
        assert "lm_head.weight" not in ours and torch.equal(model.lm_head.weight,
                                                            model.model.embed_tokens.weight)


def test_seed_changes_values_not_layout(tmp_path, capsys):
    cfg = make_config("llama")
    config = write_config(cfg, tmp_path)
    checkpoint(capsys, config, "--out", tmp_path / "s0", "--seed", "0")
    checkpoint(capsys, config, "--out", tmp_path / "s1", "--seed", "1")
    checkpoint(capsys, config, "--out", tmp_path / "s0again", "--seed", "0")
    a, b, c = (read_all(tmp_path / d)[0] for d in ("s0", "s1", "s0again"))
    assert signature(a) == signature(b)
    assert all(torch.equal(a[k], c[k]) for k in a)
    w = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(a[w], b[w])


@pytest.mark.parametrize("name", ["llama", "mixtral", "qwen2_moe"])
def test_sharded_like_save_pretrained(tmp_path, capsys, name):
    cfg = make_config(name)
    config = write_config(cfg, tmp_path)
    size = "20KB"
    checkpoint(capsys, config, "--out", tmp_path / "ours", "--max-shard-size", size)
    checkpoint(capsys, config, "--out", tmp_path / "one")
    reference(cfg, tmp_path / "ref", max_shard_size=size)

    def weight_files(d):
        return sorted(f for f in os.listdir(d) if f.startswith("model"))

    assert weight_files(tmp_path / "ours") == weight_files(tmp_path / "ref")
    assert len(weight_files(tmp_path / "ours")) > 3
    index = json.loads((tmp_path / "ours" / "model.safetensors.index.json").read_text())
    ref_index = json.loads((tmp_path / "ref" / "model.safetensors.index.json").read_text())
    assert index == ref_index
    ours, where = read_all(tmp_path / "ours")
    assert where == index["weight_map"]
    ref, _ = read_all(tmp_path / "ref")
    assert signature(ours) == signature(ref)
    whole, _ = read_all(tmp_path / "one")          # sharding moves tensors, never changes them
    assert sorted(whole) == sorted(ours) and all(torch.equal(whole[k], ours[k]) for k in ours)
    model = load(tmp_path / "ours")
    with torch.no_grad():
        assert torch.isfinite(model(torch.tensor([[1, 2, 3]])).logits).all()


def test_workers_2_byte_identical_to_workers_1(tmp_path, capsys):
    pytest.importorskip("dask.distributed", reason="--workers needs dask distributed")
    cfg = make_config("mixtral")
    config = write_config(cfg, tmp_path)
    files = []
    for workers in ("1", "2"):
        d = tmp_path / f"w{workers}"
        checkpoint(capsys, config, "--out", d, "--max-shard-size", "50KB", "--workers", workers)
        files.append({f: (d / f).read_bytes() for f in sorted(os.listdir(d))})
    assert len([f for f in files[0] if f.endswith(".safetensors")]) > 2
    assert files[0] == files[1]
    checkpoint(capsys, config, "--out", tmp_path / "serial", "--max-shard-size", "50KB")
    serial = {f: (tmp_path / "serial" / f).read_bytes()
              for f in sorted(os.listdir(tmp_path / "serial"))}
    assert serial == files[0]


def test_hf_config_into_one_file(tmp_path, capsys):
    cfg = make_config("qwen2")
    config = write_config(cfg, tmp_path)
    out = tmp_path / "out" / "qwen2.safetensors"
    out.parent.mkdir()
    checkpoint(capsys, config, "--out", out)
    assert os.listdir(out.parent) == ["qwen2.safetensors"]
    reference(cfg, tmp_path / "ref")
    with safe_open(str(out), "pt") as a, \
            safe_open(str(tmp_path / "ref" / "model.safetensors"), "pt") as b:
        assert a.metadata()["format"] == "pt"
        assert {k: a.get_slice(k).get_shape() for k in a.keys()} == \
            {k: b.get_slice(k).get_shape() for k in b.keys()}


@pytest.mark.parametrize("name", list(ARCHS))
def test_values_are_init_module_bits(tmp_path, capsys, name):
    """The checkpoint holds exactly what ``philoxinit.torch.init_module`` gives a real model
    built by ``from_config`` (the contract of ``plan_init``), conversions reverted. gemma and
    gemma2 (tied, with a padding row) check that init_module does not let the tied lm_head's
    init refill the embedding after its padding row was zeroed."""
    import philoxinit.torch as pt
    from transformers.core_model_loading import revert_weight_conversion
    from transformers.modeling_utils import remove_tied_weights_from_state_dict
    cfg = make_config(name)
    checkpoint(capsys, write_config(cfg, tmp_path), "--out", tmp_path / "o", "--seed", "3")
    ours, _ = read_all(tmp_path / "o")
    model = transformers.AutoModelForCausalLM.from_config(cfg)
    pt.init_module(model, seed=3)
    state = revert_weight_conversion(model, remove_tied_weights_from_state_dict(
        model.state_dict(), model))
    assert sorted(state) == sorted(ours)
    differ = [k for k in state if not torch.equal(state[k], ours[k])]
    assert not differ, differ
