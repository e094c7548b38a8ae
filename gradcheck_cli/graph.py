"""Expr → Graph: one node per gate, in topological order by construction.

A variable used several times becomes one node that fans out; its gradient accumulates
from every use in the backward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from .parser import OP_SYMBOLS, Expr, paused_gc


@dataclass(frozen=True, slots=True)
class GraphNode:
    op: str  # var | const | a gates.GATES name
    inputs: tuple[int, ...]
    label: str  # short name shown by --trace (x, mul1, sigma2, ..., f)
    expr_index: int  # the Expr node it came from (source span for messages)
    value: float = 0.0  # constants only
    needs_grad: bool = False  # depends on some variable

    def __repr__(self) -> str:
        return f"GraphNode({self.label}={self.op}{self.inputs})"


@dataclass(frozen=True, slots=True, eq=False)
class Graph:
    expr: Expr
    nodes: tuple[GraphNode, ...]
    variables: tuple[str, ...]  # in order of first appearance
    variable_nodes: tuple[int, ...]  # node index of each variable
    dead_after: tuple[tuple[int, ...], ...]  # per node: inputs read for the last time there (droppable after it)

    @property
    def output(self) -> int:
        return len(self.nodes) - 1

    def describe(self, index: int) -> str:
        """`sigma(y)` style text of the operation, with input labels (for --trace)."""
        node = self.nodes[index]
        names = [self.nodes[i].label for i in node.inputs]
        if node.op == "var":
            return "input"
        if node.op == "const":
            return "constant"
        if node.op == "neg":
            return f"-{names[0]}"
        if node.op in OP_SYMBOLS:
            return f"{names[0]} {OP_SYMBOLS[node.op]} {names[1]}"
        return f"{node.op}({', '.join(names)})"

    def location(self, index: int) -> tuple[int, str]:
        """Column (1-based) and source text of the gate, for messages."""
        expr_index = self.nodes[index].expr_index
        return self.expr.nodes[expr_index].start + 1, self.expr.source(expr_index)


def build_graph(expr: Expr) -> Graph:
    with paused_gc():
        return _build(expr)


def _build(expr: Expr) -> Graph:
    nodes: list[GraphNode] = []
    append = nodes.append
    needs_grad: list[bool] = []  # parallel to nodes: read once per input below
    last_use: list[int] = []  # parallel to nodes: the last node reading it (itself if none)
    graph_index: list[int] = []  # Expr node index -> Graph node index
    variable_node: dict[str, int] = {}
    counters: dict[str, int] = {}
    for expr_index, enode in enumerate(expr.nodes):
        op = enode.op
        index = len(nodes)
        if op == "var":
            if enode.name not in variable_node:
                variable_node[enode.name] = index
                append(GraphNode("var", (), enode.name, expr_index, 0.0, True))
                needs_grad.append(True)
                last_use.append(index)
            graph_index.append(variable_node[enode.name])
            continue
        if op == "num" or op == "const":
            append(GraphNode("const", (), enode.name or f"{enode.value:g}", expr_index, enode.value, False))
            needs_grad.append(False)
        else:
            inputs = tuple([graph_index[a] for a in enode.args])
            grad = False
            for i in inputs:
                grad = grad or needs_grad[i]
                last_use[i] = index
            count = counters[op] = counters.get(op, 0) + 1
            append(GraphNode(op, inputs, f"{op}{count}", expr_index, 0.0, grad))
            needs_grad.append(grad)
        last_use.append(index)
        graph_index.append(index)
    last = nodes[-1]  # the root is always created last; a bare variable or constant keeps its own label
    if last.op not in ("var", "const"):
        nodes[-1] = GraphNode(last.op, last.inputs, "f", last.expr_index, last.value, last.needs_grad)
    variables = tuple(variable_node)
    return Graph(expr, tuple(nodes), variables, tuple(variable_node[v] for v in variables), _dead_after(last_use))


def _dead_after(last_use: list[int]) -> tuple[tuple[int, ...], ...]:
    """Per node, the inputs it reads for the last time (the output is never dropped)."""
    grouped: list[list[int] | tuple[()]] = [()] * len(last_use)
    for i, index in enumerate(last_use[:-1]):
        if index != i:
            if grouped[index]:
                grouped[index].append(i)
            else:
                grouped[index] = [i]
    return tuple([tuple(g) for g in grouped])
