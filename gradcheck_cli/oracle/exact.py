"""The exact column: derivatives (and f, and the user's claims) at 50 digits or more, within a time budget.

Per case: the expression (and each claim) is lowered once into a scalar DAG; at each point the chain
method evaluates it at 50 digits, then at twice as many until two precisions round to the same floats
(cancellation can eat any fixed number of digits). Small scalar expressions also get SymPy's whole
formula, printed and evaluated. A derivative through a piecewise op sitting exactly on its kink is
not a number but a convention: it is reported as undecided (NaN), and the one-sided slopes judge.
One budget covers all points of a case.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping

import mpmath
import numpy as np
import sympy

from ..lang.expr import Expr
from . import chain
from .lower import Dag, Definition, TooLarge, lower, lower_into, _lift
from .sympy_ops import CONSTANTS, SYMPY_OPS, NotReal, evaluate, number

DIGITS = 50
PRECISIONS = (DIGITS, 2 * DIGITS, 4 * DIGITS, 8 * DIGITS, 16 * DIGITS)
WHOLE_EXPRESSION_LIMIT = 80  # nodes; above this the formula is unreadable and symbolic diff slow
SYMBOLIC_BUDGET = 2.0  # seconds at most for the symbolic attempt, so a slow one leaves time for the chain method
FORMULA_LIMIT = 2000  # characters of a printed derivative kept
from .limits import SIZE_LIMIT
from .result import ExactResult


class BudgetExceeded(Exception):
    pass


class Deadline:
    """A time limit checked between nodes: works off the main thread, where SIGALRM cannot."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds if seconds > 0 else float("inf")

    def check(self) -> None:
        if time.perf_counter() > self.end:
            raise BudgetExceeded()

    def left(self) -> float:
        return self.end - time.perf_counter()


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise BudgetExceeded inside whatever runs longer than `seconds` (SIGALRM; main thread only: SymPy's own
    loops are not ours to check, so this is the backstop; elsewhere Deadline.check does the work)."""
    if not 0 < seconds < 1e6 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise BudgetExceeded()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True, slots=True)
class _Lowered:
    dag: Dag
    output: np.ndarray  # object array of handles, the output's shape
    claims: dict[str, np.ndarray]
    shapes: dict[str, tuple[int, ...]]


def _lower(source, shapes: Mapping[str, tuple[int, ...]], claims: Mapping[str, Expr],
           definitions: Mapping[str, Definition]) -> _Lowered:
    bindings = [(None, source)] if isinstance(source, Expr) else list(source)
    dag, output, leaves = lower(bindings, shapes, definitions, SIZE_LIMIT)
    lowered_claims = {v: _lift(dag, lower_into(dag, c, leaves, definitions)) for v, c in claims.items()}
    return _Lowered(dag, output, lowered_claims, dict(shapes))


def _float(value) -> float:
    if value is None:
        return float("nan")
    result = float(value)  # past the float range: ±inf, which the judge calls an error (float64's f is not f there)
    return result if not np.isnan(result) else float("nan")


def _floats(array: np.ndarray) -> np.ndarray:
    return np.vectorize(_float, otypes=[np.float64])(array) if array.size else np.zeros(array.shape)


def _chain_at(lowered: _Lowered, point: Mapping[str, np.ndarray], wrt: tuple[str, ...], deadline: Deadline) -> ExactResult:
    fwd = chain.forward(lowered.dag, frozenset(wrt), point, deadline)
    out = lowered.output
    per_output = [chain.gradients(lowered.dag, fwd, h.index, {v: lowered.shapes[v] for v in wrt}, deadline)
                  for h in out.reshape(-1)]
    values, undecided = {}, {}
    for v in wrt:
        stacked = np.stack([g[v] for g in per_output]).reshape(out.shape + lowered.shapes[v])
        undecided[v] = np.vectorize(lambda x: x is None, otypes=[bool])(stacked) if stacked.size else np.zeros(stacked.shape, bool)
        values[v] = _floats(stacked)
    value = _floats(np.array([fwd.values[h.index] for h in out.reshape(-1)], dtype=object).reshape(out.shape))
    claims = {v: _floats(np.array([fwd.values[h.index] for h in c.reshape(-1)], dtype=object).reshape(c.shape))
              for v, c in lowered.claims.items()}
    return ExactResult(values, {v: None for v in wrt}, "chain", None, value, claims, undecided)


def _stable(method: Callable[[], ExactResult]) -> ExactResult:
    """At 50 digits, then twice as many until two precisions round to the same nonzero floats (up to 800)."""
    previous = None
    for digits in PRECISIONS:
        with mpmath.workdps(digits):
            result = method()
        arrays = [*result.values.values(), result.value, *result.claims.values()]
        settled = all(np.all(a[np.isfinite(a)] != 0) for a in arrays if a is not None)  # 0 may be all digits cancelling
        if previous is not None and settled and all(
                np.array_equal(a, b, equal_nan=True) for a, b in zip(arrays, [*previous.values.values(), previous.value, *previous.claims.values()])):
            break
        previous = result
    return result


# --- the whole-expression formula, for small scalar cases -------------------------------------------------

def _symbolic(lowered: _Lowered, wrt: tuple[str, ...]) -> tuple[dict[str, sympy.Expr], dict[str, sympy.Symbol]]:
    symbols = {name: sympy.Symbol(name, real=True) for name in lowered.shapes}
    built: list[sympy.Expr] = []
    dag = lowered.dag
    for op, args, payload in zip(dag.ops, dag.args, dag.payload):
        if op == "input":
            built.append(symbols[payload[0]])
        elif op == "num":
            built.append(number(payload))
        elif op == "const":
            built.append(CONSTANTS[payload])
        else:
            built.append(SYMPY_OPS[op](*(built[a] for a in args)))
    f = built[lowered.output.reshape(-1)[0].index]
    return {name: sympy.diff(f, symbols[name]) for name in wrt}, symbols


def _formula(derivative: sympy.Expr) -> str:
    text = str(derivative)
    return text if len(text) <= FORMULA_LIMIT else text[:FORMULA_LIMIT] + "…"


def _with_formulas(result: ExactResult, derivatives: dict[str, sympy.Expr], symbols, point) -> ExactResult:
    """The formulas, printed and evaluated (agreeing with the chain is how both are checked); undecided stays so."""
    env = {symbols[n]: float(np.asarray(point[n]).reshape(-1)[0]) for n in symbols}
    values, formulas = dict(result.values), {}
    for name, derivative in derivatives.items():
        formulas[name] = None
        if result.undecided[name].any():
            continue
        try:
            value = _formula_value(derivative, env)
        except (NotReal, ZeroDivisionError, OverflowError, ValueError):
            continue  # 0**x's formula is 0**x*log(0): the chain's value stands, and no formula is shown
        if np.isfinite(value):
            values[name], formulas[name] = np.array(value), _formula(derivative)
    return ExactResult(values, formulas, "sympy", result.note, result.value, result.claims, result.undecided)


def _formula_value(derivative: sympy.Expr, env: dict) -> float:
    """The formula at 50 digits, then twice as many until two precisions round alike (1 - tanh(15)**2 cancels)."""
    previous = None
    for digits in PRECISIONS:
        with mpmath.workdps(digits):
            value = _float(evaluate(derivative, {k: mpmath.mpf(v) for k, v in env.items()}))
        if previous is not None and value == previous and value != 0:
            break
        previous = value
    return value


def _try_symbolic(lowered: _Lowered, wrt: tuple[str, ...], budget: float):
    scalar = lowered.output.shape == () and all(lowered.shapes[v] == () for v in wrt)
    if not scalar or len(lowered.dag.ops) > WHOLE_EXPRESSION_LIMIT:
        return None, []
    try:
        with time_budget(min(budget, SYMBOLIC_BUDGET) if budget > 0 else SYMBOLIC_BUDGET):
            return _symbolic(lowered, wrt), []
    except BudgetExceeded:
        return None, ["time budget"]
    except (RecursionError, ValueError, TypeError) as problem:  # SymPy refusing an expression: a missing column
        return None, ["too deep for SymPy" if isinstance(problem, RecursionError) else f"SymPy: {problem}"]


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
    `source`: an Expr, or a program's forward bindings [(name, Expr)]; `definitions`: the user's functions."""
    started = time.perf_counter()
    deadline = Deadline(budget)
    shapes = {name: np.shape(value) for name, value in points[0].items()} if points else {}
    if sum(int(np.prod(s, dtype=np.int64)) for s in shapes.values()) > SIZE_LIMIT:  # the inputs alone are too many
        return [_skipped(wrt, f"size (more than {SIZE_LIMIT:,} input elements)")] * len(points)
    try:
        with time_budget(budget + 1.0):
            lowered = _lower(source, shapes, claims or {}, definitions or {})
    except BudgetExceeded:
        return [_skipped(wrt, "time budget", time.perf_counter() - started)] * len(points)
    except TooLarge:
        return [_skipped(wrt, f"size (more than {SIZE_LIMIT:,} scalar operations)", time.perf_counter() - started)] * len(points)
    symbolic, reasons = _try_symbolic(lowered, wrt, budget) if formula else (None, [])
    results = []
    for point in points:
        results.append(_at_point(lowered, point, wrt, deadline, symbolic, started))
    return results


def _at_point(lowered: _Lowered, point, wrt, deadline: Deadline, symbolic, started: float) -> ExactResult:
    try:
        deadline.check()
        with time_budget(deadline.left() + 0.5):  # the backstop for work Deadline cannot see
            result = _stable(lambda: _chain_at(lowered, point, wrt, deadline))
        if symbolic is not None:
            result = _with_formulas(result, *symbolic, point)
    except BudgetExceeded:
        return _skipped(wrt, "time budget", time.perf_counter() - started)
    except (NotReal, ZeroDivisionError, OverflowError, MemoryError, ValueError) as problem:
        return _undefined(wrt, problem)
    return ExactResult(result.values, result.formulas, result.method, result.note, result.value, result.claims,
                       result.undecided, time.perf_counter() - started)
