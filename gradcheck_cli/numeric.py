"""Finite differences over engine.forward: every perturbed point of every variable in ONE batched pass.

Steps scale with the variable: forward h = sqrt(eps)*max(1,|x|), centered h = cbrt(eps)*max(1,|x|)
(each balances its truncation error against rounding), rounded so that (x+h)-x == h exactly.
The centered stencil is also taken at h/2, which gives a Richardson-extrapolated value and an
estimate of the centered difference's truncation error; one-sided differences give the left and
right derivatives that judge a kink. Branch signs of piecewise gates are recorded at every
stencil point: a change means the stencil crossed a kink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine import forward_output
from .graph import Graph

EPS = float(np.finfo(float).eps)
FORWARD_STEP = EPS ** 0.5
CENTERED_STEP = EPS ** (1 / 3)
COMPLEX_STEP = 1e-20
_OFFSETS = (1.0, -1.0, 0.5, -0.5, 0.25, -0.25)  # multiples of the centered step, per variable; then the forward step
_PER_VARIABLE = len(_OFFSETS) + 1
_MAX_BATCH = 4096  # points per forward pass: bounds memory for 10^5-gate graphs with many variables


def representable_step(x: float, h: float) -> float:
    """h adjusted so that x+h is a float and (x+h)-x == h exactly (no rounding in the difference quotient)."""
    with np.errstate(over="ignore", invalid="ignore"):
        step = float((np.float64(x) + np.float64(h)) - np.float64(x))
    return step if step and np.isfinite(step) else h


def centered_step(x: float, override: float | None = None) -> float:
    return representable_step(x, override if override is not None else CENTERED_STEP * max(1.0, abs(x)))


def forward_step(x: float, override: float | None = None) -> float:
    return representable_step(x, override if override is not None else FORWARD_STEP * max(1.0, abs(x)))


@dataclass(frozen=True, slots=True)
class Differences:
    """Finite-difference estimates of df/dx for one variable at one point."""

    forward: float
    centered: float
    richardson: float
    error_estimate: float  # estimated |centered - true| (truncation from h vs h/2, plus rounding)
    reliable: bool  # the steps h, h/2, h/4 shrink the error as h**2 should (else the estimate means little)
    left: float  # one-sided, Richardson-extrapolated
    right: float
    second: float  # d2f/dx2, for the conditioning of the analytic value
    h_forward: float
    h_centered: float
    crossed_gates: tuple[int, ...]  # piecewise gates whose branch differs across the stencil
    tied_gates: tuple[int, ...]  # ... of those, the ones sitting exactly on their kink at the point


def evaluate_rows(graph: Graph, rows: np.ndarray, watch_branches: bool = False) -> tuple[np.ndarray, dict[int, np.ndarray]]:
    """f at every row of `rows` (one column per graph variable), in chunks of _MAX_BATCH points per pass."""
    names = graph.variables
    f_parts, branch_parts = [], []
    for start in range(0, max(len(rows), 1), _MAX_BATCH):
        chunk = rows[start:start + _MAX_BATCH]
        f_chunk, branches = forward_output(graph, {n: chunk[:, k] for k, n in enumerate(names)},
                                           dtype=rows.dtype.type, watch_branches=watch_branches)
        f_parts.append(f_chunk[:len(chunk)])
        branch_parts.append(branches)
    branch_signs = {g: np.concatenate([b[g] for b in branch_parts]) for g in branch_parts[0]}
    return np.concatenate(f_parts), branch_signs


def finite_differences(graph: Graph, points: list[dict[str, float]], wrt: tuple[str, ...], value_scales: list[float],
                       h: float | None = None) -> list[dict[str, Differences]]:
    """The differences for each variable in `wrt` at each point, all stencils in one batched pass.

    `value_scales[p]` is the largest |intermediate value| at point p (what f's rounding is relative to).
    """
    names = graph.variables
    columns = [names.index(v) for v in wrt]
    per_point = 1 + _PER_VARIABLE * len(wrt)
    rows = np.empty((len(points) * per_point, len(names)))
    steps = []
    for p, point in enumerate(points):
        base = np.array([point[name] for name in names], dtype=np.float64)
        point_steps = [(centered_step(point[v], h), forward_step(point[v], h)) for v in wrt]
        steps.append(point_steps)
        block = rows[p * per_point:(p + 1) * per_point]
        block[:] = base
        for k, (column, (hc, hf)) in enumerate(zip(columns, point_steps)):
            with np.errstate(over="ignore"):  # x near the largest float: x+h is inf, and f there says so
                for j, shift in enumerate((*(factor * hc for factor in _OFFSETS), hf)):
                    block[1 + k * _PER_VARIABLE + j, column] = base[column] + shift
    f, branch_signs = evaluate_rows(graph, rows, watch_branches=True)
    results = []
    with np.errstate(all="ignore"):
        for p in range(len(points)):
            origin = p * per_point
            f0 = float(f[origin])
            result: dict[str, Differences] = {}
            for k, (v, (hc, hf)) in enumerate(zip(wrt, steps[p])):
                first = origin + 1 + k * _PER_VARIABLE
                plus, minus, plus_half, minus_half, plus_quarter, minus_quarter, plus_forward = f[first:first + _PER_VARIABLE]
                hc, hf = np.float64(hc), np.float64(hf)  # numpy scalars: overflow gives inf, not an exception
                centered = (plus - minus) / (2 * hc)
                centered_half = (plus_half - minus_half) / hc
                centered_quarter = (plus_quarter - minus_quarter) / (hc / 2)
                rounding = 2 * EPS * max(value_scales[p], abs(f0), abs(plus), abs(minus)) / hc
                left_h, left_half = (f0 - minus) / hc, (f0 - minus_half) / (hc / 2)
                right_h, right_half = (plus - f0) / hc, (plus_half - f0) / (hc / 2)
                stencil = np.r_[origin, np.arange(first, first + len(_OFFSETS))]
                crossed = tuple(g for g, signs in branch_signs.items() if len(set(signs[stencil].tolist())) > 1)
                result[v] = Differences(
                    forward=(plus_forward - f0) / hf,
                    centered=centered,
                    richardson=centered_half + (centered_half - centered) / 3,
                    error_estimate=abs(centered - centered_half) * 4 / 3 + rounding,
                    reliable=_shrinks_like_h_squared(centered, centered_half, centered_quarter, 4 * rounding),
                    left=2 * left_half - left_h,
                    right=2 * right_half - right_h,
                    second=(plus_half - 2 * f0 + minus_half) / (hc / 2) ** 2,
                    h_forward=hf,
                    h_centered=hc,
                    crossed_gates=crossed,
                    tied_gates=tuple(g for g in crossed if branch_signs[g][origin] == 0),
                )
            results.append(result)
    return results


def _shrinks_like_h_squared(d_h: float, d_half: float, d_quarter: float, noise: float) -> bool:
    """Halving h should cut the centered error 4x; differences lost in rounding noise are fine too."""
    first, second = abs(d_h - d_half), abs(d_half - d_quarter)
    if first <= noise and second <= noise:
        return True
    return second > 0 and 2.0 <= first / second <= 8.0


def complex_step(graph: Graph, points: list[dict[str, float]], wrt: tuple[str, ...]) -> list[dict[str, float]]:
    """Im f(x + i*h)/h with h = 1e-20*max(1,|x|): no subtraction, so no rounding error for analytic gates."""
    names = graph.variables
    rows = np.empty((len(points) * len(wrt), len(names)), dtype=np.complex128)
    steps = np.empty(len(rows))
    for p, point in enumerate(points):
        base = np.array([point[name] for name in names], dtype=np.complex128)
        for k, v in enumerate(wrt):
            r = p * len(wrt) + k
            rows[r] = base
            steps[r] = COMPLEX_STEP * max(1.0, abs(point[v]))
            rows[r, names.index(v)] += 1j * steps[r]
    f, _ = evaluate_rows(graph, rows)
    with np.errstate(all="ignore"):
        slopes = f.imag / steps
    return [{v: float(slopes[p * len(wrt) + k]) for k, v in enumerate(wrt)} for p in range(len(points))]
