"""Second order (issue 20): Hessians and Hessian-vector products on the one judge.

The references here are independent of what they test: SymPy's `hessian` of the seed expressions (sympify of
their text, not gradcheck's lowering) at 50 digits, numpy formulas written by hand (logistic regression's
Xᵀdiag(p(1−p))X) and mpmath's evaluation of the same formula at 50 digits, and claims planted wrong by a
relative 1e-5 (a dropped term, a transposed block, a factor of 2).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

from gradcheck_cli import check, check_function
from gradcheck_cli.expression.check import Options
from gradcheck_cli.files.format import Line, Settings, check_line
from gradcheck_cli.lang.expr import parse
from gradcheck_cli.session import check_text

ROOT = Path(__file__).resolve().parents[1]


def _h(result):
    case = result.cases[0] if hasattr(result, "cases") else result
    assert case.hessian, case.message
    return case.hessian[0]


# --- the seeds and logistic regression against 50-digit references --------------------------------------

def _seed_lines() -> list[tuple[str, int, str]]:
    lines = []
    for path in sorted((ROOT / "expressions").glob("*.gc")):
        for number, text in enumerate(path.read_text().splitlines(), 1):
            code = text.split("#")[0]
            if "@" in code and "softmax(x) @" not in code:  # a vector f has no Hessian (asserted below)
                lines.append((path.name, number, text))
    return lines


@pytest.mark.parametrize("name,number,text", _seed_lines(), ids=lambda v: str(v)[:24])
def test_seed_hessians_match_the_oracles_50_digits(name, number, text):
    """Every seed line with a point, checked to second order through the .gc path: backprop's Hessian equals the
    oracle's 50-digit one to float64 rounding, and every entry passes."""
    checked = check_line(Line(name, number, text), Settings(Options(order=2)))
    assert checked
    for c in checked:
        h = _h(c.case)
        assert c.case.status == "pass" and h.status == "pass", (text, c.case.message)
        decided = np.isfinite(h.exact)
        assert decided.all()
        scale = np.maximum(np.abs(h.exact), np.abs(h.exact).max() * 1e-15)
        assert np.all(np.abs(h.analytic - h.exact) <= 8e-15 * scale), (text, h.analytic, h.exact)


SCALAR_SEEDS = [
    ("(x+y)*z", {"x": -2, "y": 5, "z": -4}),
    ("sigma(w0*x0 + w1*x1 + w2)", {"w0": 2, "w1": -3, "w2": -3, "x0": -1, "x1": -2}),
    ("(x+sigma(y))/(sigma(x)+(x+y)**2)", {"x": 3, "y": -4}),
    ("(x+sigma(y))/(sigma(x)+(x+y)**2)", {"x": -0.5, "y": 0.25}),
    ("1/(1 + exp(-(x*w0 + w1)))", {"x": 2, "w0": 3, "w1": -4}),
    ("max(0, -(w0*1.2 + w1*0.7 + w2) + 1) + max(0, (w0*(-0.3) + w1*0.5 + w2) + 1) + 0.1*(w0**2 + w1**2)",
     {"w0": 0.1, "w1": 0.2, "w2": 0.3}),
]


def _sympy_hessian(text: str, point: dict, order: list[str]) -> np.ndarray:
    """SymPy's Hessian of the text (sympify, not gradcheck's parser or lowering) at 50 digits, rounded; rows in
    `order`."""
    symbols = {name: sympy.Symbol(name, real=True) for name in point}
    expr = sympy.sympify(text, locals={**symbols, "sigma": lambda t: 1 / (1 + sympy.exp(-t)), "max": sympy.Max})
    at = {symbols[n]: sympy.Float(float(v), 60) for n, v in point.items()}
    matrix = sympy.hessian(expr, [symbols[n] for n in order])
    return np.array([[float(sympy.N(entry.subs(at), 50)) for entry in row] for row in matrix.tolist()])


