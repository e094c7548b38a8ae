"""Past the element limit (or the work limit): random directions. vᵀ·(gradient) is compared with f's slope along v
(jax's check_vjp, torch's fast_mode), and what neither peer does: each slope is Evidence for the one judge (the
complex step, cross-checked by centered and Richardson differences along v, and the one-sided slopes that make a
kink along v a kink), compared at the references' own accuracy, not at rtol; a direction that disagrees is
bisected to name the faulty elements; and the report says how small a one-element error could have gone unseen.

A direction is max-normalised (uniform in [-1, 1]), so the step h is the element-wise one. rtol has no meaning
for a projection (a per-element rtol summed over 10⁶ elements would hide any one element): a slope may differ
from vᵀg by rtol of the largest single term |vᵢgᵢ|, plus the candidate's and the reference's rounding.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..results import GradientCheck, Slope
from ..status import COMPLEX_STEP, EPS, KINK, MISMATCH, PASS, SEVERITY
from ..verdict import Evidence, Judgement, Tolerances, judge
from .differences import CENTERED_STEP, stencil, variable_scale

DIRECTION_LIMIT = 10_000  # checked elements of one point; past this, random directions
WORK_LIMIT = 250_000_000  # values computed for the per-element stencils at most (elements x a perturbed row's cost)
DIRECTIONS = 2  # torch's fast_mode uses one direction
MAX_FAULTY = 16  # elements named per variable at most
ELEMENT_CELLS = 200_000_000  # values computed at most when bisection turns to one complex step per element
DETECTION = 0.99  # the probability the reported smallest visible one-element error is found with
CELLS = 20_000_000  # rows x values per evaluation at most (~320 MB complex)
_OFFSETS = (1.0, -1.0, 0.5, -0.5, 0.25, -0.25)  # multiples of h along v


@dataclass(frozen=True, slots=True)
class Candidate:
    """The gradient under test for one variable at one point, as the judge needs it."""

    var: str
    x: np.ndarray  # the variable's value (float64)
    gradient: np.ndarray  # the candidate (float64), the variable's shape
    rounding: np.ndarray  # how far the candidate's own rounding may move each element (absolute, broadcastable)
    eps: float  # machine epsilon of the candidate's precision
    deviation: np.ndarray | None = None  # measured, signed: the candidate minus its float64 twin (float32 code)

    def along(self, v: np.ndarray) -> np.ndarray:
        """How far rounding may move vᵀ(candidate), for rows v of shape (k, size)."""
        bound = (np.abs(v) * np.broadcast_to(self.rounding, self.gradient.shape).reshape(1, -1)).sum(axis=1)
        return bound if self.deviation is None else bound + 4 * np.abs(v @ self.deviation.reshape(-1))


@dataclass(frozen=True, slots=True)
class DirectionCheck:
    """What random directions found for one variable: the slopes, and the elements blamed."""

    var: str
    slopes: tuple[Slope, ...]
    faulty: tuple[tuple[int, ...], ...]  # elements the bisection blamed (indices into the variable)
    evaluations: int  # evaluations of f, for the record
    smallest_seen: float  # a one-element error above this is found with probability DETECTION
    complex_dropped: bool  # the complex step disagreed with the real differences along v: f is not holomorphic

    @property
    def status(self) -> str:
        worst = max((SEVERITY.index(s.status) for s in self.slopes), default=PASS)
        return SEVERITY[max(worst, MISMATCH if self.faulty else PASS)]


def directions_for(x: np.ndarray, count: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng([seed, x.size])
    return rng.uniform(-1.0, 1.0, (count, *x.shape))  # max-normalised already, and quick to draw


def check_directions(probe, candidate: Candidate, tol: Tolerances, count: int = DIRECTIONS, seed: int = 0) -> DirectionCheck:
    """`probe`: f along rows of moves (GraphProbe, or function_check's view of the user's code); see ProbeLike."""
    v = directions_for(candidate.x, count, seed)
    evidence, evaluations = _evidence(probe, candidate, v, tol)
    j = judge(evidence, Tolerances(0.0, 0.0), candidate.eps)
    statuses = [SEVERITY[int(s)] for s in j.status]
    products = v.reshape(count, -1) * candidate.gradient.reshape(1, -1)
    slopes = tuple(Slope(float(evidence.analytic[k]), float(evidence.complex_step[k]) if not j.complex_dropped[k] else math.nan,
                         float(evidence.centered[k]), float(np.abs(products[k]).sum()), statuses[k] in ("pass", "kink"),
                         float(j.left[k]), float(j.right[k]), statuses[k]) for k in range(count))
    faulty: tuple[tuple[int, ...], ...] = ()
    wrong = [k for k, s in enumerate(statuses) if s == "mismatch"]
    use_complex = probe.use_complex and not bool(np.any(j.complex_dropped))
    if wrong:
        faulty, more = _bisect(probe, candidate, v[wrong[0]], tol, use_complex)
        evaluations += more
    return DirectionCheck(candidate.var, slopes, faulty, evaluations, _smallest_seen(j, count), bool(np.any(j.complex_dropped)))


def _evidence(probe, candidate: Candidate, v: np.ndarray, tol: Tolerances) -> tuple[Evidence, int]:
    """Per direction: vᵀg and its allowances, the complex step along v, and the real stencil along v (h, h/2, h/4)."""
    count, x, g = len(v), candidate.x, candidate.gradient
    scale = variable_scale(x)
    h = _step(probe.eps) * scale
    flat_v = v.reshape(count, -1)
    with np.errstate(all="ignore"):
        products = flat_v * g.reshape(1, -1)
        analytic = products.sum(axis=1)
        rounding = candidate.along(flat_v)
        slack = tol.rtol * np.abs(products).max(axis=1, initial=0.0) + tol.atol * np.abs(flat_v).sum(axis=1)
        evaluations = 0
        complex_slopes = np.full(count, np.nan)
        if probe.use_complex:
            hc = COMPLEX_STEP * scale
            steps = np.empty(v.shape, np.complex128)  # i*hc*v without a real temporary
            steps.real = 0.0
            np.multiply(v, hc, out=steps.imag)
            complex_slopes = probe.values(candidate.var, steps, np.complex128).imag / hc
            evaluations += count
        offsets = np.array(_OFFSETS)
        moves = (offsets[None, :, None] * h * flat_v[:, None, :]).reshape((count * len(offsets), *x.shape))
        rows = probe.values(candidate.var, moves, np.float64).reshape(count, len(offsets))
        evaluations += count * len(offsets)
    columns = stencil(tuple(rows.T), probe.f0, h, probe.eps)
    crossed = columns.pop("kink")
    # second = 0: x is the same binary number for the candidate and the references (no decimal to round)
    e = Evidence(analytic=analytic, magnitude=np.zeros(count), noise=rounding, x=np.full(count, scale), second=np.zeros(count),
                 complex_step=complex_slopes, exact=np.full(count, np.nan), expected=np.full(count, np.nan),
                 claim_tolerance=np.zeros(count), crossed=crossed, tied=crossed, nested=np.zeros(count, bool),
                 jumped=np.zeros(count, bool), slack=slack, h_centered=np.full(count, h),
                 holomorphic=np.full(count, probe.holomorphic), **columns)
    return e, evaluations


def _step(eps: float) -> float:
    return CENTERED_STEP if eps <= EPS else eps ** (1 / 3)


def _smallest_seen(j: Judgement, count: int) -> float:
    """A one-element error δ in element i moves vᵀg by vᵢδ: it is seen when |vᵢδ| exceeds a direction's allowance.
    With vᵢ uniform in [-1, 1], max over the directions of |vᵢ| exceeds t = (1 - DETECTION)^(1/count) with
    probability DETECTION."""
    allowance = float(np.min(4 * np.asarray(j.rounding), initial=np.inf))
    return allowance / (1 - DETECTION) ** (1 / count)


def _bisect(probe, candidate: Candidate, direction: np.ndarray, tol: Tolerances, use_complex: bool):
    """Halve the disagreeing direction's support, level by level, keeping the halves that still disagree; once they
    are small, the slope of each of their elements (perturbed copies that differ in one entry are cheap)."""
    flat_v, flat_g = direction.reshape(-1), candidate.gradient.reshape(-1)
    blanket = np.broadcast_to(candidate.rounding, candidate.gradient.shape).reshape(-1)
    deviation = np.zeros(flat_g.size) if candidate.deviation is None else candidate.deviation.reshape(-1)

    def segment_rounding(a: int, b: int) -> float:
        return float(np.abs(flat_v[a:b]) @ blanket[a:b] + 4 * abs(flat_v[a:b] @ deviation[a:b]))

    scale = variable_scale(candidate.x)
    step = COMPLEX_STEP * scale if use_complex else -_step(probe.eps) * scale
    segments = [(0, flat_v.size)]
    faulty: list[int] = []
    evaluations = 0
    elementwise = probe.element_budget(candidate.var)
    while segments and len(faulty) < MAX_FAULTY:
        if sum(stop - start for start, stop in segments) <= elementwise:
            flat = np.concatenate([np.arange(start, stop) for start, stop in segments])
            slopes, noise = probe.element_slopes(candidate.var, flat)
            evaluations += len(flat)
            status = _agreement(flat_g[flat], slopes, blanket[flat] + 4 * np.abs(deviation[flat]) + noise,
                                np.abs(flat_g[flat]), tol, candidate.eps)
            faulty += [int(k) for k in flat[status == MISMATCH][:MAX_FAULTY]]
            break
        halves = [h for start, stop in segments for h in _split(start, stop)]
        slopes, noise = _segment_slopes(probe, candidate.var, halves, flat_v, direction.shape, step)
        evaluations += len(halves) * (1 if step > 0 else 2)
        parts = [flat_v[a:b] * flat_g[a:b] for a, b in halves]
        status = _agreement(np.array([p.sum() for p in parts]), slopes,
                            np.array([segment_rounding(a, b) for a, b in halves]) + noise,
                            np.array([np.abs(p).max(initial=0.0) for p in parts]), tol, candidate.eps)
        segments = []
        for (start, stop), s in zip(halves, status):
            if s != MISMATCH:
                continue
            if stop - start == 1:
                faulty.append(start)
            else:
                segments.append((start, stop))
        segments = segments[:MAX_FAULTY]
    shape = candidate.gradient.shape
    return tuple(tuple(int(i) for i in np.unravel_index(k, shape)) for k in faulty[:MAX_FAULTY]), evaluations


def _agreement(analytic: np.ndarray, slopes: np.ndarray, rounding: np.ndarray, largest: np.ndarray, tol: Tolerances,
               eps: float) -> np.ndarray:
    """The judge on bare slopes (a segment's or an element's): candidate vs one reference with its rounding; a slope
    that is not finite judges nothing (pass)."""
    n = len(analytic)
    nan = np.full(n, np.nan)
    e = Evidence(analytic=np.asarray(analytic, np.float64), magnitude=np.zeros(n), noise=np.asarray(rounding, np.float64),
                 x=np.ones(n), forward=nan, centered=np.asarray(slopes, np.float64), richardson=nan,
                 error_estimate=np.zeros(n), reliable=np.ones(n, bool), left=nan, right=nan, second=np.zeros(n),
                 h_centered=np.ones(n), complex_step=nan, exact=nan, expected=nan, claim_tolerance=np.zeros(n),
                 crossed=np.zeros(n, bool), tied=np.zeros(n, bool), nested=np.zeros(n, bool), jumped=np.zeros(n, bool),
                 slack=tol.rtol * np.asarray(largest, np.float64) + tol.atol)
    status = judge(e, Tolerances(0.0, 0.0), eps).status
    return np.where(np.isfinite(slopes), status, PASS)


def _segment_slopes(probe, var: str, halves, flat_v: np.ndarray, shape, step: float) -> tuple[np.ndarray, np.ndarray]:
    """f's slope along the direction restricted to each segment, and its rounding noise.
    `step` > 0: complex steps of that size; < 0: centered differences of size -step."""
    moves = np.zeros((len(halves), flat_v.size))
    for row, (start, stop) in enumerate(halves):
        moves[row, start:stop] = flat_v[start:stop]
    moves = moves.reshape((len(halves), *shape))
    with np.errstate(all="ignore"):
        if step > 0:
            return probe.values(var, 1j * step * moves, np.complex128).imag / step, np.zeros(len(halves))
        both = probe.values(var, np.concatenate([-step * moves, step * moves]), np.float64)
        plus, minus = both[:len(halves)], both[len(halves):]
        return (plus - minus) / (-2 * step), 4 * probe.eps * np.maximum(np.abs(plus), np.abs(minus)) / -step


def _split(start: int, stop: int) -> list[tuple[int, int]]:
    middle = (start + stop) // 2
    return [(start, middle), (middle, stop)] if stop - start > 1 else [(start, stop)]


def summary(check: DirectionCheck, blame: str = "the derivative rule or backward pass") -> str | None:
    """What the directions found, in words (None: nothing to say beyond the status)."""
    from ..report.text import element_text

    bad = [s for s in check.slopes if s.status == "mismatch"]
    kinks = [s for s in check.slopes if s.status == "kink"]
    parts = []
    if bad:
        s = bad[0]
        reference = f"the complex step along v gives {s.complex_step:.10g}" if math.isfinite(s.complex_step) \
            else f"the centered difference along v gives {s.centered:.10g}"
        parts.append(f"{len(bad)} of {len(check.slopes)} random directions disagree: vᵀ·gradient = {s.analytic:.10g}, {reference}")
        if check.faulty:
            named = ", ".join(element_text(i) for i in check.faulty[:5]) + (" …" if len(check.faulty) > 5 else "")
            parts.append(f"bisecting the direction names element{'s' if len(check.faulty) > 1 else ''} {named}: "
                         f"{blame} is wrong there")
    elif kinks:
        s = kinks[0]
        parts.append(f"kink along {len(kinks)} of {len(check.slopes)} random directions: vᵀ·gradient = {s.analytic:.10g} "
                     f"lies between the one-sided slopes [{min(s.left, s.right):.10g}, {max(s.left, s.right):.10g}]")
    if check.complex_dropped:
        parts.append("the complex step along v was not used: the real differences contradict it (f is not holomorphic here)")
    if not bad and not kinks:
        parts.append(f"a one-element error above {check.smallest_seen:.2g} would have been found with probability "
                     f"{DETECTION:.0%} (more directions look closer: --directions N)")
    return "; ".join(parts) or None


class GraphProbe:
    """f of a gate graph at a point, moved along rows of `moves` (rows, *var shape) added to `var`."""

    use_complex = holomorphic = True  # every gate computes with complex input (branches on the real part)
    eps = EPS

    def __init__(self, graph, point: dict[str, np.ndarray]):
        from ..eval.engine import forward

        self.graph, self.point = graph, point
        self.f0 = float(np.asarray(forward(graph, {v: np.asarray(point[v], np.float64)[None] for v in graph.variables})[-1]).reshape(-1)[0])

    def values(self, var: str, moves: np.ndarray, dtype) -> np.ndarray:
        from ..eval.engine import forward
        from .differences import peak_live

        out = []
        chunk = max(1, min(64, CELLS // max(peak_live(self.graph), moves[0].size)))
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
        from .differences import row_cost

        return ELEMENT_CELLS // row_cost(self.graph, self.point, var)

    def element_slopes(self, var: str, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The complex step of each element in `flat`, and its rounding noise (none)."""
        from .differences import complex_step_elements

        return complex_step_elements(self.graph, self.point, var, flat), np.zeros(len(flat))


