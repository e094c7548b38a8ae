"""engine.forward_output for scalar graphs (Graph.flat): the same op calls over the columns, without the detours
a tensor node needs (alignment, parameters, shapes), so a stencil pass costs one numpy call per gate and little more."""

from __future__ import annotations

import numpy as np

from .engine import _Leaves, _changed


def applies(graph) -> bool:
    return graph.flat is not None and not any(graph.flat.params)


def forward_output(graph, inputs: dict, dtype, base_signs=None, row_point=None):
    """f for every row, and per piecewise gate which rows changed branch against their base point (and where)."""
    flat = graph.flat
    leaf = _Leaves(graph, inputs, dtype)
    table = graph.registry.ops
    ops = {name: table[name] for name in set(flat.ops) if name not in ("var", "const")}
    float_dtype = np.dtype(dtype).kind == "f"
    values: list = [None] * len(flat.ops)
    changes: dict = {}
    with np.errstate(all="ignore"):
        for index, (name, inputs_, dead) in enumerate(zip(flat.ops, flat.inputs, graph.dead_after)):
            if name == "var":
                value = np.asarray(inputs[flat.labels[index]], dtype=dtype)
                values[index] = value.reshape(1) if value.ndim == 0 else value
                continue
            if name == "const":
                values[index] = dtype(flat.values[index]) if float_dtype else np.float64(flat.values[index])
                continue
            op = ops[name]
            if len(inputs_) == 1:
                args = (values[inputs_[0]],)
            elif len(inputs_) == 2:
                args = (values[inputs_[0]], values[inputs_[1]])
            else:
                args = tuple([values[i] for i in inputs_])
            values[index] = op.forward(*args)
            if base_signs is not None and op.branch is not None:
                changes[index] = _changed(op.branch(*args), base_signs[index], row_point, ())
            for i in dead:
                values[i] = None
    return leaf.full(values[-1], ()), changes
