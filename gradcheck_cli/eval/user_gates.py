"""User-defined gates: `def softplus(t) = log(1 + exp(t))` with `d softplus/dt = sigma(t)`.

A gate is elementwise: its body and each rule are expressions in its parameters, evaluated by the
engine on the (broadcast) elements. The backward pass uses the user's rule, so a wrong rule shows up
in the analytic column; the oracle never sees the rule, only the body (it inlines the definition).
Here rather than in ops/: a gate's forward and partials are graphs this package's engine runs, and ops/ sits
below the evaluator.
"""

from __future__ import annotations

import numpy as np

from ..errors import GradcheckError, Position
from ..ops.registry import Registry, elementwise


def _evaluator(expr, parameters: tuple[str, ...], holder: dict):
    """f(*arrays) → the expression at every (broadcast) element, through a scalar graph built once."""
    graphs = {}

    def run(*arrays):
        from ..ir import build_graph
        from .engine import forward

        if "graph" not in graphs:
            graphs["graph"] = build_graph(expr, holder["registry"], {})
        graph = graphs["graph"]
        arrays = np.broadcast_arrays(*arrays)
        shape = arrays[0].shape
        dtype = np.result_type(*arrays, np.float32)
        inputs = {p: np.asarray(a, dtype=dtype).reshape(-1) for p, a in zip(parameters, arrays) if p in graph.variables}
        value = forward(graph, inputs, dtype.type)[-1]
        return np.broadcast_to(value, (max(1, int(np.prod(shape))),)).reshape(shape) if shape else value.reshape(())
    return run


def user_gates(functions: dict, rules: dict[str, dict[str, object]], registry: Registry) -> Registry:
    """The registry with every gate that has rules added (in definition order, so later gates may call earlier ones)."""
    holder: dict = {}
    ops = []
    for name, function in functions.items():
        if not function.gate or name not in rules:
            continue
        missing = [p for p in function.parameters if p not in rules[name]]
        if missing:
            raise GradcheckError(f"gate '{name}' has no derivative rule for {', '.join(repr(m) for m in missing)}: "
                                 f"add `d {name}/d{missing[0]} = ...`", Position(f"def {name}", 4, source_name=f"line {function.line}"))
        forward = _evaluator(function.result, function.parameters, holder)
        partials = tuple(_partial(rules[name][p], function.parameters, holder) for p in function.parameters)
        ops.append(elementwise(name, forward, partials, domain=f"outside the domain of your gate {name}"))
    from ..lang.spelling import Signature

    extended = registry.with_ops(ops, {op.name: Signature(op.arity) for op in ops})
    holder["registry"] = extended
    return extended


def _partial(expr, parameters: tuple[str, ...], holder: dict):
    run = _evaluator(expr, parameters, holder)
    return lambda ans, *args: run(*args)
