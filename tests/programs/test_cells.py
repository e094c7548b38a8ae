"""Pasted notebook cells read as people write them (issues 17 and 22): the seeds' cells as written, several
consecutive cells together, each with a planted wrong line named as the first wrong line; reassigned names as
versions; dW1 as a helper; numpy's makers in any line; lines gradcheck cannot read skipped or refused with the
fix; one reading of programs for every entry."""

from __future__ import annotations

import math
import os

import numpy as np
import pytest

from gradcheck_cli.errors import GradcheckError
from gradcheck_cli.expression.check import Options
from gradcheck_cli.session import check_program_text

CELLS = os.path.join(os.path.dirname(__file__), "cells")
FAST = Options(exact=False)


def cell(name: str) -> str:
    with open(os.path.join(CELLS, name), encoding="utf-8") as handle:
        return handle.read()


def run(text: str, **kwargs):
    kwargs.setdefault("options", FAST)
    return check_program_text(text, "cell.py", **kwargs)


def rows(case) -> dict[int, object]:
    return {row.line: row for row in case.lines}


def grads(case) -> dict[str, object]:
    return {g.var: g for g in case.gradients}


# --- the seeds' cells, pasted as written ----------------------------------------------------------------

def test_seed002_task1_cells_pass_with_the_notebooks_numbers():
    case = run(cell("seed002_task1.txt"))
    assert case.status == "pass", case.message
    assert all(r.status == "pass" for r in case.lines)
    got = {r.target: float(r.yours) for r in case.lines}
    # the values the notebook printed under In [4]
    assert got["dx"] == pytest.approx(0.3149807562105195, rel=1e-15)
    assert got["dw0"] == pytest.approx(0.209987170807013, rel=1e-15)
    assert got["dw1"] == pytest.approx(0.1049935854035065, rel=1e-15)
    assert case.value == pytest.approx(0.8807970779778823, rel=1e-15)  # f = 1 / e, the second f of the cell


def test_seed002_task1_with_the_gradient_checking_cells_after_it_passes():
    case = run(cell("seed002_task1_all.txt"))
    assert case.status == "pass", case.message
    notes = case.notes
    assert "lines 43, 54, 68, 75, 82: an assert: skipped" in notes
    assert any(n.startswith("lines 47, 59: after the backward pass began") for n in notes)  # EPS = 1e-5, f = calculate_f(x, w)


def test_seed002_task2_cells_pass_and_dW1_dW2_are_helpers():
    case = run(cell("seed002_task2.txt"))
    assert case.status == "pass", case.message
    by_target = {r.target: r for r in case.lines}
    assert by_target["dW1"].status == "helper" and by_target["dW2"].status == "helper"
    np.testing.assert_array_equal(by_target["dW"].yours, [[15.0, 11.0]])  # the notebook printed [[15. 11.]]
    np.testing.assert_array_equal(case.point["X"], [[0], [-2], [1]])  # the In [4] constants replace the random ones
    assert case.point["lam"] == 1.0
    assert ("line 6: a conditional expression (A if C else B) is not read: write the value it gives (e.g. lam = -2.0); "
            "nothing uses lam before line 17 assigns it again: skipped") in case.notes
    assert "lines 23, 25: an expression on its own (a notebook's display): skipped" in case.notes


def test_seed002_task2_with_the_gradient_checking_cells_after_it_passes():
    case = run(cell("seed002_task2_all.txt"))
    assert case.status == "pass", case.message
    assert "line 50: a 'for' block after the backward pass: skipped (lines 50-57)" in case.notes


def test_seed002_task2_random_constants_are_numpys_draws():
    # In [10] alone: np.random.seed(42 * 2), then X, W, Y = np.random.randint(-4, 4, size=...) as the notebook drew them
    text = cell("seed002_task2.txt")
    text = text[:text.index("X = np.array")] + text[text.index("lam = 1.0"):]
    case = run(text)
    np.random.seed(84)
    for name, shape in (("X", (3, 2)), ("W", (2, 1)), ("Y", (3, 1))):
        np.testing.assert_array_equal(case.point[name], np.random.randint(-4, 4, size=shape))
    np.testing.assert_array_equal(case.point["X"], [[-2, -3], [-3, -4], [1, 0]])  # as the notebook printed them
    assert case.status == "pass", case.message


