"""Expr + the inputs' shapes → Graph: ONE graph form, nodes in topological order by construction.

Each node has its op, inputs, own shape (no batch axis), a label for --trace and the Expr node it
came from (its source span). A variable used several times is one node that fans out; its gradient
accumulates from every use. The registry is passed in (never imported), so this module holds no rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Mapping, Sequence

from .errors import Position, ShapeError, ShapeMismatch
from .lang.expr import OP_SYMBOLS, Expr, LazyNodes, paused_gc
from .lang.tree import LazyRows

if TYPE_CHECKING:
    from .ops.registry import Registry

Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class IRNode:
    """One gate of the graph: an operation, its inputs (node indices), its label and shape."""

    op: str  # var | const | a registry op name
    inputs: tuple[int, ...]
    label: str  # short name shown by --trace (x, mul1, sigma2, ..., f), or the user's name in a program
    expr_index: int  # the Expr node it came from (source span for messages)
    shape: Shape = ()
    value: float = 0.0  # constants only
    params: tuple = ()  # ((key, literal), ...) passed to the op
    varies: bool = False  # depends on some variable
    align: tuple[int, ...] = ()  # elementwise ops: singleton axes to insert after the batch axis, per input
    source: int = 0  # which of the graph's exprs the node came from

    def __repr__(self) -> str:
        return f"IRNode({self.label}={self.op}{self.inputs} {self.shape})"


@dataclass(frozen=True, slots=True, eq=False)
class Flat:
    """A scalar graph's nodes as columns: what the scalar evaluators loop over (IRNodes are made when asked for)."""

    ops: list[str]
    inputs: list[tuple[int, ...]]
    labels: Sequence[str]  # a list, or Labels (scalar graphs: made when asked for)
    expr_index: list[int]
    values: list[float]
    varies: list[bool]
    params: list[tuple]
    sources: list[int]
    kinds: frozenset[str] = frozenset()  # the ops that occur (what the evaluators check once, not per node)
    has_params: bool = False  # some node has parameters

    @classmethod
    def of(cls, nodes) -> "Flat":
        ops, params = [n.op for n in nodes], [n.params for n in nodes]
        return cls(ops, [n.inputs for n in nodes], [n.label for n in nodes], [n.expr_index for n in nodes],
                   [n.value for n in nodes], [n.varies for n in nodes], params, [n.source for n in nodes], frozenset(ops),
                   any(params))


class LazyIRNodes(LazyRows):
    """A scalar graph's IRNodes, each made from the columns the first time it is asked for."""

    __slots__ = ("flat",)

    def __init__(self, flat: Flat):
        super().__init__(len(flat.ops))
        self.flat = flat

    def _make(self, i: int) -> IRNode:
        f = self.flat
        return IRNode(f.ops[i], f.inputs[i], f.labels[i], f.expr_index[i], (), f.values[i], f.params[i], f.varies[i], (),
                      f.sources[i])


@dataclass(frozen=True, slots=True)
class Binding:
    """`name = expr` of a program (name None: the expression itself); `origin` is its (line, column) there."""

    name: str | None
    expr: Expr
    origin: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Graph:
    """The gate graph of an expression or program: nodes in topological order, the output last."""

    exprs: tuple[Expr, ...]  # the expression, or a program's right-hand sides (and inlined functions' bodies)
    nodes: tuple[IRNode, ...]
    variables: tuple[str, ...]  # in order of first appearance
    variable_nodes: tuple[int, ...]  # node index of each variable
    dead_after: tuple[tuple[int, ...], ...]  # per node: inputs read for the last time there (droppable after it)
    registry: Registry  # the rules the graph was built with
    names: dict = None  # a program's names -> node index of their last value
    origins: tuple = ()  # per expr: (line, column) in the program, or None
    node_lines: tuple = ()  # per node: the program line that created it (None for a plain expression)
    shapes: dict = None  # each variable's shape
    scalar_only: bool = True  # every node is a scalar (the fast paths of 10^5-gate expressions)
    flat: Flat | None = None  # scalar graphs: the nodes as columns

    @property
    def expr(self) -> Expr:
        return self.exprs[-1] if len(self.exprs) == 1 else self.exprs[self.nodes[-1].source]

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
        if node.op == "copy":
            return names[0]
        if node.op == "transpose":
            return f"{names[0]}.T"
        if node.op == "index":
            return f"{names[0]}[{_index_text(dict(node.params)['index'])}]"
        if node.op == "stack":
            return f"[{', '.join(names)}]"
        if node.op in OP_SYMBOLS:
            return f"{names[0]} {OP_SYMBOLS[node.op]} {names[1]}"
        return f"{node.op}({', '.join(names)})"

    def source_text(self, index: int) -> str:
        node = self.nodes[index]
        return self.exprs[node.source].source(node.expr_index)

    def location(self, index: int) -> tuple[int, str]:
        """Column (1-based, in its line for programs) and source text of the gate, for messages."""
        node = self.nodes[index]
        origin = self.origins[node.source] if self.origins else None
        column = self.exprs[node.source].nodes[node.expr_index].start + 1 + (origin[1] if origin else 0)
        return column, self.source_text(index)

    def line(self, index: int) -> int | None:
        origin = self.origins[self.nodes[index].source] if self.origins else None
        return origin[0] if origin else None


