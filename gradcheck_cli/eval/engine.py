"""Staged forward and backward passes over a Graph, on numpy arrays with a leading batch axis.

A value has shape (B, *node shape): B points (or perturbed copies of points), or B = 1 for what is
the same everywhere; a constant scalar is one 0-d float (x**2 with a scalar exponent takes numpy's
fast path). Flat loops over the topological order; nothing is stored on the nodes themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..ir import Graph, IRNode
from ..ops.registry import unbroadcast
from ..ops.scalar import MINUS_ONE, ONE
from . import fast
from .leaves import LEAF_OPS, Leaves, call, changed, operands

Array = np.ndarray


def forward(graph: Graph, inputs: dict[str, Array], dtype: type = np.float64) -> list[Array]:
    """Every node's value (the staged forward pass); `inputs` maps each variable to a (B, *shape) array."""
    leaf = Leaves(graph, inputs, dtype)
    if fast.applies(graph, leaf.size, dtype):  # one point of a scalar graph: Python floats, not 1-element arrays
        values = fast.forward(graph, inputs)
        if values is not None:
            return values
    ops = graph.registry.ops
    values: list[Array] = []
    append = values.append
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            if node.op in LEAF_OPS:
                append(leaf(node))
                continue
            op = ops[node.op]
            inputs_ = node.inputs
            if op.partials is not None and not node.align and not node.params:  # the scalar gates' path: no detours
                append(op.forward(values[inputs_[0]]) if len(inputs_) == 1 else op.forward(values[inputs_[0]], values[inputs_[1]]))
            else:
                append(call(op, node, operands(values, node, op.partials is not None)))
    values[-1] = leaf.full(values[-1], graph.nodes[-1].shape)
    return values


def perturbed_forward(graph: Graph, inputs: dict[str, Array], seed: int = 0, eps: float = float(np.finfo(np.float64).eps)) -> list[Array]:
    """The staged forward pass with every value (gate outputs, inputs, constants) off by a random relative eps:
    what float64 rounding could have done. Run on copies of a point, the spread of the resulting
    gradients measures how many of their digits rounding decides (Monte Carlo arithmetic)."""
    rng = np.random.default_rng(seed)
    leaf = Leaves(graph, inputs, np.float64)
    registry = graph.registry
    values: list[Array] = []
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            scale = None
            if node.op in LEAF_OPS:
                value = leaf(node)
            else:
                op = registry[node.op]
                args = operands(values, node, op.partials is not None)
                value = call(op, node, args)
                if op.rounding is not None:  # a fused op that cancels inside rounds relative to more than its value
                    scale = op.rounding(value, *args, **dict(node.params))
            if node.op == "const" and float(node.value).is_integer() and abs(node.value) < 2 ** 53:
                values.append(value)  # integers are exact, and (-x)**2.0000000000000004 would be nan
            else:  # pi, 0.1 and 1e23 are rounded too
                # 1 to 2 eps up or down: a smaller nudge rounds back to the same double (sigma(40) == 1.0 stays 1.0),
                # and equal nudges of two nodes could cancel exactly (pi up, pi + x down)
                size = (leaf.size, *node.shape)
                nudge = eps * rng.choice((-1.0, 1.0), size=size) * (1 + rng.random(size))
                values.append(value * (1 + nudge) if scale is None else value + nudge * scale)
    values[-1] = leaf.full(values[-1], graph.nodes[-1].shape)
    return values


def branch_signs(graph: Graph, values: list[Array]) -> dict[int, Array]:
    """For every piecewise gate, the sign of the quantity that picks its branch, shape (B, *shape) (0 = on the kink)."""
    registry, signs = graph.registry, {}
    size = values[-1].shape[0]
    if graph.flat is not None:  # only the piecewise gates, found in the columns (no IRNode made for the others)
        piecewise = {op for op in graph.flat.kinds if op in registry.ops and registry[op].branch is not None}
        indices = [i for i, op in enumerate(graph.flat.ops) if op in piecewise] if piecewise else []
    else:
        indices = range(len(graph.nodes))
    with np.errstate(all="ignore"):
        for index in indices:
            node = graph.nodes[index]
            if node.inputs and registry[node.op].branch is not None:
                op = registry[node.op]
                sign = op.branch(*operands(values, node, True))
                signs[index] = np.broadcast_to(sign, (max(size, np.shape(sign)[0] if np.ndim(sign) else 1), *node.shape))
    return signs


