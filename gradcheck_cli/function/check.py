"""Checking the user's own numpy code: f(**inputs) and grad(**inputs), by calling f.

Named steps, one job each (torch's _gradcheck_helper): the inputs; f's value and the gradient, each from a
call on copies of the inputs (a function that changes its inputs is an error naming it); the precision of
the user's code (float32 code is held to float32's rounding, its references computed in float64 where the
code allows); per input the evidence for the one judge (verdict.judge) — the complex step for every
element where f computes with complex input, real differences for a sample and wherever the complex step
and the gradient disagree (for every element when f is not holomorphic) — or, past the element or work
limit, random directions (directions.py); then a Taylor test along a random direction (taylor.py), and, for a
scalar f that passes, random draws of the inputs (draws.py).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import numpy as np

from ..errors import GradcheckError, UsageError
from ..numeric.differences import representable_steps, stencil, variable_scale
from ..numeric.directions import Candidate, as_gradient_check, check_directions
from ..results import CaseResult, GradientCheck
from ..status import COMPLEX_STEP, EPS, PASS, SEVERITY, worst
from ..verdict import METHODS, Evidence, Tolerances, describe, judge
from .draws import at_a_draw
from .taylor import taylor_test
from .user_code import Refused, UserCode, copies, quiet

DIRECTION_LIMIT = 10_000  # elements (or Jacobian entries) checked one by one; past it, random directions
SECONDS = 60.0  # the per-element calls may take this long; past it, random directions
SAMPLE = 16  # elements that get real differences too when the complex step judges (the holomorphy cross-check)
KINK_TEXT = "kink: the one-sided slopes differ (a max, abs or relu decides here)"


@dataclass(frozen=True, slots=True)
class FunctionOptions:
    """How check_function checks: tolerances, step, seed, random directions and their limits."""

    tolerances: Tolerances = Tolerances()
    h: float | None = None  # the finite-difference step (None: scaled to each element and to f's precision)
    seed: int = 0  # of the random directions, the sample and the Taylor test
    directions: int = 2
    dtype: str | None = None  # the precision of the user's code: None detects it from f's value and the gradient
    direction_limit: int = DIRECTION_LIMIT
    seconds: float = SECONDS
    draws: bool = True  # a passing scalar f of float64 inputs is screened at random draws of them too (draws.py)


@dataclass(frozen=True, slots=True)
class Precision:
    """How exact the user's code is: the candidate's (grad's) and f's machine epsilon."""

    candidate: float
    f: float

    @property
    def name(self) -> str:
        return "float64" if self.candidate <= EPS else f"float{8 * np.dtype(_FLOATS[self.candidate]).itemsize}"


_FLOATS = {float(np.finfo(t).eps): t for t in (np.float16, np.float32, np.float64)}


def _inputs(inputs: Mapping[str, object], wrt) -> tuple[dict[str, object], tuple[str, ...]]:
    """Arrays as given (float32 stays float32); numbers and lists become float64; integer arrays (labels, indices)
    are passed through and differentiated only when wrt names them, as is a Python int that a given wrt does not
    name (a count or a stride that f uses as an index)."""
    values: dict[str, object] = {}
    for name, value in inputs.items():
        if isinstance(value, np.ndarray) or isinstance(value, np.generic):
            values[name] = np.array(value)  # the check's own copy: the caller's arrays are never handed to f
        elif isinstance(value, (bool, str)) or value is None or isinstance(value, (dict, tuple)) and not _numeric(value):
            values[name] = value
        elif isinstance(value, int) and wrt and name not in wrt:
            values[name] = value
        elif isinstance(value, (int, float, list, tuple)):
            values[name] = np.asarray(value, dtype=np.float64)
        else:
            values[name] = value
    floating = tuple(n for n, v in values.items() if isinstance(v, np.ndarray) and v.dtype.kind == "f")
    chosen = tuple(wrt) if wrt else floating
    unknown = [v for v in chosen if v not in values]
    if unknown:
        raise UsageError(f"wrt names {', '.join(unknown)}, which is not an input (inputs: {', '.join(values)})")
    if not chosen:
        raise UsageError(f"no floating-point input to differentiate (inputs: {', '.join(values) or 'none'}): give the "
                         "values as floats, or name the inputs in wrt")
    for name in chosen:
        value = values[name]
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "fiub":
            raise UsageError(f"input {name} is a {type(value).__name__}, not an array of numbers: it cannot be differentiated")
        if value.dtype.kind != "f":
            values[name] = value.astype(np.float64)
        if values[name].size == 0:
            raise UsageError(f"input {name} is empty (shape {value.shape}): there is no gradient to check")
    return values, chosen


def _numeric(value) -> bool:
    try:
        return np.asarray(value).dtype.kind in "fiub"
    except (ValueError, TypeError):
        return False


def _eps(dtype) -> float:
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        dtype = np.finfo(dtype).dtype
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else EPS


def _value(code: UserCode, inputs) -> np.ndarray:
    """f at the point: a finite number (or array of them), or the case is an error."""
    f0 = code.first("f", inputs)
    try:
        value = np.asarray(f0)
        if value.dtype.kind not in "fiub":
            raise TypeError
    except (TypeError, ValueError):
        raise Refused(f"{code.f_name} returned {_what(f0)}, not a number: it must return the value to differentiate "
                      "(a float, or an array for a Jacobian)") from None
    if not np.all(np.isfinite(value)):
        bad = "nan" if np.isnan(value).any() else "inf"
        raise Refused(f"{code.f_name} returned {bad} at this point: a non-finite value has no gradient to check "
                      "(look for log(0), 0/0 or an overflowing exp in it)")
    return value


def _what(value) -> str:
    text = repr(value)
    return f"a {type(value).__name__} ({text[:40]}{'…' if len(text) > 40 else ''})"


def _gradients(code: UserCode, given, wrt: tuple[str, ...], shapes: dict, out_shape: tuple) -> dict[str, np.ndarray]:
    """grad's answer per variable, shaped like the variable (scalar f) or output shape + variable shape (a Jacobian),
    in the precision grad computed it in."""
    who = code.grad_name
    if isinstance(given, Mapping):
        missing = [v for v in wrt if v not in given]
        if missing:
            raise Refused(f"{who} returned no gradient for {', '.join(missing)} (its dict has "
                          f"{', '.join(map(str, given)) or 'no keys'})")
        parts = {v: given[v] for v in wrt}
    elif isinstance(given, (tuple, list)) and len(wrt) > 1:
        if len(given) != len(wrt):
            raise Refused(f"{who} returned {len(given)} gradients for {len(wrt)} inputs ({', '.join(wrt)})")
        parts = dict(zip(wrt, given))
    elif len(wrt) > 1:
        raise Refused(f"{who} returned one array, but f has {len(wrt)} inputs ({', '.join(wrt)}): name the input it is "
                      "the gradient of (wrt), or return a dict {name: gradient}")
    else:
        parts = {wrt[0]: given}
    result = {}
    for v, part in parts.items():
        try:
            g = np.asarray(part)
            if g.dtype.kind not in "fiub":
                raise TypeError
        except (TypeError, ValueError):
            raise Refused(f"{who} returned {_what(part)} for {v}, not an array of numbers") from None
        wanted = tuple(out_shape) + tuple(shapes[v])
        same = g.shape == wanted or (g.size == math.prod(wanted) and np.squeeze(g).shape == np.squeeze(np.empty(wanted)).shape)
        if not same:  # a transposed gradient of the same size must not be reshaped into place
            what = "gradient" if not out_shape else f"Jacobian (f's output shape {tuple(out_shape)} + {v}'s shape)"
            hint = " (transposed?)" if g.shape == wanted[::-1] else ""
            raise Refused(f"{who} returned shape {g.shape} for {v}, whose {what} has shape {wanted}{hint}")
        if not np.all(np.isfinite(g)):
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(g.reshape(wanted)))[0])
            raise Refused(f"{who} returned {g.reshape(wanted)[index]} for {v}" + (f" at element {list(index)}" if index else "")
                          + ": a gradient must be finite")
        result[v] = g.reshape(wanted)
    return result


def accepts_complex(code: UserCode, inputs, var: str, gradient: np.ndarray | None = None) -> bool:
    """Does f compute with complex input (a float() cast or .real does not)? Tried at the element the gradient says
    f depends on most (a dropout mask may zero the first one). Whether its answer is right is the judge's
    cross-check: np.abs, np.sign or np.var with complex input run, and are wrong."""
    size = np.asarray(inputs[var]).size
    at = 0 if gradient is None else int(np.argmax(np.abs(gradient).reshape(-1, size).max(axis=0)))
    try:
        value = _moved(code, inputs, var, np.array([at]), np.array([1e-30j]), np.complex128)
    except Exception:  # noqa: BLE001 -- the user's code refusing complex input is an answer, not an error
        return False
    return np.iscomplexobj(value) and bool(np.all(np.isfinite(value)))


def _moved(code: UserCode, inputs, var: str, flat: np.ndarray, steps: np.ndarray, dtype=np.float64) -> np.ndarray:
    """f with element flat[k] of `var` moved by steps[k], one call each: rows (len(flat), f's size)."""
    out = []
    value = np.array(inputs[var], dtype=dtype)  # one copy, each element moved and put back (cs231n's loop)
    moved = {**inputs, var: value}
    entries = value.reshape(-1)
    with quiet():
        for k, step in zip(flat, steps):
            old = entries[k]
            entries[k] = old + step
            out.append(np.asarray(code.function(**moved)).reshape(-1))
            entries[k] = old
    return np.array(out)


class FunctionProbe:
    """directions.check_directions' view of the user's function: f moved along rows of `moves`, one call each."""

    ELEMENT_CALLS = 256  # bisection turns to single elements once this many are left
    holomorphic = False  # the user's code: its complex step is cross-checked

    def __init__(self, code: UserCode, inputs, f0: float, eps: float, use_complex: bool):
        self.code, self.inputs, self.f0, self.eps, self.use_complex = code, inputs, f0, eps, use_complex

    def values(self, var: str, moves: np.ndarray, dtype) -> np.ndarray:
        out = np.empty(len(moves), dtype=dtype)
        base = np.asarray(self.inputs[var], dtype=dtype)
        with quiet():
            for row, move in enumerate(moves):
                out[row] = np.asarray(self.code.function(**{**self.inputs, var: base + move})).reshape(-1)[0]
        return out

    def element_budget(self, var: str) -> int:
        return self.ELEMENT_CALLS

    def element_slopes(self, var: str, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """f's slope along each element in `flat`, and its rounding noise (a centered difference's 4·eps·|f|/h)."""
        whole = np.asarray(self.inputs[var], dtype=np.float64)
        x = whole.reshape(-1)[flat]
        with quiet():
            if self.use_complex:
                steps = COMPLEX_STEP * np.maximum(1.0, np.abs(x))
                slopes = _moved(self.code, self.inputs, var, flat, 1j * steps, np.complex128).reshape(-1).imag / steps
                return slopes, np.zeros(len(flat))
            steps = _steps(x, None, self.eps, variable_scale(whole))
            both = _moved(self.code, self.inputs, var, np.concatenate([flat, flat]), np.concatenate([steps, -steps])).reshape(-1)
        plus, minus = both[:len(flat)], both[len(flat):]
        return (plus - minus) / (2 * steps), 4 * self.eps * np.maximum(np.abs(plus), np.abs(minus)) / steps


def _steps(x: np.ndarray, override: float | None, eps: float, scale: float) -> np.ndarray:
    """The centered step for f computed at machine epsilon `eps`: cbrt(eps)·max(|x|, the variable's scale), x + h
    exact (numeric.variable_scale)."""
    if override is not None:
        return np.full(np.shape(x), float(override))
    return representable_steps(x, eps ** (1 / 3) * np.maximum(scale, np.abs(x)))


def _real_columns(code: UserCode, inputs, var: str, flat: np.ndarray, f0: np.ndarray, h, eps: float) -> dict[str, np.ndarray]:
    """The real stencil (x ± h, x ± h/2, x ± h/4) of the elements in `flat` (numeric.stencil): columns of shape
    (len(flat), f's size)."""
    if not len(flat):
        return {}
    whole = np.asarray(inputs[var], dtype=np.float64)
    x = whole.reshape(-1)[flat]
    hc = _steps(x, h, eps, variable_scale(whole))
    steps = np.stack([hc, -hc, hc / 2, -hc / 2, hc / 4, -hc / 4], axis=1)
    with quiet():
        rows = _moved(code, inputs, var, np.repeat(flat, 6), steps.reshape(-1)).reshape(len(flat), 6, -1)
    columns = stencil(tuple(rows[:, j] for j in range(6)), f0.reshape(1, -1), hc[:, None], eps)
    columns["h_centered"] = np.broadcast_to(hc[:, None], rows[:, 0].shape)
    return columns


@dataclass(frozen=True, slots=True)
class _Variable:
    """What the per-element check of one input needs (the point's reference inputs in float64)."""

    var: str
    gradient: np.ndarray  # float64, the gradient's shape (output shape + the input's shape)
    rounding: np.ndarray  # the candidate's rounding, absolute, per element
    x: np.ndarray  # the input's value (float64)


def _element_evidence(code: UserCode, inputs, item: _Variable, f0: np.ndarray, precision: Precision,
                      options: FunctionOptions) -> tuple[Evidence, int]:
    """Columns of the judge for every element of one input, in the gradient's shape (a Jacobian: output first), and
    at how many elements the real differences contradicted the complex step (then f is not holomorphic, and the
    complex step judges no element of this input: it is dropped, and every element gets real differences).

    Calls of f, about one or two per element: the complex step of every element where f computes with complex
    input and a complex call costs less than two real ones; else the centered difference at h (cs231n's two
    calls), whose error is the sample's. A sample of SAMPLE elements gets the whole real stencil (numeric.stencil:
    h, h/2, h/4, the one-sided slopes, a kink) and the complex step, and so does every element the judge does not
    pass on the cheaper evidence, before its verdict is final."""
    n, m = item.x.size, f0.size
    tol = options.tolerances
    columns = {k: np.full((n, m), np.nan) for k in ("forward", "centered", "richardson", "left", "right")}
    columns["error_estimate"] = np.full((n, m), np.inf)
    columns["h_centered"] = np.ones((n, m))
    columns["reliable"] = np.zeros((n, m), bool)
    columns["kink"] = np.zeros((n, m), bool)
    rng = np.random.default_rng([options.seed, n])
    whole = np.sort(rng.choice(n, min(n, SAMPLE), replace=False))  # the elements with the whole stencil
    rest = np.setdiff1d(np.arange(n), whole)
    complex_step = np.full((n, m), np.nan)
    holomorphic = accepts_complex(code, inputs, item.var, item.gradient)
    everywhere = holomorphic and _complex_is_cheap(code, inputs, item.var)
    if holomorphic:
        _complex_steps(code, inputs, item, np.arange(n) if everywhere else whole, complex_step)
    _fill(columns, _real_columns(code, inputs, item.var, whole, f0, options.h, precision.f), whole)
    dropped = 0
    if holomorphic:
        dropped = int(judge(_evidence(item, columns, complex_step, columns["kink"]), tol, precision.candidate).complex_dropped.sum())
        if dropped:  # f is not holomorphic: the complex step judges nothing here
            complex_step[:] = np.nan
            holomorphic = everywhere = False
    if not everywhere:
        _fill(columns, _two_point(code, inputs, item.var, rest, f0, options.h, precision.f, columns, whole), rest)
    provisional = judge(_evidence(item, columns, complex_step, columns["kink"]), tol, precision.candidate)
    unsure = np.setdiff1d(np.flatnonzero(np.any((provisional.status != PASS).reshape(m, n), axis=0)), whole)
    _fill(columns, _real_columns(code, inputs, item.var, unsure, f0, options.h, precision.f), unsure)
    if holomorphic and not everywhere:
        _complex_steps(code, inputs, item, unsure, complex_step)
    return _evidence(item, columns, complex_step, columns["kink"]), dropped


def _complex_steps(code: UserCode, inputs, item: _Variable, flat: np.ndarray, into: np.ndarray) -> None:
    """The complex step of the elements in `flat`, one call each, into rows of `into` (element, output)."""
    if not len(flat):
        return
    steps = COMPLEX_STEP * np.maximum(1.0, np.abs(item.x.reshape(-1)[flat]))
    with quiet():
        into[flat] = _moved(code, inputs, item.var, flat, 1j * steps, np.complex128).reshape(len(flat), -1).imag / steps[:, None]


def _complex_is_cheap(code: UserCode, inputs, var: str) -> bool:
    """Does one complex call of f cost less than 1.5 real ones (the complex step then beats a two-call centered
    difference)? A complex matmul in f costs four real ones. The faster of two calls of each."""
    real = np.asarray(inputs[var], dtype=np.float64)
    timings = {}
    for kind, value in (("real", real), ("complex", real.astype(np.complex128))):
        moved = {**inputs, var: value}
        best = math.inf
        with quiet():
            for _ in range(2):
                started = time.perf_counter()
                code.function(**moved)
                best = min(best, time.perf_counter() - started)
        timings[kind] = best
    return timings["complex"] <= 1.5 * timings["real"]


def _two_point(code: UserCode, inputs, var: str, flat: np.ndarray, f0: np.ndarray, h, eps: float,
               columns: dict[str, np.ndarray], whole: np.ndarray) -> dict[str, np.ndarray]:
    """The centered difference at h alone (cs231n's two calls) for the elements in `flat`, its error the largest the
    whole-stencil sample measured plus its own rounding, and reliable where every sampled element was."""
    if not len(flat):
        return {}
    x_all = np.asarray(inputs[var], dtype=np.float64)
    hc = _steps(x_all.reshape(-1)[flat], h, eps, variable_scale(x_all))
    with quiet():
        rows = _moved(code, inputs, var, np.repeat(flat, 2), np.stack([hc, -hc], axis=1).reshape(-1)).reshape(len(flat), 2, -1)
    plus, minus = rows[:, 0], rows[:, 1]
    sampled = columns["error_estimate"][whole]
    truncation = float(np.max(np.where(np.isfinite(sampled), sampled, np.inf), initial=0.0)) if len(whole) else np.inf
    with np.errstate(all="ignore"):
        centered = (plus - minus) / (2 * hc[:, None])
        rounding = 2 * eps * np.maximum.reduce([np.abs(plus), np.abs(minus), np.abs(f0.reshape(1, -1)) + 0 * plus]) / hc[:, None]
    return {"forward": (plus - f0.reshape(1, -1)) / hc[:, None], "centered": centered, "richardson": centered,
            "error_estimate": rounding + truncation, "h_centered": np.broadcast_to(hc[:, None], centered.shape),
            "reliable": np.full(centered.shape, bool(np.all(columns["reliable"][whole])) if len(whole) else False)}


def _fill(columns: dict[str, np.ndarray], values: dict[str, np.ndarray], rows: np.ndarray) -> None:
    for name, value in values.items():
        columns[name][rows] = value


def _evidence(item: _Variable, columns: dict[str, np.ndarray], complex_step: np.ndarray, crossed: np.ndarray) -> Evidence:
    shape = item.gradient.shape

    def shaped(a: np.ndarray) -> np.ndarray:  # (input element, output element) -> output-major Jacobian
        return np.asarray(a).T.reshape(shape)

    nan = np.full(shape, np.nan)
    x = np.broadcast_to(item.x, shape)  # a Jacobian's shape ends in the input's
    tied = shaped(crossed)
    return Evidence(analytic=item.gradient, magnitude=np.zeros(()), noise=item.rounding, x=x, forward=shaped(columns["forward"]),
                    centered=shaped(columns["centered"]), richardson=shaped(columns["richardson"]),
                    error_estimate=shaped(columns["error_estimate"]), reliable=shaped(columns["reliable"]), left=shaped(columns["left"]),
                    right=shaped(columns["right"]), second=np.zeros(()), h_centered=shaped(columns["h_centered"]),
                    complex_step=shaped(complex_step), exact=nan, expected=nan, claim_tolerance=np.zeros(()), crossed=tied,
                    tied=tied, nested=np.zeros(shape, bool), jumped=np.zeros(shape, bool))


def check_function(f: Callable, inputs: Mapping[str, object], grad: Callable, wrt=None,
                   options: FunctionOptions = FunctionOptions(), name: str | None = None,
                   grad_name: str | None = None, hessian: Callable | None = None, hvp: Callable | None = None) -> CaseResult:
    """`hessian`, `hvp`: your second derivatives, checked after the gradient (function/hessian.py)."""
    label = name or getattr(f, "__qualname__", "f")
    code = UserCode(f, grad, label, grad_name or getattr(grad, "__qualname__", "grad"))
    values, wrt = _inputs(inputs, wrt)
    shown = {k: v for k, v in values.items() if isinstance(v, np.ndarray)}
    try:
        case = _check(code, values, wrt, options, label, shown, (hessian, hvp))
    except Refused as problem:
        return CaseResult(label, None, shown, math.nan, "error", str(problem), (), None, "no exact column for Python functions")
    if case.status != "pass" or not options.draws or np.ndim(case.value):
        return case
    return _at_draws(code, values, wrt, options, label, case)


@dataclass(frozen=True, slots=True)
class _Screened:
    """f and grad as the draws' screen calls them (draws.Calls): by keyword, every input given."""

    code: UserCode
    wrt: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]

    def f(self, **point) -> np.ndarray:
        return self.code.f(copies(point))

    def grad(self, **point) -> dict[str, np.ndarray]:
        with quiet():
            given = self.code.gradient(**copies(point))
        return _gradients(self.code, given, self.wrt, self.shapes, ())


def _at_draws(code: UserCode, values: dict, wrt: tuple[str, ...], options: FunctionOptions, label: str,
              case: CaseResult) -> CaseResult:
    """The case, or the case at a random draw of the inputs where the gradient is wrong (draws.py), with a note."""
    def check(point: dict) -> CaseResult:
        try:
            return _check(code, point, wrt, options, label, {k: v for k, v in point.items() if isinstance(v, np.ndarray)})
        except GradcheckError:  # Refused included: f or grad fails at the draw, a domain it assumes: not a finding
            return case

    screened = _Screened(code, wrt, {v: np.shape(values[v]) for v in wrt})
    found = at_a_draw(screened, dict(values), wrt, options.seed, check)
    if found is None:
        return case
    drawn, note = found
    return replace(drawn, function_notes=(note, *drawn.function_notes))


def _check(code: UserCode, values: dict, wrt: tuple[str, ...], options: FunctionOptions, label: str, shown: dict,
           second: tuple[Callable | None, Callable | None] = (None, None)) -> CaseResult:
    started = time.perf_counter()
    f_given = _value(code, values)
    seconds = time.perf_counter() - started
    entries = f_given.size * sum(values[v].size for v in wrt)
    if entries > options.direction_limit and f_given.size > 1:
        raise UsageError(f"the Jacobian has {entries:,} entries (more than {options.direction_limit:,}): check a scalar of "
                         "the output, such as (upstream * f).sum() with its gradient, where random directions take over")
    shapes = {v: values[v].shape for v in wrt}
    given = _gradients(code, code.first("grad", values), wrt, shapes, f_given.shape)
    reference = {k: v.astype(np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v for k, v in values.items()}
    snapshot = copies(reference)
    f0, precision, blanket, deviation = _precision(code, values, reference, f_given, given, wrt, shapes, options)
    gradients = {v: g.astype(np.float64) for v, g in given.items()}
    checks = []
    for v in wrt:
        n = values[v].size
        calls = n * (1 + 4 * min(1.0, SAMPLE / n))
        if n * f0.size > options.direction_limit or calls * seconds > options.seconds:
            candidate = Candidate(v, reference[v], gradients[v], np.asarray(blanket[v]), precision.candidate, deviation[v])
            checks.append(_direction_check(code, reference, candidate, f0, precision, options))
        else:
            rounding = blanket[v] + (0.0 if deviation[v] is None else 4 * np.abs(deviation[v]))
            checks.append(_variable(code, reference, _Variable(v, gradients[v], np.asarray(rounding), reference[v]), f0, precision, options))
    taylor = taylor_test(code, reference, gradients, f0, precision.f, precision.candidate, options.seed)
    hessians = ()
    if second != (None, None):
        from .hessian import check_hessians

        hessians = check_hessians(label, code.gradient, reference, wrt, gradients, precision.candidate, options, *second,
                                  given=values)
    code.unchanged(reference, snapshot)
    kinked = any(c.status == "kink" for c in checks)  # the expansion assumes f smooth along v: a kink breaks it
    counted = [taylor.verdict] if taylor.verdict == "mismatch" and not kinked else []  # undecided: a note only
    status = worst([c.status for c in checks] + counted + [h.status for h in hessians])
    notes = [f"d{c.var}: {c.diagnosis}" for c in checks if c.diagnosis and c.status != "pass"]
    notes += [f"H ({h.candidate}): {h.diagnosis}" for h in hessians if h.diagnosis and h.status != "pass"]
    if taylor.verdict != "pass":
        notes.append(f"Taylor test: {taylor.note}" + (" (not counted: f has a kink here)" if kinked else ""))
    value = float(f_given.reshape(-1)[0]) if f_given.size == 1 else f_given
    return CaseResult(label, None, shown, value, status, "; ".join(notes) or None, tuple(checks), None,
                      "no exact column for Python functions", taylor=taylor, precision=precision.name,
                      hessian=hessians)


def _precision(code: UserCode, values, reference, f_given: np.ndarray, given: dict[str, np.ndarray], wrt, shapes,
               options: FunctionOptions) -> tuple[np.ndarray, Precision, dict[str, np.ndarray], dict[str, np.ndarray | None]]:
    """f's value for the references (in float64 where the code computes in the precision of its inputs), the
    precision of the user's code, and how far the candidate's rounding may move each of its elements: 16·eps of the
    gradient's largest element; where grad computes in float32 and also runs in float64, its deviation from its
    float64 answer is measured instead (the exact rounding, signed: along a direction v it moves vᵀg by vᵀΔ, far
    less than Σ|vᵢΔᵢ|), and 16·eps of float64 stays for the rest."""
    forced = None if options.dtype is None else _eps(options.dtype)
    candidate_eps = max([_eps(g.dtype) for g in given.values()] + [forced or 0.0])
    upcast = any(isinstance(values[k], np.ndarray) and values[k].dtype != reference[k].dtype for k in values)
    f0 = f_given.astype(np.float64)
    f_eps = _eps(f_given.dtype)
    if upcast:
        try:
            f_ref = code.f(reference)
            if f_ref.dtype.kind in "fiub" and np.all(np.isfinite(f_ref)) and f_ref.shape == f_given.shape:
                f0, f_eps = f_ref.astype(np.float64), _eps(f_ref.dtype)
        except Exception:  # noqa: BLE001 -- code that only runs in its own precision keeps it
            pass
    f_eps = max(f_eps, forced or 0.0)
    deviation: dict[str, np.ndarray | None] = {v: None for v in given}
    if upcast and candidate_eps > EPS:
        try:
            with quiet():
                again = _gradients(code, code.gradient(**reference), wrt, shapes, f_given.shape)
            if all(again[v].dtype == np.float64 for v in wrt):
                deviation = {v: given[v].astype(np.float64) - again[v] for v in wrt}
        except Exception:  # noqa: BLE001 -- a grad that only runs in its own precision: the eps bound alone
            pass
    blanket = {v: 16 * (candidate_eps if deviation[v] is None else EPS) * float(np.abs(g.astype(np.float64)).max(initial=0.0))
               for v, g in given.items()}
    return f0, Precision(candidate_eps, f_eps), blanket, deviation


def _direction_check(code: UserCode, inputs, candidate: Candidate, f0: np.ndarray, precision: Precision,
                     options: FunctionOptions) -> GradientCheck:
    """Past the limits: random directions, and bisection to name the faulty elements."""
    use_complex = accepts_complex(code, inputs, candidate.var, candidate.gradient)
    probe = FunctionProbe(code, inputs, float(f0.reshape(-1)[0]), precision.f, use_complex)
    result = check_directions(probe, candidate, options.tolerances, options.directions, options.seed)
    return as_gradient_check(result, candidate, method="complex" if use_complex else "centered", candidate_name="your gradient")


def _yours(text: str | None) -> str | None:
    """The verdict texts speak of backprop; here the gradient under test is the user's grad."""
    return None if text is None else text.replace("backprop", "your gradient").replace("the derivative rule or backward pass", "your gradient")


def _variable(code: UserCode, inputs, item: _Variable, f0: np.ndarray, precision: Precision, options: FunctionOptions) -> GradientCheck:
    tol = options.tolerances
    evidence, dropped = _element_evidence(code, inputs, item, f0, precision, options)
    j = judge(evidence, tol, precision.candidate)
    evidence = evidence.broadcast()
    status = j.status
    var, gradient = item.var, item.gradient
    worst_index = np.unravel_index(int(np.argmax(status * 4.0 + np.nan_to_num(j.rel_error, posinf=3.0).clip(0, 3))), status.shape) if status.ndim else ()
    text = _yours(describe(j, evidence, worst_index, var, tol, KINK_TEXT)) if status.size else None
    if dropped:
        note = (f"the complex step was not used: at {dropped} element(s) the real differences contradict it, so f is "
                "not holomorphic (np.abs, np.sign, np.var, np.real or a complex maximum in f)")
        text = f"{text}; {note}" if text else note

    def col(a):
        a = np.asarray(a)
        return float(a) if a.ndim == 0 else a

    failing = tuple((tuple(int(i) for i in idx), SEVERITY[int(status[idx])],
                     _yours(describe(j, evidence, tuple(int(i) for i in idx), var, tol, KINK_TEXT)))
                    for idx in zip(*np.nonzero(status != PASS)))[:20] if status.ndim else ()
    has_complex = bool(np.isfinite(evidence.complex_step).any())
    return GradientCheck(var, col(gradient), col(evidence.forward), col(evidence.centered), col(evidence.richardson),
                         col(evidence.complex_step) if has_complex else None, None, None, None, col(j.rel_error), None,
                         col(evidence.error_estimate), col(j.left), col(j.right),
                         SEVERITY[int(status.max()) if status.ndim else int(status)], text, col(evidence.h_centered),
                         col(evidence.h_centered), col(j.best),
                         METHODS[int(np.asarray(j.best_method).reshape(-1)[0])] if not status.ndim else np.array(METHODS)[j.best_method],
                         gradient.shape, gradient.shape, np.array(SEVERITY)[status] if status.ndim else None,
                         tuple(int(i) for i in worst_index), failing)
