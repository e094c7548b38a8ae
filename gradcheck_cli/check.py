"""One case, end to end: Expr + point → every column → verdicts. The library entry point."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .engine import (GradientBreak, at_point, backward, first_nonfinite, first_nonfinite_gradient, forward, nonfinite_points, perturbed_forward,
                     value_scales, variable_gradients)
from .errors import ParseError, PointError, Position
from .gates import GATES
from .graph import Graph, build_graph
from .numeric import Differences, complex_step, finite_differences
from .parser import CONSTANTS, Expr, parse, parse_constant, shorten
from .verdict import GradientCheck, Kink, Tolerances, judge, worst


@dataclass(frozen=True, slots=True)
class Options:
    h: float | None = None
    tolerances: Tolerances = Tolerances()
    exact: bool = True
    exact_timeout: float = 5.0
    exact_method: str = "auto"  # auto: SymPy's whole formula for small expressions, else chain; chain: always chain
    trace: bool = False


@dataclass(frozen=True, slots=True)
class TraceRow:
    label: str
    operation: str
    source: str
    value: float
    gradient: float | None  # None for constants: nothing flows back into them


@dataclass(frozen=True, slots=True)
class CaseResult:
    expr: str
    source: str | None
    point: dict[str, float]
    value: float
    status: str
    message: str | None
    gradients: tuple[GradientCheck, ...]
    exact_method: str | None = None
    exact_note: str | None = None
    trace: tuple[TraceRow, ...] = ()
    expected_value: float | None = None  # a claimed value of f (expression files' `=> f=...`)


# --- points and claims --------------------------------------------------------------------------------

def split_top_level(text: str, separator: str = ",") -> list[tuple[str, int]]:
    """Split on `separator` outside parentheses; each piece with its offset (so errors can point into it)."""
    pieces, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            pieces.append((text[start:i], start))
            start = i + 1
    pieces.append((text[start:], start))
    return pieces


def parse_assignments(text: str, what: str = "point", source_name: str | None = None) -> list[tuple[str, str, int, int]]:
    """`x=3, y=-4` → [(name, value_text, name_offset, value_offset)], with carets on malformed items."""
    items = []

    def at(offset: int) -> Position:
        return Position(text, offset, source_name=source_name)

    for piece, offset in split_top_level(text):
        if not piece.strip():
            raise PointError(f"empty item in {what} (stray ',')", at(offset))
        name_part, eq, value_part = piece.partition("=")
        name = name_part.strip()
        name_offset = offset + len(name_part) - len(name_part.lstrip())
        if not eq:
            raise PointError(f"expected NAME=VALUE in {what}, got {shorten(piece.strip())!r}", at(name_offset))
        if not name.isidentifier() or not name.isascii():
            raise PointError(f"{shorten(name)!r} is not a variable name", at(name_offset))
        value_offset = offset + len(name_part) + 1
        if not value_part.strip():
            raise PointError(f"no value after '{name}='", at(value_offset))
        items.append((name, value_part, name_offset, value_offset))
    return items


def _constant(text: str, whole: str, offset: int, source_name: str | None) -> float:
    try:
        return parse_constant(text)
    except ParseError as problem:
        p = problem.position
        raise PointError(problem.message, Position(whole, offset + (p.offset if p else 0), source_name=source_name)) from None


def parse_point(text: str, variables: tuple[str, ...], source_name: str | None = "--at") -> dict[str, float]:
    """Values for every variable of the expression; names that are not variables are errors."""
    point: dict[str, float] = {}
    for name, value_text, name_offset, value_offset in parse_assignments(text, "point", source_name):
        if name in CONSTANTS:
            raise PointError(f"'{name}' is a constant, not a variable", Position(text, name_offset, source_name=source_name))
        if name not in variables:
            known = ", ".join(variables) or "none"
            raise PointError(f"'{name}' is not a variable of the expression (its variables: {known})", Position(text, name_offset, source_name=source_name))
        if name in point:
            raise PointError(f"'{name}' is given twice", Position(text, name_offset, source_name=source_name))
        value = _constant(value_text, text, value_offset, source_name)
        if not math.isfinite(value):
            raise PointError(f"value of '{name}' is not finite", Position(text, value_offset, source_name=source_name))
        point[name] = value
    missing = [v for v in variables if v not in point]
    if missing:
        raise PointError(f"no value for {', '.join(repr(m) for m in missing)} (every variable needs one)", Position(text, len(text), source_name=source_name))
    return point


@dataclass(frozen=True, slots=True)
class Claim:
    """A user's claimed gradient for one variable: a number or an expression in the variables."""

    var: str
    expr: Expr
    graph: Graph = field(repr=False)

    def values_at(self, points: list[dict[str, float]]) -> np.ndarray:
        values = forward(self.graph, {v: np.array([p[v] for p in points]) for v in self.graph.variables})
        return np.broadcast_to(values[self.graph.output], (len(points),))

    def value_at(self, point: dict[str, float]) -> float:
        return float(self.values_at([point])[0])


