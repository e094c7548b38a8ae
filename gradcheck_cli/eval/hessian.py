"""The analytic Hessian on the IR: forward-over-reverse, built from the second-order rules of the one rule table.

Along a direction v (one per row of a batch) the forward pass is differentiated first: every node gets its tangent
(elementwise gates: Σ partialᵢ·tangentᵢ from their first-order rules; tensor ops: their `Second` rule's JVP, or the
forward itself for linear and bilinear ones). Then the backward pass is differentiated along the same v: a gate's
contribution upstream·partial moves by upstream's tangent·partial (the first-order rule again) plus upstream·(the
partial's tangent), which is where the second partials come in (elementwise: Σⱼ d²ans/dᵢdⱼ·tangentⱼ; tensor ops:
the VJP's own tangent, which for a bilinear op such as matmul is its VJP with the tangents as inputs). The tangent
of df/dx along v is H·v. Rows of unit vectors give columns of H; one random row gives a Hessian-vector product.

`absolute=True` runs the same pass on absolute values (|upstream|·|partial| + |upstream|·Σ|second|·|tangent|): the
size of what was summed, which the judge's rounding allowance is relative to (as engine.backward's magnitudes).
Flat loops over the topological order, as engine.py; nothing recurses.
"""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph, IRNode
from ..ops.registry import flat, unbroadcast

Array = np.ndarray


def missing_rule(graph: Graph) -> str | None:
    """The first op of the graph without a second-order rule (a user's gate), or None when H can be computed."""
    ops = graph.registry.ops
    for name in sorted({n.op for n in graph.nodes} - {"var", "const"}):
        if ops[name].second is None:
            return name
    return None


def _expand(value: Array, axes: int) -> Array:
    if not axes or value.ndim == 0:
        return value
    return value.reshape(value.shape[:1] + (1,) * axes + value.shape[1:])


def _aligned(arrays: list, node: IRNode, elementwise: bool) -> list:
    """An op's inputs (or their tangents, None for 'no tangent') as the op sees them: aligned for elementwise ops,
    0-d promoted for the others (engine.forward's convention)."""
    if node.align:
        return [None if a is None else _expand(a, k) for a, k in zip(arrays, node.align)]
    if not elementwise:
        return [None if a is None else (a.reshape(1) if a.ndim == 0 else a) for a in arrays]
    return arrays


def _pair(i: int, j: int, arity: int) -> int:
    """Index of d²/dᵢdⱼ in a gate's triangle of second partials (aa; aa, ab, bb)."""
    low, high = min(i, j), max(i, j)
    return low * arity - low * (low - 1) // 2 + (high - low)


def _fit(contribution: Array, target: tuple[int, ...]) -> Array:
    return contribution if contribution.shape[1:] == target else unbroadcast(contribution, target)


def _plus(total: Array | None, term: Array | None) -> Array | None:
    if term is None:
        return total
    return term if total is None else total + term