@pytest.mark.parametrize("text,point", SCALAR_SEEDS, ids=lambda v: str(v)[:20])
def test_scalar_seed_hessians_are_sympys(text, point):
    h = _h(check(text, {k: float(v) for k, v in point.items()}, order=2))
    want = _sympy_hessian(text, point, [name for name, _ in h.vars])
    assert h.status == "pass"
    np.testing.assert_array_equal(h.exact, want)  # the oracle's floats are SymPy's, rounded
    np.testing.assert_allclose(h.analytic, want, rtol=1e-14, atol=1e-15)


LOGISTIC = "-sum(y*log(sigma(X @ w)) + (1 - y)*log(1 - sigma(X @ w)))"


def _logistic_point(seed: int = 0, rows: int = 12, features: int = 3):
    rng = np.random.default_rng(seed)
    return {"X": np.round(rng.standard_normal((rows, features)), 3), "y": (rng.random(rows) > 0.5).astype(float),
            "w": np.round(rng.standard_normal(features) * 0.5, 3)}


def test_logistic_regression_hessian_is_the_newton_step_by_hand():
    """backprop's Hessian against numpy's Xᵀdiag(p(1−p))X, and the oracle's against the same formula in mpmath at
    50 digits."""
    point = _logistic_point()
    X, w = point["X"], point["w"]
    h = _h(check(LOGISTIC, point, wrt="w", order=2))
    p = 1 / (1 + np.exp(-X @ w))
    newton = X.T @ np.diag(p * (1 - p)) @ X
    assert h.status == "pass"
    np.testing.assert_allclose(h.analytic, newton, rtol=1e-13)
    with mpmath.workdps(50):
        Xm = [[mpmath.mpf(float(v)) for v in row] for row in X]
        z = [mpmath.fsum(a * mpmath.mpf(float(b)) for a, b in zip(row, w)) for row in Xm]
        s = [1 / (1 + mpmath.exp(-t)) for t in z]
        exact = [[float(mpmath.fsum(Xm[k][i] * s[k] * (1 - s[k]) * Xm[k][j] for k in range(len(X))))
                  for j in range(len(w))] for i in range(len(w))]
    np.testing.assert_array_equal(h.exact, np.array(exact))


def test_logistic_regression_claims_by_hand():
    point = _logistic_point(1)
    right = check(LOGISTIC, point, wrt="w", expect="d2w=X.T @ diag(sigma(X @ w)*(1 - sigma(X @ w))) @ X")
    unweighted = check(LOGISTIC, point, wrt="w", expect="d2w=X.T @ X")  # the missing p(1-p) weight
    assert right.ok and _h(right).status == "pass"
    assert _h(unweighted).status == "mismatch" and not unweighted.ok
    assert "claimed d2f/dw[" in unweighted.text() and len(_h(unweighted).failing) == 9


# --- wrong claims at a relative 1e-5 ----------------------------------------------------------------------

M = np.array([[1.0, 2.0], [-0.5, 3.0]])  # not symmetric: d2f/dadb of a·(M b) is M, d2f/dbda is Mᵀ


@pytest.mark.parametrize("expect,status", [
    ("d2x=2*y*(1 + 1e-5*x)*(1 + 1e-5)", "mismatch"),  # right but for a relative 1e-5
    ("d2x=2*y", "mismatch"),  # the term 6e-5*x*y dropped: a relative 1.2e-5 at x = 0.4
    ("d2x=4*y + 6e-5*x*y", "mismatch"),  # a factor of 2 on the leading term
    ("d2x=2*y + 6e-5*x*y", "pass"),
    ("d2x=(2*y + 6e-5*x*y)*(1 + 1e-8)", "pass"),  # within rtol 1e-6
], ids=["relative-1e-5", "dropped-term", "factor-2", "right", "rounding"])
def test_a_wrong_claim_on_h_is_caught_at_a_relative_1e_5(expect, status):
    result = check("y*x**2*(1 + 1e-5*x)", "x=0.4, y=1.3", expect=expect)
    assert _h(result).status == status, result.text()


