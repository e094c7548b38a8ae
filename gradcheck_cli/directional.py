"""Cases past the element (or work) limit, for a gate graph: random directions and bisection per variable
(directions.py), the exact column and the claims per element where they exist — every verdict the judge's."""

from __future__ import annotations

import numpy as np

from .directions import Candidate, GraphProbe, as_gradient_check, check_directions, element_judgement
from .eval.engine import backward, forward
from .results import GradientCheck
from .status import EPS


def direction_checks(graph, points, good, analytic, expected, wrt, options, exact, claim_tolerance=None
                     ) -> dict[int, tuple[GradientCheck, ...]]:
    """Per good point (index k into the case's points): a GradientCheck per variable."""
    checks = {}
    eps = float(np.finfo(np.dtype(options.dtype)).eps)
    for row, (k, point) in enumerate(zip(good, points)):
        ex = exact[row] if exact else None
        magnitudes = _magnitudes(graph, point, wrt)
        probe = GraphProbe(graph, point)
        checks[k] = tuple(_direction_check(probe, point, v, np.asarray(analytic[v][k], dtype=np.float64), magnitudes[v], eps,
                                           expected[v][k] if v in expected else None, ex, options,
                                           (claim_tolerance or {}).get(v, 0.0)) for v in wrt)
    return checks


def _magnitudes(graph, point, wrt) -> dict[str, np.ndarray]:
    """The backward pass on absolute values: what each element's rounding is relative to."""
    values = forward(graph, {v: np.asarray(point[v], np.float64)[None] for v in graph.variables})
    result = backward(graph, values, with_magnitudes=True)
    index = dict(zip(graph.variables, graph.variable_nodes))
    return {v: np.asarray(result.magnitudes[index[v]][0], np.float64) for v in wrt}


def _direction_check(probe, point, var: str, gradient: np.ndarray, magnitude: np.ndarray, eps: float, claimed, exact,
                     options, claim_tolerance) -> GradientCheck:
    tol = options.tolerances
    x = np.asarray(point[var], dtype=np.float64)
    candidate = Candidate(var, x, gradient, 16 * max(eps, EPS) * magnitude, eps)
    result = check_directions(probe, candidate, tol, options.directions, options.seed)
    exact_values = exact.values.get(var) if exact is not None else None
    exact_values = None if exact_values is None else np.asarray(exact_values, np.float64).reshape(gradient.shape)
    claimed = None if claimed is None else np.asarray(claimed, dtype=np.float64)
    elements = element_judgement(candidate, magnitude, exact_values, claimed, claim_tolerance, tol)
    return as_gradient_check(result, candidate, elements, exact_values, claimed)
