"""The gate table: every elementwise op, one line each, as a local derivative per input.

Each partial gets (ans, *inputs) as numpy arrays (broadcast against each other) and returns
d(ans)/d(input); reusing `ans` (sigma: ans*(1-ans)) is how the seeds write it. Forwards also
accept complex arrays, and piecewise gates branch on the real part, so the complex-step derivative
runs through them. At a kink the midpoint of the one-sided derivatives is used: relu'(0)=1/2,
abs'(0)=0, max/min ties split 1/2-1/2 — equal to the centered difference and to SymPy's
Heaviside(0)=1/2. Comparisons give 0/1 masks with derivative 0 and a kink where they flip.

`second` is each gate's second-order rule, the second partials d²(ans)/d(a)², d(a)d(b), d(b)² (one for a gate of
one input): what forward-over-reverse adds to the tangent of the backward pass. A piecewise gate's are 0 (`flat`):
its derivative is constant off the kink and jumps on it, where a Hessian through it is a kink, not a number.
"""

from __future__ import annotations

import numpy as np

from .registry import Array, elementwise, flat


def _sigma(a: Array) -> Array:
    if a.dtype.kind == "f":  # exp(-a) overflowing to inf gives 1/inf = 0, the right limit; 3 numpy calls instead of 9
        return 1 / (1 + np.exp(-a))
    z = np.exp(np.where(a.real >= 0, -a, a))  # complex: exp of a non-positive real part never overflows
    r = 1 / (1 + z)
    return np.where(a.real >= 0, r, z * r)


def _step(a: Array) -> Array:
    return np.heaviside(a.real, 0.5).astype(a.real.dtype, copy=False)


def _one(ans: Array, *inputs: Array) -> Array:
    return np.ones(ans.shape, ans.dtype)  # half the cost of np.ones_like, which add pays once per backward step


def _minus_one(ans: Array, *inputs: Array) -> Array:
    return np.full(ans.shape, -1, ans.dtype)


ONE, MINUS_ONE = _one, _minus_one  # the engine multiplies by neither (times 1 or -1 is exact): it needs their names


def _zero(ans: Array, *inputs: Array) -> Array:
    return np.zeros(ans.shape, ans.dtype)


def _mask(condition: Array, like: Array) -> Array:
    """A 0/1 float mask in the working precision (float32 stays float32)."""
    return condition.astype(np.result_type(like.real.dtype, np.float32), copy=False)


def _pow_base(ans: Array, a: Array, b: Array) -> Array:
    return np.where(b == 0, 0, b * a ** (b - 1))  # x**0 is 1 everywhere: its slope is 0 at x = 0 too, not 0*inf


def _pow_exponent(ans: Array, a: Array, b: Array) -> Array:
    return np.where(ans == 0, 0, ans * np.log(a))  # 0**t is 0 for t > 0: its slope is 0, not 0*log(0)


def _pow_base2(ans: Array, a: Array, b: Array) -> Array:
    return np.where((b == 0) | (b == 1), 0, b * (b - 1) * a ** (b - 2))  # x**2 at 0: 2; x**1 and x**0: straight lines


def _pow_mixed(ans: Array, a: Array, b: Array) -> Array:
    return np.where(ans == 0, 0, a ** (b - 1) * (1 + b * np.log(a)))  # 0**t stays 0 for t > 0, as its first partials


def _pow_exponent2(ans: Array, a: Array, b: Array) -> Array:
    return np.where(ans == 0, 0, ans * np.log(a) ** 2)


def _one_cross(ans: Array, a: Array, b: Array) -> Array:
    return np.ones(np.shape(ans), np.result_type(ans, np.float32))


def _difference_sign(a: Array, b: Array) -> Array:
    return np.sign((a - b).real)


