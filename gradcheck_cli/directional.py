"""Cases past the element limit (cases.py hands them over): random directions and bisection per variable
(directions.py), plus the exact column and the claims per element where they exist."""

from __future__ import annotations

import numpy as np

from .cases import FAILING_SHOWN, status_names
from .directions import check_directions
from .problems import element_text
from .results import GradientCheck
from .verdict import SEVERITY



def direction_checks(graph, points, good, analytic, expected, wrt, options, exact) -> dict[int, tuple[GradientCheck, ...]]:
    """Per good point (index k into the case's points): a GradientCheck per variable."""
    checks = {}
    for row, (k, point) in enumerate(zip(good, points)):
        ex = exact[row] if exact else None
        checks[k] = tuple(_direction_check(graph, point, v, np.asarray(analytic[v][k], dtype=np.float64),
                                           expected.get(v, [None] * (k + 1))[k], ex, options) for v in wrt)
    return checks


def _direction_check(graph, point, var: str, gradient: np.ndarray, claimed, exact, options) -> GradientCheck:
    tol = options.tolerances
    result = check_directions(graph, point, var, gradient, tol, options.directions)
    exact_values = exact.values.get(var) if exact is not None else None
    status = np.zeros(gradient.shape, np.int64)
    for index in result.faulty:
        status[index] = SEVERITY.index("mismatch")
    reference = gradient
    with np.errstate(all="ignore"):
        if exact_values is not None:
            reference = np.where(np.isfinite(exact_values), exact_values, gradient)
            wrong = np.abs(gradient - exact_values) > tol.rtol * np.maximum(np.abs(gradient), np.abs(exact_values)) + tol.atol + 16 * np.finfo(float).eps * np.abs(gradient)
            status[wrong & np.isfinite(exact_values)] = SEVERITY.index("mismatch")
        claim_wrong = None
        if claimed is not None:
            claimed = np.asarray(claimed, dtype=np.float64)
            claim_wrong = ~(np.abs(claimed - reference) < tol.rtol * (1 - 1e-9) * np.abs(reference)) & ~(np.abs(claimed - reference) <= tol.atol)
            status[claim_wrong] = SEVERITY.index("mismatch")
    worst_index = tuple(int(i) for i in np.unravel_index(int(np.argmax(status)), status.shape)) if status.size else ()
    text = _direction_text(result, exact_values, status, claim_wrong, worst_index)
    failing = tuple((tuple(int(i) for i in index), "mismatch", None) for index in zip(*np.nonzero(status))) [:FAILING_SHOWN]
    rel = _relative(gradient, exact_values)
    return GradientCheck(var, gradient, None, None, None, None, exact_values, None, claimed, rel,
                         None if claimed is None else _relative(claimed, reference), None, None, None,
                         "pass" if result.status == "pass" and not status.any() else "mismatch", text, None, None, None,
                         "complex", gradient.shape, gradient.shape, status_names(status), worst_index, failing,
                         "directions", result.slopes)


def _relative(a, b):
    if b is None:
        return np.full(np.shape(a), np.nan)
    from .verdict import relative_error

    return relative_error(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64))


def _direction_text(result, exact_values, status, claim_wrong, worst_index) -> str | None:
    bad = [s for s in result.slopes if not s.agrees]
    parts = []
    if bad:
        s = bad[0]
        parts.append(f"{len(bad)} of {len(result.slopes)} random directions disagree: vᵀ·gradient = {s.analytic:.10g}, "
                     f"the complex step along v gives {s.complex_step:.10g}")
        if result.faulty:
            named = ", ".join(element_text(i) for i in result.faulty[:5]) + (" …" if len(result.faulty) > 5 else "")
            parts.append(f"bisecting the direction names element{'s' if len(result.faulty) > 1 else ''} {named}: "
                         "the derivative rule or backward pass is wrong there")
    if claim_wrong is not None and claim_wrong.any():
        parts.append(f"the claim is off at {int(claim_wrong.sum())} element(s), first {element_text(tuple(np.argwhere(claim_wrong)[0]))}")
    if exact_values is not None and status.any() and not bad:
        parts.append(f"backprop disagrees with the exact derivative at element {element_text(worst_index)}")
    return "; ".join(parts) or None
