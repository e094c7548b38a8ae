"""Shared fixtures and the Hypothesis profiles.

Profiles: "dev" (default) and "ci" (loaded when the CI environment variable is set: derandomized,
no example database, so a CI run is reproducible). Neither has a deadline: the machine running the
tests is shared and SymPy's first call in a process is slow.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

_TERMINAL = ("COLUMNS", "LINES")  # what output widths are read from (report.make_console, the pytest plugin)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node) -> None:
    """pytest-xdist (controller side): hand the workers this process's terminal variables."""
    node.workerinput["gradcheck_terminal"] = {name: os.environ.get(name) for name in _TERMINAL}


def pytest_configure(config) -> None:
    """pytest-xdist (worker side): xdist's workers start with COLUMNS=80 and LINES=24 set; a test must see what a
    plain `pytest` run sees, or piped tables shrink from 200 columns to 80 and clip their paths."""
    terminal = getattr(config, "workerinput", {}).get("gradcheck_terminal")
    for name, value in (terminal or {}).items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def _no_inherited_columns(monkeypatch):
    """Every test starts without COLUMNS: pytest-xdist's workers set COLUMNS=80, which narrowed the tables of the
    tests that do not set a width themselves (they failed under `-n 2` only)."""
    monkeypatch.delenv("COLUMNS", raising=False)


@pytest.fixture
def check():
    """check(text, at, wrt=None, expect=None, **options) -> CaseResult, through the library pipeline.

    `at` is either the --at text ("x=3,y=-4") or a dict of values (floats or arrays).
    """
    from gradcheck_cli.expression.check import Options
    from gradcheck_cli.session import check_text

    def run(text: str, at="", wrt=None, expect=None, **options):
        return check_text(text, at, wrt=tuple(wrt) if wrt is not None else None, expect=expect, options=Options(**options))

    return run


@pytest.fixture
def cli(monkeypatch):
    """cli(*args, input=None, env=None) -> click Result of `gradcheck ARGS` (stdout and stderr kept apart)."""
    from click.testing import CliRunner

    from gradcheck_cli.cli.main import main

    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str, input: str | None = None, env: dict | None = None):
        runner = CliRunner()
        return runner.invoke(main, list(args), input=input, env=env, catch_exceptions=True)

    return run


def assert_clean_tool_error(result, *fragments: str) -> str:
    """Exit code 2, no traceback, no stray exception, a one-line `gradcheck:`/`Error:` message (plus caret).

    Returns stderr so the caller can check more.
    """
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"unexpected exception {result.exception!r}\n{result.output}"
    )
    assert result.exit_code == 2, f"exit code {result.exit_code}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    err = result.stderr
    assert "Traceback" not in err and "Traceback" not in result.stdout
    assert "internal error" not in err, f"a crash, not a tool error: {err}"
    assert result.stdout == "", f"a tool error printed to stdout: {result.stdout!r}"
    for fragment in fragments:
        assert fragment in err, f"{fragment!r} not in {err!r}"
    return err


@pytest.fixture
def tool_error():
    return assert_clean_tool_error
