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
    needs_grad: list[bool] = []  # parallel to nodes: read once per input below
    graph_index: list[int] = []  # Expr node index -> Graph node index
    variable_node: dict[str, int] = {}
    counters: dict[str, int] = {}
    for expr_index, enode in enumerate(expr.nodes):
        op = enode.op
        if op == "var":
            if enode.name not in variable_node:
                variable_node[enode.name] = len(nodes)
                nodes.append(GraphNode("var", (), enode.name, expr_index, 0.0, True))
                needs_grad.append(True)
            graph_index.append(variable_node[enode.name])
            continue
        if op == "num" or op == "const":
            nodes.append(GraphNode("const", (), enode.name or f"{enode.value:g}", expr_index, enode.value, False))
            needs_grad.append(False)
        else:
            inputs = tuple([graph_index[a] for a in enode.args])
            count = counters[op] = counters.get(op, 0) + 1
            grad = any([needs_grad[i] for i in inputs])
            nodes.append(GraphNode(op, inputs, f"{op}{count}", expr_index, 0.0, grad))
            needs_grad.append(grad)
        graph_index.append(len(nodes) - 1)
    last = nodes[-1]  # the root is always created last; a bare variable or constant keeps its own label
    if last.op not in ("var", "const"):
        nodes[-1] = GraphNode(last.op, last.inputs, "f", last.expr_index, last.value, last.needs_grad)
    variables = tuple(variable_node)
    return Graph(expr, tuple(nodes), variables, tuple(variable_node[v] for v in variables), _dead_after(nodes))


def _dead_after(nodes: list[GraphNode]) -> tuple[tuple[int, ...], ...]:
    last = list(range(len(nodes)))
    for index, node in enumerate(nodes):
        for i in node.inputs:
            last[i] = index
    grouped: dict[int, list[int]] = {}
    for i, index in enumerate(last[:-1]):  # the output is never dropped
        if index != i:
            grouped.setdefault(index, []).append(i)
    return tuple(tuple(grouped.get(index, ())) for index in range(len(nodes)))
