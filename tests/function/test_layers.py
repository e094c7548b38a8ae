"""check_layer, check_function with no grad, and `gradcheck layer`: cs231n-style layers with hand-written backward
passes pass when right and fail naming the input and the elements when wrong.

The oracle for "which elements are wrong" is the right backward pass of docs/examples/cs231n_layers.py: a planted
bug must fail exactly the elements where its gradient differs from the right one, and nowhere else.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from gradcheck_cli import GradientCheckFailed, check_function, check_layer
from gradcheck_cli.errors import UsageError
from gradcheck_cli.function.user_code import import_module

ROOT = Path(__file__).resolve().parents[2]
RIGHT_FILE = ROOT / "docs" / "examples" / "cs231n_layers.py"
WRONG_FILE = ROOT / "docs" / "examples" / "cs231n_layers_wrong.py"
RIGHT = import_module(str(RIGHT_FILE), "test")
WRONG = import_module(str(WRONG_FILE), "test")


def _rng(seed=1):
    return np.random.default_rng(seed)


def _inputs(layer: str) -> dict:
    rng = _rng()
    dense = rng.standard_normal((4, 5))
    return {
        "affine": {"x": rng.standard_normal((2, 3, 2)), "w": rng.standard_normal((6, 3)), "b": rng.standard_normal(3)},
        "relu": {"x": dense},
        "sigmoid": {"x": dense},
        "batchnorm": {"x": dense, "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5), "bn_param": {"mode": "train"}},
        "layernorm": {"x": dense, "gamma": rng.standard_normal(5), "beta": rng.standard_normal(5), "ln_param": {}},
        "dropout": {"x": dense, "dropout_param": {"mode": "train", "p": 0.6, "seed": 3}},
        "conv": {"x": rng.standard_normal((2, 2, 4, 4)), "w": rng.standard_normal((2, 2, 3, 3)), "b": rng.standard_normal(2),
                 "conv_param": {"stride": 1, "pad": 1}},
        "max_pool": {"x": rng.standard_normal((2, 2, 4, 4)), "pool_param": {"pool_height": 2, "pool_width": 2, "stride": 2}},
    }[layer]


PAIRS = {"affine": ("affine_forward", "affine_backward"), "relu": ("relu_forward", "relu_backward"),
         "sigmoid": ("sigmoid_forward", "sigmoid_backward"), "batchnorm": ("batchnorm_forward", "batchnorm_backward"),
         "layernorm": ("layernorm_forward", "layernorm_backward"), "dropout": ("dropout_forward", "dropout_backward"),
         "conv": ("conv_forward_naive", "conv_backward_naive"), "max_pool": ("max_pool_forward_naive", "max_pool_backward_naive")}
ARRAYS = {"affine": ("x", "w", "b"), "relu": ("x",), "sigmoid": ("x",), "batchnorm": ("x", "gamma", "beta"),
          "layernorm": ("x", "gamma", "beta"), "dropout": ("x",), "conv": ("x", "w", "b"), "max_pool": ("x",)}


@pytest.mark.parametrize("layer", list(PAIRS))
def test_a_right_layer_passes_every_input(layer):
    forward, backward = (getattr(RIGHT, n) for n in PAIRS[layer])
    report = check_layer(forward, backward, _inputs(layer))
    case = report.cases[0]
    assert report.ok, report.text()
    assert [g.var for g in case.gradients] == list(ARRAYS[layer])  # parameter dicts are passed through, not checked
    assert {g.status for g in case.gradients} == {"pass"}, report.text()


def _true_and_wrong(layer: str, inputs: dict, dout: np.ndarray):
    """The right backward's gradients and the planted bug's, at the same cache and dout (dout copied for each)."""
    forward = getattr(RIGHT, PAIRS[layer][0])
    out, cache = forward(**inputs)
    right = getattr(RIGHT, PAIRS[layer][1])(dout.copy(), cache)
    wrong = getattr(WRONG, PAIRS[layer][1])(dout.copy(), forward(**inputs)[1])
    as_tuple = lambda g: g if isinstance(g, tuple) else (g,)  # noqa: E731
    return dict(zip(ARRAYS[layer], as_tuple(right))), dict(zip(ARRAYS[layer], as_tuple(wrong)))


@pytest.mark.parametrize("layer", [k for k in PAIRS if k != "relu"])
def test_a_planted_bug_fails_exactly_the_elements_it_gets_wrong(layer):
    inputs = _inputs(layer)
    forward, backward = getattr(RIGHT, PAIRS[layer][0]), getattr(WRONG, PAIRS[layer][1])
    out = np.asarray(forward(**inputs)[0])
    dout = _rng(7).standard_normal(out.shape)
    report = check_layer(forward, backward, inputs, dout=dout)
    assert not report.ok and report.status == "mismatch"
    right, wrong = _true_and_wrong(layer, inputs, dout)
    for g in report.cases[0].gradients:
        differs = ~np.isclose(right[g.var], wrong[g.var], rtol=1e-6, atol=1e-9)
        failing = np.isin(np.asarray(g.statuses), ["mismatch"])
        assert np.array_equal(failing, differs), (layer, g.var, report.text())
        assert g.status == ("mismatch" if differs.any() else "pass")
    with pytest.raises(GradientCheckFailed, match=r"d(x|w|gamma)"):
        report.raise_for_status()


def test_a_relu_backward_that_changes_dout_in_place_is_an_error_naming_it():
    x = _inputs("relu")["x"]
    report = check_layer(RIGHT.relu_forward, WRONG.relu_backward, {"x": x})
    case = report.cases[0]
    assert case.status == "error" and not report.ok
    assert case.gradients[0].status == "pass"  # its values are right: what it did to dout is the bug
    assert "relu_backward (" in case.message and "changed dout in place" in case.message
    first = tuple(int(i) for i in np.argwhere(x <= 0)[0])
    assert f"dout[{first[0]}, {first[1]}]" in case.message
    assert f"({int(np.sum(x <= 0))} elements changed)" in case.message


def test_a_backward_that_changes_its_cache_is_an_error():
    def backward(dout, cache):
        x, w, b = cache
        x *= 1.5  # in place: the caller's cache changes
        return RIGHT.affine_backward(dout, (x / 1.5, w, b))

    report = check_layer(RIGHT.affine_forward, backward, _inputs("affine"))
    assert report.status == "error"
    assert "changed cache in place (cache[0][0, 0, 0]" in report.cases[0].message


def test_a_forward_that_changes_its_input_is_an_error():
    def forward(x):
        x -= x.mean()  # centres the caller's array
        return RIGHT.relu_forward(x)

    report = check_layer(forward, RIGHT.relu_backward, {"x": _inputs("relu")["x"]})
    assert report.status == "error" and "changed its input x[" in report.cases[0].message


def test_an_unseeded_dropout_mask_cannot_be_checked_and_says_so():
    inputs = {"x": _inputs("relu")["x"], "dropout_param": {"mode": "train", "p": 0.5}}  # no seed: a new mask each call
    report = check_layer(RIGHT.dropout_forward, RIGHT.dropout_backward, inputs)
    assert report.status == "error"
    assert "different output when called twice" in report.cases[0].message and "seed" in report.cases[0].message


def test_max_pool_ties_and_relu_at_zero_are_kinks():
    x = _rng().standard_normal((1, 1, 4, 4))
    x[0, 0, 0, 0] = x[0, 0, 1, 1] = 5.0  # two maxima in the first window
    report = check_layer(RIGHT.max_pool_forward_naive, RIGHT.max_pool_backward_naive,
                         {"x": x, "pool_param": {"pool_height": 2, "pool_width": 2, "stride": 2}})
    statuses = np.asarray(report.cases[0].gradients[0].statuses)
    assert report.ok and report.status == "kink"
    assert {tuple(i) for i in np.argwhere(statuses == "kink")} == {(0, 0, 0, 0), (0, 0, 1, 1)}
    assert not check_layer(RIGHT.max_pool_forward_naive, RIGHT.max_pool_backward_naive,
                           {"x": x, "pool_param": {"pool_height": 2, "pool_width": 2, "stride": 2}}, strict=True).ok
    x = _rng().standard_normal((3, 4))
    x[1, 2] = 0.0
    statuses = np.asarray(check_layer(RIGHT.relu_forward, RIGHT.relu_backward, {"x": x}).cases[0].gradients[0].statuses)
    assert [tuple(i) for i in np.argwhere(statuses != "pass")] == [(1, 2)] and statuses[1, 2] == "kink"


def test_past_the_element_limit_random_directions_name_the_wrong_input():
    rng = _rng()
    inputs = {"x": rng.standard_normal((100, 101)), "w": rng.standard_normal((101, 2)), "b": rng.standard_normal(2)}
    right = check_layer(RIGHT.affine_forward, RIGHT.affine_backward, inputs).cases[0]
    wrong = check_layer(RIGHT.affine_forward, WRONG.affine_backward, inputs).cases[0]
    # the element limit is per input: x (10,100 elements) goes to random directions, w and b stay element by element
    assert right.status == "pass" and {g.var: g.mode for g in right.gradients} == {"x": "directions", "w": "elements", "b": "elements"}
    assert {g.var: g.status for g in wrong.gradients} == {"x": "pass", "w": "mismatch", "b": "pass"}


def test_dout_is_seeded_random_by_default_and_can_be_given():
    inputs = _inputs("affine")
    first = check_layer(RIGHT.affine_forward, RIGHT.affine_backward, inputs).cases[0].value
    assert check_layer(RIGHT.affine_forward, RIGHT.affine_backward, inputs).cases[0].value == first
    assert check_layer(RIGHT.affine_forward, RIGHT.affine_backward, inputs, seed=1).cases[0].value != first
    out = RIGHT.affine_forward(**inputs)[0]
    given = check_layer(RIGHT.affine_forward, RIGHT.affine_backward, inputs, dout=np.ones_like(out))
    assert given.cases[0].value == pytest.approx(out.sum(), rel=1e-15)
    with pytest.raises(UsageError, match=r"dout has shape \(3,\), but affine_forward .*'s output has shape \(2, 3\)"):
        check_layer(RIGHT.affine_forward, RIGHT.affine_backward, inputs, dout=np.ones(3))


# --- seed 002, Task 3: fprop(x, y, params) -> OrderedDict with 'loss'; bprop(cache) -> dict keyed like params -------------

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
    return OrderedDict({'W1': dW1, 'b1': db1, 'W2': dW2, 'b2': db2})


def bprop_wrong_activation(fprop_cache):
    grads = bprop(fprop_cache)
    dz1 = np.dot(fprop_cache['W2'].T, fprop_cache['a2'] - fprop_cache['y']) * (fprop_cache['z1'] > 0)
    grads['W1'] = np.dot(dz1, fprop_cache['a1'].T)  # a1, the layer's output, where x, its input, belongs
    return grads


def seed_point():
    np.random.seed(42)
    W1 = np.random.rand(2, 2)
    b1 = np.random.rand(2, 1)
    W2 = np.random.rand(1, 2)
    b2 = np.random.rand(1, 1)
    params = {'W1': W1, 'b1': b1, 'W2': W2, 'b2': b2}
    x = np.random.rand(2, 1)
    y = np.random.randint(0, 2)
    return {"x": x, "y": y, "params": params}


def test_seed_002_task_3_passes_as_written():
    point = seed_point()
    report = check_layer(fprop, bprop, point)
    case = report.cases[0]
    assert report.ok and case.status == "pass", report.text()
    assert [g.var for g in case.gradients] == ["params['W1']", "params['b1']", "params['W2']", "params['b2']"]
    assert case.value == pytest.approx(0.25835725, abs=5e-9)  # the notebook prints [[0.25835725]]
    dW1 = case.gradients[0].analytic
    assert np.allclose(dW1, [[-0.00936392, -0.00027222], [-0.13964014, -0.0040595]], atol=5e-9)  # the notebook's dW1
    assert "not checked: x (bprop" in case.message  # x is an array, but bprop returns no gradient for it
    assert check_layer(fprop, bprop, point, wrt=["params"]).cases[0].message is None


def test_seed_002_task_3_a_dW1_from_the_wrong_activation_is_named():
    report = check_layer(fprop, bprop_wrong_activation, seed_point(), wrt=["params"])
    statuses = {g.var: g.status for g in report.cases[0].gradients}
    assert statuses == {"params['W1']": "mismatch", "params['b1']": "pass", "params['W2']": "pass", "params['b2']": "pass"}
    with pytest.raises(GradientCheckFailed, match=r"dparams\['W1'\] \(2, 2\): ✗ mismatch"):
        report.raise_for_status()


def test_wrt_picks_entries_of_a_dict_input():
    report = check_layer(fprop, bprop_wrong_activation, seed_point(), wrt="W2, b2")
    assert [(g.var, g.status) for g in report.cases[0].gradients] == [("params['W2']", "pass"), ("params['b2']", "pass")]
    with pytest.raises(UsageError, match=r"wrt names 'W3', which is not an input of fprop"):
        check_layer(fprop, bprop, seed_point(), wrt=["W3"])
    with pytest.raises(UsageError, match=r"wrt names x, but bprop .* returns no gradient for it"):
        check_layer(fprop, bprop, seed_point(), wrt=["x"])


# --- the shapes a backward's result takes --------------------------------------------------------------------------

def _affine_cache(x, w, b):
    return RIGHT.affine_forward(x, w, b)


def test_a_backward_may_return_a_dict_by_name_dnames_or_none_entries():
    inputs = _inputs("affine")

    def by_name(dout, cache):
        dx, dw, db = RIGHT.affine_backward(dout, cache)
        return {"dx": dx, "w": dw, "db": None}  # dNAME, NAME, and None for no gradient

    case = check_layer(RIGHT.affine_forward, by_name, inputs).cases[0]
    assert [(g.var, g.status) for g in case.gradients] == [("x", "pass"), ("w", "pass")]
    assert "not checked: b" in case.message


def test_a_backward_of_fewer_gradients_is_matched_by_shape_and_a_wrong_count_is_named():
    inputs = _inputs("affine")

    def only_dw(dout, cache):
        return (RIGHT.affine_backward(dout, cache)[1],)

    assert [g.var for g in check_layer(RIGHT.affine_forward, only_dw, inputs).cases[0].gradients] == ["w"]

    def four(dout, cache):
        return (*RIGHT.affine_backward(dout, cache), np.zeros(2))

    with pytest.raises(UsageError, match=r"returned 4 gradients \(\(2, 3, 2\), \(6, 3\), \(3,\), \(2,\)\) for 3 inputs"):
        check_layer(RIGHT.affine_forward, four, inputs)


def test_a_transposed_gradient_is_refused_with_its_shapes():
    def transposed(dout, cache):
        dx, dw, db = RIGHT.affine_backward(dout, cache)
        return dx, dw.T, db

    # the user's backward is wrong, not the tool's run: a failed check (exit 1) with the shapes
    case = check_layer(RIGHT.affine_forward, transposed, _inputs("affine")).cases[0]
    assert case.status == "error"
    assert re.search(r"shape \(3, 6\) for w, whose gradient has shape \(6, 3\) \(transposed\?\)", case.message)


def test_a_forward_without_cache_gives_backward_its_inputs_by_name():
    def sigmoid_forward(x):
        return 1 / (1 + np.exp(-x))

    def sigmoid_backward(dout, x):
        s = 1 / (1 + np.exp(-x))
        return dout * s * (1 - s)

    assert check_layer(sigmoid_forward, sigmoid_backward, {"x": _inputs("relu")["x"]}).ok

    def no_names(dout, cache):
        return dout

    with pytest.raises(UsageError, match=r"returned no cache \(only out\).*return \(out, cache\)"):
        check_layer(sigmoid_forward, no_names, {"x": _inputs("relu")["x"]})


def test_inputs_the_forward_does_not_take_and_forwards_without_arrays_are_refused():
    with pytest.raises(UsageError, match=r"inputs have 'z', which relu_forward .* does not take \(its parameters: x\)"):
        check_layer(RIGHT.relu_forward, RIGHT.relu_backward, {"x": np.ones(3), "z": np.ones(3)})
    with pytest.raises(UsageError, match=r"no float array among its inputs \(x\)"):
        check_layer(RIGHT.relu_forward, RIGHT.relu_backward, {"x": np.arange(3)})


# --- (loss, grad) functions through check_function without grad -----------------------------------------------------

@pytest.mark.parametrize("name", ["svm_loss", "softmax_loss"])
def test_loss_functions_returning_loss_and_dx(name):
    x, y = _rng().standard_normal((5, 4)), np.array([0, 3, 1, 2, 3])
    right = check_function(getattr(RIGHT, name), {"x": x, "y": y})
    assert right.ok and [g.var for g in right.cases[0].gradients] == ["x"], right.text()
    wrong = check_function(getattr(WRONG, name), {"x": x, "y": y})
    statuses = np.asarray(wrong.cases[0].gradients[0].statuses)
    # both bugs leave out the correct class's term: exactly x[i, y[i]] is wrong (for svm, where a margin is positive)
    assert {tuple(i) for i in np.argwhere(statuses == "mismatch")} <= {(i, int(c)) for i, c in enumerate(y)}
    assert not wrong.ok and len(np.argwhere(statuses == "mismatch")) >= 3


def test_loss_and_a_tuple_or_dict_of_gradients_in_input_order():
    rng = _rng()
    X, Y, W, b = rng.standard_normal((6, 3)), rng.standard_normal((6, 2)), rng.standard_normal((3, 2)), rng.standard_normal(2)

    def loss(W, b, X, Y, reg=0.1):
        r = X @ W + b - Y
        return (r ** 2).sum() + reg * (W ** 2).sum(), (2 * X.T @ r + 2 * reg * W, 2 * r.sum(axis=0))

    report = check_function(loss, {"W": W, "b": b, "X": X, "Y": Y})
    assert report.ok and [g.var for g in report.cases[0].gradients] == ["W", "b"]  # X and Y get no gradient: not checked

    def loss_dict(W, X, Y):
        r = X @ W - Y
        return (r ** 2).sum(), {"W": X.T @ r}  # the factor 2 is missing

    report = check_function(loss_dict, {"W": W, "X": X, "Y": Y}, wrt="W")
    assert [(g.var, g.status) for g in report.cases[0].gradients] == [("W", "mismatch")]


def test_a_function_that_returns_a_loss_alone_is_told_what_to_return():
    with pytest.raises(UsageError, match=r"returned a float.*must return \(loss, gradients\)"):
        check_function(lambda x: float((x ** 2).sum()), {"x": np.ones(3)})


# --- the command line -------------------------------------------------------------------------------------------

def gradcheck(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    return subprocess.run([sys.executable, "-m", "gradcheck_cli", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def test_cli_one_layer_at_a_point_and_the_whole_file():
    one = gradcheck("layer", "docs/examples/cs231n_layers.py:affine", "--at", "x=randn(4,5), w=randn(5,3), b=randn(3)")
    assert one.returncode == 0, one.stdout + one.stderr
    assert "f = affine_forward / affine_backward" in one.stdout and "1 case: 1 pass" in one.stdout
    right = gradcheck("layer", "docs/examples/cs231n_layers.py", "--format", "json")
    data = json.loads(right.stdout)
    assert right.returncode == 0 and data["summary"]["total"] == 10 and data["summary"]["mismatch"] == data["summary"]["error"] == 0
    assert [c["expr"] for c in data["cases"]][-2:] == ["svm_loss", "softmax_loss"]


def test_cli_the_wrong_file_fails_every_layer_naming_input_and_element():
    wrong = gradcheck("layer", "docs/examples/cs231n_layers_wrong.py", "--format", "json")
    assert wrong.returncode == 1
    cases = {c["expr"].split(" / ")[0]: c for c in json.loads(wrong.stdout)["cases"]}
    assert len(cases) == 10 and all(c["status"] in ("mismatch", "error") for c in cases.values())
    failing = {name: [g["var"] for g in c["gradients"] if g["status"] == "mismatch"] for name, c in cases.items()}
    assert failing["affine_forward"] == ["w"] and failing["layernorm_forward"] == ["gamma"]
    assert failing["conv_forward_naive"] == ["x"] and failing["svm_loss"] == ["x"]
    assert cases["relu_forward"]["status"] == "error" and "changed dout in place" in cases["relu_forward"]["message"]


@pytest.mark.parametrize("output_format", ["junit", "github", "table"])
def test_cli_formats_name_the_layer_and_how_to_reproduce_it(output_format):
    result = gradcheck("layer", "docs/examples/cs231n_layers_wrong.py", "--format", output_format)
    assert result.returncode == 1 and not result.stderr
    assert "gradcheck layer docs/examples/cs231n_layers_wrong.py:affine_forward" in result.stdout
    if output_format == "junit":
        assert 'tests="10" failures="9" errors="1"' in result.stdout
    if output_format == "github":
        assert "::error file=docs/examples/cs231n_layers_wrong.py,line=12,title=gradcheck mismatch::" in result.stdout
    if output_format == "table":
        assert "✗ error  relu_backward (docs/examples/cs231n_layers_wrong.py:20) changed dout in place" in result.stdout


def test_cli_backward_by_name_and_a_per_layer_point(tmp_path):
    source = tmp_path / "net.py"
    source.write_text("import numpy as np\n\ndef forward(x, theta):\n    return np.tanh(x @ theta), (x, theta)\n\n"
                      "def grads(dout, cache):\n    x, w = cache\n    d = dout * (1 - np.tanh(x @ w) ** 2)\n    return d @ w.T, x.T @ d\n")
    result = gradcheck("layer", f"{source}:forward", "--backward", f"{source}:grads", "--at", "x=randn(3,2), theta=randn(2,4)")
    assert result.returncode == 0, result.stdout + result.stderr
    missing = gradcheck("layer", f"{source}:forward", "--backward", f"{source}:grads", "--at", "x=randn(3,2)")
    assert missing.returncode == 2
    assert missing.stderr.strip() == ("gradcheck: no default for theta (from the parameter names of forward): give --at "
                                      "'forward: theta=...' (with the other inputs it needs, so their shapes agree)")


def test_cli_defaults_follow_the_given_x_and_layers_without_defaults_are_named(tmp_path):
    source = tmp_path / "layers.py"
    source.write_text(RIGHT_FILE.read_text() + "\n\ndef odd_forward(x, theta):\n    return x * theta, (x, theta)\n\n"
                      "def odd_backward(dout, cache):\n    x, theta = cache\n    return dout * theta, dout * x\n")
    result = gradcheck("layer", str(source), "--at", "x=randn(3,2,2)", "--format", "json")
    cases = {c["expr"]: c for c in json.loads(result.stdout)["cases"]}
    assert result.returncode == 1  # odd: no default for theta, so not checked: an error case
    odd = cases["odd_forward / odd_backward"]
    assert odd["status"] == "error" and "give --at 'odd: theta=...'" in odd["message"]
    affine = cases["affine_forward / affine_backward"]
    assert affine["status"] == "pass" and np.shape(affine["point"]["w"]) == (4, 3)  # D = 2 * 2 from x's shape
    fixed = gradcheck("layer", str(source), "--at", "odd: x=randn(2), theta=randn(2)", "--format", "json")
    assert fixed.returncode == 0, fixed.stdout[-2000:]


def test_cli_errors_are_one_line():
    typo = gradcheck("layer", "docs/examples/cs231n_layers.py", "--at", "X=randn(3)")
    assert typo.returncode == 2 and typo.stderr.startswith("gradcheck: --at gives 'X', which no layer takes")
    nothing = gradcheck("layer", "docs/examples/cs231n_layers.py:nope")
    assert nothing.returncode == 2 and "has no nope_forward and nope_backward (its layers: affine, relu" in nothing.stderr
    raised = gradcheck("function", "docs/examples/cs231n_layers.py:svm_loss", "--at", "x=randn(4,5), y=[0,9,1,1]")
    assert raised.returncode == 2
    assert raised.stderr.strip().startswith("gradcheck: calling svm_loss raised IndexError: index 9 is out of bounds")
    assert "Traceback" not in raised.stderr


def test_cli_function_without_grad_checks_a_loss_returning_its_gradient():
    right = gradcheck("function", "docs/examples/cs231n_layers.py:softmax_loss", "--at", "x=randn(4,5), y=[0,3,1,4]")
    assert right.returncode == 0 and "│ x   │ (4, 5) │" in right.stdout and "1 case: 1 pass" in right.stdout
    wrong = gradcheck("function", "docs/examples/cs231n_layers_wrong.py:softmax_loss", "--at", "x=randn(4,5), y=[0,3,1,4]")
    assert wrong.returncode == 1 and "✗ mismatch" in wrong.stdout


def test_hostile_inputs_and_results_are_one_line_errors():
    with pytest.raises(UsageError, match=r"^x is empty \(shape \(0, 3\)\): there is nothing to check$"):
        check_layer(RIGHT.relu_forward, RIGHT.relu_backward, {"x": np.zeros((0, 3))})
    with pytest.raises(UsageError, match=r"^x\[1\] is nan: check at finite values$"):
        check_layer(RIGHT.relu_forward, RIGHT.relu_backward, {"x": np.array([1.0, np.nan])})
    with pytest.raises(UsageError, match=r"returned a str as the gradient of x: return arrays"):
        check_layer(RIGHT.relu_forward, lambda dout, cache: "dx", {"x": np.ones(3)})
    with pytest.raises(UsageError, match=r"returned a tuple of 3: return out or \(out, cache\)"):
        check_layer(lambda x: (x, x, x), RIGHT.relu_backward, {"x": np.ones(3)})
    with pytest.raises(UsageError, match=r"returned a dict without 'loss' \(keys: 'out'\)"):
        check_layer(lambda x: {"out": x}, RIGHT.relu_backward, {"x": np.ones(3)})


def test_extreme_magnitudes_and_a_deeply_nested_cache():
    big = {"x": np.full((2, 3), 1e15), "w": np.ones((3, 2)), "b": np.ones(2)}
    assert check_layer(RIGHT.affine_forward, RIGHT.affine_backward, big).status == "pass"
    assert check_layer(RIGHT.sigmoid_forward, RIGHT.sigmoid_backward, {"x": np.full((2, 3), 1e-15)}).status == "pass"

    def layer(depth):
        def forward(x):
            cache = x
            for _ in range(depth):
                cache = [cache]
            return 2 * x, cache

        def backward(dout, cache):
            for _ in range(depth - 1):
                cache = cache[0]
            cache[0] = cache[0] * 0  # rebinds the innermost entry: the caller's cache changes
            return 2 * dout

        return forward, backward

    report = check_layer(*layer(200), {"x": np.ones(3)})
    assert report.status == "error"  # the path to the changed array, then its element:
    assert "changed cache in place (cache" + "[0]" * 201 + ": 1 → 0 (3 elements changed))" in report.cases[0].message
    # 10,000 deep: too deep for copy.deepcopy, so the backward pass gets the cache itself; the check still runs
    assert check_layer(*layer(10_000), {"x": np.ones(3)}).cases[0].gradients[0].status == "pass"


# --- random draws of a layer's inputs (function/draws.py) ------------------------------------------------------

def _task3():
    """Seed 002's Task 3 fprop/bprop (docs/examples/task3_layer.py) and its np.random.rand inputs (seed 42)."""
    namespace = {}
    source = (ROOT / "docs" / "examples" / "task3_layer.py").read_text().split("np.random.seed(42)")[0]
    exec(compile(source, "task3_layer.py", "exec"), namespace)  # noqa: S102 -- the repository's own example
    rng = np.random.RandomState(42)
    params = {"W1": rng.rand(2, 2), "b1": rng.rand(2, 1), "W2": rng.rand(1, 2), "b2": rng.rand(1, 1)}
    return namespace, {"x": rng.rand(2, 1), "y": rng.randint(0, 2), "params": params}