def test_a_transposed_block_is_caught():
    at = {"a": [0.3, -0.7], "b": [1.1, 0.4], "M": M}
    right = check("dot(a, M @ b)", at, wrt="a,b", expect="dadb=M")
    transposed = check("dot(a, M @ b)", at, wrt="a,b", expect="dadb=M.T")
    whole = check("dot(a, M @ b)", at, wrt="a,b", expect="H=[[0, 0, 1, 2], [0, 0, -0.5, 3], [1, -0.5, 0, 0], [2, 3, 0, 0]]")
    whole_transposed = check("dot(a, M @ b)", at, wrt="a,b",
                             expect="H=[[0, 0, 1, -0.5], [0, 0, 2, 3], [1, 2, 0, 0], [-0.5, 3, 0, 0]]")
    assert _h(right).status == _h(whole).status == "pass"
    assert _h(transposed).status == _h(whole_transposed).status == "mismatch"
    failing = {_h(transposed).entry(r, c) for (r, c), _, _ in _h(transposed).failing}
    assert failing == {"d2f/da[0]db[1]", "d2f/da[1]db[0]", "d2f/db[0]da[1]", "d2f/db[1]da[0]"}


def test_wrong_hessians_of_your_code_are_caught():
    rng = np.random.default_rng(4)
    inputs = {"a": rng.standard_normal(2), "b": rng.standard_normal(2), "M": M}

    def f(a, b, M):
        return a @ M @ b + 0.5 * (a @ a) ** 2

    def grad(a, b, M):
        return {"a": M @ b + 2 * (a @ a) * a, "b": M.T @ a}

    def blocks(a, b, M, transpose=False, factor=1.0, dropped=False):
        aa = factor * (2 * (a @ a) * np.eye(2) + (0 if dropped else 4 * np.outer(a, a)))
        return {("a", "a"): aa, ("a", "b"): M.T if transpose else M, ("b", "b"): np.zeros((2, 2))}

    def run(**mistake):
        return _h(check_function(f, inputs, grad, wrt=["a", "b"], hessian=lambda **x: blocks(**x, **mistake)))

    assert run().status == "pass"
    assert run(transpose=True).status == run(factor=2.0).status == run(dropped=True).status == "mismatch"
    assert run(factor=1 + 1e-5).status == "mismatch"
    assert run(transpose=True).failing[0][2].endswith("your hessian is wrong")


# --- kinks, symmetry ---------------------------------------------------------------------------------------

def test_relu_second_derivative_is_a_kink_on_the_corner_and_zero_off_it():
    on = _h(check("relu(x)*y + x*x", "x=0, y=2", order=2))
    near = _h(check("relu(x)*y + x*x", "x=1e-9, y=2", order=2))
    off = _h(check("relu(x)*y + x*x", "x=0.5, y=2", order=2))
    assert on.status == near.status == "kink"
    assert set(np.asarray(on.statuses).ravel()) == {"kink", "pass"} and on.statuses[1, 1] == "pass"
    assert np.isnan(on.exact[0, 0]) and np.isnan(on.exact[0, 1]) and on.exact[1, 1] == 0  # undecided on the corner
    assert off.status == "pass" and off.analytic[0, 0] == 2 and off.analytic[0, 1] == 1  # relu'' = 0 off it
    assert "0 off the corner and undefined on it" in on.failing[0][2]
    assert check("relu(x)*y + x*x", "x=0, y=2", order=2).ok  # a kink is not a failure


