"""Expr → SymPy → exact derivatives at 50 digits: the independent oracle.

This module never imports gates.py: its counterparts of each operation are SymPy's own functions,
and every derivative comes from `sympy.diff`. Two methods:
  * "sympy": the whole expression is differentiated symbolically (gives the formula); used while
    it fits the time budget;
  * "chain": for expressions too large for that, SymPy differentiates each operation's definition
    once, and those local derivatives are chained through the tree in 50-digit mpmath (linear time).
Evaluation never goes through code generation: a small iterative evaluator maps SymPy nodes to mpmath.
"""

from __future__ import annotations

import functools
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator

import mpmath
import sympy

from .parser import Expr

DIGITS = 50
WHOLE_EXPRESSION_LIMIT = 80  # nodes; above this the formula is unreadable and symbolic diff slow: the chain method takes over
SYMBOLIC_BUDGET = 2.0  # seconds at most for the symbolic attempt, so a slow one leaves time for the chain method
FORMULA_LIMIT = 2000  # characters of a printed derivative kept


class sigma(sympy.Function):
    """The logistic function, opaque to SymPy so nested sigmoids stay small; its derivative comes from its definition."""

    @staticmethod
    def definition(t: sympy.Expr) -> sympy.Expr:
        return 1 / (1 + sympy.exp(-t))

    # declared, not derived: asking SymPy about the argument costs seconds on mid-size trees, and gradcheck
    # only evaluates sigma where the float forward pass found a real argument; Max/Min compare through these
    is_extended_real = True
    is_real = True
    is_positive = True

    def _eval_evalf(self, prec: int) -> sympy.Expr:
        return self.definition(self.args[0])._eval_evalf(prec)

    def fdiff(self, argindex: int = 1) -> sympy.Expr:
        return _sigma_derivative().xreplace({_T: self.args[0]})


_T = sympy.Dummy("t", real=True)


@functools.cache  # derived once (diff + subs per use cost ~10 ms), and only by expressions that use sigma
def _sigma_derivative() -> sympy.Expr:
    return sympy.diff(sigma.definition(_T), _T)


# SymPy counterpart of each operation (independent of gates.py).
SYMPY_OPS: dict[str, Callable[..., sympy.Expr]] = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "pow": lambda a, b: a ** b,
    "neg": lambda a: -a,
    "sigma": sigma,
    "exp": sympy.exp,
    "log": sympy.log,
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "tanh": sympy.tanh,
    "relu": lambda a: sympy.Max(0, a),
    "abs": sympy.Abs,
    "max": sympy.Max,
    "min": sympy.Min,
}
_CONSTANTS = {"pi": sympy.pi, "e": sympy.E}


class BudgetExceeded(Exception):
    pass


class NotReal(Exception):
    """The derivative is undefined or not a finite real number at the point."""


@dataclass(frozen=True, slots=True)
class ExactResult:
    values: dict[str, float | None]
    formulas: dict[str, str | None]
    method: str  # "sympy", "chain" or "skipped"
    note: str | None = None  # why a value is missing
    seconds: float = 0.0


