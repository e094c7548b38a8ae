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


class GraphProbe:
    """f of a gate graph at a point, moved along rows of `moves` (rows, *var shape) added to `var`."""

    def __init__(self, graph, point: dict[str, np.ndarray]):
        self.graph, self.point = graph, point

    def values(self, var: str, moves: np.ndarray, dtype) -> np.ndarray:
        out = []
        chunk = max(1, min(_CHUNK, 20_000_000 // max(1, moves[0].size)))  # rows x elements per pass: ~320 MB complex
        x = np.asarray(self.point[var], dtype=np.float64)
        for start in range(0, len(moves), chunk):
            rows = moves[start:start + chunk]
            if np.iscomplexobj(rows) and not np.any(rows.real):  # x + i*h*v built in place: the same numbers, 2 passes not 5
                moved = np.empty(rows.shape, np.complex128)
                moved.real = x
                moved.imag = rows.imag
            else:
                moved = np.asarray(x, dtype=dtype)[None] + rows
            inputs = {v: (moved if v == var else np.asarray(self.point[v])[None]) for v in self.graph.variables}
            values = forward(self.graph, inputs, dtype)[-1]
            out.append(np.broadcast_to(values, (len(rows), *values.shape[1:])).reshape(len(rows)))
        return np.concatenate(out)

    def element_budget(self, var: str) -> int:
        """Elements whose complex step costs no more than ELEMENT_CELLS values (rows that differ in one entry)."""
        from .numeric import row_cost

        return ELEMENT_CELLS // row_cost(self.graph, self.point, var)

    def element_slopes(self, var: str, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The complex step of each element in `flat`, and its rounding noise (none)."""
        from .numeric import complex_step_elements

        return complex_step_elements(self.graph, self.point, var, flat), np.zeros(len(flat))


def _agrees(analytic: float, reference: float, magnitude: float, rtol: float, atol: float, noise: float = 0.0) -> bool:
    """`noise`: a centered difference's rounding, 4·eps·|f|/h (a complex step has none)."""
    return abs(analytic - reference) <= rtol * max(abs(analytic), abs(reference)) + atol + 64 * EPS * magnitude + noise


def check_directions(graph, point: dict[str, np.ndarray], var: str, gradient: np.ndarray, tolerances,
                     count: int = DIRECTIONS, seed: int = 0) -> DirectionCheck:
    return probe_directions(GraphProbe(graph, point), point, var, gradient, tolerances, count, seed)


def probe_directions(probe, point: dict[str, np.ndarray], var: str, gradient: np.ndarray, tolerances,
                     count: int = DIRECTIONS, seed: int = 0, use_complex: bool = True) -> DirectionCheck:
    """`probe`: GraphProbe, or anything with the same three methods (function_check's, for the user's code)."""
    x = np.asarray(point[var], dtype=np.float64)
    rng = np.random.default_rng([seed, x.size])
    v = rng.uniform(-1.0, 1.0, (count, *x.shape))  # uniform in [-1, 1]: max-normalised already, and quick to draw
    h = CENTERED_STEP * max(1.0, float(np.abs(x).max(initial=0.0)))
    hc = COMPLEX_STEP * max(1.0, float(np.abs(x).max(initial=0.0)))
    with np.errstate(all="ignore"):
        if use_complex:
            steps = np.empty(v.shape, np.complex128)  # i*hc*v without a real temporary
            steps.real = 0.0
            np.multiply(v, hc, out=steps.imag)
            complex_slopes = probe.values(var, steps, np.complex128).imag / hc
        else:
            complex_slopes = np.full(count, np.nan)
        centered, noise = np.full(count, np.nan), np.zeros(count)
        missing = ~np.isfinite(complex_slopes)  # the centered difference only where the complex step has no answer
        if missing.any():
            plus_minus = probe.values(var, np.concatenate([h * v[missing], -h * v[missing]]), np.float64)
            plus, minus = plus_minus[:missing.sum()], plus_minus[missing.sum():]
            centered[missing] = (plus - minus) / (2 * h)
            noise[missing] = 4 * EPS * np.maximum(np.abs(plus), np.abs(minus)) / h
    products = v * gradient
    slopes = []
    for k in range(count):
        analytic, magnitude = float(products[k].sum()), float(np.abs(products[k]).sum())
        reference = complex_slopes[k] if np.isfinite(complex_slopes[k]) else centered[k]
        slopes.append(Slope(analytic, float(complex_slopes[k]), float(centered[k]), magnitude,
                            _agrees(analytic, float(reference), magnitude, tolerances.rtol, tolerances.atol, float(noise[k]))))
    faulty, evaluations = (), count + 2 * int(missing.sum())
    wrong = [k for k, s in enumerate(slopes) if not s.agrees]
    if wrong:
        faulty, more = _bisect(probe, var, v[wrong[0]], gradient, tolerances, hc if use_complex else -h)
        evaluations += more
    return DirectionCheck(var, tuple(slopes), faulty, evaluations)


def _bisect(probe, var: str, direction: np.ndarray, gradient: np.ndarray, tolerances, step: float):
    """Halve the disagreeing direction's support, level by level, keeping the halves that still disagree; once
    they are small, the complex step of each of their elements (perturbed copies that differ in one entry are cheap).
    `step` > 0: complex steps of that size; < 0: centered differences of size -step (f refuses complex input)."""
    flat_v, flat_g = direction.reshape(-1), np.asarray(gradient).reshape(-1)
    segments = [(0, flat_v.size)]
    faulty: list[int] = []
    evaluations = 0
    elementwise = probe.element_budget(var)  # one complex step per element, when that is cheap
    while segments and len(faulty) < MAX_FAULTY:
        if sum(stop - start for start, stop in segments) <= elementwise:
            faulty += _elementwise(probe, var, segments, flat_g, tolerances)
            evaluations += sum(stop - start for start, stop in segments)
            break
        halves = [h for start, stop in segments for h in _split(start, stop)]
        slopes, noise = _segment_slopes(probe, var, halves, flat_v, direction.shape, step)
        evaluations += len(halves)
        segments = []
        for (start, stop), slope, rounding in zip(halves, slopes, noise):
            part = flat_v[start:stop] * flat_g[start:stop]
            if _agrees(float(part.sum()), float(slope), float(np.abs(part).sum()), tolerances.rtol, tolerances.atol, rounding):
                continue
            if stop - start == 1:
                faulty.append(start)
            else:
                segments.append((start, stop))
        segments = segments[:MAX_FAULTY]
    shape = np.shape(gradient)
    return tuple(tuple(int(i) for i in np.unravel_index(k, shape)) for k in faulty[:MAX_FAULTY]), evaluations


def _segment_slopes(probe, var: str, halves, flat_v: np.ndarray, shape, step: float) -> tuple[np.ndarray, np.ndarray]:
    """f's slope along the direction restricted to each segment, and its rounding noise."""
    moves = np.zeros((len(halves), flat_v.size))
    for row, (start, stop) in enumerate(halves):
        moves[row, start:stop] = flat_v[start:stop]
    moves = moves.reshape((len(halves), *shape))
    with np.errstate(all="ignore"):
        if step > 0:
            return probe.values(var, 1j * step * moves, np.complex128).imag / step, np.zeros(len(halves))
        both = probe.values(var, np.concatenate([-step * moves, step * moves]), np.float64)
        plus, minus = both[:len(halves)], both[len(halves):]
        return (plus - minus) / (-2 * step), 4 * EPS * np.maximum(np.abs(plus), np.abs(minus)) / -step


def _elementwise(probe, var: str, segments, flat_g: np.ndarray, tolerances) -> list[int]:
    flat = np.concatenate([np.arange(start, stop) for start, stop in segments])
    slopes, noise = probe.element_slopes(var, flat)
    g = flat_g[flat]
    wrong = np.abs(g - slopes) > tolerances.rtol * np.maximum(np.abs(g), np.abs(slopes)) + tolerances.atol + 64 * EPS * np.abs(g) + noise
    return [int(k) for k in flat[wrong & np.isfinite(slopes)][:MAX_FAULTY]]


def _split(start: int, stop: int) -> list[tuple[int, int]]:
    middle = (start + stop) // 2
    return [(start, middle), (middle, stop)] if stop - start > 1 else [(start, stop)]


def needs_directions(graph, wrt: tuple[str, ...], limit: int = DIRECTION_LIMIT) -> bool:
    return sum(math.prod(graph.shapes[v]) for v in wrt) > limit
