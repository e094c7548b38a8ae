"""The pytest plugin (gradcheck_cli/pytest_plugin.py, docs/pytest.md), run through pytester.

Most runs are in-process with `-p no:gradcheck -p gradcheck_cli.pytest_plugin`: that loads this worktree's module
whether or not the `gradcheck` entry point is installed (blocking the entry point's name keeps pluggy from
registering the same module twice). The entry-point tests run pytest in a subprocess with a stand-in dist-info
directory on PYTHONPATH that declares the entry point, so plain `pytest` is tested without installing anything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
PLUGIN_ARGS = ("-p", "no:gradcheck", "-p", "gradcheck_cli.pytest_plugin", "-p", "no:cacheprovider",
               "-W", "ignore::pytest.PytestAssertRewriteWarning")  # the module is imported already: nothing to rewrite

RIGHT = "x*y @ x=-2, y=3 => dx=3, dy=-2\n"
WRONG = "# the claimed dx is wrong\nx*y @ x=-2, y=3 => dx=2\n"
WRONG_PROGRAM = """\
x = 2
w = [3, -4]
a = x * w[0]
b = a + w[1]
f = 1 / (1 + np.exp(-b))
df = 1
db = df * f
da = db * 1
dx = da * w[0]
dw0 = da * x
dw1 = db * 1
"""  # line 7 should be db = df * f * (1 - f); np is not imported: importing this as Python would fail


@pytest.fixture(autouse=True, scope="module")
def warm_imports():
    """Everything a check imports, imported here first: an in-process pytester run removes the modules first imported
    during the run, and numpy's C core cannot be imported twice in one process."""
    from gradcheck_cli import pytest_plugin
    from gradcheck_cli.files.format import Line
    from gradcheck_cli.files.runner import check_unit

    settings = pytest_plugin.settings_from(pytest_plugin.DEFAULT_SAMPLES, pytest_plugin.DEFAULT_SEED, exact=True)
    cases = check_unit(Line("warm.gc", 1, "sigma(x) @ x=1 => dx=2"), settings)
    cases += check_unit(Line("warm.gc.py", 1, WRONG_PROGRAM, kind="program"), settings)
    pytest_plugin.failure_text(cases)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest(*PLUGIN_ARGS, *args)


def write(pytester: pytest.Pytester, name: str, text: str) -> Path:
    path = pytester.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def failure_texts(reprec) -> list[str]:
    return [report.longreprtext for report in reprec.getreports("pytest_runtest_logreport") if report.failed]


def collected(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if "::" in line]


def test_one_right_one_wrong_case(pytester: pytest.Pytester):
    write(pytester, "cases/right.gc", RIGHT)
    write(pytester, "cases/wrong.gc", WRONG)
    result = run(pytester, "cases")
    result.assert_outcomes(passed=1, failed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED cases/wrong.gc::2: x*y @ x=-2, y=3 - *", "*1 failed, 1 passed*"])


def test_failure_message_is_the_case_table_without_colour(pytester: pytest.Pytester, monkeypatch):
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich would colour its tables if the plugin let it
    write(pytester, "cases/wrong.gc", WRONG)
    reprec = pytester.inline_run(*PLUGIN_ARGS, "cases")
    reprec.assertoutcome(failed=1)
    [text] = failure_texts(reprec)
    lines = text.splitlines()
    assert lines[0] == "cases/wrong.gc:2: mismatch: dx: claimed dx = 2 but exact is 3"  # FILE:LINE first
    assert any(line.startswith("│ x ") and "✗ mismatch" in line for line in lines)  # the verdict table's row for x
    assert any(line.startswith("│ y ") and "✓ pass" in line for line in lines)
    assert "reproduce: gradcheck eval 'x*y' --at x=-2,y=3 --expect dx=2" in text
    assert "\x1b" not in text and "Traceback" not in text


def test_malformed_line_is_one_line_error_with_caret(pytester: pytest.Pytester):
    write(pytester, "bad.gc", "x*y @ x=1, y=2 => dz=3\n")
    result = run(pytester)
    result.assert_outcomes(failed=1)
    output = result.stdout.str()
    result.stdout.fnmatch_lines([
        "bad.gc:1:19: claim 'dz' names no variable of the expression*",
        "  x*y @ x=1, y=2 => dz=3",
        "                    ^",
    ])
    assert "Traceback" not in output and "gradcheck_cli" not in output and "pytest_plugin.py" not in output


def test_unreadable_file_is_one_failing_item(pytester: pytest.Pytester):
    (pytester.path / "binary.gc").write_bytes(b"x*y @ x=1, y=2\n\0\0\0")
    result = run(pytester, "-rf")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["binary.gc: not a text file (contains NUL bytes)", "FAILED binary.gc::file*"])


