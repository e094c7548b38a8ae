"""Compare the columns: pass / mismatch / kink / inconclusive / error per variable, and the exit code.

Rules (README "How gradcheck decides"):
  * analytic vs exact: |a-e| <= rtol*max(|a|,|e|) + atol + rounding allowance, where the allowance
    16*eps*(m + |x*f''|) covers float64 backprop (m = the gradient's magnitude pass) and input rounding;
  * analytic vs centered: the same plus 10x the estimated error of the centered difference; when
    that estimate exceeds 1% of the gradient the numerical column cannot judge anything;
  * a claim is compared with exact (or analytic when exact is missing) at the same tolerance;
  * a kink judges the analytic value against [min(left,right), max(left,right)].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ExitCode
from .numeric import COMPLEX_STEP, EPS, Differences

SEVERITY = ("pass", "kink", "inconclusive", "mismatch", "error")
SAFETY = 10.0  # how many estimated errors apart two numbers may be before we call them different
JUDGEABLE = 0.01  # a numerical estimate whose relative error may exceed this cannot judge
UNDERFLOW = 1e-300  # below this float64 is subnormal or nearly so: differences there say nothing


@dataclass(frozen=True, slots=True)
class Tolerances:
    rtol: float = 1e-6
    atol: float = 0.0


@dataclass(frozen=True, slots=True)
class Kink:
    """A piecewise gate changed branch across the stencil; `tied`: the point sits exactly on it."""

    description: str
    tied: bool


@dataclass(frozen=True, slots=True)
class GradientCheck:
    var: str
    analytic: float
    forward: float
    centered: float
    richardson: float
    complex_step: float | None
    exact: float | None
    exact_expr: str | None
    expected: float | None
    rel_error: float  # analytic vs exact (or vs the best numerical estimate when exact is missing)
    expected_rel_error: float | None
    error_estimate: float
    left: float | None  # one-sided derivatives, at kinks
    right: float | None
    status: str
    diagnosis: str | None
    h_forward: float
    h_centered: float
    best: float
    best_method: str  # complex | richardson | centered


def relative_error(a: float, b: float) -> float:
    """|a-b| / max(|a|,|b|), 0 when both are 0 (cs231n)."""
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def _close(a: float, b: float, tol: Tolerances, allowance: float) -> bool:
    return abs(a - b) <= tol.rtol * max(abs(a), abs(b)) + tol.atol + allowance


def _claim_holds(claimed: float, reference: float, tol: Tolerances, rounding: float) -> bool:
    """Off by a relative rtol or more fails (the 1e-9: a claim typed exactly rtol off still fails after decimal
    rounding); differences within float64 rounding or --atol pass, which matters where the gradient is ~0."""
    off = abs(claimed - reference)
    return off < tol.rtol * (1 - 1e-9) * abs(reference) or off <= tol.atol + rounding


def _numerical_judge(analytic: float, x: float, d: Differences, complex_step: float | None, kink: Kink | None,
                     tol: Tolerances, rounding: float) -> tuple[float, str, bool, bool, float]:
    """The best numerical estimate, its method, whether it agrees with analytic, whether it can judge, its allowance."""
    if kink is not None and kink.tied:  # one-sided derivatives differ: the subgradient interval judges
        low, high = min(d.left, d.right), max(d.left, d.right)
        slack = SAFETY * d.error_estimate + 1e-6 * max(abs(low), abs(high)) + tol.atol
        return d.centered, "centered", low - slack <= analytic <= high + slack, True, slack
    if complex_step is not None and math.isfinite(complex_step):  # no subtraction: as accurate as f itself
        # its truncation is h**2 * (third derivative)/6, as the centered one's: scale that measured error down
        with np.errstate(over="ignore"):  # a tiny --h makes this ratio huge: then inf, an allowance that forgives all
            truncation = float((COMPLEX_STEP * max(1.0, abs(x)) / np.float64(d.h_centered)) ** 2 * d.error_estimate)
        allowance = 4 * rounding + SAFETY * truncation
        return complex_step, "complex", _close(analytic, complex_step, tol, allowance), True, allowance
    allowance = rounding + SAFETY * d.error_estimate
    judgeable = d.reliable and d.error_estimate <= JUDGEABLE * max(abs(analytic), abs(d.centered), 1e-300)
    return d.richardson, "richardson", _close(analytic, d.centered, tol, allowance), judgeable, allowance


def judge(var: str, analytic: float, magnitude: float, noise: float, x: float, d: Differences, exact: float | None,
          exact_expr: str | None, expected: float | None, complex_step: float | None, tol: Tolerances,
          kink: Kink | None) -> GradientCheck:
    """`magnitude`: the backward pass on absolute values; `noise`: how far forward rounding moves the gradient."""
    backprop_rounding = 16 * EPS * (magnitude + abs(x * d.second) if math.isfinite(d.second) else magnitude) + UNDERFLOW
    rounding = backprop_rounding + noise
    best, best_method, numeric_ok, judgeable, allowance = _numerical_judge(analytic, x, d, complex_step, kink, tol, rounding)
    exact_ok = exact is None or _close(analytic, exact, tol, rounding)
    reference = exact if exact is not None else analytic
    claim_ok = expected is None or _claim_holds(expected, reference, tol, rounding)
    numeric_vs_exact = exact is not None and _close(best, exact, tol, rounding + allowance)
    centered_ok = _close(analytic, d.centered, tol, rounding + SAFETY * d.error_estimate)

    status, diagnosis = "pass", None
    if not exact_ok:
        status = "mismatch"
        if numeric_ok and not numeric_vs_exact:
            diagnosis = "the exact column is the odd one out: backprop and finite differences agree"
        elif numeric_vs_exact or not judgeable:
            diagnosis = "backprop disagrees with the exact derivative: the derivative rule or backward pass is wrong"
        else:
            diagnosis = "analytic, numerical and exact all disagree"
    elif not numeric_ok and judgeable:
        if exact is None:
            status = "mismatch"
            diagnosis = f"backprop disagrees with the {best_method} estimate (no exact value to settle it): the derivative rule or backward pass is wrong"
        else:
            diagnosis = f"finite-difference trouble: the {best_method} estimate is off, backprop agrees with exact"
    elif exact is None and not judgeable:
        status = "inconclusive"
        diagnosis = (f"finite differences cannot judge here (estimated error {d.error_estimate:.3g}"
                     f"{'' if d.reliable else ', and halving h does not shrink it as h**2 should'}) and there is no exact value")
    elif exact is not None and not _close(analytic, exact, tol, backprop_rounding):
        diagnosis = (f"ill-conditioned in float64: rounding of the forward values moves this gradient by up to ~{noise:.2g}, "
                     f"and exact differs by {abs(analytic - exact):.2g} — within that, so not a wrong rule")
    elif not centered_ok and best_method != "centered" and kink is None:
        diagnosis = (f"finite-difference trouble (step size or conditioning): the centered difference is off by "
                     f"{relative_error(analytic, d.centered):.2g} relative; {best_method}"
                     f"{' and exact agree' if exact is not None else ' agrees'} with backprop")
    if expected is not None and not claim_ok:
        status = "mismatch"
        against = "exact" if exact is not None else "analytic"
        diagnosis = f"claimed d{var} = {expected:.10g} but {against} is {reference:.10g}" + (f"; {diagnosis}" if diagnosis else "")
    if status == "pass" and kink is not None:
        status = "kink"
        diagnosis = kink.description + (f"; {diagnosis}" if diagnosis else "")
    crossed_only = kink is not None and not kink.tied
    return GradientCheck(
        var=var, analytic=analytic, forward=d.forward, centered=d.centered, richardson=d.richardson,
        complex_step=complex_step, exact=exact, exact_expr=exact_expr, expected=expected,
        rel_error=relative_error(analytic, exact if exact is not None else best),
        expected_rel_error=None if expected is None else relative_error(expected, reference),
        error_estimate=d.error_estimate,
        left=None if kink is None else (best if crossed_only else d.left),
        right=None if kink is None else (best if crossed_only else d.right),
        status=status, diagnosis=diagnosis, h_forward=d.h_forward, h_centered=d.h_centered,
        best=best, best_method=best_method,
    )


def worst(statuses: list[str] | tuple[str, ...]) -> str:
    return max(statuses, key=SEVERITY.index, default="pass")


def exit_code(statuses: list[str], strict: bool = False) -> ExitCode:
    """The one place exit codes come from: 1 on any mismatch or error (or kink/inconclusive with --strict)."""
    failing = {"mismatch", "error"} | ({"kink", "inconclusive"} if strict else set())
    return ExitCode.FAILED if any(s in failing for s in statuses) else ExitCode.OK
