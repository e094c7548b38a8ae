"""The exact column: derivatives (and f, and the user's claims) at 50 digits or more, within a time budget.

Per case: the expression (and each claim) is lowered once into a scalar DAG; at each point the chain
method evaluates it at 50 digits with a bound on every value's rounding error (chain.py). Where the bound
proves that every float of the result is the true value's, that one precision is the answer; elsewhere
(cancellation can eat any fixed number of digits) it is evaluated at twice as many digits until two
precisions round to the same floats. Small scalar expressions also get SymPy's whole formula, printed
and evaluated (formula.py: the only place SymPy is imported). A derivative through a piecewise op
sitting exactly on its kink is not a number but a convention: it is reported as undecided (NaN), and
the one-sided slopes judge. One budget covers all points of a case.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import numpy as np
from mpmath.libmp import dps_to_prec, from_float, fzero, mpf_abs, mpf_add, mpf_mul, mpf_sub

from ..lang.expr import Expr
from . import SIZE_LIMIT, ExactResult, chain
from .raw import as_float
from .budget import BudgetExceeded, Deadline, time_budget  # noqa: F401  (BudgetExceeded and time_budget: the oracle's API)
from .lower import Dag, Definition, TooLarge, lift, lower, lower_into
from .rules import NotReal

DIGITS = 50
PRECISIONS = (DIGITS, 2 * DIGITS, 4 * DIGITS, 8 * DIGITS, 16 * DIGITS)
BITS = tuple(dps_to_prec(digits) for digits in PRECISIONS)  # the same in bits
WHOLE_EXPRESSION_LIMIT = 80  # nodes; above this the formula is unreadable and symbolic diff slow


@dataclass(frozen=True, slots=True)
class _Lowered:
    """A case lowered once for all its points and precisions."""

    dag: Dag
    output: np.ndarray  # object array of handles, the output's shape
    claims: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]
    outputs: list[int]  # the output's nodes, in C order
    claim_nodes: dict[str, list[int]]  # each claim's nodes, in C order


def _lower(source, shapes: Mapping[str, tuple[int, ...]], claims: Mapping[str, Expr],
           definitions: Mapping[str, Definition]) -> _Lowered:
    bindings = [(None, source)] if isinstance(source, Expr) else list(source)
    dag, output, leaves = lower(bindings, shapes, definitions, SIZE_LIMIT)
    outputs = [output.item().index] if output.shape == () else [h.index for h in output.reshape(-1)]
    if not claims:
        return _Lowered(dag, output, {}, dict(shapes), outputs, {})
    lowered_claims = {v: lift(dag, lower_into(dag, c, leaves, definitions)) for v, c in claims.items()}
    claim_nodes = {v: [h.index for h in c.reshape(-1)] for v, c in lowered_claims.items()}
    return _Lowered(dag, output, lowered_claims, dict(shapes), outputs, claim_nodes)


def _floats(values: list, shape: tuple[int, ...]) -> np.ndarray:
    """Raw mpf values as floats; NaN for None (undecided) and nan; +-inf past the float range (oracle.as_float)."""
    if shape == ():  # a scalar: no list to convert
        value = values[0]
        return np.array(math.nan if value is None else as_float(value))
    return np.array([math.nan if v is None else as_float(v) for v in values], dtype=np.float64).reshape(shape)


def _room(value: tuple, prec: int) -> tuple[float, int]:
    """(room, E): how far `value` may move, in units of 2**E (its mantissa widened to `prec` bits: the working
    precision's rounding of the moved value is at most one unit), and still round to float(value) after that
    rounding. That is the distance to the nearest boundary where float() rounds elsewhere, less one unit, less a
    margin for float arithmetic. room <= 0 where this quick reckoning does not apply (a tie; outside 2**-830 ..
    2**1000, where float() leaves the normal range or 2**E would not be normal; more bits than `prec`): there the
    exact test decides."""
    sign, man, exp, bc = value
    shift = prec - bc
    if not man or shift < 0 or prec < 60 or not prec - 1000 < exp + bc < 1000:
        return 0.0, 0
    low_bits = prec - 53  # what float() rounds away from the widened mantissa
    low = (man << shift) & ((1 << low_bits) - 1)
    half = 1 << (low_bits - 1)
    if low < half:  # rounds down; the boundary below is a quarter ulp away if the float is a power of two
        distance = min(low + (half >> 1), half - low)
    elif low > half:  # rounds up
        distance = low - half
    else:
        return 0.0, 0  # a tie: float() rounds to even, and the quick reckoning does not follow it
    return float(distance) * (1 - 1e-9) - 1.0, exp - shift  # float(distance): within 2**-53 of the integer


def _certified(value: tuple | None, error: float, prec: int) -> bool:
    """Whether every number within 4x the error bound of `value` rounds to the same float (so the true one does):
    float(value - margin) == float(value + margin) at `prec`. Most values are decided by _room (a sufficient
    condition: the margin and the rounding of value +- margin cannot reach a rounding boundary); the rest by the
    test itself."""
    if value is None:
        return True  # undecided: not a value
    if value == fzero:
        return error == 0
    room, unit = _room(value, prec)
    if room > 0 and 4 * error * (1 + 1e-9) < math.ldexp(room, unit):  # 2**unit is a normal float: exact
        return True
    margin = from_float(4 * error)
    return as_float(mpf_sub(value, margin, prec, "n")) == as_float(mpf_add(value, margin, prec, "n"))


def _certified_relative(value: tuple | None, relative: float, prec: int) -> bool:
    """_certified for a bound relative to |value|: margin |value|*4*relative."""
    if value is None:
        return True
    if value == fzero:
        return relative == 0
    scale = 4 * relative
    room, unit = _room(value, prec)
    if room > 0 and scale < 0.25 and float(value[1] << (prec - value[3])) * scale * (1 + 1e-9) < room:
        return True
    margin = mpf_mul(mpf_abs(value), from_float(scale), prec, "n")
    return as_float(mpf_sub(value, margin, prec, "n")) == as_float(mpf_add(value, margin, prec, "n"))


def _chain_at(lowered: _Lowered, point: Mapping[str, np.ndarray], wrt: tuple[str, ...], deadline: Deadline,
              prec: int, started: float | None = None) -> tuple[ExactResult, bool]:
    """The result at `prec` bits (its seconds counted from `started`), and whether the error bounds prove every
    float of it."""
    dag, shapes, outputs = lowered.dag, lowered.shapes, lowered.outputs
    fwd = chain.forward(dag, frozenset(wrt), point, deadline, prec)
    sizes = {v: math.prod(shapes[v]) for v in wrt}
    gathered: dict[str, list] = {v: [] for v in wrt}
    certain = fwd.errors is not None
    for output in outputs:
        values, bounds = chain.gradients(dag, fwd, output, sizes, deadline)
        certain = certain and bounds is not None
        for v in wrt:
            gathered[v].extend(values[v])
            if certain:
                for x, b in zip(values[v], bounds[v]):
                    if not _certified_relative(x, b, prec):
                        certain = False
                        break
    nodes, errors = fwd.values, fwd.errors
    if certain:
        certain = all(_certified(nodes[i], errors[i], prec) for i in outputs) and all(
            _certified(nodes[i], errors[i], prec) for c in lowered.claim_nodes.values() for i in c)
    out_shape = lowered.output.shape
    values, undecided = {}, {}
    for v in wrt:
        shape = out_shape + shapes[v]
        column = gathered[v]
        undecided[v] = np.array(column[0] is None) if shape == () else \
            np.array([x is None for x in column], dtype=bool).reshape(shape)
        values[v] = _floats(column, shape)
    value = _floats([nodes[i] for i in outputs], out_shape)
    claims = {v: _floats([nodes[i] for i in c], lowered.claims[v].shape) for v, c in lowered.claim_nodes.items()}
    seconds = 0.0 if started is None else time.perf_counter() - started
    return ExactResult(values, dict.fromkeys(wrt), "chain", None, value, claims, undecided, seconds), certain


def _stable(method: Callable[[int], tuple[ExactResult, bool]]) -> ExactResult:
    """At 50 digits, kept where the error bounds prove its floats; else twice as many digits until two precisions
    round to the same nonzero floats (up to 800). `method(prec)`: the result at `prec` bits."""
    previous = None
    for prec in BITS:
        result, certain = method(prec)
        if certain:
            break
        arrays = [*result.values.values(), result.value, *result.claims.values()]
        settled = all(np.all(a[np.isfinite(a)] != 0) for a in arrays if a is not None)  # 0 may be all digits cancelling
        if previous is not None and settled and all(
                np.array_equal(a, b, equal_nan=True) for a, b in zip(arrays, [*previous.values.values(), previous.value, *previous.claims.values()])):
            break
        previous = result
    return result


# --- the entry point --------------------------------------------------------------------------------------

def _skipped(wrt: tuple[str, ...], reason: str, seconds: float = 0.0) -> ExactResult:
    return ExactResult({n: None for n in wrt}, {n: None for n in wrt}, "skipped", f"skipped: {reason}", seconds=seconds)


def _undefined(wrt: tuple[str, ...], problem: BaseException) -> ExactResult:
    reason = "beyond the range of the exact evaluator" if isinstance(problem, (OverflowError, MemoryError)) else str(problem)
    return ExactResult({n: None for n in wrt}, {n: None for n in wrt}, "chain", f"undefined at this point: {reason}")


def exact_case(source, points: list[Mapping[str, np.ndarray]], wrt: tuple[str, ...], budget: float = 5.0,
               formula: bool = True, claims: Mapping[str, Expr] | None = None,
               definitions: Mapping[str, Definition] | None = None) -> list[ExactResult]:
    """Exact df/d(each of wrt), f and each claim at each point; `budget` seconds for all of them together.
    `source`: an Expr, or a program's forward bindings [(name, Expr)]; `definitions`: the user's functions.
    `formula`: SymPy's whole formula too, for a small scalar case (the only path that imports SymPy)."""
    started = time.perf_counter()
    deadline = Deadline(budget)
    shapes = {name: np.shape(value) for name, value in points[0].items()} if points else {}
    if sum([math.prod(s) for s in shapes.values()]) > SIZE_LIMIT:  # the inputs alone are too many
        return [_skipped(wrt, f"size (more than {SIZE_LIMIT:,} input elements)")] * len(points)
    lowered = None
    results: list[ExactResult] = []
    try:
        with time_budget(budget + 1.0) as alarm:  # one handler for the case: installing it costs more than a point
            lowered = _lower(source, shapes, claims or {}, definitions or {})
            why = _no_formula(lowered, wrt)  # said whether or not a formula was asked for: asking would not help
            symbolic = _symbolic(lowered, wrt, budget) if formula and why is None else None  # under SymPy's alarm
            alarm.reset(deadline.left() + 0.5)  # the backstop for work Deadline cannot see (mpmath's own loops)
            for point in points:
                result = _at_point(lowered, point, wrt, deadline, symbolic, started)
                results.append(replace(result, note=why) if why and result.method == "chain" and result.note is None else result)
    except BudgetExceeded:  # while lowering, or the alarm rang between two points
        if lowered is None:
            return [_skipped(wrt, "time budget", time.perf_counter() - started)] * len(points)
    except TooLarge:
        return [_skipped(wrt, f"size (more than {SIZE_LIMIT:,} scalar operations)", time.perf_counter() - started)] * len(points)
    if len(results) == len(points):
        return results
    return results + [_skipped(wrt, "time budget", time.perf_counter() - started)] * (len(points) - len(results))


def _no_formula(lowered: _Lowered, wrt: tuple[str, ...]) -> str | None:
    """Why a case asked for SymPy's formula gets none (its exact value is chained all the same), or None."""
    if lowered.output.shape != () or any(lowered.shapes[v] != () for v in wrt):
        return "chained at 50 digits, element by element (no formula for tensors)"
    if len(lowered.dag.ops) > WHOLE_EXPRESSION_LIMIT:
        return (f"chained at 50 digits (no formula past {WHOLE_EXPRESSION_LIMIT} operations: "
                f"this one has {len(lowered.dag.ops):,})")
    return None


def _symbolic(lowered: _Lowered, wrt: tuple[str, ...], budget: float):
    """SymPy's derivatives for a small scalar case (_no_formula says none other; SymPy imported here, and only
    here), else None (SymPy gave up: its own time budget)."""
    from . import formula

    return formula.derivatives(lowered.dag, lowered.output.reshape(-1)[0].index, lowered.shapes, wrt, budget)[0]


def _at_point(lowered: _Lowered, point, wrt, deadline: Deadline, symbolic, started: float) -> ExactResult:
    try:
        deadline.check()
        result = _stable(lambda prec: _chain_at(lowered, point, wrt, deadline, prec, started))
        if symbolic is None:
            return result  # its seconds taken as it was made
        from .formula import with_formulas

        result = with_formulas(result, symbolic, point, PRECISIONS)
    except BudgetExceeded:
        return _skipped(wrt, "time budget", time.perf_counter() - started)
    except (NotReal, ZeroDivisionError, OverflowError, MemoryError, ValueError) as problem:
        return _undefined(wrt, problem)
    return ExactResult(result.values, result.formulas, result.method, result.note, result.value, result.claims,
                       result.undecided, time.perf_counter() - started)
