"""The graph, the staged forward/backward passes, and the verdicts the pipeline (session.check_text) reaches on them."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from gradcheck_cli.eval.engine import backward, forward, variable_gradients
from gradcheck_cli.ir import build_graph as _build_graph
from gradcheck_cli.lang.expr import parse
from gradcheck_cli.ops import default_registry

REGISTRY = default_registry()


def build_graph(expr, shapes=None):
    return _build_graph(expr, REGISTRY, shapes)


def grads_at(text: str, **point: float) -> dict[str, float]:
    graph = build_graph(parse(text))
    values = forward(graph, {v: np.array([point[v]]) for v in graph.variables})
    return {k: float(v[0]) for k, v in variable_gradients(graph, backward(graph, values)).items()}


# --- graph ---------------------------------------------------------------------------------------------

def test_a_variable_used_twice_is_one_node_that_fans_out():
    graph = build_graph(parse("x*x + sigma(x)"))
    assert [n.op for n in graph.nodes].count("var") == 1
    assert graph.variables == ("x",)
    mul = next(n for n in graph.nodes if n.op == "mul")
    assert mul.inputs[0] == mul.inputs[1] == graph.variable_nodes[0]


def test_nodes_are_in_topological_order_with_the_output_last():
    graph = build_graph(parse("(x+sigma(y))/(sigma(x)+(x+y)**2)"))
    for index, node in enumerate(graph.nodes):
        assert all(i < index for i in node.inputs)
    assert graph.output == len(graph.nodes) - 1
    assert graph.nodes[graph.output].label == "f"
    assert graph.nodes[graph.output].op == "div"


def test_variable_order_is_order_of_first_appearance():
    graph = build_graph(parse("b*a + c/a + b"))
    assert graph.variables == ("b", "a", "c")
    assert [graph.nodes[i].label for i in graph.variable_nodes] == ["b", "a", "c"]


def test_constants_do_not_need_gradients():
    graph = build_graph(parse("2**x + 3*pi"))
    needs = {n.label: n.varies for n in graph.nodes}  # needs_grad is now `varies`
    assert needs["x"] is True and needs["pi"] is False and needs["3"] is False


# --- forward / backward -------------------------------------------------------------------------------

def test_fan_out_gradients_accumulate():
    assert grads_at("x*x", x=3.0) == {"x": 6.0}
    assert grads_at("x+x+x", x=3.0) == {"x": 3.0}
    assert grads_at("x*y + x", x=2.0, y=5.0) == {"x": 6.0, "y": 2.0}


def test_power_with_a_negative_base_and_a_constant_exponent():
    # no log(base) is needed when the exponent is a constant
    assert grads_at("x**2", x=-3.0) == {"x": -6.0}
    assert grads_at("x**3", x=-2.0) == {"x": 12.0}


def test_backward_matches_hand_derivatives():
    x, y = 0.3, -1.2
    got = grads_at("sin(x*y) + exp(y)/x - log(x**2 + 1)", x=x, y=y)
    assert got["x"] == pytest.approx(math.cos(x * y) * y - math.exp(y) / x**2 - 2 * x / (x**2 + 1), rel=1e-14, abs=0)
    assert got["y"] == pytest.approx(math.cos(x * y) * x + math.exp(y) / x, rel=1e-14, abs=0)


def test_forward_on_a_batch_equals_forward_on_each_point():
    graph = build_graph(parse("tanh(x*y) + relu(x-y)**2"))
    xs, ys = np.array([0.1, -2.0, 3.0]), np.array([1.0, 0.5, -0.25])
    batch = forward(graph, {"x": xs, "y": ys})[graph.output]
    for k in range(3):
        single = forward(graph, {"x": xs[k:k + 1], "y": ys[k:k + 1]})[graph.output]
        assert batch[k] == single[0]


def test_passes_do_not_change_the_graph():
    graph = build_graph(parse("x*y + sigma(x)"))
    before = repr(graph.nodes)
    values = forward(graph, {"x": np.array([1.0]), "y": np.array([2.0])})
    backward(graph, values)
    backward(graph, values)  # twice: nothing accumulates on the nodes
    assert repr(graph.nodes) == before
    assert variable_gradients(graph, backward(graph, values))["y"][0] == 1.0


def test_values_carry_a_leading_batch_axis_and_constants_are_0d():
    graph = build_graph(parse("sum(W * x) + 2"), {"W": (2, 3)})
    assert graph.shapes == {"W": (2, 3), "x": ()}
    W = np.arange(12.0).reshape(2, 2, 3)  # 2 points
    values = forward(graph, {"W": W, "x": np.array([1.0, -1.0])})
    shapes = {graph.nodes[i].label: np.shape(v) for i, v in enumerate(values)}
    assert shapes["W"] == (2, 2, 3) and shapes["x"] == (2,) and shapes["mul1"] == (2, 2, 3)
    assert shapes["2"] == ()  # a constant is one 0-d float
    np.testing.assert_array_equal(values[graph.output], [W[0].sum() + 2, -W[1].sum() + 2])
    grads = variable_gradients(graph, backward(graph, values))
    np.testing.assert_array_equal(grads["W"], np.array([1.0, -1.0])[:, None, None] * np.ones((2, 2, 3)))
    np.testing.assert_array_equal(grads["x"], [W[0].sum(), W[1].sum()])


def test_a_tensor_used_twice_accumulates_and_broadcasting_is_summed_back():
    A = np.array([[0.5, -1.0], [2.0, 1.5]])
    b = np.array([0.25, -0.75])
    graph = build_graph(parse("sum(A @ A + A * b)"), {"A": (2, 2), "b": (2,)})
    values = forward(graph, {"A": A[None], "b": b[None]})
    grads = variable_gradients(graph, backward(graph, values))
    ones = np.ones((2, 2))
    np.testing.assert_allclose(grads["A"][0], ones @ A.T + A.T @ ones + b[None, :] * ones, rtol=1e-15)
    np.testing.assert_allclose(grads["b"][0], A.sum(axis=0), rtol=1e-15)  # (2, 2) -> (2,): summed back


def test_shared_constant_only_values_broadcast_over_the_points():
    graph = build_graph(parse("x + exp(2)"))
    values = forward(graph, {"x": np.array([0.0, 1.0, 2.0])})
    np.testing.assert_array_equal(values[graph.output], np.array([0.0, 1.0, 2.0]) + np.exp(2.0))


# --- verdicts -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,at", [
    ("exp(10*x)", "x=3"),
    ("x**8", "x=3"),
    ("log(x)", "x=1e-3"),
    ("sin(100*x)", "x=3"),
    ("exp(x)*1e10 - 1e10", "x=1e-6"),
    ("1/x", "x=1e-5"),
])
def test_ill_conditioned_but_smooth_points_pass(text, at, check):
    case = check(text, at)
    assert case.status == "pass", case.message
    for g in case.gradients:
        assert g.analytic == pytest.approx(g.exact, rel=1e-12, abs=0)


@pytest.mark.parametrize("text,at", [
    ("sigma(x)", "x=30"),
    ("sigma(x)", "x=40"),
    ("tanh(x)", "x=15"),  # the SymPy formula 1 - tanh(x)**2 cancels: it is evaluated at 50+ digits
    ("tanh(x)", "x=-20"),
])
def test_saturated_sigma_and_tanh_are_not_mismatches(text, at, check):
    """The derivative of a saturated sigmoid/tanh is tiny but correct; backprop must not be blamed for it."""
    case = check(text, at)
    assert case.status == "pass", (case.message, [(g.analytic, g.exact) for g in case.gradients])


@pytest.mark.parametrize("text,at,gate", [
    ("relu(x)", "x=0", "relu"),
    ("abs(x)", "x=0", "abs"),
    ("max(x, y)", "x=1.5,y=1.5", "max"),
    ("min(x, y)", "x=-2,y=-2", "min"),
    ("x*relu(x-1) + y", "x=1,y=3", "relu"),
])
def test_kinks(text, at, gate, check):
    case = check(text, at)
    assert case.status == "kink"
    assert gate in case.message
    assert "kink" in case.message
    kinked = [g for g in case.gradients if g.status == "kink"]
    assert kinked
    for g in kinked:
        assert g.left is not None and g.right is not None
        assert min(g.left, g.right) - 1e-6 <= g.analytic <= max(g.left, g.right) + 1e-6
        # new core (intentional): on the kink the exact derivative is undecided (no Heaviside(0)=1/2 midpoint)
        assert g.exact is None


def test_kink_within_the_stencil(check):
    case = check("relu(x)", "x=1e-9")
    assert case.status == "kink"
    assert "relu" in case.message and "stencil" in case.message
    # the analytic value is the right-hand one: the point is not on the kink
    assert case.gradients[0].analytic == 1.0


def test_smooth_function_of_a_kinked_gate_away_from_the_kink_passes(check):
    case = check("relu(x)**2 + abs(y)", "x=0.5,y=-2")
    assert case.status == "pass"
    assert [g.analytic for g in case.gradients] == [1.0, -1.0]


@pytest.mark.parametrize("text,at,gate", [
    ("log(x)", "x=-1", "log"),
    ("log(x)", "x=0", "log"),
    ("1/(x-x)", "x=1", "div"),
    ("exp(x)", "x=1000", "exp"),
    ("sqrt(x)", "x=-1", "sqrt"),
    ("sqrt(x)", "x=0", "sqrt"),  # finite value, infinite derivative
    ("x**0.5", "x=0", "pow"),
    ("x + log(y - 2)", "x=1,y=1", "log"),
])
def test_errors_name_the_gate(text, at, gate, check):
    started = time.perf_counter()
    case = check(text, at)
    assert case.status == "error"
    assert gate in case.message
    assert "column" in case.message
    assert case.gradients == ()
    assert time.perf_counter() - started < 10


@pytest.mark.parametrize("text,at", [("x**0", "x=0"), ("0**x", "x=2"), ("x**0 + 0**x", "x=0.5")])
def test_pow_slopes_that_are_zero_are_zero_not_errors(text, at, check):
    # new core (intentional): x**0 at x=0 and 0**x at x > 0 have derivative 0 (the old core said error: 0*inf, 0*log(0))
    case = check(text, at)
    assert case.status == "pass", case.message
    assert [(g.analytic, g.exact) for g in case.gradients] == [(0.0, 0.0)]


def test_error_message_points_at_the_failing_subexpression(check):
    case = check("x + log(y - 2)", "x=1,y=1")
    assert "column 5" in case.message
    assert "log(y - 2)" in case.message


def test_infinite_derivative_is_an_error_not_a_mismatch(check):
    case = check("sqrt(x)", "x=0")
    assert case.status == "error"
    assert "derivative" in case.message
    assert case.value == 0.0


# --- claims (--expect) --------------------------------------------------------------------------------

def test_correct_claim_passes(check):
    case = check("x**2 * y", "x=3,y=2", expect="dx=12, dy=9")
    assert case.status == "pass"
    assert [g.expected for g in case.gradients] == [12.0, 9.0]
    assert all(g.expected_rel_error == 0.0 for g in case.gradients)


@pytest.mark.parametrize("relative", [1e-6, 1.5e-6, 1e-5, 1e-3, -1e-6, -0.5])
def test_claim_off_by_relative_1e_6_or_more_is_a_mismatch(relative, check):
    claimed = 6.0 * (1 + relative)
    case = check("x**2", "x=3", expect=f"dx={claimed!r}")
    assert case.status == "mismatch", (claimed, case.message)
    assert "claimed dx" in case.message


@pytest.mark.parametrize("relative", [1e-9, 1e-7, -5e-7])
def test_claim_within_the_tolerance_passes(relative, check):
    case = check("x**2", "x=3", expect=f"dx={6.0 * (1 + relative)!r}")
    assert case.status == "pass", case.message


def test_formula_claim(check):
    case = check("sigma(x)", "x=0.7", expect="dx=sigma(x)*(1-sigma(x))")
    assert case.status == "pass"
    s = 1 / (1 + math.exp(-0.7))
    assert case.gradients[0].expected == pytest.approx(s * (1 - s), rel=1e-15, abs=0)


def test_wrong_formula_claim_is_a_mismatch(check):
    case = check("sigma(x)", "x=0.7", expect="dx=sigma(x)*(1+sigma(x))")
    assert case.status == "mismatch"
    assert "claimed dx" in case.message


def test_claim_for_one_variable_only(check):
    case = check("x*y", "x=2,y=3", expect="dy=2")
    assert case.status == "pass"
    assert [g.expected for g in case.gradients] == [None, 2.0]


def test_a_wrong_claim_fails_even_when_exact_is_off(check):
    case = check("x**2", "x=3", expect="dx=6.1", exact=False)
    assert case.status == "mismatch"
    assert "analytic" in case.message


# --- tolerances, --wrt, --no-exact ----------------------------------------------------------------------

def test_wrt_restricts_the_checked_variables(check):
    case = check("x*y*z", "x=1,y=2,z=3", wrt=("z", "x"))
    assert [g.var for g in case.gradients] == ["z", "x"]
    assert [g.analytic for g in case.gradients] == [2.0, 6.0]


def test_no_exact_leaves_the_exact_column_empty_but_still_judges(check):
    case = check("sin(x)", "x=1", exact=False)
    assert case.status == "pass"
    g = case.gradients[0]
    assert g.exact is None and g.exact_expr is None
    assert g.centered == pytest.approx(math.cos(1), rel=1e-8, abs=0)
    # the library's note no longer names the CLI flag (was "not computed (--no-exact)"): the column is said to be off
    assert case.exact_note and "not computed" in case.exact_note and "off" in case.exact_note


@pytest.mark.parametrize("text", ["x**3", "x**2*y", "cos(x/(2+sin(x)))", "sin(x)**3"])
def test_zero_derivative_without_the_exact_column_passes(text, check):
    """At x=0 these derivatives are exactly 0; the complex step's O(h**2) truncation (~1e-40) must not turn
    that into a relative error of 1 and a mismatch."""
    case = check(text, {"x": 0.0, "y": 1.0} if "y" in text else {"x": 0.0}, exact=False)
    assert case.status == "pass", case.message
    assert case.gradients[0].analytic == 0.0


def test_constant_expression_has_no_gradients(check):
    case = check("2*pi", "")
    assert case.status == "pass"
    assert case.value == 2 * math.pi
    assert case.gradients == ()


def test_tiny_step_does_not_crash(check):
    """--h 1e-300: the differences are useless; the library may refuse the step (a GradcheckError) or give a
    verdict, but must not raise ZeroDivisionError/OverflowError."""
    from gradcheck_cli.errors import GradcheckError

    try:
        case = check("x**2", "x=1", h=1e-300)
    except GradcheckError as error:
        assert "h" in error.message
        return
    assert case.status in ("pass", "inconclusive")  # backprop is right; only the differences are useless
    assert case.gradients[0].analytic == 2.0
    assert case.gradients[0].exact == 2.0
