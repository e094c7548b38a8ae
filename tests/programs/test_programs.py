"""Programs: the seeds' forward/backward cells as written, green; broken copies, one per kind of mistake,
each blamed on the right line with the right diagnosis; user gates and their audit; bad programs."""

from __future__ import annotations

import glob
import math
import os

import numpy as np
import pytest

from gradcheck_cli.errors import GradcheckError
from gradcheck_cli.session import check_program_text

HERE = os.path.dirname(__file__)
PROGRAMS = sorted(glob.glob(os.path.join(HERE, "..", "..", "expressions", "programs", "*.gc.py")))


def program(name: str) -> str:
    with open(os.path.join(HERE, "..", "..", "expressions", "programs", name), encoding="utf-8") as handle:
        return handle.read()


def run(text: str, **kwargs):
    return check_program_text(text, "cell.py", **kwargs)


def lines_of(case) -> dict[int, object]:
    return {row.line: row for row in case.lines}


@pytest.mark.parametrize("path", PROGRAMS, ids=[os.path.basename(p) for p in PROGRAMS])
def test_every_example_program_passes_line_by_line(path):
    with open(path, encoding="utf-8") as handle:
        case = check_program_text(handle.read(), path)
    assert case.status == "pass", case.message
    assert case.first_wrong_line is None
    assert case.lines and all(row.status == "pass" for row in case.lines)


def test_staged_lines_match_the_notebooks_own_numbers():
    x, y = 3.0, -4.0
    sig = lambda t: 1 / (1 + math.exp(-t))  # noqa: E731
    num, den = x + sig(y), sig(x) + (x + y) ** 2
    case = run(program("cs231n_staged.gc.py"))
    rows = lines_of(case)
    assert rows[18].target == "dnum" and rows[18].yours == pytest.approx(1 / den, rel=1e-15)
    assert rows[22].target == "dden" and rows[22].yours == pytest.approx(-num / den ** 2, rel=1e-15)
    grads = {g.var: g for g in case.gradients}
    assert grads["x"].expected == pytest.approx(2.059569795572165, rel=1e-15)  # your final dx, judged as a claim


def test_neuron_gradients_are_the_printed_ones():
    case = run(program("cs231n_neuron.gc.py"))
    grads = {g.var: g for g in case.gradients}
    np.testing.assert_allclose(grads["x"].expected, [0.3932238664829637, -0.5898357997244456], rtol=1e-15)
    np.testing.assert_allclose(grads["w"].expected, [-0.19661193324148185, -0.3932238664829637, 0.19661193324148185], rtol=1e-15)


def test_task3_lines_give_the_notebooks_gradients():
    case = run(program("task3_two_layer.gc.py"))
    rows = {row.target: row for row in case.lines}
    np.testing.assert_allclose(rows["dW1"].yours, [[-0.00936392, -0.00027222], [-0.13964014, -0.0040595]], atol=5e-9)
    np.testing.assert_allclose(rows["db2"].yours, [[-0.22768073]], atol=5e-9)
    np.testing.assert_allclose(case.value, [[0.25835725]], atol=5e-9)


STAGED = program("cs231n_staged.gc.py")


@pytest.mark.parametrize("wrong,right,line,diagnosis", [
    ("dden = (-1.0 / (den**2)) * dinvden", "dden = (1.0 / (den**2)) * dinvden", 22, "the sign is flipped"),
    ("dden = (-1.0 / (den**2)) * dinvden", "dden = (-1.0 / den) * dinvden", 22, "extra factor den"),
    ("dxpy = (2 * xpy) * dxpysqr", "dxpy = (xpy) * dxpysqr", 29, "a factor 2 is missing"),
    ("dxpy = (2 * xpy) * dxpysqr", "dxpy = (4 * xpy) * dxpysqr", 29, "a factor 2 too many"),
    ("dx += ((1 - sigx) * sigx) * dsigx", "dx = ((1 - sigx) * sigx) * dsigx", 36, "'=' where '+=' was needed"),
    ("dx += (1) * dnum ", "# (forgotten)", 36, "misses the contribution through line 9 (num = x + sigy)"),
    ("dy += ((1 - sigy) * sigy) * dsigy", "dy += ((1 - sigy) * sigy) * dnum * dden", 43, "this line gives"),
    ("dxpy = (2 * xpy) * dxpysqr", "dxpy = (2 * xpy) * dinvden", 29, "reads dinvden where d"),
])
def test_one_wrong_line_is_blamed_with_its_diagnosis(wrong, right, line, diagnosis):
    assert wrong in STAGED
    case = run(STAGED.replace(wrong, right))
    assert case.status == "mismatch"
    assert case.first_wrong_line == line
    row = lines_of(case)[line]
    assert row.status == "wrong" and diagnosis in row.diagnosis, row.diagnosis
    # lines before the mistake, in backprop order, stay right: each line is judged on its own
    assert all(r.status == "pass" for r in case.lines if r.line < line and r.target in ("dnum", "dinvden"))


