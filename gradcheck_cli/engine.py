"""Staged forward and backward passes over a Graph, on numpy arrays (one entry per point of a batch).

Flat loops over the topological order; values and gradients live in lists indexed by node,
nothing is stored on the nodes themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .gates import GATES
from .graph import Graph, build_graph
from .parser import Expr

Array = np.ndarray


class _Leaves:
    """Input arrays for the variables of one pass; a constant is one float64 scalar shared by every point
    (x**2 with a scalar exponent takes numpy's fast path: ~20x faster than an array of 2.0s on 701 points)."""

    def __init__(self, graph: Graph, inputs: dict[str, Array], dtype: type):
        self.size = max((np.size(v) for v in inputs.values()), default=1)
        self.graph, self.inputs, self.dtype = graph, inputs, dtype

    def __call__(self, index: int) -> Array:
        node = self.graph.nodes[index]
        if node.op == "var":
            return np.broadcast_to(np.asarray(self.inputs[node.label], dtype=self.dtype), (self.size,))
        return np.float64(node.value)

    def full(self, value: Array) -> Array:
        """`value` as one entry per point (constants and constant-only gates are scalars)."""
        return np.broadcast_to(value, (self.size,))


def _args(values: list[Array] | dict[int, Array], inputs: tuple[int, ...]) -> tuple[Array, ...]:
    """A gate's input values (every gate takes one or two): half the cost of a comprehension, paid per gate per pass."""
    return (values[inputs[0]],) if len(inputs) == 1 else (values[inputs[0]], values[inputs[1]])


def at_point(value: Array, k: int) -> Array:
    """A node's value at point k: constants and constant-only gates are one scalar for every point."""
    return value[k] if np.ndim(value) else value


def forward(graph: Graph, inputs: dict[str, Array], dtype: type = np.float64) -> list[Array]:
    """Every node's value (the staged forward pass); `inputs` maps each variable to an array of points.

    Nodes that depend on no variable hold one scalar (read them with at_point); f has one entry per point."""
    leaf = _Leaves(graph, inputs, dtype)
    values: list[Array] = []
    with np.errstate(all="ignore"):
        for index, node in enumerate(graph.nodes):
            if not node.inputs:
                values.append(leaf(index))
            else:
                values.append(GATES[node.op].forward(*_args(values, node.inputs)))
    values[-1] = leaf.full(values[-1])
    return values


def perturbed_forward(graph: Graph, inputs: dict[str, Array], seed: int = 0) -> list[Array]:
    """The staged forward pass with every value (gate outputs, inputs, constants) off by a random relative eps:
    what float64 rounding could have done. Run on copies of a point, the spread of the resulting
    gradients measures how many of their digits rounding decides (Monte Carlo arithmetic)."""
    rng = np.random.default_rng(seed)
    eps = np.finfo(np.float64).eps
    leaf = _Leaves(graph, inputs, np.float64)
    values: list[Array] = []
    with np.errstate(all="ignore"):
        for index, node in enumerate(graph.nodes):
            value = leaf(index) if not node.inputs else GATES[node.op].forward(*_args(values, node.inputs))
            if node.op == "const" and float(node.value).is_integer():
                values.append(value)  # integers are exact, and (-x)**2.0000000000000004 would be nan
            else:
                values.append(value * (1 + eps * rng.uniform(-1, 1, size=leaf.size)))  # pi and 0.1 are rounded too
    values[-1] = leaf.full(values[-1])
    return values


def forward_output(graph: Graph, inputs: dict[str, Array], dtype: type = np.float64,
                   watch_branches: bool = False) -> tuple[Array, dict[int, Array]]:
    """Only f (and optionally every piecewise gate's branch sign), dropping values once dead: memory ~ width, not size."""
    leaf = _Leaves(graph, inputs, dtype)
    drops = graph.dead_after
    values: dict[int, Array] = {}
    branches: dict[int, Array] = {}
    with np.errstate(all="ignore"):
        for index, node in enumerate(graph.nodes):
            if not node.inputs:
                values[index] = leaf(index)
                continue
            gate = GATES[node.op]
            args = _args(values, node.inputs)
            values[index] = gate.forward(*args)
            if watch_branches and gate.branch is not None:
                branches[index] = gate.branch(*args)
            for i in drops[index]:
                del values[i]
    return leaf.full(values[graph.output]), {g: leaf.full(sign) for g, sign in branches.items()}


@dataclass(frozen=True, slots=True)
class Backward:
    node_grads: list[Array]  # df/d(node) for every node
    magnitudes: list[Array]  # the same pass with |upstream|*|local|: the scale rounding errors are relative to


def backward(graph: Graph, values: list[Array], with_magnitudes: bool = False) -> Backward:
    """df/df = 1, then each gate multiplies the upstream gradient by its local derivative, in reverse order."""
    nodes, output = graph.nodes, graph.output
    needs_grad = [node.needs_grad for node in nodes]
    grads: list[Array | None] = [None] * len(nodes)
    mags: list[Array | None] = [None] * len(nodes)
    grads[output] = np.ones_like(values[output])
    mags[output] = np.ones_like(values[output])
    with np.errstate(all="ignore"):
        for index in range(output, -1, -1):
            upstream = grads[index]
            inputs = nodes[index].inputs
            if upstream is None or not inputs:
                continue
            partials = GATES[nodes[index].op].partials
            args = _args(values, inputs)
            ans = values[index]
            for position, i in enumerate(inputs):
                if not needs_grad[i]:
                    continue  # constants need no gradient (and pow's log(base) may not exist)
                local = partials[position](ans, *args)
                contribution = upstream * local
                grads[i] = contribution if grads[i] is None else grads[i] + contribution
                if with_magnitudes:
                    magnitude = mags[index] * abs(local)
                    mags[i] = magnitude if mags[i] is None else mags[i] + magnitude
    zero = np.zeros_like(values[output])
    return Backward([g if g is not None else zero for g in grads], [m if m is not None else zero for m in mags])


def variable_gradients(graph: Graph, result: Backward) -> dict[str, Array]:
    return {name: result.node_grads[i] for name, i in zip(graph.variables, graph.variable_nodes)}


def first_nonfinite(graph: Graph, values: list[Array], point: int = 0) -> int | None:
    """The first gate whose value is nan/inf although its inputs are finite (where the trouble starts)."""
    column = np.array([at_point(v, point) for v in values])
    finite = np.isfinite(column)
    for index in np.flatnonzero(~finite).tolist():
        if all(finite[i] for i in graph.nodes[index].inputs):
            return index
    return None


_STACK_LIMIT = 20_000_000  # values (nodes x points) stacked into one array at most: ~160 MB


def _per_point(arrays: list[Array], measure, combine: np.ufunc) -> Array:
    """combine(measure(array)) over all arrays, per point: one numpy call when the stack fits in memory.

    A scalar (a constant) counts at every point; the first full array (f has one entry per point) sets the size."""
    full = [a for a in arrays if a.ndim]
    scalars = [a for a in arrays if not a.ndim]
    result = measure(full[0])
    if scalars:
        result = combine(result, combine.reduce(measure(np.array(scalars))))
    rest = full[1:]
    if len(rest) * len(result) <= _STACK_LIMIT:
        return combine(result, combine.reduce(measure(np.array(rest)), axis=0)) if rest else result
    for a in rest:  # too large to stack: one vector op per node instead
        result = combine(result, measure(a))
    return result


def value_scales(values: list[Array]) -> Array:
    """Per point, the largest finite |intermediate value|: what rounding errors in f are relative to."""
    return _per_point(values, lambda v: np.where(np.isfinite(v), np.abs(v), 0.0), np.maximum)


def nonfinite_points(arrays: list[Array]) -> Array:
    """Per point: does any of `arrays` hold nan or inf there?"""
    return _per_point(arrays, lambda v: ~np.isfinite(v), np.logical_or)


@dataclass(frozen=True, slots=True)
class GradientBreak:
    """Where the backward pass first stops being finite: gate `index`, the gradient reaching it, its local derivative."""

    index: int
    upstream: float
    local: float


def first_nonfinite_gradient(graph: Graph, values: list[Array], grads: list[Array], point: int = 0) -> GradientBreak | None:
    """The gate whose local derivative first turns a finite upstream gradient into nan/inf."""
    with np.errstate(all="ignore"):
        for index in range(graph.output, -1, -1):
            node = graph.nodes[index]
            if not node.inputs or not np.isfinite(grads[index][point]):
                continue
            gate = GATES[node.op]
            args = [np.atleast_1d(at_point(values[i], point)) for i in node.inputs]
            for position, i in enumerate(node.inputs):
                local = gate.partials[position](np.atleast_1d(at_point(values[index], point)), *args)
                if graph.nodes[i].needs_grad and not np.all(np.isfinite(local * grads[index][point])):
                    return GradientBreak(index, float(grads[index][point]), float(np.ravel(local)[0]))
    return None


def evaluate_constant(expr: Expr) -> float:
    graph = build_graph(expr)
    return float(forward(graph, {})[graph.output][0])