def test_k_selects_by_expression_file_and_line(pytester: pytest.Pytester):
    write(pytester, "a.gc", "".join(f"x*{k} @ x=1\n" for k in range(1, 10)) + "sigma(x) @ x=0.5\ntanh(x) @ x=0.5\n")
    write(pytester, "b.gc", "sigma(y) @ y=2; y=3\n")
    by_expression = collected(run(pytester, "--collect-only", "-q", "-k", "sigma"))
    assert by_expression == ["a.gc::10: sigma(x) @ x=0.5", "b.gc::1: sigma(y) @ y=2", "b.gc::1: sigma(y) @ y=3"]
    assert collected(run(pytester, "--collect-only", "-q", "-k", "b.gc")) == by_expression[1:]
    assert collected(run(pytester, "--collect-only", "-q", "-k", "a.gc:11")) == ["a.gc::11: tanh(x) @ x=0.5"]
    assert collected(run(pytester, "--collect-only", "-q", "-k", "a.gc:1")) == [  # -k matches substrings: 1, 10, 11
        "a.gc::1: x*1 @ x=1", "a.gc::10: sigma(x) @ x=0.5", "a.gc::11: tanh(x) @ x=0.5"]
    assert collected(run(pytester, "--collect-only", "-q", "-k", "a.gc:1:")) == ["a.gc::1: x*1 @ x=1"]
    assert collected(run(pytester, "--collect-only", "-q", "-k", "sigma and not b.gc")) == by_expression[:1]
    result = run(pytester, "-k", "tanh")
    result.assert_outcomes(passed=1, deselected=12)


def test_program_file_fails_naming_its_wrong_line(pytester: pytest.Pytester):
    write(pytester, "net.gc.py", WRONG_PROGRAM)
    reprec = pytester.inline_run(*PLUGIN_ARGS, "net.gc.py")  # named on the command line: never imported as Python
    reprec.assertoutcome(failed=1)
    [report] = [r for r in reprec.getreports("pytest_runtest_logreport") if r.failed]
    assert report.nodeid == "net.gc.py::program"
    lines = report.longreprtext.splitlines()
    assert lines[0].startswith("net.gc.py:7: mismatch: line 7 (db = df * f) is wrong")
    assert any("│    7 │ db = df * f" in line and "✗ wrong" in line for line in lines)  # the line-by-line table
    assert "reproduce: gradcheck eval @net.gc.py" in report.longreprtext
    assert not reprec.getfailedcollections()
    run(pytester, "--doctest-modules", "-o", "python_files=*.py").assert_outcomes(failed=1, errors=0)


def test_right_program_and_random_points_pass(pytester: pytest.Pytester):
    write(pytester, "net.gc.py", WRONG_PROGRAM.replace("db = df * f\n", "db = df * f * (1 - f)\n"))
    write(pytester, "formulas.gc", "log(x) => dx = 1/x\nlog(x) => dx = 1/x**2\n")
    result = run(pytester, "-rf")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["FAILED formulas.gc::2: log(x) - formulas.gc:2: mismatch: *"])


def test_collect_only_lists_cases_without_checking_them(pytester: pytest.Pytester, monkeypatch):
    import gradcheck_cli.files.runner as runner

    checked = []
    real = runner.check_unit
    monkeypatch.setattr(runner, "check_unit", lambda unit, settings: checked.append(unit.number) or real(unit, settings))
    write(pytester, "cases.gc", "# three lines, five cases\nx*y @ x=1, y=2; x=3, y=4; x=1, y=2\nexp(x)\n"
                                "def g(t) = t*t\nd g/dt = 2*t\ng(x) @ x=3 => dx=6\n")
    result = run(pytester, "--collect-only", "-q")
    assert collected(result) == ["cases.gc::2: x*y @ x=1, y=2 #1", "cases.gc::2: x*y @ x=3, y=4",
                                 "cases.gc::2: x*y @ x=1, y=2 #3", "cases.gc::3: exp(x)", "cases.gc::6: g(x) @ x=3"]
    assert checked == []
    run(pytester).assert_outcomes(passed=5)
    assert checked == [2, 3, 6]  # the items of one line share its check: its points run as one batch


