"""One judge for every route (issue: "One judge for every route…"): each case of the issue, as a user meets it.

Expressions (`check`), the user's functions (`check_function`), random directions past the element limit, and
claims all end in verdict.judge; these tests pin the behaviour the issue asks for on each route.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from gradcheck_cli import check, check_function
from gradcheck_cli.status import SEVERITY
from gradcheck_cli.verdict import Evidence, Tolerances, judge

RNG = np.random.default_rng(7)


def _status(report) -> str:
    return report.cases[0].status


# --- the judge itself ------------------------------------------------------------------------------------------

def _one(**columns) -> Evidence:
    base = dict(analytic=1.0, magnitude=0.0, noise=0.0, x=1.0, forward=1.0, centered=1.0, richardson=1.0,
                error_estimate=1e-10, reliable=True, left=1.0, right=1.0, second=0.0, h_centered=6e-6,
                complex_step=np.nan, exact=np.nan, expected=np.nan, claim_tolerance=0.0, crossed=False, tied=False,
                nested=False)
    base.update(columns)
    return Evidence(**{k: np.asarray(v) for k, v in base.items()})


def test_a_complex_step_the_real_differences_contradict_is_dropped_and_said():
    # |z| is the modulus: the complex step of an abs term is 0, the centered difference sees its slope
    j = judge(_one(analytic=3.0, centered=3.0, richardson=3.0, complex_step=2.0), Tolerances())
    assert SEVERITY[int(j.status)] == "pass" and bool(j.complex_dropped)
    # a gradient that agrees with the wrong complex step (it misses the same abs term) is caught
    j = judge(_one(analytic=2.0, centered=3.0, richardson=3.0, complex_step=2.0), Tolerances())
    assert SEVERITY[int(j.status)] == "mismatch"


def test_a_complex_step_the_exact_value_confirms_is_kept():
    j = judge(_one(analytic=2.0, centered=3.0, richardson=3.0, complex_step=2.0, exact=2.0), Tolerances())
    assert SEVERITY[int(j.status)] == "pass" and not bool(j.complex_dropped)


def test_a_non_finite_candidate_is_an_error_never_inconclusive():
    for bad in (np.nan, np.inf):
        assert SEVERITY[int(judge(_one(analytic=bad), Tolerances()).status)] == "error"


def test_a_claim_between_the_one_sided_derivatives_is_a_kink_even_against_exact():
    e = _one(analytic=0.5, centered=0.5, left=0.0, right=1.0, crossed=True, tied=True, exact=0.5, expected=0.0)
    j = judge(e, Tolerances())
    assert SEVERITY[int(j.status)] == "kink" and not bool(j.claim_failed)
    e = _one(analytic=0.5, centered=0.5, left=0.0, right=1.0, crossed=True, tied=True, exact=0.5, expected=2.0)
    assert SEVERITY[int(judge(e, Tolerances()).status)] == "mismatch"


# --- expressions ------------------------------------------------------------------------------------------------

def test_log_softmax_at_a_saturated_class_is_not_a_false_alarm():
    # dY[0,0] = -log_softmax(X)[0,0] = 9e-17 exactly, 0 in float64 (40 - 40.000...09 rounds to 0): rounding, not a rule
    report = check("-sum(Y*log_softmax(X))", at={"X": [[40.0, 0.0, 3.0]], "Y": [[1.0, 0.0, 0.0]]})
    assert _status(report) == "pass", report.text()


def test_the_complex_step_of_a_chunk_of_one_row_is_computed():
    # 1,000 perturbed rows in chunks of 20 and a last one of 1: that one read as unmoved gave 0.0 at element [999]
    x = RNG.random(1000)
    report = check("sum(outer(x,x))", at={"x": x}, exact=False)
    assert _status(report) == "pass", report.text()


@pytest.mark.parametrize("op", ["relu", "abs"])
def test_kinks_past_the_element_limit_are_kinks_along_random_directions(op):
    report = check(f"sum({op}(X))", at={"X": np.zeros((101, 100))}, exact=False)
    g = report.cases[0].gradients[0]
    assert g.mode == "directions" and g.status == "kink", report.text()
    assert all(s.status == "kink" and s.left < s.analytic < s.right for s in g.directions)


def test_past_the_element_limit_a_claim_wrong_in_one_element_is_a_mismatch_named_by_element():
    x = RNG.standard_normal((101, 100))
    report = check("sum(X*C)", at={"X": x, "C": np.ones((101, 100))}, wrt="X",
                   expect={"X": np.where(np.arange(10100).reshape(101, 100) == 517, 1.001, 1.0)}, exact=False)
    assert _status(report) == "mismatch"
    assert [index for index, *_ in report.cases[0].gradients[0].failing] == [(5, 17)]


def test_work_not_only_size_sends_a_case_to_random_directions():
    # 2,000 elements, each perturbed copy an outer product of 4 million values: per-element stencils would be n³
    report = check("sum(outer(x,x))", at={"x": RNG.random(2000)}, exact=False)
    g = report.cases[0].gradients[0]
    assert g.mode == "directions" and g.status == "pass"


def test_an_exact_value_beyond_float64_is_an_error_not_a_silent_pass():
    report = check("x*(1+1e-17)**1e300", at={"x": 1.0})
    assert _status(report) == "error"
    assert "beyond the float64 range" in report.cases[0].message


def test_the_same_claim_at_a_kink_is_a_kink_on_every_route():
    x, dout = np.array([0.0, 1.0, -1.0]), np.array([1.0, 2.0, 3.0])
    claimed = check("sum(dout*relu(x))", at={"x": x, "dout": dout}, wrt="x", expect={"x": dout * (x > 0)})
    called = check_function(lambda x, dout: np.sum(dout * np.maximum(x, 0)), {"x": x, "dout": dout},
                            lambda x, dout: dout * (x > 0), wrt="x")
    assert _status(claimed) == _status(called) == "kink"


def test_an_empty_array_is_refused_with_a_one_line_error(cli, tool_error):
    result = cli("eval", "sum(relu(X))", "--at", "X=zeros(0)")
    tool_error(result, "X is empty (shape (0,))")


def test_a_graph_into_a_missing_directory_is_refused_before_the_check(cli, tool_error, tmp_path):
    result = cli("eval", "x*y", "--at", "x=1,y=2", "--graph", str(tmp_path / "missing" / "g.dot"))
    tool_error(result, "there is no directory")


# --- the user's functions ---------------------------------------------------------------------------------------

def _softmax_loss(W, X, y):
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    return -np.log(p[np.arange(len(y)), y]).mean()


def _softmax_grad(W, X, y):
    s = X @ W
    s = s - s.max(axis=1, keepdims=True)
    p = np.exp(s)
    p /= p.sum(axis=1, keepdims=True)
    p[np.arange(len(y)), y] -= 1
    return X.T @ p / len(y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_float32_code_is_held_to_float32_rounding(dtype):
    X = RNG.standard_normal((8, 10)).astype(dtype)
    W = (0.1 * RNG.standard_normal((10, 5))).astype(dtype)
    y = RNG.integers(0, 5, 8)
    report = check_function(_softmax_loss, {"W": W, "X": X, "y": y}, _softmax_grad, wrt="W")
    assert report.ok and _status(report) == "pass", report.text()
    precision = report.cases[0].precision
    assert precision == np.dtype(dtype).name
    assert ("precision: float32" in " ".join(report.text().split())) == (dtype is np.float32)  # said where it matters
    bad = lambda W, X, y: _softmax_grad(W, X, y) * np.where(np.arange(W.size).reshape(W.shape) == 7, 1.001, 1.0).astype(dtype)  # noqa: E731
    report = check_function(_softmax_loss, {"W": W, "X": X, "y": y}, bad, wrt="W")
    assert _status(report) == "mismatch"
    assert [i for i, *_ in report.cases[0].gradients[0].failing] == [(1, 2)]


def test_abs_inside_f_is_not_a_false_alarm_and_its_missing_term_is_caught():
    # seed 002's Task 2: ||XW - Y||² + lam ||W||₁, where the complex step of |W| is 0
    X = np.array([[0], [-2], [1]], dtype=float)
    Y = np.array([[0, 1], [1, -1], [0, -2]], dtype=float)
    W = np.array([[1, 1]], dtype=float)
    inputs = {"W": W, "X": X, "Y": Y, "lam": 1.0}

    def loss(W, X, Y, lam):
        return np.sum((X.dot(W) - Y) ** 2) + lam * np.sum(np.abs(W))

    right = check_function(loss, inputs, lambda W, X, Y, lam: 2 * X.T.dot(X.dot(W) - Y) + lam * np.sign(W), wrt="W")
    assert _status(right) == "pass", right.text()
    assert np.allclose(right.cases[0].gradients[0].analytic, [[15.0, 11.0]])  # the seed's printed dW
    missing = check_function(loss, inputs, lambda W, X, Y, lam: 2 * X.T.dot(X.dot(W) - Y), wrt="W")
    assert _status(missing) == "mismatch"


def test_a_grad_that_changes_its_input_is_an_error_naming_it():
    W = RNG.standard_normal((3, 3))

    def grad(W):
        W *= 3
        return 2 * W

    report = check_function(lambda W: np.sum(W ** 2), {"W": W}, grad)
    assert _status(report) == "error" and not report.ok
    assert "grad changed its input W" in report.cases[0].message
    assert np.array_equal(W, W.copy())  # and the caller's array is untouched


@pytest.mark.parametrize("f, grad, fragment", [
    (lambda W: np.nan * np.sum(W), lambda W: W, "returned nan at this point"),
    (lambda W: np.sum(W ** 2), lambda W: "hello", "returned a str ('hello') for W"),
    (lambda W: np.sum(W ** 2), lambda W: np.full(W.shape, np.inf), "a gradient must be finite"),
])
def test_non_finite_or_non_numeric_results_are_errors(f, grad, fragment):
    report = check_function(f, {"W": RNG.standard_normal((2, 2))}, grad)
    assert _status(report) == "error" and not report.ok
    assert fragment in report.cases[0].message


@pytest.mark.parametrize("seed, n", [(0, 1000), (1, 300), (2, 300)])
def test_one_element_off_by_1e_3_in_a_million_is_found_at_every_point(seed, n):
    C = np.random.default_rng(seed + 10).standard_normal((n, n))

    def grad(W):
        g = C.copy()
        g[5, 7] *= 1.001
        return g

    report = check_function(lambda W: np.sum(W * C), {"W": np.random.default_rng(seed).standard_normal((n, n))}, grad)
    g = report.cases[0].gradients[0]
    assert g.mode == "directions" and g.status == "mismatch"
    assert [i for i, *_ in g.failing] == [(5, 7)]


def test_random_directions_say_how_small_an_error_they_would_see():
    C = RNG.standard_normal((200, 100))
    report = check_function(lambda W: np.sum(W * C), {"W": RNG.standard_normal((200, 100))}, lambda W: C)
    g = report.cases[0].gradients[0]
    assert g.status == "pass" and g.mode == "directions"
    assert "a one-element error above" in g.diagnosis and "--directions N" in g.diagnosis


def test_the_taylor_test_never_calls_a_gradient_right_under_a_mismatch():
    C = RNG.standard_normal((4, 3))

    def grad(W):
        g = C.copy()
        g[0, 0] += 1
        return g

    report = check_function(lambda W: np.sum(W * C), {"W": RNG.standard_normal((4, 3))}, grad)
    assert _status(report) == "mismatch"
    assert "the gradient is right" not in report.text()


@pytest.mark.parametrize("complex_safe", [True, False])
def test_f_is_called_once_or_twice_per_element_not_six_times(complex_safe):
    # the complex step (one call) where f takes complex input and a complex call is cheap, else cs231n's two-call
    # centered difference; the whole stencil only for a sample and where those disagree (was six calls per element)
    calls = []
    C = RNG.standard_normal((30, 30))

    def f(W):
        calls.append(1)
        value = np.sum(W * C)
        return value if complex_safe else float(value)

    report = check_function(f, {"W": RNG.standard_normal((30, 30))}, lambda W: C)
    assert report.ok
    assert len(calls) <= 2 * 900 + 150


def test_function_cli_reports_float32_and_a_mutating_grad(cli, tmp_path, monkeypatch):
    (tmp_path / "m.py").write_text(
        "import numpy as np\n"
        "def loss(W):\n    return np.sum(np.tanh(W) ** 2)\n"
        "def grad(W):\n    t = np.tanh(W)\n    return 2 * t * (1 - t ** 2)\n"
        "def bad(W):\n    W *= 3\n    return W\n")
    np.save(tmp_path / "W.npy", RNG.standard_normal((4, 3)).astype(np.float32))
    monkeypatch.chdir(tmp_path)
    right = cli("function", "m.py:loss", "--grad", "m.py:grad", "--at", "W=@W.npy", "--format", "json")
    assert right.exit_code == 0, right.output
    assert json.loads(right.stdout)["cases"][0]["precision"] == "float32"  # the file's float32 reaches the code
    bad = cli("function", "m.py:loss", "--grad", "m.py:bad", "--at", "W=@W.npy", "--format", "json")
    assert bad.exit_code == 1
    case = json.loads(bad.stdout)["cases"][0]
    assert case["status"] == "error" and "m.py:bad changed its input W" in case["message"]


@pytest.mark.parametrize("scale", [1e-15, 1e-8, 1.0, 1e8, 1e15])
def test_functions_of_tiny_and_huge_inputs_are_judged_at_their_own_scale(scale):
    # f reads W / scale: steps of 6e-6 (the old floor of 1) crossed tanh's whole range at scale 1e-8, a flat stencil
    # that overruled the right complex step
    W = RNG.standard_normal((5, 4)) * scale
    X = RNG.standard_normal((3, 5))

    def f(W, X):
        return np.sum(np.tanh(X @ W / scale) ** 2) * scale

    def grad(W, X):
        t = np.tanh(X @ W / scale)
        return X.T @ (2 * t * (1 - t ** 2))

    assert _status(check_function(f, {"W": W, "X": X}, grad, wrt="W")) == "pass"
    assert _status(check_function(f, {"W": W, "X": X}, lambda W, X: 1.001 * grad(W, X), wrt="W")) == "mismatch"


def test_function_cli_keeps_integer_labels_from_a_points_file(cli, tmp_path, monkeypatch):
    (tmp_path / "m.py").write_text(
        "import numpy as np\n"
        "def loss(W, X, y):\n    return np.sum((X @ W)[np.arange(len(y)), y] ** 2)\n"
        "def grad(W, X, y):\n    g = np.zeros((len(y), W.shape[1])); s = X @ W\n"
        "    g[np.arange(len(y)), y] = 2 * s[np.arange(len(y)), y]\n    return X.T @ g\n")
    np.savez(tmp_path / "p.npz", W=RNG.standard_normal((3, 4)), X=RNG.standard_normal((5, 3)), y=np.array([0, 3, 1, 1, 2]))
    monkeypatch.chdir(tmp_path)
    result = cli("function", "m.py:loss", "--grad", "m.py:grad", "--at", "@p.npz", "--wrt", "W")
    assert result.exit_code == 0, result.output  # y stays an integer array: x[np.arange(N), y] works


def test_past_the_element_limit_a_claim_at_a_kink_is_inconclusive_and_a_wrong_one_off_a_kink_a_mismatch():
    C = RNG.standard_normal((101, 100))
    at_kink = check("sum(relu(X)*C)", at={"X": np.zeros((101, 100)), "C": C}, wrt="X", expect={"X": 2 * C}, exact=False)
    assert _status(at_kink) == "inconclusive"  # backprop's 1/2 is a convention there: no element's slopes to judge by
    assert "cannot be judged past the size limit" in at_kink.cases[0].gradients[0].diagnosis
    X = RNG.standard_normal((101, 100))
    wrong = check("sum(relu(X)*C)", at={"X": X, "C": C}, wrt="X", expect={"X": C * (X < 0)}, exact=False)
    assert _status(wrong) == "mismatch"
    right = check("sum(relu(X)*C)", at={"X": X, "C": C}, wrt="X", expect={"X": C * (X > 0)}, exact=False)
    assert _status(right) == "pass"
