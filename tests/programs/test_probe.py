"""Random draws of a program's inputs (programs/probe.py): a line right only at the cell's own values is found, the
case is shown at the draw and says so, and nothing else changes."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest

from gradcheck_cli.programs import probe
from gradcheck_cli.report.program_table import _line_cells
from gradcheck_cli.session import check_program_text

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
TASK3 = open(os.path.join(ROOT, "expressions", "programs", "task3_two_layer.gc.py"), encoding="utf-8").read()
NO_MASK = TASK3.replace("dz1 = da1 * (z1 > 0)", "dz1 = da1")


def run(text: str, **kwargs):
    return check_program_text(text, "cell.py", **kwargs)


def test_the_message_says_the_case_is_at_a_draw_and_the_draw_is_the_same_every_run():
    case = run(NO_MASK)
    assert case.message.startswith("at a random draw of W1, b1, W2, b2 (the cell's own values pass every line): "
                                   "line 33 (dz1 = da1) is wrong: a mask is missing")
    again = run(NO_MASK)
    assert all(np.array_equal(case.point[k], again.point[k]) for k in case.point)


def test_only_inputs_with_a_d_line_are_drawn():
    """x has no d-line in Task 3 and y is a label: both keep the cell's values; the weights are drawn."""
    own = run(TASK3).point  # right: shown at the cell's own values
    drawn = run(NO_MASK).point
    for name in ("x", "y"):
        assert np.array_equal(np.asarray(drawn[name]), np.asarray(own[name])), name
    for name in ("W1", "b1", "W2", "b2"):
        assert not np.array_equal(np.asarray(drawn[name]), np.asarray(own[name])), name


def test_a_draw_where_the_forward_pass_is_not_finite_is_skipped():
    """dx = 2*x is the true 1/x + 1 at x = 1 only; half the draws are negative (log is NaN there) and are skipped."""
    text = "import numpy as np\nx = 1.0\nf = np.log(x) + x\ndx = 2 * x\n"
    case = run(text)
    assert case.status == "mismatch" and case.first_wrong_line == 4
    assert float(np.asarray(case.point["x"])) > 0 and np.isfinite(case.value).all()


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "expressions", "programs", "*.gc.py"))),
                         ids=os.path.basename)
def test_right_programs_pass_at_many_draws(path, monkeypatch):
    """No false alarm: every example program, right as written, passes at 40 seeds' draws (DRAWS each)."""
    text = open(path, encoding="utf-8").read()
    original = probe.draws
    for seed in range(40):
        monkeypatch.setattr(probe, "draws", lambda plan, point, names, _seed, count, also, seed=seed:
                            original(plan, point, names, seed, count, also))
        case = run(text)
        assert case.status == "pass" and not any("random draw" in note for note in case.notes), (seed, case.message)


def test_a_wrong_lines_cells_start_where_it_differs():
    """The first values of a line wrong in a few elements are often right: its cells start at the first difference."""
    example = open(os.path.join(ROOT, "docs", "examples", "relu_mask.gc.py"), encoding="utf-8").read()
    case = run(example)  # its draw: dz1's first element is right, its second is not
    _, cells = _line_cells(case.lines, 80)
    wrong = next(r for r in case.lines if r.status == "wrong")
    row = cells[case.lines.index(wrong)]
    assert row["yours"] == f"[…, {float(wrong.yours[1, 0]):.6g}] (2, 1)" and row["true"] == "[…, 0] (2, 1)"
    assert float(wrong.yours[0, 0]) == pytest.approx(float(wrong.true[0, 0]), rel=1e-12) and float(wrong.true[0, 0]) != 0
    right = next(c for c, r in zip(cells, case.lines) if r.status == "pass" and np.size(r.true) > 1)
    assert not right["yours"].startswith("[…")


def test_a_value_of_one_does_not_stand_in_for_a_constant():
    """At the seed's neuron point dot = 1: `f * ddot` where `1.0 * ddot` belongs is not 'f read where dot was needed'."""
    text = open(os.path.join(ROOT, "expressions", "programs", "cs231n_neuron.gc.py"), encoding="utf-8").read()
    case = run(text.replace("1.0 * ddot]", "f * ddot]"))
    row = next(r for r in case.lines if r.status == "wrong")
    assert row.target == "dw" and "reads f where dot was needed" not in row.diagnosis
    assert row.diagnosis == "this line gives [-0.196612, -0.393224,  0.143735]; the true value is [-0.196612, -0.393224,  0.196612]"


