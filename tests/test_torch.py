"""philoxinit.torch: torch.nn.init twins and init_module (fast_init: test_torch_fast_init.py)."""
import math
import sys
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="philoxinit.torch needs PyTorch")
stats = pytest.importorskip("scipy.stats", reason="KS tests need scipy")
ml_dtypes = pytest.importorskip("ml_dtypes", reason="bfloat16 needs ml_dtypes")

import torch.nn as nn  # noqa: E402
import torch.nn.init as tinit  # noqa: E402

import philoxinit as pxi  # noqa: E402
import philoxinit.torch as pt  # noqa: E402

ORIGINAL = dict(pt._ORIGINAL)
KS_P = 1e-3


def test_import_philoxinit_does_not_import_torch():
    import subprocess
    code = "import sys, philoxinit; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True).stdout.strip() == "False"


def test_docstring_examples():
    import doctest
    import importlib
    import pkgutil
    attempted = failed = 0
    for info in [None] + list(pkgutil.iter_modules(pt.__path__)):
        mod = pt if info is None else importlib.import_module(f"philoxinit.torch.{info.name}")
        result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        attempted, failed = attempted + result.attempted, failed + result.failed
    assert attempted > 20 and failed == 0


def _ks(ours, theirs):
    a = ours.detach().double().flatten().numpy()
    b = theirs.detach().double().flatten().numpy()
    return stats.ks_2samp(a, b).pvalue


@pytest.fixture
def captured(monkeypatch):
    """Records the (dist, params) that philoxinit.torch passes to the NumPy API."""
    calls = []
    for dist in ("uniform_", "normal_", "trunc_normal_"):
        original = getattr(pxi, dist)

        def spy(out, *params, _dist=dist, _orig=original, **kw):
            calls.append((_dist[:-1], params))
            return _orig(out, *params, **kw)
        monkeypatch.setattr(pxi, dist, spy)
    return calls


def _torch_std(fn, shape, **kw):
    """torch's own std / bound arithmetic for the fan-based rules (torch/nn/init.py)."""
    fan_in, fan_out = tinit._calculate_fan_in_and_fan_out(torch.empty(shape))
    if fn.startswith("xavier"):
        return kw.get("gain", 1.0) * math.sqrt(2.0 / float(fan_in + fan_out))
    fan = fan_in if kw.get("mode", "fan_in") == "fan_in" else fan_out
    gain = tinit.calculate_gain(kw.get("nonlinearity", "leaky_relu"), kw.get("a", 0))
    return gain / math.sqrt(fan)


# ---- the functions: torch's parameters, torch's distribution ---------------------------------

FUNCS = [
    ("uniform_", dict(a=-0.5, b=2.0), (100_000,)),
    ("normal_", dict(mean=1.0, std=0.5), (100_000,)),
    ("trunc_normal_", dict(mean=0.0, std=1.0, a=-1.0, b=2.0), (100_000,)),
    ("xavier_uniform_", dict(gain=2.0), (300, 400)),
    ("xavier_normal_", dict(gain=0.5), (300, 400)),
    ("kaiming_uniform_", dict(a=math.sqrt(5)), (64, 32, 7, 7)),
    ("kaiming_uniform_", dict(a=0.1, mode="fan_out"), (64, 32, 7, 7)),
    ("kaiming_normal_", dict(nonlinearity="relu"), (512, 200)),
    ("kaiming_normal_", dict(mode="fan_out", nonlinearity="tanh"), (200, 512)),
    ("orthogonal_", dict(gain=1.5), (300, 400)),
    ("orthogonal_", dict(), (400, 30, 5)),
    ("sparse_", dict(sparsity=0.3, std=0.02), (400, 250)),
]