class _Pass:
    """One forward-over-reverse pass at one point (values and gradients of batch 1) along rows of directions."""

    def __init__(self, graph: Graph, values: list[Array], grads: list[Array], absolute: bool):
        self.graph, self.values, self.grads, self.absolute = graph, values, grads, absolute
        self.ops = graph.registry.ops
        self.size = lambda a: np.abs(a) if absolute else a

    def _zeros(self, node: IRNode) -> Array:
        return np.zeros((1, *node.shape))

    def _filled(self, tangents: list, node: IRNode) -> list[Array]:
        nodes = self.graph.nodes
        return [self._zeros(nodes[i]) if t is None else t for t, i in zip(tangents, node.inputs)]

    def tangents(self, directions: dict[str, Array]) -> list[Array | None]:
        """Every node's tangent along the rows of `directions` (None: no variable it depends on moves)."""
        nodes, values, size = self.graph.nodes, self.values, self.size
        out: list[Array | None] = [None] * len(nodes)
        with np.errstate(all="ignore"):
            for index, node in enumerate(nodes):
                if node.op == "var":
                    given = directions.get(node.label)
                    out[index] = None if given is None else size(given)
                    continue
                if not node.inputs or all(out[i] is None for i in node.inputs):
                    continue
                op = self.ops[node.op]
                elementwise = op.partials is not None
                args = _aligned([values[i] for i in node.inputs], node, elementwise)
                moved = _aligned([out[i] for i in node.inputs], node, elementwise)
                ans = values[index]
                if elementwise:
                    total = None
                    for position, t in enumerate(moved):
                        if t is not None:
                            total = _plus(total, t * size(op.partials[position](ans, *args)))
                    out[index] = total
                else:
                    out[index] = self._jvp(op, node, ans, args, self._filled(moved, node))
        return out

    def _jvp(self, op, node: IRNode, ans: Array, args: list[Array], moved: list[Array]) -> Array:
        params, second, size = dict(node.params), op.second, self.size
        if self.absolute:
            args, moved = [np.abs(a) for a in args], [np.abs(t) for t in moved]
        if second.form == "linear":
            return size(op.forward(*moved, **params))
        if second.form == "bilinear":
            a, b = args
            return size(op.forward(moved[0], b, **params)) + size(op.forward(a, moved[1], **params))
        return size(second.jvp(ans, *args, *moved, **params))

    def backward(self, tangents: list[Array | None]) -> list[Array | None]:
        """The tangent of every node's df/d(node) along the same rows (None: it does not move)."""
        graph, values, size = self.graph, self.values, self.size
        nodes = graph.nodes
        out: list[Array | None] = [None] * len(nodes)
        with np.errstate(all="ignore"):
            for index in range(graph.output, -1, -1):
                node = nodes[index]
                if not node.inputs:
                    continue
                moving = [tangents[i] for i in node.inputs]
                upstream_tangent = out[index]
                if upstream_tangent is None and all(t is None for t in moving):
                    continue
                op = self.ops[node.op]
                elementwise = op.partials is not None
                args = _aligned([values[i] for i in node.inputs], node, elementwise)
                moved = _aligned(moving, node, elementwise)
                upstream = size(self.grads[index])
                for position, i in enumerate(node.inputs):
                    if not nodes[i].varies:
                        continue
                    if elementwise:
                        contribution = self._elementwise(op, position, values[index], args, moved, upstream, upstream_tangent)
                    else:
                        contribution = self._tensor(op, node, position, index, args, moved, tangents, upstream,
                                                    upstream_tangent)
                    if contribution is None:
                        continue
                    if nodes[i].shape != node.shape or not elementwise:
                        contribution = _fit(contribution, nodes[i].shape)
                    out[i] = _plus(out[i], contribution)
        return out

    def _elementwise(self, op, position: int, ans: Array, args: list[Array], moved: list, upstream: Array,
                     upstream_tangent: Array | None) -> Array | None:
        size = self.size
        contribution = None
        if upstream_tangent is not None:
            contribution = upstream_tangent * size(op.partials[position](ans, *args))
        curvature = None
        for other, t in enumerate(moved):
            rule = op.second.partials[_pair(position, other, len(args))]
            if t is None or rule is flat:
                continue
            curvature = _plus(curvature, size(rule(ans, *args)) * t)
        return _plus(contribution, None if curvature is None else upstream * curvature)

    def _tensor(self, op, node: IRNode, position: int, index: int, args: list[Array], moved: list, tangents: list,
                upstream: Array, upstream_tangent: Array | None) -> Array | None:
        size, ans = self.size, self.values[index]
        params = dict(node.params)
        if op.variadic:
            params["position"] = position
        vjp = op.vjps[0 if op.variadic else position]
        absolute = [np.abs(a) for a in args] if self.absolute else args
        contribution = None
        if upstream_tangent is not None:
            contribution = size(vjp(upstream_tangent, ans, *absolute, **params))
        second = op.second
        if second.form == "linear" or all(t is None for t in moved):
            return contribution
        filled = [size(t) for t in self._filled(moved, node)]
        if second.form == "bilinear":  # the VJP with the tangents as inputs, upstream spread over their rows
            rows = max(t.shape[0] for t in filled)
            upstream = np.broadcast_to(upstream, (rows, *np.shape(upstream)[1:])) if np.ndim(upstream) else upstream
            return _plus(contribution, size(vjp(upstream, ans, *filled, **params)))
        answer = tangents[index] if tangents[index] is not None else self._zeros(node)
        term = second.vjps[position](upstream, ans, size(answer), *absolute, *filled, **dict(node.params))
        return _plus(contribution, size(term))


def hessian_vector_products(graph: Graph, values: list[Array], grads: list[Array], directions: dict[str, Array],
                            wrt: tuple[str, ...], absolute: bool = False) -> dict[str, Array]:
    """H·v for every row v of `directions` (name → (R, *shape), variables not named stay put), at the point whose
    forward values and df/d(node) are `values` and `grads` (batch 1, engine.forward/backward): name → (R, *shape)
    for each variable of `wrt`. `absolute`: the same pass on absolute values (the rounding scale)."""
    rows = max(np.shape(d)[0] for d in directions.values())
    one = _Pass(graph, values, grads, absolute)
    tangents = one.tangents(directions)
    moved = one.backward(tangents)
    result = {}
    for name, index in zip(graph.variables, graph.variable_nodes):
        if name in wrt:
            shape = graph.shapes[name]
            value = moved[index]
            result[name] = np.zeros((rows, *shape)) if value is None else np.broadcast_to(value, (rows, *shape))
    return result


def flat_directions(graph: Graph, wrt: tuple[str, ...], rows: np.ndarray) -> dict[str, Array]:
    """Rows over the flattened variables of `wrt` (C order, in wrt's order) as a direction per variable."""
    out, start = {}, 0
    for name in wrt:
        shape = graph.shapes[name]
        size = math.prod(shape)
        out[name] = rows[:, start:start + size].reshape((len(rows), *shape))
        start += size
    return out


def flatten(per_variable: dict[str, Array], wrt: tuple[str, ...]) -> Array:
    """name → (R, *shape) as (R, n) over the flattened variables of `wrt`."""
    return np.concatenate([per_variable[v].reshape(per_variable[v].shape[0], -1) for v in wrt], axis=1)


def point_passes(graph: Graph, point: dict[str, np.ndarray]) -> tuple[list[Array], list[Array]]:
    """The forward values and df/d(node) at one point (batch 1), what the forward-over-reverse pass starts from."""
    from .engine import backward, forward

    values = forward(graph, {v: np.asarray(point[v], dtype=np.float64)[None] for v in graph.variables})
    return values, backward(graph, values).node_grads


def hessian(graph: Graph, point: dict[str, np.ndarray], wrt: tuple[str, ...], absolute: bool = False) -> Array:
    """The analytic Hessian (n, n) over the flattened variables of `wrt`: row j, column i is d²f/dxⱼdxᵢ, column i
    the tangent of the gradient along the unit vector eᵢ (one batched pass for all columns)."""
    values, grads = point_passes(graph, point)
    n = sum(math.prod(graph.shapes[v]) for v in wrt)
    columns = flatten(hessian_vector_products(graph, values, grads, flat_directions(graph, wrt, np.eye(n)), wrt,
                                              absolute), wrt)
    return np.ascontiguousarray(columns.T)
