"""What each command imports, as `python -X importtime` lists it in a fresh process: SymPy only where a whole
formula is printed, numpy not for help. (The times themselves are benchmarks/targets.py's business.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys


def imported(*args: str, cwd=None) -> tuple[set[str], subprocess.CompletedProcess]:
    """Top-level packages `python -m gradcheck_cli ARGS` imports, and the finished process."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "gradcheck_cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=cwd, env={**os.environ, "NO_COLOR": "1"})
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)$", done.stderr, re.M)
    assert names, done.stderr  # -X importtime did list the imports
    return {name.split(".")[0] for name in names}, done


def test_help_imports_neither_sympy_nor_numpy():
    packages, done = imported("--help")
    assert done.returncode == 0 and "eval" in done.stdout
    assert not packages & {"sympy", "numpy", "mpmath"}, packages & {"sympy", "numpy", "mpmath"}


def test_check_with_the_exact_column_never_imports_sympy(tmp_path):
    (tmp_path / "t.gc").write_text("sigma(x)*tanh(y) @ x=0.3, y=-1.2\nx**0.3 - log(x) @ x=2\n")
    packages, done = imported("check", "t.gc", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    cases = json.loads(done.stdout)["cases"]
    assert [c["exact_method"] for c in cases] == ["chain", "chain"]
    assert all(isinstance(g["exact"], float) for c in cases for g in c["gradients"])
    assert "mpmath" in packages and "sympy" not in packages


def test_eval_imports_sympy_only_for_the_formula():
    """eval's default (the chained exact value) leaves SymPy unloaded; --exact-method auto prints the formula."""
    chained, done = imported("eval", "(x+y)*z", "--at", "x=-2,y=5,z=-4")
    assert done.returncode == 0 and "sympy" not in chained and "mpmath" in chained
    assert "exact df/dx" not in done.stdout and "--exact-method auto prints SymPy's formula" in done.stdout
    formula, done = imported("eval", "(x+y)*z", "--at", "x=-2,y=5,z=-4", "--exact-method", "auto")
    assert done.returncode == 0 and "exact df/dx = z" in done.stdout and "sympy" in formula