@pytest.mark.parametrize("name,kw,shape", FUNCS, ids=lambda v: str(v))
def test_matches_torch_distribution(name, kw, shape, captured):
    torch.manual_seed(0)
    theirs = getattr(tinit, name)(torch.empty(shape), **kw)
    ours = torch.empty(shape)
    ptr = ours.data_ptr()
    assert getattr(pt, name)(ours, **kw, seed=11, stream=name) is ours
    assert ours.data_ptr() == ptr
    assert _ks(ours, theirs) > KS_P
    if name.startswith(("xavier", "kaiming")):
        std = _torch_std(name, shape, **kw)
        dist, params = captured[-1]
        if name.endswith("uniform_"):
            bound = math.sqrt(3.0) * std
            assert (dist, params) == ("uniform", (-bound, bound))   # bit for bit
            m = float(ours.abs().max())
            assert 0.99 * bound < m <= bound
        else:
            assert (dist, params) == ("normal", (0.0, std))
            assert abs(float(ours.std()) / std - 1) < 0.01
    if name == "uniform_":
        assert float(ours.min()) >= kw["a"] and float(ours.max()) < kw["b"]
    if name == "trunc_normal_":
        assert float(ours.min()) >= kw["a"] and float(ours.max()) <= kw["b"]
    if name == "orthogonal_":
        flat = ours.reshape(shape[0], -1).double() / kw.get("gain", 1)
        small = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
        assert torch.allclose(small, torch.eye(small.shape[0], dtype=small.dtype), atol=1e-4)
    if name == "sparse_":
        zeros = math.ceil(kw["sparsity"] * shape[0])
        assert (ours == 0).sum(0).tolist() == [zeros] * shape[1]
        assert (theirs == 0).sum(0).tolist() == [zeros] * shape[1]


def test_deterministic_and_stream_sensitive():
    a = pt.orthogonal_(torch.empty(20, 30), seed=1, stream="w")
    b = pt.orthogonal_(torch.empty(20, 30), seed=1, stream="w")
    c = pt.orthogonal_(torch.empty(20, 30), seed=1, stream="v")
    assert torch.equal(a, b) and not torch.equal(a, c)
    s1 = pt.sparse_(torch.empty(50, 20), 0.5, seed=3, stream=1)
    s2 = pt.sparse_(torch.empty(50, 20), 0.5, seed=3, stream=1)
    assert torch.equal(s1, s2)


def test_generator_accepted_and_ignored():
    g = torch.Generator().manual_seed(123)
    a = pt.normal_(torch.empty(1000), 0.0, 1.0, g, seed=2, stream=0)
    b = pt.normal_(torch.empty(1000), generator=torch.Generator(), seed=2, stream=0)
    assert torch.equal(a, b)


def test_signatures_extend_torch():
    import inspect
    for name in ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_",
                 "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                 "kaiming_normal_", "orthogonal_", "sparse_", "calculate_gain"):
        theirs = inspect.signature(ORIGINAL[name]).parameters
        ours = inspect.signature(getattr(pt, name)).parameters
        head = list(ours.values())[:len(theirs)]
        assert [(p.name, p.default) for p in head] == [(p.name, p.default) for p in theirs.values()]
        extra = list(ours.values())[len(theirs):]
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in extra)
        if extra:
            assert [p.name for p in extra] == ["seed", "stream", "offset", "threads"]
        assert getattr(pt, name).__doc__ and ">>>" in getattr(pt, name).__doc__


def test_deterministic_functions_equal_torch():
    assert torch.equal(pt.eye_(torch.empty(5, 7)), tinit.eye_(torch.empty(5, 7)))
    assert torch.equal(pt.dirac_(torch.empty(6, 3, 3, 3), 2), tinit.dirac_(torch.empty(6, 3, 3, 3), 2))
    assert torch.equal(pt.constant_(torch.empty(4), 0.3), torch.full((4,), 0.3))
    assert pt.ones_(torch.empty(3)).tolist() == [1.0] * 3
    assert pt.zeros_(torch.ones(3)).tolist() == [0.0] * 3
    for nl, p in [("relu", None), ("leaky_relu", 0.2), ("tanh", None), ("selu", None), ("linear", None)]:
        assert pt.calculate_gain(nl, p) == tinit.calculate_gain(nl, p)