def test_a_layer_right_only_at_the_given_inputs_is_found_at_a_random_draw():
    """rand() weights make every pre-activation positive: a bprop without the relu mask is right at the given inputs
    and wrong at a draw; the right bprop passes every draw."""
    namespace, inputs = _task3()

    def bprop_without_mask(cache):
        grads = namespace["bprop"](cache)
        da1 = np.dot(cache["W2"].T, cache["a2"] - cache["y"])
        grads["W1"], grads["b1"] = np.dot(da1, cache["x"].T), da1
        return grads

    right = check_layer(namespace["fprop"], namespace["bprop"], inputs).cases[0]
    assert right.status == "pass" and not any("random draw" in n for n in right.function_notes)
    report = check_layer(namespace["fprop"], bprop_without_mask, inputs)
    case = report.cases[0]
    assert case.status == "mismatch" and not report.ok
    assert case.message.startswith("at a random draw of params['W1'], params['b1'], params['W2'], params['b2'] "
                                   "(the given inputs pass): dparams['W1']: your gradient disagrees")
    assert case.function_notes[0].startswith("every gradient agrees at the given inputs, but not at a random draw of")
    assert [g.status for g in case.gradients] == ["mismatch", "mismatch", "pass", "pass"]
    assert np.any(np.asarray(case.point["params['W1']"]) < 0)  # shown at the draw
    assert "note: every gradient agrees at the given inputs" in report.text(width=200)  # what pytest shows


def test_float32_layers_are_not_drawn():
    namespace, inputs = _task3()
    params32 = {k: v.astype(np.float32) for k, v in inputs["params"].items()}
    from gradcheck_cli.function import draws

    assert draws.at_a_draw(None, {f"params['{k}']": v for k, v in params32.items()}, tuple(f"params['{k}']" for k in params32),
                                 0, lambda point: None) is None