def parse_claims(text: str, variables: tuple[str, ...], source_name: str | None = "--expect") -> dict[str, Claim]:
    """`dx=0.25, dy=sigma(x)*(1-sigma(x))` → a Claim per variable."""
    claims: dict[str, Claim] = {}
    for name, value_text, name_offset, value_offset in parse_assignments(text, "claims", source_name):
        var = name[1:] if name.startswith("d") else ""
        if var not in variables:
            hint = f"'d{name}'" if name in variables else "d<variable>"
            known = f"write {hint}; variables: {', '.join(variables)}" if variables else "the expression has no variables"
            raise PointError(f"claim '{name}' names no variable of the expression ({known})", Position(text, name_offset, source_name=source_name))
        if var in claims:
            raise PointError(f"'{name}' is claimed twice", Position(text, name_offset, source_name=source_name))
        try:
            expr = parse(value_text)
        except ParseError as problem:
            p = problem.position
            raise PointError(problem.message, Position(text, value_offset + (p.offset if p else 0), source_name=source_name)) from None
        for node in expr.nodes:
            if node.op == "var" and node.name not in variables:
                raise PointError(f"claim for '{name}' uses '{node.name}', which is not a variable of the expression", Position(text, value_offset + node.start, source_name=source_name))
        claims[var] = Claim(var, expr, build_graph(expr))
    return claims


# --- the check ----------------------------------------------------------------------------------------

def _gate_problem(graph: Graph, index: int, values: list[np.ndarray], k: int, gradient: GradientBreak | None = None) -> str:
    node = graph.nodes[index]
    column, text = graph.location(index)
    where = f"at column {column} ('{shorten(text)}')"
    inputs = ", ".join(f"{at_point(values[i], k):.6g}" for i in node.inputs)
    domain = GATES[node.op].domain
    if gradient is not None and math.isfinite(gradient.local):  # a finite rule times a finite gradient: overflow
        return (f"the gradient overflows {where}: df/d({node.label}) = {gradient.upstream:.6g} times the local "
                f"derivative of {node.op} ({gradient.local:.6g}) is beyond the float range")
    if gradient is not None:
        what = f"the derivative of {node.op} is not finite at {inputs}"
    else:
        result = at_point(values[index], k)
        what = f"{node.op}({inputs}) = {result}" if node.op not in ("add", "sub", "mul", "div", "pow") else f"{node.op} of {inputs} gives {result}"
    return f"{what} {where}" + (f": {domain}" if domain else "")


def _kink(graph: Graph, d: Differences) -> Kink | None:
    """The kink the stencil of `d` crossed, described for the user (None when it crossed none)."""
    gates, tied = d.crossed_gates, d.tied_gates
    if not gates:
        return None
    parts = []
    for g in gates[:3]:
        column, text = graph.location(g)
        parts.append(f"{graph.nodes[g].op} at column {column} ('{shorten(text)}')")
    where = "; ".join(parts) + (f" and {len(gates) - 3} more" if len(gates) > 3 else "")
    if tied:
        return Kink(f"kink: the point sits on the kink of {where}; left derivative {d.left:.10g}, right {d.right:.10g}", True)
    return Kink(f"the finite-difference stencil (h={d.h_centered:.3g}) crosses a kink of {where} near the point "
                "(not at it): forward/centered straddle it, the complex step judges; shrink --h or move the point", False)