def test_seed002_task4_cells_name_the_missing_eps_then_pass_with_it():
    with pytest.raises(GradcheckError) as info:
        run(cell("seed002_task4.txt"))
    assert info.value.message == "input 'EPS' has no value: assign it before line 10 (EPS = ...) or give --at \"EPS=...\""
    assert (info.value.position.line, info.value.position.column) == (10, 5)  # s = softmax(x): EPS is softmax's global
    case = run(cell("seed002_task4.txt"), at="EPS=1e-5")
    assert case.status == "pass", case.message
    # the Jacobian the notebook printed under In [21]
    np.testing.assert_allclose(rows(case)[13].yours, [[0.19661181, -0.19661154], [-0.19661154, 0.19661227]], atol=5e-9)


def test_cs231n_staged_cells_pass():
    case = run(cell("seed000_staged.txt"))
    assert case.status == "pass", case.message
    assert grads(case)["x"].expected == pytest.approx(2.059569795572165, rel=1e-15)


def test_the_seed_cells_pass_with_the_exact_column_too():
    for name, at in (("seed002_task1.txt", None), ("seed002_task2.txt", None), ("seed000_staged.txt", None)):
        case = check_program_text(cell(name), name, at=at)
        assert case.status == "pass", (name, case.message)


PLANTED = [
    # (cell, the line as written, the planted mistake, --at, the first wrong line, its diagnosis)
    ("seed002_task1.txt", "db = dc * -1", "db = dc * 1", None, 23, "the sign is flipped"),
    ("seed002_task2.txt", "dW1 = np.sign(W) * dreg_loss", "dW1 = -np.sign(W) * dreg_loss", None, 30, "the sign is flipped"),
    ("seed002_task2.txt", "dpred = dpred_loss * 2 * (pred - Y)", "dpred = dpred_loss * (pred - Y)", None, 32,
     "half the true value: a factor 2 is missing"),
    ("seed002_task4.txt", "np.dot(x, x.T)", "np.dot(x.T, x)", "EPS=1e-5", 13,
     "the line calls softmax (line 1), softmax_grad (line 4): the mistake may be there"),
    ("seed000_staged.txt", "dx += (1) * dnum    ", "dx = (1) * dnum     ", None, 40,
     "'=' where '+=' was needed: dx from line 36 is overwritten here, so its contribution is lost"),
    ("seed002_task2_all.txt", "dW2 = X.T.dot(dpred)", "dW2 = X.T.dot(dpred) * 2", None, 33, "twice the true value"),
]


@pytest.mark.parametrize("name, right, wrong, at, line, diagnosis", PLANTED)
def test_a_planted_wrong_line_in_a_seed_cell_is_the_first_wrong_line(name, right, wrong, at, line, diagnosis):
    text = cell(name)
    assert right in text
    case = run(text.replace(right, wrong, 1), at=at)
    assert case.status == "mismatch"
    assert case.first_wrong_line == line
    assert diagnosis in rows(case)[line].diagnosis


# --- reassigned names are versions ----------------------------------------------------------------------

TANH = """import numpy as np
x = 0.5
w = 1.5
h = w*x
h = np.tanh(h)
f = h*h
df = 1
dh = 2*h*df
dh = dh*(1-h**2)
dw = x*dh
dx = w*dh
"""


def test_a_reassigned_name_walks_back_through_its_versions():
    case = run(TANH)
    assert case.status == "pass", case.message
    t = math.tanh(0.75)
    assert [float(r.true) for r in case.lines] == pytest.approx(
        [1, 2 * t, 2 * t * (1 - t * t), 0.5 * 2 * t * (1 - t * t), 1.5 * 2 * t * (1 - t * t)], rel=1e-14)


def test_a_wrong_step_back_is_the_first_wrong_line():
    case = run(TANH.replace("dh = dh*(1-h**2)", "dh = dh*(1-h)"))
    assert case.first_wrong_line == 9 and rows(case)[9].status == "wrong"
    assert [rows(case)[n].status for n in (10, 11)] == ["pass", "pass"]  # judged with the true dh of line 4


def test_augmented_assignments_in_the_forward_pass_are_versions():
    text = "x = 0.5\nb = 2.0\nh = x*x\nh += b\nh *= 3\nf = h*h\ndh = 2*h\ndh *= 3\ndb = dh\ndx = 2*x*dh\n"
    case = run(text)
    assert case.status == "pass", case.message
    h = 3 * (0.25 + 2)
    assert [float(r.yours) for r in case.lines] == pytest.approx([2 * h, 6 * h, 6 * h, 6 * h])


