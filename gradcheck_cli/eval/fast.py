"""The fast scalar path: scalar graphs (Graph.flat) without the detours a tensor node needs.

One point in Python floats (`applies`, `forward`, `backward`): forward and backward with `math`, ~10x less overhead
per gate than numpy on 1-element arrays (what a 10^5-gate check at one point spends its time on).
Stencil rows (`rows_apply`, `forward_output`): engine.forward_output for scalar graphs, the same op calls over the
columns without alignment, parameters or shapes, so a stencil pass costs one numpy call per gate and little more.

The point path is chosen by engine.forward/backward when the graph is scalar, holds one point in float64, and
every op is the default gate table's own (a mutant or a user's gate has no twin here, so the numpy engine
runs it). Each entry below is the gate table's row (ops/scalar.py) spelled with math; where math raises
(log(0), exp(1000), 1/0) numpy would give inf or nan, so the whole pass falls back to numpy (returns None).
numpy's SIMD exp/log/tanh may round the last bit differently from libm: values agree to an ulp, verdicts alike.
"""

from __future__ import annotations

import math
import operator

import numpy as np

from ..ops.scalar import SCALAR_OPS
from .leaves import Leaves, changed

_DEFAULT = {op.name: op for op in SCALAR_OPS}
_MATH_ERRORS = (ValueError, OverflowError, ZeroDivisionError)


def _sigma(a: float) -> float:
    return 1 / (1 + math.exp(-a))


def _step(a: float) -> float:  # np.heaviside(a, 0.5)
    return 1.0 if a > 0 else 0.0 if a < 0 else 0.5 if a == 0 else a


def _sign(a: float) -> float:
    return 1.0 if a > 0 else -1.0 if a < 0 else 0.0 if a == 0 else a


def _scalar_power(a: float, b: float) -> float:
    """numpy's fast paths for an array to a scalar exponent (square, sqrt, reciprocal), else pow."""
    if b == 2.0:
        return a * a
    if b == 0.5:
        return math.sqrt(a)
    if b == 1.0:
        return a
    if b == -1.0:
        return 1.0 / a
    if b == 0.0:
        return 1.0
    return math.pow(a, b)


def _one(ans, *args):
    return 1.0


def _minus_one(ans, *args):
    return -1.0


def _zero(ans, *args):
    return 0.0


# op -> (forward, partials (ans, *inputs) -> local derivative), as in ops/scalar.py
_RULES = {
    "copy": (lambda a: a, (_one,)),
    "add": (operator.add, (_one, _one)),
    "sub": (operator.sub, (_one, _minus_one)),
    "mul": (operator.mul, (lambda ans, a, b: b, lambda ans, a, b: a)),
    "div": (operator.truediv, (lambda ans, a, b: 1 / b, lambda ans, a, b: -ans / b)),
    "pow": (math.pow, (lambda ans, a, b: 0.0 if b == 0 else b * _scalar_power(a, b - 1),
                       lambda ans, a, b: 0.0 if ans == 0 else ans * math.log(a))),
    "neg": (operator.neg, (_minus_one,)),
    "sigma": (_sigma, (lambda ans, a: ans * _sigma(-a),)),
    "exp": (math.exp, (lambda ans, a: ans,)),
    "log": (math.log, (lambda ans, a: 1 / a,)),
    "sqrt": (math.sqrt, (lambda ans, a: 0.5 / ans,)),
    "sin": (math.sin, (lambda ans, a: math.cos(a),)),
    "cos": (math.cos, (lambda ans, a: -math.sin(a),)),
    "tan": (math.tan, (lambda ans, a: 1 + ans * ans,)),
    "tanh": (math.tanh, (lambda ans, a: 1 / _square(math.cosh(a)),)),
    "relu": (lambda a: a if a > 0 else 0 * a, (lambda ans, a: _step(a),)),
    "abs": (lambda a: -a if a < 0 else a, (lambda ans, a: _sign(a),)),
    "sign": (_sign, (_zero,)),
    "max": (lambda a, b: a if a >= b else b, (lambda ans, a, b: _step(a - b), lambda ans, a, b: _step(b - a))),
    "min": (lambda a, b: a if a <= b else b, (lambda ans, a, b: _step(b - a), lambda ans, a, b: _step(a - b))),
    "gt": (lambda a, b: 1.0 if a > b else 0.0, (_zero, _zero)),
    "lt": (lambda a, b: 1.0 if a < b else 0.0, (_zero, _zero)),
    "ge": (lambda a, b: 1.0 if a >= b else 0.0, (_zero, _zero)),
    "le": (lambda a, b: 1.0 if a <= b else 0.0, (_zero, _zero)),
}


def _square(c: float) -> float:
    return c * c


def applies(graph, size: int, dtype) -> bool:
    """A scalar graph at one float64 point whose ops are all the default table's own."""
    flat = graph.flat
    if flat is None or size != 1 or dtype is not np.float64 or any(flat.params):
        return False
    ops = graph.registry.ops
    return all(name in ("var", "const") or (name in _RULES and ops.get(name) is _DEFAULT[name]) for name in set(flat.ops))


