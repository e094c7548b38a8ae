"""Perturbed copies of one point, evaluated where they differ: each row moves one element of one variable,
so a node's row is the point's own value with a few entries changed (a Delta). Elementwise ops recompute
only those entries, `@` updates the column (or row) the moved element reaches, `sum` adjusts the total;
anything else gets the dense rows it needs. Plain numpy on values, never a derivative rule: the rows
are f evaluated at the perturbed points (to rounding), as the dense engine would, at a fraction of the cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..ir import Graph
from .leaves import call, changed, operands


@dataclass(frozen=True, slots=True)
class Delta:
    """Rows that equal `base` except at flat `index` (rows, k), where they hold `values` (rows, k)."""

    base: np.ndarray  # the point's value, own shape (no batch axis)
    index: np.ndarray
    values: np.ndarray

    @property
    def rows(self) -> int:
        return self.index.shape[0]

    def dense(self) -> np.ndarray:
        dtype = np.result_type(self.base, self.values)
        out = np.empty((self.rows, self.base.size), dtype=dtype)
        out[:] = self.base.reshape(1, -1)
        np.put_along_axis(out, self.index, self.values, axis=1)
        return out.reshape((self.rows, *self.base.shape))

    def old(self) -> np.ndarray:
        return self.base.reshape(-1)[self.index]


def _dense(value, rows: int):
    return value.dense() if isinstance(value, Delta) else value


def _at(value: np.ndarray, shape: tuple[int, ...], index: np.ndarray) -> np.ndarray:
    """A static (batch-1 or 0-d) value's entries at flat `index` of an array of `shape` it broadcasts to."""
    own = value[0] if np.ndim(value) and np.shape(value)[0] == 1 and np.ndim(value) == len(shape) + 1 else value
    return np.broadcast_to(own, shape).reshape(-1)[index] if np.ndim(own) else own  # x**2 keeps numpy's scalar fast path


def _elementwise(op, node, inputs: list, base_out: np.ndarray):
    deltas = [a for a in inputs if isinstance(a, Delta)]
    index = deltas[0].index
    if node.align or any(d.base.shape != node.shape for d in deltas) or any(d.index is not index for d in deltas):
        return None
    args = [a.values if isinstance(a, Delta) else _at(a, node.shape, index) for a in inputs]
    with np.errstate(all="ignore"):
        return Delta(base_out, index, op.forward(*args))


def _matmul(node, inputs: list, base_out: np.ndarray):
    """One moved element of a matrix operand changes one column (right operand) or one row (left) of the product."""
    a, b = inputs
    if isinstance(a, Delta) == isinstance(b, Delta) or len(node.shape) != 2:
        return None
    moved = a if isinstance(a, Delta) else b
    other = b if moved is a else a
    other = other[0] if np.ndim(other) == 3 and np.shape(other)[0] == 1 else other
    if moved.index.shape[1] != 1 or moved.base.ndim != 2 or np.ndim(other) != 2:
        return None
    flat = moved.index[:, 0]
    i, j = np.divmod(flat, moved.base.shape[1])
    change = moved.values[:, 0] - moved.base.reshape(-1)[flat]
    rows_out, cols_out = node.shape
    if moved is b:  # C[:, j] += A[:, i] * change (columns gathered from contiguous transposes)
        index = np.arange(rows_out)[None, :] * cols_out + j[:, None]
        values = np.ascontiguousarray(base_out.T)[j] + np.ascontiguousarray(other.T)[i] * change[:, None]
    else:  # C[i, :] += change * B[j, :]
        index = i[:, None] * cols_out + np.arange(cols_out)[None, :]
        values = base_out[i, :] + change[:, None] * other[j, :]
    return Delta(base_out, index, values)


def _total(node, inputs: list, base_out: np.ndarray):
    """sum / mean over everything: the point's total plus the moved entries' changes."""
    params = dict(node.params)
    if params.get("axis") is not None:
        return None
    moved = inputs[0]
    change = (moved.values - moved.old()).sum(axis=1)
    if node.op == "mean":
        change = change / moved.base.size
    total = base_out.reshape(-1)[0] + change
    return total.reshape((moved.rows, *node.shape))