def check_points(graph: Graph, points: list[dict[str, float]], wrt: tuple[str, ...], options: Options,
                 claims: dict[str, Claim] | None = None, source: str | None = None) -> list[CaseResult]:
    """Every column at every point, the points going through the graph as one numpy batch."""
    if not points:
        return []
    values = forward(graph, {v: np.array([p[v] for p in points]) for v in graph.variables})
    result = backward(graph, values)
    analytic = variable_gradients(graph, result)
    expected = {v: c.values_at(points) for v, c in (claims or {}).items()}
    suspect = nonfinite_points([*values, *(analytic[v] for v in wrt), *expected.values()])
    problems = [_first_problem(graph, values, result, analytic, expected, wrt, k) if suspect[k] else None
                for k in range(len(points))]
    good = [k for k, problem in enumerate(problems) if problem is None]
    good_points = [points[k] for k in good]
    scales = value_scales(values)
    differences = finite_differences(graph, good_points, wrt, [float(scales[k]) for k in good], options.h)
    complex_slopes = complex_step(graph, good_points, wrt)
    exact = None
    if options.exact and good_points:
        from .exact import exact_gradients  # SymPy only when the exact column is asked for

        exact = exact_gradients(graph.expr, good_points, wrt, options.exact_timeout, options.exact_method == "auto")

    def judge_point(k: int, j: int, magnitude: dict[str, float], noise: dict[str, float]) -> tuple[GradientCheck, ...]:
        ex = exact[j] if exact is not None else None
        return tuple(
            judge(v, float(analytic[v][k]), magnitude.get(v, 0.0), noise.get(v, 0.0), points[k][v], differences[j][v],
                  ex.values[v] if ex else None, ex.formulas[v] if ex else None,
                  float(expected[v][k]) if v in expected else None, complex_slopes[j][v], options.tolerances,
                  _kink(graph, differences[j][v]))
            for v in wrt)

    position = {k: j for j, k in enumerate(good)}
    checks = {k: judge_point(k, j, {}, {}) for j, k in enumerate(good)}
    # rounding allowances only widen tolerances, so a clean pass without them stays one: measure them elsewhere only
    unclean = [(j, k) for j, k in enumerate(good) if any(c.status != "pass" or c.diagnosis for c in checks[k])]
    if unclean:
        magnitude = _backprop_magnitudes(graph, [points[k] for _, k in unclean], wrt)
        magnitude_at = [{v: float(magnitude[v][row]) for v in wrt} for row in range(len(unclean))]
        for row, (j, k) in enumerate(unclean):
            checks[k] = judge_point(k, j, magnitude_at[row], {})
        # a mismatch may be float64 conditioning rather than a wrong rule: measure the rounding noise there only
        doubtful = [(row, j, k) for row, (j, k) in enumerate(unclean) if any(c.status == "mismatch" for c in checks[k])]
        if doubtful:
            noise = _rounding_noise(graph, [points[k] for _, _, k in doubtful], wrt,
                                    {v: analytic[v][[k for _, _, k in doubtful]] for v in wrt})
            for n, (row, j, k) in enumerate(doubtful):
                checks[k] = judge_point(k, j, magnitude_at[row], {v: float(noise[v][n]) for v in wrt})
    cases: list[CaseResult] = []
    for k, point in enumerate(points):
        f_value = float(values[graph.output][k])
        trace = _trace(graph, values, result, k) if options.trace else ()
        if problems[k] is not None:
            cases.append(CaseResult(graph.expr.text, source, point, f_value, "error", problems[k], (), None, None, trace))
            continue
        ex = exact[position[k]] if exact is not None else None
        status = worst([c.status for c in checks[k]])
        notes = [f"d{c.var}: {c.diagnosis}" for c in checks[k] if c.diagnosis and c.status != "pass"]
        cases.append(CaseResult(graph.expr.text, source, point, f_value, status, "; ".join(notes) or None, checks[k],
                                ex.method if ex else None, ex.note if ex else "not computed (--no-exact)", trace))
    return cases


