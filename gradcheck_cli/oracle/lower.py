"""Expr + tensor inputs → a scalar DAG, using numpy's own object-array semantics for shapes.

Every tensor becomes a numpy object array of `Scalar` handles; `X @ W`, `sum`, broadcasting and
indexing are numpy's, applied to handles whose arithmetic appends scalar nodes. So the tensor rules
here are numpy's definitions, not ops/'s VJPs: an independent lowering (DESIGN: oracle/lower.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np

from ..lang.expr import Expr


class TooLarge(Exception):
    """The lowered case would have more scalar operations than the oracle evaluates in its budget."""


@dataclass(slots=True)
class Dag:
    """Scalar nodes in topological order: op, argument indices, and a payload (leaf value, or variable element)."""

    ops: list[str]
    args: list[tuple[int, ...]]
    payload: list[object]  # num: float; const: name; input: (name, flat index, float value)
    limit: int = 1 << 62

    def add(self, op: str, args: tuple[int, ...] = (), payload: object = None) -> "Scalar":
        if len(self.ops) >= self.limit:
            raise TooLarge(len(self.ops))
        self.ops.append(op)
        self.args.append(args)
        self.payload.append(payload)
        return Scalar(self, len(self.ops) - 1)

    def number(self, value: float) -> "Scalar":
        return self.add("num", (), float(value))


class Scalar:
    """A handle on one DAG node; Python's operators append nodes, so numpy object arrays lower themselves."""

    __slots__ = ("dag", "index")

    def __init__(self, dag: Dag, index: int):
        self.dag, self.index = dag, index

    def _other(self, other: object) -> "Scalar":
        return other if isinstance(other, Scalar) else self.dag.number(other)

    def apply(self, op: str, *others: object) -> "Scalar":
        return self.dag.add(op, (self.index, *(self._other(o).index for o in others)))

    def __add__(self, other): return self.apply("add", other)
    def __radd__(self, other): return self._other(other).apply("add", self)
    def __sub__(self, other): return self.apply("sub", other)
    def __rsub__(self, other): return self._other(other).apply("sub", self)
    def __mul__(self, other): return self.apply("mul", other)
    def __rmul__(self, other): return self._other(other).apply("mul", self)
    def __truediv__(self, other): return self.apply("div", other)
    def __rtruediv__(self, other): return self._other(other).apply("div", self)
    def __pow__(self, other): return self.apply("pow", other)
    def __rpow__(self, other): return self._other(other).apply("pow", self)
    def __neg__(self): return self.apply("neg")
    def __pos__(self): return self


def _unary(op: str):
    return np.frompyfunc(lambda a: a.apply(op), 1, 1)


def _binary(op: str):
    return np.frompyfunc(lambda a, b: a.apply(op, b), 2, 1)


def lift(dag: Dag, value) -> np.ndarray:
    """Plain numbers (numpy's zeros in np.diag, literal constants) as handles, so every element is a Scalar."""
    handle = np.frompyfunc(lambda item: item if isinstance(item, Scalar) else dag.number(item), 1, 1)
    return np.asarray(handle(np.asarray(value, dtype=object)), dtype=object)


_UNARY = {name: _unary(name) for name in ("sigma", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "relu", "abs", "sign")}
_BINARY = {name: _binary(name) for name in ("max", "min", "gt", "lt", "ge", "le")}


def _axis(params: dict, default=None):
    axis = params.get("axis", default)
    return tuple(axis) if isinstance(axis, list) else axis


def _reduce_sum(a, params):
    return np.sum(a, axis=_axis(params), keepdims=bool(params.get("keepdims", False)))


def _count(a, axis) -> int:
    if axis is None:
        return a.size
    axes = axis if isinstance(axis, tuple) else (axis,)
    return math.prod(a.shape[k] for k in axes)


def _logsumexp(dag, a, axis, keepdims):
    return _UNARY["log"](np.sum(_UNARY["exp"](a), axis=axis, keepdims=keepdims))


def _index(index: tuple) -> tuple:
    return tuple(slice(*item[1:]) if isinstance(item, tuple) else item for item in index)


def _apply(dag: Dag, op: str, args: list, params: dict):
    """One tensor operation on object arrays, by numpy's definition of it."""
    if op in _UNARY:
        return _UNARY[op](args[0])
    if op in _BINARY:
        return _BINARY[op](args[0], args[1])
    a = args[0]
    if op in ("add", "sub", "mul", "div", "pow"):
        b = args[1]
        return {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide, "pow": np.power}[op](a, b)
    if op == "neg":
        return np.negative(a)
    if op == "matmul":
        return np.matmul(a, args[1])
    if op == "dot":
        return np.dot(a, args[1])
    if op == "sum":
        return _reduce_sum(a, params)
    if op == "mean":
        return _reduce_sum(a, params) / _count(a, _axis(params))
    if op == "softmax":
        e = _UNARY["exp"](a)
        return e / np.sum(e, axis=_axis(params, -1), keepdims=True)
    if op == "log_softmax":
        return a - _logsumexp(dag, a, _axis(params, -1), True)
    if op == "logsumexp":
        return _logsumexp(dag, a, _axis(params, -1), bool(params.get("keepdims", False)))
    if op == "transpose":
        return np.transpose(a, params.get("axes"))
    if op == "reshape":
        return np.reshape(a, params.get("shape", ()))
    if op == "index":
        return a[_index(params["index"])]
    if op == "stack":
        return np.stack([np.asarray(x, dtype=object) for x in args])
    if op == "outer":
        return np.outer(a, args[1])
    if op == "diag":
        return np.diag(a)
    if op == "diagflat":
        return np.diagflat(a)
    raise KeyError(f"the oracle has no lowering for {op!r}")


