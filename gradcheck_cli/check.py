"""One case, end to end: Expr + point → every column → verdicts. The library entry point."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .engine import backward, first_nonfinite, first_nonfinite_gradient, forward, variable_gradients
from .errors import ParseError, PointError, Position
from .gates import GATES
from .graph import Graph, build_graph
from .numeric import complex_step, finite_differences
from .parser import CONSTANTS, Expr, parse, parse_constant
from .verdict import GradientCheck, Tolerances, judge, worst


@dataclass(frozen=True, slots=True)
class Options:
    h: float | None = None
    tolerances: Tolerances = Tolerances()
    exact: bool = True
    exact_timeout: float = 5.0
    trace: bool = False


@dataclass(frozen=True, slots=True)
class TraceRow:
    label: str
    operation: str
    source: str
    value: float
    gradient: float


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


def parse_assignments(text: str, what: str = "point") -> list[tuple[str, str, int, int]]:
    """`x=3, y=-4` → [(name, value_text, name_offset, value_offset)], with carets on malformed items."""
    items = []
    for piece, offset in split_top_level(text):
        if not piece.strip():
            raise PointError(f"empty item in {what} (stray ',')", Position(text, offset))
        name_part, eq, value_part = piece.partition("=")
        name = name_part.strip()
        name_offset = offset + len(name_part) - len(name_part.lstrip())
        if not eq:
            raise PointError(f"expected NAME=VALUE in {what}, got '{piece.strip()}'", Position(text, name_offset))
        if not name.isidentifier() or not name.isascii():
            raise PointError(f"'{name}' is not a variable name", Position(text, name_offset))
        value_offset = offset + len(name_part) + 1
        if not value_part.strip():
            raise PointError(f"no value after '{name}='", Position(text, value_offset))
        items.append((name, value_part, name_offset, value_offset))
    return items


def _constant(text: str, whole: str, offset: int) -> float:
    try:
        return parse_constant(text)
    except ParseError as problem:
        p = problem.position
        raise PointError(problem.message, Position(whole, offset + (p.offset if p else 0))) from None


def parse_point(text: str, variables: tuple[str, ...]) -> dict[str, float]:
    """Values for every variable of the expression; names that are not variables are errors."""
    point: dict[str, float] = {}
    for name, value_text, name_offset, value_offset in parse_assignments(text):
        if name in CONSTANTS:
            raise PointError(f"'{name}' is a constant, not a variable", Position(text, name_offset))
        if name not in variables:
            known = ", ".join(variables) or "none"
            raise PointError(f"'{name}' is not a variable of the expression (its variables: {known})", Position(text, name_offset))
        if name in point:
            raise PointError(f"'{name}' is given twice", Position(text, name_offset))
        value = _constant(value_text, text, value_offset)
        if not math.isfinite(value):
            raise PointError(f"value of '{name}' is not finite", Position(text, value_offset))
        point[name] = value
    missing = [v for v in variables if v not in point]
    if missing:
        raise PointError(f"no value for {', '.join(repr(m) for m in missing)} (every variable needs one)", Position(text, len(text)))
    return point


@dataclass(frozen=True, slots=True)
class Claim:
    """A user's claimed gradient for one variable: a number or an expression in the variables."""

    var: str
    expr: Expr
    graph: Graph = field(repr=False)

    def value_at(self, point: dict[str, float]) -> float:
        values = forward(self.graph, {v: np.array([point[v]]) for v in self.graph.variables})
        return float(values[self.graph.output][0])


def parse_claims(text: str, variables: tuple[str, ...]) -> dict[str, Claim]:
    """`dx=0.25, dy=sigma(x)*(1-sigma(x))` → a Claim per variable."""
    claims: dict[str, Claim] = {}
    for name, value_text, name_offset, value_offset in parse_assignments(text, "claims"):
        var = name[1:] if name.startswith("d") else ""
        if var not in variables:
            hint = f"'d{name}'" if name in variables else "d<variable>"
            raise PointError(f"claim '{name}' names no variable of the expression (write {hint}; variables: {', '.join(variables)})", Position(text, name_offset))
        if var in claims:
            raise PointError(f"'{name}' is claimed twice", Position(text, name_offset))
        try:
            expr = parse(value_text)
        except ParseError as problem:
            p = problem.position
            raise PointError(problem.message, Position(text, value_offset + (p.offset if p else 0))) from None
        for node in expr.nodes:
            if node.op == "var" and node.name not in variables:
                raise PointError(f"claim for '{name}' uses '{node.name}', which is not a variable of the expression", Position(text, value_offset + node.start))
        claims[var] = Claim(var, expr, build_graph(expr))
    return claims


