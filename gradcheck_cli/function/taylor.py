"""The Taylor test of check_function: along a random direction v, the remainder |f(x+hv) - f(x) - h<grad, v>| of a
right gradient shrinks like h**2, of a wrong one like h (a check of the whole gradient at once, which an error in a
few elements can hide from: the per-element columns are the judge's evidence, this is a note beside them, counted
only as a mismatch)."""

from __future__ import annotations

import math

import numpy as np

from ..numeric.differences import variable_scale
from ..results import Taylor
from .user_code import UserCode

TAYLOR_STEPS = tuple(10.0 ** -k for k in range(1, 9))


def taylor_test(code: UserCode, inputs, gradients: dict[str, np.ndarray], f0: np.ndarray, f_eps: float,
                candidate_eps: float, seed: int = 0) -> Taylor:
    """The remainder of the first-order Taylor expansion along a random direction v, over h = 1e-1 ... 1e-8; for an
    array output, of its projection on a random u (the gradient of uᵀf is uᵀJ). Below the rounding of f and of the
    gradient (f_eps and candidate_eps: the machine epsilons of f's and grad's precision) a remainder says nothing, so
    it is not fitted."""
    rng = np.random.default_rng(seed)
    f0 = np.asarray(f0, dtype=np.float64)
    weights = rng.standard_normal(f0.shape) if f0.size > 1 else np.ones(f0.shape)
    direction = {v: rng.standard_normal(np.shape(g)[f0.ndim:]) for v, g in gradients.items()}
    scale = max(variable_scale(np.asarray(inputs[v])) for v in gradients)
    along = [np.tensordot(weights, g, f0.ndim).reshape(np.shape(direction[v])).ravel() * direction[v].ravel()
             for v, g in gradients.items()]
    slope_along = float(sum(a.sum() for a in along))
    magnitude = float(sum(np.abs(a).sum() for a in along))
    projected = float((weights * f0).sum())
    remainders, floors = [], []
    for h in TAYLOR_STEPS:
        moved = dict(inputs)
        for v in gradients:
            moved[v] = np.asarray(inputs[v], dtype=np.float64) + h * scale * direction[v]
        value = float((weights * np.asarray(code.f(moved), dtype=np.float64).reshape(f0.shape)).sum())
        remainders.append(abs(value - projected - h * scale * slope_along))
        floors.append(1e3 * f_eps * max(abs(projected), 1e-300) + 64 * candidate_eps * h * scale * magnitude)
    return _taylor_verdict(remainders, floors)


def _taylor_verdict(remainders: list[float], floors: list[float]) -> Taylor:
    usable = [(math.log10(h), math.log10(r)) for h, r, floor in zip(TAYLOR_STEPS, remainders, floors) if r > floor]
    if len(usable) < 3:  # f is linear along v (relu, max-pool: piecewise), the first-order term right where it is
        return Taylor(None, tuple(remainders), "pass" if remainders[-1] <= floors[-1] else "inconclusive",
                      "the remainder is at rounding level for the smallest steps: f is linear along v, or nearly")
    xs, ys = np.array([u[0] for u in usable]), np.array([u[1] for u in usable])
    slope = float(np.polyfit(xs, ys, 1)[0])
    if slope >= 1.75:
        return Taylor(slope, tuple(remainders), "pass", f"the remainder shrinks like h**{slope:.2f} along a random "
                      "direction, as for a right gradient (an error in a few elements can hide from this test)")
    if slope <= 1.25:
        return Taylor(slope, tuple(remainders), "mismatch",
                      f"the remainder shrinks like h**{slope:.2f}, not h**2: the gradient is wrong along a random direction")
    return Taylor(slope, tuple(remainders), "inconclusive", f"the remainder shrinks like h**{slope:.2f}: between right (2) and wrong (1)")
