"""The statistical tools run (quick modes): tools/normality.py and tools/dieharder.sh.

The full battery and its recorded results are in docs/quality.md.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"


def test_normality_quick():
    pytest.importorskip("scipy", reason="tools/normality.py needs scipy")
    res = subprocess.run([sys.executable, str(TOOLS / "normality.py"), "--quick"],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("seed=")]
    assert len(lines) == 2 and all(ln.split()[-3] == "PASS" for ln in lines), res.stdout


@pytest.mark.skipif(shutil.which("dieharder") is None,
                    reason="dieharder is not installed (apt-get install -y dieharder)")
def test_dieharder_quick():
    env = dict(os.environ, PYTHON=sys.executable)
    res = subprocess.run(["bash", str(TOOLS / "dieharder.sh"), "--quick"], capture_output=True,
                         text=True, timeout=60, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    verdicts = [ln.rsplit("|", 1)[-1].strip() for ln in res.stdout.splitlines()
                if ln.rstrip().endswith(("PASSED", "WEAK", "FAILED"))]
    assert len(verdicts) == 2 and "FAILED" not in verdicts, res.stdout