def forward_floats(graph, point: dict[str, float]) -> list[float] | None:
    """Every node's value as a float, or None where math raises (numpy's inf/nan: the numpy engine's case)."""
    flat = graph.flat
    varies = flat.varies
    values: list[float] = []
    append = values.append
    try:
        for op, inputs, label, value in zip(flat.ops, flat.inputs, flat.labels, flat.values):
            if op == "var":
                append(point[label])
            elif op == "const":
                append(value)
            elif len(inputs) == 1:
                append(_RULES[op][0](values[inputs[0]]))
            elif op == "pow" and varies[inputs[0]] and not varies[inputs[1]]:
                append(_scalar_power(values[inputs[0]], values[inputs[1]]))
            else:
                append(_RULES[op][0](values[inputs[0]], values[inputs[1]]))
    except _MATH_ERRORS:
        return None
    return values


def backward_floats(graph, values: list[float], seed: float = 1.0) -> list[float | None] | None:
    """df/d(node) for every node (None where nothing reaches it), or None where math raises."""
    flat = graph.flat
    ops, inputs_of, varies = flat.ops, flat.inputs, flat.varies
    grads: list[float | None] = [None] * len(ops)
    grads[-1] = seed
    try:
        for index in range(len(ops) - 1, -1, -1):
            upstream = grads[index]
            inputs = inputs_of[index]
            if upstream is None or not inputs:
                continue
            partials = _RULES[ops[index]][1]
            args = [values[i] for i in inputs]
            ans = values[index]
            for position, i in enumerate(inputs):
                if varies[i]:
                    contribution = upstream * partials[position](ans, *args)
                    grads[i] = contribution if grads[i] is None else grads[i] + contribution
    except _MATH_ERRORS:
        return None
    return grads


def as_arrays(numbers: list[float], varies: list[bool]) -> list:
    """The engine's form: a (1,) array for what varies, a 0-d float for constants (and constant-only gates)."""
    rows = list(np.array(numbers, dtype=np.float64).reshape(-1, 1))
    return [row if vary else np.float64(x) for row, vary, x in zip(rows, varies, numbers)]


def forward(graph, inputs: dict) -> list | None:
    """engine.forward at one point (see `applies`), or None for the numpy engine."""
    point = {name: float(np.asarray(value).reshape(-1)[0]) for name, value in inputs.items()}
    numbers = forward_floats(graph, point)
    if numbers is None:
        return None
    values = as_arrays(numbers, graph.flat.varies)
    values[-1] = np.broadcast_to(values[-1], (1,))
    return values


def backward(graph, values: list, seed) -> list | None:
    """engine.backward's node gradients at one point, or None for the numpy engine."""
    if seed is not None and np.shape(seed) != (1,):
        return None
    numbers = [float(v) if np.ndim(v) == 0 else float(v[0]) for v in values]
    grads = backward_floats(graph, numbers, 1.0 if seed is None else float(seed[0]))
    if grads is None:
        return None
    zero = np.zeros(1)
    rows = list(np.array([0.0 if g is None else g for g in grads]).reshape(-1, 1))
    return [zero if g is None else row for g, row in zip(grads, rows)]


# --- stencil rows of a scalar graph -------------------------------------------------------------------

def rows_apply(graph) -> bool:
    return graph.flat is not None and not any(graph.flat.params)


def forward_output(graph, inputs: dict, dtype, base_signs=None, row_point=None):
    """f for every row, and per piecewise gate which rows changed branch against their base point (and where)."""
    flat = graph.flat
    leaf = Leaves(graph, inputs, dtype)
    table = graph.registry.ops
    ops = {name: table[name] for name in set(flat.ops) if name not in ("var", "const")}
    float_dtype = np.dtype(dtype).kind == "f"
    values: list = [None] * len(flat.ops)
    changes: dict = {}
    with np.errstate(all="ignore"):
        for index, (name, inputs_, dead) in enumerate(zip(flat.ops, flat.inputs, graph.dead_after)):
            if name == "var":
                value = np.asarray(inputs[flat.labels[index]], dtype=dtype)
                values[index] = value.reshape(1) if value.ndim == 0 else value
                continue
            if name == "const":
                values[index] = dtype(flat.values[index]) if float_dtype else np.float64(flat.values[index])
                continue
            op = ops[name]
            if len(inputs_) == 1:
                args = (values[inputs_[0]],)
            elif len(inputs_) == 2:
                args = (values[inputs_[0]], values[inputs_[1]])
            else:
                args = tuple([values[i] for i in inputs_])
            values[index] = op.forward(*args)
            if base_signs is not None and op.branch is not None:
                changes[index] = changed(op.branch(*args), base_signs[index], row_point, ())
            for i in dead:
                values[i] = None
    return leaf.full(values[-1], ()), changes
