"""`gradcheck sweep`'s numbers: every difference quotient at every step h, against the exact derivative (the
complex step where the oracle has none). report/sweep.py prints them."""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph
from ..numeric.differences import centered_step, evaluate_rows, forward_step
from ..results import Sweep, SweepRow

STEPS = tuple(10.0 ** -k for k in range(1, 16))


def sweep(graph: Graph, point: dict[str, float], var: str, reference: float, reference_method: str,
          steps: tuple[float, ...] = STEPS) -> Sweep:
    """Every difference quotient at every h, from one batched forward pass."""
    names = graph.variables
    column = names.index(var)
    base = np.array([float(point[n]) for n in names])
    shifts = [0.0]
    for h in steps:
        shifts += [h, -h, h / 2, -h / 2]
    rows = np.tile(base, (len(shifts), 1))
    rows[:, column] = base[column] + np.array(shifts)
    f = evaluate_rows(graph, rows)
    f0 = f[0]
    result = []
    with np.errstate(all="ignore"):
        for k, h in enumerate(steps):
            plus, minus, plus_half, minus_half = f[1 + 4 * k:5 + 4 * k]
            h_used = rows[1 + 4 * k, column] - base[column]  # the step that was really taken
            centered = (plus - minus) / (2 * h_used)
            centered_half = (plus_half - minus_half) / h_used
            estimates = {
                "forward": float((plus - f0) / h_used),
                "centered": float(centered),
                "richardson": float(centered_half + (centered_half - centered) / 3),
            }
            errors = {m: _relative(v, reference) for m, v in estimates.items()}
            result.append(SweepRow(h, estimates, errors))
    chosen = {"forward": forward_step(float(point[var])), "centered": centered_step(float(point[var]))}
    return Sweep(var, reference, reference_method, tuple(result), chosen)


def _relative(value: float, reference: float) -> float:
    if not math.isfinite(value):
        return math.inf
    scale = max(abs(reference), abs(value))
    return abs(value - reference) / scale if scale else 0.0


def run_sweep(expr, graph: Graph, point: dict, var: str) -> Sweep:
    """The sweep against the exact derivative (the complex step where the oracle has no value)."""
    from ..numeric.differences import complex_step
    from ..oracle.exact import exact_case

    exact = exact_case(expr, [point], (var,))[0]
    value = exact.values.get(var)
    reference, method = (float(value), "exact") if value is not None and np.isfinite(value) else (None, "")
    if reference is None:
        inputs = {v: np.asarray(point[v], dtype=np.float64)[None] for v in graph.variables}
        reference, method = float(complex_step(graph, inputs, (var,))[var].reshape(-1)[0]), "complex step"
    return sweep(graph, point, var, reference, method)
