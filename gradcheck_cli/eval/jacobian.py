"""d(each output element)/d(each checked variable): one backward pass per output element, stacked output-major
(a Jacobian puts the output's indices first, as torch and jax do)."""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph
from .engine import Backward, backward


def effective_output(graph: Graph) -> tuple[int, ...]:
    """The output's shape as the gradient sees it: () for a scalar or one-element output (a (1, 1) loss)."""
    shape = graph.nodes[-1].shape
    return () if math.prod(shape) == 1 else shape


def jacobian(graph: Graph, values: list[np.ndarray], wrt: tuple[str, ...], with_magnitudes: bool = False
             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[Backward]]:
    """d(each output element)/d(each checked variable), shape (B, *output, *variable), by one backward pass per
    output element; with the magnitude pass when asked; and the passes themselves (for traces and messages)."""
    out = graph.nodes[-1].shape
    count, size = math.prod(out), values[-1].shape[0]
    index = dict(zip(graph.variables, graph.variable_nodes))
    passes = []
    for o in range(count):
        seed = np.zeros((size, count), values[-1].dtype)
        seed[:, o] = 1
        passes.append(backward(graph, values, seed.reshape((size, *out)), with_magnitudes))
    effective = effective_output(graph)

    def stack(field: str) -> dict[str, np.ndarray]:
        if count == 1:  # one output element (a scalar f): its one pass, copied, needs no stacking
            return {v: np.array(getattr(passes[0], field)[index[v]]).reshape((size, *effective, *graph.shapes[v]))
                    for v in wrt}
        return {v: np.stack([getattr(p, field)[index[v]] for p in passes], axis=1).reshape(
            (size, *effective, *graph.nodes[index[v]].shape)) for v in wrt}

    return stack("node_grads"), stack("magnitudes") if with_magnitudes else {}, passes