def _index_text(index: tuple) -> str:
    parts = []
    for item in index:
        if isinstance(item, tuple):
            parts.append(":".join("" if b is None else str(b) for b in item[1:]).rstrip(":") or ":")
        else:
            parts.append("None" if item is None else str(item))
    return ", ".join(parts)


def build_graph(expr: Expr, registry, shapes: Mapping[str, Shape] | None = None) -> Graph:
    """The graph of `expr` for variables of the given shapes (scalars where not given)."""
    return build_program([Binding(None, expr)], registry, shapes)


def build_program(bindings: list[Binding], registry, shapes: Mapping[str, Shape] | None = None,
                  functions: Mapping[str, object] | None = None) -> Graph:
    """One graph for a program's forward assignments (later ones see earlier names); the last one is f.
    `functions` (lang.program.Function) are Python functions, inlined where they are called."""
    with paused_gc(sum(len(b.expr.nodes) for b in bindings)):
        shapes = shapes or {}
        if len(bindings) == 1 and bindings[0].name is None and not functions and not any(shapes.values()) \
                and isinstance(bindings[0].expr.nodes, LazyNodes):
            graph = _scalar_graph(bindings[0].expr, registry, shapes)
            if graph is not None:
                return graph
        return _Builder(registry, shapes, functions or {}).build(bindings)


class Labels(LazyRows):
    """A scalar graph's labels, made when asked for: a variable's name, a constant's text, `f` for the output gate,
    and `{op}{count}` for the others (numbered in node order, all of them the first time one is asked for)."""

    __slots__ = ("ops", "names", "values", "_numbered")

    def __init__(self, ops: list[str], names: list[str], values: list[float]):
        super().__init__(len(ops))
        self.ops, self.names, self.values, self._numbered = ops, names, values, None

    def _make(self, i: int) -> str:
        op = self.ops[i]
        if op == "var":
            return self.names[i]
        if op == "const":
            return self.names[i] or f"{self.values[i]:g}"
        if i == len(self.ops) - 1:
            return "f"
        if self._numbered is None:
            counters: dict[str, int] = {}
            numbered = []
            for name in self.ops:
                counters[name] = count = counters.get(name, 0) + 1
                numbered.append(count)
            self._numbered = numbered
        return f"{op}{self._numbered[i]}"


