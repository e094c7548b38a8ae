"""The exact column: SymPy derivatives evaluated at 50 digits, against 50-digit mpmath derivatives computed
here independently; the time budget; the chain method for large expressions. The oracle's independence from
ops/, ir.py and eval/ is tests/test_layering.py's."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest

from gradcheck_cli.lang.expr import parse
from gradcheck_cli.oracle.exact import exact_case


def exact_gradients(expr, points: list[dict[str, float]], wrt, **options):
    """The old exact_gradients: exact_case takes points as arrays (0-d for scalars); one budget for all of them."""
    return exact_case(expr, [{k: np.asarray(v, dtype=np.float64) for k, v in p.items()} for p in points], tuple(wrt), **options)


def exact_gradient(expr, point: dict[str, float], wrt, **options):
    return exact_gradients(expr, [point], wrt, **options)[0]


def floats(values: dict) -> dict:
    """ExactResult.values as plain floats (None stays None; NaN means undecided or undefined)."""
    return {k: None if v is None else float(v) for k, v in values.items()}





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
        assert result.values[name].shape == ()  # 0-d for a scalar variable
        assert float(result.values[name]) == pytest.approx(want[name], rel=4e-16, abs=1e-300), name
        assert result.formulas[name]


@pytest.mark.parametrize("text,point,function", CASES, ids=[c[0] for c in CASES])
def test_chain_method_matches_independent_mpmath(text, point, function):
    """The chain method (used for large expressions) on the same small cases: same 50-digit answers."""
    expr = parse(text)
    want = _reference_gradient(function, point)
    result = exact_gradient(expr, point, expr.variables, formula=False)  # was: WHOLE_EXPRESSION_LIMIT = 0
    assert result.method == "chain"
    for name in expr.variables:
        assert float(result.values[name]) == pytest.approx(want[name], rel=4e-16, abs=1e-300), name


@pytest.mark.parametrize("formula", [pytest.param(True, id="sympy"), pytest.param(False, id="chain")])  # both at 50+ digits
def test_exact_is_correctly_rounded_when_a_variable_is_used_twice(formula):
    """d/dx (log(1+x) - x) = -x/(1+x): the two uses of x nearly cancel; 50 digits must survive to the end."""
    x = 1e-8
    with mpmath.workdps(50):
        want = float(-mpmath.mpf(x) / (1 + mpmath.mpf(x)))
    result = exact_gradient(parse("log(1+x) - x"), {"x": x}, ("x",), formula=formula)
    assert result.method == ("sympy" if formula else "chain")
    assert float(result.values["x"]) == pytest.approx(want, rel=1e-15, abs=0)


@pytest.mark.parametrize("formula", [pytest.param(True, id="sympy"), pytest.param(False, id="chain")])
@pytest.mark.parametrize("x", [15.0, -20.0])
def test_exact_is_correctly_rounded_when_the_formula_cancels(x, formula):
    """d/dx tanh(x) = 1 - tanh(x)**2 as SymPy prints it: 13 digits cancel at x=15; 50 digits must survive."""
    with mpmath.workdps(50):
        want = float(1 / mpmath.cosh(x) ** 2)
    result = exact_gradient(parse("tanh(x)"), {"x": x}, ("x",), formula=formula)
    assert result.method == ("sympy" if formula else "chain")
    assert float(result.values["x"]) == pytest.approx(want, rel=1e-15, abs=0)


def test_exact_formula_text():
    result = exact_gradient(parse("x**2*y"), {"x": 3.0, "y": 2.0}, ("x", "y"))
    assert result.formulas == {"x": "2*x*y", "y": "x**2"}
    assert floats(result.values) == {"x": 12.0, "y": 9.0}
    assert float(result.value) == 18.0  # f itself comes along


def test_decimal_literals_are_exact_rationals():
    result = exact_gradient(parse("x*0.1"), {"x": 1.0}, ("x",))
    assert result.formulas["x"] == "1/10"
    assert float(result.values["x"]) == 0.1


def test_exact_at_kinks_is_undecided():
    # new core (intentional): on a kink the exact derivative is undecided (NaN), not the Heaviside(0)=1/2 midpoint
    result = exact_gradient(parse("relu(x) + abs(y) + max(x, z)"), {"x": 0.0, "y": 0.0, "z": 0.0}, ("x", "y", "z"))
    assert all(math.isnan(v) for v in floats(result.values).values()), result.values
    assert {k: bool(v) for k, v in result.undecided.items()} == {"x": True, "y": True, "z": True}
    assert all(f is None for f in result.formulas.values())


@pytest.mark.parametrize("formula", [True, False], ids=["sympy", "chain"])
def test_only_derivatives_through_a_tied_kink_are_undecided(formula):
    result = exact_gradient(parse("relu(x)*y + y**2 + max(z, 1)"), {"x": 0.0, "y": 3.0, "z": 0.0}, ("x", "y", "z"),
                            formula=formula)
    values = floats(result.values)
    assert math.isnan(values["x"]) and bool(result.undecided["x"])
    assert values["y"] == 6.0 and not bool(result.undecided["y"])  # relu(0) = 0 is a value, not a convention
    assert values["z"] == 0.0 and not bool(result.undecided["z"])  # max(0, 1): off its kink


def test_exact_is_missing_with_a_note_where_the_derivative_is_not_real():
    result = exact_gradient(parse("sqrt(x)"), {"x": 0.0}, ("x",))
    assert result.values["x"] is None
    assert result.note


def test_several_points_share_one_derivative():
    expr = parse("sin(x)*exp(y)")
    points = [{"x": 0.1 * k, "y": -0.2 * k} for k in range(5)]
    results = exact_gradients(expr, points, ("x", "y"))
    for point, result in zip(points, results):
        assert float(result.values["x"]) == pytest.approx(math.cos(point["x"]) * math.exp(point["y"]), rel=1e-15, abs=0)
        assert float(result.values["y"]) == pytest.approx(math.sin(point["x"]) * math.exp(point["y"]), rel=1e-15, abs=1e-300)


def test_tensor_points_give_arrays_of_the_gradient_shape():
    W = np.array([[0.5, -1.0], [2.0, 0.25], [1.5, -0.5]])
    x = np.array([0.3, -1.2])
    result = exact_case(parse("sum(tanh(W @ x))"), [{"W": W, "x": x}], ("W", "x"))[0]
    assert result.method == "chain"
    d = 1 - np.tanh(W @ x) ** 2
    assert result.values["W"].shape == (3, 2) and result.values["x"].shape == (2,)
    np.testing.assert_allclose(result.values["W"], np.outer(d, x), rtol=1e-14)
    np.testing.assert_allclose(result.values["x"], W.T @ d, rtol=1e-14)


def test_one_budget_covers_every_point_of_a_case():
    """Budget is one for the whole case (was: per point): a budget spent on the first points skips the rest."""
    terms = 150
    text = "+".join(f"sigma({k}*x - y)*tanh(y/{k})" for k in range(1, terms + 1))
    points = [{"x": 0.01 * k, "y": 0.7} for k in range(40)]
    import time

    exact_gradients(parse(text), points[:1], ("x", "y"), budget=0)  # warm (the rules' first use)
    started = time.perf_counter()
    exact_gradients(parse(text), points[:1], ("x", "y"), budget=0)
    budget = 4 * (time.perf_counter() - started)  # four points' time, measured here (the machine may be loaded)
    results = exact_gradients(parse(text), points, ("x", "y"), budget=budget)  # all 40 points need ~10x that
    assert results[0].method == "chain"
    assert results[-1].method == "skipped" and "time" in results[-1].note
    assert results[-1].seconds < budget + 1.0  # the clock started with the case, not with the point


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


def test_time_budget_interrupts_work_that_runs_too_long():
    import time

    from gradcheck_cli.oracle.exact import BudgetExceeded, time_budget

    started = time.perf_counter()
    with pytest.raises(BudgetExceeded):
        with time_budget(0.05):
            time.sleep(2)
    assert time.perf_counter() - started < 1


def test_an_alarm_reset_after_a_nested_budget_still_rings():
    """exact_case installs one handler per case: SymPy's own (nested) budget disarms the timer on exit, and
    Alarm.reset arms it again for the points."""
    import signal
    import time

    from gradcheck_cli.oracle.exact import BudgetExceeded, time_budget

    started = time.perf_counter()
    with pytest.raises(BudgetExceeded):
        with time_budget(30) as alarm:
            with time_budget(20):
                pass
            assert signal.getitimer(signal.ITIMER_REAL)[0] == 0  # the nested budget disarmed it
            alarm.reset(0.05)
            time.sleep(2)
    assert time.perf_counter() - started < 1
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


def test_a_budget_gives_back_the_callers_alarm_handler():
    """time_budget installs its handler with _signal's signal (no IntEnum round trip) and restores what was there."""
    import signal

    from gradcheck_cli.oracle.exact import time_budget

    def mine(signum, frame):
        pass

    previous = signal.signal(signal.SIGALRM, mine)
    try:
        with time_budget(30):
            assert signal.getsignal(signal.SIGALRM) is not mine
        assert signal.getsignal(signal.SIGALRM) is mine
    finally:
        signal.signal(signal.SIGALRM, previous)
    with time_budget(30):
        pass
    assert signal.getsignal(signal.SIGALRM) == previous


