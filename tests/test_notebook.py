"""The Jupyter magics in a real kernel: one notebook of seed cells pasted as written, cs231n layers, right and
wrong, executed once by nbclient (one kernel start for the module); each test reads the outputs of its cells.

Needs the test extra's nbclient, nbformat and ipykernel (and IPython, which ipykernel brings)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "docs" / "examples"

# seed 002, Task 1: In [2] (the point), then In [3] and In [4] (forward and backward) in one %%gradcheck cell
TASK1_POINT = """x = 2
w = [3, -4]

f = 1 / (1 + np.exp(-(x * w[0] + w[1])))

print('f = {}'.format(f))"""
TASK1_CELLS = """a = x * w[0]
b = a + w[1]
c = -1 * b
d = np.exp(c)
e = 1 + d
f = 1 / e

print('f = {}'.format(f))

df = 1
de = -1 / e**2
dd = de * 1
dc = dd * np.exp(c)
db = dc * -1
da = db * 1

dx = da * w[0]
dw0 = da * x
dw1 = db * 1

print('dx = {}\\n'
      'dw0 = {}\\n'
      'dw1 = {}'.
      format(dx, dw0, dw1))"""

# seed 002, Task 3: In [15] and In [16], as written
TASK3_DEFINITIONS = """from collections import OrderedDict
from copy import copy

import numpy as np


def relu(x):
    return np.maximum(x, 0)

def sigmoid(x):
    return (1 / (1 + np.exp(-x)))

def fprop(x, y, params):
    W1, b1, W2, b2 = [params[key] for key in ('W1', 'b1', 'W2', 'b2')]
    z1 = np.dot(W1, x) + b1
    a1 = relu(z1)
    z2 = np.dot(W2, a1) + b2
    a2 = sigmoid(z2)
    loss = -(y * np.log(a2) + (1 - y) * np.log(1 - a2))
    
    ret = OrderedDict({'x': x, 'y': y, 'z1': z1, 'a1': a1, 'z2': z2, 'a2': a2, 'loss': loss})
    for key in params:
        ret[key] = params[key]
    return ret