def test_a_reassigned_input_whose_lines_stop_early_says_the_missing_step():
    case = run("x = 3.0\nx = x*2\nf = x*x\ndx = 2*x\n")
    assert case.status == "mismatch" and case.first_wrong_line == 4
    assert rows(case)[4].diagnosis == ("right for dx (line 2), but the backward pass stops there: dx (the input) needs "
                                       "one more step back (dx = dx * ...)")
    assert run("x = 3.0\nx = x*2\nf = x*x\ndx = 2*x\ndx = dx*2\n").status == "pass"


def test_dx_equals_dx_plus_a_term_is_one_more_contribution_not_a_step_back():
    text = cell("seed000_staged.txt")
    for right, written in (("dx += ((1 - sigx) * sigx) * dsigx", "dx = dx + ((1 - sigx) * sigx) * dsigx"),
                           ("dy += ((1 - sigy) * sigy) * dsigy", "dy = ((1 - sigy) * sigy) * dsigy + dy")):
        assert right in text
        text = text.replace(right, written)
    assert run(text).status == "pass"
    assert run("x = 2.0\nq = x*x\nf = q - x\ndq = 1\ndx = 2*x*dq\ndx = dx - 1\n").status == "pass"
    assert run("x = 2.0\nq = x*x\nf = q - x\ndq = 1\ndx = 2*x*dq\ndx = 1 - dx\n").status == "mismatch"


# --- dNAME<k>: an element only for a scalar line of a vector --------------------------------------------

def test_dw0_is_an_element_of_a_vector_and_dW1_of_a_matrix_is_a_helper():
    case = run("w = [3.0, -4.0]\nx = 2.0\nf = w[0]*x + w[1]\ndw0 = x\ndw1 = 1.0\n")
    assert [r.status for r in case.lines] == ["pass", "pass"]
    np.testing.assert_array_equal(grads(case)["w"].expected, [2.0, 1.0])
    wide = run("import numpy as np\nW = np.array([[1.0, 2.0], [3.0, 4.0]])\nf = np.sum(W*W)\ndW0 = 2*W[0]\n")
    assert rows(wide)[4].diagnosis == ("dW0 is read as a helper of your own (dW0 is element 0 of W only when W is a "
                                      "vector; W has shape (2, 2)), and no line reads it: write dW = ... for the whole gradient")


def test_an_element_past_the_end_is_a_helper_not_an_index_error():
    case = run("w = [1.0, 2.0]\nf = w[0]*w[1]\ndw0 = w[1]\ndw1 = w[0]\ndw5 = 3\n")
    assert rows(case)[5].diagnosis.startswith("dw5 is read as a helper of your own (w has no element 5: its shape is (2,))")


# --- numpy's makers in any line -------------------------------------------------------------------------

def test_makers_in_forward_lines_and_d_lines_are_numpys():
    text = ("import numpy as np\nx = np.array([1.0, 2.0, 3.0])\n"
            "f = np.sum((np.eye(3) @ x + np.ones(3) + np.full(3, 0.5) + np.arange(3) + np.zeros_like(x)) ** 2)\n"
            "dx = np.zeros_like(x)\ndx += 2 * (x + 1.5 + np.arange(3)) * np.ones_like(x)\n")
    case = run(text)
    assert case.status == "pass", case.message
    x = np.array([1.0, 2.0, 3.0])
    assert case.value == pytest.approx(np.sum((x + 1.5 + np.arange(3)) ** 2))
    assert set(case.point) == {"x"}  # the made values are no inputs of yours


def test_random_draws_in_lines_follow_the_cells_seed_and_are_drawn_once():
    text = ("import numpy as np\nnp.random.seed(3)\nW = np.random.randn(3, 2)\nx = np.random.randn(3)\n"
            "f = np.sum(np.tanh(x @ W) * np.random.uniform(-1, 1, size=2))\n")
    case = run(text, wrt="W")
    np.random.seed(3)
    W, x, v = np.random.randn(3, 2), np.random.randn(3), np.random.uniform(-1, 1, size=2)
    np.testing.assert_array_equal(case.point["W"], W)
    assert case.value == pytest.approx(np.sum(np.tanh(x @ W) * v), rel=1e-15)
    assert case.status == "pass" and not any("np.random drew" in n for n in case.notes)


def test_unseeded_random_draws_get_a_note_with_the_seed():
    case = run("import numpy as np\nW = np.random.randn(3, 2)\nf = np.sum(W ** 2)\ndW = 2 * W\n", seed=7)
    assert ("line 2: np.random drew with seed 7 (the cell sets no np.random.seed before this line; --seed is 7): "
            "the values differ from the notebook's; put np.random.seed(N) in the cell or pass --seed N") in case.notes