def test_the_oracle_has_a_counterpart_for_every_scalar_op():
    from gradcheck_cli.ops.scalar import SCALAR_OPS
    from gradcheck_cli.oracle.exact import DIGITS, PRECISIONS
    from gradcheck_cli.oracle.rules import RULES, ZERO_BASE, constant_power
    from gradcheck_cli.oracle.sympy_ops import SYMPY_OPS

    # copy is a program's `b = a`: the oracle lowers it to the value itself, no operation
    assert set(SYMPY_OPS) == {op.name for op in SCALAR_OPS} - {"copy"}
    assert set(RULES) == set(SYMPY_OPS)  # each checked against SymPy's derivative in test_oracle_rules.py
    assert PRECISIONS[0] == DIGITS == 50
    with mpmath.workdps(DIGITS):
        rule = RULES["sigma"]
        t = mpmath.mpf("0.7")
        s = 1 / (1 + mpmath.exp(-t))
        value, aux = rule.value(t)  # sigma and its exp(-t), which the partial reuses
        assert abs(rule.partials[0]((t,), value, aux) - s * (1 - s)) < mpmath.mpf(10) ** -45
        zero, two = mpmath.mpf(0), mpmath.mpf(2)
        assert constant_power(2.0).partials[0]((zero, two), zero, None) == 0  # x**2 at 0: 2*x
        assert ZERO_BASE.partials[1]((zero, two), zero, None) == 0  # 0**t: no 0*log(0)


def test_a_case_without_a_formula_says_why_and_no_flag_is_offered_that_would_not_help():
    """Tensors and expressions over 80 operations are chained (their exact values are the same); the note says why
    there is no formula, where `--exact-method auto prints SymPy's formula` would be untrue."""
    from gradcheck_cli import check

    tensor = check("sum(w*x)", at={"w": [1.0, 2.0], "x": [3.0, -1.0]}, wrt="w").cases[0]
    assert tensor.exact_note == "chained at 50 digits, element by element (no formula for tensors)"
    long = check(" + ".join(f"sin(x*{k})" for k in range(1, 60)), at={"x": 0.3}).cases[0]
    assert long.exact_note.startswith("chained at 50 digits (no formula past 80 operations: this one has ")
    small = check("x*y", at={"x": 1.0, "y": 2.0}).cases[0]
    assert small.exact_note is None and small.gradients[0].exact_expr == "y"