def bprop(fprop_cache):
    x, y, z1, a1, z2, a2, loss = [fprop_cache[key] for key in ('x', 'y', 'z1', 'a1', 'z2', 'a2', 'loss')]
    
    dz2 = (a2 - y)
    dW2 = np.dot(dz2, a1.T)
    db2 = dz2
        
    da1 = np.dot(fprop_cache['W2'].T, dz2)
    dz1 = da1 * (z1 > 0)
    dW1 = np.dot(dz1, x.T)
    db1 = dz1
    return OrderedDict({'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2})"""
TASK3_POINT = """np.random.seed(42)

W1 = np.random.rand(2, 2)
b1 = np.random.rand(2, 1)
W2 = np.random.rand(1, 2)
b2 = np.random.rand(1, 1)
params = {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}
x = np.random.rand(2, 1)
y = np.random.randint(0, 2)

print('x = ', x)
print('y = ', y)"""
TASK3_WRONG = """def bprop_wrong(fprop_cache):
    grads = bprop(fprop_cache)
    dz1 = np.dot(fprop_cache['W2'].T, fprop_cache['a2'] - fprop_cache['y']) * (fprop_cache['z1'] > 0)
    grads['W1'] = np.dot(dz1, fprop_cache['a1'].T)  # a1 where x belongs
    return grads"""

CELLS = {
    "load": "%load_ext gradcheck_cli",
    "task1_point": "import numpy as np\n" + TASK1_POINT,
    "task1": "%%gradcheck\n" + TASK1_CELLS,
    "task1_wrong": "%%gradcheck --no-run\n" + TASK1_CELLS.replace("dx = da * w[0]", "dx = da * w[1]"),
    "task1_ran": "print(repr(dw0), repr(dw1))",
    "task3_definitions": TASK3_DEFINITIONS,
    "task3_point": TASK3_POINT,
    "task3": "%gradcheck_layer fprop bprop x y params",
    "task3_wrong": TASK3_WRONG + "\n\nreport = %gradcheck_layer fprop bprop_wrong x y params\nprint(report.ok, report.status)",
    "layers": (f"import sys\nsys.path.insert(0, {str(EXAMPLES)!r})\nfrom cs231n_layers import *\nimport cs231n_layers_wrong as wrong\n"
               "rng = np.random.default_rng(0)\nxa, wa, ba = rng.standard_normal((4, 5)), rng.standard_normal((5, 3)), rng.standard_normal(3)\n"
               "scores, labels = rng.standard_normal((5, 4)), np.array([0, 3, 1, 2, 3])\n"
               "xc = rng.standard_normal((2, 2, 4, 4))\nwc, bc = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal(3)"),
    "affine": "%gradcheck_layer affine_forward affine_backward xa wa ba",
    "affine_wrong": "%gradcheck_layer affine_forward wrong.affine_backward xa wa ba",
    "conv_wrong": "%gradcheck_layer conv_forward_naive wrong.conv_backward_naive xc wc bc conv_param={'stride':1,'pad':1}",
    "relu_wrong": "%gradcheck_layer relu_forward wrong.relu_backward xa",
    "svm": "%gradcheck_function svm_loss scores labels",
    "softmax_wrong": "%gradcheck_function wrong.softmax_loss scores labels",
    "loss_and_grad": ("def loss(W, X, Y):\n    return ((X @ W - Y) ** 2).sum()\n\ndef loss_grad(W, X, Y):\n    return X.T @ (X @ W - Y)\n\n"
                      "W, X, Y = rng.standard_normal((5, 3)), rng.standard_normal((4, 5)), rng.standard_normal((4, 3))\n"
                      "%gradcheck_function loss loss_grad W"),
    "typo": "%gradcheck_layer affine_forward affine_backward xa wa bb",
    "second_order": ("def cubic(x, scale):\n    return scale * np.sum(x ** 3)\n\ndef cubic_grad(x, scale):\n    return 3 * scale * x ** 2\n\n"
                     "def cubic_hessian(x, scale):\n    return np.diag(3 * scale * x)  # the 6 written as 3\n\n"
                     "def cubic_hvp(v, x, scale):\n    return 6 * scale * x * v\n\n"
                     "xs, scale = np.array([0.5, -1.0, 2.0]), 2.0\n"
                     "report = %gradcheck_function cubic cubic_grad xs --hessian cubic_hessian --hvp cubic_hvp\n"
                     "print(report.ok, report.status)"),
    "second_order_no_grad": "%gradcheck_function cubic xs --hessian cubic_hessian",
    "function_no_mask": ("def relu_loss(Wr, xr):\n    return float(np.sum(np.maximum(0, Wr @ xr) ** 2))\n\n"
                         "def relu_loss_grad(Wr, xr):  # relu's mask left out\n    return 2 * (Wr @ xr) @ xr.T\n\n"
                         "Wr, xr = np.random.rand(3, 4), np.random.rand(4, 2)\n"
                         "drawn = %gradcheck_function relu_loss relu_loss_grad Wr\n"
                         "given = %gradcheck_function relu_loss relu_loss_grad Wr --no-draws\n"
                         "print(drawn.status, given.status)"),
    "task3_no_mask": ("def bprop_no_mask(fprop_cache):\n    grads = bprop(fprop_cache)\n"
                      "    da1 = np.dot(fprop_cache['W2'].T, fprop_cache['a2'] - fprop_cache['y'])\n"
                      "    grads['W1'], grads['b1'] = np.dot(da1, fprop_cache['x'].T), da1\n    return grads\n\n"
                      "report = %gradcheck_layer fprop bprop_no_mask x y params\nprint(report.ok, report.status)"),
    "no_mask_point": ("np.random.seed(42)\nW1, b1 = np.random.rand(2, 2), np.random.rand(2, 1)\n"
                      "W2, b2 = np.random.rand(1, 2), np.random.rand(1, 1)\nxn, yn = np.random.rand(2, 1), 1"),
    "no_mask": ("%%gradcheck --no-run\nz1 = np.dot(W1, xn) + b1\na1 = np.maximum(z1, 0)\nz2 = np.dot(W2, a1) + b2\n"
                "a2 = 1 / (1 + np.exp(-z2))\nloss = -(yn * np.log(a2) + (1 - yn) * np.log(1 - a2))\n"
                "dz2 = a2 - yn\ndW2 = np.dot(dz2, a1.T)\ndb2 = dz2\nda1 = np.dot(W2.T, dz2)\ndz1 = da1\n"
                "dW1 = np.dot(dz1, xn.T)\ndb1 = dz1"),
    "no_mask_at": "%%gradcheck --no-run --at 'b1=[[0.5], [0.25]]'\n" + "\n".join([
        "z1 = np.dot(W1, xn) + b1", "a1 = np.maximum(z1, 0)", "z2 = np.dot(W2, a1) + b2", "a2 = 1 / (1 + np.exp(-z2))",
        "loss = -(yn * np.log(a2) + (1 - yn) * np.log(1 - a2))", "dz2 = a2 - yn", "dW2 = np.dot(dz2, a1.T)", "db2 = dz2",
        "da1 = np.dot(W2.T, dz2)", "dz1 = da1", "dW1 = np.dot(dz1, xn.T)", "db1 = dz1"]),
}


@pytest.fixture(scope="module")
def executed() -> dict[str, list[dict]]:
    """Every cell's outputs, by the cell's name; the notebook runs once, in one kernel."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS.values()]
    client = nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}})
    client.execute()
    return {name: cell.outputs for name, cell in zip(CELLS, notebook.cells)}


def _text(outputs: list[dict]) -> str:
    """What a notebook shows as text: streams, and the plain-text twin of every display and result."""
    parts = []
    for output in outputs:
        if output["output_type"] == "stream":
            parts.append(output["text"])
        elif "data" in output:
            parts.append(output["data"].get("text/plain", ""))
    return "\n".join(parts)


def _result(outputs: list[dict]) -> str:
    return next(o["data"]["text/plain"] for o in outputs if o["output_type"] == "execute_result")


def test_a_staged_cell_is_checked_line_by_line_with_the_notebooks_values(executed):
    text = _text(executed["task1"])
    assert "at  x=2, w=[3, -4]" in text  # x and w came from the cell before: no --at
    assert re.search(r"│\s+17 │ dx = da \* w\[0\]\s+│\s+0\.3149808 │\s+0\.3149808 │ ✓", text)
    assert _result(executed["task1"]) == "<Report ok: 1 case: 1 pass>"
    assert "dw0 = 0.209987170807013" in text  # then the cell ran, prints and all


def test_a_wrong_line_in_a_cell_is_named_and_the_cell_not_run_with_no_run(executed):
    text = _text(executed["task1_wrong"])
    assert re.search(r"│\s+17 │ dx = da \* w\[1\]\s+│\s+-0\.4199743 │\s+0\.3149808 │ ✗ wrong", text)
    assert _result(executed["task1_wrong"]) == "<Report not ok: 1 case: 1 mismatch>"
    assert "dx = " not in text.split("1 case:")[-1]  # --no-run: its prints did not run
    assert _text(executed["task1_ran"]).strip() == "np.float64(0.209987170807013) np.float64(0.1049935854035065)"


def test_seed_002_task_3_with_one_line(executed):
    text = _text(executed["task3"])
    assert "f = fprop / bprop" in text and "→  f = 0.258357254273" in text  # the notebook's loss [[0.25835725]]
    for name in ("params['W1']", "params['b1']", "params['W2']", "params['b2']"):  # a table row or a stacked line
        assert re.search(rf"{re.escape(name)}\s.*✓ pass", text), name
    assert "note  not checked: x (bprop" in text
    assert _result(executed["task3"]) == "<Report ok: 1 case: 1 pass>"


def test_seed_002_task_3_a_dW1_from_the_wrong_activation_is_named(executed):
    text = _text(executed["task3_wrong"])
    assert re.search(r"params\['W1'\][\s│]+\(2, 2\) .*✗ mismatch", text)
    assert re.search(r"params\['b1'\]\s.*✓ pass", text) and not re.search(r"params\['b1'\]\s.*✗", text)
    assert text.rstrip().endswith("False mismatch")  # `report = %gradcheck_layer ...` kept the Report


def test_cs231n_layers_right_and_wrong(executed):
    assert _result(executed["affine"]) == "<Report ok: 1 case: 1 pass>"
    affine = _text(executed["affine_wrong"])
    assert re.search(r"│ w\s+│ \(5, 3\)\s+│ \[\d, \d\]\s+│.* ✗ mismatch │", affine)
    conv = _text(executed["conv_wrong"])
    assert re.search(r"│ x\s+│ \(2, 2, 4, 4\) │ .* ✗ mismatch │", conv) and re.search(r"│ w\s+│ \(3, 2, 3, 3\) │ .* ✓ pass", conv)
    relu = _text(executed["relu_wrong"])
    assert "✗ error  relu_backward (" in relu and "changed dout in place" in relu
    assert _result(executed["relu_wrong"]) == "<Report not ok: 1 case: 1 error>"


def test_loss_functions_and_a_function_with_its_gradient(executed):
    assert _result(executed["svm"]) == "<Report ok: 1 case: 1 pass>"
    assert "f = softmax_loss" in _text(executed["softmax_wrong"])
    assert _result(executed["softmax_wrong"]) == "<Report not ok: 1 case: 1 mismatch>"
    text = _text(executed["loss_and_grad"])  # loss_grad lacks the factor 2; X and Y came from the notebook by name
    assert re.search(r"│ W\s+│ \(5, 3\) .* 5\.00e-01 │ ✗ mismatch │", text)


def test_a_mistake_in_the_magics_line_is_one_line(executed):
    outputs = executed["typo"]
    assert [o["output_type"] for o in outputs] == ["stream"] and outputs[0]["name"] == "stderr"
    assert outputs[0]["text"].startswith("gradcheck: %gradcheck_layer: no variable 'bb' in the notebook (some there: ")


def test_function_magic_judges_a_hessian_and_an_hvp_with_the_notebooks_other_inputs(executed):
    """scale comes from the notebook by name and is passed to all four functions; the Hessian is wrong by a factor
    2 on its diagonal, the hvp right."""
    text = _text(executed["second_order"])
    assert "False mismatch" in text
    hessian, hvp = text.split("H over x: your hessian")[1].split("H over x: your hvp")
    assert "your hessian is wrong" in hessian and "d2f/dx[0]dx[0], d2f/dx[1]dx[1], d2f/dx[2]dx[2]" in hessian
    assert re.search(r"│ d2f/dx\[2\]dx\[2\] │\s+24 │\s+24 \(cx\) │ .* ✓ pass", hvp)  # 6·2·2
    assert "✗ mismatch" not in hvp.split("1 case:")[0]


def test_function_magic_hessian_without_grad_is_one_line(executed):
    outputs = executed["second_order_no_grad"]
    assert [o["output_type"] for o in outputs] == ["stream"] and outputs[0]["name"] == "stderr"
    assert outputs[0]["text"].startswith("gradcheck: %gradcheck_function: --hessian is judged against differences of GRAD")


def test_function_magic_draws_the_inputs_unless_no_draws(executed):
    """rand() inputs: relu's mask is all ones there, so a gradient without it is right at the notebook's values and
    wrong at a random draw of them; --no-draws checks at the notebook's values only."""
    text = _text(executed["function_no_mask"])
    assert "every gradient agrees at the given inputs, but not at a random draw of Wr" in " ".join(text.split())
    assert text.rstrip().endswith("mismatch pass")


def test_a_cell_right_only_at_the_notebooks_values_is_caught_at_a_random_draw(executed):
    """np.random.rand weights: every pre-activation is positive, so dz1 = da1 (no mask) is right at the notebook's
    values. Those count as the cell's own, so random draws are judged too; --at is a point the user chose: as given."""
    text = _text(executed["no_mask"])
    assert "a mask is missing: this line times (z1 > 0) is right" in text, text
    said = "every d-line holds at the cell's own values, but line 10 does not at a random draw of W1, b1, W2, b2"
    assert re.search(r"\s+".join(map(re.escape, said.split())), text), text  # wrapped at the notebook's width
    assert "1 case: 1 mismatch" in text
    assert "1 case: 1 pass" in _text(executed["no_mask_at"])


def test_a_layer_magic_finds_a_bprop_right_only_at_the_notebooks_values(executed):
    """Seed 002's Task 3 as the notebook runs it, its bprop without the relu mask: right at the rand() values, found at
    a random draw of params."""
    text = _text(executed["task3_no_mask"])
    assert "False mismatch" in text
    said = "every gradient agrees at the given inputs, but not at a random draw of params['W1'], params['b1']"
    assert re.search(r"\s+".join(map(re.escape, said.split())), text), text
