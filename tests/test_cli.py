"""The ``philoxinit`` command line, run as a user would (``python -m philoxinit.cli`` and the
``philoxinit`` console script when it is on PATH)."""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest

from philoxinit import cli

RULES = ["uniform", "normal", "trunc_normal", "xavier_uniform", "kaiming_normal", "glorot_normal"]

COMMANDS = [pytest.param([sys.executable, "-m", "philoxinit.cli"], id="python-m")]
if shutil.which("philoxinit"):
    COMMANDS.append(pytest.param([shutil.which("philoxinit")], id="console-script"))


def run(cmd, *args, timeout=60):
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(params=COMMANDS)
def cmd(request):
    return request.param


def test_bench_json(cmd):
    r = run(cmd, "bench", "--params", "1e5", "--repeat", "1", "--json", "--no-torch")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)  # stdout is pure JSON: no progress, no table
    assert report["params"] == 100_000 and report["dtype"] == "float32"
    assert report["torch"] is None and "isa" in report["info"]
    assert report["fill"]["values_per_s"] > 0
    assert [res["rule"] for res in report["results"]] == RULES
    for res in report["results"]:
        assert res["values_per_s"] > 0 and res["gb_per_s"] > 0 and res["seconds"] > 0
        assert res["fraction_of_fill"] > 0
        assert res["numpy"]["values_per_s"] > 0 and res["numpy"]["speedup"] > 0
        assert res["torch"] is None
        assert int(res["shape"][0]) * (int(res["shape"][1]) if len(res["shape"]) > 1 else 1) == 100_000


def test_bench_json_rules_and_dtype():
    r = run(COMMANDS[0].values[0], "bench", "--params", "2**12", "--repeat", "1", "--json",
            "--no-torch", "--rules", "he_uniform,lecun_normal_", "--dtype", "float16",
            "--threads", "1")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["params"] == 4096 and report["threads"] == 1
    assert report["bytes_per_value"] == 2 and report["numpy"]["dtype"] == "float32"
    assert [res["rule"] for res in report["results"]] == ["he_uniform", "lecun_normal"]
    assert all("float32 buffer" in res["numpy"]["note"] for res in report["results"])


def test_bench_plain_text(cmd):
    r = run(cmd, "bench", "--params", "1e5", "--repeat", "1", "--no-torch")
    assert r.returncode == 0, r.stderr
    for rule in RULES:
        assert rule in r.stdout
    assert "fill" in r.stdout and "isa=" in r.stdout and "numpy" in r.stdout


@pytest.mark.parametrize("args", [
    ["bench", "--dtype", "int8"],
    ["bench", "--params", "-1"],
    ["bench", "--params", "0"],
    ["bench", "--params", "1.5"],
    ["bench", "--params", "lots"],
    ["bench", "--threads", "0"],
    ["bench", "--repeat", "0"],
    ["bench", "--rules", "uniform,nope"],
    ["frobnicate"],
    [],
])
def test_bad_arguments_exit_2(cmd, args):
    r = run(cmd, *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert r.stderr.strip()
    assert r.stdout == ""


def test_info_json(cmd):
    r = run(cmd, "info")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert "isa" in info and info["threads"] >= 1


def test_version(cmd):
    import philoxinit
    r = run(cmd, "--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"philoxinit {philoxinit.__version__}"


def test_main_returns_exit_codes(capsys):
    assert cli.main(["--version"]) == 0
    assert cli.main(["bench", "--threads", "0"]) == 2
    assert "--threads" in capsys.readouterr().err


def test_bfloat16_without_ml_dtypes_is_a_usage_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ml_dtypes", None)  # makes `import ml_dtypes` fail
    assert cli.main(["bench", "--dtype", "bfloat16", "--params", "16", "--no-torch"]) == 2
    assert "ml_dtypes" in capsys.readouterr().err


@pytest.mark.parametrize("text,n", [("1e5", 100_000), ("2**26", 2**26), ("2^10", 1024),
                                    ("1_000", 1000), ("67108864", 2**26), ("1e9", 10**9)])
def test_params_parsing(text, n):
    assert cli._positive_count(text) == n


def test_shape_2d():
    assert cli.shape_2d(2**26) == (2**14, 4096)
    assert cli.shape_2d(100_000) == (25, 4000)
    assert cli.shape_2d(7) == (1, 7)
    for n in (1, 4096, 4097, 12345, 2**20 + 6):
        rows, cols = cli.shape_2d(n)
        assert rows * cols == n and cols <= 4096


def test_public_functions_have_docstrings():
    import inspect
    for name, obj in vars(cli).items():
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and not name.startswith("_") \
                and getattr(obj, "__module__", None) == cli.__name__:
            assert inspect.getdoc(obj), name


# ---------------------------------------------------------------- issue 11: help, demo, pipes

def test_help_shows_each_default_once_and_none_for_required(cmd):
    for sub in ("bench", "demo", "checkpoint"):
        r = run(cmd, sub, "--help")
        assert r.returncode == 0, r.stderr
        text = " ".join(r.stdout.split())              # argparse wraps lines
        assert "(default: None)" not in text and "(default: False)" not in text, (sub, text)
        assert not re.search(r"\(default: [^)]*\) \(default:", text), (sub, text)  # said once
    text = " ".join(run(cmd, "bench", "--help").stdout.split())
    assert "(default: all available CPUs)" in text and "(default: 3)" in text
    text = " ".join(run(cmd, "checkpoint", "--help").stdout.split())
    assert "--out PATH FILE.safetensors, or a model directory --seed" in text  # required: no default


def test_top_level_description_names_every_command(cmd):
    text = " ".join(run(cmd, "--help").stdout.split())
    for sub in ("bench", "info", "demo", "checkpoint"):
        assert f"{sub} (" in text, text


def test_demo_json_writes_no_figure_unless_asked(cmd, tmp_path):
    (tmp_path / "variance.png").write_bytes(b"the user's own file")
    r = subprocess.run([*cmd, "demo", "--json", "--width", "16", "--depth", "3", "--batch", "20"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["figure"] is None
    assert (tmp_path / "variance.png").read_bytes() == b"the user's own file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["variance.png"]
    r = subprocess.run([*cmd, "demo", "--width", "16", "--depth", "3", "--batch", "20"],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert r.returncode == 0 and "no figure: pass --out" in r.stdout, r.stdout + r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["variance.png"]


@pytest.mark.parametrize("args", [("info",), ("bench", "--params", "1e4", "--repeat", "1",
                                              "--no-torch", "--json"),
                                  ("demo", "--json", "--width", "16", "--depth", "3",
                                   "--batch", "20")])
def test_closed_pipe_exits_quietly(cmd, args):
    """``philoxinit ... | head`` when head has gone: no traceback, SIGPIPE's status (141)."""
    read_end, write_end = os.pipe()
    os.close(read_end)                                  # every write now fails with EPIPE
    try:
        r = subprocess.run([*cmd, *args], stdout=write_end, stderr=subprocess.PIPE, text=True,
                           timeout=120)
    finally:
        os.close(write_end)
    assert "Traceback" not in r.stderr and "BrokenPipeError" not in r.stderr, r.stderr
    assert r.returncode in (0, cli.BROKEN_PIPE_STATUS), (r.returncode, r.stderr)