def lower(bindings, shapes: Mapping[str, tuple[int, ...]], definitions: Mapping[str, "Definition"] | None = None,
          limit: int = 1 << 62) -> tuple[Dag, np.ndarray, dict[str, np.ndarray]]:
    """(the DAG, the output as an object array of handles, each input as an object array of its leaf handles).
    `bindings`: [(name or None, Expr)], a program's forward lines (later ones see earlier names); the last is f."""
    dag = Dag([], [], [], limit)
    leaves: dict[str, np.ndarray] = {}
    scalar = not definitions
    for name, shape in shapes.items():
        if shape == ():  # a scalar: one handle, no list
            leaves[name] = _handle(dag.add("input", (), (name, 0, 0.0)))
            continue
        scalar = False
        flat = [dag.add("input", (), (name, k, 0.0)) for k in range(math.prod(shape))]
        leaves[name] = np.array(flat + [None], dtype=object)[:-1].reshape(shape)
    if scalar and all([_scalar_only(e) for _, e in bindings]):
        env = {name: k for k, name in enumerate(shapes)}  # the inputs are the first nodes, one per scalar
        output = 0
        for name, expr in bindings:
            output = _lower_scalar(dag, expr, env)
            if name is not None:
                env[name] = output
        return dag, _handle(Scalar(dag, output)), leaves
    env = dict(leaves)
    built = None
    for name, expr in bindings:
        built = lift(dag, lower_into(dag, expr, env, definitions or {}))
        if name is not None:
            env[name] = built
    return dag, built, leaves


_ARITHMETIC = frozenset({"add", "sub", "mul", "div", "pow", "neg"})
_SCALAR_OPS = _ARITHMETIC | set(_UNARY) | set(_BINARY) | {"var", "num", "const", "copy"}


def _columns(expr: Expr):
    """(op, args, name, value) per node, from the fast parser's columns where it made them (no Node objects)."""
    columns = getattr(expr.nodes, "columns", None)
    if columns is not None:
        return zip(columns.ops, columns.args, columns.names, columns.values)
    return ((n.op, n.args, n.name, n.value) for n in expr.nodes)


def _scalar_only(expr: Expr) -> bool:
    columns = getattr(expr.nodes, "columns", None)
    return _SCALAR_OPS.issuperset(columns.ops if columns is not None else [n.op for n in expr.nodes])


def _handle(scalar: "Scalar") -> np.ndarray:
    array = np.empty((), dtype=object)
    array[()] = scalar
    return array


def _lower_scalar(dag: Dag, expr: Expr, env: dict[str, int]) -> int:
    """A scalar case in one loop over the nodes, no object arrays: the same nodes, in the same order, as
    lower_into makes through numpy (a test compares the two on random expressions)."""
    built: list[int] = []
    ops, all_args, payloads = dag.ops, dag.args, dag.payload
    keep, add_op, add_args, add_payload = built.append, ops.append, all_args.append, payloads.append
    for op, args, name, value in _columns(expr):
        if op == "var" or (op == "const" and name in env):
            keep(env[name])
            continue
        if op == "copy":
            keep(built[args[0]])
            continue
        keep(len(ops))
        add_op(op)
        if op == "num":
            add_args(()), add_payload(float(value))
        elif op == "const":
            add_args(()), add_payload(name)
        else:
            add_args((built[args[0]], built[args[1]]) if len(args) == 2 else tuple([built[a] for a in args]))
            add_payload(None)
    if len(ops) > dag.limit:
        raise TooLarge(len(ops))
    return built[-1]


def lower_into(dag: Dag, expr: Expr, env: Mapping[str, np.ndarray], definitions: Mapping[str, "Definition"]) -> np.ndarray:
    """The object array of `expr`'s value, its variables taken from `env` (a program's names, a gate's arguments)."""
    built: list[np.ndarray] = []
    for node in expr.nodes:
        if node.op == "var" or (node.op == "const" and node.name in env):  # a program may name a value `e`
            built.append(env[node.name])
        elif node.op == "num":
            built.append(lift(dag, node.value))
        elif node.op == "const":
            built.append(lift(dag, dag.add("const", (), node.name)))
        elif node.op == "copy":
            built.append(built[node.args[0]])
        elif node.op in definitions:
            built.append(lift(dag, _inline(dag, definitions[node.op], [built[a] for a in node.args], env, definitions)))
        else:
            args = [lift(dag, built[a]) for a in node.args]
            built.append(lift(dag, _apply(dag, node.op, args, dict(node.params))))
    return built[-1]


@dataclass(frozen=True, slots=True)
class Definition:
    """A user's function or gate as the oracle sees it: parameters, local assignments, the result (never a rule)."""

    parameters: tuple[str, ...]
    body: Expr
    locals: tuple[tuple[str, Expr], ...] = ()


def _inline(dag: Dag, definition: Definition, arguments: list, env: Mapping[str, np.ndarray], definitions) -> np.ndarray:
    local = dict(env)  # the program's names are the function's globals
    local.update({p: lift(dag, a) for p, a in zip(definition.parameters, arguments)})
    for name, expr in definition.locals:
        local[name] = lift(dag, lower_into(dag, expr, local, definitions))
    return lower_into(dag, definition.body, local, definitions)
