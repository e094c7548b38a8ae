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

from .errors import ExitCode
from .numeric import EPS, Differences

SEVERITY = ("pass", "kink", "inconclusive", "mismatch", "error")
SAFETY = 10.0  # how many estimated errors apart two numbers may be before we call them different
JUDGEABLE = 0.01  # a numerical estimate whose relative error may exceed this cannot judge


@dataclass(frozen=True, slots=True)
class Tolerances:
    rtol: float = 1e-6
    atol: float = 0.0


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
    rel_error: float  # analytic vs exact (or vs centered when exact is missing)
    expected_rel_error: float | None
    error_estimate: float
    left: float | None  # one-sided derivatives, at kinks
    right: float | None
    status: str
    diagnosis: str | None
    h_forward: float
    h_centered: float

    @property
    def best(self) -> tuple[float, str]:
        """The most accurate numerical estimate and its method name."""
        if self.complex_step is not None and math.isfinite(self.complex_step) and self.left is None:
            return self.complex_step, "complex"
        return (self.centered, "centered") if self.left is not None else (self.richardson, "richardson")


def relative_error(a: float, b: float) -> float:
    """|a-b| / max(|a|,|b|), 0 when both are 0 (cs231n)."""
    if a == b:
        return 0.0
    if not (math.isfinite(a) and math.isfinite(b)):
        return math.inf
    return abs(a - b) / max(abs(a), abs(b))


def _close(a: float, b: float, tol: Tolerances, allowance: float) -> bool:
    return abs(a - b) <= tol.rtol * max(abs(a), abs(b)) + tol.atol + allowance


def judge(var: str, analytic: float, magnitude: float, x: float, d: Differences, exact: float | None,
          exact_expr: str | None, expected: float | None, complex_step: float | None, tol: Tolerances,
          kink_description: str | None) -> GradientCheck:
    rounding = 16 * EPS * (magnitude + abs(x * d.second) if math.isfinite(d.second) else magnitude)
    numeric_error = SAFETY * d.error_estimate
    on_kink = kink_description is not None
    if on_kink:
        low, high = min(d.left, d.right), max(d.left, d.right)
        slack = SAFETY * d.error_estimate + 1e-6 * max(abs(low), abs(high))
        numeric_ok = low - slack - tol.atol <= analytic <= high + slack + tol.atol
        judgeable = True
    else:
        numeric_ok = _close(analytic, d.centered, tol, rounding + numeric_error)
        judgeable = d.error_estimate <= JUDGEABLE * max(abs(analytic), abs(d.centered), 1e-300)
    exact_ok = exact is None or _close(analytic, exact, tol, rounding)
    reference = exact if exact is not None else analytic
    claim_ok = expected is None or _close(expected, reference, tol, rounding)
    numeric_vs_exact = exact is not None and _close(d.centered, exact, tol, rounding + numeric_error)

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
            diagnosis = "backprop disagrees with finite differences (no exact value to settle it)"
        else:
            diagnosis = "finite-difference trouble (step size or conditioning): backprop agrees with exact"
    elif exact is None and not judgeable:
        status = "inconclusive"
        diagnosis = f"finite differences too inaccurate here (estimated error {d.error_estimate:.3g}) and no exact value"
    if expected is not None and not claim_ok:
        status = "mismatch"
        against = "exact" if exact is not None else "analytic"
        diagnosis = f"claimed d{var} = {expected:.10g} but {against} is {reference:.10g}" + (f"; {diagnosis}" if diagnosis else "")
    if status == "pass" and on_kink:
        status = "kink"
        diagnosis = kink_description + (f"; {diagnosis}" if diagnosis else "")
    reference_for_error = exact if exact is not None else d.centered
    return GradientCheck(
        var=var, analytic=analytic, forward=d.forward, centered=d.centered, richardson=d.richardson,
        complex_step=complex_step, exact=exact, exact_expr=exact_expr, expected=expected,
        rel_error=relative_error(analytic, reference_for_error),
        expected_rel_error=None if expected is None else relative_error(expected, reference),
        error_estimate=d.error_estimate,
        left=d.left if on_kink else None, right=d.right if on_kink else None,
        status=status, diagnosis=diagnosis, h_forward=d.h_forward, h_centered=d.h_centered,
    )


def worst(statuses: list[str] | tuple[str, ...]) -> str:
    return max(statuses, key=SEVERITY.index, default="pass")


def exit_code(statuses: list[str], strict: bool = False) -> ExitCode:
    """The one place exit codes come from: 1 on any mismatch or error (or kink/inconclusive with --strict)."""
    failing = {"mismatch", "error"} | ({"kink", "inconclusive"} if strict else set())
    return ExitCode.FAILED if any(s in failing for s in statuses) else ExitCode.OK
