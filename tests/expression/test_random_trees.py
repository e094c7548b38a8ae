"""Random expression trees (smooth gates on safe domains) through the whole pipeline: backprop must agree
with SymPy's exact derivative to 1e-9 and every check must pass.

Domains are made safe by construction: log/sqrt get exp(...) or 1+t**2, divisions divide by 1+t**2 or
2+sin(t), powers have a positive base, tan only sees |argument| < 1.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from gradcheck_cli.eval.engine import backward, forward, perturbed_forward, value_scales
from gradcheck_cli.eval.jacobian import jacobian
from gradcheck_cli.expression.check import Options
from gradcheck_cli.ir import build_graph as _build_graph
from gradcheck_cli.lang.expr import parse
from gradcheck_cli.ops import default_registry
from gradcheck_cli.session import check_text

REGISTRY = default_registry()
NOISE_SAMPLES = 4  # perturbed copies per point, as expression/check.py's Sample._noise takes


def build_graph(expr):
    return _build_graph(expr, REGISTRY)


def check_case(graph, point: dict[str, float], wrt, options: Options):
    """The old check_case: one case of the graph's expression at one point."""
    return check_text(graph.expr.text, point, wrt=tuple(wrt), options=options)


def _rounding_noise(graph, point: dict[str, float], analytic: dict[str, float]) -> dict[str, float]:
    """How far float64 rounding of the forward values moves each gradient: 4x the largest change over perturbed
    copies of the point (Monte Carlo arithmetic; the check's own, now internal Sample._noise of expression/check.py)."""
    copies = {v: np.repeat(point[v], NOISE_SAMPLES) for v in graph.variables}
    perturbed = jacobian(graph, perturbed_forward(graph, copies), graph.variables)[0]
    noise = {}
    with np.errstate(all="ignore"):
        for v in graph.variables:
            change = np.abs(perturbed[v] - analytic[v]).max()
            noise[v] = float(np.where(np.isfinite(change), 4 * change, 0.0))
    return noise

VARIABLES = ("x", "y", "z")
RTOL = 1e-9

_leaf = st.one_of(
    st.sampled_from(VARIABLES),
    st.sampled_from(["0.5", "2", "3", "1.5", "0.25", "pi", "e", "0.1"]),
)


UNARY = (
    "sin({})", "cos({})", "tanh({})", "sigma({})", "exp(tanh({}))", "exp(-({})**2)", "log(1+({})**2)",
    "sqrt(1+({})**2)", "log(exp({}))", "sqrt(exp(tanh({})))", "tan(0.9*tanh({}))", "-({})", "(1+({})**2)**0.5",
    "({})**2", "({})**3",
)
BINARY = (
    "({})+({})", "({})-({})", "({})*({})", "({})/(1+({})**2)", "({})/(2+sin({}))", "sigma({})**(2+sin({}))",
    "(1+({})**2)**tanh({})",
)


@st.composite
def _trees(draw, depth: int = 4) -> str:
    """A random tree of depth <= `depth` (bounded, so no 1,000-deep unary chains)."""
    if depth == 0 or draw(st.integers(0, 4)) == 0:
        return draw(_leaf)
    if draw(st.booleans()):
        return draw(st.sampled_from(UNARY)).format(draw(_trees(depth - 1)))
    template = draw(st.sampled_from(BINARY))
    return template.format(draw(_trees(depth - 1)), draw(_trees(depth - 1)))


def _variable_trees():
    return _trees().filter(lambda text: bool(parse(text).variables))


_points = st.fixed_dictionaries({v: st.floats(-2.0, 2.0, allow_nan=False).map(lambda f: round(f, 6)) for v in VARIABLES})


def _magnitudes(text: str, point: dict[str, float]) -> dict[str, float]:
    """The scale of the terms each gradient is summed from (|upstream|*|local| along every path)."""
    graph = build_graph(parse(text))
    values = forward(graph, {v: np.array([point[v]]) for v in graph.variables})
    result = backward(graph, values, with_magnitudes=True)
    return {name: float(result.magnitudes[i][0]) for name, i in zip(graph.variables, graph.variable_nodes)}


def _value_scale(text: str, point: dict[str, float]) -> float:
    """The largest |intermediate value|: what rounding of the forward values is relative to."""
    graph = build_graph(parse(text))
    return float(value_scales(forward(graph, {v: np.array([point[v]]) for v in graph.variables}))[0])


