"""Compare the columns: pass / mismatch / kink / inconclusive / error per element, and the exit code.

Rules (docs/verdicts.md), applied to every element at once (numpy arrays of one shape):
  * analytic vs exact: |a-e| <= rtol*max(|a|,|e|) + atol + rounding allowance, where the allowance
    16*eps*(m + |x*f''|) covers float64 backprop (m = the gradient's magnitude pass) and input rounding;
  * analytic vs the numerical judge: the complex step, or the centered difference within 10x its
    estimated error (which, past 1% of the gradient, cannot judge anything), or at a kink the interval
    between the one-sided derivatives;
  * a claim is compared with the exact value by rtol alone (the exact value is exact: no allowance);
    without an exact value a claim that float64 rounding leaves undecided is "inconclusive", never a pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .status import COMPLEX_STEP, EPS, ERROR, INCONCLUSIVE, KINK, MISMATCH, PASS

SAFETY = 10.0  # how many estimated errors apart two numbers may be before we call them different
JUDGEABLE = 0.01  # a numerical estimate whose relative error may exceed this cannot judge
UNDERFLOW = 1e-300  # below this float64 is subnormal or nearly so: differences there say nothing
LOST_RANGE = 1e-150  # a true gradient below this can come out of backprop as 0 (a squared intermediate overflowed)
METHODS = ("complex", "richardson", "centered")
COMPLEX, RICHARDSON, CENTERED = range(3)

# diagnosis codes (texts in describe())
(NONE, EXACT_ODD, BACKPROP_WRONG, ALL_DISAGREE, BACKPROP_VS_NUMERIC, FD_TROUBLE_EXACT, CANNOT_JUDGE,
 ILL_CONDITIONED, FD_TROUBLE_CENTERED, NESTED_KINK, LOST_TO_RANGE, NOT_FINITE, EXACT_OVERFLOW) = range(13)


@dataclass(frozen=True, slots=True)
class Tolerances:
    """What the user allows: a relative and an absolute tolerance (--rtol, --atol)."""

    rtol: float = 1e-6
    atol: float = 0.0


@dataclass(frozen=True, slots=True)
class Evidence:
    """Every column for a set of elements; arrays broadcast against each other. NaN means 'no such value'."""

    analytic: np.ndarray
    magnitude: np.ndarray  # the backward pass on absolute values (0 until measured)
    noise: np.ndarray  # how far forward rounding moves the gradient (0 until measured)
    x: np.ndarray  # the element's value
    forward: np.ndarray
    centered: np.ndarray
    richardson: np.ndarray
    error_estimate: np.ndarray
    reliable: np.ndarray
    left: np.ndarray
    right: np.ndarray
    second: np.ndarray
    h_centered: np.ndarray
    complex_step: np.ndarray
    exact: np.ndarray
    expected: np.ndarray  # the claim (NaN: none)
    claim_tolerance: np.ndarray  # half a unit of the claim's last printed digit (for `~=`), else 0
    crossed: np.ndarray  # the stencil crossed a kink
    tied: np.ndarray  # ... and the point sits on one
    nested: np.ndarray  # ... on two or more at once
    jumped: np.ndarray = False  # ... and one is a jump (sign, a comparison): f itself is not continuous there
    slack: np.ndarray = 0.0  # an absolute allowance the route grants the candidate (random directions: rtol of one
    # element's share of vᵀg, since a projection has no per-element rtol)
    holomorphic: np.ndarray = np.False_  # the complex step is right by construction (a gate graph: every gate's forward
    # computes with complex input and branches on the real part), so no real difference can overrule it

    def broadcast(self) -> "Evidence":
        """Every field at the analytic column's shape, so one element can be read from each."""
        shape = np.shape(self.analytic)
        return Evidence(*(np.broadcast_to(getattr(self, f), shape) for f in Evidence.__slots__))