def needs_directions(graph, point: dict[str, np.ndarray], wrt: tuple[str, ...], limit: int = DIRECTION_LIMIT) -> bool:
    """Past `limit` elements, or when the per-element stencils would compute more than WORK_LIMIT values
    (sum(outer(x, x)) at 1,000 elements: each perturbed copy costs 10⁶ values)."""
    elements = sum(math.prod(graph.shapes[v]) for v in wrt)
    if elements > limit:
        return True
    if graph.scalar_only or elements * math.prod(graph.nodes[-1].shape) < 64:
        return False
    from .differences import row_cost

    return sum(math.prod(graph.shapes[v]) * row_cost(graph, point, v) for v in wrt) > WORK_LIMIT


FAILING_SHOWN = 20  # failing elements listed per variable


def as_gradient_check(check: DirectionCheck, candidate: Candidate, elements: Judgement | None = None,
                      exact: np.ndarray | None = None, claimed: np.ndarray | None = None, method: str = "complex",
                      candidate_name: str = "backprop"):
    """The GradientCheck of a variable checked along random directions: per-element statuses are the bisection's
    blame and, where there is an exact value or a claim, that element's own verdict (`elements`, from the judge)."""
    from ..report.text import element_text

    gradient = candidate.gradient
    status = np.zeros(gradient.shape, np.int64)
    for index in check.faulty:
        status[index] = MISMATCH
    if elements is not None:
        status = np.maximum(status, elements.status)
    direction_status = SEVERITY.index(check.status)
    worst_index = tuple(int(i) for i in np.unravel_index(int(np.argmax(status)), status.shape)) if status.size else ()
    blame = "the derivative rule or backward pass" if candidate_name == "backprop" else candidate_name
    parts = []
    if elements is not None and (elements.status >= MISMATCH).any():
        first = tuple(int(i) for i in np.argwhere(elements.status >= MISMATCH)[0])
        what = "the claim" if bool(elements.claim_failed[first]) else candidate_name
        parts.append(f"{what} disagrees with the exact derivative at {int((elements.status >= MISMATCH).sum())} element(s), "
                     f"first {element_text(first)}")
    elif elements is not None and bool(np.any(elements.claim_failed)):
        first = tuple(int(i) for i in np.argwhere(elements.claim_failed)[0])
        parts.append(f"the claim differs from backprop's value at {int(np.sum(elements.claim_failed))} element(s), first "
                     f"{element_text(first)}, with no exact value there and a kink along the directions: backprop's value "
                     "may be a convention (relu'(0) = 1/2), so this cannot be judged past the size limit")
    parts.append(summary(check, blame))  # last: what the directions found, or how small an error they would see
    overall = SEVERITY[max(direction_status, int(status.max(initial=PASS)))]
    failing = tuple((tuple(int(i) for i in index), SEVERITY[int(status[tuple(index)])], None)
                    for index in np.argwhere(status > KINK))[:FAILING_SHOWN]
    nan = np.full(gradient.shape, np.nan)
    rel = elements.rel_error if elements is not None else nan
    expected_rel = elements.expected_rel_error if elements is not None and claimed is not None else None
    return GradientCheck(candidate.var, gradient, None, None, None, None, exact, None, claimed, rel, expected_rel, None,
                         None, None, overall, "; ".join(p for p in parts if p) or None, None, None, None, method,
                         gradient.shape, gradient.shape, np.array(SEVERITY)[status] if status.ndim else None, worst_index,
                         failing, "directions", check.slopes)