def test_a_later_line_is_judged_on_true_inputs_not_through_an_earlier_mistake():
    case = run(STAGED.replace("dden = (-1.0 / (den**2)) * dinvden", "dden = (1.0 / (den**2)) * dinvden"))
    rows = lines_of(case)
    assert rows[22].status == "wrong"
    # dsigx = (1) * dden is right on its own, though its value (yours) carries the flipped sign
    assert rows[25].status == "pass" and rows[25].yours == pytest.approx(-rows[25].true)


def test_transposed_matrix_is_diagnosed():
    case = run(program("task3_two_layer.gc.py").replace("dW2 = np.dot(dz2, a1.T)", "dW2 = np.dot(a1, dz2)"))
    row = {r.target: r for r in case.lines}["dW2"]
    assert row.status == "wrong" and "transposed" in row.diagnosis


@pytest.mark.parametrize("wrong, line, said", [
    ("dz1 = da1", "dz1", "a mask is missing: this line times (z1 > 0) is right"),
    ("db1 = da1", "db1", "a mask is missing: this line times (z1 > 0) is right"),
    ("dW2 = np.dot(dz2, z1.T)", "dW2", "reads z1 where a1 was needed"),
    ("dW1 = np.dot(da1, x.T)", "dW1", "reads da1 where dz1 was needed"),
])
def test_a_line_right_only_at_the_cells_values_is_found_at_a_random_draw(wrong, line, said):
    """At the notebook's seed-42 point every pre-activation is positive (np.random.rand): relu's mask is all ones, so
    these lines give the true values there. The inputs with a d-line are drawn again, and the draw shows them."""
    right = program("task3_two_layer.gc.py")
    target = {"dz1": "dz1 = da1 * (z1 > 0)", "db1": "db1 = dz1", "dW2": "dW2 = np.dot(dz2, a1.T)", "dW1": "dW1 = np.dot(dz1, x.T)"}
    text = right.replace(target[line], wrong)
    case = run(text)
    row = {r.target: r for r in case.lines}[line]
    assert case.status == "mismatch" and row.status == "wrong" and said in row.diagnosis, (row, case.message)
    assert case.first_wrong_line == row.line
    assert any(f"every d-line holds at the cell's own values, but line {row.line} does not at a random draw of "
               "W1, b1, W2, b2 (seed 42)" in note for note in case.notes), case.notes
    assert np.any(np.asarray(case.point["W1"]) < 0)  # shown at the draw (np.random.rand's W1 is positive)
    assert run(text, at="W1=[[0.5, 0.25], [0.75, 1]]").status == "pass"  # a point given with --at is checked as given
    assert run(right).status == "pass" and not any("random draw" in note for note in run(right).notes)


def test_missing_relu_mask_shows_where_a_unit_is_off():
    text = program("task3_two_layer.gc.py").replace("dz1 = da1 * (z1 > 0)", "dz1 = da1")
    case = run(text, at="b1=[[-1], [0.5]]")
    row = {r.target: r for r in case.lines}["dz1"]
    assert row.status == "wrong" and "a mask is missing: this line times (z1 > 0) is right" in row.diagnosis
    assert case.first_wrong_line == row.line


def test_karpathy_loop_body_as_written_has_a_typo_that_is_caught():
    text = program("karpathy_two_layer.gc.py").replace("dn1 = a4 * dscore", "dna = a4 * dscore")
    case = run(text)
    assert case.status in ("mismatch", "error")
    reasons = " ".join(r.diagnosis or "" for r in case.lines)
    assert "dn1" in reasons and "dna names no forward value" in reasons


def test_a_wrong_user_gate_rule_is_named_by_gate_and_argument():
    text = ("def softplus(t) = log(1 + exp(t))\nd softplus/dt = sigma(t) * 1.01\n"
            "x = 0.7\nw = 1.3\nf = softplus(w * x) * x\n")
    case = run(text)
    assert case.status == "mismatch"
    assert "gate softplus: your rule d softplus/dt = sigma(t) * 1.01 is wrong" in case.message
    assert run(text.replace(" * 1.01", "")).status == "pass"


