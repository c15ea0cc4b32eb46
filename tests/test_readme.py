"""Every code block of README.md runs as written.

* Each ```python block runs on its own, in a fresh interpreter (a subprocess) in a temporary
  folder. A block that imports an optional package (torch, keras, jax, dask, ...) which is not
  installed is skipped with that reason; `pip install ".[test,all]"` installs them all.
* In the ```bash blocks, each line that starts with ``philoxinit`` runs as a command (from the
  installed console script or ``python -m philoxinit.cli``) in a temporary folder and must exit 0.
  Not executed, each for its reason (``NOT_RUN`` below records them):
  - ``pip install ...`` lines: installing is what CI does itself (the README's two commands
    run verbatim in .ci/run, in a fresh venv); that includes ``pip install . && philoxinit
    bench`` (the main job runs there; tests/test_cli.py runs ``bench`` with small sizes);
  - lines with ``[...]`` (usage syntax for optional arguments, not a command);
  - ``philoxinit checkpoint SPEC.json ...``: the SPEC files named are the user's own (the
    checkpoint tests in tests/test_cli_commands.py write and check real ones);
  - ``cmake ...`` lines (the C++ core's tests, which CI builds and runs).
* ```text blocks are output shown to the reader, not code.
"""
from __future__ import annotations

import ast
import importlib.util
import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys

import pytest

README = pathlib.Path(__file__).resolve().parent.parent / "README.md"
BLOCK = re.compile(r"^```(\w+)[^\n]*\n(.*?)^```", re.S | re.M)
OPTIONAL = {"torch", "torchvision", "transformers", "timm", "keras", "jax", "flax", "dask",
            "distributed", "ml_dtypes", "tqdm", "matplotlib", "safetensors", "scipy"}
NOT_RUN = {
    "pip": "installs: CI runs the README's install commands itself, in a fresh venv",
    "usage": "usage syntax ([...] marks optional arguments), not a command",
    "spec": "names the user's own SPEC file (tests/test_cli_commands.py checks real ones)",
    "cmake": "builds the C++ core tests, which CI builds and runs",
}


def _blocks():
    text = README.read_text(encoding="utf-8")
    for m in BLOCK.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        yield m.group(1), m.group(2), line


PYTHON_BLOCKS = [(code, line) for lang, code, line in _blocks() if lang == "python"]
SHELL_LINES = []
for lang, code, line in _blocks():
    if lang != "bash":
        continue
    for k, raw in enumerate(code.splitlines()):
        command = raw.split("  #")[0].split(" # ")[0].strip()
        if command:
            SHELL_LINES.append((command, line + 1 + k))


def _imports(code: str) -> set:
    names = set()
    for node in ast.walk(ast.parse(code)):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def _missing(code: str) -> list:
    """Optional top-level packages (and philoxinit submodules' frameworks) the block needs."""
    wanted = set()
    for name in _imports(code):
        top = name.split(".")[0]
        if top in OPTIONAL:
            wanted.add(top)
        if top == "philoxinit" and "." in name:
            sub = name.split(".")[1]
            wanted |= {"torch": {"torch"}, "keras": {"keras"}, "jax": {"jax"},
                       "dask": {"dask", "distributed"}, "jax_sharding": {"jax"}}.get(sub, set())
    return sorted(w for w in wanted if importlib.util.find_spec(w) is None)


def test_readme_has_the_blocks_this_test_expects():
    assert len(PYTHON_BLOCKS) >= 7          # API tour, progress, torch, keras, jax, dask, shards
    assert any(c.startswith("philoxinit demo") for c, _ in SHELL_LINES)


@pytest.mark.parametrize("code,line", PYTHON_BLOCKS, ids=[f"line{n}" for _, n in PYTHON_BLOCKS])
def test_python_block_runs(code, line, tmp_path):
    missing = _missing(code)
    if missing:
        pytest.skip(f"README.md line {line} needs {', '.join(missing)} (pip install \".[all]\")")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=600, env=env)
    assert r.returncode == 0, f"README.md line {line}:\n{code}\n--- stderr:\n{r.stderr[-4000:]}"


def _why_not_run(command: str):
    if command.startswith("pip ") or " pip " in command:
        return "pip"
    if command.startswith("cmake"):
        return "cmake"
    if "[" in command:
        return "usage"
    if command.startswith("philoxinit checkpoint"):
        return "spec"
    return None


RUN_LINES = [(c, n) for c, n in SHELL_LINES if _why_not_run(c) is None]


def test_every_shell_line_is_run_or_has_a_reason():
    """A new command in README.md is run here unless it falls under a documented reason."""
    for command, line in SHELL_LINES:
        assert _why_not_run(command) is not None or command.startswith("philoxinit "), \
            f"README.md line {line}: {command!r} is neither run here nor in NOT_RUN"


@pytest.mark.parametrize("command,line", RUN_LINES, ids=[f"line{n}" for _, n in RUN_LINES])
def test_shell_line_runs(command, line, tmp_path):
    args = shlex.split(command)
    exe = shutil.which("philoxinit")
    cmd = [exe] if exe else [sys.executable, "-m", "philoxinit.cli"]
    r = subprocess.run(cmd + args[1:], cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"README.md line {line}: {command}\n{r.stderr[-4000:]}"
    if "--out" in args:                      # the file it says it writes is there
        assert (tmp_path / args[args.index("--out") + 1]).exists() or \
            importlib.util.find_spec("matplotlib") is None
