"""Planted single-line mistakes in the example cells (and seed 002's Task 2 as the notebook writes it): each is named
as the first wrong line, whether it shows at the cell's own values or only at a random draw (programs/probe.py).
A line right at the cell's values only (a relu mask under rand() weights, lam = 1.0 left out) is the kind the draws
are for; the rest are wrong at the cell's values already."""

from __future__ import annotations

import os

import pytest

from gradcheck_cli.session import check_program_text

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def cell(name: str) -> str:
    if name == "task2":  # the docs' wrong example, its planted mistake undone: the notebook's cell
        text = open(os.path.join(ROOT, "docs", "examples", "task2_wrong.gc.py"), encoding="utf-8").read()
        return text.replace("dW1 = -np.sign(W) * dreg_loss", "dW1 = np.sign(W) * dreg_loss")
    return open(os.path.join(ROOT, "expressions", "programs", name), encoding="utf-8").read()


PLANTED = [
    ('task3_two_layer.gc.py', 'dz2 = (a2 - y)', 'dz2 = (y - a2)'),
    ('task3_two_layer.gc.py', 'dW2 = np.dot(dz2, a1.T)', 'dW2 = np.dot(dz2, z1.T)'),
    ('task3_two_layer.gc.py', 'db2 = dz2', 'db2 = 2 * dz2'),
    ('task3_two_layer.gc.py', 'da1 = np.dot(W2.T, dz2)', 'da1 = np.dot(W1.T, dz2)'),
    ('task3_two_layer.gc.py', 'dz1 = da1 * (z1 > 0)', 'dz1 = da1 * (a1 > 1)'),
    ('task3_two_layer.gc.py', 'dz1 = da1 * (z1 > 0)', 'dz1 = da1'),
    ('task3_two_layer.gc.py', 'dW1 = np.dot(dz1, x.T)', 'dW1 = np.dot(dz1, a1.T)'),
    ('task3_two_layer.gc.py', 'db1 = dz1', 'db1 = da1'),
    ('task3_two_layer.gc.py', 'dW1 = np.dot(dz1, x.T)', 'dW1 = np.dot(da1, x.T)'),
    ('task3_two_layer.gc.py', 'dz2 = (a2 - y)', 'dz2 = (a2 - y) * a2 * (1 - a2)'),
    ('karpathy_two_layer.gc.py', 'da4 = n1 * dscore', 'da4 = z1 * dscore'),
    ('karpathy_two_layer.gc.py', 'dz1 = dn1 * (z1 > 0)', 'dz1 = dn1'),
    ('karpathy_two_layer.gc.py', 'dz2 = dn2 * (z2 > 0)', 'dz2 = dn2'),
    ('karpathy_two_layer.gc.py', 'dz3 = dn3 * (z3 > 0)', 'dz3 = dn3'),
    ('karpathy_two_layer.gc.py', 'dx = a1 * dz1 + a2 * dz2 + a3 * dz3', 'dx = a1 * dz1 + a2 * dz2 + a3 * dz2'),
    ('karpathy_two_layer.gc.py', 'dy = b1 * dz1 + b2 * dz2 + b3 * dz3', 'dy = b1 * dz1 + b2 * dz2'),
    ('karpathy_two_layer.gc.py', 'dn3 = c4 * dscore', 'dn3 = c3 * dscore'),
    ('karpathy_two_layer.gc.py', 'dd4 = 1.0 * dscore', 'dd4 = 0.0 * dscore'),
    ('karpathy_two_layer.gc.py', 'db4 = n2 * dscore', 'db4 = n3 * dscore'),
    ('cs231n_neuron.gc.py', 'ddot = (1 - f) * f', 'ddot = (1 + f) * f'),
    ('cs231n_neuron.gc.py', 'ddot = (1 - f) * f', 'ddot = (1 - f) * dot'),
    ('cs231n_neuron.gc.py', 'dx = [w[0] * ddot, w[1] * ddot]', 'dx = [w[1] * ddot, w[0] * ddot]'),
    ('cs231n_neuron.gc.py', 'dx = [w[0] * ddot, w[1] * ddot]', 'dx = [w[0] * ddot, -w[1] * ddot]'),
    ('cs231n_neuron.gc.py', 'dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]', 'dw = [x[0] * ddot, x[1] * ddot, 0.0 * ddot]'),
    ('cs231n_neuron.gc.py', 'dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]', 'dw = [x[1] * ddot, x[0] * ddot, 1.0 * ddot]'),
    ('cs231n_neuron.gc.py', 'dw = [x[0] * ddot, x[1] * ddot, 1.0 * ddot]', 'dw = [x[0] * ddot, x[1] * ddot, f * ddot]'),
    ('task1_sigmoid.gc.py', 'de = -1 / e**2', 'de = 1 / e**2'),
    ('task1_sigmoid.gc.py', 'de = -1 / e**2', 'de = -1 / e'),
    ('task1_sigmoid.gc.py', 'dd = de * 1', 'dd = de * d'),
    ('task1_sigmoid.gc.py', 'dc = dd * np.exp(c)', 'dc = dd * np.exp(-c)'),
    ('task1_sigmoid.gc.py', 'dc = dd * np.exp(c)', 'dc = dd * c'),
    ('task1_sigmoid.gc.py', 'db = dc * -1', 'db = dc'),
    ('task1_sigmoid.gc.py', 'da = db * 1', 'da = db * -1'),
    ('task1_sigmoid.gc.py', 'dx = da * w[0]', 'dx = da * w[1]'),
    ('task1_sigmoid.gc.py', 'dw1 = db * 1', 'dw1 = da * x'),
    ('task1_sigmoid.gc.py', 'dw1 = db * 1', 'dw1 = dc * 1'),
    ('cs231n_staged.gc.py', 'dnum = invden', 'dnum = den'),
    ('cs231n_staged.gc.py', 'dinvden = num ', 'dinvden = -num '),
    ('cs231n_staged.gc.py', 'dden = (-1.0 / (den**2)) * dinvden', 'dden = (-1.0 / (den)) * dinvden'),
    ('cs231n_staged.gc.py', 'dsigx = (1) * dden', 'dsigx = (2) * dden'),
    ('cs231n_staged.gc.py', 'dxpysqr = (1) * dden', 'dxpysqr = (1) * dinvden'),
    ('cs231n_staged.gc.py', 'dxpy = (2 * xpy) * dxpysqr', 'dxpy = (xpy) * dxpysqr'),
    ('cs231n_staged.gc.py', 'dx = (1) * dxpy', 'dx = (-1) * dxpy'),
    ('cs231n_staged.gc.py', 'dy = (1) * dxpy', 'dy = (1) * dxpysqr'),
    ('cs231n_staged.gc.py', 'dx += ((1 - sigx) * sigx) * dsigx', 'dx += ((1 + sigx) * sigx) * dsigx'),
    ('cs231n_staged.gc.py', 'dx += (1) * dnum', 'dx += (1) * dinvden'),
    ('cs231n_staged.gc.py', 'dsigy = (1) * dnum', 'dsigy = (1) * dden'),
    ('cs231n_staged.gc.py', 'dy += ((1 - sigy) * sigy) * dsigy', 'dy += ((1 - sigy) * sigx) * dsigy'),
    ('cs231n_staged.gc.py', 'dy += ((1 - sigy) * sigy) * dsigy', 'dy = ((1 - sigy) * sigy) * dsigy'),
    ('cs231n_staged.gc.py', 'dx += ((1 - sigx) * sigx) * dsigx', 'dx = ((1 - sigx) * sigx) * dsigx'),
    ('task2', 'dW1 = np.sign(W) * dreg_loss', 'dW1 = np.abs(W) * dreg_loss'),
    ('task2', 'dW1 = np.sign(W) * dreg_loss', 'dW1 = W * dreg_loss'),
    ('task2', 'dpred = dpred_loss * 2 * (pred - Y)', 'dpred = dpred_loss * (pred - Y)'),
    ('task2', 'dpred = dpred_loss * 2 * (pred - Y)', 'dpred = dpred_loss * 2 * (Y - pred)'),
    ('task2', 'dW2 = X.T.dot(dpred)', 'dW2 = X.T.dot(pred)'),
    ('task2', 'dreg_loss = lam * dloss', 'dreg_loss = dloss'),
    ('task2', 'dW = dW1 + dW2', 'dW = dW1 - dW2'),
    ('task2', 'dW = dW1 + dW2', 'dW = dW2'),
]


@pytest.mark.parametrize("name, right, wrong", PLANTED, ids=[f"{n.split('.')[0]}: {w}" for n, _, w in PLANTED])
def test_the_planted_line_is_named(name, right, wrong):
    text = cell(name)
    lines = text.splitlines()
    at = max(k for k, line in enumerate(lines) if right in line)  # the backward line, not a comment or the forward
    lines[at] = lines[at].replace(right, wrong)
    case = check_program_text("\n".join(lines) + "\n", "cell.py")
    assert case.status in ("mismatch", "error") and case.first_wrong_line == at + 1, (case.first_wrong_line, case.message)


@pytest.mark.parametrize("name", sorted({n for n, _, _ in PLANTED}))
def test_the_cells_pass_as_written(name):
    assert check_program_text(cell(name), "cell.py").status == "pass"
