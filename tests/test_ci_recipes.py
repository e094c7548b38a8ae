"""The CI recipes of docs/ paste as they are: every pre-commit `rev:` and every `git+URL@REV` install names a commit
that exists in this repository (reachable from HEAD, so it is on the branch that is published), and every install
URL and pre-commit `repo:` is this project's URL from pyproject.toml's [project.urls].
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
INSTALL = re.compile(r"git\+(?P<url>https?://[^\s\"'@]+)@(?P<rev>[^\s\"'#]+)")
REPO = re.compile(r"^\s*-?\s*repo:\s*(?P<url>\S+)", re.M)
REV = re.compile(r"^\s*rev:\s*(?P<rev>[^\s#]+)", re.M)


def project_url() -> str:
    """[project.urls] Source of pyproject.toml (read by hand: tomllib is Python 3.11+)."""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = text.split("[project.urls]", 1)[1].split("\n[", 1)[0]
    return re.search(r'^Source\s*=\s*"([^"]+)"', section, re.M).group(1)


def recipes() -> dict[str, list[tuple[str, str]]]:
    """Every install URL, pre-commit repo and rev in the docs: kind -> [(FILE:LINE, value)]."""
    found: dict[str, list[tuple[str, str]]] = {"url": [], "rev": []}
    for path in DOCS:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            where = f"{path.relative_to(ROOT)}:{number}"
            for match in INSTALL.finditer(line):
                found["url"].append((where, match["url"]))
                found["rev"].append((where, match["rev"]))
            for pattern, kind in ((REPO, "url"), (REV, "rev")):
                match = pattern.match(line)
                if match:
                    found[kind].append((where, match[kind]))
    return found


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)


@pytest.fixture(scope="module")
def checkout() -> None:
    if shutil.which("git") is None or git("rev-parse", "HEAD").returncode != 0:
        pytest.skip("not a git checkout: the recipes' commits can only be resolved in one")


def test_the_docs_have_recipes_to_check():
    found = recipes()
    assert len(found["url"]) >= 3 and len(found["rev"]) >= 3  # two Actions installs and the pre-commit config


def test_every_install_url_and_repo_is_this_projects():
    url = project_url()
    assert url.endswith("/gradcheck")
    wrong = [(where, value) for where, value in recipes()["url"] if value.rstrip("/").removesuffix(".git") != url]
    assert not wrong, f"not {url}: {wrong}"


def test_every_rev_is_a_commit_sha_reachable_from_head(checkout):
    for where, rev in recipes()["rev"]:
        assert re.fullmatch(r"[0-9a-f]{40}", rev), f"{where}: {rev!r} is not a full commit SHA (gradcheck has no tags)"
        assert git("cat-file", "-e", f"{rev}^{{commit}}").returncode == 0, f"{where}: {rev} is no commit here"
        assert git("merge-base", "--is-ancestor", rev, "HEAD").returncode == 0, f"{where}: {rev} is not behind HEAD"


def test_the_pinned_commit_has_the_hook_the_recipe_uses(checkout):
    for where, rev in recipes()["rev"]:
        hooks = git("show", f"{rev}:.pre-commit-hooks.yaml")
        assert hooks.returncode == 0 and "- id: gradcheck" in hooks.stdout, f"{where}: {rev} has no gradcheck hook"