# --- the first wrong line is the cause ------------------------------------------------------------------

def test_a_typo_is_the_first_wrong_line_not_the_lines_that_then_read_nothing():
    text = "x = 2.0\nq = 3*x\nf = q*q\ndqq = 2*q\ndx = 3*dq\n"
    case = run(text)
    assert case.first_wrong_line == 4
    assert rows(case)[4].diagnosis == "dqq names no forward value or input ('qq' is not assigned above), and no line reads it: a typo of dq?"
    assert rows(case)[5].consequence and "'dq' is read, but no line assigns it" in rows(case)[5].diagnosis


def test_a_line_that_raises_is_the_cause():
    text = "import numpy as np\nW = np.ones((2, 3))\nx = np.ones(3)\nf = np.sum(W @ x)\ndW = np.outer(np.ones(2), x) @ np.ones(2)\ndx = W.T @ np.ones(2)\n"
    case = run(text)
    assert case.first_wrong_line == 5 and rows(case)[5].status == "error"


# --- one reading of programs for every entry ------------------------------------------------------------

ONE_LINE = "import numpy as np; x = 3.0; y = x*x; dx = 2*x"


def test_the_api_eval_check_and_pytest_read_a_program_the_same_way(cli, tmp_path):
    from gradcheck_cli import check, pytest_plugin
    from gradcheck_cli.files.format import Line
    from gradcheck_cli.files.runner import check_unit

    settings = pytest_plugin.settings_from(pytest_plugin.DEFAULT_SAMPLES, pytest_plugin.DEFAULT_SEED, exact=False)
    for text, status, code in ((ONE_LINE, "pass", 0), (ONE_LINE.replace("2*x", "3*x"), "mismatch", 1)):
        assert check(text, exact=False).status == status  # was a ParseError: `;` read as one expression
        assert cli("eval", text, "--no-exact").exit_code == code
        path = tmp_path / f"{status}.gc.py"
        path.write_text(text + "\n", encoding="utf-8")
        assert cli("check", str(path), "--no-exact").exit_code == code
        assert [c.case.status for c in check_unit(Line(str(path), 1, text, kind="program"), settings)] == [status]


def test_looks_like_program_is_the_one_test():
    from gradcheck_cli.lang.program import looks_like_program

    assert all(looks_like_program(t) for t in (ONE_LINE, "x, y = 3, -4\nf = x*y", "print(x)\nf = x", "h *= 2",
                                               "for i in range(3):\n    x = x + 1"))
    assert not any(looks_like_program(t) for t in ("x*y", "sum(x, axis=0)", "x == y", "(x+sigma(y))/(sigma(x)+(x+y)**2)"))


# --- issue 22: a cell's mistakes, pasted as typed, through the CLI --------------------------------------

def test_plots_and_python2_prints_are_skipped_with_a_note(cli, tmp_path):
    path = tmp_path / "cell.py"
    path.write_text("import matplotlib.pyplot as plt\nx = 3.0\ny = 2.0\nplt.plot(x, y)\nplt.show()\n"
                    "fig, ax = plt.subplots()\nf = x*y\ndx = y\ndy = x\nprint dx\nprint 'dy', dy\n", encoding="utf-8")
    result = cli("eval", f"@{path}")
    assert result.exit_code == 0, result.output
    assert "note: lines 4, 5, 6: a plot: skipped" in result.stdout
    assert "note: lines 10, 11: a Python 2 print: skipped" in result.stdout


def test_seed004_neuron_case_python2_prints_sig_and_an_input_f_does_not_use():
    case = run(cell("seed004_neuron.txt"))
    assert case.status == "pass", case.message
    assert "line 19: a Python 2 print: skipped: print [a_grad,b_grad,c_grad,x_grad,y_grad]" in case.notes
    assert "line 12: f does not depend on h: it is not checked" in case.notes
    assert {g.var for g in case.gradients} == {"a", "b", "c", "x", "y"}
    # the guide's own finite differences printed da = -0.10499758359205913 with h = 1e-4; the exact value:
    assert grads(case)["a"].expected == pytest.approx(-0.10499358540350662, rel=1e-14)


