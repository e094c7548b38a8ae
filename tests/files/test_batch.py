"""`gradcheck check`: the .gc file format, its errors, the report formats, exit codes, seeds and --jobs."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from gradcheck_cli.cli import check as batch_cli
from gradcheck_cli.cli.main import main
from gradcheck_cli.expression.check import Options
from gradcheck_cli.files import format as batch
from gradcheck_cli.files import runner
from gradcheck_cli.report import ci
from gradcheck_cli.report import text as formats

FAST = batch.Settings(Options(exact=False))

MIXED = """\
# good lines, a wrong claim, a malformed line and a kink
(x+y)*z @ x=-2, y=5, z=-4 => dx=-4, dy=-4, dz=3   # the seed's circuit
x*y @ x=-2, y=3 => dx=3, dy=-3                    # wrong: dy is x = -2

sigma(x) => dx = sigma(x)*(1 - sigma(x))
relu(x) @ x=0
sigmoidd(x) @ x=1
x*y @ x=1, y=2; x=3, y=4
"""
MIXED_STATUSES = ["pass", "mismatch"] + ["pass"] * 5 + ["kink", "error", "pass", "pass"]
MIXED_LINES = [2, 3] + [5] * 5 + [6, 7, 8, 8]


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def write(tmp_path: Path, name: str, text: str | bytes) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return str(path)


def check_json(*args: str) -> tuple[int, dict]:
    code, out, _ = run(*args, "--format", "json")
    return code, json.loads(out)


def one(text: str, settings: batch.Settings = FAST) -> list[batch.FileCase]:
    return batch.check_line(batch.Line("f.gc", 3, text), settings)


# --- the grammar -----------------------------------------------------------------------------------------

def test_split_line_finds_every_piece_with_its_column():
    parts = batch.split_line("(x+y)*z @ x=-2, y=5 ; z=1 => dx=1, dy=x  # note => @ ;")
    assert parts.expr == batch.Piece("(x+y)*z", 0)
    assert [(p.text.strip(), p.offset) for p in parts.points] == [("x=-2, y=5", 9), ("z=1", 21)]
    assert parts.claims.text.strip() == "dx=1, dy=x" and parts.claims.offset == 28


@pytest.mark.parametrize("text", ["", "   ", "# only a comment", "   # indented comment", "\t"])
def test_blank_and_comment_lines_hold_no_case(text):
    assert batch.split_line(text) is None
    assert one(text) == []


def test_a_line_without_point_or_claims_is_sampled():
    parts = batch.split_line("tanh(x) # comment")
    assert parts.points == () and parts.claims is None
    cases = one("tanh(x)")
    assert len(cases) == FAST.samples and all(c.case.status == "pass" for c in cases)


def test_a_constant_expression_needs_no_point():
    (checked,) = one("2*pi")
    assert checked.case.status == "pass" and checked.case.point == {}
    assert checked.case.value == pytest.approx(2 * 3.141592653589793)


def test_several_points_on_one_line_come_out_in_order():
    cases = one("x*y @ x=1, y=2; x=3, y=4;x=5,y=6 => dx=y")
    assert [c.case.point for c in cases] == [{"x": 1, "y": 2}, {"x": 3, "y": 4}, {"x": 5, "y": 6}]
    assert all(c.case.source == "f.gc:3" and c.line == 3 for c in cases)


@pytest.mark.parametrize("text, column, fragment", [
    ("x*y @", 6, "no point after '@'"),
    ("x*y @ x=1, y=2;", 16, "empty point (stray ';')"),
    ("x*y @ x=1, y=2;; x=2, y=1", 16, "empty point"),
    ("x*y @ x=1, y=2 =>   # nothing claimed", 16, "no claims after '=>'"),
    ("@ x=1", 1, "no expression before '@'"),
    ("  => dx=1", 3, "no expression before '=>'"),
    ("x @ x=1 @ x=2", 9, "more than one '@'"),
    ("x => dx=1 => dx=2", 11, "more than one '=>'"),
    ("x => dx=1 @ x=2", 11, "'@' after '=>'"),
    ("sigmoidd(x) @ x=1", 1, "unknown function 'sigmoidd'"),
    ("  x ^ 2 @ x=1", 5, "use '**' for powers"),
    ("x*y @ x=1, q=2", 12, "'q' is not a variable of the expression"),
    ("x*y @ x=1", 10, "no value for 'y'"),
    ("x*y @ x=1, x=2, y=3", 12, "'x' is given twice"),
    ("x @ x=one", 7, "point values must be constants"),
    ("x @ x=1 => dy=2", 12, "claim 'dy' names no variable"),
    ("x @ x=1 => dx=1, dx=2", 18, "'dx' is claimed twice"),
    ("x @ x=1 => dx=sigmoidd(x)", 15, "unknown function 'sigmoidd'"),
    ("x @ x=1 => dx=y", 15, "uses 'y', which is not a variable"),
    ("x => f=2", 6, "a value claim (f=...) needs a point"),
    ("x @ x=1 => f=y", 14, "uses 'y', which is not a variable"),  # f= may be a formula in the variables now
    ("x @ x=1 => f=1, f=2", 17, "'f' is claimed twice"),
    ("log(x - 10) => dx = 1/(x - 10)", 1, "no usable point"),
])
def test_each_malformed_line_is_an_error_case_with_its_column(text, column, fragment):
    (checked,) = one(text)
    case = checked.case
    assert case.status == "error" and case.source == "f.gc:3" and case.point == {}
    assert case.message.startswith(f"f.gc:3:{column}: "), case.message
    assert fragment in case.message
    assert checked.column == column and checked.caret.splitlines()[1].index("^") - 2 == column - 1


def test_value_claims_are_judged():
    (good,) = one("x*y @ x=2, y=3 => f=6, dx=3")
    (bad,) = one("x*y @ x=2, y=3 => dx=3, f=7")
    assert good.case.status == "pass"
    assert bad.case.status == "mismatch" and "claimed f = 7 but f is 6" in bad.case.message


def test_a_runtime_problem_is_an_error_case_of_that_point_only():
    cases = one("log(x) @ x=-1; x=2")
    assert [c.case.status for c in cases] == ["error", "pass"]
    assert "log needs an argument > 0" in cases[0].case.message


# --- files ---------------------------------------------------------------------------------------------------

def test_mixed_file_every_line_gives_a_result_and_the_rest_still_runs(tmp_path):
    path = write(tmp_path, "mixed.gc", MIXED)
    code, data = check_json(path, "--no-exact")
    assert code == 1
    assert [c["status"] for c in data["cases"]] == MIXED_STATUSES
    assert [c["source"] for c in data["cases"]] == [f"{path}:{n}" for n in MIXED_LINES]
    assert data["summary"] == {"total": 11, "pass": 8, "kink": 1, "inconclusive": 0, "mismatch": 1, "error": 1}
    assert data["cases"][8]["message"].startswith(f"{path}:7:1: unknown function 'sigmoidd'")


def test_directories_are_searched_recursively_for_gc_files_in_sorted_order(tmp_path):
    write(tmp_path, "b.gc", "x @ x=1\n")
    write(tmp_path, "a/z.gc", "x*2 @ x=1\n")
    write(tmp_path, "a/notes.txt", "not an expression file\n")
    write(tmp_path, ".hidden/c.gc", "this is skipped\n")
    code, data = check_json(str(tmp_path), "--no-exact")
    assert code == 0
    assert [c["source"] for c in data["cases"]] == [str(tmp_path / "a" / "z.gc") + ":1", str(tmp_path / "b.gc") + ":1"]


def test_crlf_and_byte_order_mark_do_not_shift_columns(tmp_path):
    path = write(tmp_path, "dos.gc", b"\xef\xbb\xbfx*y @ x=1, y=2\r\nx*y @ x=1, q=2\r\n")
    _, data = check_json(path, "--no-exact")
    assert [c["status"] for c in data["cases"]] == ["pass", "error"]
    assert data["cases"][1]["message"].startswith(f"{path}:2:12: ")


def test_invalid_utf8_lines_are_reported_and_the_decodable_lines_still_run(tmp_path):
    path = write(tmp_path, "latin1.gc", b"x @ x=1\nx*\xe9 @ x=1\nx*2 @ x=2\n")
    code, data = check_json(path, "--no-exact")
    assert code == 1
    assert [c["status"] for c in data["cases"]] == ["pass", "error", "pass"]
    assert data["cases"][1]["message"].startswith(f"{path}:2:3: invalid UTF-8")


def test_a_binary_file_is_reported_by_name_and_other_files_still_run(tmp_path):
    binary = write(tmp_path, "blob.gc", b"x @ x=1\0\1\2")
    good = write(tmp_path, "good.gc", "x @ x=1\n")
    code, data = check_json(binary, good, "--no-exact")
    assert code == 1
    assert data["cases"][0]["source"] == binary and data["cases"][0]["status"] == "error"
    assert "not a text file" in data["cases"][0]["message"] and binary in data["cases"][0]["message"]
    assert data["cases"][1]["status"] == "pass"


def test_a_missing_path_is_reported_by_name(tmp_path):
    good = write(tmp_path, "good.gc", "x @ x=1\n")
    missing = str(tmp_path / "missing.gc")
    code, data = check_json(missing, good, "--no-exact")
    assert code == 1
    assert data["cases"][0]["message"] == f"{missing}: no such file or directory"


@pytest.mark.parametrize("setup", ["missing", "empty_dir", "comments_only", "binary"])
def test_exit_2_only_when_nothing_could_be_checked(tmp_path, setup):
    paths = {
        "missing": lambda: str(tmp_path / "nope.gc"),
        "empty_dir": lambda: str(tmp_path),
        "comments_only": lambda: write(tmp_path, "c.gc", "# nothing yet\n\n"),
        "binary": lambda: write(tmp_path, "b.gc", b"\0\0"),
    }
    code, out, err = run(paths[setup](), "--no-exact")
    assert code == 2
    assert err.startswith("gradcheck: nothing to check")
    assert "Traceback" not in out + err


def test_a_file_of_only_malformed_lines_fails_with_1_not_2(tmp_path):
    code, data = check_json(write(tmp_path, "bad.gc", "x @\n"), "--no-exact")
    assert code == 1 and data["cases"][0]["status"] == "error"


# --- exit codes ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, strict, expected", [
    ("x*y @ x=1, y=2 => dx=2\n", False, 0),
    ("relu(x) @ x=0\n", False, 0),
    ("relu(x) @ x=0\n", True, 1),
    ("x*y @ x=1, y=2 => dx=3\n", False, 1),
    ("x*y @ x=1\n", False, 1),
])
def test_exit_codes_follow_eval(tmp_path, text, strict, expected):
    args = [write(tmp_path, "t.gc", text), "--no-exact"] + (["--strict"] if strict else [])
    assert run(*args)[0] == expected


def test_bad_options_exit_2(tmp_path):
    path = write(tmp_path, "t.gc", "x @ x=1\n")
    assert run(path, "--samples", "0")[0] == 2
    assert run(path, "--format", "xml")[0] == 2
    assert run(path, "--h", "-1")[0] == 2
    code, _, err = run(path, "--output", str(tmp_path / "no" / "such" / "dir.json"))
    assert code == 2 and "cannot write --output" in err


# --- output formats ------------------------------------------------------------------------------------------

def test_json_keeps_the_eval_schema_with_file_line_sources(tmp_path):
    path = write(tmp_path, "t.gc", "x*y @ x=2, y=3 => dx=3\nsigma(x)\n")
    code, data = check_json(path, "--samples", "2")
    assert code == 0 and data["schema"] == "gradcheck/1"
    first = data["cases"][0]
    assert first["source"] == f"{path}:1" and first["point"] == {"x": 2.0, "y": 3.0} and first["value"] == 6.0
    assert [g["var"] for g in first["gradients"]] == ["x", "y"]
    assert first["gradients"][0]["expected"] == 3.0 and first["gradients"][0]["exact"] == 3.0
    assert {"analytic", "forward", "centered", "exact", "rel_error", "status"} <= set(first["gradients"][0])
    assert [c["source"] for c in data["cases"][1:]] == [f"{path}:2"] * 2
    assert all(set(c["point"]) == {"x"} for c in data["cases"][1:])


def test_junit_parses_back_with_one_suite_per_file_and_the_right_counts(tmp_path):
    mixed = write(tmp_path, "mixed.gc", MIXED)
    good = write(tmp_path, "good.gc", "x @ x=1\n")
    report = tmp_path / "report.xml"
    code, out, _ = run(mixed, good, "--no-exact", "--format", "junit", "--output", str(report))
    assert code == 1
    root = ET.parse(report).getroot()
    assert root.tag == "testsuites" and (root.get("tests"), root.get("failures"), root.get("errors")) == ("12", "1", "1")
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [mixed, good]
    assert [(s.get("tests"), s.get("failures"), s.get("errors")) for s in suites] == [("11", "1", "1"), ("1", "0", "0")]
    cases = suites[0].findall("testcase")
    assert cases[1].get("name") == "line 3: x*y @ x=-2, y=3" and cases[1].get("line") == "3"
    assert cases[1].find("failure").get("type") == "mismatch"
    assert "reproduce: gradcheck eval 'x*y' --at x=-2,y=3 --expect 'dx=3, dy=-3'" in cases[1].find("failure").text
    assert cases[8].find("error").get("message").startswith(f"{mixed}:7:1: unknown function")
    kink = cases[7]
    assert kink.find("failure") is None and kink.find("skipped") is None
    assert kink.find("properties/property[@name='gradcheck.status']").get("value") == "kink"
    assert "12 cases: 9 pass, 1 kink, 1 mismatch, 1 error" in out  # the short summary still reaches the terminal


def test_junit_strict_turns_kinks_into_failures(tmp_path):
    path = write(tmp_path, "k.gc", "relu(x) @ x=0\nx @ x=1\n")
    _, out, _ = run(path, "--no-exact", "--format", "junit", "--strict")
    suite = ET.fromstring(out).find("testsuite")
    assert suite.get("failures") == "1" and suite.find("testcase/failure").get("type") == "kink"


def test_junit_survives_control_characters_from_a_broken_line(tmp_path):
    path = write(tmp_path, "ctl.gc", "x\x01 @ x=1\n")
    _, out, _ = run(path, "--no-exact", "--format", "junit")
    assert ET.fromstring(out).get("errors") == "1"


def test_github_annotations(tmp_path):
    path = write(tmp_path, "mixed.gc", MIXED)
    code, out, _ = run(path, "--no-exact", "--format", "github")
    lines = out.splitlines()
    assert code == 1
    assert lines[0].startswith(f"::error file={path},line=3,title=gradcheck mismatch::x*y at x=-2, y=3: dy: claimed dy = -3")
    assert "%0Areproduce: gradcheck eval" in lines[0]
    assert lines[1].startswith(f"::warning file={path},line=6,title=gradcheck kink::relu(x) at x=0: dx: kink")
    assert lines[2].startswith(f"::error file={path},line=7,col=1,title=gradcheck error::{path}:7:1: unknown function")
    assert lines[3] == "11 cases: 8 pass, 1 kink, 1 mismatch, 1 error"
    assert len(lines) == 4


def test_github_escapes_properties_and_newlines():
    assert ci.escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"


def test_table_lists_every_case_then_details_of_failures_then_the_summary(tmp_path):
    path = write(tmp_path, "mixed.gc", MIXED)
    code, out, _ = run(path, "--no-exact")
    assert code == 1
    assert out.count(f"{path}:5") == 5  # one row per sampled point
    assert "reproduce: gradcheck eval 'x*y' --at x=-2,y=3 --expect 'dx=3, dy=-3'" in out
    assert "sigmoidd(x) @ x=1\n" in out and "  ^" in out  # the malformed line with its caret
    summary = out.rstrip().splitlines()[-5:]  # the counts, then the failing lines again, the first reproduce command
    assert summary[0].startswith("11 cases: 8 pass, 1 kink, 1 mismatch, 1 error in ")
    assert summary[1:] == ["2 failing lines:", f"  {path}:3  ✗ mismatch",
                           "    reproduce: gradcheck eval 'x*y' --at x=-2,y=3 --expect 'dx=3, dy=-3'", f"  {path}:7  ✗ error"]


def test_output_file_gets_the_report_and_the_terminal_a_short_summary(tmp_path):
    path = write(tmp_path, "mixed.gc", MIXED)
    report = tmp_path / "out.json"
    code, out, _ = run(path, "--no-exact", "--format", "json", "--output", str(report))
    assert code == 1
    assert json.loads(report.read_text())["summary"]["total"] == 11
    assert out.splitlines()[0].startswith(f"{path}:3: mismatch: dy: claimed dy = -3")
    assert out.splitlines()[1].startswith(f"{path}:7:1: unknown function 'sigmoidd'")
    assert out.splitlines()[-1].startswith("11 cases:") and len(out.splitlines()) == 3


# --- random points -----------------------------------------------------------------------------------------

def sampled(text: str, seed: int, samples: int = 5) -> list[dict[str, float]]:
    settings = batch.Settings(Options(exact=False), samples, seed)
    return [c.case.point for c in batch.check_line(batch.Line("f.gc", 1, text), settings)]


def test_random_points_are_reproducible_per_seed_and_line_text():
    first = sampled("x*y + sin(z) => dx = y", seed=0)
    assert len(first) == 5 and first == sampled("x*y + sin(z) => dx = y", seed=0)
    assert first != sampled("x*y + sin(z) => dx = y", seed=1)
    assert all(-3 <= v <= 3 and round(v, 4) == v for p in first for v in p.values())
    assert sampled("x*y + sin(z) => dx = y", seed=0, samples=2) == first[:2]


def test_random_points_do_not_move_when_other_lines_are_added(tmp_path):
    line = "tanh(x*y) => dx = y*(1 - tanh(x*y)**2)\n"
    _, alone = check_json(write(tmp_path, "a.gc", line), "--no-exact", "--seed", "7")
    _, shifted = check_json(write(tmp_path, "b.gc", "x @ x=1\n# note\n" + line), "--no-exact", "--seed", "7")
    assert [c["point"] for c in alone["cases"]] == [c["point"] for c in shifted["cases"][1:]]


def test_random_points_avoid_non_finite_values_and_kinks():
    points = sampled("log(x) + sqrt(y) + relu(x*y - 1) => dx = 1/x", seed=3, samples=20)
    assert len(points) == 20 and all(p["x"] > 0 and p["y"] > 0 and p["x"] * p["y"] != 1 for p in points)
    claim_points = sampled("x => dx = 1 + 0*log(x)", seed=0, samples=20)  # the claim is finite only where x > 0
    assert len(claim_points) == 20 and all(p["x"] > 0 for p in claim_points)


def test_points_on_a_tie_are_used_when_nothing_else_works():
    cases = batch.check_line(batch.Line("f.gc", 1, "max(x, x) + relu(y - y)"), FAST)  # every point ties
    assert len(cases) == 5 and all(c.case.status == "pass" for c in cases)


def test_a_sampled_point_reproduces_with_eval(tmp_path):
    (checked, *_) = batch.check_line(batch.Line("f.gc", 1, "sigma(x)*tanh(y) => dx = 1"), FAST)
    assert checked.case.status == "mismatch"
    command = formats.reproduce(checked)
    assert command.startswith("gradcheck eval 'sigma(x)*tanh(y)' --at x=") and command.endswith("--expect 'dx = 1'")
    at = formats.point_argument(checked.case.point)
    result = CliRunner().invoke(main, ["eval", "sigma(x)*tanh(y)", "--at", at, "--expect", "dx = 1", "--format", "json", "--no-exact"])
    again = json.loads(result.stdout)["cases"][0]
    assert result.exit_code == 1 and again["value"] == checked.case.value
    assert [g["analytic"] for g in again["gradients"]] == [g.analytic for g in checked.case.gradients]


# --- --jobs and progress -----------------------------------------------------------------------------------

def test_jobs_2_gives_the_same_results_in_the_same_order_as_jobs_1(tmp_path):
    lines = MIXED + "".join(f"tanh(x*{k}) + y**2 @ x=0.{k}, y={k}\n" for k in range(1, 9)) + "exp(x)*y => dy = exp(x)\n"
    path = write(tmp_path, "many.gc", lines)
    code1, one_job = check_json(path, "--jobs", "1", "--samples", "3")
    code2, two_jobs = check_json(path, "--jobs", "2", "--samples", "3")
    assert code1 == code2 == 1
    assert one_job == two_jobs
    assert len(one_job["cases"]) == 11 + 8 + 3 - 2  # MIXED with 3 samples instead of 5


def test_jobs_1_does_not_start_processes(monkeypatch):
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "get_context", lambda *a: pytest.fail("a process pool was started"))
    units = [batch.Line("f.gc", n, f"x*{n} @ x=1") for n in range(1, 4)]
    assert [c.case.status for c in runner.run(units, FAST, jobs=1)] == ["pass"] * 3


def test_jobs_0_the_default_keeps_a_short_run_in_this_process_and_a_long_one_on_every_cpu(monkeypatch):
    started = []
    monkeypatch.setattr(runner.os, "cpu_count", lambda: 3)

    class Recording(runner._Pool):
        def __init__(self, settings, jobs):
            started.append(jobs)
            super().__init__(settings, jobs)

    monkeypatch.setattr(runner, "_Pool", Recording)
    short = [batch.Line("f.gc", n, f"x*{n} @ x=1") for n in range(1, runner.SMALL_RUN + 1)]
    assert [c.line for c in runner.run(iter(short), FAST, jobs=0)] == list(range(1, runner.SMALL_RUN + 1))
    assert started == []
    long = [*short, batch.Line("f.gc", runner.SMALL_RUN + 1, "x*y @ x=1, y=2")]
    assert [c.line for c in runner.run(iter(long), FAST, jobs=0)] == list(range(1, runner.SMALL_RUN + 2))
    assert started == [2]  # a worker per 64 lines
    longer = [batch.Line("f.gc", n, f"x*{n} @ x=1") for n in range(1, 4 * runner.SMALL_RUN + 1)]
    assert [c.line for c in runner.run(iter(longer), FAST, jobs=0)] == list(range(1, 4 * runner.SMALL_RUN + 1))
    assert started == [2, 3]  # up to one per CPU
    assert check_command_default_jobs() == 0


def check_command_default_jobs() -> int:
    from gradcheck_cli.cli.check import check_command

    return next(p.default for p in check_command.params if p.name == "jobs")


@pytest.mark.parametrize("tty, ci, lines, shown", [
    (True, None, 50, True), (True, "true", 50, False), (True, "1", 50, False),
    (False, None, 50, False), (True, None, 3, False), (True, "false", 50, True),
])
def test_progress_only_for_a_terminal_outside_ci_on_bigger_runs(monkeypatch, tty, ci, lines, shown):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: tty, raising=False)
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    assert batch_cli._show_progress(lines) is shown


def test_the_progress_bar_is_drawn_now_and_then_not_per_line(monkeypatch):
    """Drawing it per line doubled the time of a run at a terminal (20,000 lines: 11.9 s, 6.1 s without)."""
    monkeypatch.setattr(batch_cli, "_show_progress", lambda lines: True)
    bar, advance = batch_cli._progress(lambda: iter(range(5000)), no_bar=False)
    drawn = []
    monkeypatch.setattr(bar, "refresh", lambda: drawn.append(bar.tasks[0].completed))
    with bar:
        for _ in range(5000):
            advance(None)
    assert drawn[0] == 1 and drawn[-1] == 5000  # the first line, then every REDRAW seconds, and the last
    assert len(drawn) <= 2 + 20, "5,000 lines in under 2 s: drawn more often than every 0.1 s"


def test_piped_run_writes_nothing_but_the_report_and_never_imports_sympy_without_exact(tmp_path):
    path = write(tmp_path, "t.gc", "".join(f"x*{k} @ x=1\n" for k in range(20)))
    code = ("import sys; from gradcheck_cli.cli.main import main; "
            "sys.argv = ['gradcheck', 'check', sys.argv[1], '--no-exact', '--format', 'json']\n"
            "try:\n    main()\nexcept SystemExit as e:\n    assert 'sympy' not in sys.modules; raise")
    done = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, env={**os.environ, "CI": ""})
    assert done.returncode == 0 and done.stderr == ""
    assert json.loads(done.stdout)["summary"]["pass"] == 20


def test_help_imports_neither_numpy_nor_sympy():
    code = ("import sys; from gradcheck_cli.cli.main import main\n"
            "try:\n    main(['check', '--help'])\nexcept SystemExit:\n    pass\n"
            "assert 'numpy' not in sys.modules and 'sympy' not in sys.modules, sorted(sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "--samples" in done.stdout and "--jobs" in done.stdout


def test_pre_commit_hook_runs_the_check_command_on_gc_files():
    text = (Path(__file__).resolve().parents[2] / ".pre-commit-hooks.yaml").read_text()
    assert re.search(r"^- id: gradcheck$", text, re.M)
    assert re.search(r"^\s+entry: gradcheck check$", text, re.M)
    files = re.compile(re.search(r"^\s+files: '(.*)'$", text, re.M).group(1))
    assert [bool(files.search(p)) for p in ("a.gc", "d/b.gc.py", "c.py", "x.gcx", "notes.txt")] == [True, True, False, False, False]


def test_a_gate_without_a_rule_fails_only_the_lines_that_call_it(tmp_path):
    path = tmp_path / "gates.gc"
    path.write_text("def sq(t) = t*t\n\nx*y @ x=1, y=2\nsq(x) @ x=3\n")
    result = CliRunner().invoke(main, ["check", str(path), "--format", "json"])
    cases = {c["source"].rsplit(":", 1)[1]: c for c in json.loads(result.stdout)["cases"]}
    assert cases["3"]["status"] == "pass"
    assert cases["4"]["status"] == "error" and "gate 'sq' has no derivative rule" in cases["4"]["message"]


def test_a_line_that_calls_a_files_gate_is_reproduced_with_check_not_eval(tmp_path):
    path = tmp_path / "gates.gc"
    path.write_text("def sq(t) = t*t\nd sq/dt = 3*t\n\nx*y @ x=1, y=2\nsq(x) @ x=3\n")
    result = CliRunner().invoke(main, ["check", str(path)], env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 1
    assert f"reproduce: gradcheck check {path}   (line 5 uses the file's gates: sq)" in result.stdout


# --- standard input ------------------------------------------------------------------------------------

def test_check_dash_reads_gc_lines_from_standard_input_in_every_format(cli, tmp_path):
    """`generate | gradcheck check -`: lines are <stdin>:N in every report, errors located, the exit code the same."""
    text = "x*y @ x=1, y=2\n\nsigmoidd(x) @ x=1\nx*y @ x=1, y=2 => dx=3\n"
    table = cli("check", "-", input=text)
    assert table.exit_code == 1, table.output
    assert "<stdin>:3:1: unknown function 'sigmoidd'" in table.stdout and "<stdin>:4  ✗ mismatch" in table.stdout
    report = json.loads(cli("check", "-", "--format", "json", "--junit", str(tmp_path / "j.xml"), input=text).stdout)
    assert [(c["source"], c["status"]) for c in report["cases"]] == [("<stdin>:1", "pass"), ("<stdin>:3", "error"),
                                                                   ("<stdin>:4", "mismatch")]
    junit = ET.parse(tmp_path / "j.xml").getroot()
    assert junit.get("tests") == "3" and junit.get("failures") == "1" and junit.get("errors") == "1"
    github = cli("check", "-", "--format", "github", input=text).stdout
    assert github.splitlines()[1].startswith("::error line=4,title=gradcheck mismatch::x*y at x=1, y=2: dx:")  # no file=


def test_check_dash_with_files_and_twice(cli, tmp_path):
    (tmp_path / "a.gc").write_text("x**2 @ x=3\n")
    both = json.loads(cli("check", str(tmp_path / "a.gc"), "-", "-", "--format", "json", input="x*y @ x=1, y=2\n").stdout)
    assert [(c["source"], c["status"]) for c in both["cases"]] == [
        (f"{tmp_path / 'a.gc'}:1", "pass"), ("<stdin>:1", "pass"), ("-", "error")]
    assert both["cases"][2]["message"] == "-: standard input is named twice; it is read once"
    empty = cli("check", "-", input="")
    assert empty.exit_code == 2 and "nothing to check" in empty.stderr


def test_check_dash_from_a_real_pipe_with_workers():
    """A real pipe into two worker processes: every line once, in order."""
    lines = "".join(f"x*{k} + y @ x=1, y=2\n" for k in range(40))
    done = subprocess.run([sys.executable, "-m", "gradcheck_cli", "check", "-", "-j", "2", "--format", "json", "--no-exact"],
                          input=lines, capture_output=True, text=True, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 0, done.stderr
    cases = json.loads(done.stdout)["cases"]
    assert [c["source"] for c in cases] == [f"<stdin>:{k + 1}" for k in range(40)]
    assert [c["gradients"][0]["analytic"] for c in cases] == [float(k) for k in range(40)]