def forward_output(graph: Graph, inputs: dict[str, Array], dtype: type = np.float64,
                   base_signs: dict[int, Array] | None = None, row_point: Array | None = None
                   ) -> tuple[Array, dict[int, tuple[Array, Array]]]:
    """Only f, dropping values once dead (memory ~ width, not size). With `base_signs` (branch signs at the base
    points) and `row_point` (each row's base point), also, per piecewise gate, which rows changed branch
    against their base point and at which element (flat index)."""
    if fast.rows_apply(graph):
        return fast.forward_output(graph, inputs, dtype, base_signs, row_point)
    leaf = Leaves(graph, inputs, dtype)
    ops, drops = graph.registry.ops, graph.dead_after
    values: dict[int, Array] = {}
    changes: dict[int, tuple[Array, Array]] = {}
    with np.errstate(all="ignore"):
        for index, node in enumerate(graph.nodes):
            if node.op in LEAF_OPS:
                values[index] = leaf(node)
                continue
            op = ops[node.op]
            args = operands(values, node, op.partials is not None)
            values[index] = op.forward(*args, **dict(node.params)) if node.params else op.forward(*args)
            if base_signs is not None and op.branch is not None:
                changes[index] = changed(op.branch(*args), base_signs[index], row_point, node.shape)
            for i in drops[index]:
                del values[i]
    return leaf.full(values[graph.output], graph.nodes[-1].shape), changes


@dataclass(frozen=True, slots=True)
class Backward:
    """A backward pass: df/d(node) for every node, and the same pass on magnitudes."""

    node_grads: list[Array]  # df/d(node) for every node, (B, *shape)
    magnitudes: list[Array]  # the same pass with |upstream|*|local|: the scale rounding errors are relative to


def backward(graph: Graph, values: list[Array], seed: Array | None = None, with_magnitudes: bool = False) -> Backward:
    """df/df = seed (ones for a scalar f), then each op's VJP in reverse order, accumulating where a node fans out."""
    if not with_magnitudes and fast.applies(graph, values[-1].shape[0], values[-1].dtype.type):
        grads = fast.backward(graph, values, seed)
        if grads is not None:
            zero = np.zeros(1)
            return Backward(grads, [zero] * len(grads))
    nodes, output, ops, scalar_only = graph.nodes, graph.output, graph.registry.ops, graph.scalar_only
    grads: list[Array | None] = [None] * len(nodes)
    mags: list[Array | None] = [None] * len(nodes)
    grads[output] = np.ones_like(values[output]) if seed is None else seed
    mags[output] = np.abs(grads[output])
    with np.errstate(all="ignore"):
        for index in range(output, -1, -1):
            upstream = grads[index]
            node = nodes[index]
            if upstream is None or not node.inputs:
                continue
            op = ops[node.op]
            args = operands(values, node, op.partials is not None)
            ans = values[index]
            for position, i in enumerate(node.inputs):
                if not nodes[i].varies:
                    continue  # constants need no gradient (and pow's log(base) may not exist)
                if scalar_only and not with_magnitudes:  # 10^5 scalar gates: nothing to fit, nothing to measure
                    partial = op.partials[position]  # times 1 or -1 is exact: skip making the ones
                    contribution = upstream if partial is ONE else -upstream if partial is MINUS_ONE \
                        else upstream * partial(ans, *args)
                    grads[i] = contribution if grads[i] is None else grads[i] + contribution
                    continue
                if op.partials is not None and not with_magnitudes:  # the scalar gates' path
                    contribution, magnitude = upstream * op.partials[position](ans, *args), None
                else:
                    contribution, magnitude = _contribution(op, node, position, upstream, ans, args,
                                                            mags[index] if with_magnitudes else None)
                target = nodes[i].shape
                if target != node.shape or op.partials is None:
                    contribution = _fit(contribution, target)
                    magnitude = None if magnitude is None else _fit(magnitude, target)
                grads[i] = contribution if grads[i] is None else grads[i] + contribution
                if magnitude is not None:
                    mags[i] = magnitude if mags[i] is None else mags[i] + magnitude
    zero = np.zeros(values[output].shape[:1], values[output].dtype)
    return Backward([g if g is not None else _zeros(zero, n.shape) for g, n in zip(grads, nodes)],
                    [m if m is not None else _zeros(zero, n.shape) for m, n in zip(mags, nodes)])