def _scalar_graph(expr: Expr, registry, shapes: Mapping[str, Shape]) -> Graph | None:
    """A scalar expression's graph straight from the parser's columns, or None where the general builder is needed
    (an op that is not elementwise: its shape rule may have something to say).

    One loop over the columns (the 10^5-gate path: each line of it runs per node); the labels are made when asked
    for (Labels), so the loop writes no text."""
    c = expr.nodes.columns
    ops = registry.ops
    for op in set(c.ops).difference(("var", "const", "num")):
        entry = ops.get(op)
        if entry is None or entry.partials is None:
            return None
    graph_ops: list[str] = []
    inputs_of: list[tuple[int, ...]] = []
    expr_index: list[int] = []
    values: list[float] = []
    varies: list[bool] = []
    names: list[str] = []
    add_op, add_inputs, add_index, add_value, add_varies, add_name = (graph_ops.append, inputs_of.append, expr_index.append,
                                                                      values.append, varies.append, names.append)
    built: list[int] = []  # Expr node index -> graph node index
    add_built = built.append
    last_use: list[int] = []  # per graph node, the last node that reads it (itself if none)
    add_use = last_use.append
    variable_node: dict[str, int] = {}
    size = 0
    for e, (op, args) in enumerate(zip(c.ops, c.args)):
        if args:
            add_built(size)
            if len(args) == 2:
                a, b = built[args[0]], built[args[1]]
                add_inputs((a, b))
                last_use[a] = last_use[b] = size
                add_varies(varies[a] or varies[b])
            elif len(args) == 1:
                a = built[args[0]]
                add_inputs((a,))
                last_use[a] = size
                add_varies(varies[a])
            else:
                inputs = tuple([built[k] for k in args])
                add_inputs(inputs)
                for k in inputs:
                    last_use[k] = size
                add_varies(any([varies[k] for k in inputs]))
            add_op(op), add_index(e), add_value(0.0), add_name(""), add_use(size)
            size += 1
            continue
        name = c.names[e]
        if op == "var" or (op == "const" and name in shapes):
            index = variable_node.get(name)
            if index is None:
                index = variable_node[name] = size
                add_op("var"), add_inputs(()), add_index(e), add_value(0.0), add_varies(True), add_name(name), add_use(size)
                size += 1
            add_built(index)
            continue
        add_built(size)
        add_op("const"), add_inputs(()), add_index(e), add_value(c.values[e]), add_varies(False), add_name(name), add_use(size)
        size += 1
    flat = Flat(graph_ops, inputs_of, Labels(graph_ops, names, values), expr_index, values, varies, [()] * size, [0] * size,
                frozenset(graph_ops), False)
    variables = tuple(variable_node)
    return Graph((expr,), LazyIRNodes(flat), variables, tuple(variable_node.values()), _dead_after(last_use), registry, {}, (None,),
                 (None,) * size, {v: () for v in variables}, True, flat)