def test_sig_and_unseeded_randn_through_the_cli(cli, tmp_path):
    path = tmp_path / "cell.py"
    path.write_text("import numpy as np\nW = np.random.randn(2)\nq = np.sum(W * 2.0)\nf = sig(q)\ndq = f*(1-f)\n"
                    "dW = 2.0 * dq * np.ones(2)\n", encoding="utf-8")
    result = cli("eval", f"@{path}", "--no-exact", "--seed", "5")
    assert result.exit_code == 0, result.output
    assert "note: line 2: np.random drew with seed 5 (the cell sets no np.random.seed before this line; --seed is 5)" \
        in " ".join(result.stdout.split())


def test_sig_and_sigmoid_are_sigma_unless_the_cell_defines_them():
    assert run("x = 3.0\nq = 2*x\nf = sig(q)\ndq = f*(1-f)\ndx = 2*dq\n").value == pytest.approx(1 / (1 + math.exp(-6)))
    assert run("x = 3.0\nf = sigmoid(x)\ndx = f*(1-f)\n").status == "pass"
    own = run("def sig(t):\n    return 1/(1+np.exp(-2*t))\nx = 1.0\nf = sig(x)\ndx = 2*f*(1-f)\n")
    assert own.value == pytest.approx(1 / (1 + math.exp(-2))) and own.status == "pass"  # the user's own sig wins


def test_every_input_without_a_value_is_named_in_one_message(cli, tool_error, tmp_path):
    path = tmp_path / "neuron.py"
    path.write_text("q = a*x + b*y + c\nf = sig(q)\ndf = 1\ndq = (f*(1-f))*df\nda = x * dq\n", encoding="utf-8")
    err = tool_error(cli("eval", f"@{path}"), f"{path}:1:5: inputs 'a', 'x', 'b', 'y', 'c' have no value: assign them "
                     "before line 1 (a = ...) or give --at \"a=..., x=..., b=..., y=..., c=...\"")
    assert err.splitlines()[2].index("^") == 2 + 4
    assert cli("eval", f"@{path}", "--at", "a=1, b=2, c=-3, x=-1, y=3").exit_code == 0


BLOCKS = [
    ("x = 3.0\nfor i in range(3):\n    x = x*2\nf = x\n", 2, 1, "'for' (lines 2-3) is a loop: gradcheck reads straight-line "
     "code: unroll it (one assignment per step), or check your functions with `gradcheck function FILE.py:f --grad FILE.py:g`"),
    ("x = 3.0\nwhile x < 10:\n    x = x*2\nf = x\n", 2, 1, "'while' (lines 2-3) is a loop"),
    ("x = 3.0\n  \nif x > 0:\n    f = x*x\nelse:\n    f = -x\n", 3, 1, "'if' (lines 3-6) is a branch: gradcheck reads "
     "straight-line code: keep the lines of the branch your point takes, or write the choice with max, min, relu or abs"),
    ("x = 3.0; f = x\nclass Gate:\n    def forward(self, a):\n        return a\n", 2, 1, "'class' (lines 2-4) is a class: "
     "gradcheck reads straight-line code: write its forward pass as assignments, or check your functions with"),
    ("x = 3.0\nwith np.errstate(all='ignore'):\n    f = np.log(x)\n", 2, 1, "'with' (lines 2-3) is a 'with' block: write the lines inside it without the 'with'"),
    ("x = 3.0\ntry:\n    f = x*x\nexcept ValueError:\n    f = x\n", 2, 1, "'try' (lines 2-5) is a 'try' block: write the lines inside it without the 'try'"),
    ("x = 3.0\nf = x*x\ndx = np.zeros(1)\ndx[0] = 2*x\n", 4, 1, "assignment to an element (dx[0] = ...) is not read"),
]


@pytest.mark.parametrize("text, line, column, message", BLOCKS)
def test_blocks_say_what_to_do_instead_with_a_caret(cli, tool_error, tmp_path, text, line, column, message):
    path = tmp_path / "cell.py"
    path.write_text(text, encoding="utf-8")
    err = tool_error(cli("eval", f"@{path}"), f"{path}:{line}:{column}: {message}")
    assert err.splitlines()[2].index("^") == 2 + column - 1