def _zeros(zero: Array, shape: tuple[int, ...]) -> Array:
    return np.zeros(zero.shape + shape, zero.dtype) if shape else zero


def _fit(contribution: Array, target: tuple[int, ...]) -> Array:
    return contribution if contribution.shape[1:] == target else unbroadcast(contribution, target)


def _contribution(op, node: IRNode, position: int, upstream: Array, ans: Array, args: tuple[Array, ...],
                  upstream_magnitude: Array | None) -> tuple[Array, Array | None]:
    """upstream times the local derivative (elementwise) or the op's VJP; with its magnitude when asked."""
    if op.partials is not None:
        local = op.partials[position](ans, *args)
        magnitude = None if upstream_magnitude is None else upstream_magnitude * np.abs(local)
        return upstream * local, magnitude
    params = dict(node.params)
    if op.variadic:
        params["position"] = position
    vjp = op.vjps[0 if op.variadic else position]
    contribution = vjp(upstream, ans, *args, **params)
    if upstream_magnitude is None:
        return contribution, None
    if op.magnitudes is not None:
        return contribution, op.magnitudes[0 if op.variadic else position](upstream_magnitude, ans, *args, **params)
    return contribution, np.abs(vjp(upstream_magnitude, ans, *[np.abs(a) for a in args], **params))


def variable_gradients(graph: Graph, result: Backward) -> dict[str, Array]:
    return {name: result.node_grads[i] for name, i in zip(graph.variables, graph.variable_nodes)}


def gradients(graph: Graph, inputs: dict[str, Array], dtype: type = np.float64) -> dict[str, Array]:
    """df/d(each variable) at every point: forward and backward a cache-sized block of points at a time, keeping
    only the variables' gradients (what many points need; `forward`/`backward` keep every node's)."""
    from .blocks import blockwise

    return blockwise(graph, inputs, lambda block: variable_gradients(graph, backward(graph, forward(graph, block, dtype))))


def at_point(value: Array, k: int) -> Array:
    """A node's value at point k: constants and constant-only gates are shared by every point."""
    if not np.ndim(value):
        return value
    return value[k] if value.shape[0] > 1 else value[0]


def _finite_at(value: Array, k: int) -> bool:
    return bool(np.all(np.isfinite(at_point(value, k))))


def first_nonfinite(graph: Graph, values: list[Array], point: int = 0) -> int | None:
    """The first gate whose value is nan/inf although its inputs are finite (where the trouble starts)."""
    finite = [_finite_at(v, point) for v in values]
    for index, ok in enumerate(finite):
        if not ok and all(finite[i] for i in graph.nodes[index].inputs):
            return index
    return None


_STACK_LIMIT = 20_000_000  # values (nodes x points) stacked into one array at most: ~160 MB