def test_zero_element_and_meta_like_torch():
    with pytest.warns(UserWarning, match="zero-element"):
        pt.kaiming_uniform_(torch.empty(0, 5))
    with pytest.warns(UserWarning, match="zero-element"):
        pt.kaiming_normal_(torch.empty(3, 0))
    pt.xavier_uniform_(torch.empty(0, 5))
    with pytest.raises(ZeroDivisionError):
        pt.xavier_uniform_(torch.empty(0, 0))
    m = torch.empty(100, 100, device="meta")
    for fn in (pt.uniform_, pt.normal_, pt.xavier_uniform_, pt.kaiming_uniform_, pt.orthogonal_):
        assert fn(m) is m
    with pytest.raises(TypeError):
        pt.normal_(torch.empty(3, dtype=torch.int32))


# ---- zero copy, dtypes, layouts: same values as the NumPy API --------------------------------

NP = {torch.float32: np.float32, torch.float64: np.float64, torch.float16: np.float16,
      torch.bfloat16: ml_dtypes.bfloat16}


def _np_of(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
    return t.numpy()


@pytest.mark.parametrize("dtype", list(NP), ids=str)
@pytest.mark.parametrize("fn,args", [("uniform_", (-2.0, 3.0)), ("normal_", (0.5, 2.0)),
                                     ("trunc_normal_", (0.0, 1.0, -1.0, 1.5)),
                                     ("xavier_uniform_", (1.3,)), ("kaiming_normal_", (0.2,))])
def test_zero_copy_equals_numpy_api(dtype, fn, args):
    shape = (123, 45)
    t = nn.Parameter(torch.empty(shape, dtype=dtype))    # requires_grad leaf
    ptr = t.data_ptr()
    assert getattr(pt, fn)(t, *args, seed=5, stream="blk.w", offset=7) is t
    assert t.data_ptr() == ptr and t.requires_grad
    expected = getattr(pxi, fn)(np.empty(shape, NP[dtype]), *args, seed=5, stream="blk.w", offset=7)
    np.testing.assert_array_equal(_np_of(t).view(np.uint8), expected.view(np.uint8))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_non_contiguous_is_logical_c_order(dtype):
    base = torch.empty(45, 123, dtype=dtype)
    t = base.t()
    assert not t.is_contiguous()
    pt.normal_(t, seed=9, stream=3)
    expected = pxi.normal_(np.empty((123, 45), NP[dtype]), seed=9, stream=3)
    np.testing.assert_array_equal(_np_of(t).view(np.uint8), expected.view(np.uint8))
    # a strided slice: the rest of the storage is untouched
    big = torch.zeros(10, 20)
    pt.uniform_(big[:, ::2], seed=1, stream=0)
    assert torch.equal(big[:, 1::2], torch.zeros(10, 10))
    np.testing.assert_array_equal(big[:, ::2].numpy(), pxi.uniform_(np.empty((10, 10), np.float32), seed=1))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_staging():
    t = torch.empty(64, 32, device="cuda")
    pt.kaiming_uniform_(t, seed=4, stream="w")
    cpu = pt.kaiming_uniform_(torch.empty(64, 32), seed=4, stream="w")
    assert torch.equal(t.cpu(), cpu)


# ---- modules: init_module's rules are the modules' own ---------------------------------------

MODULES = [
    lambda: nn.Linear(512, 256),
    lambda: nn.Conv1d(32, 64, 48),
    lambda: nn.Conv2d(32, 64, 7),
    lambda: nn.Conv3d(16, 32, 5),
    lambda: nn.ConvTranspose1d(64, 32, 48),
    lambda: nn.ConvTranspose2d(32, 64, 7, groups=2),
    lambda: nn.ConvTranspose3d(16, 32, 5),
]


@pytest.mark.parametrize("make", MODULES, ids=["Linear", "Conv1d", "Conv2d", "Conv3d",
                                                "ConvTranspose1d", "ConvTranspose2d",
                                                "ConvTranspose3d"])
def test_init_module_matches_reset_parameters(make):
    torch.manual_seed(0)
    m = make()
    theirs = {k: v.clone() for k, v in m.state_dict().items()}
    report = pt.init_module(m, seed=3)
    fan_in, _ = tinit._calculate_fan_in_and_fan_out(m.weight)   # transposed convs: weight.shape[1]
    w_bound = math.sqrt(3.0) * (tinit.calculate_gain("leaky_relu", math.sqrt(5)) / math.sqrt(fan_in))
    b_bound = 1 / math.sqrt(fan_in)
    assert report == {"weight": f"uniform({-w_bound:.6g}, {w_bound:.6g})",
                      "bias": f"uniform({-b_bound:.6g}, {b_bound:.6g})"}
    assert 0.99 * w_bound < float(m.weight.detach().abs().max()) <= w_bound
    assert float(m.bias.detach().abs().max()) <= b_bound
    assert _ks(m.weight, theirs["weight"]) > KS_P
    assert torch.equal(m.weight, pt.kaiming_uniform_(torch.empty_like(m.weight), a=math.sqrt(5),
                                                     seed=3, stream="weight"))
    assert torch.equal(m.bias, pt.uniform_(torch.empty_like(m.bias), -b_bound, b_bound, seed=3,
                                           stream="bias"))


def test_init_module_embedding_and_norms():
    torch.manual_seed(0)
    emb = nn.Embedding(1000, 100, padding_idx=5)
    theirs = emb.weight.detach().clone()
    pt.init_module(emb, seed=1)
    assert torch.equal(emb.weight[5], torch.zeros(100))
    assert _ks(emb.weight, theirs) > KS_P
    expected = pt.normal_(torch.empty(1000, 100), seed=1, stream="weight")
    expected[5] = 0
    assert torch.equal(emb.weight, expected)
    norms = nn.ModuleList([nn.LayerNorm(8), nn.GroupNorm(2, 8), nn.BatchNorm1d(8), nn.RMSNorm(8)])
    for p in norms.parameters():
        p.data.fill_(7.0)
    norms[2].running_mean.fill_(3.0)
    pt.init_module(norms, seed=0)
    sd = norms.state_dict()
    for k, v in sd.items():
        if k.endswith(("weight", "running_var")):
            assert torch.equal(v, torch.ones(8)), k
        elif k.endswith(("bias", "running_mean")):
            assert torch.equal(v, torch.zeros(8)), k


class Block(nn.Module):
    def __init__(self, order, d=32):
        super().__init__()
        makers = {
            "emb": lambda: nn.Embedding(100, d, padding_idx=0),
            "ln": lambda: nn.LayerNorm(d),
            "attn": lambda: nn.MultiheadAttention(d, 4, add_bias_kv=True),
            "conv": lambda: nn.Conv1d(d, d, 3, padding=1),
            "fc": lambda: nn.Linear(d, 4 * d),
            "c_proj": lambda: nn.Linear(4 * d, d),
        }
        for name in order:
            setattr(self, name, makers[name]())


ORDER = ["emb", "ln", "attn", "conv", "fc", "c_proj"]


def _model(order, seed):
    torch.manual_seed(seed)
    return nn.Sequential(Block(order), Block(order[::-1]))


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sorted(sa) == sorted(sb)
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def test_init_module_order_independent():
    a = _model(ORDER, 0)
    b = _model(ORDER[::-1], 1)
    assert not torch.equal(a[0].fc.weight, b[0].fc.weight)
    ra = pt.init_module(a, seed=42)
    rb = pt.init_module(b, seed=42)
    assert ra == rb
    _assert_same_state(a, b)
    bound = math.sqrt(6 / (32 + 96))
    assert ra["0.attn.in_proj_weight"] == f"uniform({-bound:.6g}, {bound:.6g})"   # xavier
    assert ra["0.attn.out_proj.bias"] == "constant(0)"
    assert ra["0.attn.bias_k"] == f"normal(0, {math.sqrt(2 / (32 + 32)):.6g})"   # (1, 1, 32)
    assert torch.equal(a[0].attn.out_proj.bias, torch.zeros(32))
    assert torch.equal(a[0].attn.in_proj_bias, torch.zeros(96))
    assert torch.equal(a[1].emb.weight[0], torch.zeros(32))
    c = _model(ORDER, 0)
    pt.init_module(c, seed=43)
    assert not torch.equal(a[0].fc.weight, c[0].fc.weight)


def test_init_module_meta_to_empty():
    with torch.device("meta"):
        m = _model(ORDER, 0)
    assert m[0].fc.weight.is_meta
    m = m.to_empty(device="cpu")
    pt.init_module(m, seed=5)
    eager = _model(ORDER[::-1], 3)
    pt.init_module(eager, seed=5)
    _assert_same_state(m, eager)


def test_init_module_rules():
    m = _model(ORDER, 0)
    n_layers = 2
    proj_std = 0.02 / math.sqrt(2 * n_layers)
    rules = {"*c_proj.weight": ("normal", {"std": proj_std}),    # names a module: beats types
             "*.bias": "zeros",                                  # a param-name pattern: last
             nn.Linear: ("normal", {"std": 0.02}),
             (nn.LayerNorm, "bias"): ("constant", {"val": 0.5}),   # one parameter of a type
             "*.weight": ("constant", {"val": 9.0}),               # loses to every type rule
             "*.emb.weight": lambda t, seed, stream: pt.normal_(t, std=0.5, seed=seed, stream=stream)}
    report = pt.init_module(m, seed=7, rules=rules, prefix="model.")
    assert report["model.0.c_proj.weight"] == "normal{'std': %r}" % proj_std
    assert report["model.0.fc.weight"] == "normal{'std': 0.02}"
    assert report["model.0.fc.bias"] == "normal{'std': 0.02}"      # the type beats "*.bias"
    assert report["model.0.conv.bias"] == "zeros"
    assert report["model.0.ln.bias"] == "constant{'val': 0.5}"
    assert report["model.0.ln.weight"] == "constant{'val': 9.0}"
    assert torch.equal(m[0].ln.weight, torch.full((32,), 9.0))
    assert torch.equal(m[0].c_proj.weight, pt.normal_(torch.empty(32, 128), std=proj_std, seed=7,
                                                      stream="model.0.c_proj.weight"))
    assert torch.equal(m[1].fc.weight, pt.normal_(torch.empty(128, 32), std=0.02, seed=7,
                                                  stream="model.1.fc.weight"))
    assert torch.equal(m[0].conv.bias, torch.zeros(32))
    assert torch.equal(m[0].emb.weight, pt.normal_(torch.empty(100, 32), std=0.5, seed=7,
                                                   stream="model.0.emb.weight"))
    # the rule replaced the padding row zeroing too
    assert float(m[0].emb.weight[0].detach().abs().sum()) > 0
    # an exact name beats everything
    pt.init_module(m, seed=7, rules={nn.Linear: "zeros", "0.fc.weight": "ones"})
    assert torch.equal(m[0].fc.weight, torch.ones(128, 32)) and not m[1].fc.weight.any()
    with pytest.raises(TypeError, match="rules keys"):
        pt.init_module(m, seed=7, rules={3: "zeros"})
    with pytest.raises(ValueError, match="unknown init function"):
        pt.init_module(m, seed=7, rules={"*": "bogus"})


class Custom(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.empty(4))
        self.lin = nn.Linear(4, 4)

    def reset_parameters(self):
        nn.init.constant_(self.scale, 3.0)


class NoReset(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.full((2,), 9.0))


def test_init_module_runs_custom_code_and_names_what_nothing_writes():
    m = nn.Sequential(Custom(), NoReset())
    with pytest.raises(ValueError, match=r"does not write 1\.w;"):
        pt.init_module(m, seed=0)
    report = pt.init_module(m, seed=0, rules={"1.w": "zeros"})
    assert torch.equal(m[0].scale, torch.full((4,), 3.0)) and report["0.scale"] == "constant(3)"
    assert torch.equal(m[1].w, torch.zeros(2))
    assert report["0.lin.weight"].startswith("uniform(")
    report = pt.init_module(m, seed=0, rules={Custom: ("ones", {}), "1.w": "zeros"})
    assert torch.equal(m[0].scale, torch.ones(4))


