"""``philoxinit demo`` and ``philoxinit checkpoint``, run as a user would: subprocesses of
``python -m philoxinit.cli``, checked by exit status, output and the files they write.

The safetensors files are read back with the ``safetensors`` package (NumPy loader; torch
loader for bfloat16 when torch is installed) and with a header parser of our own, and compared
bit for bit with what philoxinit computes in memory.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

import philoxinit as pxi

CLI = [sys.executable, "-m", "philoxinit.cli"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SAFETENSORS_DTYPES = {"F64": "float64", "F32": "float32", "F16": "float16", "BF16": "bfloat16"}


def no_transformers_env():
    """An environment in which ``import transformers`` fails: the checkpoint command then
    writes its built-in Llama layout (what these tests check)."""
    import tempfile
    d = tempfile.mkdtemp(prefix="no-transformers-")
    os.makedirs(os.path.join(d, "transformers"))
    with open(os.path.join(d, "transformers", "__init__.py"), "w") as f:
        f.write("raise ImportError('transformers blocked for a test')\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = d + os.pathsep + env.get("PYTHONPATH", "")
    return env


def run(*args, timeout=120, env=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, env=env)


def np_dtype(name):
    if name == "bfloat16":
        ml_dtypes = pytest.importorskip("ml_dtypes")
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def bits(a):
    a = np.asarray(a)
    a = a if a.flags.c_contiguous else a.copy()  # (ascontiguousarray makes 0-d arrays 1-d)
    return a.view({8: np.uint64, 4: np.uint32, 2: np.uint16}[a.dtype.itemsize])


def read_safetensors(path):
    """``(metadata, {name: (dtype name, shape, raw bytes)}, header length)`` by hand."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors, spans = {}, []
    for name, h in header.items():
        b, e = h["data_offsets"]
        spans.append((b, e))
        tensors[name] = (SAFETENSORS_DTYPES[h["dtype"]], tuple(h["shape"]), body[b:e])
    spans.sort()
    # the data is covered exactly, without holes or overlaps
    assert spans[0][0] == 0 and spans[-1][1] == len(body)
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    return meta, tensors, n


def as_array(dtype_name, shape, raw):
    return np.frombuffer(raw, dtype=np_dtype(dtype_name)).reshape(shape)


def expected(rule, shape, dtype_name, args, seed, name):
    """What philoxinit computes in memory for one tensor of a SPEC."""
    fn = getattr(pxi, rule.rstrip("_"))
    dtype = np_dtype(dtype_name)
    if rule.rstrip("_") in ("zeros", "ones", "constant"):
        return fn(tuple(shape), dtype=dtype, **args)
    return fn(tuple(shape), dtype=dtype, seed=seed, stream=name, **args)


# ================================================================================ demo

def test_demo_writes_png_and_prints_table(tmp_path):
    png = tmp_path / "variance.png"
    r = run("demo", "--out", str(png), "--width", "64", "--depth", "12", "--batch", "200")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert "layer 1" in r.stdout and "layer 10" in r.stdout and "layer 12" in r.stdout
    for act in ("relu", "tanh"):
        for init in ("N(0, 1)", "N(0, 0.01^2)", "Xavier normal", "He normal (relu)"):
            assert any(line.startswith(act) and init in line for line in lines), (act, init)
    assert f"figure saved to {png}" in r.stdout
    data = png.read_bytes()
    assert data[:8] == PNG_SIGNATURE and len(data) < 200_000
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert (width, height) == (1100, 420)
    try:
        import matplotlib.image as mpimg
    except ImportError:
        return
    img = mpimg.imread(str(png))
    assert img.shape[:2] == (420, 1100)