def test_two_argument_gate_and_its_rules():
    text = ("def hyp(a, b) = sqrt(a*a + b*b)\nd hyp/da = a / hyp(a, b)\nd hyp/db = b / hyp(a, b)\n"
            "u = 3.0\nv = 4.0\nf = hyp(u * 2, v) ** 2\n")
    case = run(text)
    assert case.status == "pass", case.message
    assert {g.var: g.exact for g in case.gradients} == pytest.approx({"u": 24.0, "v": 8.0})
    bad = run(text.replace("d hyp/db = b / hyp(a, b)", "d hyp/db = a / hyp(a, b)"))
    assert "gate hyp: your rule d hyp/db" in bad.message


def test_inputs_without_values_and_at_overrides():
    text = "q = a*x + b\nf = q**2\ndf = 1\ndq = 2*q*df\n"
    with pytest.raises(GradcheckError) as info:
        run(text)  # every input without a value, in one message, with the --at to add
    assert info.value.message == ("inputs 'a', 'x', 'b' have no value: assign them before line 1 (a = ...) "
                                  'or give --at "a=..., x=..., b=..."')
    assert (info.value.position.line, info.value.position.column) == (1, 5)
    case = run(text, at="a=1, x=2, b=3")
    assert case.status == "pass", case.message
    assert lines_of(case)[4].yours == pytest.approx(10.0)


@pytest.mark.parametrize("text,fragment,line", [
    ("x = 1\nfor i in range(3):\n    x = x + 1\n", "'for' (lines 2-3) is a loop: gradcheck reads straight-line code: "
     "unroll it (one assignment per step), or check your functions with `gradcheck function FILE.py:f --grad FILE.py:g`", 2),
    ("x = 1\ny, z = foo(x)\nf = y * z\n", "assigns 2 names from one value (a tuple from a call is not read): write one "
     "assignment per name (y = ...) (y is used on line 3)", 2),
    ("x = 1\nf = x ^ 2\n", "use '**'", 2),
    ("x = 1\nf = foo(x)\n", "unknown function 'foo'", 2),
    ("x = 1\nd softplus/dx = 1\n", "not a gate defined above", 2),
])
def test_bad_programs_are_errors_with_line_and_column(text, fragment, line):
    with pytest.raises(GradcheckError) as info:
        run(text)
    assert fragment in info.value.message
    assert info.value.position.line == line and info.value.position.file == "cell.py"


def test_reading_a_d_name_before_it_is_assigned_is_a_line_error():
    case = run("x = 2.0\nf = x * x\ndx = 2 * x * dg\n")
    row = lines_of(case)[3]
    assert row.status == "error"
    assert case.first_wrong_line == 3


def test_a_cell_that_names_a_value_e_or_pi_shadows_the_constant():
    # e = np.exp(x) then log(1 + e): the cell's e, not 2.718 (found writing the docs: f was the constant's log)
    case = run("import numpy as np\nx = 2.0\ne = np.exp(x)\nf = np.log(1 + e)\ndf = 1.0\nde = df / (1 + e)\ndx = de * e\n")
    assert case.value == pytest.approx(math.log(1 + math.exp(2)), rel=1e-15) and case.status == "pass"
    assert lines_of(case)[6].yours == pytest.approx(1 / (1 + math.exp(2)), rel=1e-15)


def test_a_right_line_is_not_blamed_when_the_gate_rule_is_wrong():
    # the d-lines are judged against the true derivative; the wrong rule is the gate audit's finding
    case = run("def softplus(t) = log(1 + exp(t))\nd softplus/dt = exp(t)\n\nx = 0.5\nf = softplus(x)\n\n"
               "df = 1.0\ndx = sigma(x) * df\n")
    assert lines_of(case)[8].status == "pass" and lines_of(case)[8].true == pytest.approx(1 / (1 + math.exp(-0.5)))
    assert case.status == "mismatch" and "gate softplus: your rule d softplus/dt = exp(t) is wrong" in case.message


def test_a_scalar_relu_without_its_mask_is_diagnosed_as_a_missing_mask():
    text = program("karpathy_two_layer.gc.py").replace("dz2 = dn2 * (z2 > 0)", "dz2 = dn2")
    case = run(text)
    assert case.first_wrong_line == 29
    assert lines_of(case)[29].diagnosis == "a mask is missing: this line times (z2 > 0) is right"
