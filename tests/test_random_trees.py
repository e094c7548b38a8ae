"""Random expression trees (smooth gates on safe domains) through the whole pipeline: backprop must agree
with SymPy's exact derivative to 1e-9 and every check must pass.

Domains are made safe by construction: log/sqrt get exp(...) or 1+t**2, divisions divide by 1+t**2 or
2+sin(t), powers have a positive base, tan only sees |argument| < 1.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gradcheck_cli.check import _rounding_noise, Options, check_case
from gradcheck_cli.engine import backward, forward
from gradcheck_cli.graph import build_graph
from gradcheck_cli.parser import parse

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


@settings(max_examples=150)
@given(_variable_trees(), _points)
def test_random_smooth_trees_agree_with_exact(text, point):
    graph = build_graph(parse(text))
    used = {v: point[v] for v in graph.variables}
    case = check_case(graph, used, graph.variables, Options())
    # the generator keeps every gate in its domain, but exp(...) of a product can still overflow
    if case.status == "error":
        assume("inf" not in (case.message or "") and "overflow" not in (case.message or ""))
    assert case.status == "pass", f"{text} at {used}: {case.status}: {case.message}"
    magnitudes = _magnitudes(text, used)
    # float64 forward rounding can decide digits past 1e-9 (log(1+u**2) at u~1e-4): gradcheck's own Monte Carlo
    # estimate of that widens the floor, and is itself held to 1e-6 relative so it can hide no real bug
    noise = _rounding_noise(graph, [used], graph.variables, {g.var: np.array([g.analytic]) for g in case.gradients})
    for g in case.gradients:
        assert g.status == "pass"
        assert g.exact is not None, f"{text}: no exact value ({case.exact_note})"
        assert noise[g.var][0] <= 1e-6 * max(abs(g.exact), magnitudes[g.var]) + 1e-14
        floor = 64 * np.finfo(float).eps * magnitudes[g.var] + noise[g.var][0] + 1e-300
        assert abs(g.analytic - g.exact) <= RTOL * max(abs(g.analytic), abs(g.exact)) + floor, (
            f"d/d{g.var} of {text} at {used}: analytic {g.analytic!r}, exact {g.exact!r}")


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
