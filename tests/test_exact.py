"""The exact column: SymPy derivatives evaluated at 50 digits, against 50-digit mpmath derivatives computed
here independently; the time budget; the chain method for large expressions; independence from gates.py."""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest

from gradcheck_cli import exact as exact_module
from gradcheck_cli.exact import exact_gradient, exact_gradients
from gradcheck_cli.parser import parse



def _sigma(t):
    return 1 / (1 + mpmath.exp(-t))


def _relu(t):
    return t if t > 0 else mpmath.mpf(0)


# text, point, the same function written with mpmath (independent of gradcheck)
CASES = [
    ("sigma(x*w0+w1)", {"x": 2.0, "w0": 3.0, "w1": -4.0}, lambda x, w0, w1: _sigma(x * w0 + w1)),
    ("(x+sigma(y))/(sigma(x)+(x+y)**2)", {"x": 3.0, "y": -4.0},
     lambda x, y: (x + _sigma(y)) / (_sigma(x) + (x + y) ** 2)),
    ("log(1+x**2)*sin(y)/sqrt(x+y)", {"x": 0.7, "y": 1.3},
     lambda x, y: mpmath.log(1 + x**2) * mpmath.sin(y) / mpmath.sqrt(x + y)),
    ("exp(-x)*tan(y) + tanh(x*y) - cos(x)**3", {"x": 0.25, "y": -1.1},
     lambda x, y: mpmath.exp(-x) * mpmath.tan(y) + mpmath.tanh(x * y) - mpmath.cos(x) ** 3),
    ("0.1*x + x**0.3 - 2.5/x", {"x": 2.5}, lambda x: mpmath.mpf("0.1") * x + x ** mpmath.mpf("0.3") - mpmath.mpf("2.5") / x),
    ("x**y", {"x": 1.7, "y": 2.3}, lambda x, y: x**y),
    ("pi*x + e**x", {"x": 0.5}, lambda x: mpmath.pi * x + mpmath.e**x),
    ("max(x, y)*relu(x) + abs(y) - min(x, 2*y)", {"x": 1.25, "y": -0.5},
     lambda x, y: max(x, y) * _relu(x) + abs(y) - min(x, 2 * y)),
    ("-x**2 + 2**-y", {"x": 1.5, "y": 3.0}, lambda x, y: -(x**2) + 2 ** (-y)),
]


def _reference_gradient(function, point: dict[str, float]) -> dict[str, float]:
    names = list(point)
    with mpmath.workdps(50):
        base = [mpmath.mpf(point[n]) for n in names]
        result = {}
        for k, name in enumerate(names):
            def partial(t, k=k):
                args = list(base)
                args[k] = t
                return function(*args)
            result[name] = float(mpmath.diff(partial, base[k]))
    return result


@pytest.mark.parametrize("text,point,function", CASES, ids=[c[0] for c in CASES])
def test_exact_matches_independent_mpmath(text, point, function):
    expr = parse(text)
    want = _reference_gradient(function, point)
    result = exact_gradient(expr, point, expr.variables)
    assert result.method == "sympy"
    assert result.note is None
    for name in expr.variables:
        assert result.values[name] == pytest.approx(want[name], rel=4e-16, abs=1e-300), name
        assert result.formulas[name]


@pytest.mark.parametrize("text,point,function", CASES, ids=[c[0] for c in CASES])
def test_chain_method_matches_independent_mpmath(text, point, function, monkeypatch):
    """The chain method (used for large expressions) on the same small cases: same 50-digit answers."""
    monkeypatch.setattr(exact_module, "WHOLE_EXPRESSION_LIMIT", 0)  # every expression is "large"
    expr = parse(text)
    want = _reference_gradient(function, point)
    result = exact_gradient(expr, point, expr.variables)
    assert result.method == "chain"
    for name in expr.variables:
        assert result.values[name] == pytest.approx(want[name], rel=4e-16, abs=1e-300), name


@pytest.mark.parametrize("method_limit", [200, 0], ids=["sympy", "chain"])
def test_exact_is_correctly_rounded_when_a_variable_is_used_twice(method_limit, monkeypatch):
    """d/dx (log(1+x) - x) = -x/(1+x): the two uses of x nearly cancel; 50 digits must survive to the end."""
    monkeypatch.setattr(exact_module, "WHOLE_EXPRESSION_LIMIT", method_limit)
    x = 1e-8
    with mpmath.workdps(50):
        want = float(-mpmath.mpf(x) / (1 + mpmath.mpf(x)))
    result = exact_gradient(parse("log(1+x) - x"), {"x": x}, ("x",))
    assert result.values["x"] == pytest.approx(want, rel=1e-15, abs=0)


def test_exact_formula_text():
    result = exact_gradient(parse("x**2*y"), {"x": 3.0, "y": 2.0}, ("x", "y"))
    assert result.formulas == {"x": "2*x*y", "y": "x**2"}
    assert result.values == {"x": 12.0, "y": 9.0}


def test_decimal_literals_are_exact_rationals():
    result = exact_gradient(parse("x*0.1"), {"x": 1.0}, ("x",))
    assert result.formulas["x"] == "1/10"
    assert result.values["x"] == 0.1