@dataclass(frozen=True, slots=True)
class Judgement:
    """The judge's verdict per element: status, diagnosis, the claim's fate and the numbers behind them."""

    status: np.ndarray  # codes into SEVERITY
    diagnosis: np.ndarray  # codes (NONE, EXACT_ODD, ...)
    claim_failed: np.ndarray
    claim_unjudged: np.ndarray  # no exact value, and rounding leaves the claim undecided at rtol
    rel_error: np.ndarray  # analytic vs exact (or vs the best numerical estimate when exact is missing)
    expected_rel_error: np.ndarray
    best: np.ndarray
    best_method: np.ndarray  # codes into METHODS
    left: np.ndarray  # one-sided derivatives, at kinks (NaN elsewhere)
    right: np.ndarray
    rounding: np.ndarray  # the allowance analytic was granted
    complex_dropped: np.ndarray  # the complex step disagreed with the real-step references: not used


def relative_error(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|a-b| / max(|a|,|b|), 0 when both are equal (cs231n); inf when either is not finite."""
    with np.errstate(all="ignore"):
        value = np.abs(a - b) / np.maximum(np.abs(a), np.abs(b))
    return np.where(a == b, 0.0, np.where(np.isfinite(a) & np.isfinite(b), value, np.inf))


def _close(a, b, tol: Tolerances, allowance) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) <= tol.rtol * np.maximum(np.abs(a), np.abs(b)) + tol.atol + allowance


def _numerical(e: Evidence, tol: Tolerances, rounding: np.ndarray, has_exact: np.ndarray):
    """The best numerical estimate, its method, whether it agrees with analytic, whether it can judge, its allowance,
    whether analytic sits between the one-sided derivatives, and where the complex step was dropped.

    The complex step counts only where no independent reference contradicts it: it is silently wrong wherever f is
    not holomorphic (abs, sign, np.real, a maximum of complex values in the user's code), so a centered difference
    that can judge (it shrinks like h**2, its error is under 1%) and disagrees with it beyond both error estimates
    drops it, unless the exact value sides with it or f is known to be holomorphic (a gate graph)."""
    a, err = e.analytic, e.error_estimate
    low, high = np.fmin(e.left, e.right), np.fmax(e.left, e.right)
    with np.errstate(all="ignore"):
        slack = SAFETY * err + 1e-6 * np.maximum(np.abs(low), np.abs(high)) + tol.atol + e.slack
        ok_tied = (low - slack <= a) & (a <= high + slack)
        # the complex step's truncation is h**2 * f'''/6, as the centered one's: scale that measured error down;
        # a stencil that left the domain (NaN/inf estimate) says nothing about it
        truncation = (COMPLEX_STEP * np.maximum(1.0, np.abs(e.x)) / e.h_centered) ** 2 * err
        # a zero gradient where the centered differences at h and h/2 are exactly 0 too (f(x+h) and f(x-h) are the
        # same float: a relu that stays off, an input f does not read, the bottom of x**2) agrees with all the
        # stencil can tell, a slope under f's rounding over h; no error estimate is small next to 0, so the relative
        # test alone would leave it unjudged
        level = (a == 0) & (e.centered == 0) & (e.richardson == 0)
        judgeable_c = e.reliable & ((err <= JUDGEABLE * np.maximum(np.maximum(np.abs(a), np.abs(e.centered)), 1e-300)) | level)
    truncation = np.where(np.isfinite(truncation), truncation, 0.0)
    allowance_cx = 4 * rounding + SAFETY * truncation
    allowance_c = rounding + SAFETY * err
    present = np.isfinite(e.complex_step)
    reference_slack = SAFETY * (err + truncation) + 16 * EPS * np.abs(e.complex_step) + UNDERFLOW + e.slack
    with np.errstate(invalid="ignore"):
        contradicted = (present & ~e.holomorphic & judgeable_c & ~e.crossed
                        & ~_close(e.complex_step, e.centered, tol, reference_slack)
                        & ~(has_exact & _close(e.complex_step, e.exact, tol, reference_slack)))
    has_complex = present & ~contradicted
    tied = e.tied
    best = np.where(tied, e.centered, np.where(has_complex, e.complex_step, e.richardson))
    method = np.where(tied, CENTERED, np.where(has_complex, COMPLEX, RICHARDSON))
    ok = np.where(tied, ok_tied, np.where(has_complex, _close(a, e.complex_step, tol, allowance_cx),
                                          _close(a, e.centered, tol, allowance_c)))
    judgeable = tied | has_complex | judgeable_c
    allowance = np.where(tied, slack, np.where(has_complex, allowance_cx, allowance_c))
    return best, method, ok, judgeable, allowance, ok_tied, contradicted


def judge(e: Evidence, tol: Tolerances, eps: float = EPS) -> Judgement:
    """`eps`: the machine epsilon of the precision the analytic pass ran in (float32: what its rounding can do)."""
    a = e.analytic
    with np.errstate(all="ignore"):
        second = np.where(np.isfinite(e.second), np.abs(e.x * e.second), 0.0)
    backprop_rounding = 16 * eps * (e.magnitude + second) + UNDERFLOW + e.slack
    rounding = backprop_rounding + e.noise
    has_exact = np.isfinite(e.exact)
    best, method, numeric_ok, judgeable, allowance, ok_tied, dropped = _numerical(e, tol, rounding, has_exact)
    nested_convention = e.tied & e.nested & ~ok_tied  # backprop's midpoints multiply at nested kinks
    numeric_ok = numeric_ok | nested_convention | e.jumped  # across a jump, slopes judge nothing
    exact_ok = ~has_exact | _close(a, e.exact, tol, rounding)
    numeric_vs_exact = has_exact & _close(best, e.exact, tol, rounding + allowance)
    centered_ok = _close(a, e.centered, tol, rounding + SAFETY * e.error_estimate)
    numeric_wrong = exact_ok & ~numeric_ok & judgeable
    lost = (a == 0) & has_exact & (np.abs(e.exact) < LOST_RANGE) & (e.exact != 0) & numeric_vs_exact
    not_finite = ~np.isfinite(a)
    overflow = np.isinf(e.exact) & ~not_finite  # the true derivative is beyond float64: f's float64 value is not f
    conditions = [
        not_finite,
        overflow,
        lost,
        ~exact_ok,
        numeric_wrong & ~has_exact,
        numeric_wrong,
        ~has_exact & ~judgeable,
        has_exact & ~_close(a, e.exact, tol, backprop_rounding),
        nested_convention,
        ~centered_ok & (method != CENTERED) & ~e.crossed,
    ]
    mismatch_kind = np.where(numeric_ok & ~numeric_vs_exact, EXACT_ODD,
                             np.where(numeric_vs_exact | ~judgeable, BACKPROP_WRONG, ALL_DISAGREE))
    status = np.select(conditions, [ERROR, ERROR, INCONCLUSIVE, MISMATCH, MISMATCH, PASS, INCONCLUSIVE, PASS, PASS, PASS],
                       PASS)
    diagnosis = np.select(conditions, [NOT_FINITE, EXACT_OVERFLOW, LOST_TO_RANGE, mismatch_kind, BACKPROP_VS_NUMERIC,
                                       FD_TROUBLE_EXACT, CANNOT_JUDGE, ILL_CONDITIONED, NESTED_KINK, FD_TROUBLE_CENTERED], NONE)
    reference = np.where(has_exact, e.exact, a)
    claim_failed, claim_unjudged = _claims(e, tol, has_exact, rounding)
    status = np.where(claim_failed, np.maximum(status, MISMATCH),
                      np.where(claim_unjudged, np.maximum(status, INCONCLUSIVE), status))
    status = np.where((status == PASS) & e.crossed, KINK, status)
    crossed_only = e.crossed & ~e.tied
    return Judgement(status, diagnosis, claim_failed, claim_unjudged, relative_error(a, np.where(has_exact, e.exact, best)),
                     np.where(np.isnan(e.expected), np.nan, relative_error(e.expected, reference)), best, method,
                     np.where(e.crossed, np.where(crossed_only, best, e.left), np.nan),
                     np.where(e.crossed, np.where(crossed_only, best, e.right), np.nan), rounding, dropped)


def _claims(e: Evidence, tol: Tolerances, has_exact: np.ndarray, rounding: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(failed, unjudged): a claim fails when it is off by a relative rtol or more from exact (the 1e-9: a claim
    typed exactly rtol off still fails after decimal rounding), or by more than the printed digits allow (`~=`).
    On a kink, a claim between the one-sided derivatives is as good as backprop's convention: a kink, not wrong."""
    has_claim = ~np.isnan(e.expected)
    with np.errstate(invalid="ignore"):
        off = np.abs(e.expected - e.exact)
        holds_exact = (off < tol.rtol * (1 - 1e-9) * np.abs(e.exact)) | (off <= tol.atol) | (off <= e.claim_tolerance)
        off_a = np.abs(e.expected - e.analytic)
        limit = np.maximum(np.maximum(tol.rtol * (1 - 1e-9) * np.abs(e.analytic), tol.atol), e.claim_tolerance)
        sure_wrong = off_a > limit + rounding
        sure_right = (off_a + rounding <= limit) | ((off_a == 0) & (rounding <= UNDERFLOW))  # 0 carried with no rounding
        low, high = np.fmin(e.left, e.right), np.fmax(e.left, e.right)
        slack = SAFETY * e.error_estimate + 1e-6 * np.maximum(np.abs(low), np.abs(high)) + tol.atol + e.claim_tolerance
        on_kink = e.tied & (low - slack <= e.expected) & (e.expected <= high + slack)
    failed = has_claim & ~on_kink & np.where(has_exact, ~holds_exact, sure_wrong)
    unjudged = has_claim & ~on_kink & ~has_exact & ~sure_wrong & ~sure_right
    return failed, unjudged


def describe(j: Judgement, e: Evidence, index: tuple, var: str, tol: Tolerances, kink_text: str | None) -> str | None:
    """The diagnosis of one element in words (None for a clean pass); `e` broadcast (Evidence.broadcast)."""
    code = int(j.diagnosis[index])
    diagnosis = _TEXTS[code](j, e, index) if code in _TEXTS else None
    has_exact = bool(np.isfinite(e.exact[index]))
    if bool(j.claim_failed[index]) or bool(j.claim_unjudged[index]):
        claim = _claim_text(j, e, index, var, tol, has_exact)
        diagnosis = claim + (f"; {diagnosis}" if diagnosis else "")
    if kink_text and int(j.status[index]) == KINK:
        diagnosis = kink_text + (f"; {diagnosis}" if diagnosis else "")
    if bool(j.complex_dropped[index]):
        diagnosis = (f"{diagnosis}; " if diagnosis else "") + _dropped_text(e, index)
    return diagnosis


def _dropped_text(e: Evidence, index) -> str:
    return (f"the complex step ({float(e.complex_step[index]):.10g}) was not used: the centered difference "
            f"({float(e.centered[index]):.10g}, error ~{float(e.error_estimate[index]):.2g}) contradicts it, so f is not "
            "holomorphic here (abs, sign, np.real or a complex maximum in f)")


def _method(j: Judgement, index) -> str:
    return METHODS[int(j.best_method[index])]


def _interval(e: Evidence, index) -> str:
    left, right = float(e.left[index]), float(e.right[index])
    return f"[{min(left, right):.10g}, {max(left, right):.10g}]"


_TEXTS = {
    NOT_FINITE: lambda j, e, i: f"the gradient under test is {float(e.analytic[i])}: not a number to check",
    EXACT_OVERFLOW: lambda j, e, i: ("the exact derivative is beyond the float64 range (float64's f is not the true f "
                                     "here: an input or intermediate was rounded away): this point cannot be checked"),
    EXACT_ODD: lambda j, e, i: "the exact column is the odd one out: backprop and finite differences agree",
    BACKPROP_WRONG: lambda j, e, i: "backprop disagrees with the exact derivative: the derivative rule or backward pass is wrong",
    ALL_DISAGREE: lambda j, e, i: "analytic, numerical and exact all disagree",
    BACKPROP_VS_NUMERIC: lambda j, e, i: (f"backprop disagrees with the {_method(j, i)} estimate (no exact value to settle it): "
                                          "the derivative rule or backward pass is wrong"),
    FD_TROUBLE_EXACT: lambda j, e, i: f"finite-difference trouble: the {_method(j, i)} estimate is off, backprop agrees with exact",
    CANNOT_JUDGE: lambda j, e, i: (f"finite differences cannot judge here (estimated error {float(e.error_estimate[i]):.3g}"
                                   f"{'' if bool(e.reliable[i]) else ', and halving h does not shrink it as h**2 should'}) and there is no exact value"),
    ILL_CONDITIONED: lambda j, e, i: (f"ill-conditioned in float64: rounding of the forward values moves this gradient by up to "
                                      f"~{float(e.noise[i]):.2g}, and exact differs by {abs(float(e.analytic[i]) - float(e.exact[i])):.2g}"
                                      " — within that, so not a wrong rule"),
    LOST_TO_RANGE: lambda j, e, i: (f"backprop gives 0 where the exact value is {float(e.exact[i]):.3g} (and the {_method(j, i)} "
                                    "estimate agrees with exact): float64 lost it in the staged computation (an intermediate "
                                    "overflowed or underflowed), not a wrong rule"),
    NESTED_KINK: lambda j, e, i: (f"nested kinks: backprop's convention here ({float(e.analytic[i]):.10g}) need not lie between the "
                                  f"one-sided derivatives {_interval(e, i)}; f is not differentiable there by a single rule"),
    FD_TROUBLE_CENTERED: lambda j, e, i: (f"finite-difference trouble (step size or conditioning): the centered difference is off by "
                                          f"{float(relative_error(e.analytic[i], e.centered[i])):.2g} relative; {_method(j, i)}"
                                          f"{' and exact agree' if np.isfinite(e.exact[i]) else ' agrees'} with backprop"),
}


def _claim_text(j: Judgement, e: Evidence, index: tuple, var: str, tol: Tolerances, has_exact: bool) -> str:
    expected, a = float(e.expected[index]), float(e.analytic[index])
    if bool(j.claim_failed[index]):
        against, reference = ("exact", float(e.exact[index])) if has_exact else ("analytic", a)
        return f"claimed d{var} = {expected:.10g} but {against} is {reference:.10g}"
    return (f"claimed d{var} = {expected:.10g} cannot be judged to rtol {tol.rtol:g}: there is no exact value, and float64 "
            f"rounding leaves analytic ({a:.10g}) uncertain by ~{float(j.rounding[index]):.2g} (compute the exact column, or give it more time)")


def agree(candidate, references, tol: Tolerances, scale=0.0, eps: float = EPS) -> np.ndarray:
    """The judge with references of no error of their own (what the gate graph computes for a program's line): for
    each reference (a leading axis), does the candidate pass against it at every element? The rounding allowance is
    64·eps·(|candidate| + |reference| + scale), `scale` being the size of what was summed (the uses' |contributions|).
    A candidate of another shape agrees with nothing."""
    a = np.asarray(candidate, dtype=np.float64)
    refs = np.asarray(references, dtype=np.float64)
    if refs.shape[1:] != a.shape and not (a.size == 1 and refs[0].size == 1):
        return np.zeros(len(refs), bool)
    refs = refs.reshape(len(refs), -1)
    a = np.broadcast_to(a.reshape(-1), refs.shape)
    scale = np.asarray(scale, dtype=np.float64)
    scale = scale.reshape(1, -1) if scale.size == refs.shape[1] else np.abs(scale).max(initial=0.0)
    # a reference the candidate equals bit for bit, finite, passes whatever the tolerances (judged_agreement says so
    # too: tested): most of a program's lines at its random draws, so the judge runs on the others only
    result = np.all((a == refs) & np.isfinite(refs), axis=1)
    rest = np.flatnonzero(~result)
    if rest.size:
        result[rest] = judged_agreement(a[rest], refs[rest], scale, tol, eps)
    return result


def judged_agreement(a: np.ndarray, refs: np.ndarray, scale, tol: Tolerances, eps: float = EPS) -> np.ndarray:
    """agree's verdicts from the judge itself: `a` and `refs` (R, n), `scale` broadcasting against them."""
    nan = np.full(refs.shape, np.nan)
    no = np.zeros(refs.shape, bool)
    with np.errstate(over="ignore"):  # values near the largest float: an infinite allowance would pass anything
        magnitude = np.minimum(4 * (np.abs(a) + np.abs(refs) + np.abs(scale)), np.finfo(np.float64).max)
    e = Evidence(analytic=a, magnitude=magnitude, noise=np.zeros(()), x=np.zeros(()),
                 forward=nan, centered=nan, richardson=nan, error_estimate=np.full(refs.shape, np.inf), reliable=no,
                 left=nan, right=nan, second=np.zeros(()), h_centered=np.ones(()), complex_step=nan, exact=refs,
                 expected=nan, claim_tolerance=np.zeros(()), crossed=no, tied=no, nested=no)
    return np.all(judge(e, tol, eps).status == PASS, axis=1)