def _backprop_magnitudes(graph: Graph, points: list[dict[str, float]], wrt: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per variable and point, the backward pass on absolute values: the scale backprop's rounding errors are relative to."""
    values = forward(graph, {v: np.array([p[v] for p in points]) for v in graph.variables})
    magnitudes = backward(graph, values, with_magnitudes=True).magnitudes
    return {v: magnitudes[i] for v, i in zip(graph.variables, graph.variable_nodes) if v in wrt}


NOISE_SAMPLES = 4  # perturbed copies of each point
NOISE_BUDGET = 20_000_000  # gate evaluations (nodes x copies): above this the estimate is skipped


def _rounding_noise(graph: Graph, points: list[dict[str, float]], wrt: tuple[str, ...],
                    analytic: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per variable and point, how far float64 rounding in the forward values can move the analytic gradient:
    4x the largest change over the perturbed copies (a few samples see a typical, not the worst, pattern)."""
    if not points or len(graph.nodes) * len(points) * NOISE_SAMPLES > NOISE_BUDGET:
        return {v: np.zeros(len(points)) for v in wrt}
    copies = {v: np.repeat([p[v] for p in points], NOISE_SAMPLES) for v in graph.variables}
    perturbed = variable_gradients(graph, backward(graph, perturbed_forward(graph, copies)))
    noise = {}
    with np.errstate(all="ignore"):
        for v in wrt:
            change = np.abs(perturbed[v].reshape(len(points), NOISE_SAMPLES) - analytic[v][:, None]).max(axis=1)
            noise[v] = np.where(np.isfinite(change), 4 * change, 0.0)
    return noise


def _trace(graph: Graph, values: list[np.ndarray], result, k: int) -> tuple[TraceRow, ...]:
    return tuple(
        TraceRow(n.label, graph.describe(i), graph.expr.source(n.expr_index), float(at_point(values[i], k)),
                 float(result.node_grads[i][k]) if n.needs_grad or i == graph.output else None)
        for i, n in enumerate(graph.nodes))


def _first_problem(graph: Graph, values: list[np.ndarray], result, analytic: dict[str, np.ndarray],
                   expected: dict[str, np.ndarray], wrt: tuple[str, ...], k: int) -> str | None:
    """Why point k cannot be checked (a gate left its domain, a gradient or claim is not finite), or None."""
    bad = first_nonfinite(graph, values, k)  # also a nan that a later max/relu swallowed
    if bad is not None:
        return _gate_problem(graph, bad, values, k)
    if any(not np.isfinite(analytic[v][k]) for v in wrt):
        broken = first_nonfinite_gradient(graph, values, result.node_grads, k)
        return _gate_problem(graph, broken.index, values, k, broken) if broken is not None else "the gradient is not finite"
    for v, e in expected.items():
        if not np.isfinite(e[k]):
            return f"the claimed d{v} is not finite at this point ({e[k]})"
    return None


def point_problem(graph: Graph, point: dict[str, float], wrt: tuple[str, ...]) -> str | None:
    """Why `point` cannot be differentiated at all (a gate outside its domain, a gradient not finite), or None."""
    values = forward(graph, {v: np.array([point[v]]) for v in graph.variables})
    result = backward(graph, values)
    analytic = variable_gradients(graph, result)
    return _first_problem(graph, values, result, analytic, {}, wrt, 0)


def check_case(graph: Graph, point: dict[str, float], wrt: tuple[str, ...], options: Options,
               claims: dict[str, Claim] | None = None, source: str | None = None) -> CaseResult:
    """One point (see check_points)."""
    return check_points(graph, [point], wrt, options, claims, source)[0]
