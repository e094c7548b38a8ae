"""SymPy's whole formula of a small scalar case's derivatives: printed for the user, and evaluated at 50 digits
(then twice as many until two precisions round alike). The only module of the oracle that imports SymPy at
its top, and only `exact_case(formula=True)` on a small scalar case imports it."""

from __future__ import annotations

import mpmath
import numpy as np
import sympy

from . import ExactResult, as_float
from .budget import BudgetExceeded, time_budget
from .lower import Dag
from .sympy_ops import CONSTANTS, SYMPY_OPS, NotReal, evaluate, number

SYMBOLIC_BUDGET = 2.0  # seconds at most for the symbolic attempt, so a slow one leaves time for the chain method
FORMULA_LIMIT = 2000  # characters of a printed derivative kept

Derivatives = tuple[dict[str, sympy.Expr], dict[str, sympy.Symbol]]


def _symbolic(dag: Dag, output: int, names, wrt: tuple[str, ...]) -> Derivatives:
    symbols = {name: sympy.Symbol(name, real=True) for name in names}
    built: list[sympy.Expr] = []
    for op, args, payload in zip(dag.ops, dag.args, dag.payload):
        if op == "input":
            built.append(symbols[payload[0]])
        elif op == "num":
            built.append(number(payload))
        elif op == "const":
            built.append(CONSTANTS[payload])
        else:
            built.append(SYMPY_OPS[op](*(built[a] for a in args)))
    f = built[output]
    return {name: sympy.diff(f, symbols[name]) for name in wrt}, symbols


def derivatives(dag: Dag, output: int, names, wrt: tuple[str, ...], budget: float) -> tuple[Derivatives | None, list[str]]:
    """SymPy's derivatives of the node `output`, or None and why not."""
    try:
        with time_budget(min(budget, SYMBOLIC_BUDGET) if budget > 0 else SYMBOLIC_BUDGET):
            return _symbolic(dag, output, names, wrt), []
    except BudgetExceeded:
        return None, ["time budget"]
    except (RecursionError, ValueError, TypeError) as problem:  # SymPy refusing an expression: a missing column
        return None, ["too deep for SymPy" if isinstance(problem, RecursionError) else f"SymPy: {problem}"]


def _formula(derivative: sympy.Expr) -> str:
    text = str(derivative)
    return text if len(text) <= FORMULA_LIMIT else text[:FORMULA_LIMIT] + "…"


def with_formulas(result: ExactResult, symbolic: Derivatives, point, precisions: tuple[int, ...]) -> ExactResult:
    """The formulas, printed and evaluated (agreeing with the chain is how both are checked); undecided stays so."""
    derivatives_, symbols = symbolic
    env = {symbols[n]: float(np.asarray(point[n]).reshape(-1)[0]) for n in symbols}
    values, formulas = dict(result.values), {}
    for name, derivative in derivatives_.items():
        formulas[name] = None
        if result.undecided[name].any():
            continue
        try:
            value = _formula_value(derivative, env, precisions)
        except (NotReal, ZeroDivisionError, OverflowError, ValueError):
            continue  # 0**x's formula is 0**x*log(0): the chain's value stands, and no formula is shown
        if np.isfinite(value):
            values[name], formulas[name] = np.array(value), _formula(derivative)
    return ExactResult(values, formulas, "sympy", result.note, result.value, result.claims, result.undecided)


def _formula_value(derivative: sympy.Expr, env: dict, precisions: tuple[int, ...]) -> float:
    """The formula at 50 digits, then twice as many until two precisions round alike (1 - tanh(15)**2 cancels)."""
    previous = None
    for digits in precisions:
        with mpmath.workdps(digits):
            value = as_float(evaluate(derivative, {k: mpmath.mpf(v) for k, v in env.items()}))
        if previous is not None and value == previous and value != 0:
            break
        previous = value
    return value