def test_a_bug_in_a_check_is_one_failing_item_without_traceback(pytester: pytest.Pytester, monkeypatch):
    import gradcheck_cli.files.runner as runner

    def broken(unit, settings):
        raise RuntimeError("boom")

    monkeypatch.setattr(runner, "check_unit", broken)
    write(pytester, "cases.gc", RIGHT + RIGHT)
    result = run(pytester)
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["cases.gc::1: x*y @ x=-2, y=3: internal error, please report: RuntimeError: boom"])
    assert "Traceback" not in result.stdout.str() and "def broken" not in result.stdout.str()


def test_strict_fails_kinks(pytester: pytest.Pytester):
    write(pytester, "kink.gc", "relu(x) @ x=0\n")
    run(pytester).assert_outcomes(passed=1)
    result = run(pytester, "--gradcheck-strict")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["kink.gc:1: kink: *"])


def test_samples_out_of_range_is_a_usage_error(pytester: pytest.Pytester):
    result = run(pytester, "--gradcheck-samples", "0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--gradcheck-samples 0: must be in 1..1,000*"])


def test_defaults_are_gradcheck_checks():
    from gradcheck_cli import pytest_plugin
    from gradcheck_cli.cli.check import check_command
    from gradcheck_cli.files import format as batch

    defaults = check_command.make_context("check", ["cases.gc"]).params  # every option at its default
    settings = pytest_plugin.settings_from(pytest_plugin.DEFAULT_SAMPLES, pytest_plugin.DEFAULT_SEED, exact=True)
    options = settings.options
    assert (settings.samples, settings.seed) == (defaults["samples"], defaults["seed"])
    assert (options.exact_method, options.exact_timeout, options.h) == (defaults["exact_method"], defaults["exact_timeout"], defaults["h"])
    assert (options.tolerances.rtol, options.tolerances.atol) == (defaults["rtol"], defaults["atol"])
    assert not defaults["strict"] and not defaults["no_exact"]
    assert (pytest_plugin.EXPRESSION_SUFFIX, pytest_plugin.PROGRAM_SUFFIX) == (batch.EXTENSION, batch.PROGRAM_EXTENSION)


# --- subprocess runs: the entry point, pytest-xdist ---------------------------------------------------------------

@pytest.fixture
def entry_point(pytester: pytest.Pytester, monkeypatch, tmp_path_factory) -> None:
    """A dist-info that declares `gradcheck = gradcheck_cli.pytest_plugin` under pytest11, and this worktree, first
    on the subprocess's path (an installed entry point of the same name is then skipped by pluggy as registered)."""
    site = tmp_path_factory.mktemp("site")
    info = site / "gradcheck_entry_point_probe-0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gradcheck-entry-point-probe\nVersion: 0\n")
    (info / "entry_points.txt").write_text("[pytest11]\ngradcheck = gradcheck_cli.pytest_plugin\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(site), str(REPO), os.environ.get("PYTHONPATH")])))


def test_plain_pytest_collects_through_the_entry_point(pytester: pytest.Pytester, entry_point):
    write(pytester, "cases/right.gc", RIGHT)
    write(pytester, "cases/wrong.gc", WRONG)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    disabled = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:gradcheck")
    assert disabled.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    disabled.stdout.fnmatch_lines(["*no tests ran*"])


def test_xdist_gives_the_same_counts(pytester: pytest.Pytester, entry_point):
    pytest.importorskip("xdist")
    for k in range(4):
        write(pytester, f"cases/f{k}.gc", RIGHT + WRONG + f"sigma(x) @ x={k}; x={k + 1}\nlog(x) => dx = 1/x\n")
    write(pytester, "cases/net.gc.py", WRONG_PROGRAM)
    serial = pytester.runpytest_subprocess("-p", "no:cacheprovider", "cases")
    serial.assert_outcomes(passed=16, failed=5)
    parallel = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "cases")
    parallel.stdout.fnmatch_lines(["*2 workers*"])
    parallel.assert_outcomes(passed=16, failed=5)
    parallel.stdout.fnmatch_lines(["*net.gc.py:7: mismatch*"])  # failure messages travel back from the workers