def _agrees_with_exact(text: str, point: dict[str, float], options: Options) -> None:
    graph = build_graph(parse(text))
    used = {v: point[v] for v in graph.variables}
    case = check_case(graph, used, graph.variables, options)
    # the generator keeps every gate in its domain, but exp(...) of a product can still overflow
    if case.status == "error":
        assume("inf" not in (case.message or "") and "overflow" not in (case.message or ""))
    assert case.status == "pass", f"{text} at {used}: {case.status}: {case.message}"
    magnitudes = _magnitudes(text, used)
    # float64 forward rounding can decide digits past 1e-9 (log(1+u**2) at u~1e-4): gradcheck's own Monte Carlo
    # estimate of that widens the floor, and is itself held to 1e-6 relative so it can hide no real bug
    noise = _rounding_noise(graph, used, {g.var: g.analytic for g in case.gradients})
    for g in case.gradients:
        assert g.status == "pass"
        assert g.exact is not None, f"{text}: no exact value ({case.exact_note})"
        # absolute part: where the gradient and its magnitude pass are exactly 0 (cos(x + x - x**2) at x=2: the
        # argument is 0 and so is sin's), rounding still moves the argument by ~eps*|values|, and with it the gradient
        absolute = max(1e-14, 64 * np.finfo(float).eps * _value_scale(text, used))
        assert noise[g.var] <= 1e-6 * max(abs(g.exact), magnitudes[g.var]) + absolute
        floor = 64 * np.finfo(float).eps * magnitudes[g.var] + noise[g.var] + 1e-300
        assert abs(g.analytic - g.exact) <= RTOL * max(abs(g.analytic), abs(g.exact)) + floor, (
            f"d/d{g.var} of {text} at {used}: analytic {g.analytic!r}, exact {g.exact!r}")


@settings(max_examples=150)
@given(_variable_trees(), _points)
@example("tanh((x)+(((x)**2)*((x)+(x))))", {"x": 2.0, "y": 0.0, "z": 0.0})  # found by Hypothesis: saturated tanh
def test_random_smooth_trees_agree_with_exact(text, point):
    """The exact column as the pipeline computes it (SymPy's formula for these small trees)."""
    _agrees_with_exact(text, point, Options())


@settings(max_examples=150)
@given(_variable_trees(), _points)
@example("cos((x)+((x)-((x)**2)))", {"x": 2.0, "y": 0.0, "z": 0.0})  # gradient exactly 0, rounding noise is not
@example("tanh((x)+(((x)**2)*((x)+(x))))", {"x": 2.0, "y": 0.0, "z": 0.0})
def test_random_smooth_trees_agree_with_the_chain_method(text, point):
    """The same with the exact column by the chain method at 50+ digits (no SymPy formula)."""
    _agrees_with_exact(text, point, Options(exact_method="chain"))


@settings(max_examples=100)
@given(_variable_trees(), _points)
def test_analytic_agrees_with_the_complex_step(text, point):
    """Without SymPy: backprop against Im f(x+ih)/h, which has no subtraction error (a fast second oracle)."""
    graph = build_graph(parse(text))
    used = {v: point[v] for v in graph.variables}
    case = check_case(graph, used, graph.variables, Options(exact=False))
    if case.status == "error":
        assume("inf" not in (case.message or "") and "overflow" not in (case.message or ""))
    assert case.status == "pass", f"{text} at {used}: {case.status}: {case.message}"
    magnitudes = _magnitudes(text, used)
    for g in case.gradients:
        assert g.complex_step is not None and math.isfinite(g.complex_step)
        # the complex step's own truncation is O(h**2) with h = 1e-20: ~1e-40 where the derivative is 0
        floor = 64 * np.finfo(float).eps * magnitudes[g.var] + 1e-30
        assert abs(g.analytic - g.complex_step) <= RTOL * max(abs(g.analytic), abs(g.complex_step)) + floor, (
            f"d/d{g.var} of {text} at {used}: analytic {g.analytic!r}, complex step {g.complex_step!r}")


def test_the_generator_produces_parsable_varied_trees():
    """Guard for the strategy itself: every template parses and the trees use several gates."""
    seen_ops: set[str] = set()

    @settings(max_examples=60, database=None)
    @given(_trees())
    def collect(text):
        expr = parse(text)
        seen_ops.update(n.op for n in expr.nodes)

    collect()
    assert {"sin", "tanh", "sigma", "exp", "log", "sqrt", "mul", "add", "div", "pow"} & seen_ops
    assert len(seen_ops - {"var", "num", "const"}) >= 6