INTERNAL_BEFORE = [  # each was an internal error or a message without a place
    ("import numpy as np\nx = np.ones(3)\nW = np.zeros((3, 3))\nf = np.sum(np.tanh(W @ x + np.ones(3)))\n", None, 0, None),
    ("import numpy as np\nx = np.random.randn(3)\nf = np.sum(x**2)\ndx = 2*x*np.ones(3)\n", None, 0, None),
    ("import numpy as np\nx = np.zeros(0)\nf = np.sum(x)\n", "cell.py:2:4: x is empty (shape (0,)): give it at least one element", 2, None),
    ("import numpy as np\nx = np.random.randint(5, 2, size=3)\nf = np.sum(x*x)\n", "cell.py:2:4: np.random: low >= high", 2, None),
    ("def g(t):\n    return g(t)\nx = 1.0\nf = g(x)\n", "cell.py:1:1: function 'g' calls itself", 2, None),
    ("import numpy as np\nx = np.ones(3)\nW = np.ones((2, 2))\nf = np.sum(W @ x)\n", "cell.py:4:14: shapes (2, 2) and (3,) do not align", 2, None),
    ("np.random.seed(x)\nx = 1.0\nf = x*x\n", "cell.py:1:1: np.random.seed takes an integer written out", 2, None),
    ("def g(t):\n    for i in range(3):\n        t = t*2\n    return t\nx = 1.0\nf = g(x)\n",
     "cell.py:2:5: function 'g' (called on line 6) cannot be inlined: 'for' in a function is not read", 2, None),
    ("x = 1.0\ng = lambda t: t*t\nf = g(x)\n", "cell.py:2:12: a lambda is not read: write def NAME(ARGS): return EXPR (g is used on line 3)", 2, None),
]


@pytest.mark.parametrize("text, message, code, _", INTERNAL_BEFORE)
def test_what_was_an_internal_error_is_a_result_or_a_one_line_message(cli, tool_error, tmp_path, monkeypatch, text, message, code, _):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cell.py").write_text(text, encoding="utf-8")
    result = cli("eval", "@cell.py", "--no-exact")
    if message is None:
        assert result.exit_code == code, result.output
    else:
        tool_error(result, message)


def test_a_loop_after_a_d_line_with_a_maker_is_skipped():
    case = run("import numpy as np\nx = np.ones(2)\nf = np.sum(x*x)\ndx = 2*x*np.ones(2)\nfor i in range(2):\n    print(i)\n")
    assert case.status == "pass" and "line 5: a 'for' block after the backward pass: skipped (lines 5-6)" in case.notes


def test_two_cells_with_two_forward_passes_say_where_to_cut():
    with pytest.raises(GradcheckError) as info:
        run("x = 2.0\nf = x*x\ndx = 2*x\nx = 3.0\ng = x*x*x\ndx = 3*x*x\n")
    assert info.value.message == ("'x = ...' after the backward pass (from line 3) starts another forward pass: gradcheck "
                                  "checks one forward and backward pass at a time; check lines 1-3 and the lines from 4 on "
                                  "as two cells")
    assert info.value.position.line == 4


# --- how a cell spells its gradients -----------------------------------------------------------------------------------

NEURON = """x = 2.0
w0 = 3.0
w1 = -4.0
a = x * w0
b = a + w1
f = 1 / (1 + np.exp(-b))
{b} = f * (1 - f)
{a} = {b}
{x} = {a} * {w}
{w0} = {a} * x
{w1} = {b}
"""


@pytest.mark.parametrize("prefix, suffix", [("d", ""), ("dfd", ""), ("grad_", ""), ("", "_grad"), ("d_", ""),
                                            ("dL_d", ""), ("dLd", ""), ("dloss_d", ""), ("dlossd", "")])
def test_a_backward_pass_spelled_grad_x_or_x_grad_is_judged_line_by_line(prefix, suffix):
    """grad_x, x_grad, dL_dx ... were forward lines to gradcheck (f the last of them): a wrong one passed."""
    names = {n: f"{prefix}{n}{suffix}" for n in ("b", "a", "x", "w0", "w1")}
    right = run(NEURON.format(w="w0", **names))
    assert right.status == "pass", right.message
    assert [row.status for row in right.lines] == ["pass"] * 5 and right.value == pytest.approx(1 / (1 + math.exp(-2)))
    wrong = run(NEURON.format(w="w1", **names))  # dx = da * w1: the wrong weight
    assert wrong.status == "mismatch" and wrong.first_wrong_line == 9, wrong.message


def test_a_cell_of_d_lines_keeps_other_spellings_as_what_they_are():
    """Seed 004 spells its numerical check a_grad = (f(a+h) - f(a))/h before its forward pass and its d-lines da, dx:
    the cell's gradients are its d-names, and a_grad is not one."""
    case = run(cell("seed004_neuron.txt"))
    assert case.status == "pass" and not any(row.target.endswith("_grad") for row in case.lines)