@contextmanager
def time_budget(seconds: float) -> Iterator[None]:
    """Raise BudgetExceeded inside whatever runs longer than `seconds` (SIGALRM; main thread only)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
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


def number(value: float) -> sympy.Expr:
    """The literal the user typed: 0.1 means 1/10, not the nearest double."""
    if value == int(value) and abs(value) < 2 ** 53:
        return sympy.Integer(int(value))
    return sympy.Rational(repr(value))


@functools.lru_cache(maxsize=4096)  # sympy.Rational parses the decimal: too slow to repeat per node and precision
def _fraction(value: float) -> tuple[int, int]:
    rational = number(value)
    return int(rational.p), int(rational.q)


def to_sympy(expr: Expr) -> tuple[sympy.Expr, dict[str, sympy.Symbol]]:
    """Build the SymPy expression from the parsed tree (never from the user's text)."""
    symbols = {name: sympy.Symbol(name, real=True) for name in expr.variables}
    built: list[sympy.Expr] = []
    for node in expr.nodes:
        if node.op == "var":
            built.append(symbols[node.name])
        elif node.op == "num":
            built.append(number(node.value))
        elif node.op == "const":
            built.append(_CONSTANTS[node.name])
        else:
            built.append(SYMPY_OPS[node.op](*(built[a] for a in node.args)))
    return built[-1], symbols


# --- evaluation in mpmath, iteratively, without code generation -------------------------------------

def _heaviside(x: mpmath.mpf, h0: mpmath.mpf | None = None) -> mpmath.mpf:
    if x > 0:
        return mpmath.mpf(1)
    if x < 0:
        return mpmath.mpf(0)
    return h0 if h0 is not None else mpmath.mpf(1) / 2


def _real(value: object) -> mpmath.mpf:
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            raise NotReal("not a real number")
        value = value.real
    if not mpmath.isfinite(value):
        raise NotReal("not finite")
    return value


def _log(x: mpmath.mpf) -> mpmath.mpf:
    if x <= 0:
        raise NotReal("log of a non-positive number")
    return mpmath.log(x)


def _power(base: mpmath.mpf, exponent: mpmath.mpf) -> mpmath.mpf:
    if base == 0 and exponent < 0:
        raise NotReal("division by zero")
    return _real(mpmath.power(base, exponent))


def _tan(x: mpmath.mpf) -> mpmath.mpf:
    return _real(mpmath.tan(x))


_APPLY: dict[type, Callable[..., mpmath.mpf]] = {
    sympy.Add: lambda *a: a[0] + a[1] if len(a) == 2 else mpmath.fsum(a),  # each rounds once
    sympy.Mul: lambda *a: a[0] * a[1] if len(a) == 2 else mpmath.fprod(a),
    sympy.Pow: _power,
    sympy.exp: mpmath.exp,
    sympy.log: _log,
    sympy.sin: mpmath.sin,
    sympy.cos: mpmath.cos,
    sympy.tan: _tan,
    sympy.tanh: mpmath.tanh,
    sympy.Abs: abs,
    sympy.sign: lambda x: mpmath.mpf(mpmath.sign(x)),
    sympy.Heaviside: _heaviside,
    sympy.Max: lambda *a: max(a),
    sympy.Min: lambda *a: min(a),
    sigma: lambda x: 1 / (1 + mpmath.exp(-x)),
}


def _leaf_value(node: sympy.Basic, env: dict[sympy.Basic, mpmath.mpf]) -> mpmath.mpf:
    if node in env:
        return env[node]
    if node.is_Rational:
        return mpmath.mpf(node.p) / node.q
    if node.is_Float:
        return mpmath.mpf(node._mpf_)
    if node is sympy.pi:
        return +mpmath.pi
    if node is sympy.E:
        return mpmath.e + 0
    if node in (sympy.nan, sympy.zoo, sympy.oo, -sympy.oo):
        raise NotReal("not finite")
    raise NotReal(f"no numeric value for {type(node).__name__}")


def evaluate(expression: sympy.Basic, env: dict[sympy.Basic, mpmath.mpf]) -> mpmath.mpf:
    """Value of a SymPy expression at `env` (symbols → mpf), walking its DAG with an explicit stack."""
    done: dict[sympy.Basic, mpmath.mpf] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(expression, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if not node.args or node in env:
            done[node] = _leaf_value(node, env)
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in done)
            continue
        apply = _APPLY.get(type(node)) or next((f for t, f in _APPLY.items() if isinstance(node, t)), None)
        if apply is None:
            raise NotReal(f"no numeric value for {type(node).__name__}")
        done[node] = _real(apply(*(done[a] for a in node.args)))
    return done[expression]


# --- the two methods ---------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Symbolic:
    """The whole expression's derivatives, their printed formulas and the symbols to evaluate them at."""

    derivatives: dict[str, sympy.Expr]
    formulas: dict[str, str]
    symbols: dict[str, sympy.Symbol]


def _derivatives(expr: Expr, wrt: tuple[str, ...]) -> _Symbolic:
    f, symbols = to_sympy(expr)
    derivatives = {name: sympy.diff(f, symbols[name]) for name in wrt}
    return _Symbolic(derivatives, {n: _formula(d) for n, d in derivatives.items()}, symbols)


def _formula(derivative: sympy.Expr) -> str:
    text = str(derivative)
    return text if len(text) <= FORMULA_LIMIT else text[:FORMULA_LIMIT] + "…"


def _evaluate_derivatives(symbolic: _Symbolic, point: dict[str, float]) -> ExactResult:
    env = {symbolic.symbols[name]: mpmath.mpf(point[name]) for name in symbolic.symbols}
    values: dict[str, float | None] = {}
    notes = []
    for name, derivative in symbolic.derivatives.items():
        try:
            values[name] = float(evaluate(derivative, env))
        except (NotReal, ZeroDivisionError) as problem:
            values[name] = None
            notes.append(f"d/d{name}: {problem}")
    return ExactResult(values, dict(symbolic.formulas), "sympy", "; ".join(notes) or None)


_ARITY = {"neg": 1, "add": 2, "sub": 2, "mul": 2, "div": 2, "pow": 2, "max": 2, "min": 2}
Compiled = Callable[[tuple], mpmath.mpf]


def compile_template(template: sympy.Expr, arguments: tuple[sympy.Symbol, ...]) -> Compiled:
    """A small SymPy formula in `arguments` → a function of their values (closures, no code generation)."""
    built: dict[sympy.Basic, Compiled] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(template, False)]
    while stack:
        node, expanded = stack.pop()
        if node in built:
            continue
        if node in arguments:
            k = arguments.index(node)
            built[node] = lambda env, k=k: env[k]
        elif node.is_Integer:  # exact at every precision
            built[node] = lambda env, c=mpmath.mpf(int(node)): c
        elif not node.args:  # evaluated when called: a rule compiled at 50 digits may run at 800
            built[node] = lambda env, c=node: _leaf_value(c, {})
        elif not expanded:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in built)
        else:
            apply = _APPLY.get(type(node)) or next((f for t, f in _APPLY.items() if isinstance(node, t)), None)
            if apply is None:
                raise NotReal(f"no numeric value for {type(node).__name__}")
            children = tuple(built[a] for a in node.args)
            if len(children) == 1:  # closures by arity: the chain method calls these once per node per precision
                built[node] = lambda env, f=apply, c=children[0]: _real(f(c(env)))
            elif len(children) == 2:
                built[node] = lambda env, f=apply, c=children[0], d=children[1]: _real(f(c(env), d(env)))
            else:
                built[node] = lambda env, f=apply, cs=children: _real(f(*[c(env) for c in cs]))
    return built[template]


