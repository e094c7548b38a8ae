"""Second order for expressions (`eval --order 2`, a claim on H, a `.gc` line with one): the gate graph's Hessian.

The candidate is forward-over-reverse through the rule table (hessian.py); the references are differences of the
gate graph's own gradient (engine.forward and engine.backward over a batch of moved copies of the point, one row
each) and its complex step, which is right by construction here (every gate computes with complex input); the
exact column is the oracle's Hessian (oracle/second.py, 50 digits); a claim `H=...`, `d2x=...`, `dxdy=...` is
judged as every claim is. A row whose forward pass changes a piecewise gate's branch is a kink in second-order
terms (the gradient jumps or bends there). Past 10,000 entries, or the work limit, random Hessian-vector products
(numeric/second.judge_directions). The judge is verdict.judge.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..errors import GradcheckError, ShapeError, UsageError
from ..eval.engine import backward, branch_signs, forward, perturbed_forward
from ..eval.hessian import flat_directions, flatten, hessian_vector_products, missing_rule, point_passes
from ..inputs.claims import Claim
from ..ir import Graph, build_graph
from ..lang.lexer import shorten
from ..numeric.second import Layout, Rows, gradient_columns, judge_directions, judge_entries
from ..results import CaseResult, HessianCheck
from ..status import EPS, worst

CELLS = 20_000_000  # rows x values (and their gradients) per batched forward and backward pass at most
WORK_LIMIT = 250_000_000  # values computed for the per-entry references at most (7 rows per element)
ELEMENT_CELLS = 20_000_000  # ... when bisection turns to one complex step per element (a gradient row each)


def refuse(graph: Graph, wrt: tuple[str, ...], options, claims: dict[str, Claim]) -> None:
    """What the second-order check cannot do, as a usage error before any work starts."""
    shape = graph.nodes[-1].shape
    if math.prod(shape) != 1:
        raise UsageError(f"a Hessian needs a scalar f, and f has shape {shape}: check a scalar of it, such as "
                         "sum(f * C) for a constant C")
    if options.dtype != "float64":
        raise UsageError("second order (--order 2, a claim on H) runs in float64: drop --dtype float32")
    missing = missing_rule(graph)
    if missing is not None:
        raise UsageError(f"gate '{missing}' has no second-order rule, so there is no Hessian through it (second order "
                         "checks the built-in gates)")
    for claim in claims.values():
        left_out = [v for v in claim.second if v not in wrt]
        if left_out:
            raise UsageError(f"the claim {claim_name(claim)} is on {left_out[0]}, which --wrt leaves out (the Hessian "
                             f"is over {', '.join(wrt)})")


def claim_name(claim: Claim) -> str:
    if not claim.second:
        return "H"
    a, b = claim.second
    return f"d2{a}" if a == b else f"d{a}d{b}"


def claimed(graph: Graph, layout: Layout, claims: dict[str, Claim], points: list[dict]) -> tuple[np.ndarray | None, np.ndarray]:
    """Every claim on H at every point, (G, n, n) with NaN where nothing is claimed (a block dxdy claims its
    transpose dydx too), and half a unit of each printed digit for `~=` claims (n, n)."""
    if not claims:
        return None, np.zeros(())
    n, count = layout.size, len(points)
    expected = np.full((count, n, n), np.nan)
    tolerance = np.zeros((n, n))
    inputs = {v: np.stack([np.asarray(p[v], dtype=np.float64) for p in points]) for v in graph.variables}
    for claim in claims.values():
        try:
            cgraph = build_graph(claim.expr, graph.registry, graph.shapes)
        except GradcheckError as problem:
            raise type(problem)(problem.message, claim.position(problem.position.offset if problem.position else 0)) from None
        if claim.second:
            a, b = claim.second
            want = graph.shapes[a] + graph.shapes[b]
            rows, columns = layout.block(a), layout.block(b)
        else:
            want, rows, columns = (n, n), slice(0, n), slice(0, n)
        shape = cgraph.nodes[-1].shape
        flat = (rows.stop - rows.start, columns.stop - columns.start)  # a tensor block may be written as a matrix
        if not (shape in (want, flat) or shape == tuple(k for k in want if k != 1) or math.prod(shape) == math.prod(want) == 1):
            hint = " (transposed?)" if shape == want[::-1] else ""
            what = f"the Hessian over {', '.join(layout.names)}" if not claim.second else f"d2f/d{claim.second[0]}d{claim.second[1]}"
            also = f" (or {flat})" if flat != want else ""
            raise ShapeError(f"claim {claim_name(claim)} has shape {shape}, but {what} has shape {want}{also}{hint}",
                             claim.position())
        values = forward(cgraph, {v: inputs[v] for v in cgraph.variables})[-1]
        block = np.broadcast_to(values, (count, *shape)).reshape(count, rows.stop - rows.start, columns.stop - columns.start)
        expected[:, rows, columns] = block
        expected[:, columns, rows] = np.swapaxes(block, 1, 2)
        if claim.approximate:
            printed = np.broadcast_to(claim.tolerance(), shape).reshape(rows.stop - rows.start, columns.stop - columns.start)
            tolerance[rows, columns] = printed
            tolerance[columns, rows] = printed.T
    return expected, tolerance


class GraphRows:
    """numeric.second.GradientRows for a gate graph: the gradient at moved copies of a point, many rows per batched
    forward and backward pass, with the piecewise gates each row moved off (or sits on) their branch."""

    holomorphic = use_complex = True
    eps = EPS

    def __init__(self, graph: Graph, point: dict, layout: Layout, values: list[np.ndarray]):
        self.graph, self.layout = graph, layout
        self.base = {v: np.asarray(point[v], dtype=np.float64)[None] for v in graph.variables}
        self.signs = branch_signs(graph, values)
        self.index = dict(zip(graph.variables, graph.variable_nodes))
        self.cells = 2 * sum(max(1, math.prod(node.shape)) for node in graph.nodes)

    def gradients(self, moves: np.ndarray) -> Rows:
        dtype = np.complex128 if np.iscomplexobj(moves) else np.float64
        per = max(1, CELLS // self.cells)
        parts, crossed, tied, gates = [], [], [], []
        for start in range(0, len(moves), per):
            chunk = moves[start:start + per]
            values = forward(self.graph, self._inputs(chunk), dtype)
            grads = backward(self.graph, values).node_grads
            parts.append(np.concatenate([np.broadcast_to(grads[self.index[v]], (len(chunk), *shape)).reshape(len(chunk), -1)
                                         for v, shape in zip(self.layout.names, self.layout.shapes)], axis=1))
            if dtype is np.float64:
                kinks = self._kinks(values, len(chunk))
                crossed.append(kinks[0]), tied.append(kinks[1]), gates.append(kinks[2])
        values = np.concatenate(parts) if parts else np.zeros((0, self.layout.size), dtype)
        if dtype is not np.float64:
            return Rows(values)
        return Rows(values, np.concatenate(crossed), np.concatenate(tied), np.concatenate(gates))

    def _inputs(self, chunk: np.ndarray) -> dict[str, np.ndarray]:
        inputs = {}
        for v in self.graph.variables:
            if v in self.layout.names:
                block = chunk[:, self.layout.block(v)]
                inputs[v] = self.base[v] + block.reshape((len(chunk), *self.graph.shapes[v])) if block.any() else self.base[v]
            else:
                inputs[v] = self.base[v]
        return inputs

    def _kinks(self, values: list[np.ndarray], rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        crossed, tied, gate = np.zeros(rows, bool), np.zeros(rows, bool), np.full(rows, -1)
        for index, sign in branch_signs(self.graph, values).items():
            base = np.asarray(self.signs[index]).reshape(1, -1)
            now = np.broadcast_to(np.asarray(sign).reshape(np.shape(sign)[0], -1), (rows, base.shape[1]))
            differs = now != base
            moved = differs.any(axis=1)
            crossed |= moved
            tied |= (differs & (base == 0)).any(axis=1)
            gate = np.where(moved & (gate < 0), index, gate)
        return crossed, tied, gate


def _kink_text(graph: Graph):
    def text(index: int) -> str:
        column, source = graph.location(index)
        return (f"kink: {graph.nodes[index].op} at column {column} ('{shorten(source)}') changes its branch inside the "
                "stencil, or sits on its kink: the gradient jumps or bends there, so a second derivative through it "
                "is 0 off the corner and undefined on it, not a number to compare")
    return text


def _needs_directions(graph: Graph, layout: Layout, limit: int) -> bool:
    cells = 2 * sum(max(1, math.prod(node.shape)) for node in graph.nodes)
    return layout.size ** 2 > limit or 7 * layout.size * cells > WORK_LIMIT


def hessian_at(graph: Graph, layout: Layout, point: dict, options, exact: np.ndarray | None = None,
               expected: np.ndarray | None = None, tolerance=0.0, exact_note: str | None = None) -> HessianCheck:
    """backprop's Hessian at one point, every entry judged (or, past the limits, random Hessian-vector products)."""
    values, grads = point_passes(graph, point)
    x = layout.flat(point)
    g0 = flatten({v: np.asarray(grads[i]).reshape((1, *graph.shapes[v])) for v, i in zip(graph.variables, graph.variable_nodes)
                  if v in layout.names}, layout.names)[0]
    source = GraphRows(graph, point, layout, values)
    tol = options.tolerances

    def products(u: np.ndarray, absolute: bool = False) -> np.ndarray:
        directions = flat_directions(graph, layout.names, np.atleast_2d(np.abs(u) if absolute else u))
        return flatten(hessian_vector_products(graph, values, grads, directions, layout.names, absolute), layout.names)

    if _needs_directions(graph, layout, options.direction_limit):
        budget = max(1, ELEMENT_CELLS // source.cells)
        return judge_directions(layout, source, x, g0, lambda u: products(u)[0],
                                lambda u: 16 * EPS * products(u, True)[0], EPS, tol, options.directions, options.seed,
                                budget, "backprop", exact_note or "not computed past the size limit (random directions)")
    candidate = np.ascontiguousarray(products(np.eye(layout.size)).T)
    columns = gradient_columns(source, x, g0, options.h)
    return judge_entries(layout, candidate, columns, x, tol, EPS, exact, expected, tolerance, True,
                         lambda: np.ascontiguousarray(products(np.eye(layout.size), True).T),
                         lambda: _noise(graph, layout, point, candidate), "backprop", _kink_text(graph), exact_note)


def _noise(graph: Graph, layout: Layout, point: dict, candidate: np.ndarray, samples: int = 4) -> np.ndarray:
    """How far float64's limits can move backprop's Hessian: 4x the largest change over `samples` forward passes
    with every value off by a random relative eps (Monte Carlo arithmetic, as cases.py's _noise), or over the same
    pass in numpy's extended precision (long double: a wider exponent range, where a second partial such as
    2·ans/b² of 1/b at b = 1e132 does not underflow to 0 before it meets the tangents that scale it back)."""
    base = {v: np.asarray(point[v], dtype=np.float64)[None] for v in graph.variables}
    directions = flat_directions(graph, layout.names, np.eye(layout.size))
    change = np.zeros(candidate.shape)
    with np.errstate(all="ignore"):
        runs = [perturbed_forward(graph, base, seed) for seed in range(samples)]
        if np.finfo(np.longdouble).maxexp > np.finfo(np.float64).maxexp:
            runs.append(forward(graph, {v: a.astype(np.longdouble) for v, a in base.items()}, np.longdouble))
        for values in runs:
            grads = backward(graph, values).node_grads
            moved = flatten(hessian_vector_products(graph, values, grads, directions, layout.names), layout.names).T
            change = np.fmax(change, np.abs(np.asarray(moved, np.float64) - candidate))
    return np.where(np.isfinite(change), 4 * change, 0.0)


def with_hessians(graph: Graph, points: list[dict], good: list[int], cases: list[CaseResult], wrt: tuple[str, ...],
                  options, claims: dict[str, Claim], program=None) -> list[CaseResult]:
    """Each case whose point could be checked, with its HessianCheck; its status the worse of the two."""
    if not good or not wrt:  # a constant: nothing to differentiate, once or twice
        return cases
    layout = Layout.of(wrt, [graph.shapes[v] for v in wrt])
    good_points = [points[k] for k in good]
    expected, tolerance = claimed(graph, layout, claims, good_points)
    directions = _needs_directions(graph, layout, options.direction_limit)
    exact, note = _exact(graph, good_points, wrt, options, program, directions)
    out = list(cases)
    for row, k in enumerate(good):
        check = hessian_at(graph, layout, points[k], options, None if exact is None else exact[row].values,
                           None if expected is None else expected[row], tolerance,
                           note or (None if exact is None else exact[row].note))
        case = out[k]
        message = case.message
        if check.status != "pass" and check.diagnosis:
            message = "; ".join(filter(None, (message, f"H: {check.diagnosis}")))
        out[k] = replace(case, status=worst([case.status, check.status]), message=message, hessian=(check,))
    return out


def _exact(graph: Graph, points: list[dict], wrt, options, program, directions: bool):
    if not options.exact:
        return None, "not computed (the exact column is off)"
    if directions:
        return None, "not computed past the size limit (random directions)"
    from ..oracle.second import exact_hessians  # mpmath only when the exact column is asked for

    source, definitions = program if program is not None else (graph.expr, None)
    return exact_hessians(source, points, wrt, options.exact_timeout, definitions), None