# --- the check ----------------------------------------------------------------------------------------

def _gate_problem(graph: Graph, index: int, values: list[np.ndarray], gradient: bool) -> str:
    node = graph.nodes[index]
    column, text = graph.location(index)
    inputs = ", ".join(f"{values[i][0]:.6g}" for i in node.inputs)
    domain = GATES[node.op].domain
    if gradient:
        what = f"the derivative of {node.op} is not finite at {inputs}"
    else:
        result = values[index][0]
        what = f"{node.op}({inputs}) = {result}" if node.op not in ("add", "sub", "mul", "div", "pow") else f"{node.op} of {inputs} gives {result}"
    return f"{what} at column {column} ('{_shorten(text)}')" + (f": {domain}" if domain else "")


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _kink_description(graph: Graph, gates: tuple[int, ...], tied: tuple[int, ...], d) -> str:
    parts = []
    for g in gates[:3]:
        column, text = graph.location(g)
        parts.append(f"{graph.nodes[g].op} at column {column} ('{_shorten(text)}')")
    where = "; ".join(parts) + (f" and {len(gates) - 3} more" if len(gates) > 3 else "")
    sides = f"left {d.left:.10g}, right {d.right:.10g}"
    if tied:
        return f"kink: the point sits on the kink of {where}; {sides}"
    return (f"kink within the stencil (h={d.h_centered:.3g}) of {where}; {sides}; "
            "shrink --h or move the point to test one side")


def check_case(graph: Graph, point: dict[str, float], wrt: tuple[str, ...], options: Options,
               claims: dict[str, Claim] | None = None, source: str | None = None) -> CaseResult:
    expr = graph.expr
    claims = claims or {}
    values = forward(graph, {v: np.array([point[v]]) for v in graph.variables})
    f_value = float(values[graph.output][0])
    result = backward(graph, values, with_magnitudes=True)
    trace = tuple(
        TraceRow(n.label, graph.describe(i), expr.source(n.expr_index), float(values[i][0]), float(result.node_grads[i][0]))
        for i, n in enumerate(graph.nodes)
    ) if options.trace else ()

    def error_case(message: str) -> CaseResult:
        return CaseResult(expr.text, source, point, f_value, "error", message, (), None, None, trace)

    bad = first_nonfinite(graph, values)
    if bad is not None:
        return error_case(_gate_problem(graph, bad, values, gradient=False))
    analytic = variable_gradients(graph, result)
    if any(not np.isfinite(analytic[v][0]) for v in wrt):
        bad = first_nonfinite_gradient(graph, values, result.node_grads)
        where = _gate_problem(graph, bad, values, gradient=True) if bad is not None else "the gradient is not finite"
        return error_case(where)
    expected = {v: c.value_at(point) for v, c in claims.items()}
    for v, e in expected.items():
        if not math.isfinite(e):
            return error_case(f"the claimed d{v} is not finite at this point ({e})")

    value_scale = max(float(np.max(np.abs(v))) for v in values)
    _, differences = finite_differences(graph, point, wrt, value_scale, options.h)
    complex_values = complex_step(graph, point, wrt)
    exact_values: dict[str, float | None] = {v: None for v in wrt}
    exact_formulas: dict[str, str | None] = {v: None for v in wrt}
    exact_method, exact_note = None, "not computed (--no-exact)"
    if options.exact:
        from .exact import exact_gradient  # SymPy only when the exact column is asked for

        exact = exact_gradient(expr, point, wrt, options.exact_timeout)
        exact_values, exact_formulas, exact_method, exact_note = exact.values, exact.formulas, exact.method, exact.note

    magnitudes = {name: result.magnitudes[i] for name, i in zip(graph.variables, graph.variable_nodes)}
    checks = []
    for v in wrt:
        d = differences[v]
        kink = _kink_description(graph, d.crossed_gates, d.tied_gates, d) if d.crossed_gates else None
        checks.append(judge(v, float(analytic[v][0]), float(magnitudes[v][0]), point[v], d, exact_values[v],
                            exact_formulas[v], expected.get(v), complex_values[v], options.tolerances, kink))
    status = worst([c.status for c in checks])
    problems = [f"d{c.var}: {c.diagnosis}" for c in checks if c.diagnosis and c.status != "pass"]
    return CaseResult(expr.text, source, point, f_value, status, "; ".join(problems) or None, tuple(checks),
                      exact_method, exact_note, trace)
