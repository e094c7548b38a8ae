"""Lines checked together (files/format.check_lines: their scalar gradients judged in one call of the judge) give
exactly the results each line gets on its own: every field of every case, every line in its order."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from gradcheck_cli.expression.check import Options
from gradcheck_cli.files.format import Line, Settings, check_line, check_lines
from gradcheck_cli.report.json import case_json

LINES = [
    "(x+y)*z @ x=-2, y=5, z=-4 => dx=-4, dy=-4, dz=3",
    "x*y @ x=-2, y=3 => dx=3, dy=-3",  # a wrong claim
    "",
    "# a comment",
    "sigma(x) => dx = sigma(x)*(1 - sigma(x))",  # random points
    "relu(x) @ x=0",  # a kink
    "sigmoidd(x) @ x=1",  # a typo: an error line
    "x*y @ x=1, y=2; x=3, y=4",  # two points
    "log(x) @ x=-1",  # outside the domain
    "sum(W*x) @ W=[[1,2],[3,4]], x=[1,-1]",  # a tensor
    "x**2 @ x=3 => dx=6.0000001",  # a claim inside rtol of analytic but off exact
    "exp(x)*1e300 @ x=700",  # overflow
    "abs(x) @ x=1e-300",
    "x - tanh(3.14159) + 1e-17*y @ x=1, y=2",
    "max(x, y) @ x=1, y=1",  # a tie
    "x*y @ x=2, y=3 => f=6",
    "x*y @ x=2, y=3 => f=7",
    "x*y @ x=1.5, y=2 => dx ~= 2.0",  # printed digits: a tolerance of their own
    "sin(x) @ x=1 => dx ~= 0.5",
    "x @ x=1; x=2; x=3 => dx=1",
]


def _json(results) -> list[list[str]]:
    return [[json.dumps(case_json(c.case), sort_keys=True) for c in cases] for cases in results]


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_lines_together_give_what_each_line_gives_alone(exact, dtype):
    settings = Settings(Options(exact=exact, exact_method="chain", dtype=dtype))
    lines = [Line("f.gc", k + 1, text) for k, text in enumerate(LINES)]
    alone = [check_line(line, settings) for line in lines]
    together = check_lines(lines, settings)
    assert _json(together) == _json(alone)
    statuses = [c.case.status for cases in together for c in cases]
    assert {"pass", "mismatch", "kink", "error"} <= set(statuses)  # the mix this test is about


OPS = ["x*y", "x+y", "sin(x)*y", "exp(x-y)", "tanh(x)/(1+y**2)", "relu(x-y)", "abs(x)*y", "max(x, y)", "sqrt(1+x**2)*y"]


@hsettings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OPS), st.floats(-3, 3), st.floats(-3, 3), st.booleans()), min_size=1, max_size=6))
def test_random_lines_together(rows):
    """Random lines, some with a wrong claim: together as alone."""
    texts = [f"{expr} @ x={x!r}, y={y!r}" + (" => dx=0.123" if wrong else "") for expr, x, y, wrong in rows]
    lines = [Line("r.gc", k + 1, text) for k, text in enumerate(texts)]
    settings = Settings(Options(exact=False))
    assert _json(check_lines(lines, settings)) == _json([check_line(line, settings) for line in lines])


def test_a_crash_while_finishing_one_line_costs_that_line_only(monkeypatch):
    """finish raising for one line of a batch: that line's cases are errors naming the bug, the others are checked."""
    import gradcheck_cli.files.format as fmt

    real = fmt.finish

    def broken(prepared, judged):
        if prepared.graph.expr.text == "sin(x)":
            raise RuntimeError("a bug in finish")
        return real(prepared, judged)

    monkeypatch.setattr(fmt, "finish", broken)
    lines = [Line("f.gc", k + 1, text) for k, text in enumerate(["x*y @ x=1, y=2", "sin(x) @ x=1; x=2", "cos(x) @ x=1"])]
    results = check_lines(lines, Settings(Options(exact=False)))
    assert [[c.case.status for c in cases] for cases in results] == [["pass"], ["error", "error"], ["pass"]]
    assert all("internal error" in c.case.message and "a bug in finish" in c.case.message for c in results[1])


def test_a_crash_in_the_batched_judge_falls_back_to_each_line_alone(monkeypatch):
    """judge_together raising for the whole batch: each line is judged alone, with the same results."""
    import gradcheck_cli.files.format as fmt

    real = fmt.judge_together

    def broken(prepared):
        if len(prepared) > 1:
            raise RuntimeError("a bug in the batch")
        return real(prepared)

    lines = [Line("f.gc", k + 1, text) for k, text in enumerate(LINES)]
    settings = Settings(Options(exact=False))
    expected = _json(check_lines(lines, settings))
    monkeypatch.setattr(fmt, "judge_together", broken)
    assert _json(check_lines(lines, settings)) == expected


_PIECES = st.sampled_from(["x", "y", "*", "+", "(", ")", "@", "=>", "dx=", "=", ",", ";", "1", "-0", "1e400", "relu(",
                           "sin(", "max(", "[1,2]", "W", "# c", " ", "~=", "nan", "\x1b[2J", "é"])


@hsettings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=30), st.lists(_PIECES, max_size=12).map("".join)), min_size=1, max_size=6))
def test_hostile_lines_together_get_what_each_gets_alone(texts):
    """Any text, checked in a batch: one result list per line (never an exception), each what the line gets alone."""
    lines = [Line("h.gc", k + 1, text.replace("\n", " ").replace("\r", " ")) for k, text in enumerate(texts)]
    settings = Settings(Options(exact=False))
    together = check_lines(lines, settings)
    assert len(together) == len(lines)
    assert _json(together) == _json([check_line(line, settings) for line in lines])
    assert all("internal error" not in (c.case.message or "") for cases in together for c in cases)
