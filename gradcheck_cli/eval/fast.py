"""The fast scalar path: scalar graphs (Graph.flat) without the detours a tensor node needs.

One point in Python floats (`applies`, `forward`, `backward`): forward and backward with `math`, ~10x less overhead
per gate than numpy on 1-element arrays (what a 10^5-gate check at one point spends its time on). The values go
back as the engine's list of arrays that also keeps them as one array (PointValues), the node gradients as arrays
made when asked for (NodeGrads): a check reads the variables' gradients only.
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
from ..lang.tree import LazyRows
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
    if flat is None or size != 1 or dtype is not np.float64 or flat.has_params:
        return False
    ops = graph.registry.ops
    return all(name in ("var", "const") or (name in _RULES and ops.get(name) is _DEFAULT[name]) for name in flat.kinds)


def forward_floats(graph, point: dict[str, float]) -> list[float] | None:
    """Every node's value as a float, or None where math raises (numpy's inf/nan: the numpy engine's case)."""
    flat = graph.flat
    varies = flat.varies
    values: list[float] = []
    append = values.append
    try:
        labels = flat.labels
        for op, inputs, value in zip(flat.ops, flat.inputs, flat.values):
            if op == "var":
                append(point[labels[len(values)]])
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
    """df/d(node) for every node (None where nothing reaches it), or None where math raises.

    add, sub, neg and mul are spelled out (upstream times 1, -1 or the other input: the same products, in the same
    order, as their rows in _RULES give); the other gates call their partials."""
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
            op = ops[index]
            if op == "add" or op == "sub" or op == "mul":
                a, b = inputs
                if varies[a]:
                    contribution = upstream * values[b] if op == "mul" else upstream * 1.0
                    grads[a] = contribution if grads[a] is None else grads[a] + contribution
                if varies[b]:
                    contribution = upstream * values[a] if op == "mul" else upstream * (1.0 if op == "add" else -1.0)
                    grads[b] = contribution if grads[b] is None else grads[b] + contribution
                continue
            partials = _RULES[op][1]
            if len(inputs) == 1:
                a = inputs[0]
                if varies[a]:
                    contribution = upstream * partials[0](values[index], values[a])
                    grads[a] = contribution if grads[a] is None else grads[a] + contribution
                continue
            args = [values[i] for i in inputs]
            ans = values[index]
            for position, i in enumerate(inputs):
                if varies[i]:
                    contribution = upstream * partials[position](ans, *args)
                    grads[i] = contribution if grads[i] is None else grads[i] + contribution
    except _MATH_ERRORS:
        return None
    return grads


class PointValues(list):
    """engine.forward's list of node values at one point, which also keeps them as one float64 array (`numbers`):
    the backward pass and the value scale read that instead of 10^5 one-element arrays."""

    __slots__ = ("numbers",)


class NodeGrads(LazyRows):
    """engine.backward's node gradients at one point, each (1,) array made when asked for (the check reads the
    variables' only): from the floats of backward_floats, zeros where nothing reaches a node."""

    __slots__ = ("grads", "zero")

    def __init__(self, grads: list):
        super().__init__(len(grads))
        self.grads, self.zero = grads, np.zeros(1)

    def _make(self, i: int):
        g = self.grads[i]
        return self.zero if g is None else np.array([g], dtype=np.float64)


def as_arrays(numbers: list[float], varies: list[bool]) -> PointValues:
    """The engine's form: a (1,) array for what varies, a 0-d float for constants (and constant-only gates)."""
    array = np.array(numbers, dtype=np.float64)
    rows = list(array.reshape(-1, 1))
    values = PointValues([row if vary else x for row, vary, x in zip(rows, varies, list(array))])
    values.numbers = array
    return values


def forward(graph, inputs: dict) -> list | None:
    """engine.forward at one point (see `applies`), or None for the numpy engine."""
    point = {name: float(np.asarray(value).reshape(-1)[0]) for name, value in inputs.items()}
    numbers = forward_floats(graph, point)
    if numbers is None:
        return None
    values = as_arrays(numbers, graph.flat.varies)
    values[-1] = np.broadcast_to(values[-1], (1,))
    return values


def backward(graph, values: list, seed) -> NodeGrads | None:
    """engine.backward's node gradients at one point, or None for the numpy engine."""
    if seed is not None and np.shape(seed) != (1,):
        return None
    if isinstance(values, PointValues) and len(values.numbers) == len(values):
        numbers = values.numbers.tolist()
    else:
        numbers = [float(v) if np.ndim(v) == 0 else float(v[0]) for v in values]
    grads = backward_floats(graph, numbers, 1.0 if seed is None else float(seed[0]))
    if grads is None:
        return None
    return NodeGrads(grads)


# --- stencil rows of a scalar graph -------------------------------------------------------------------

def rows_apply(graph) -> bool:
    return graph.flat is not None and not graph.flat.has_params


# the default gates whose forward is an operator: called as the operator (no lambda frame per gate), the same call
_OPERATORS = {"add": operator.add, "sub": operator.sub, "mul": operator.mul, "div": operator.truediv, "pow": operator.pow,
              "neg": operator.neg}


def _forwards(graph) -> dict:
    """Each op's forward as the stencil loop calls it: the operator itself for the default table's arithmetic."""
    table = graph.registry.ops
    forwards = {}
    for name in graph.flat.kinds.difference(("var", "const")):
        op = table[name]
        forwards[name] = _OPERATORS[name] if name in _OPERATORS and op is _DEFAULT[name] else op.forward
    return forwards


def forward_output(graph, inputs: dict, dtype, base_signs=None, row_point=None):
    """f for every row, and per piecewise gate which rows changed branch against their base point (and where).

    The leaves are placed first; then one loop over the gates, dropping values once dead (memory ~ width). A graph
    with a piecewise gate, when branch changes are asked for, takes the loop that records them."""
    flat = graph.flat
    leaf = Leaves(graph, inputs, dtype)
    table = graph.registry.ops
    float_dtype = np.dtype(dtype).kind == "f"
    ops_ = flat.ops
    values: list = [None] * len(ops_)
    gates = []
    for index, name in enumerate(ops_):
        if name == "var":
            value = np.asarray(inputs[flat.labels[index]], dtype=dtype)
            values[index] = value.reshape(1) if value.ndim == 0 else value
        elif name == "const":
            values[index] = dtype(flat.values[index]) if float_dtype else np.float64(flat.values[index])
        else:
            gates.append(index)
    forwards = _forwards(graph)
    track = base_signs is not None and any(table[name].branch is not None for name in forwards)
    changes: dict = {}
    inputs_of, dead_after = flat.inputs, graph.dead_after
    with np.errstate(all="ignore"):
        if not track:
            for index in gates:
                inputs_ = inputs_of[index]
                if len(inputs_) == 2:
                    values[index] = forwards[ops_[index]](values[inputs_[0]], values[inputs_[1]])
                elif len(inputs_) == 1:
                    values[index] = forwards[ops_[index]](values[inputs_[0]])
                else:
                    values[index] = forwards[ops_[index]](*[values[i] for i in inputs_])
                for i in dead_after[index]:
                    values[i] = None
        else:
            for index in gates:
                op = table[ops_[index]]
                args = tuple([values[i] for i in inputs_of[index]])
                values[index] = forwards[ops_[index]](*args)
                if op.branch is not None:
                    changes[index] = changed(op.branch(*args), base_signs[index], row_point, ())
                for i in dead_after[index]:
                    values[i] = None
    return leaf.full(values[-1], ()), changes