def test_kinks_of_your_gradient():
    """Your grad bends (relu(x)**2: H is a step) or jumps (relu(x)*y: g is a step) at the point: kinks."""
    def f(x, y):
        return np.sum(np.maximum(x, 0) ** 2) + np.maximum(x[0], 0) * y

    def grad(x, y):
        g = 2 * np.maximum(x, 0)
        g[0] += (x[0] > 0) * y
        return {"x": g, "y": np.maximum(x[0], 0)}

    def hessian(x, y):
        return np.diag([2.0 * (x[0] > 0), 2.0 * (x[1] > 0), 0.0])

    h = _h(check_function(f, {"x": np.array([0.0, 0.3]), "y": np.array(1.5)}, grad, wrt=["x", "y"], hessian=hessian))
    assert h.status == "kink" and h.statuses[1, 1] == "pass", h.statuses
    assert {h.statuses[0, 0], h.statuses[0, 2]} == {"kink"}


def test_an_asymmetric_hessian_is_not_symmetric():
    def f(x, y):
        return x * x + x * y + y * y

    def grad(x, y):
        return {"x": 2 * x + y, "y": x + 2 * y}

    h = _h(check_function(f, {"x": 0.3, "y": -0.2}, grad, hessian=lambda x, y: np.array([[2.0, 1.0], [1.0 + 1e-4, 2.0]])))
    assert h.status == "mismatch" and not h.symmetric
    assert any("not symmetric" in (text or "") for _, _, text in h.failing)
    ok = _h(check_function(f, {"x": 0.3, "y": -0.2}, grad, hessian=lambda x, y: np.array([[2.0, 1.0], [1.0, 2.0]])))
    assert ok.status == "pass" and ok.symmetric


def test_differences_of_a_gradient_that_is_not_one_are_not_symmetric():
    """grad = (y, 0) is no function's gradient: its differences are not symmetric, and the Hessian says so."""
    result = check_function(lambda x, y: x * y, {"x": 0.5, "y": 2.0}, lambda x, y: {"x": y, "y": 0.0 * x},
                            hessian=lambda x, y: np.array([[0.0, 1.0], [1.0, 0.0]]))
    h = _h(result)
    assert "the differences of the gradient are not symmetric" in (h.diagnosis or "")
    assert result.cases[0].status == "mismatch"


# --- past the size limit: random Hessian-vector products --------------------------------------------------

def _tanh_layer(planted=None):
    """f, grad and hvp of sum(tanh(X @ W)**2) written by hand; `planted`: one entry of H, d2f/dW[17,42]dW[100,7], 0.3
    too large ("entry"), or one element of H·v 1.5 times too large, a whole row of H ("element")."""
    def f(W, X):
        return np.sum(np.tanh(X @ W) ** 2)

    def grad(W, X):
        t = np.tanh(X @ W)
        return X.T @ (2 * t * (1 - t ** 2))

    def hvp(V, W, X):
        t = np.tanh(X @ W)
        s = 1 - t ** 2
        out = X.T @ (2 * s * (X @ V) * (s - 2 * t ** 2))
        if planted == "entry":
            out[17, 42] += 0.3 * V[100, 7]
        if planted == "element":
            out[17, 42] *= 1.5
        return out

    return f, grad, hvp


def _layer_point(n: int):
    rng = np.random.default_rng(3)
    return {"W": rng.standard_normal((n, n)) * 0.05, "X": rng.standard_normal((4, n))}


def test_an_hvp_of_a_300_by_300_w_names_a_planted_wrong_element():
    f, grad, hvp = _tanh_layer("entry")
    h = _h(check_function(f, _layer_point(300), grad, wrt=["W"], hvp=hvp))
    assert h.mode == "directions" and h.status == "mismatch" and len(h.vars) == 90_000
    assert [h.entry(row, column) for (row, column), _, _ in h.failing] == ["d2f/dW[17,42]dW[100,7]"]


