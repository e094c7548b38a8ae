"""From text to checked cases: parse, read the points (shapes come from them), claims, --wrt, then check.

Shared by `gradcheck eval`, expression files, the Python API and the tests, so each reads an
expression the same way; `lang.program.looks_like_program` decides program or expression for every entry
that is given text, and `read_cell` reads a program for all of them. Errors are GradcheckErrors with positions; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import numpy as np

from .errors import ParseError, PointError, UsageError
from .expression.check import Options, check_points
from .inputs.claims import VALUE_CLAIM, Claim, parse_claims
from .inputs.points import PointContext, read_point
from .ir import Graph, build_graph
from .lang.expr import Expr, parse
from .ops import default_registry
from .ops.registry import Registry
from .results import CaseResult


@dataclass(frozen=True, slots=True)
class Prepared:
    """A parsed case ready to check: its graph, points, the variables checked and the claims."""

    graph: Graph
    points: list[dict[str, np.ndarray]]
    wrt: tuple[str, ...]
    claims: dict[str, Claim]


def parse_expression(whole: str, source: str | None, registry: Registry) -> Expr:
    """An expression read from an argument, a file or standard input (`source`: its name, None for an argument); a
    syntax error in a file or stdin is placed at NAME:LINE:COL of the whole text."""
    text = whole.strip()
    try:
        return parse(text, registry.signatures)
    except ParseError as error:
        if source is None:
            raise
        raise error.in_source(source, whole, len(whole) - len(whole.lstrip()) if text else 0) from None


def chosen_variables(graph: Graph, wrt: str | tuple[str, ...] | None) -> tuple[str, ...]:
    """--wrt x,y: those variables, each once, in the order given; every one must be a variable."""
    if not wrt:
        return graph.variables
    names = tuple(dict.fromkeys(n.strip() for n in (wrt.split(",") if isinstance(wrt, str) else wrt) if n.strip()))
    for name in names:
        if name not in graph.variables:
            raise UsageError(f"--wrt names '{name}', which is not a variable of the expression "
                             f"({', '.join(graph.variables) or 'it has none'})")
    return names


def read_points(expr: Expr, texts: list[str], context: PointContext, source_name: str | None = "--at",
                given: list[Mapping[str, np.ndarray]] | None = None) -> list[dict[str, np.ndarray]]:
    """Every point (text or values), all of one shape per variable: the first point's shapes set the graph's."""
    variables = expr.variables
    points = [dict(p) for p in (given or [])]
    shapes = {v: np.shape(points[0][v]) for v in variables if v in points[0]} if points else None
    for text in texts:
        point = read_point(text, variables, context, source_name, shapes)
        if shapes is None:
            shapes = {v: point[v].shape for v in variables}
        points.append(point)
    return points


def prepare(expr: Expr, points: list[dict[str, np.ndarray]], wrt, expect: str | None, registry: Registry,
            claims_source: str | None = "--expect") -> Prepared:
    shapes = {v: np.shape(points[0][v]) for v in expr.variables} if points else {}
    graph = build_graph(expr, registry, shapes)
    chosen = chosen_variables(graph, wrt)
    claims = parse_claims(expect, graph.variables, claims_source, registry.signatures) if expect else {}
    left_out = [var for var, c in claims.items() if var != VALUE_CLAIM and c.second is None and var not in chosen]
    if left_out:
        raise UsageError(f"--expect claims {', '.join('d' + v for v in left_out)}, but --wrt leaves {', '.join(left_out)} out "
                         f"(it checks {', '.join(chosen)}): add {'them' if len(left_out) > 1 else 'it'} to --wrt or drop the claim")
    for var, claim in claims.items():
        if claim.expr is not None:
            for node in claim.expr.nodes:  # a claim is checked only where the expression is
                if node.op == "var" and node.name not in graph.variables:
                    raise PointError(f"claim uses '{node.name}', which is not a variable", claim.position(node.start))
    return Prepared(graph, points, chosen, claims)


def check_text(text: str, at: str | Mapping | list | None = None, wrt=None, expect: str | None = None,
               options: Options = Options(), registry: Registry | None = None, seed: int = 0,
               source: str | None = None) -> list[CaseResult] | CaseResult:
    """The library's one-call check: `at` is --at text, a dict of values, or a list of either (one case each).
    Returns one CaseResult for one point, else a list."""
    registry = registry or default_registry()
    expr = parse(text, registry.signatures)
    context = PointContext(registry, seed)
    many = isinstance(at, list)
    items = at if many else [at if at is not None else ""]
    texts = [a for a in items if isinstance(a, str)]
    given = [{k: np.asarray(v, dtype=np.float64) for k, v in a.items()} for a in items if not isinstance(a, str)]
    if not expr.variables:
        texts = [t for t in texts if t.strip()] or ([] if given else [""])
    points = read_points(expr, texts, context, given=given) if expr.variables or any(t.strip() for t in texts) else [{}]
    prepared = prepare(expr, points, wrt, expect, registry)
    cases = check_points(prepared.graph, prepared.points, prepared.wrt, options, prepared.claims, source)
    return cases if many else cases[0]


def read_cell(text: str, name: str, context: PointContext):
    """A pasted cell as a Program, read the one way every entry reads it (eval, `check`'s .gc.py files, the pytest
    plugin, the API): numpy's makers (np.ones, np.random.randn, ...) are known functions in it."""
    from .lang.program import parse_program

    return parse_program(text, name, dict(context.value_registry().signatures))


def check_program_text(text: str, name: str = "<program>", at: str | None = None, options: Options = Options(),
                       registry: Registry | None = None, seed: int = 0, wrt=None, draws: bool | None = None) -> CaseResult:
    """A pasted forward/backward cell, checked line by line (see programs/; `draws`: programs/check.run_program)."""
    from .programs.check import check_program

    context = PointContext(registry or default_registry(), seed)
    chosen = tuple(n.strip() for n in wrt.split(",")) if isinstance(wrt, str) else wrt
    return check_program(read_cell(text, name, context), context, options, at, chosen, draws)
