"""A new user's first hour (issue 22): each mistake typed as a user types it, through the installed command in a
subprocess where the message and the exit code are what matters, and the end of a long run read as a user reads it.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

ROOT = Path(__file__).resolve().parents[2]


def gradcheck(*args: str, cwd: Path, columns: int | None = None) -> subprocess.CompletedProcess:
    """`gradcheck ARGS` as typed in a shell, its output piped (as CI and `| less` see it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "CI", "FORCE_COLOR")}
    env.update(NO_COLOR="1", PYTHONPATH=str(ROOT))
    if columns is not None:
        env["COLUMNS"] = str(columns)
    return subprocess.run([sys.executable, "-m", "gradcheck_cli", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


TASK1 = "x = 3.0\ny = -4.0\nf = x * y\n\ndf = 1.0\ndx = y * df\ndy = x * df\n"


# --- file mix-ups --------------------------------------------------------------------------------------------

def test_expression_lines_under_another_name_are_read_by_their_content(tmp_path):
    (tmp_path / "exprs.txt").write_text("# my derivations\n(x+y)*z @ x=-2, y=5, z=-4 => dx=-4\nx*y @ x=1, y=2 => dy=3\n")
    done = gradcheck("check", "exprs.txt", "--no-exact", cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # read as lines: line 3's claim is wrong (dy is x = 1)
    assert "exprs.txt:2 " in done.stdout and "exprs.txt:3 " in done.stdout
    assert "'=' is not an operator" not in done.stdout + done.stderr  # no longer read as a program
    json_run = json.loads(gradcheck("check", "exprs.txt", "--no-exact", "--format", "json", cwd=tmp_path).stdout)
    assert [c["status"] for c in json_run["cases"]] == ["pass", "mismatch"]


def test_a_cell_under_another_name_is_still_a_program(tmp_path):
    (tmp_path / "cell.txt").write_text(TASK1)
    done = gradcheck("check", "cell.txt", "--no-exact", "--format", "json", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [case] = json.loads(done.stdout)["cases"]
    assert case["status"] == "pass" and "lines" in case  # judged line by line, as a program


@pytest.mark.parametrize("text, lines", [
    ("x*y @ x=1, y=2\n", True),
    ("# only claims\nsigma(x) => dx = sigma(x)*(1-sigma(x))\n", True),
    ("def g(t) = t*t\nd g/dt = 2*t\ng(x) @ x=3\n", True),  # a .gc gate definition is no Python def
    ("q = x + y @ x=1\n", True),  # the point decides, even before an `=`
    ("x*y @ x=1\nq = x + y\n", False),  # an assignment: a program (whose error then names the line)
    ("import numpy as np\nx*y @ x=1\n", False),
    ("tanh(x)\n", False),  # nothing that only expression lines have
    ("\n# nothing\n", False),
])
def test_what_makes_a_file_expression_lines(tmp_path, text, lines):
    from gradcheck_cli.files.discovery import holds_expression_lines

    path = tmp_path / "f.txt"
    path.write_text(text)
    with open(path, "rb") as handle:
        assert holds_expression_lines(handle) is lines
        assert handle.tell() == 0  # rewound for the reader


def test_a_directory_of_task1_py_names_the_file_once(tmp_path):
    (tmp_path / "derivations").mkdir()
    (tmp_path / "derivations" / "task1.py").write_text(TASK1)
    done = gradcheck("check", "derivations/", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1  # one line, said once
    assert done.stderr.startswith("gradcheck: nothing to check: derivations/: no .gc or .gc.py files in this directory; "
                                  "found task1.py: program files are named *.gc.py")
    assert "gradcheck check derivations/task1.py" in done.stderr  # the way forward, pasteable
    named = gradcheck("check", "derivations/task1.py", "--no-exact", cwd=tmp_path)  # ...and it works
    assert named.returncode == 0, named.stdout + named.stderr


def test_many_near_misses_are_counted_not_listed(tmp_path):
    for k in range(5):
        (tmp_path / f"task{k}.py").write_text(TASK1)
    from gradcheck_cli.files.discovery import expand_paths

    [problem] = expand_paths([str(tmp_path)])
    assert "found task0.py, task1.py, task2.py and 2 more: program files are named *.gc.py" in problem.case.message


def test_a_notebook_in_an_empty_directory_gets_its_own_hint(tmp_path):
    (tmp_path / "hw.ipynb").write_text("{}")
    done = gradcheck("check", ".", cwd=tmp_path)
    assert done.returncode == 2 and "found hw.ipynb: notebooks are not read; paste a cell into a file named *.gc.py" in done.stderr


def test_eval_of_a_file_without_its_at_says_did_you_mean(tmp_path):
    (tmp_path / "task1.py").write_text(TASK1)
    (tmp_path / "cases.gc").write_text("x*y @ x=1, y=2\n")
    done = gradcheck("eval", "task1.py", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "gradcheck: task1.py is a file: did you mean @task1.py? (EXPRESSION is read as text; @FILE reads a file)\n"
    assert gradcheck("eval", "@task1.py", "--no-exact", cwd=tmp_path).returncode == 0  # the suggestion works
    gc = gradcheck("eval", "cases.gc", cwd=tmp_path)
    assert gc.returncode == 2 and "did you mean gradcheck check cases.gc?" in gc.stderr
    assert "did you mean @task1.py?" in gradcheck("sweep", "task1.py", "--at", "x=1", cwd=tmp_path).stderr


def test_an_expression_that_happens_to_name_a_file_is_still_an_expression(tmp_path):
    (tmp_path / "x").write_text("not read\n")
    done = gradcheck("eval", "x", "--at", "x=2", "--no-exact", cwd=tmp_path)
    assert done.returncode == 0 and "did you mean" not in done.stderr
    typo = gradcheck("eval", "x+", cwd=tmp_path)  # a real syntax error keeps its own message
    assert typo.returncode == 2 and "expression ends too early" in typo.stderr


# --- the end of a long check ------------------------------------------------------------------------------------

def _passing_item(line: int):
    from gradcheck_cli.results import CaseResult, FileCase

    return FileCase(CaseResult("x*y + 1", f"big.gc:{line}", {"x": 1.0, "y": 2.0}, 3.0, "pass", None, ()), "big.gc", line)


def test_the_end_of_a_10000_line_run_recalls_the_lone_failing_line(tmp_path):
    """10,000 rows, line 1235 fails: the last lines of the report name it and the command that reproduces it."""
    from gradcheck_cli.files import format as batch
    from gradcheck_cli.report import stream as writers
    from gradcheck_cli.report import table as report
    from gradcheck_cli.report.table import View

    failing = batch.check_line(batch.Line("big.gc", 1235, "x*y @ x=-2, y=3 => dx=3, dy=3"),
                               batch.Settings(batch.Options(exact=False)))
    out = io.StringIO()
    tally = writers.Tally(strict=False)
    writer = writers.TableWriter(report.make_console(file=out), strict=False, view=View(timed=False))
    for line in range(1, 10_001):
        for item in failing if line == 1235 else [_passing_item(line)]:
            tally.add(item)
            writer.add(item)
    writer.close(tally, None)
    text = out.getvalue()
    assert text.index("big.gc:1235  ✗ mismatch") > text.rindex("│ big.gc:10000 ")  # after the last row
    assert text.rstrip("\n").splitlines()[-4:] == [
        "10,000 cases: 9,999 pass, 1 mismatch",
        "1 failing line:",
        "  big.gc:1235  ✗ mismatch",
        "    reproduce: gradcheck eval 'x*y' --at x=-2,y=3 --expect 'dx=3, dy=3'",
    ]


def test_the_recap_is_bounded_and_names_each_line_once(tmp_path):
    lines = [f"x*y @ x=1, y=2; x=2, y=1 => dx={k}" for k in range(3, 15)]  # 12 lines, each failing at both points
    (tmp_path / "wrong.gc").write_text("\n".join(lines) + "\n")
    done = gradcheck("check", "wrong.gc", "--no-exact", cwd=tmp_path)
    assert done.returncode == 1
    tail = done.stdout.rstrip("\n").split("\n24 cases: 24 mismatch")[1].splitlines()[1:]
    assert tail[0] == "12 failing lines:"
    assert tail[1:4] == ["  wrong.gc:1  ✗ mismatch", "    reproduce: gradcheck eval 'x*y' --at x=1,y=2 --expect dx=3",
                         "  wrong.gc:2  ✗ mismatch"]
    assert tail[-1] == "  … and 2 more" and len(tail) == 1 + 10 + 1 + 1
    assert "reproduce" not in "".join(tail[3:])  # only the first reproduce command


def test_a_clean_run_ends_with_its_counts(tmp_path):
    (tmp_path / "ok.gc").write_text("x*y @ x=1, y=2\n")
    done = gradcheck("check", "ok.gc", "--no-exact", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.rstrip("\n").splitlines()[-1].startswith("1 case: 1 pass in ")


# --- narrow tables, piped output ---------------------------------------------------------------------------------

POINTS = "x*y*z + sigma(w) @ x=1.25, y=-2.5, z=1.5, w=0.125\nx*y*z*w + sigma(w) @ x=1234.5678, y=-2.5, z=10.75, w=0.5 => dx=3\n" \
         "sum(W*X) @ W=[[1, 2, 3], [4, 5, 6]], X=[[1, 1, 1], [1, 1, 1]]\nx*1.23456789 + y @ x=1, y=2\n"


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_narrow_tables_drop_whole_items_never_part_of_a_number(tmp_path, columns):
    from gradcheck_cli.lang.values import split_top_level

    (tmp_path / "p.gc").write_text(POINTS)
    done = gradcheck("check", "p.gc", "--no-exact", cwd=tmp_path, columns=columns)
    rows = [line for line in done.stdout.splitlines() if line.startswith("│ p.gc:")]
    assert len(rows) == 4 and all(cell_len(row) <= columns for row in rows)
    full = {1: "x=1.25, y=-2.5, z=1.5, w=0.125", 2: "x=1234.5678, y=-2.5, z=10.75, w=0.5",
            3: "W=(2, 3) array, X=(2, 3) array", 4: "x=1, y=2"}
    for row in rows:
        cells = [cell.strip() for cell in row.strip("│").split("│")]
        line = int(cells[0].split(":")[1])
        expression = POINTS.splitlines()[line - 1].split(" @ ")[0]
        assert cells[1] == expression or (cells[1].endswith("…") and expression.startswith(cells[1][:-1])), cells[1]
        assert not re.search(r"[\d.]…$", cells[1]), f"a number cut, or one that may go on, in {cells[1]!r}"
        if len(cells) == 5:  # the point column is shown
            point = cells[2]
            assert point == full[line] or point.endswith("…"), point
            items = [item.strip() for item, _ in split_top_level(full[line], ",")]
            kept = [item.strip() for item, _ in split_top_level(point.removesuffix("…").rstrip(", "), ",") if item.strip()]
            assert kept == items[:len(kept)], f"{point!r} does not end between whole items of {full[line]!r}"


def test_every_block_of_a_long_run_is_as_wide_as_the_first(tmp_path, monkeypatch):
    """Blocks of 4 rows whose expressions, points and line numbers grow: the later blocks keep the first's widths."""
    from gradcheck_cli.files import format as batch
    from gradcheck_cli.report import stream as writers
    from gradcheck_cli.report import table as report
    from gradcheck_cli.report.table import View

    monkeypatch.setattr(writers, "BLOCK", 4)
    out = io.StringIO()
    writer = writers.TableWriter(report.make_console(file=out), strict=False, view=View(timed=False))
    tally = writers.Tally(strict=False)
    settings = batch.Settings(batch.Options(exact=False))
    for k in range(1, 13):
        names = [f"v{i}" for i in range(1, k + 1)]
        text = "*".join(names) + " + " + "+".join(f"{i}.5" for i in range(k)) + " @ " + ", ".join(f"{n}=1.5" for n in names)
        for item in batch.check_line(batch.Line(f"derivations/k{k}.gc", 10 ** (k // 3), text), settings):
            tally.add(item)
            writer.add(item)
    writer.close(tally, None)
    table = [line for line in out.getvalue().splitlines() if line and line[0] in "┏┃┡│└"]
    assert sum(line.startswith("│ derivations/") or line.startswith("│ …") for line in table) == 12 and len({cell_len(line) for line in table}) == 1, "\n".join(table)
    assert not [line for line in table if re.search(r"\d…", line)]  # cells cut, but never inside a number


def test_piped_output_has_no_trailing_spaces(tmp_path):
    (tmp_path / "demo.gc").write_text((ROOT / "docs" / "examples" / "demo.gc").read_text())
    runs = [gradcheck("check", "demo.gc", "--no-exact", cwd=tmp_path),
            gradcheck("check", "demo.gc", cwd=tmp_path, columns=80),
            gradcheck("eval", "(x+sigma(y))/(sigma(x)+(x+y)**2)", "--at", "x=3,y=-4", "--trace", cwd=tmp_path, columns=60),
            gradcheck("eval", f"@{ROOT / 'docs' / 'examples' / 'cs231n_staged_wrong.gc.py'}", cwd=tmp_path, columns=80),
            gradcheck("sweep", "sin(x)*exp(x)", "--at", "x=1", cwd=tmp_path)]
    for done in runs:
        assert done.stdout.count("\n") > 10, done.stderr
        trailing = [line for line in done.stdout.splitlines() if line != line.rstrip()]
        assert not trailing, f"{done.args[3:]}: {trailing[:3]}"


# --- wrong names in messages ---------------------------------------------------------------------------------------

def test_a_grad_that_raises_is_named_not_the_loss(tmp_path):
    (tmp_path / "model.py").write_text(
        "import numpy as np\n\n"
        "def loss(W, X):\n    return np.sum((X @ W) ** 2)\n\n"
        "def loss_grad(W, X):\n    return 2 * X.T @ (X @ W) @ np.ones((3, 3))  # the shapes do not fit\n\n"
        "def loss_broken(W, X):\n    return loss_grad(W, X).sum()\n")
    (tmp_path / "p.json").write_text('{"W": [[1, 2], [3, 4]], "X": [[1, 0], [0, 1]]}')
    done = gradcheck("function", "model.py:loss", "--grad", "model.py:loss_grad", "--at", "@p.json", cwd=tmp_path)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("gradcheck: calling model.py:loss_grad raised ValueError: matmul")
    assert done.stderr.rstrip().endswith("(model.py:7)")
    as_f = gradcheck("function", "model.py:loss_broken", "--grad", "model.py:loss_grad", "--at", "@p.json", cwd=tmp_path)
    assert as_f.stderr.startswith("gradcheck: calling model.py:loss_broken raised ValueError")  # F, which called GRAD


# --- missing numbers in JSON ---------------------------------------------------------------------------------------

OPTIONAL = ("exact", "expected", "left", "right", "complex", "expected_rel_error")


def _optional_values(document: dict) -> list:
    values = []
    for case in document["cases"]:
        for g in case["gradients"]:
            for key in OPTIONAL:
                stack = [g[key]]
                while stack:
                    value = stack.pop()
                    stack.extend(value) if isinstance(value, list) else values.append(value)
    return values


@pytest.mark.parametrize("args", [
    ["eval", "x*y", "--at", "x=-2,y=3", "--no-exact"],
    ["eval", "sum(abs(X)*w)", "--at", "X=[1,-2], w=3", "--no-exact", "--expect", "dw=3"],
    ["eval", "sum(relu(X))", "--at", "X=[0, 2]"],
    ["function", "docs/examples/layer.py:loss", "--grad", "docs/examples/layer.py:loss_grad",
     "--at", "@docs/examples/layer.json", "--wrt", "W"],
    ["function", "docs/examples/poly.py:f", "--grad", "docs/examples/poly.py:f_grad", "--at", "x=3,y=-2"],
])
def test_a_missing_value_is_null_in_every_command_scalar_or_tensor(args):
    done = gradcheck(*args, "--format", "json", cwd=ROOT)
    document = json.loads(done.stdout)
    values = _optional_values(document)
    assert None in values  # something is missing in each of these (left/right off the kinks at least)
    assert not [v for v in values if isinstance(v, str)], "a missing value spelled as a string"


def test_a_computed_nan_is_still_the_string_nan():
    from gradcheck_cli.report.json import json_optional, json_value

    assert json_value(math.nan) == "nan" and json_value([1.0, math.inf]) == [1.0, "inf"]
    assert json_optional(math.nan) is None and json_optional([[1.0, math.nan]]) == [[1.0, None]]
    assert json_optional(-math.inf) == "-inf"  # only NaN means "no value"; an infinite one is a value


# --- Report.text ----------------------------------------------------------------------------------------------------

def test_report_text_wraps_at_the_width_asked_or_the_terminals(monkeypatch):
    from gradcheck_cli import check

    report = check("(x+sigma(y))/(sigma(x)+(x+y)**2)", at="x=3,y=-4", expect="dx=1")
    for width in (40, 60, 100):
        lines = report.text(width).splitlines()
        assert max(map(cell_len, lines)) <= width and "2.059569795572" in report.text(width)
    monkeypatch.setenv("COLUMNS", "52")
    assert max(map(cell_len, report.text().splitlines())) <= 52
    monkeypatch.delenv("COLUMNS")
    assert report.text() == report.text(100)  # not a terminal (pytest captures stdout): 100
    assert "rel. error 2.16e-16" in report.text(40)  # a field is never split from its value
    with pytest.raises(ValueError, match="at least 20"):
        report.text(5)


# --- one naming in the docs ------------------------------------------------------------------------------------------

OTHERS_EDIT = {"docs/programs.md"}  # another helper's file this turn: it still writes @cell.py (the lead merges the fix)


def test_the_docs_name_program_files_one_way(cli):
    """A program file is `NAME.gc.py` everywhere: `gradcheck eval @cell.py` would teach the name `check` skips."""
    texts = {str(path.relative_to(ROOT)): path.read_text(encoding="utf-8")
             for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]}
    texts["gradcheck eval --help"] = cli("eval", "--help").output
    texts["gradcheck check --help"] = cli("check", "--help").output
    pattern = re.compile(r"@[\w./-]+(?<!\.gc)\.py\b")
    wrong = {name: pattern.findall(text) for name, text in texts.items() if name not in OTHERS_EDIT and pattern.search(text)}
    assert not wrong, wrong


def test_the_summary_counts_with_separators_and_a_slow_rate_is_not_zero():
    """`100,000 cases ... (3,145 cases/s)` reads at a glance; a line typed by hand into `check -` is not 0 cases/s."""
    from gradcheck_cli.report.text import summary_text

    counts = {"total": 100_000, "pass": 99_998, "kink": 0, "inconclusive": 0, "mismatch": 1, "error": 1}
    assert summary_text(counts, 31.8) == "100,000 cases: 99,998 pass, 1 mismatch, 1 error in 31.80 s (3,145 cases/s)"
    one = {"total": 1, "pass": 1, "kink": 0, "inconclusive": 0, "mismatch": 0, "error": 0}
    assert summary_text(one, 2.41) == "1 case: 1 pass in 2.41 s (0.41 cases/s)"
