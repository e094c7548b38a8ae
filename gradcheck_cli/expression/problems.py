"""Why a point cannot be checked, and where a kink is: messages that name the gate, its column and its element."""

from __future__ import annotations

import math

import numpy as np

from ..eval.engine import at_point, first_nonfinite, first_nonfinite_gradient
from ..ir import Graph
from ..lang.lexer import shorten
from ..report.text import element_text, number


def _where(graph: Graph, index: int) -> str:
    column, text = graph.location(index)
    return f"at column {column} ('{shorten(text)}')"


def gate_problem(graph: Graph, index: int, values: list[np.ndarray], k: int, gradient=None) -> str:
    """`log(-1) = nan at column 1 ('log(x)'): log needs an argument > 0` (with the element for tensors)."""
    node = graph.nodes[index]
    op = graph.registry[node.op]
    where = _where(graph, index)
    if gradient is not None and math.isfinite(gradient.local):  # a finite rule times a finite gradient: overflow
        return (f"the gradient overflows {where}: df/d({node.label}) = {gradient.upstream:.6g} times the local "
                f"derivative of {node.op} ({gradient.local:.6g}) is beyond the float range")
    value = np.asarray(at_point(values[index], k))
    bad = np.unravel_index(int(np.flatnonzero(~np.isfinite(value.reshape(-1)))[0]), value.shape) if value.ndim and not gradient else ()
    inputs = []
    for i in node.inputs:
        given = np.asarray(at_point(values[i], k))
        inputs.append(number(np.broadcast_to(given, value.shape)[bad], 6) if op.partials is not None and given.ndim <= value.ndim and value.ndim
                      else (number(given, 6) if given.ndim == 0 else f"an array of shape {given.shape}"))
    element = f", element {element_text(bad)}" if bad else ""
    if gradient is not None:
        what = f"the derivative of {node.op} is not finite at {', '.join(inputs)}"
    else:
        result = value[bad] if bad else value
        shown = ", ".join(inputs)
        what = f"{node.op}({shown}) = {result}" if node.op not in ("add", "sub", "mul", "div", "pow") else f"{node.op} of {shown} gives {result}"
    return f"{what} {where}{element}" + (f": {op.domain}" if op.domain else "")


def first_problem(graph: Graph, values: list[np.ndarray], backwards: list, analytic: dict[str, np.ndarray],
                  expected: dict[str, np.ndarray], k: int) -> str | None:
    """Why point k cannot be checked (a gate left its domain, a gradient or claim is not finite), or None."""
    bad = first_nonfinite(graph, values, k)  # also a nan that a later max/relu swallowed
    if bad is not None:
        return gate_problem(graph, bad, values, k)
    for v, gradient in analytic.items():
        if not np.all(np.isfinite(gradient[k])):
            for result in backwards:
                broken = first_nonfinite_gradient(graph, values, result.node_grads, k)
                if broken is not None:
                    return gate_problem(graph, broken.index, values, k, broken)
            return "the gradient is not finite"
    for v, e in expected.items():
        if not np.all(np.isfinite(e[k])):
            what = "f" if v == "f" else f"d{v}"
            shown = e[k] if np.ndim(e[k]) == 0 else "not finite in some elements"
            return f"the claimed {what} is not finite at this point ({shown})"
    return None


def kink_text(graph: Graph, crossed: dict, signs: dict[int, np.ndarray], p: int, index: tuple[int, ...],
              left: float, right: float, h: float) -> str | None:
    """The kink the stencil of one element crossed, described for the user (None when it crossed none)."""
    gates, tied = [], False
    for g, (hit, where) in crossed.items():
        if hit[(p, *index)]:
            element = int(where[(p, *index)])
            shape = graph.nodes[g].shape
            gates.append((g, np.unravel_index(element, shape) if shape else ()))
            tied = tied or np.asarray(signs[g][p]).reshape(-1)[element] == 0
    if not gates:
        return None
    parts = [f"{graph.nodes[g].op} {_where(graph, g)}" + (f", element {element_text(e)}" if e else "") for g, e in gates[:3]]
    text = "; ".join(parts) + (f" and {len(gates) - 3} more" if len(gates) > 3 else "")
    jumps = [g for g, _ in gates if graph.registry.ops[graph.nodes[g].op].jump]
    if jumps:
        return (f"a jump: {text} changes its value {'at' if tied else 'near'} the point: slopes across it judge "
                "nothing, and no rule defines the derivative there")
    if tied:
        return f"kink: the point sits on the kink of {text}; left derivative {left:.10g}, right {right:.10g}"
    return (f"the finite-difference stencil (h={h:.3g}) crosses a kink of {text} near the point "
            "(not at it): forward/centered straddle it, the complex step judges; a smaller step or another point avoids it")


def tie_counts(crossed: dict, signs: dict[int, np.ndarray], graph=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per (point, *element): did the stencil cross a kink, how many of those gates sit exactly on theirs, and did
    it cross a jump (a gate whose value, not only slope, changes there)."""
    any_crossed, count, jumped = None, None, None
    for g, (hit, where) in crossed.items():
        if graph is not None and graph.registry.ops[graph.nodes[g].op].jump:
            jumped = hit if jumped is None else jumped | hit
        flat = np.asarray(signs[g]).reshape(np.shape(signs[g])[0], -1)
        on_kink = np.take_along_axis(np.broadcast_to(flat, (hit.shape[0], flat.shape[1])),
                                     where.reshape(hit.shape[0], -1), axis=1).reshape(hit.shape) == 0
        any_crossed = hit if any_crossed is None else any_crossed | hit
        tied = (hit & on_kink).astype(np.int64)
        count = tied if count is None else count + tied
    return any_crossed, count, jumped