@pytest.mark.parametrize("text, line", [
    ("x = 1e308\nf = x * x\ndx = 2 * x\n", 3),  # f overflows: inf - inf says nothing
    ("import numpy as np\nx = 0.0\nf = np.sqrt(x)\ndx = 0.5 / np.sqrt(x)\n", 4),  # an infinite slope
])
def test_a_line_whose_true_value_is_not_finite_is_not_called_wrong(text, line):
    case = run(text)
    row = next(r for r in case.lines if r.line == line)
    assert row.status == "error" and row.diagnosis.startswith("its true value is not finite here (inf)")
    assert case.status == "error" and f"line {line} (" in case.message and "could not be judged" in case.message
    assert "is wrong" not in case.message.split(";")[0]


def test_a_scalar_relu_whose_input_is_positive_at_the_cells_values_is_drawn_negative():
    """Karpathy's 2-layer net: z1 = 0.11 at the guide's values, so dz1 = dn1 (no mask) is right there; each draw makes
    z1 negative with probability 1/2, and the six draws find it (at this seed: a 1-in-64 miss otherwise)."""
    text = open(os.path.join(ROOT, "expressions", "programs", "karpathy_two_layer.gc.py"), encoding="utf-8").read()
    case = run(text.replace("dz1 = dn1 * (z1 > 0)", "dz1 = dn1"))
    row = next(r for r in case.lines if r.status == "wrong")
    assert row.target == "dz1" and "a mask is missing: this line times (z1 > 0) is right" in row.diagnosis


def test_of_two_names_that_would_do_the_one_spelled_alike_is_named():
    """c4 and y are both 0.7 at the guide's values: `dn3 = c3 * dscore` reads c3 where c4 was needed, not y."""
    text = open(os.path.join(ROOT, "expressions", "programs", "karpathy_two_layer.gc.py"), encoding="utf-8").read()
    row = next(r for r in run(text.replace("dn3 = c4 * dscore", "dn3 = c3 * dscore")).lines if r.status == "wrong")
    assert row.diagnosis == "reads c3 where c4 was needed"


def test_a_constant_of_one_without_a_d_line_is_drawn_in_the_second_half():
    """Seed 002's Task 2 with lam = 1.0: `dreg_loss = dloss` (lam left out) is right at lam = 1 only."""
    text = open(os.path.join(ROOT, "docs", "examples", "task2_wrong.gc.py"), encoding="utf-8").read()
    text = text.replace("dW1 = -np.sign(W) * dreg_loss", "dW1 = np.sign(W) * dreg_loss")
    assert run(text).status == "pass"  # the notebook's own cell, right
    case = run(text.replace("dreg_loss = lam * dloss", "dreg_loss = dloss"))
    row = next(r for r in case.lines if r.status == "wrong")
    assert row.target == "dreg_loss" and "a factor lam is missing" in row.diagnosis, row
    assert "lam" in case.message.split(":")[0] and float(np.asarray(case.point["lam"])) != 1.0


def test_the_one_line_for_a_name_is_held_to_its_whole_gradient():
    """Seed 002's Task 2 with `dW = dW1 - dW2`: the line is wrong, not the helper dW1 (which made it give one use's
    part when replaced by the whole gradient), and its true value is the whole gradient."""
    text = open(os.path.join(ROOT, "docs", "examples", "task2_wrong.gc.py"), encoding="utf-8").read()
    text = text.replace("dW1 = -np.sign(W) * dreg_loss", "dW1 = np.sign(W) * dreg_loss")
    case = run(text.replace("dW = dW1 + dW2", "dW = dW1 - dW2"))
    wrong = [r for r in case.lines if r.status == "wrong"]
    assert [r.text for r in wrong] == ["dW = dW1 - dW2"] and case.first_wrong_line == wrong[0].line
    assert np.array_equal(np.asarray(wrong[0].true), [[15.0, 11.0]])