def test_a_wrong_row_of_h_and_a_right_hvp_past_the_limit():
    f, grad, hvp = _tanh_layer("element")
    element = _h(check_function(f, _layer_point(110), grad, wrt=["W"], hvp=hvp))
    assert element.mode == "directions" and element.status == "mismatch"
    assert {element.vars[row] for (row, _), _, _ in element.failing} == {("W", (17, 42))}
    assert len(element.failing) == 4  # the row, at its first 4 nonzero columns
    f, grad, hvp = _tanh_layer()
    right = _h(check_function(f, _layer_point(110), grad, wrt=["W"], hvp=hvp))
    assert right.mode == "directions" and right.status == "pass"


def test_expressions_past_the_limit_check_hessian_vector_products():
    """121 elements (14,641 entries): random directions, and a wrong second-order rule is named by its rows."""
    from gradcheck_cli.ops import default_registry
    from gradcheck_cli.ops.registry import Second

    rng = np.random.default_rng(5)
    at = {"w": rng.standard_normal(121) * 0.2, "X": rng.standard_normal((3, 121))}
    right = _h(check_text("sum(tanh(X @ w)**2)", at, wrt="w", options=Options(order=2)))
    assert right.mode == "directions" and right.status == "pass"
    registry = default_registry()
    tanh2 = registry["tanh"].second.partials[0]
    mutant = registry.replace_op("tanh", second=Second((lambda ans, a: 1.001 * tanh2(ans, a),)))
    wrong = _h(check_text("sum(tanh(X @ w)**2)", at, wrt="w", options=Options(order=2), registry=mutant))
    assert wrong.status == "mismatch" and wrong.failing
    assert "second-order rule" in wrong.diagnosis


# --- the true rules never mismatch, and agree with the oracle -----------------------------------------------

