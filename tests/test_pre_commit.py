"""`.pre-commit-hooks.yaml` works as docs/files-and-ci.md says: pre-commit, run on a sample repository whose
config names this repository at its current commit, passes a right file and refuses a wrong claim.

pre-commit builds the hook's environment by installing this repository (as users' machines would), so
this test takes ~30-60 s; it is skipped where pre-commit or git is missing, or this is not a git checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def pre_commit_command() -> str | None:
    """pre-commit beside this Python (a venv's bin/, not on PATH when CI runs .venv/bin/python), else on PATH."""
    beside = Path(sys.executable).with_name("pre-commit")
    return str(beside) if beside.exists() else shutil.which("pre-commit")


@pytest.fixture(scope="module")
def head() -> str:
    if pre_commit_command() is None or shutil.which("git") is None:
        pytest.skip("pre-commit or git is not installed (pip install pre-commit)")
    try:
        return git("rev-parse", "HEAD", cwd=ROOT)
    except subprocess.CalledProcessError:
        pytest.skip("not a git checkout")


def sample_repository(path: Path, head: str, content: str) -> Path:
    path.mkdir()
    git("init", "-q", cwd=path)
    (path / ".pre-commit-config.yaml").write_text(
        f"repos:\n  - repo: {ROOT.as_uri()}\n    rev: {head}\n    hooks:\n      - id: gradcheck\n        args: [--no-exact]\n")
    (path / "derivations.gc").write_text(content)
    (path / "notes.txt").write_text("x^2 is not a .gc file: the hook must not read it\n")
    git("add", ".", cwd=path)
    return path


def pre_commit(repository: Path, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    return subprocess.run([pre_commit_command(), "run", "--all-files"], cwd=repository, env=env, capture_output=True,
                          text=True, timeout=900)


def test_the_hook_passes_right_claims_and_refuses_a_wrong_one(tmp_path, head):
    home = tmp_path / "pre-commit-home"
    right = pre_commit(sample_repository(tmp_path / "right", head, "x*y @ x=-2, y=3 => dx=3, dy=-2\n"), home)
    assert right.returncode == 0, right.stdout + right.stderr
    assert "gradcheck" in right.stdout and "Passed" in right.stdout
    wrong = pre_commit(sample_repository(tmp_path / "wrong", head, "x*y @ x=-2, y=3 => dx=3, dy=2\n"), home)
    assert wrong.returncode == 1
    assert "Failed" in wrong.stdout and "claimed dy = 2 but analytic is -2" in " ".join(wrong.stdout.split())
