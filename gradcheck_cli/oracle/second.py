"""Exact second derivatives: the Hessian of a scalar f at 50 digits or more, forward-over-reverse in mpmath.

Independent of the rule table, as the first-order oracle is: the expression is lowered to scalar operations by
numpy's own semantics (lower.py), each operation's first and second partials are rules.py's mpmath formulas
(each tested against SymPy's diff of its definition), and the chain runs here. Per input element e: the forward
tangents along e (Σ partial·tangent), then the tangent of every adjoint (upstream's tangent·partial + upstream·Σ
second partial·tangent); the tangents of the inputs' adjoints are column e of H. There is no running error bound
here: the Hessian is taken at 50 and 100 digits (then 200, ...) until two precisions round to the same floats.

At a piecewise operation sitting exactly on its kink, anything that flows through it is undecided (NaN): its slope
there is a convention, and its second derivative a Dirac delta. One time budget covers every point of a case.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Mapping

import mpmath
import numpy as np

from ..lang.expr import Expr
from . import chain
from .budget import BudgetExceeded, Deadline, time_budget
from . import SIZE_LIMIT
from .lower import Dag, Definition, TooLarge, lower
from .rules import NotReal

PRECISIONS = (50, 100, 200, 400, 800)
WORK_LIMIT = 4_000_000  # node visits (scalar operations x input elements) of one point's Hessian at most


@dataclass(frozen=True, slots=True)
class ExactHessian:
    """The exact Hessian at one point (or why there is none)."""

    values: np.ndarray | None  # (n, n) over the flattened variables; NaN where a kink leaves an entry undecided
    note: str | None = None  # why there are no values
    seconds: float = 0.0


def _pair(i: int, j: int, arity: int) -> int:
    low, high = min(i, j), max(i, j)
    return low * arity - low * (low - 1) // 2 + (high - low)


class _Point:
    """One point's forward values and adjoints, with each node's partials computed once for every column."""

    def __init__(self, dag: Dag, wrt: frozenset[str], point, output: int, deadline: Deadline):
        self.dag, self.deadline, self.output = dag, deadline, output
        fwd = self.fwd = chain.forward(dag, wrt, point, deadline)
        adjoint, self.undecided, _ = chain.adjoints(dag, fwd, output, deadline)
        self.values = [chain.as_mpf(v) for v in fwd.values]  # the chain's raw tuples as objects: rules.py's formulas
        self.aux = [chain.as_mpf(v) for v in fwd.aux]
        self.adjoint = [chain.as_mpf(v) for v in adjoint]
        self.partials: dict[int, list] = {}
        self.seconds: dict[int, list] = {}

    def _env(self, index: int) -> tuple:
        values = self.values
        return tuple([values[a] for a in self.dag.args[index]])

    def partial(self, index: int, k: int):
        cached = self.partials.get(index)
        if cached is None:
            rule, env = self.fwd.rules[index].rule, self._env(index)
            y, aux = self.values[index], self.aux[index]
            cached = self.partials[index] = [p(env, y, aux) for p in rule.partials]
        return cached[k]

    def second(self, index: int, k: int, m: int):
        cached = self.seconds.get(index)
        if cached is None:
            rule, env = self.fwd.rules[index].rule, self._env(index)
            y, aux = self.values[index], self.aux[index]
            cached = self.seconds[index] = [s(env, y, aux) for s in rule.seconds]
        return cached[_pair(k, m, len(self.dag.args[index]))]

    def tangents(self, start: int) -> tuple[dict[int, mpmath.mpf], set[int]]:
        """Every node's tangent along input node `start` (nonzero ones), and the nodes whose tangent a kink leaves
        undecided."""
        dag, fwd = self.dag, self.fwd
        tangent: dict[int, mpmath.mpf] = {start: mpmath.mpf(1)}
        unsure: set[int] = set()
        for index in range(start + 1, self.output + 1):
            if not index & 1023:
                self.deadline.check()
            args = dag.args[index]
            if not args or not any(a in tangent or a in unsure for a in args):
                continue
            if fwd.tied[index] or any(a in unsure for a in args):
                unsure.add(index)  # the slope of a kink at its corner is a convention, not a number
                continue
            total = mpmath.mpf(0)
            for k, a in enumerate(args):
                t = tangent.get(a)
                if t is not None:
                    total += self.partial(index, k) * t
            if total:
                tangent[index] = total
        return tangent, unsure

    def column(self, start: int, inputs: list[int]) -> list:
        """Column `start` of H: d(adjoint of each input)/d(start), None where a kink leaves it undecided."""
        dag, fwd, adjoint, undecided = self.dag, self.fwd, self.adjoint, self.undecided
        tangent, unsure = self.tangents(start)
        moved: dict[int, mpmath.mpf] = {}
        lost: set[int] = set()
        for index in range(self.output, -1, -1):
            if not index & 1023:
                self.deadline.check()
            args = dag.args[index]
            if not args or not fwd.depends[index]:
                continue
            upstream_tangent = moved.get(index)
            curved = [m for m, b in enumerate(args) if b in tangent or b in unsure]
            if upstream_tangent is None and index not in lost and not curved:
                continue
            if fwd.tied[index]:
                if upstream_tangent is not None or index in lost or adjoint[index] or undecided[index] or fwd.rules[index].rule.jumps:
                    lost.update(a for a in args if fwd.depends[a])
                continue
            gradient = adjoint[index]
            for k, a in enumerate(args):
                if not fwd.depends[a]:
                    continue
                unknown = index in lost
                term = mpmath.mpf(0)
                if upstream_tangent is not None:
                    term += upstream_tangent * self.partial(index, k)
                for m in curved:
                    s = self.second(index, k, m)
                    if not s:
                        continue
                    b = args[m]
                    if b in unsure or undecided[index]:
                        unknown = True
                    elif gradient:
                        term += gradient * s * tangent[b]
                if unknown:
                    lost.add(a)
                if term:
                    moved[a] = moved.get(a, mpmath.mpf(0)) + term
        return [None if i in lost else moved.get(i, mpmath.mpf(0)) for i in inputs]


def _as_float(value) -> float:
    if value is None:
        return math.nan
    result = float(value)
    return result if result == result else math.nan


def _at(dag: Dag, output: int, inputs: list[int], wrt: tuple[str, ...], point, deadline: Deadline) -> np.ndarray:
    """H at the working precision, as floats (columns are d/d(input i) of the gradient)."""
    state = _Point(dag, frozenset(wrt), point, output, deadline)
    columns = [state.column(i, inputs) for i in inputs]
    return np.array([[_as_float(v) for v in column] for column in columns], dtype=np.float64).T


def _stable(dag: Dag, output: int, inputs: list[int], wrt, point, deadline: Deadline) -> np.ndarray:
    previous = None
    for digits in PRECISIONS:
        with mpmath.workdps(digits):
            result = _at(dag, output, inputs, wrt, point, deadline)
        if previous is not None and np.array_equal(result, previous, equal_nan=True):
            return result
        previous = result
    return result


def exact_hessians(source, points: list[Mapping[str, np.ndarray]], wrt: tuple[str, ...], budget: float = 5.0,
                   definitions: Mapping[str, Definition] | None = None) -> list[ExactHessian]:
    """The exact Hessian of a scalar f over the flattened variables of `wrt` at each point; `budget` seconds for all
    of them. `source`: an Expr, or a program's forward bindings [(name, Expr)]; `definitions`: the user's gates."""
    started = time.perf_counter()
    deadline = Deadline(budget)
    shapes = {name: np.shape(value) for name, value in points[0].items()} if points else {}

    def skipped(reason: str) -> list[ExactHessian]:
        return [ExactHessian(None, f"skipped: {reason}", time.perf_counter() - started)] * len(points)

    if sum(math.prod(s) for s in shapes.values()) > SIZE_LIMIT:
        return skipped(f"size (more than {SIZE_LIMIT:,} input elements)")
    try:
        with time_budget(budget + 1.0):
            bindings = [(None, source)] if isinstance(source, Expr) else list(source)
            dag, output, leaves = lower(bindings, shapes, definitions or {}, SIZE_LIMIT)
    except BudgetExceeded:
        return skipped("time budget")
    except TooLarge:
        return skipped(f"size (more than {SIZE_LIMIT:,} scalar operations)")
    if output.size != 1:
        return [ExactHessian(None, "f is not a scalar: a Hessian needs one")] * len(points)
    inputs = [h.index for v in wrt for h in np.asarray(leaves[v]).reshape(-1)]
    if len(dag.ops) * len(inputs) > WORK_LIMIT:
        return skipped(f"size ({len(dag.ops):,} scalar operations times {len(inputs):,} elements)")
    out = output.reshape(-1)[0].index
    results: list[ExactHessian] = []
    try:
        with time_budget(deadline.left() + 0.5):
            for point in points:
                results.append(_one(dag, out, inputs, wrt, point, deadline, started))
    except BudgetExceeded:
        pass
    return results + skipped("time budget")[:len(points) - len(results)]


def _one(dag: Dag, output: int, inputs: list[int], wrt, point, deadline: Deadline, started: float) -> ExactHessian:
    try:
        deadline.check()
        values = _stable(dag, output, inputs, wrt, point, deadline)
    except BudgetExceeded:
        return ExactHessian(None, "skipped: time budget", time.perf_counter() - started)
    except (NotReal, ZeroDivisionError, OverflowError, MemoryError, ValueError) as problem:
        reason = "beyond the range of the exact evaluator" if isinstance(problem, (OverflowError, MemoryError)) else str(problem)
        return ExactHessian(None, f"undefined at this point: {reason}", time.perf_counter() - started)
    return ExactHessian(values, None, time.perf_counter() - started)
