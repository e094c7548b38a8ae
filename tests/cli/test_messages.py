"""Common slips get a message that says how to fix them, with a caret under the place (issue 12's table)."""

from __future__ import annotations

import json

import pytest

SLIPS = [
    # (expression, --at, what the message must say, the column the caret is under)
    ("x^2", "x=3", "use '**' for powers: x**2", 2),
    ("e^x", "x=3", "for e^x write exp(x)", 2),
    ("(x+1)^2", "x=3", "use '**' for powers", 6),
    ("2x", "x=3", "missing operator before 'x' (write 2*x)", 2),
    ("1/2x", "x=3", "write 2*x", 4),
    ("x\u00b2", "x=3", "use '**2'", 2),
    ("\u2212x", "x=3", "Unicode minus sign: type '-'", 1),
    ("x\u00b7y", "x=3, y=4", "use '*' for multiplication", 2),
    ("x\u00d7y", "x=3, y=4", "use '*' for multiplication", 2),
    ("\u03c3(x)", "x=3", "use sigma(...)", 1),
    ("np.foo(x)", "x=3", "np.foo is not supported (supported: np.exp,", 4),
    ("np.expp(x)", "x=3", "did you mean np.exp?", 4),
    ("np.sigmoid(x)", "x=3", "write sigma(x)", 4),
    ("expit(x)", "x=3", "unknown function 'expit' (write sigma(x))", 1),
    ("log1p(x)", "x=3", "unknown function 'log1p' (write log(1 + x))", 1),
    ("math.foo(x)", "x=3", "math.foo is not supported (supported: math.exp,", 6),
    ("sin x", "x=3", "'sin' is a function; call it as sin(...)", 1),
    ("exp(x", "x=3", "unclosed '(' (missing ')')", 4),
]


@pytest.mark.parametrize("expression, at, fix, column", SLIPS)
def test_a_slip_in_an_expression_says_how_to_fix_it(cli, tool_error, expression, at, fix, column):
    err = tool_error(cli("eval", expression, "--at", at), fix, f"column {column}:")
    headline, shown, caret = err.rstrip("\n").split("\n")
    assert shown.strip() == expression and caret.index("^") - 2 == column - 1  # the caret is under that column


@pytest.mark.parametrize("at, fix, column", [
    ("x=3 y=4", "separate the values of a point with commas (x=3, y=4)", 1),
    ("x=3;y=4", "for another point, repeat --at", 4),
    ("x=3; y=4", "for another point, repeat --at", 4),
    ("x=3, q=4", "'q' is not a variable", 6),
])
def test_a_slip_in_a_point_says_how_to_fix_it(cli, tool_error, at, fix, column):
    tool_error(cli("eval", "x*y" if "q" not in at else "x", "--at", at), fix, f"--at, column {column}:")


def test_a_program_given_to_eval_is_read_as_a_program(cli):
    result = cli("eval", "q = x + y\nf = q * z", "--at", "x=-2, y=5, z=-4", "--format", "json")
    case = json.loads(result.stdout)["cases"][0]
    assert result.exit_code == 0 and case["value"] == -12


def test_h_is_used_exactly_as_given(cli):
    result = cli("eval", "x**3", "--at", "x=1", "--h", "1e-5", "--format", "json")
    steps = json.loads(result.stdout)["cases"][0]["gradients"][0]["h"]
    assert steps == {"forward": 1e-5, "centered": 1e-5}


def test_the_default_step_is_a_representable_one(cli):
    result = cli("eval", "x**3", "--at", "x=0.1", "--format", "json")
    h = json.loads(result.stdout)["cases"][0]["gradients"][0]["h"]["centered"]
    assert (0.1 + h) - 0.1 == h  # so the difference quotient divides by the step actually taken


@pytest.mark.parametrize("claim, message", [
    ("dX=[[1],[2],[3]]", "claim dX has shape (3, 1), but the gradient has shape (1, 3) (transposed?)"),
    ("dW=X", "claim dW has shape (1, 3), but the gradient has shape (3, 1) (transposed?)"),
])
def test_a_claim_of_the_transposed_shape_is_refused_not_reshaped(cli, tool_error, claim, message):
    tool_error(cli("eval", "sum(X@W)", "--at", "X=[[1,2,3]], W=[[1],[2],[3]]", "--expect", claim), message)


def test_a_claim_without_the_length_one_axes_is_accepted(cli):
    result = cli("eval", "sum(X@W)", "--at", "X=[[1,2,3]], W=[[1],[2],[3]]", "--expect", "dX=[1,2,3], dW=[1,2,3]")
    assert result.exit_code == 0, result.output


def test_a_programs_transposed_gradient_is_blamed_on_its_line_not_shuffled(cli, tmp_path):
    cell = tmp_path / "cell.py"
    cell.write_text("import numpy as np\nX = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])\n"
                    "W = np.array([[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])\nS = X.dot(W)\nL = np.sum(S ** 2)\n"
                    "dS = 2 * S\ndW = dS.T.dot(X)\ndX = dS.dot(W.T)\n")
    result = cli("eval", f"@{cell}", "--format", "json")
    case = json.loads(result.stdout)["cases"][0]
    assert result.exit_code == 1 and case["first_wrong_line"] == 7 and "transposed" in case["message"]
    dW = next(g for g in case["gradients"] if g["var"] == "W")
    assert dW["expected"] is None  # no shuffled element-by-element claim