SCALAR_OPS = (
    elementwise("copy", lambda a: a, (_one,), symbol="=", second=(flat,)),  # a program's `b = a`: b gets a node (and a d-name) of its own
    elementwise("add", lambda a, b: a + b, (_one, _one), symbol="+", second=(flat, flat, flat)),
    elementwise("sub", lambda a, b: a - b, (_one, _minus_one), symbol="-", second=(flat, flat, flat)),
    elementwise("mul", lambda a, b: a * b, (lambda ans, a, b: b, lambda ans, a, b: a), symbol="*", second=(flat, _one_cross, flat)),
    elementwise("div", lambda a, b: a / b, (lambda ans, a, b: 1 / b, lambda ans, a, b: -ans / b), domain="division by zero, or a quotient beyond the float range", symbol="/", second=(flat, lambda ans, a, b: -1 / (b * b), lambda ans, a, b: 2 * ans / (b * b))),
    elementwise("pow", lambda a, b: a ** b, (_pow_base, _pow_exponent), domain="a**b needs a > 0 unless b is an integer, and a != 0 when b < 0", symbol="**", second=(_pow_base2, _pow_mixed, _pow_exponent2)),
    elementwise("neg", lambda a: -a, (_minus_one,), symbol="-", second=(flat,)),
    elementwise("sigma", _sigma, (lambda ans, a: ans * _sigma(-a),), second=(lambda ans, a: ans * _sigma(-a) * (_sigma(-a) - ans),)),  # = ans*(1-ans), without 1-ans cancelling when saturated; then times 1-2*ans
    elementwise("exp", np.exp, (lambda ans, a: ans,), domain="exp overflows above 709.78", second=(lambda ans, a: ans,)),
    elementwise("log", np.log, (lambda ans, a: 1 / a,), domain="log needs an argument > 0", second=(lambda ans, a: -1 / (a * a),)),
    elementwise("sqrt", np.sqrt, (lambda ans, a: 0.5 / ans,), domain="sqrt needs an argument >= 0 (and > 0 for its derivative)", second=(lambda ans, a: -0.25 / (ans * ans * ans),)),
    elementwise("sin", np.sin, (lambda ans, a: np.cos(a),), second=(lambda ans, a: -ans,)),
    elementwise("cos", np.cos, (lambda ans, a: -np.sin(a),), second=(lambda ans, a: -ans,)),
    elementwise("tan", np.tan, (lambda ans, a: 1 + ans * ans,), domain="tan has poles at pi/2 + k*pi", second=(lambda ans, a: 2 * ans * (1 + ans * ans),)),
    elementwise("tanh", np.tanh, (lambda ans, a: 1 / np.cosh(a) ** 2,), second=(lambda ans, a: -2 * ans / np.cosh(a) ** 2,)),  # = 1-ans**2, without cancelling when saturated
    elementwise("relu", lambda a: np.where(a.real > 0, a, 0 * a), (lambda ans, a: _step(a),), branch=lambda a: np.sign(a.real), second=(flat,)),
    elementwise("abs", lambda a: np.where(a.real < 0, -a, a), (lambda ans, a: np.sign(a.real),), branch=lambda a: np.sign(a.real), second=(flat,)),
    elementwise("sign", lambda a: np.sign(a.real), (_zero,), branch=lambda a: np.sign(a.real), jump=True, second=(flat,)),
    elementwise("max", lambda a, b: np.where(a.real >= b.real, a, b), (lambda ans, a, b: _step(a - b), lambda ans, a, b: _step(b - a)), branch=_difference_sign, second=(flat, flat, flat)),
    elementwise("min", lambda a, b: np.where(a.real <= b.real, a, b), (lambda ans, a, b: _step(b - a), lambda ans, a, b: _step(a - b)), branch=_difference_sign, second=(flat, flat, flat)),
    elementwise("gt", lambda a, b: _mask(a.real > b.real, a), (_zero, _zero), branch=_difference_sign, symbol=">", jump=True, second=(flat, flat, flat)),
    elementwise("lt", lambda a, b: _mask(a.real < b.real, a), (_zero, _zero), branch=_difference_sign, symbol="<", jump=True, second=(flat, flat, flat)),
    elementwise("ge", lambda a, b: _mask(a.real >= b.real, a), (_zero, _zero), branch=_difference_sign, symbol=">=", jump=True, second=(flat, flat, flat)),
    elementwise("le", lambda a, b: _mask(a.real <= b.real, a), (_zero, _zero), branch=_difference_sign, symbol="<=", jump=True, second=(flat, flat, flat)),
)