def test_a_constant_only_a_d_line_reads_has_the_cells_value():
    """It said "'c' is read before the line that assigns it: move that line above this one", of a line above it."""
    case = run("x = 2.0\nc = 3.0\nf = x * x\ndf = 1.0\ndx = c * x * df\n")
    assert case.status == "mismatch" and case.first_wrong_line == 5
    assert rows(case)[5].diagnosis == "reads c where x was needed"
    assert run("x = 2.0\nc = 2.0\nf = x * x\ndf = 1.0\ndx = c * x * df\n").status == "pass"


def test_shapes_may_use_integers_the_cell_assigned():
    """np.random.randn(N, D) and np.zeros((N*K, D)), as cells write them: a shape had to be written as digits."""
    case = run("import numpy as np\nnp.random.seed(1)\nN = 4\nK = 2\nD = 3\nX = np.random.randn(N*K, D)\n"
               "W = 0.01 * np.random.randn(D, K) + np.zeros((D, K))\nscores = np.dot(X, W)\nf = np.sum(scores ** 2)\n"
               "dscores = 2 * scores\ndW = np.dot(X.T, dscores)\n")
    assert case.status == "pass", case.message
    assert np.shape(case.point["X"]) == (8, 3) and np.shape(case.point["W"]) == (3, 2)
    for text, message in [("N = 4\nX = np.random.randn(N * 2.5, 2)\nf = np.sum(X)\n", "must be an integer here"),
                          ("N = 4.5\nX = np.random.randn(N, 2)\nf = np.sum(X)\n", "must be a literal .* got 'N'"),
                          ("X = np.random.randn(M, 2)\nf = np.sum(X)\n", "must be a literal")]:
        with pytest.raises(GradcheckError, match=message):
            run(text)


SOFTMAX = """import numpy as np
np.random.seed(0)
N = 5
X = np.random.randn(N, 2)
Y = np.array([[1., 0, 0], [0, 1, 0], [0, 0, 1], [0, 1, 0], [1, 0, 0]])
W = 0.01 * np.random.randn(2, 3)
b = np.zeros((1, 3))
reg = 1e-3
scores = np.dot(X, W) + b
exp_scores = np.exp(scores)
probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
data_loss = -np.sum(Y * np.log(probs)) / N
loss = data_loss + 0.5 * reg * np.sum(W * W)
dscores = probs - Y
dscores /= N
dW = np.dot(X.T, dscores)
db = np.sum(dscores, axis=0, keepdims=True)
dW += reg * W
"""


def test_a_gradient_built_in_steps_is_judged_as_one_line():
    """cs231n's softmax: dscores = probs - Y, then dscores /= N. Each step was held to the whole gradient: both lines
    were wrong in a right cell. And the one-hot Y (0s and 1s) was drawn anew, where probs - Y no longer holds."""
    case = run(SOFTMAX)
    assert case.status == "pass", case.message
    assert rows(case)[14].status == "helper" and rows(case)[14].diagnosis == "a step of dscores, judged with line 15"
    assert rows(case)[15].status == "pass"
    for wrong, line in [("dscores = probs + Y", 15), ("dscores /= 2", 15), ("dW += 2 * reg * W", 18)]:
        old = {"dscores = probs + Y": "dscores = probs - Y", "dscores /= 2": "dscores /= N",
               "dW += 2 * reg * W": "dW += reg * W"}[wrong]
        case = run(SOFTMAX.replace(old, wrong))
        assert case.status == "mismatch" and case.first_wrong_line == line, (wrong, case.message)
    assert "dscores after its steps (lines 14-15)" in run(SOFTMAX.replace("dscores = probs - Y", "dscores = probs + Y")).message
    missing = run(SOFTMAX.replace("dscores /= N\n", ""))  # one line left: it is the whole gradient, a factor N off
    assert missing.first_wrong_line == 14 and "an extra factor N" in rows(missing)[14].diagnosis


LOGREG = """import numpy as np
np.random.seed(3)
X = np.random.randn(8, 3)
y = np.array([1., 0, 1, 1, 0, 0, 1, 0])
w = np.random.randn(3)
b = 0.1
z = X.dot(w) + b
p = 1 / (1 + np.exp(-z))
loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
dz = (p - y) / 8
dw = X.T.dot(dz)
db = np.sum(dz)
"""