def element_judgement(candidate: Candidate, magnitude: np.ndarray, exact: np.ndarray | None, claimed: np.ndarray | None,
                      claim_tolerance, tol: Tolerances, kinked: bool = False) -> Judgement | None:
    """The judge on the elements that have an exact value or a claim (no numerical columns past the size limit:
    the directions judge those); None when there is neither. Where f has a kink along the directions (`kinked`)
    and an element has no exact value, backprop's value there may be a convention (relu'(0) = 1/2): a claim that
    differs from it is inconclusive, not wrong (past the size limit no element has its one-sided slopes)."""
    if exact is None and claimed is None:
        return None
    shape = candidate.gradient.shape
    nan = np.full(shape, np.nan)
    exact = nan if exact is None else np.asarray(exact, np.float64).reshape(shape)
    expected = nan if claimed is None else np.broadcast_to(np.asarray(claimed, np.float64), shape)
    e = Evidence(analytic=candidate.gradient, magnitude=magnitude, noise=np.zeros(()), x=candidate.x, forward=nan,
                 centered=nan, richardson=nan, error_estimate=np.full(shape, np.inf), reliable=np.zeros(shape, bool),
                 left=nan, right=nan, second=np.zeros(()), h_centered=np.ones(shape), complex_step=nan, exact=exact,
                 expected=expected, claim_tolerance=np.asarray(claim_tolerance), crossed=np.zeros(shape, bool),
                 tied=np.zeros(shape, bool), nested=np.zeros(shape, bool), jumped=np.zeros(shape, bool))
    j = judge(e, tol, candidate.eps)
    # without an exact value only the claim is judged here (against the candidate): the directions judge the rest
    failed = MISMATCH if not kinked else SEVERITY.index("inconclusive")
    claim_only = np.where(j.claim_failed, failed, np.where(j.claim_unjudged, SEVERITY.index("inconclusive"), PASS))
    return Judgement(np.where(np.isfinite(exact), j.status, claim_only), j.diagnosis, j.claim_failed, j.claim_unjudged, j.rel_error,
                     j.expected_rel_error, j.best, j.best_method, j.left, j.right, j.rounding, j.complex_dropped)
