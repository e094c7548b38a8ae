"""Each scalar operation's SymPy counterpart (the definitions that rules.py's hand-written derivatives are tested
against, and that whole formulas are built from), and an mpmath evaluator of SymPy formulas (no code generation)."""

from __future__ import annotations

import functools
from typing import Callable

import mpmath
import sympy

from .rules import NotReal, fraction, power, real


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


# SymPy counterpart of each scalar operation (independent of ops/): comparisons are Heaviside steps
# (strict ones 0 at equality, the others 1), so their derivative is a DiracDelta: 0 off the kink, undefined on it.
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
    "sign": sympy.sign,
    "max": sympy.Max,
    "min": sympy.Min,
    "gt": lambda a, b: sympy.Heaviside(a - b, 0),
    "lt": lambda a, b: sympy.Heaviside(b - a, 0),
    "ge": lambda a, b: sympy.Heaviside(a - b, 1),
    "le": lambda a, b: sympy.Heaviside(b - a, 1),
}
ARITY = {"neg": 1, "add": 2, "sub": 2, "mul": 2, "div": 2, "pow": 2, "max": 2, "min": 2,
         "gt": 2, "lt": 2, "ge": 2, "le": 2}
PIECEWISE = frozenset({"relu", "abs", "sign", "max", "min", "gt", "lt", "ge", "le"})
JUMPS = frozenset({"sign", "gt", "lt", "ge", "le"})  # the value itself jumps there: nothing upstream is differentiable
CONSTANTS = {"pi": sympy.pi, "e": sympy.E}


def number(value: float) -> sympy.Expr:
    """The literal the user typed: 0.1 means 1/10, not the nearest double."""
    numerator, denominator = fraction(value)
    return sympy.Integer(numerator) if denominator == 1 else sympy.Rational(numerator, denominator)


def _heaviside(x: mpmath.mpf, h0: mpmath.mpf | None = None) -> mpmath.mpf:
    if x > 0:
        return mpmath.mpf(1)
    if x < 0:
        return mpmath.mpf(0)
    return h0 if h0 is not None else mpmath.mpf(1) / 2


def _dirac(x: mpmath.mpf, *order: mpmath.mpf) -> mpmath.mpf:
    if x != 0:
        return mpmath.mpf(0)
    raise NotReal("not differentiable on the kink")


def _log(x: mpmath.mpf) -> mpmath.mpf:
    if x <= 0:
        raise NotReal("log of a non-positive number")
    return mpmath.log(x)


APPLY: dict[type, Callable[..., mpmath.mpf]] = {
    sympy.Add: lambda *a: a[0] + a[1] if len(a) == 2 else mpmath.fsum(a),  # each rounds once
    sympy.Mul: lambda *a: a[0] * a[1] if len(a) == 2 else mpmath.fprod(a),
    sympy.Pow: power,
    sympy.exp: mpmath.exp,
    sympy.log: _log,
    sympy.sin: mpmath.sin,
    sympy.cos: mpmath.cos,
    sympy.tan: lambda x: real(mpmath.tan(x)),
    sympy.tanh: mpmath.tanh,
    sympy.Abs: abs,
    sympy.sign: lambda x: mpmath.mpf(mpmath.sign(x)),
    sympy.Heaviside: _heaviside,
    sympy.DiracDelta: _dirac,
    sympy.Max: lambda *a: max(a),
    sympy.Min: lambda *a: min(a),
    sigma: lambda x: 1 / (1 + mpmath.exp(-x)),
}


def leaf_value(node: sympy.Basic, env: dict[sympy.Basic, mpmath.mpf]) -> mpmath.mpf:
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


def _applier(node: sympy.Basic) -> Callable[..., mpmath.mpf]:
    apply = APPLY.get(type(node)) or next((f for t, f in APPLY.items() if isinstance(node, t)), None)
    if apply is None:
        raise NotReal(f"no numeric value for {type(node).__name__}")
    return apply


def evaluate(expression: sympy.Basic, env: dict[sympy.Basic, mpmath.mpf]) -> mpmath.mpf:
    """Value of a SymPy expression at `env` (symbols → mpf), walking its DAG with an explicit stack."""
    done: dict[sympy.Basic, mpmath.mpf] = {}
    stack: list[tuple[sympy.Basic, bool]] = [(expression, False)]
    while stack:
        node, expanded = stack.pop()
        if node in done:
            continue
        if not node.args or node in env:
            done[node] = leaf_value(node, env)
            continue
        if not expanded:
            stack.append((node, True))
            stack.extend((a, False) for a in node.args if a not in done)
            continue
        done[node] = real(_applier(node)(*(done[a] for a in node.args)))
    return done[expression]