def _relabel(node, inputs: list, base_out: np.ndarray):
    """reshape and transpose move entries, not values: the same changes at their new places."""
    moved = inputs[0]
    if node.op == "reshape":
        return Delta(base_out, moved.index, moved.values)
    axes = dict(node.params).get("axes")
    perm = tuple(reversed(range(moved.base.ndim))) if axes is None else tuple(a % moved.base.ndim for a in axes)
    coords = np.unravel_index(moved.index, moved.base.shape)
    index = np.ravel_multi_index(tuple(coords[p] for p in perm), base_out.shape)
    return Delta(base_out, index, moved.values)


_FAST = {"matmul": _matmul, "sum": _total, "mean": _total, "reshape": _relabel, "transpose": _relabel}


def forward_rows(graph: Graph, base: list[np.ndarray], moved: dict[str, Delta], dtype,
                 base_signs: dict[int, np.ndarray] | None = None):
    """f at every row (rows, *out shape), and per piecewise gate which rows changed branch (and where)."""
    registry, rows = graph.registry, next(iter(moved.values())).rows
    values: list = []
    changes: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    cost = 1  # the most values one row held at a node: what a chunk of rows costs in memory
    varies = [False] * len(graph.nodes)  # does the node's value differ between rows (told apart from shapes only
    for index, node in enumerate(graph.nodes):  # when there are 2 or more rows)
        if node.op == "var" and node.label in moved:
            values.append(moved[node.label])
            varies[index] = True
            continue
        inputs = [values[i] for i in node.inputs]
        if not any(varies[i] for i in node.inputs):
            values.append(base[index])  # the point's own value: nothing this node reads has moved
            continue
        varies[index] = True
        op = registry[node.op]
        result = None
        if all(isinstance(v, Delta) or not varies[i] for v, i in zip(inputs, node.inputs)):
            own = np.asarray(base[index][0] if np.ndim(base[index]) else base[index])
            if op.partials is not None:
                result = _elementwise(op, node, inputs, own)
            elif node.op in _FAST and isinstance(inputs[0], Delta) or node.op == "matmul":
                result = _FAST[node.op](node, inputs, own)
        if result is None:
            dense = [_dense(v, rows) for v in inputs]
            with np.errstate(all="ignore"):
                result = call(op, node, operands(dense, _Node(node, len(dense)), op.partials is not None))
        if base_signs is not None and op.branch is not None:
            changes[index] = _branch_change(op, node, inputs, result, base_signs[index], rows)
        cost = max(cost, result.index.shape[1] if isinstance(result, Delta) else math.prod(node.shape))
        values.append(result)
    out = values[-1]
    f = out.dense() if isinstance(out, Delta) else np.broadcast_to(out, (rows, *graph.nodes[-1].shape))
    return f, changes, cost


class _Node:
    """A node seen through _args with its inputs already in a list of their own."""

    def __init__(self, node, count: int):
        self.inputs, self.align = tuple(range(count)), node.align


def _branch_change(op, node, inputs, result, base_sign: np.ndarray, rows: int):
    if isinstance(result, Delta) and op.partials is not None:
        args = [a.values if isinstance(a, Delta) else _at(a, node.shape, result.index) for a in inputs]
        sign = op.branch(*args)
        base_at = np.asarray(base_sign[0] if np.ndim(base_sign) else base_sign).reshape(-1)[result.index] if node.shape \
            else np.broadcast_to(np.asarray(base_sign).reshape(-1)[0], result.index.shape)
        differs = sign != base_at
        first = differs.argmax(axis=1)
        return differs.any(axis=1), result.index[np.arange(rows), first]
    dense = [_dense(v, rows) for v in inputs]
    sign = op.branch(*operands(dense, _Node(node, len(dense)), True))
    return changed(sign, base_sign, np.zeros(rows, int), node.shape)


def worthwhile(graph: Graph, elements: int) -> bool:
    """Rows that move one element pay off past a few hundred elements of tensors (and never for scalars)."""
    return elements >= 64 and not graph.scalar_only