@pytest.mark.parametrize("line, said", [("dz = (p - y)", "an extra factor 8 (this line divided by 8 is right)"),
                                        ("dz = (p - y) / 64", "a factor 8 is missing (this line times 8 is right)")])
def test_a_factor_written_as_a_number_is_named(line, said):
    case = run(LOGREG.replace("dz = (p - y) / 8", line))
    assert case.first_wrong_line == 10 and rows(case)[10].diagnosis == said


def test_a_helper_read_by_two_wrong_lines_is_described_with_its_own_value():
    """dtanh (a helper: tanh has no name) was blamed by dWx and again by dWh; the second said `this line gives X; the
    true value is X` with the same X, the fix written over the line's own value."""
    cell = ("import numpy as np\nnp.random.seed(1)\nx = np.random.randn(3)\nh_prev = np.random.randn(4)\n"
            "Wx = np.random.randn(4, 3)\nWh = np.random.randn(4, 4)\nb = np.random.randn(4)\n"
            "h = np.tanh(Wx.dot(x) + Wh.dot(h_prev) + b)\nloss = np.sum(h * h)\ndh = 2 * h\n"
            "dtanh = (1 - h) * dh\ndWx = np.outer(dtanh, x)\ndWh = np.outer(dtanh, h_prev)\n"
            "dh_prev = Wh.T.dot(dtanh)\ndx = Wx.T.dot(dtanh)\ndb = dtanh\n")
    case = run(cell)
    said = rows(case)[11].diagnosis
    assert case.first_wrong_line == 11 and said.startswith("this line gives [-3.99557")
    assert run(cell.replace("(1 - h) * dh", "(1 - h ** 2) * dh")).status == "pass"


TWO_LAYER_MASK = SOFTMAX.replace("W = 0.01 * np.random.randn(2, 3)\nb = np.zeros((1, 3))\n",
                                 "W = 0.5 * np.random.randn(2, 4)\nb = np.zeros((1, 4))\nW2 = 0.5 * np.random.randn(4, 3)\n"
                                 "b2 = np.zeros((1, 3))\n").replace(
    "scores = np.dot(X, W) + b\n", "hidden_layer = np.maximum(0, np.dot(X, W) + b)\nscores = np.dot(hidden_layer, W2) + b2\n").replace(
    "loss = data_loss + 0.5 * reg * np.sum(W * W)\n", "loss = data_loss + 0.5 * reg * np.sum(W * W) + 0.5 * reg * np.sum(W2 * W2)\n").replace(
    "dW = np.dot(X.T, dscores)\ndb = np.sum(dscores, axis=0, keepdims=True)\ndW += reg * W\n",
    "dW2 = np.dot(hidden_layer.T, dscores)\ndb2 = np.sum(dscores, axis=0, keepdims=True)\ndhidden = np.dot(dscores, W2.T)\n"
    "dhidden[hidden_layer <= 0] = 0\ndW = np.dot(X.T, dhidden)\ndb = np.sum(dhidden, axis=0, keepdims=True)\n"
    "dW2 += reg * W2\ndW += reg * W\n")


def test_a_mask_assigned_to_elements_is_read_as_the_whole_value_it_makes():
    """Karpathy's case study and cs231n's relu backward: dhidden[hidden_layer <= 0] = 0. It was refused (an element
    assignment); it is dhidden * (1 - (hidden_layer <= 0)) + 0 * (hidden_layer <= 0)."""
    assert "dhidden[hidden_layer <= 0] = 0" in TWO_LAYER_MASK
    case = run(TWO_LAYER_MASK)
    assert case.status == "pass", case.message
    mask_line = TWO_LAYER_MASK.split("\n").index("dhidden[hidden_layer <= 0] = 0") + 1
    assert rows(case)[mask_line].status == "helper"  # dhidden: no forward name `hidden`, judged through dW and db
    assert run(TWO_LAYER_MASK.replace("dhidden[hidden_layer <= 0] = 0\n", "")).status == "mismatch"
    assert run(TWO_LAYER_MASK.replace("hidden_layer <= 0", "hidden_layer < 0")).status == "mismatch"  # never true: no mask
    assert run(TWO_LAYER_MASK.replace("dhidden[hidden_layer <= 0] = 0", "dhidden[hidden_layer <= 0] *= 0")).status == "pass"
    with pytest.raises(GradcheckError, match="assignment to an element"):  # an index is still not a whole value
        run(TWO_LAYER_MASK.replace("dhidden[hidden_layer <= 0] = 0", "dhidden[0, 1] = 0"))
