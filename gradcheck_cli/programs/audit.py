"""Each user gate checked on its own: its rules against the exact derivative of its body, at random points
in its domain and at the points where the program used it. A wrong rule is named by gate and argument."""

from __future__ import annotations

import numpy as np

from ..inputs.claims import Claim
from ..ir import build_graph
from ..results import GateAudit

USED_POINTS = 8  # elements of a gate's inputs, taken from the program's point, audited besides random ones
RANDOM_POINTS = 8


def used_points(graph, values, gate: str, parameters: tuple[str, ...]) -> list[dict[str, np.ndarray]]:
    """The gate's argument values wherever the program's forward pass called it, one point per element."""
    points = []
    for index, node in enumerate(graph.nodes):
        if node.op != gate:
            continue
        args = np.broadcast_arrays(*[np.asarray(values[i][0] if np.ndim(values[i]) else values[i]) for i in node.inputs])
        for k in _spread(np.asarray(args[0], dtype=np.float64).reshape(-1)):
            points.append({p: np.asarray(a.reshape(-1)[k], dtype=np.float64) for p, a in zip(parameters, args)})
    return points[:USED_POINTS]


def _spread(values: np.ndarray) -> list[int]:
    """Up to USED_POINTS elements across the range the program used: the smallest, the largest, quantiles between
    (a rule wrong only where t > 3 is found if any element is there)."""
    if values.size <= USED_POINTS:
        return list(range(values.size))
    order = np.argsort(values, kind="stable")
    picks = np.linspace(0, values.size - 1, USED_POINTS).round().astype(int)
    return [int(order[k]) for k in picks]


def audit(function, rules: dict, registry, options, used: list[dict[str, np.ndarray]], definitions=None) -> list[GateAudit]:
    from ..expression.check import check_points
    from ..inputs.sampling import sample_points

    graph = build_graph(function.result, registry, {})
    claims = {p: Claim(p, rules[p], text=rules[p].text) for p in function.parameters if p in graph.variables}
    random, _ = sample_points(graph, claims, RANDOM_POINTS, seed=0)
    points = [{v: p[v] for v in graph.variables} for p in used] + random
    results = []
    cases = check_points(graph, points, tuple(claims), options, claims, None, (function.result, definitions)) if claims and points else []
    for parameter in function.parameters:
        failing = [(c, g) for c in cases for g in c.gradients if g.var == parameter and g.status in ("mismatch", "error")]
        if failing:
            case, g = failing[0]
            where = ", ".join(f"{k}={float(v):.6g}" for k, v in case.point.items())
            message = (f"gate {function.name}: your rule d {function.name}/d{parameter} = {rules[parameter].text.strip()} "
                       f"is wrong at {where}: it gives {g.expected:.10g}, the exact derivative of {function.result.text.strip()} "
                       f"is {g.exact if g.exact is not None else g.analytic:.10g}")
            results.append(GateAudit(function.name, parameter, "mismatch", message, len(points)))
        else:
            results.append(GateAudit(function.name, parameter, "pass", None, len(points)))
    return results
