"""Past DIRECTION_LIMIT elements, random directions: compare vᵀ·(gradient) with f's slope along v
(the complex step, and a centered difference) — jax's check_grads, torch's fast_mode — and when a
direction disagrees, bisect its support to name the faulty elements, which neither peer does.

A direction is max-normalised (its largest entry is 1), so the step h is the element-wise one; a
slope is judged to --rtol of itself plus float64 rounding of the sum (64·eps·Σ|vᵢ·gᵢ|).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .engine import forward
from .numeric import CENTERED_STEP, COMPLEX_STEP, EPS

DIRECTION_LIMIT = 10_000  # checked elements of one point; past this, random directions
DIRECTIONS = 2  # each is one complex-step evaluation of f (torch's fast_mode uses one direction)
MAX_FAULTY = 16  # elements named per variable at most
ELEMENT_CELLS = 200_000_000  # values computed at most when bisection turns to one complex step per element
_CHUNK = 64  # perturbed copies per forward pass


@dataclass(frozen=True, slots=True)
class Slope:
    analytic: float  # vᵀ·g
    complex_step: float
    centered: float
    magnitude: float  # Σ|vᵢ·gᵢ|
    agrees: bool


@dataclass(frozen=True, slots=True)
class DirectionCheck:
    var: str
    slopes: tuple[Slope, ...]
    faulty: tuple[tuple[int, ...], ...]  # elements the bisection blamed (indices into the variable)
    evaluations: int  # forward passes of one row each, for the record

    @property
    def status(self) -> str:
        return "pass" if all(s.agrees for s in self.slopes) and not self.faulty else "mismatch"


def _f(graph, point: dict[str, np.ndarray], var: str, moves: np.ndarray, dtype) -> np.ndarray:
    """f at point + each row of `moves` (rows, *var shape) added to `var`; the other variables shared."""
    out = []
    chunk = max(1, min(_CHUNK, 20_000_000 // max(1, moves[0].size)))  # rows x elements per pass: ~320 MB complex
    x = np.asarray(point[var], dtype=np.float64)
    for start in range(0, len(moves), chunk):
        rows = moves[start:start + chunk]
        if np.iscomplexobj(rows) and not np.any(rows.real):  # x + i*h*v built in place: the same numbers, 2 passes not 5
            moved = np.empty(rows.shape, np.complex128)
            moved.real = x
            moved.imag = rows.imag
        else:
            moved = np.asarray(x, dtype=dtype)[None] + rows
        inputs = {v: (moved if v == var else np.asarray(point[v])[None]) for v in graph.variables}
        values = forward(graph, inputs, dtype)[-1]
        out.append(np.broadcast_to(values, (len(rows), *values.shape[1:])).reshape(len(rows)))
    return np.concatenate(out)


def _agrees(analytic: float, reference: float, magnitude: float, rtol: float, atol: float) -> bool:
    return abs(analytic - reference) <= rtol * max(abs(analytic), abs(reference)) + atol + 64 * EPS * magnitude


def check_directions(graph, point: dict[str, np.ndarray], var: str, gradient: np.ndarray, tolerances,
                     count: int = DIRECTIONS, seed: int = 0) -> DirectionCheck:
    x = np.asarray(point[var], dtype=np.float64)
    rng = np.random.default_rng([seed, x.size])
    v = rng.uniform(-1.0, 1.0, (count, *x.shape))  # uniform in [-1, 1]: max-normalised already, and quick to draw
    h = CENTERED_STEP * max(1.0, float(np.abs(x).max(initial=0.0)))
    hc = COMPLEX_STEP * max(1.0, float(np.abs(x).max(initial=0.0)))
    with np.errstate(all="ignore"):
        steps = np.empty(v.shape, np.complex128)  # i*hc*v without a real temporary
        steps.real = 0.0
        np.multiply(v, hc, out=steps.imag)
        complex_slopes = _f(graph, point, var, steps, np.complex128).imag / hc
        centered = np.full(count, np.nan)
        missing = ~np.isfinite(complex_slopes)  # the centered difference only where the complex step has no answer
        if missing.any():
            plus_minus = _f(graph, point, var, np.concatenate([h * v[missing], -h * v[missing]]), np.float64)
            centered[missing] = (plus_minus[:missing.sum()] - plus_minus[missing.sum():]) / (2 * h)
    products = v * gradient
    slopes = []
    for k in range(count):
        analytic, magnitude = float(products[k].sum()), float(np.abs(products[k]).sum())
        reference = complex_slopes[k] if np.isfinite(complex_slopes[k]) else centered[k]
        slopes.append(Slope(analytic, float(complex_slopes[k]), float(centered[k]), magnitude,
                            _agrees(analytic, float(reference), magnitude, tolerances.rtol, tolerances.atol)))
    faulty, evaluations = (), count + 2 * int(missing.sum())
    wrong = [k for k, s in enumerate(slopes) if not s.agrees]
    if wrong:
        faulty, more = _bisect(graph, point, var, v[wrong[0]], gradient, tolerances, hc)
        evaluations += more
    return DirectionCheck(var, tuple(slopes), faulty, evaluations)


def _bisect(graph, point, var: str, direction: np.ndarray, gradient: np.ndarray, tolerances, hc: float):
    """Halve the disagreeing direction's support, level by level, keeping the halves that still disagree; once
    they are small, the complex step of each of their elements (perturbed copies that differ in one entry are cheap)."""
    flat_v, flat_g = direction.reshape(-1), np.asarray(gradient).reshape(-1)
    segments = [(0, flat_v.size)]
    faulty: list[int] = []
    evaluations = 0
    from .numeric import row_cost

    elementwise = ELEMENT_CELLS // row_cost(graph, point, var)  # one complex step per element, when that is cheap
    while segments and len(faulty) < MAX_FAULTY:
        if sum(stop - start for start, stop in segments) <= elementwise:
            faulty += _elementwise(graph, point, var, segments, flat_g, tolerances)
            evaluations += sum(stop - start for start, stop in segments)
            break
        halves = [h for start, stop in segments for h in _split(start, stop)]
        moves = np.zeros((len(halves), flat_v.size), dtype=np.complex128)
        for row, (start, stop) in enumerate(halves):
            moves[row, start:stop] = 1j * hc * flat_v[start:stop]
        with np.errstate(all="ignore"):
            slopes = _f(graph, point, var, moves.reshape((len(halves), *direction.shape)), np.complex128).imag / hc
        evaluations += len(halves)
        segments = []
        for (start, stop), slope in zip(halves, slopes):
            part = flat_v[start:stop] * flat_g[start:stop]
            if _agrees(float(part.sum()), float(slope), float(np.abs(part).sum()), tolerances.rtol, tolerances.atol):
                continue
            if stop - start == 1:
                faulty.append(start)
            else:
                segments.append((start, stop))
        segments = segments[:MAX_FAULTY]
    shape = np.shape(gradient)
    return tuple(tuple(int(i) for i in np.unravel_index(k, shape)) for k in faulty[:MAX_FAULTY]), evaluations


def _elementwise(graph, point, var: str, segments, flat_g: np.ndarray, tolerances) -> list[int]:
    from .numeric import complex_step_elements

    flat = np.concatenate([np.arange(start, stop) for start, stop in segments])
    slopes = complex_step_elements(graph, point, var, flat)
    g = flat_g[flat]
    wrong = np.abs(g - slopes) > tolerances.rtol * np.maximum(np.abs(g), np.abs(slopes)) + tolerances.atol + 64 * EPS * np.abs(g)
    return [int(k) for k in flat[wrong & np.isfinite(slopes)][:MAX_FAULTY]]


def _split(start: int, stop: int) -> list[tuple[int, int]]:
    middle = (start + stop) // 2
    return [(start, middle), (middle, stop)] if stop - start > 1 else [(start, stop)]


def needs_directions(graph, wrt: tuple[str, ...], limit: int = DIRECTION_LIMIT) -> bool:
    return sum(math.prod(graph.shapes[v]) for v in wrt) > limit