def test_exact_at_kinks_uses_the_midpoint_convention():
    result = exact_gradient(parse("relu(x) + abs(y) + max(x, z)"), {"x": 0.0, "y": 0.0, "z": 0.0}, ("x", "y", "z"))
    assert result.values == {"x": 1.0, "y": 0.0, "z": 0.5}


def test_exact_is_missing_with_a_note_where_the_derivative_is_not_real():
    result = exact_gradient(parse("sqrt(x)"), {"x": 0.0}, ("x",))
    assert result.values["x"] is None
    assert result.note


def test_several_points_share_one_derivative():
    expr = parse("sin(x)*exp(y)")
    points = [{"x": 0.1 * k, "y": -0.2 * k} for k in range(5)]
    results = exact_gradients(expr, points, ("x", "y"))
    for point, result in zip(points, results):
        assert result.values["x"] == pytest.approx(math.cos(point["x"]) * math.exp(point["y"]), rel=1e-15, abs=0)
        assert result.values["y"] == pytest.approx(math.sin(point["x"]) * math.exp(point["y"]), rel=1e-15, abs=1e-300)


# --- large expressions: the chain method --------------------------------------------------------------

def test_large_expression_uses_chain_and_agrees_with_analytic(check):
    terms = 150
    text = "+".join(f"sigma({k}*x - y)*tanh(y/{k})" for k in range(1, terms + 1))
    case = check(text, "x=0.03,y=0.7")
    assert case.exact_method == "chain"
    assert case.status == "pass"
    x, y = mpmath.mpf(0.03), mpmath.mpf(0.7)
    with mpmath.workdps(50):
        dx = mpmath.fsum(k * _sigma(k * x - y) * (1 - _sigma(k * x - y)) * mpmath.tanh(y / k) for k in range(1, terms + 1))
    for g in case.gradients:
        assert g.exact is not None
        assert g.exact_expr is None  # no formula for an expression this size
        assert g.analytic == pytest.approx(g.exact, rel=1e-12, abs=0)
    assert case.gradients[0].exact == pytest.approx(float(dx), rel=1e-15, abs=0)


def test_thousand_step_rnn_uses_chain(check):
    steps = 1000
    text = "tanh(w*" * steps + "x" + ")" * steps
    case = check(text, "w=1.1,x=0.5")
    assert case.exact_method == "chain"
    assert case.status == "pass"
    for g in case.gradients:
        assert g.analytic == pytest.approx(g.exact, rel=1e-10, abs=0)


def test_chain_differentiates_constant_powers_at_zero(check):
    text = "+".join(["x**2"] * 120) + "+y"  # above the whole-expression limit
    case = check(text, "x=0,y=1")
    assert case.exact_method == "chain"
    assert [g.exact for g in case.gradients] == [0.0, 1.0]
    assert case.status == "pass"


# --- the time budget ----------------------------------------------------------------------------------

BIG = "+".join(f"sigma({k}*x - y)*tanh(y/{k})" for k in range(1, 400))


def test_exact_timeout_skips_the_column_but_keeps_the_others(check):
    case = check(BIG, "x=0.03,y=0.7", exact_timeout=0.001)
    assert case.exact_method == "skipped"
    assert case.exact_note and "skipped" in case.exact_note and "time" in case.exact_note
    assert case.status == "pass"
    for g in case.gradients:
        assert g.exact is None
        assert math.isfinite(g.analytic) and math.isfinite(g.centered) and math.isfinite(g.forward)
        assert g.analytic == pytest.approx(g.centered, rel=1e-6, abs=0)


def test_exact_timeout_through_the_cli(cli):
    result = cli("eval", BIG, "--at", "x=0.03,y=0.7", "--exact-timeout", "0.001", "--format", "json")
    assert result.exit_code == 0, result.output
    case = json.loads(result.stdout)["cases"][0]
    assert case["exact_method"] == "skipped"
    assert "skipped" in case["exact_note"]
    for g in case["gradients"]:
        assert g["exact"] is None
        assert isinstance(g["analytic"], float) and isinstance(g["centered"], float)


def test_exact_timeout_note_in_the_table(cli):
    result = cli("eval", BIG, "--at", "x=0.03,y=0.7", "--exact-timeout", "0.001")
    assert result.exit_code == 0
    assert "skipped" in result.stdout


# --- independence -------------------------------------------------------------------------------------

def test_exact_module_never_imports_gates_statically():
    source = Path(exact_module.__file__).read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert not any("gates" in name or "engine" in name for name in imported), imported


def test_exact_module_never_loads_gates_at_runtime():
    code = (
        "import sys\n"
        "from gradcheck_cli.parser import parse\n"
        "from gradcheck_cli.exact import exact_gradient\n"
        "r = exact_gradient(parse('sigma(x)*relu(y)'), {'x': 0.5, 'y': 2.0}, ('x', 'y'))\n"
        "assert r.values['y'] > 0\n"
        "print(sorted(m for m in sys.modules if m.startswith('gradcheck_cli')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    loaded = out.stdout
    assert "gradcheck_cli.gates" not in loaded
    assert "gradcheck_cli.engine" not in loaded
