"""`.pre-commit-hooks.yaml` works as docs/files-and-ci.md says: pre-commit accepts it as a hook manifest, and its
hook (the manifest's own id, entry, file pattern and settings, word for word) run by pre-commit on a sample
repository passes a right file, refuses a wrong claim, and never reads a file its pattern excludes.

The hook runs as a `repo: local` hook with `language: system` and this checkout's gradcheck first on PATH.
The manifest's `language: python` would make pre-commit build an environment by pip-installing this
repository (30-100 s, from the package index); that install is what CI's first README command does
(`pip install .`), and the console script the entry names is checked against pyproject.toml below.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / ".pre-commit-hooks.yaml"


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def pre_commit_command() -> str | None:
    """pre-commit beside this Python (a venv's bin/, not on PATH when CI runs .venv/bin/python), else on PATH."""
    beside = Path(sys.executable).with_name("pre-commit")
    return str(beside) if beside.exists() else shutil.which("pre-commit")


@pytest.fixture(scope="module")
def hook() -> dict:
    """The manifest's one hook, as pre-commit reads it."""
    if pre_commit_command() is None or shutil.which("git") is None:
        pytest.skip("pre-commit or git is not installed (pip install pre-commit)")
    import yaml  # pre-commit's own dependency

    hooks = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert [h["id"] for h in hooks] == ["gradcheck"]
    return hooks[0]


@pytest.fixture(scope="module")
def bin_dir(tmp_path_factory) -> Path:
    """A `gradcheck` that runs this checkout with this interpreter, put first on the hook's PATH."""
    folder = tmp_path_factory.mktemp("bin")
    script = folder / "gradcheck"
    script.write_text(f"#!/bin/sh\nexec {sys.executable} -m gradcheck_cli \"$@\"\n")
    script.chmod(0o755)
    return folder


def run_pre_commit(*args: str, cwd: Path, home: Path, bin_dir: Path | None = None) -> subprocess.CompletedProcess:
    path = os.pathsep.join(filter(None, [str(bin_dir) if bin_dir else "", os.environ.get("PATH", "")]))
    env = {**os.environ, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1", "PATH": path,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([pre_commit_command(), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def sample_repository(path: Path, hook: dict, content: str) -> Path:
    """A git repository whose config runs the manifest's hook as a local hook (JSON is YAML)."""
    path.mkdir()
    git("init", "-q", cwd=path)
    local = {**hook, "language": "system", "args": ["--no-exact"]}
    (path / ".pre-commit-config.yaml").write_text(json.dumps({"repos": [{"repo": "local", "hooks": [local]}]}, indent=2))
    (path / "derivations.gc").write_text(content)
    (path / "notes.txt").write_text("x^2 is not a .gc file: the hook must not read it\n")
    git("add", ".", cwd=path)
    return path


def test_pre_commit_accepts_the_manifest(hook, tmp_path):
    done = run_pre_commit("validate-manifest", str(MANIFEST), cwd=tmp_path, home=tmp_path / "home")
    assert done.returncode == 0, done.stdout + done.stderr
    assert hook["language"] == "python" and hook["files"] == r"\.gc(\.py)?$"


def test_the_entry_is_the_console_script_pip_installs(hook):
    """With `language: python` pre-commit pip-installs this repository and runs the entry in that environment:
    the entry's program must be a console script of the package."""
    program = hook["entry"].split()[0]
    scripts = re.search(r"^\[project\.scripts\]\n(.*?)(?:^\[|\Z)", (ROOT / "pyproject.toml").read_text(), re.M | re.S)
    assert scripts and re.search(rf'^{re.escape(program)} = "gradcheck_cli\.cli\.main:main"$', scripts.group(1), re.M)


def test_the_hook_passes_right_claims_and_refuses_a_wrong_one(tmp_path, hook, bin_dir):
    home = tmp_path / "pre-commit-home"
    right_repo = sample_repository(tmp_path / "right", hook, "x*y @ x=-2, y=3 => dx=3, dy=-2\n")
    right = run_pre_commit("run", "--all-files", cwd=right_repo, home=home, bin_dir=bin_dir)
    assert right.returncode == 0, right.stdout + right.stderr
    assert "gradcheck" in right.stdout and "Passed" in right.stdout
    wrong_repo = sample_repository(tmp_path / "wrong", hook, "x*y @ x=-2, y=3 => dx=3, dy=2\n")
    wrong = run_pre_commit("run", "--all-files", cwd=wrong_repo, home=home, bin_dir=bin_dir)
    assert wrong.returncode == 1
    assert "Failed" in wrong.stdout and "claimed dy = 2 but analytic is -2" in " ".join(wrong.stdout.split())
    assert "notes.txt" not in wrong.stdout  # the manifest's file pattern keeps other files away from the hook
