"""Checking the user's own numpy code: f(**inputs) and grad(**inputs), by calling f.

Per element: forward, centered and Richardson differences, the one-sided slopes (a kink is where they
part), and the complex step when f computes with complex input (found out by trying once). Past
DIRECTION_LIMIT elements, random directions. Then a Taylor test along a random direction: the
remainder |f(x+hv) - f(x) - h<g,v>| must shrink like h**2 over a range of h; it tells a wrong gradient
(remainder ~ h) from a bad step without choosing h. Verdicts are the expression checker's rules.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from .errors import UsageError
from .numeric import COMPLEX_STEP, EPS, centered_steps, forward_steps
from .results import CaseResult, GradientCheck
from .verdict import METHODS, PASS, SEVERITY, Evidence, Tolerances, describe, judge, worst

TAYLOR_STEPS = tuple(10.0 ** -k for k in range(1, 9))
DIRECTION_LIMIT = 10_000  # elements (or Jacobian entries) checked one by one; past it, random directions


@dataclass(frozen=True, slots=True)
class Taylor:
    slope: float | None  # fitted log(remainder)/log(h) over the steps above rounding
    remainders: tuple[float, ...]
    verdict: str  # pass | mismatch | inconclusive
    note: str


def _call(f: Callable, inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    return np.asarray(f(**inputs))


def _values(f, inputs, var: str, flat: np.ndarray, steps: np.ndarray, dtype=np.float64) -> np.ndarray:
    """f with element flat[k] of `var` moved by steps[k], one call each (f is the user's code)."""
    out = []
    base = np.asarray(inputs[var], dtype=dtype)
    for k, step in zip(flat, steps):
        moved = dict(inputs)
        value = base.copy()
        value.reshape(-1)[k] += step
        moved[var] = value
        out.append(np.asarray(_call(f, moved)).reshape(-1))
    return np.array(out)


@contextmanager
def _quiet():
    """numpy's warnings about nan and complex casts while probing the user's function say nothing useful."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        yield


def accepts_complex(f, inputs, var: str) -> bool:
    """Does f keep an imaginary part through? (np.maximum, abs and float() casts do not.)"""
    try:
        with _quiet():
            value = _values(f, inputs, var, np.zeros(1, int), np.array([1e-30j]), np.complex128)
    except Exception:  # noqa: BLE001 -- the user's code refusing complex input is an answer, not an error
        return False
    return np.iscomplexobj(value) and bool(np.all(np.isfinite(value))) and bool(np.any(value.imag != 0))


class FunctionProbe:
    """directions.probe_directions' view of the user's function: f moved along rows of `moves`, one call each."""

    ELEMENT_CALLS = 256  # bisection turns to single elements once this many are left

    def __init__(self, f, inputs, use_complex: bool):
        self.f, self.inputs, self.use_complex = f, inputs, use_complex

    def values(self, var: str, moves: np.ndarray, dtype) -> np.ndarray:
        out = np.empty(len(moves), dtype=dtype)
        for row, move in enumerate(moves):
            moved = dict(self.inputs)
            moved[var] = np.asarray(self.inputs[var], dtype=dtype) + move
            with _quiet():
                out[row] = np.asarray(_call(self.f, moved)).reshape(-1)[0]
        return out

    def element_budget(self, var: str) -> int:
        return self.ELEMENT_CALLS

    def element_slopes(self, var: str, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f's slope along each element in `flat`, and its rounding noise (a centered difference's 4·eps·|f|/h)."""
        x = np.asarray(self.inputs[var], dtype=np.float64).reshape(-1)[flat]
        if self.use_complex:
            steps = COMPLEX_STEP * np.maximum(1.0, np.abs(x))
            with _quiet():
                slopes = _values(self.f, self.inputs, var, flat, 1j * steps, np.complex128).reshape(-1).imag / steps
            return slopes, np.zeros(len(flat))
        steps = centered_steps(x, None)
        with _quiet():
            both = _values(self.f, self.inputs, var, np.concatenate([flat, flat]), np.concatenate([steps, -steps])).reshape(-1)
        plus, minus = both[:len(flat)], both[len(flat):]
        return (plus - minus) / (2 * steps), 4 * EPS * np.maximum(np.abs(plus), np.abs(minus)) / steps


def _gradients(grad, inputs, wrt: tuple[str, ...], shapes: dict, out_shape: tuple) -> dict[str, np.ndarray]:
    """grad's answer per variable, shaped like the variable (scalar f) or output shape + variable shape (a Jacobian)."""
    given = grad(**inputs)
    if isinstance(given, Mapping):
        missing = [v for v in wrt if v not in given]
        if missing:
            raise UsageError(f"grad returned no gradient for {', '.join(missing)} (its dict has {', '.join(map(str, given)) or 'no keys'})")
        result = {v: np.asarray(given[v], dtype=np.float64) for v in wrt}
    elif isinstance(given, (tuple, list)) and len(wrt) > 1:
        if len(given) != len(wrt):
            raise UsageError(f"grad returned {len(given)} gradients for {len(wrt)} inputs ({', '.join(wrt)})")
        result = {v: np.asarray(g, dtype=np.float64) for v, g in zip(wrt, given)}
    elif len(wrt) > 1:
        raise UsageError(f"grad returned one array, but f has {len(wrt)} inputs ({', '.join(wrt)}): name the input it is "
                         "the gradient of (wrt), or return a dict {name: gradient}")
    else:
        result = {wrt[0]: np.asarray(given, dtype=np.float64)}
    for v, g in result.items():
        wanted = tuple(out_shape) + tuple(shapes[v])
        same = g.shape == wanted or (g.size == math.prod(wanted) and np.squeeze(g).shape == np.squeeze(np.empty(wanted)).shape)
        if not same:  # a transposed gradient of the same size must not be reshaped into place
            what = "gradient" if not out_shape else f"Jacobian (f's output shape {tuple(out_shape)} + {v}'s shape)"
            hint = " (transposed?)" if g.shape == wanted[::-1] else ""
            raise UsageError(f"grad returned shape {g.shape} for {v}, whose {what} has shape {wanted}{hint}")
        result[v] = g.reshape(wanted)
    return result


def _element_columns(f, inputs, var: str, f0: np.ndarray, h_override, use_complex: bool) -> dict[str, np.ndarray]:
    """Columns of shape (elements of var, elements of f's output)."""
    x = np.asarray(inputs[var], dtype=np.float64)
    n = x.size
    hc, hf = centered_steps(x.reshape(-1), h_override), forward_steps(x.reshape(-1), h_override)
    steps = np.stack([hc, -hc, hc / 2, -hc / 2, hf], axis=1)
    with _quiet():
        f_rows = _values(f, inputs, var, np.repeat(np.arange(n), 5), steps.reshape(-1)).reshape(n, 5, -1)
    plus, minus, plus_half, minus_half, plus_forward = (f_rows[:, j] for j in range(5))
    base = f0.reshape(1, -1)
    hc_, hf_ = hc[:, None], hf[:, None]
    with np.errstate(all="ignore"):
        centered = (plus - minus) / (2 * hc_)
        half = (plus_half - minus_half) / hc_
        rounding = 2 * EPS * np.maximum.reduce([np.abs(base) + 0 * plus, np.abs(plus), np.abs(minus)]) / hc_
        columns = {
            "forward": (plus_forward - base) / hf_, "centered": centered, "richardson": half + (half - centered) / 3,
            "error_estimate": np.abs(centered - half) * 4 / 3 + rounding,
            "left": 2 * (base - minus_half) / (hc_ / 2) - (base - minus) / hc_,
            "right": 2 * (plus_half - base) / (hc_ / 2) - (plus - base) / hc_,
            "second": (plus_half - 2 * base + minus_half) / (hc_ / 2) ** 2,
            "h_centered": np.broadcast_to(hc_, centered.shape), "h_forward": np.broadcast_to(hf_, centered.shape),
        }
    if use_complex:
        steps = COMPLEX_STEP * np.maximum(1.0, np.abs(x.reshape(-1)))
        with _quiet():
            rows = _values(f, inputs, var, np.arange(n), 1j * steps, np.complex128).reshape(n, -1)
        columns["complex_step"] = rows.imag / steps[:, None]
    else:
        columns["complex_step"] = np.full(centered.shape, np.nan)
    return columns


def _kinks(columns: dict[str, np.ndarray], tol: Tolerances) -> np.ndarray:
    """One-sided slopes that part by more than their own error: a kink between x-h and x+h."""
    left, right, err = columns["left"], columns["right"], columns["error_estimate"]
    with np.errstate(invalid="ignore"):
        return np.abs(left - right) > 100 * err + tol.rtol * np.maximum(np.abs(left), np.abs(right)) + 1e-12


def taylor_test(f, inputs, gradients: dict[str, np.ndarray], f0: np.ndarray, seed: int = 0) -> Taylor:
    """The remainder of the first-order Taylor expansion along a random direction v, over h = 1e-1 ... 1e-8; for an
    array output, of its projection on a random u (the gradient of uᵀf is uᵀJ)."""
    rng = np.random.default_rng(seed)
    f0 = np.asarray(f0, dtype=np.float64)
    weights = rng.standard_normal(f0.shape) if f0.size > 1 else np.ones(f0.shape)
    direction = {v: rng.standard_normal(np.shape(g)[f0.ndim:]) for v, g in gradients.items()}
    scale = max([1.0] + [float(np.abs(np.asarray(inputs[v])).max(initial=0.0)) for v in gradients])
    slope_along = sum(float(np.tensordot(weights, g, f0.ndim).reshape(np.shape(direction[v])).ravel() @ direction[v].ravel())
                      for v, g in gradients.items())
    projected = float((weights * f0).sum())
    remainders = []
    for h in TAYLOR_STEPS:
        moved = dict(inputs)
        for v in gradients:
            moved[v] = np.asarray(inputs[v], dtype=np.float64) + h * scale * direction[v]
        with _quiet():
            value = float((weights * np.asarray(_call(f, moved), dtype=np.float64).reshape(f0.shape)).sum())
        remainders.append(abs(value - projected - h * scale * slope_along))
    return _taylor_verdict(remainders, projected)


def _taylor_verdict(remainders: list[float], f0: float) -> Taylor:
    floor = 1e3 * EPS * max(abs(f0), 1e-300)  # below this, rounding decides the remainder
    usable = [(math.log10(h), math.log10(r)) for h, r in zip(TAYLOR_STEPS, remainders) if r > floor]
    if len(usable) < 3:
        return Taylor(None, tuple(remainders), "inconclusive" if remainders[0] > floor else "pass",
                      "the remainder is at rounding level for every step: f is linear along v, or nearly")
    xs, ys = np.array([u[0] for u in usable]), np.array([u[1] for u in usable])
    slope = float(np.polyfit(xs, ys, 1)[0])
    if slope >= 1.75:
        return Taylor(slope, tuple(remainders), "pass", f"the remainder shrinks like h**{slope:.2f}: the gradient is right")
    if slope <= 1.25:
        return Taylor(slope, tuple(remainders), "mismatch",
                      f"the remainder shrinks like h**{slope:.2f}, not h**2: the gradient is wrong along a random direction")
    return Taylor(slope, tuple(remainders), "inconclusive", f"the remainder shrinks like h**{slope:.2f}: between right (2) and wrong (1)")


def check_function(f: Callable, inputs: Mapping[str, object], grad: Callable, wrt=None, tolerances: Tolerances = Tolerances(),
                   h: float | None = None, seed: int = 0, name: str | None = None, directions: int = 2) -> CaseResult:
    inputs = {k: np.asarray(v, dtype=np.float64) for k, v in inputs.items()}
    wrt = tuple(wrt or inputs)
    unknown = [v for v in wrt if v not in inputs]
    if unknown:
        raise UsageError(f"wrt names {', '.join(unknown)}, which is not an input (inputs: {', '.join(inputs)})")
    shapes = {v: inputs[v].shape for v in wrt}
    with _quiet():
        f0 = np.asarray(_call(f, inputs), dtype=np.float64)
    entries = f0.size * sum(inputs[v].size for v in wrt)
    if entries > DIRECTION_LIMIT and f0.size > 1:
        raise UsageError(f"the Jacobian has {entries:,} entries (more than {DIRECTION_LIMIT:,}): check a scalar of the "
                         "output, such as (upstream * f).sum() with its gradient, where random directions take over")
    gradients = _gradients(grad, inputs, wrt, shapes, f0.shape)
    if entries > DIRECTION_LIMIT:
        checks = tuple(_direction_check(f, inputs, v, gradients[v], tolerances, directions, seed) for v in wrt)
    else:
        checks = tuple(_variable(f, inputs, v, gradients[v], f0, h, tolerances) for v in wrt)
    taylor = taylor_test(f, inputs, gradients, f0, seed)
    kinked = any(c.status == "kink" for c in checks)  # the expansion assumes f smooth along v: a kink breaks it
    counted = [taylor.verdict] if taylor.verdict != "pass" and not kinked else []
    status = worst([c.status for c in checks] + counted)
    notes = [f"d{c.var}: {c.diagnosis}" for c in checks if c.diagnosis and c.status != "pass"]
    if taylor.verdict != "pass":
        notes.append(f"Taylor test: {taylor.note}" + (" (not counted: f has a kink here)" if kinked else ""))
    label = name or getattr(f, "__qualname__", "f")
    value = float(f0.reshape(-1)[0]) if f0.size == 1 else f0
    return CaseResult(label, None, dict(inputs), value, status, "; ".join(notes) or None, checks,
                      None, "no exact column for Python functions", extras={"taylor": taylor})


def _direction_check(f, inputs, var: str, gradient: np.ndarray, tol: Tolerances, count: int, seed: int) -> GradientCheck:
    """Past DIRECTION_LIMIT elements: random directions, and bisection to name the faulty elements."""
    from .directions import probe_directions

    use_complex = accepts_complex(f, inputs, var)
    result = probe_directions(FunctionProbe(f, inputs, use_complex), inputs, var, gradient, tol, count, seed, use_complex)
    status = np.zeros(gradient.shape, np.int64)
    for index in result.faulty:
        status[index] = SEVERITY.index("mismatch")
    statuses = np.vectorize(lambda c: SEVERITY[c])(status) if status.size else None
    worst_index = tuple(result.faulty[0]) if result.faulty else tuple(0 for _ in gradient.shape)
    bad = [s for s in result.slopes if not s.agrees]
    text = None
    if bad:
        text = (f"{len(bad)} of {len(result.slopes)} random directions disagree: vᵀ·(your gradient) = {bad[0].analytic:.10g}, "
                f"f's slope along v is {bad[0].complex_step if use_complex else bad[0].centered:.10g}")
        if result.faulty:
            text += f"; bisecting the direction names element(s) {', '.join(map(str, [list(i) for i in result.faulty[:5]]))}"
    nan = np.full(gradient.shape, np.nan)
    return GradientCheck(var, gradient, None, None, None, None, None, None, None, nan, None, None, None, None,
                         result.status, text, None, None, None, "complex" if use_complex else "centered", gradient.shape,
                         gradient.shape, statuses, worst_index,
                         tuple((i, "mismatch", None) for i in result.faulty), "directions", result.slopes)


def _yours(text: str | None) -> str | None:
    """The verdict texts speak of backprop; here the gradient under test is the user's grad."""
    return None if text is None else text.replace("backprop", "your gradient").replace("the derivative rule or backward pass", "your gradient")


def _variable(f, inputs, var: str, gradient: np.ndarray, f0: np.ndarray, h, tol: Tolerances) -> GradientCheck:
    use_complex = accepts_complex(f, inputs, var)
    columns = {k: np.asarray(v).T.reshape(gradient.shape) for k, v in  # (input, output) -> output-major Jacobian
               _element_columns(f, inputs, var, f0, h, use_complex).items()}
    crossed = _kinks(columns, tol)
    evidence = Evidence(gradient, np.zeros(()), np.zeros(()), inputs[var], columns["forward"], columns["centered"],
                        columns["richardson"], columns["error_estimate"], np.ones(gradient.shape, bool), columns["left"],
                        columns["right"], columns["second"], columns["h_centered"], columns["complex_step"],
                        np.full(gradient.shape, np.nan), np.full(gradient.shape, np.nan), np.zeros(()), crossed, crossed,
                        np.zeros(gradient.shape, bool))
    j = judge(evidence, tol)
    evidence = evidence.broadcast()
    status = j.status
    worst_index = np.unravel_index(int(np.argmax(status * 4.0 + np.nan_to_num(j.rel_error, posinf=3.0).clip(0, 3))), status.shape) if status.ndim else ()
    kink_text = "kink: the one-sided slopes differ (a max, abs or relu decides here)"
    text = _yours(describe(j, evidence, worst_index, var, tol, kink_text)) if status.size else None

    def col(a):
        a = np.asarray(a)
        return float(a) if a.ndim == 0 else a

    failing = tuple((tuple(int(i) for i in idx), SEVERITY[int(status[idx])], _yours(describe(j, evidence, tuple(int(i) for i in idx), var, tol, kink_text)))
                    for idx in zip(*np.nonzero(status != PASS)))[:20] if status.ndim else ()
    return GradientCheck(var, col(gradient), col(columns["forward"]), col(columns["centered"]), col(columns["richardson"]),
                         col(columns["complex_step"]) if use_complex else None, None, None, None, col(j.rel_error), None,
                         col(columns["error_estimate"]), col(j.left), col(j.right),
                         SEVERITY[int(status.max()) if status.ndim else int(status)], text, col(columns["h_forward"]),
                         col(columns["h_centered"]), col(j.best),
                         METHODS[int(np.asarray(j.best_method).reshape(-1)[0])] if not status.ndim else np.vectorize(lambda c: METHODS[c])(j.best_method),
                         gradient.shape, gradient.shape, np.vectorize(lambda c: SEVERITY[c])(status) if status.ndim else None,
                         tuple(int(i) for i in worst_index), failing)