def test_demo_json_numbers_tell_the_story(tmp_path):
    r = run("demo", "--out", str(tmp_path / "v.png"), "--width", "128", "--depth", "20",
            "--batch", "100", "--seed", "3", "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # stdout is pure JSON
    std = report["std"]
    assert report["depth"] == 20 and all(len(v) == 20 for a in std.values() for v in a.values())
    last = {a: {init: v[-1] for init, v in std[a].items()} for a in std}
    assert 0.1 < last["relu"]["He normal (relu)"] < 10        # He: ReLU stays level
    assert last["relu"]["N(0, 1)"] > 1e15                    # N(0, 1): explodes
    assert last["relu"]["N(0, 0.01^2)"] < 1e-15              # N(0, 0.01^2): vanishes
    assert last["relu"]["Xavier normal"] < 1e-2              # Xavier halves the ReLU variance
    assert 0.05 < last["tanh"]["Xavier normal"] < 1          # Xavier: tanh stays alive
    assert last["tanh"]["N(0, 0.01^2)"] < 1e-10
    assert last["tanh"]["N(0, 1)"] > 0.9                     # saturated at +-1


def test_demo_same_numbers_every_run(tmp_path):
    args = ("demo", "--out", str(tmp_path / "v.png"), "--width", "32", "--depth", "5",
            "--batch", "50", "--json")
    a, b = run(*args), run(*args)
    assert a.returncode == b.returncode == 0
    assert json.loads(a.stdout)["std"] == json.loads(b.stdout)["std"]


def test_demo_without_matplotlib_prints_table_and_hint(tmp_path):
    png = tmp_path / "v.png"
    code = ("import sys; sys.modules['matplotlib'] = None; from philoxinit.cli import main; "
            f"sys.exit(main(['demo', '--out', {str(png)!r}, '--width', '32', '--depth', '10', "
            "'--batch', '50']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "He normal (relu)" in r.stdout and "layer 10" in r.stdout
    assert 'pip install "philoxinit[plot]"' in r.stdout
    assert not png.exists()


@pytest.mark.parametrize("args", [("--depth", "0"), ("--width", "x"), ("--seed", "-1")])
def test_demo_bad_arguments_exit_2(args, tmp_path):
    r = run("demo", "--out", str(tmp_path / "v.png"), *args)
    assert r.returncode == 2 and "error" in r.stderr
    assert not (tmp_path / "v.png").exists()


# ========================================================================== checkpoint

LIST_SPEC = [
    {"name": "embed.weight", "shape": [300, 64], "rule": "normal", "args": {"std": 0.02}},
    {"name": "fc1.weight", "shape": [96, 64], "dtype": "bfloat16", "rule": "xavier_uniform"},
    {"name": "fc2.weight", "shape": [64, 96], "dtype": "float16", "rule": "kaiming_normal_",
     "args": {"nonlinearity": "relu", "mode": "fan_out"}},
    {"name": "fc2.bias", "shape": [3], "dtype": "float16", "rule": "zeros"},
    {"name": "norm.weight", "shape": [64], "dtype": "bfloat16", "rule": "ones"},
    {"name": "temperature", "shape": [], "dtype": "float64", "rule": "constant",
     "args": {"val": 0.5}},
    {"name": "head.weight", "shape": [7, 5], "rule": "trunc_normal",
     "args": {"std": 0.02, "a": -0.04, "b": 0.04}},
    {"name": "conv.weight", "shape": [8, 3, 3, 3], "dtype": "float64", "rule": "he_uniform",
     "args": {"layout": "torch"}},
    {"name": "empty", "shape": [0, 4], "rule": "uniform"},
]


def write_json(path, obj):
    path.write_text(json.dumps(obj))
    return str(path)


def check_file_matches(path, entries, seed):
    """Compare every tensor of ``path`` with philoxinit in memory (own parser + safetensors)."""
    meta, tensors, header_len = read_safetensors(path)
    assert header_len % 8 == 0
    assert meta["philoxinit.seed"] == str(seed) and meta["format"] == "pt"
    assert sorted(tensors) == sorted(e["name"] for e in entries)
    for e in entries:
        dtype_name, shape, raw = tensors[e["name"]]
        assert dtype_name == e.get("dtype", "float32") and shape == tuple(e["shape"]), e["name"]
        want = expected(e["rule"], e["shape"], dtype_name, e.get("args", {}), seed, e["name"])
        got = as_array(dtype_name, shape, raw)
        assert np.array_equal(bits(got), bits(want)), e["name"]

    from safetensors.numpy import load_file
    plain = [e for e in entries if e.get("dtype", "float32") != "bfloat16"]
    try:
        loaded = load_file(str(path))
    except (TypeError, ValueError):  # NumPy has no bfloat16: load a copy without those
        loaded = None
    if loaded is None:
        from safetensors.numpy import load
        with open(path, "rb") as f:
            blob = f.read()
        n = struct.unpack("<Q", blob[:8])[0]
        header = json.loads(blob[8:8 + n])
        keep = {k: v for k, v in header.items() if k == "__metadata__" or v["dtype"] != "BF16"}
        body = blob[8 + n:]
        parts, pos = [], 0
        for k, v in keep.items():
            if k == "__metadata__":
                continue
            b, e = v["data_offsets"]
            parts.append(body[b:e])
            v["data_offsets"] = [pos, pos + (e - b)]
            pos += e - b
        text = json.dumps(keep).encode()
        text += b" " * (-len(text) % 8)
        loaded = load(struct.pack("<Q", len(text)) + text + b"".join(parts))
    for e in plain:
        want = expected(e["rule"], e["shape"], e.get("dtype", "float32"), e.get("args", {}),
                        seed, e["name"])
        assert loaded[e["name"]].dtype == want.dtype and loaded[e["name"]].shape == want.shape
        assert np.array_equal(bits(loaded[e["name"]]), bits(want)), e["name"]

    try:
        import torch
        from safetensors.torch import load_file as torch_load
    except ImportError:
        return
    loaded = torch_load(str(path))
    for e in entries:
        t = loaded[e["name"]]
        want = expected(e["rule"], e["shape"], e.get("dtype", "float32"), e.get("args", {}),
                        seed, e["name"])
        assert str(t.dtype) == "torch." + e.get("dtype", "float32")
        as_int = {8: torch.int64, 4: torch.int32, 2: torch.int16}[t.element_size()]
        got = t.contiguous().view(as_int).numpy().view(bits(want).dtype)
        assert np.array_equal(got.reshape(want.shape), bits(want)), e["name"]


def test_checkpoint_list_spec_round_trips(tmp_path):
    spec = write_json(tmp_path / "spec.json", LIST_SPEC)
    out = tmp_path / "model.safetensors"
    r = run("checkpoint", spec, "--out", str(out), "--seed", "7")
    assert r.returncode == 0, r.stderr
    assert "9 tensors" in r.stdout and f"wrote {out}" in r.stdout and "GB/s" in r.stdout
    params = sum(int(np.prod(e["shape"])) for e in LIST_SPEC)
    assert f"{params:,} parameters" in r.stdout
    assert f"{out.stat().st_size:,} bytes" in r.stdout
    check_file_matches(out, LIST_SPEC, seed=7)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]  # no temporary left


def test_checkpoint_same_bytes_for_any_thread_count(tmp_path):
    spec = write_json(tmp_path / "spec.json", LIST_SPEC)
    a, b, c = (tmp_path / f"{k}.safetensors" for k in "abc")
    assert run("checkpoint", spec, "--out", str(a), "--threads", "1").returncode == 0
    assert run("checkpoint", spec, "--out", str(b), "--threads", "3",
               "--no-progress").returncode == 0
    assert run("checkpoint", spec, "--out", str(c), "--seed", "1").returncode == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_checkpoint_big_tensor_in_pieces(tmp_path):
    # > 64 MiB: filled in pieces behind the progress bar; still the bits of one call.
    entries = [{"name": "big", "shape": [4100, 4100], "rule": "xavier_normal"},
               {"name": "small", "shape": [10], "rule": "uniform", "args": {"low": -1.0}}]
    spec = write_json(tmp_path / "spec.json", entries)
    out = tmp_path / "big.safetensors"
    r = run("checkpoint", spec, "--out", str(out))
    assert r.returncode == 0, r.stderr
    _, tensors, _ = read_safetensors(out)
    got = as_array(*tensors["big"])
    assert np.array_equal(bits(got), bits(pxi.xavier_normal((4100, 4100), seed=0, stream="big")))
    got = as_array(*tensors["small"])
    assert np.array_equal(bits(got), bits(pxi.uniform((10,), low=-1.0, seed=0, stream="small")))


def test_checkpoint_json_summary_on_stdout_progress_elsewhere(tmp_path):
    spec = write_json(tmp_path / "spec.json", LIST_SPEC)
    out = tmp_path / "m.safetensors"
    r = run("checkpoint", spec, "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # nothing but the JSON on stdout
    assert report["tensors"] == len(LIST_SPEC) and report["bytes"] == out.stat().st_size
    assert report["parameters"] == sum(int(np.prod(e["shape"])) for e in LIST_SPEC)
    assert report["seconds"] > 0 and report["gb_per_s"] > 0 and report["spec"] == "list"
    assert [t["name"] for t in report["tensor_list"]] == [e["name"] for e in LIST_SPEC]


def llama_entries(cfg, dtype):
    """The tensors a Llama config describes, as SPEC entries (what the file must hold)."""
    h, inter, heads = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads)
    hd = cfg.get("head_dim", h // heads)
    std = cfg.get("initializer_range", 0.02)
    normal = {"rule": "normal", "args": {"mean": 0.0, "std": std}}
    ones = {"rule": "ones", "args": {}}
    zeros = {"rule": "zeros", "args": {}}
    out = [("model.embed_tokens.weight", [cfg["vocab_size"], h], normal)]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        out += [(p + "self_attn.q_proj.weight", [heads * hd, h], normal),
                (p + "self_attn.k_proj.weight", [kv * hd, h], normal),
                (p + "self_attn.v_proj.weight", [kv * hd, h], normal),
                (p + "self_attn.o_proj.weight", [h, heads * hd], normal),
                (p + "mlp.gate_proj.weight", [inter, h], normal),
                (p + "mlp.up_proj.weight", [inter, h], normal),
                (p + "mlp.down_proj.weight", [h, inter], normal),
                (p + "input_layernorm.weight", [h], ones),
                (p + "post_attention_layernorm.weight", [h], ones)]
        if cfg.get("attention_bias"):
            out += [(p + "self_attn.q_proj.bias", [heads * hd], zeros),
                    (p + "self_attn.k_proj.bias", [kv * hd], zeros),
                    (p + "self_attn.v_proj.bias", [kv * hd], zeros),
                    (p + "self_attn.o_proj.bias", [h], zeros)]
    out.append(("model.norm.weight", [h], ones))
    if not cfg.get("tie_word_embeddings", False):
        out.append(("lm_head.weight", [cfg["vocab_size"], h], normal))
    return [{"name": n, "shape": s, "dtype": dtype, **r} for n, s, r in out]


TINY_LLAMA = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
    "intermediate_size": 176, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 2, "vocab_size": 300, "initializer_range": 0.02,
    "rms_norm_eps": 1e-5, "tie_word_embeddings": False, "torch_dtype": "bfloat16",
}


def test_checkpoint_tiny_llama_config(tmp_path):
    spec = write_json(tmp_path / "config.json", TINY_LLAMA)
    out = tmp_path / "llama.safetensors"
    r = run("checkpoint", spec, "--out", str(out), "--seed", "0", env=no_transformers_env())
    assert r.returncode == 0, r.stderr
    assert "transformers is not installed" in r.stderr
    entries = llama_entries(TINY_LLAMA, "bfloat16")
    assert len(entries) == 1 + 2 * 9 + 2
    assert f"{len(entries)} tensors" in r.stdout and "llama SPEC" in r.stdout
    check_file_matches(out, entries, seed=0)
    meta, tensors, _ = read_safetensors(out)
    assert meta["philoxinit.spec"] == "llama"
    assert tensors["model.layers.1.self_attn.k_proj.weight"][1] == (32, 64)  # 2 kv heads x 16


@pytest.mark.parametrize("changes,dtype", [
    ({"tie_word_embeddings": True, "attention_bias": True, "head_dim": 8,
      "torch_dtype": "float16", "initializer_range": 0.05}, "float16"),
    ({"torch_dtype": None, "num_key_value_heads": None}, "float32"),
])
def test_checkpoint_llama_variants(tmp_path, changes, dtype):
    cfg = {**TINY_LLAMA, **changes}
    cfg = {k: v for k, v in cfg.items() if v is not None}
    spec = write_json(tmp_path / "config.json", cfg)
    out = tmp_path / "llama.safetensors"
    r = run("checkpoint", spec, "--out", str(out), "--seed", "5", "--no-progress",
            env=no_transformers_env())
    assert r.returncode == 0, r.stderr
    entries = llama_entries(cfg, dtype)
    check_file_matches(out, entries, seed=5)
    _, tensors, _ = read_safetensors(out)
    assert ("lm_head.weight" in tensors) == (not cfg.get("tie_word_embeddings", False))


def test_checkpoint_dtype_option_overrides_config(tmp_path):
    spec = write_json(tmp_path / "config.json", TINY_LLAMA)
    out = tmp_path / "llama.safetensors"
    r = run("checkpoint", spec, "--out", str(out), "--dtype", "float32", "--no-progress",
            env=no_transformers_env())
    assert r.returncode == 0, r.stderr
    check_file_matches(out, llama_entries(TINY_LLAMA, "float32"), seed=0)


BAD_SPECS = [
    ("not json", "is not valid JSON"),
    ({"foo": 1}, "expected a JSON list of tensors"),
    ([], "the tensor list is empty"),
    ([{"name": "w", "shape": [2, 2], "rule": "gaussian"}], "unknown rule 'gaussian'"),
    ([{"name": "w", "rule": "normal"}], "missing 'shape'"),
    ([{"name": "w", "shape": [2, -1], "rule": "normal"}], "shape must be a list"),
    ([{"name": "w", "shape": [2], "rule": "normal", "dtype": "int8"}], "unsupported dtype"),
    ([{"name": "w", "shape": [2], "rule": "normal", "args": {"seed": 3}}], "may not set seed"),
    ([{"name": "w", "shape": [2], "rule": "normal", "args": {"std": -1.0}}], "std must be >= 0"),
    ([{"name": "w", "shape": [2], "rule": "normal", "args": {"sigma": 1.0}}], "sigma"),
    ([{"name": "w", "shape": [5000, 3], "rule": "kaiming_normal",
       "args": {"nonlinearity": "swish"}}], "nonlinearity"),
    ([{"name": "w", "shape": [2], "rule": "normal"}, {"name": "w", "shape": [2], "rule": "ones"}],
     "duplicate name"),
    ({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2}, "missing intermediate_size"),
    ({**TINY_LLAMA, "hidden_size": 65}, "not a multiple"),
]


@pytest.mark.parametrize("spec,message", BAD_SPECS, ids=[m for _, m in BAD_SPECS])
def test_checkpoint_bad_spec_exits_2(tmp_path, spec, message):
    path = tmp_path / "spec.json"
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    out = tmp_path / "m.safetensors"
    r = run("checkpoint", str(path), "--out", str(out), env=no_transformers_env())
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert "philoxinit checkpoint: error:" in r.stderr and message in r.stderr, r.stderr
    assert r.stdout == "" and not out.exists() and os.listdir(tmp_path) == ["spec.json"]


def test_checkpoint_missing_spec_and_bad_out(tmp_path):
    r = run("checkpoint", str(tmp_path / "nope.json"), "--out", str(tmp_path / "m.safetensors"))
    assert r.returncode == 2 and "cannot read SPEC" in r.stderr
    spec = write_json(tmp_path / "spec.json", LIST_SPEC[:1])
    # a missing parent directory is created (like save_pretrained); one under a file cannot be
    (tmp_path / "afile").write_text("x")
    r = run("checkpoint", spec, "--out", str(tmp_path / "afile" / "dir" / "m.safetensors"))
    assert r.returncode == 2 and "cannot create directory" in r.stderr
    r = run("checkpoint", spec, "--out", str(tmp_path / "no" / "dir" / "m.safetensors"))
    assert r.returncode == 0 and (tmp_path / "no" / "dir" / "m.safetensors").is_file()
    r = run("checkpoint", spec)  # --out is required
    assert r.returncode == 2 and "--out" in r.stderr


def test_help_lists_the_commands():
    r = run("--help")
    assert r.returncode == 0
    assert "demo" in r.stdout and "checkpoint" in r.stdout
    for cmd in ("demo", "checkpoint"):
        r = run(cmd, "--help")
        assert r.returncode == 0 and "usage:" in r.stdout