@dataclass(frozen=True, slots=True)
class _LocalRule:
    value: Compiled
    partials: tuple[Compiled, ...]


@functools.lru_cache(maxsize=1024)  # a pure function of its key: each process derives a rule once, not once per line
def _local_rule(op: str, exponent: float | None) -> _LocalRule:
    """SymPy differentiates the operation's definition (sigma through its definition; a constant power as such)."""
    arguments = tuple(sympy.Symbol(f"t{k}", real=True) for k in range(_ARITY.get(op, 1)))
    if exponent is not None:  # x**2 as t0**2: d/dt0 = 2*t0, defined at 0 (t0**t1*t1/t0 is not)
        value = arguments[0] ** number(exponent)
        partials = (sympy.diff(value, arguments[0]), sympy.Integer(0))
    else:
        value = SYMPY_OPS[op](*arguments)
        definition = sigma.definition(arguments[0]) if op == "sigma" else value
        partials = tuple(sympy.diff(definition, t) for t in arguments)
    return _LocalRule(compile_template(value, arguments), tuple(compile_template(p, arguments) for p in partials))


def _rule_key(expr: Expr, index: int) -> tuple[str, float | None]:
    node = expr.nodes[index]
    if node.op == "pow" and expr.nodes[node.args[1]].op == "num":
        return "pow", expr.nodes[node.args[1]].value
    return node.op, None


def _arguments(values: list[mpmath.mpf], args: tuple[int, ...]) -> tuple[mpmath.mpf, ...]:
    return (values[args[0]],) if len(args) == 1 else (values[args[0]], values[args[1]])


def _chain(expr: Expr, point: dict[str, float], wrt: tuple[str, ...]) -> ExactResult:
    """Forward values and adjoints in 50-digit mpmath, each node through its SymPy-derived local rule."""
    nodes = expr.nodes
    depends = [False] * len(nodes)
    values: list[mpmath.mpf] = []
    keys: list[tuple[str, float | None] | None] = []
    for index, node in enumerate(nodes):
        key = None
        if node.op == "var":
            values.append(mpmath.mpf(point[node.name]))
            depends[index] = True
        elif node.op == "num":
            numerator, denominator = _fraction(node.value)
            values.append(mpmath.mpf(numerator) if denominator == 1 else mpmath.mpf(numerator) / denominator)
        elif node.op == "const":
            values.append(_leaf_value(_CONSTANTS[node.name], {}))
        else:
            key = _rule_key(expr, index)
            values.append(_local_rule(*key).value(_arguments(values, node.args)))
            depends[index] = any(depends[a] for a in node.args)
        keys.append(key)
    adjoint: list[mpmath.mpf] = [mpmath.mpf(0)] * len(nodes)
    adjoint[-1] = mpmath.mpf(1)
    for index in range(len(nodes) - 1, -1, -1):
        node = nodes[index]
        if not node.args or adjoint[index] == 0:
            continue
        rule = _local_rule(*keys[index])
        env = _arguments(values, node.args)
        for partial, a in zip(rule.partials, node.args):
            if depends[a]:
                adjoint[a] += adjoint[index] * partial(env)
    totals = {name: mpmath.mpf(0) for name in wrt}  # summed at 50 digits, rounded to float once
    for index, node in enumerate(nodes):
        if node.op == "var" and node.name in totals:
            totals[node.name] += adjoint[index]
    return ExactResult({name: float(total) for name, total in totals.items()}, {name: None for name in wrt}, "chain")


