"""Every table at 60, 80 and 120 columns: no line wider than the terminal, and every number whole on one line.

A number is whole when the exact text the table prints for it (report.number at the width's digits, or a
`.2e` error) appears in the output; a number split over two lines would not.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.cells import cell_len

from gradcheck_cli.report.table import _digits
from gradcheck_cli.report.text import number

ROOT = Path(__file__).resolve().parents[2]
WIDTHS = (60, 80, 120)

EVAL_CASES = {
    "scalar": ["(x+sigma(y))/(sigma(x)+(x+y)**2)", "--at", "x=3,y=-4"],
    "claims": ["x*y", "--at", "x=-2,y=3", "--expect", "dx=3,dy=-2.5,f=-5"],
    "tensor": ["sum(tanh(X @ W) ** 2)", "--at", "X=[[0.5,-1],[2,0.25]], W=[[1.5,-0.5],[0.75,2]]"],
    "many points": ["sigma(x)", "--samples", "12", "--expect", "dx=sigma(x)*(1-sigma(x))**2"],
    "tensor claims": ["sum(tanh(X @ W) ** 2)", "--at", "X=randn(3,4), W=randn(4,5)", "--seed", "1",
                      "--expect", "dW=X.T @ (2*tanh(X@W)*(1-tanh(X@W)**2))*1.1"],
    "kink": ["max(x, y) * z", "--at", "x=2,y=2,z=-1.2345678901234"],
    "trace": ["(x+sigma(y))/(sigma(x)+(x+y)**2)", "--at", "x=3,y=-4", "--trace"],
    "program": [f"@{ROOT / 'expressions' / 'programs' / 'task3_two_layer.gc.py'}"],
}


def run(cli, args, width, monkeypatch):
    monkeypatch.setenv("COLUMNS", str(width))
    return cli(*args)


def assert_fits(text: str, width: int) -> None:
    """`reproduce:` commands are the exception: printed unwrapped, so they copy and paste whole."""
    wide = [line for line in text.splitlines() if cell_len(line) > width and not line.lstrip().startswith("reproduce: ")]
    assert not wide, f"{len(wide)} lines wider than {width}: {wide[0]!r}"


def cut_cells(text: str) -> list[str]:
    """Table cells holding a number, an element index or a verdict that end in an ellipsis (code may be cut)."""
    cells = [c.strip() for line in text.splitlines() if line.startswith(("│", "┃")) for c in re.split("[│┃]", line)]
    return [c for c in cells if c.endswith("…") and re.match(r"^(-?[0-9]|\[|✓|✗|kink|incon)", c)]


def printed_numbers(report: dict, width: int) -> list[str]:
    """The scalar numbers a table prints, as it prints them: analytic values and relative errors."""
    texts = []
    for case in report["cases"][:10]:
        for g in case["gradients"]:
            if isinstance(g["analytic"], float | int) and g["status"] != "pass" or len(report["cases"]) == 1:
                if isinstance(g["analytic"], float | int):
                    texts.append(number(g["analytic"], _digits(width)))
            if isinstance(g.get("rel_error"), float) and len(report["cases"]) == 1:
                texts.append(f"{g['rel_error']:.2e}")
    return texts


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", list(EVAL_CASES))
def test_eval_tables_fit_and_keep_numbers_whole(cli, monkeypatch, name, width):
    args = EVAL_CASES[name]
    shown = run(cli, ["eval", *args], width, monkeypatch)
    assert shown.exit_code in (0, 1), shown.output
    assert_fits(shown.stdout, width)
    assert not cut_cells(shown.stdout), f"cells cut: {cut_cells(shown.stdout)}\n{shown.stdout}"
    report = json.loads(run(cli, ["eval", *args, "--format", "json"], width, monkeypatch).stdout)
    for text in printed_numbers(report, width):
        assert text in shown.stdout, f"{text} is not whole in:\n{shown.stdout}"


@pytest.mark.parametrize("width", WIDTHS)
def test_check_rows_fit_and_keep_errors_and_verdicts_whole(cli, monkeypatch, tmp_path, width):
    long_name = tmp_path / ("a_rather_long_directory_name_" * 2) / "derivations.gc"
    long_name.parent.mkdir()
    long_name.write_text("x*y @ x=-2, y=3 => dx=3, dy=-2.5\n"
                         "sum(tanh(X @ W) ** 2) @ X=[[0.5,-1],[2,0.25]], W=[[1.5,-0.5],[0.75,2.123456789]]\n"
                         "(x+sigma(y))/(sigma(x)+(x+y)**2) + x*y*y*y*sigma(x*y*sigma(y*x)) @ x=3, y=-4\n")
    shown = run(cli, ["check", str(long_name)], width, monkeypatch)
    assert_fits(shown.stdout, width)
    report = json.loads(run(cli, ["check", str(long_name), "--format", "json"], width, monkeypatch).stdout)
    statuses = [case["status"] for case in report["cases"]]
    assert statuses.count("mismatch") == 1
    rows = [line for line in shown.stdout.splitlines() if line.startswith("│")]
    assert [("✗ mismatch" in row, "✓ pass" in row) for row in rows[:3]] == [(s == "mismatch", s == "pass") for s in statuses]
    assert all(row.rstrip().endswith("│") for row in rows)  # no row wraps onto a second line
    assert all(":%d" % line in rows[line - 1] for line in (1, 2, 3))  # file:line stays readable


def test_piped_output_with_no_columns_set_is_complete(cli, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    result = cli("eval", "(x+sigma(y))/(sigma(x)+(x+y)**2)", "--at", "x=3,y=-4")
    assert "2.059569795572" in result.stdout and "forward" in result.stdout  # all 13 digits and every column


def _header(text: str, first: str) -> list[str]:
    """The column names of the first table whose header starts with `first`."""
    line = next(line for line in text.splitlines() if line.startswith("┃") and line.split("┃")[1].strip() == first)
    return [c.strip() for c in line.strip("┃").split("┃")]


def test_a_table_without_any_exact_value_has_no_exact_column_and_keeps_best(cli, monkeypatch):
    """A Python function's gradient and --no-exact have no exact value at all: a column of dashes would take the
    80-column table's room from the complex step (best), the value that shows what the gradient should be."""
    monkeypatch.setenv("COLUMNS", "80")
    layer = cli("layer", f"{ROOT / 'docs' / 'examples' / 'cs231n_layers_wrong.py'}:affine_forward").stdout
    assert _header(layer, "element") == ["element", "analytic", "best", "rel. error", "verdict"]
    assert re.search(r"│ \[0, 0\]\s+│\s+0\.04190408951 │\s+0\.167616358 \(cx\) │\s+7\.50e-01 │ ✗ mismatch\s+│", layer), layer
    assert "exact —" not in layer and "no exact column for Python functions" in layer
    off = cli("eval", "x*y", "--at", "x=1,y=2", "--no-exact").stdout
    assert "exact" not in _header(off, "var") and "exact: not computed (the exact column is off)" in off
    on = cli("eval", "x*y", "--at", "x=1,y=2").stdout
    assert "exact" in _header(on, "var")
    undecided = cli("eval", "relu(x) * y", "--at", "x=0,y=2").stdout  # the exact value undecided at the kink: a dash
    assert "exact" in _header(undecided, "var") and re.search(r"│ x .* — .*│", undecided), undecided