class _Builder:
    def __init__(self, registry, shapes: Mapping[str, Shape], functions: Mapping[str, object]):
        self.registry, self.shapes, self.functions = registry, shapes, functions
        self.nodes: list[IRNode] = []
        self.last_use: list[int] = []  # parallel to nodes: the last node reading it (itself if none)
        self.variable_node: dict[str, int] = {}
        self.counters: dict[str, int] = {}
        self.exprs: list[Expr] = []
        self.origins: list = []
        self.named_nodes: set[int] = set()
        self.node_lines: list = []  # per node: the program line of the binding that created it (call site when inlined)
        self.current_line = None
        self.depth = 0

    def build(self, bindings: list[Binding]) -> Graph:
        env: dict[str, int] = {}
        for binding in bindings:
            self.current_line = binding.origin[0] if binding.origin else None
            root = self.expression(binding.expr, env, binding.origin)
            if binding.name is not None:
                root = self.named(root, binding.name)
                env[binding.name] = root
        nodes = self.nodes
        last = nodes[-1]  # the root is always created last; a bare variable or constant keeps its own label
        if last.op not in ("var", "const") and bindings[-1].name is None:
            nodes[-1] = _relabel(last, "f")
        variables = tuple(self.variable_node)
        shapes = {v: nodes[self.variable_node[v]].shape for v in variables}
        scalar_only = not any(n.shape for n in nodes)
        return Graph(tuple(self.exprs), tuple(nodes), variables, tuple(self.variable_node[v] for v in variables),
                     _dead_after(self.last_use), self.registry, env, tuple(self.origins), tuple(self.node_lines),
                     shapes, scalar_only, Flat.of(nodes) if scalar_only else None)

    def named(self, root: int, name: str) -> int:
        """The node holding a program's name: a gate's own node, or a copy when the value is another name's."""
        node = self.nodes[root]
        if node.op in ("var", "const") or root in self.named_nodes:
            copy = self.append(IRNode("copy", (root,), name, node.expr_index, node.shape, 0.0, (), node.varies, (), node.source))
            self.last_use[root] = copy
            root = copy
        else:
            self.nodes[root] = _relabel(node, name)
        self.named_nodes.add(root)
        return root

    def append(self, node: IRNode) -> int:
        self.nodes.append(node)
        self.last_use.append(len(self.nodes) - 1)
        self.node_lines.append(self.current_line)
        return len(self.nodes) - 1

    def expression(self, expr: Expr, env: dict[str, int], origin) -> int:
        source = len(self.exprs)
        self.exprs.append(expr)
        self.origins.append(origin)
        built: list[int] = []  # Expr node index -> graph node index
        nodes, last_use, node_lines, line = self.nodes, self.last_use, self.node_lines, self.current_line
        for expr_index, enode in enumerate(expr.nodes):
            op = enode.op
            if op == "var" or (op == "const" and (enode.name in env or enode.name in self.shapes)):  # a program's `e = 1 + d`
                built.append(env[enode.name] if enode.name in env else self.variable(enode.name, expr_index, source))
                continue
            if op == "num" or op == "const":
                node = IRNode("const", (), enode.name or f"{enode.value:g}", expr_index, (), enode.value, source=source)
            elif op in self.functions:
                built.append(self.inline(self.functions[op], [built[a] for a in enode.args], env))
                continue
            else:
                node = self.gate(enode, expr_index, tuple([built[a] for a in enode.args]), source, expr)
            built.append(len(nodes))  # append() inlined: this loop runs once per gate of a 10^5-gate expression
            last_use.append(len(nodes))
            node_lines.append(line)
            nodes.append(node)
        return built[-1]

    def inline(self, function, arguments: list[int], env: dict[str, int]) -> int:
        """A Python function's body, built on the call's arguments; the program's names are its globals."""
        self.depth += 1
        if self.depth > 100:
            raise ShapeError(f"function '{function.name}' calls itself (recursion is not supported)", Position("", 0))
        local = dict(env)
        local.update(zip(function.parameters, arguments))
        for statement in function.body:
            local[statement.target] = self.expression(statement.expr, local, (statement.line, statement.expr_column))
        result = self.expression(function.result, local, (function.line, function.result_column))
        self.depth -= 1
        return result

    def variable(self, name: str, expr_index: int, source: int) -> int:
        index = self.variable_node.get(name)
        if index is None:
            index = self.variable_node[name] = self.append(
                IRNode("var", (), name, expr_index, tuple(self.shapes.get(name, ())), 0.0, (), True, source=source))
        return index

    def gate(self, enode, expr_index: int, inputs: tuple[int, ...], source: int, expr: Expr) -> IRNode:
        nodes, index = self.nodes, len(self.nodes)
        op = self.registry.ops[enode.op]
        input_shapes = [nodes[i].shape for i in inputs]
        varies = False
        for i in inputs:
            varies = varies or nodes[i].varies
            self.last_use[i] = index
        count = self.counters[enode.op] = self.counters.get(enode.op, 0) + 1
        if op.partials is not None and not any(input_shapes):  # scalar gates: nothing to infer or align
            return IRNode(enode.op, inputs, f"{enode.op}{count}", expr_index, (), 0.0, enode.params, varies, (), source)
        shape = input_shapes[0] if op.elementwise and len(inputs) == 1 else self.shape_of(op, enode, input_shapes, expr)
        align = ()
        if op.elementwise and any(len(s) != len(shape) for s in input_shapes):
            align = tuple(len(shape) - len(s) if (s or nodes[i].varies) else 0 for s, i in zip(input_shapes, inputs))
            align = align if any(align) else ()  # a constant scalar broadcasts as it is
        return IRNode(enode.op, inputs, f"{enode.op}{count}", expr_index, shape, 0.0, enode.params, varies, align, source)

    def shape_of(self, op, enode, input_shapes: list[Shape], expr: Expr) -> Shape:
        if not any(input_shapes) and op.elementwise:
            return ()
        try:
            return tuple(op.shape(*input_shapes, **dict(enode.params)))
        except ShapeMismatch as problem:
            at = enode.at if enode.at >= 0 else enode.start
            where = f" for {op.symbol}" if op.elementwise else ""
            raise ShapeError(f"{problem}{where}", Position(expr.text, at)) from None


def _relabel(node: IRNode, label: str) -> IRNode:
    return IRNode(node.op, node.inputs, label, node.expr_index, node.shape, node.value, node.params, node.varies,
                  node.align, node.source)


def _dead_after(last_use: list[int]) -> tuple[tuple[int, ...], ...]:
    """Per node, the inputs it reads for the last time (the output is never dropped), in ascending order.
    A gate reads one to three values: its tuple grows in place (no list made and copied per node); a node that reads
    many (a stack of 10^4 values) collects them in a list, turned into a tuple at the end."""
    grouped: list = [()] * len(last_use)
    many: list[int] = []
    for i, index in enumerate(last_use[:-1]):
        if index != i:
            group = grouped[index]
            if group.__class__ is list:
                group.append(i)
            elif len(group) < 8:
                grouped[index] = group + (i,)
            else:
                grouped[index] = [*group, i]
                many.append(index)
    for index in many:
        grouped[index] = tuple(grouped[index])
    return tuple(grouped)
