"""What the evaluators share: an op's operands as the engine lines them up, the call of its forward, the leaves
(variables and constants) of a graph at some points, and which rows left a piecewise gate's branch.

engine.py, fast.py (scalar stencil rows) and delta.py (rows that differ in one entry) evaluate the same graphs the
same way through these; nothing here knows a rule.
"""

from __future__ import annotations

import numpy as np

from ..ir import Graph, IRNode

Array = np.ndarray
LEAF_OPS = frozenset({"var", "const"})  # ops with no inputs (rand(2, 1)) are computed, not leaves


def expand(value: Array, axes: int) -> Array:
    """Insert `axes` singleton axes after the batch axis, so an elementwise op broadcasts per element."""
    if not axes or value.ndim == 0:
        return value
    return value.reshape(value.shape[:1] + (1,) * axes + value.shape[1:])


def operands(values, node: IRNode, elementwise: bool) -> tuple[Array, ...]:
    """An op's input values: aligned for elementwise ops, batched (0-d promoted) for the others."""
    inputs = node.inputs
    if len(inputs) == 1:
        args = (values[inputs[0]],)
    elif len(inputs) == 2:
        args = (values[inputs[0]], values[inputs[1]])
    else:
        args = tuple([values[i] for i in inputs])
    if node.align:
        return tuple([expand(a, k) for a, k in zip(args, node.align)])
    if not elementwise:
        return tuple([a.reshape(1) if a.ndim == 0 else a for a in args])
    return args


def call(op, node: IRNode, args: tuple[Array, ...]) -> Array:
    if node.params:
        return op.forward(*args, **dict(node.params))
    return op.forward(*args)


class Leaves:
    """Variables from `inputs` as (B, *shape) arrays of the working dtype; a constant is one 0-d float."""

    def __init__(self, graph: Graph, inputs: dict[str, Array], dtype: type):
        self.inputs, self.dtype = inputs, dtype
        self.size = max((np.shape(v)[0] for v in inputs.values() if np.ndim(v)), default=1)

    def __call__(self, node: IRNode) -> Array:
        if node.op == "var":
            value = np.asarray(self.inputs[node.label], dtype=self.dtype)
            return value.reshape(1, *node.shape) if value.ndim == len(node.shape) else value
        return self.dtype(node.value) if np.dtype(self.dtype).kind == "f" else np.float64(node.value)

    def full(self, value: Array, shape: tuple[int, ...]) -> Array:
        """`value` with one entry per point (constants and constant-only gates are shared)."""
        return np.broadcast_to(value, (self.size, *shape))


def changed(sign: Array, base: Array, row_point: Array, shape: tuple[int, ...]) -> tuple[Array, Array]:
    """Per row: did the branch sign differ from its base point's, and at which element (flat index) first."""
    rows = len(row_point)
    sign = np.broadcast_to(sign, (rows, *shape)).reshape(rows, -1)
    differs = sign != base.reshape(base.shape[0], -1)[row_point]
    return differs.any(axis=1), differs.argmax(axis=1)