def _skipped(wrt: tuple[str, ...], reasons: list[str], seconds: float) -> ExactResult:
    why = ", ".join(dict.fromkeys(reasons)) or "time budget"
    return ExactResult({n: None for n in wrt}, {n: None for n in wrt}, "skipped", f"skipped: {why}", seconds)


_SYMPY_TROUBLE = (RecursionError, ValueError, TypeError)  # SymPy refusing an expression: a missing column, not a crash


def _trouble(problem: BaseException) -> str:
    return "too deep for SymPy" if isinstance(problem, RecursionError) else f"SymPy: {problem}"


def _symbolic(expr: Expr, wrt: tuple[str, ...], budget: float) -> tuple[_Symbolic | None, list[str]]:
    """(derivatives, symbols) of the whole expression when it is small enough and fits the budget."""
    if len(expr.nodes) > WHOLE_EXPRESSION_LIMIT:
        return None, []
    try:
        with time_budget(min(budget, SYMBOLIC_BUDGET) if budget > 0 else SYMBOLIC_BUDGET):
            return _derivatives(expr, wrt), []
    except BudgetExceeded:
        return None, ["time budget"]
    except _SYMPY_TROUBLE as problem:
        return None, [_trouble(problem)]


def _stable(method: Callable[[], ExactResult]) -> ExactResult:
    """Evaluate at 50 digits, then at twice as many until two precisions round to the same nonzero floats
    (up to 800 digits): cancellation (1 - tanh(60)**2 needs 70 digits) can eat any fixed number of digits."""
    previous = None
    for digits in (DIGITS, 2 * DIGITS, 4 * DIGITS, 8 * DIGITS, 16 * DIGITS):
        with mpmath.workdps(digits):
            result = method()
        settled = all(v != 0 for v in result.values.values() if v is not None)  # 0 may be all digits cancelling
        if previous is not None and previous.values == result.values and settled:
            break
        previous = result
    return result


def _at_point(expr: Expr, point: dict[str, float], wrt: tuple[str, ...], symbolic: _Symbolic | None,
              reasons: list[str], budget: float) -> ExactResult:
    """The symbolic derivative evaluated at `point`, else the chain method, each within `budget` seconds."""
    started = time.perf_counter()
    methods: list[Callable[[], ExactResult]] = [lambda: _chain(expr, point, wrt)]
    if symbolic is not None:
        methods.insert(0, lambda: _evaluate_derivatives(symbolic, point))
    reasons = list(reasons)
    for method in methods:
        try:
            with time_budget(budget):
                result = _stable(method)
        except BudgetExceeded:
            reasons.append("time budget")
            continue
        except NotReal as problem:
            result = ExactResult({n: None for n in wrt}, {n: None for n in wrt}, "chain", str(problem))
        except _SYMPY_TROUBLE as problem:
            reasons.append(_trouble(problem))
            continue
        return ExactResult(result.values, result.formulas, result.method, result.note, time.perf_counter() - started)
    return _skipped(wrt, reasons, time.perf_counter() - started)


def exact_gradients(expr: Expr, points: list[dict[str, float]], wrt: tuple[str, ...], budget: float = 5.0,
                    formula: bool = True) -> list[ExactResult]:
    """Exact df/d(each of wrt) at each point: one symbolic derivative for all points while it fits
    `budget` seconds, else (or with formula=False) the chain method, which gets `budget` seconds per point."""
    with mpmath.workdps(DIGITS):
        symbolic, reasons = _symbolic(expr, wrt, budget) if formula else (None, [])
        return [_at_point(expr, point, wrt, symbolic, reasons, budget) for point in points]


def exact_gradient(expr: Expr, point: dict[str, float], wrt: tuple[str, ...], budget: float = 5.0) -> ExactResult:
    """Exact df/d(each of wrt) at one point."""
    return exact_gradients(expr, [point], wrt, budget)[0]