def _per_point(arrays: list[Array], size: int, measure, combine: np.ufunc) -> Array:
    """combine(measure(array)) over all arrays and their elements, per point (shared values count at every point)."""
    result = None
    flat = [a for a in arrays if a.ndim == 1 and a.shape[0] == size]
    if flat and len(flat) * size <= _STACK_LIMIT:  # scalar graphs: one numpy call for all nodes
        result = combine.reduce(measure(np.array(flat)), axis=0)
        arrays = [a for a in arrays if not (a.ndim == 1 and a.shape[0] == size)]
    scalars = [a for a in arrays if a.ndim == 0]
    if scalars:  # constants: shared by every point, one numpy call for all of them
        shared = np.broadcast_to(combine.reduce(measure(np.array(scalars))), (size,))
        result = shared if result is None else combine(result, shared)
        arrays = [a for a in arrays if a.ndim]
    for a in arrays:
        m = measure(a)
        m = combine.reduce(m.reshape(m.shape[0], -1), axis=1) if m.ndim > 1 else m
        m = np.broadcast_to(m, (size,))
        result = m if result is None else combine(result, m)
    return result


def value_scales(values: list[Array]) -> Array:
    """Per point, the largest finite |intermediate value|: what rounding errors in f are relative to."""
    size = values[-1].shape[0]
    measure = lambda v: np.where(np.isfinite(v), np.abs(v), 0.0)  # noqa: E731
    if isinstance(values, fast.PointValues) and len(values.numbers) == len(values):  # one point: its floats at once
        return np.maximum.reduce(measure(values.numbers)).reshape(1)
    return _per_point(values, size, measure, np.maximum)


def nonfinite_points(values: list[Array], arrays: list[Array], size: int) -> Array:
    """Per point: does the forward pass `values`, or any of `arrays`, hold nan or inf there?"""
    measure = lambda v: ~np.isfinite(v)  # noqa: E731
    if isinstance(values, fast.PointValues) and len(values.numbers) == len(values):  # one point: its floats at once
        found = np.logical_or.reduce(measure(values.numbers)).reshape(1)
        return found | _per_point(arrays, size, measure, np.logical_or) if arrays else found
    return _per_point([*values, *arrays], size, measure, np.logical_or)


@dataclass(frozen=True, slots=True)
class GradientBreak:
    """Where the backward pass first stops being finite: gate `index`, the gradient reaching it, its local derivative."""

    index: int
    upstream: float
    local: float


def first_nonfinite_gradient(graph: Graph, values: list[Array], grads: list[Array], point: int = 0) -> GradientBreak | None:
    """The gate whose VJP first turns a finite upstream gradient into nan/inf (its first such element)."""
    registry = graph.registry
    with np.errstate(all="ignore"):
        for index in range(graph.output, -1, -1):
            node = graph.nodes[index]
            upstream = np.asarray(at_point(grads[index], point))[None]
            if not node.inputs or not np.all(np.isfinite(upstream)):
                continue
            op = registry[node.op]
            local_values = [np.asarray(at_point(v, point))[None] for v in values]
            args = operands(local_values, node, op.partials is not None)
            for position, i in enumerate(node.inputs):
                if not graph.nodes[i].varies:
                    continue
                contribution, _ = _contribution(op, node, position, upstream, local_values[index], args, None)
                bad = np.flatnonzero(~np.isfinite(contribution).ravel())
                if bad.size:
                    k = bad[0]
                    local = op.partials[position](local_values[index], *args) if op.partials is not None else contribution
                    return GradientBreak(index, float(np.broadcast_to(upstream, contribution.shape).ravel()[k]),
                                         float(np.broadcast_to(local, contribution.shape).ravel()[k]))
    return None


def contributions_into(graph: Graph, values: list[Array], grads: list[Array], target: int) -> list[tuple[int, Array]]:
    """Every edge's share of df/d(target): (consumer node, upstream gradient times the local derivative), summed
    back to the target's shape — what a fan-out's `+=` lines add up."""
    registry, shape, edges = graph.registry, graph.nodes[target].shape, []
    with np.errstate(all="ignore"):
        for index, node in enumerate(graph.nodes):
            if target not in node.inputs or grads[index] is None:
                continue
            op = registry[node.op]
            args = operands(values, node, op.partials is not None)
            for position, i in enumerate(node.inputs):
                if i == target:
                    contribution, _ = _contribution(op, node, position, grads[index], values[index], args, None)
                    edges.append((index, _fit(contribution, shape)))
    return edges
