"""One point of a graph as the circuit picture draws it (report/dot.py): every node's value and gradient, the
piecewise gates sitting on their kink, and at a fan-out the term each wire sends back (the notes' `dx += ...`)."""

from __future__ import annotations

import math

import numpy as np

from ..ir import Graph
from ..results import Circuit
from .engine import backward, branch_signs, contributions_into, forward


def circuit(graph: Graph, point: dict, shares_up_to: int) -> Circuit:
    """The values and gradients at `point`; the fan-out terms only for graphs of at most `shares_up_to` nodes."""
    values = forward(graph, {v: np.asarray(point[v], dtype=np.float64)[None] for v in graph.variables})
    grads = backward(graph, values).node_grads if math.prod(graph.nodes[-1].shape) == 1 else None
    own = [np.asarray(v[0]) if np.ndim(v) else np.asarray(v) for v in values]
    own_grads = None if grads is None else [np.asarray(g[0]) if np.ndim(g) else np.asarray(g) for g in grads]
    kinks = {g for g, sign in branch_signs(graph, values).items() if np.any(sign == 0)}
    shares = _shares(graph, values, grads) if len(graph.nodes) <= shares_up_to else {}
    return Circuit(own, own_grads, kinks, shares)


def _shares(graph: Graph, values, grads) -> dict:
    """Per wire out of a node with several consumers: the term that consumer sends back (upstream × local)."""
    if grads is None:
        return {}
    consumers: dict[int, int] = {}
    for node in graph.nodes:
        for i in set(node.inputs):
            consumers[i] = consumers.get(i, 0) + 1
    shares = {}
    for source, count in consumers.items():
        if count > 1 and graph.nodes[source].varies:
            for consumer, term in contributions_into(graph, values, grads, source):
                shares[(source, consumer)] = np.asarray(term[0]) if np.ndim(term) else np.asarray(term)
    return shares