def _random_text(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(["x", "y", "0.5", "2", "pi"])
    if rng.random() < 0.45:
        f = rng.choice(["sin", "cos", "tanh", "sigma", "exp", "relu", "abs", "-", "log(1 + {}**2)", "sqrt(1 + {}**2)"])
        inner = _random_text(rng, depth - 1)
        return f.format(f"({inner})") if "{" in f else f"{f}({inner})"
    a, b = _random_text(rng, depth - 1), _random_text(rng, depth - 1)
    return rng.choice(["({} + {})", "({} - {})", "({} * {})", "({} / (1 + {}**2))", "max({}, {})", "({}) ** 2",
                       "(1 + ({})**2) ** ({})"]).format(a, b)


def test_random_expressions_pass_and_agree_with_the_oracle():
    rng = random.Random(20)
    checked = 0
    for _ in range(150):
        text = _random_text(rng, 4)
        if not parse(text).variables:
            continue
        point = {v: round(rng.uniform(-2, 2), 3) for v in parse(text).variables}
        result = check_text(text, point, options=Options(order=2))
        if not result.hessian:  # a point outside the domain (an error case: nothing to differentiate)
            assert result.status == "error"
            continue
        h = result.hessian[0]
        assert h.status in ("pass", "kink", "inconclusive"), (text, point, h.diagnosis)
        decided = np.isfinite(h.exact) & (np.asarray(h.statuses) == "pass")
        scale = np.abs(h.exact[np.isfinite(h.exact)]).max(initial=1.0)
        assert np.all(np.abs(h.analytic - h.exact)[decided] <= 1e-12 * scale), (text, point)
        checked += 1
    assert checked > 60


# --- the command line, JSON, the API -------------------------------------------------------------------------

def test_eval_order_2_json(cli):
    result = cli("eval", "x*x*y", "--at", "x=1.5,y=2", "--order", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    h = json.loads(result.stdout)["cases"][0]["hessian"]
    assert h["vars"] == [["x", []], ["y", []]]
    assert h["analytic"] == h["exact"] == [[4.0, 3.0], [3.0, 0.0]]
    assert h["status"] == "pass" and h["failing"] == [] and h["best"] == [[4.0, 3.0], [3.0, 0.0]]
    no_exact = json.loads(cli("eval", "x*x*y", "--at", "x=1.5,y=2", "--order", "2", "--no-exact", "--format",
                              "json").stdout)["cases"][0]["hessian"]
    assert no_exact["exact"] is None and no_exact["status"] == "pass"


def test_eval_claims_on_h_fail_with_exit_code_1(cli):
    result = cli("eval", "x*x*y", "--at", "x=1.5,y=2", "--expect", "H=[[2*y, 2*x], [2*x, 1]]", "--format", "json")
    assert result.exit_code == 1
    h = json.loads(result.stdout)["cases"][0]["hessian"]
    assert h["expected"] == [[4.0, 3.0], [3.0, 1.0]]
    assert [f["entry"] for f in h["failing"]] == ["d2f/dy2"]
    assert h["failing"][0]["row"] == ["y", []] and "claimed d2f/dy2 = 1 but exact is 0" in h["failing"][0]["diagnosis"]


@pytest.mark.parametrize("args,fragment", [
    (("x*y", "--at", "x=1,y=2", "--order", "3"), "--order must be a whole number in 1..2 (got 3)"),
    (("x*y", "--at", "x=1,y=2", "--order", "two"), "--order must be a whole number in 1..2"),
    (("x*y", "--at", "x=1,y=2", "--order", "2", "--dtype", "float32"), "runs in float64"),
    (("[x, y]", "--at", "x=1,y=2", "--order", "2"), "a Hessian needs a scalar f"),
    (("x*y", "--at", "x=1,y=2", "--wrt", "x", "--expect", "dxdy=1"), "which --wrt leaves out"),
    (("x*y", "--at", "x=1,y=2", "--expect", "H=[[0, 1]]"), "claim H has shape (1, 2), but the Hessian over x, y has shape (2, 2)"),
    (("q = x*y\nf = q + 1\ndq = 1", "--at", "x=1,y=2", "--order", "2"), "--order 2 checks expressions"),
])
def test_what_second_order_cannot_do_is_a_usage_error(cli, tool_error, args, fragment):
    tool_error(cli("eval", *args), fragment)


def test_the_h_table_fits_80_columns(cli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    result = cli("eval", "sigma(a*x + b*y + c)", "--at", "a=1, b=2, c=-3, x=-1, y=3", "--order", "2",
                 "--expect", "dadb=x*y*sigma(a*x+b*y+c)*(1-sigma(a*x+b*y+c))*(1-2*sigma(a*x+b*y+c))", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any(line.startswith("│ d2f/dadb ") for line in lines)
    assert "H over a, x, b, y, c" in result.stdout


def test_gradcheck_function_hessian_and_hvp(cli, tmp_path):
    module = tmp_path / "quad.py"
    module.write_text("import numpy as np\n"
                      "def f(x):\n    return np.sum(x ** 3)\n"
                      "def grad(x):\n    return 3 * x ** 2\n"
                      "def hessian(x):\n    return np.diag(6 * x)\n"
                      "def wrong(x):\n    return np.diag(3 * x)\n"
                      "def hvp(v, x):\n    return 6 * x * v\n")
    base = ("function", f"{module}:f", "--grad", f"{module}:grad", "--at", "x=[0.5, -1, 2]")
    good = cli(*base, "--hessian", f"{module}:hessian", "--hvp", f"{module}:hvp", "--format", "json")
    assert good.exit_code == 0, good.output
    case = json.loads(good.stdout)["cases"][0]
    assert case["hessian"]["candidate"] == "hessian" and case["hvp"]["candidate"] == "hvp"
    bad = cli(*base, "--hessian", f"{module}:wrong")
    assert bad.exit_code == 1 and "your hessian is wrong" in bad.stdout


def test_the_api(tmp_path):
    report = check("x*x*y", {"x": 1.5, "y": 2.0}, expect={"H": [[4, 3], [3, 0]], "dx": "2*x*y"})
    assert report.ok and _h(report).expected[1, 0] == 3
    assert "H (backprop's forward-over-reverse, 2 elements): ✓ pass" in report.text()
    assert "hessian" in report.to_json()["cases"][0]
    with pytest.raises(ValueError, match="order must be an integer in 1..2, got 3"):
        check("x*y", {"x": 1, "y": 2}, order=3)
    with pytest.raises(ValueError, match="give grad too"):
        check_function(lambda x: x * x, {"x": 1.0}, hessian=lambda x: np.array([[2.0]]))


def test_a_gc_line_with_a_claim_on_h_is_checked_to_second_order():
    from gradcheck_cli.report.text import worst_error

    right, wrong, kink = (check_line(Line("h.gc", k, text), Settings())[0] for k, text in enumerate([
        "x*x*y @ x=1.5, y=2 => dx=2*x*y, H=[[2*y, 2*x], [2*x, 0]]",
        "x*x*y @ x=1.5, y=2 => d2y=1",
        "relu(x)*y @ x=0, y=1 => dxdy=1"], 1))
    assert right.case.status == "pass" and _h(right.case).expected[0, 1] == 3
    assert wrong.case.status == "mismatch" and worst_error(wrong) == 1.0  # the claim's error, in `check`'s row
    assert kink.case.status == "kink" and worst_error(kink) == 0.0  # a kink's straddling slopes are not an error


def test_a_gradient_that_is_not_holomorphic_loses_its_complex_step():
    """3|x|x through np.abs: its complex step is wrong on the diagonal, the real differences say so, and the complex
    step judges no entry; the zeros off the diagonal (the gradient's components do not move) still judge."""
    def f(x):
        return np.sum(np.abs(x) ** 3)

    def grad(x):
        return 3 * np.abs(x) * x

    def run(hessian):
        return _h(check_function(f, {"x": np.array([0.5, -1.2, 2.0])}, grad, hessian=hessian))

    right = run(lambda x: np.diag(6 * np.abs(x)))
    assert right.status == "pass" and "not holomorphic" in right.diagnosis
    assert set(np.asarray(right.best_method).ravel()) == {"richardson"}
    assert run(lambda x: np.diag(6 * x)).status == "mismatch"  # the sign of x, not |x|
    assert run(lambda x: np.diag(6 * np.abs(x)) + 1e-3 * (1 - np.eye(3))).status == "mismatch"  # a nonzero off it


def test_an_hvp_of_several_inputs_takes_and_returns_dicts_or_tuples():
    def f(a, b):
        return np.sum(a ** 2 * b[0]) + np.sin(b[1]) * a[0]

    def grad(a, b):
        return {"a": 2 * a * b[0] + np.array([np.sin(b[1]), 0.0]), "b": np.array([np.sum(a ** 2), np.cos(b[1]) * a[0]])}

    def hvp(v, a, b):
        va, vb = v["a"], v["b"]
        ha = 2 * b[0] * va + 2 * a * vb[0] + np.array([np.cos(b[1]) * vb[1], 0.0])
        hb = np.array([2 * a @ va, np.cos(b[1]) * va[0] - np.sin(b[1]) * a[0] * vb[1]])
        return ha, hb

    inputs = {"a": np.array([0.4, -0.9]), "b": np.array([1.3, 0.7])}
    as_tuple = _h(check_function(f, inputs, grad, wrt=["a", "b"], hvp=hvp))
    as_dict = _h(check_function(f, inputs, grad, wrt=["a", "b"], hvp=lambda v, a, b: dict(zip("ab", hvp(v, a, b)))))
    assert as_tuple.status == as_dict.status == "pass" and as_tuple.candidate == "hvp"
    wrong = _h(check_function(f, inputs, grad, wrt=["a", "b"], hvp=lambda v, a, b: (hvp(v, a, b)[0], -hvp(v, a, b)[1])))
    assert wrong.status == "mismatch"
