"""The ONE home of local derivative rules: a table, one line per gate.

Each partial gets (ans, *inputs) as numpy arrays and returns d(ans)/d(input); reusing `ans`
(sigma: ans*(1-ans)) is how the seeds write it. Forwards also accept complex arrays, and
piecewise gates branch on the real part, so the complex-step derivative runs through them.
At a kink the midpoint of the one-sided derivatives is used: relu'(0)=1/2, abs'(0)=0, max/min
ties split 1/2-1/2 — equal to the centered difference and to SymPy's Heaviside(0)=1/2.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

Array = np.ndarray


@dataclass(frozen=True, slots=True)
class Gate:
    name: str
    forward: Callable[..., Array]
    partials: tuple[Callable[..., Array], ...]  # one per input: (ans, *inputs) -> local derivative
    branch: Callable[..., Array] | None = None  # piecewise gates: sign of the deciding quantity (0 = on the kink)
    domain: str = ""  # said when the gate returns nan/inf from finite inputs


def _sigma(a: Array) -> Array:
    if a.dtype.kind == "f":  # exp(-a) overflowing to inf gives 1/inf = 0, the right limit; 3 numpy calls instead of 9
        return 1 / (1 + np.exp(-a))
    z = np.exp(np.where(a.real >= 0, -a, a))  # complex: exp of a non-positive real part never overflows
    r = 1 / (1 + z)
    return np.where(a.real >= 0, r, z * r)


def _step(a: Array) -> Array:
    return np.heaviside(a.real, 0.5)


def _one(ans: Array, *inputs: Array) -> Array:
    return np.ones(ans.shape, ans.dtype)  # half the cost of np.ones_like, which add pays once per backward step


def _minus_one(ans: Array, *inputs: Array) -> Array:
    return np.full(ans.shape, -1.0, ans.dtype)


GATES: dict[str, Gate] = {g.name: g for g in (
    Gate("add", lambda a, b: a + b, (_one, _one)),
    Gate("sub", lambda a, b: a - b, (_one, _minus_one)),
    Gate("mul", lambda a, b: a * b, (lambda ans, a, b: b, lambda ans, a, b: a)),
    Gate("div", lambda a, b: a / b, (lambda ans, a, b: 1 / b, lambda ans, a, b: -ans / b), domain="division by zero, or a quotient beyond the float range"),
    Gate("pow", lambda a, b: a ** b, (lambda ans, a, b: b * a ** (b - 1), lambda ans, a, b: ans * np.log(a)), domain="a**b needs a > 0 unless b is an integer, and a != 0 when b < 0"),
    Gate("neg", lambda a: -a, (_minus_one,)),
    Gate("sigma", _sigma, (lambda ans, a: ans * _sigma(-a),)),  # = ans*(1-ans), without 1-ans cancelling when saturated
    Gate("exp", np.exp, (lambda ans, a: ans,), domain="exp overflows above 709.78"),
    Gate("log", np.log, (lambda ans, a: 1 / a,), domain="log needs an argument > 0"),
    Gate("sqrt", np.sqrt, (lambda ans, a: 0.5 / ans,), domain="sqrt needs an argument >= 0 (and > 0 for its derivative)"),
    Gate("sin", np.sin, (lambda ans, a: np.cos(a),)),
    Gate("cos", np.cos, (lambda ans, a: -np.sin(a),)),
    Gate("tan", np.tan, (lambda ans, a: 1 + ans * ans,), domain="tan has poles at pi/2 + k*pi"),
    Gate("tanh", np.tanh, (lambda ans, a: 1 / np.cosh(a) ** 2,)),  # = 1-ans**2, without cancelling when saturated
    Gate("relu", lambda a: np.where(a.real > 0, a, 0 * a), (lambda ans, a: _step(a),), branch=lambda a: np.sign(a.real)),
    Gate("abs", lambda a: np.where(a.real < 0, -a, a), (lambda ans, a: np.sign(a.real),), branch=lambda a: np.sign(a.real)),
    Gate("max", lambda a, b: np.where(a.real >= b.real, a, b), (lambda ans, a, b: _step(a - b), lambda ans, a, b: _step(b - a)), branch=lambda a, b: np.sign((a - b).real)),
    Gate("min", lambda a, b: np.where(a.real <= b.real, a, b), (lambda ans, a, b: _step(b - a), lambda ans, a, b: _step(a - b)), branch=lambda a, b: np.sign((a - b).real)),
)}
