"""What a wrong d-line got wrong, in words: tried in turn, the first explanation that reproduces the truth wins."""

from __future__ import annotations

import numpy as np

from .errors import GradcheckError
from .lang.program import Statement


def _number(value) -> str:
    array = np.asarray(value, dtype=np.float64)
    if array.size == 1:
        return f"{float(array.reshape(-1)[0]):.10g}"
    return np.array2string(array, precision=6, separator=", ", max_line_width=1 << 20).replace("\n", "")


def diagnose(state, statement: Statement, name: str, value: np.ndarray, expected: np.ndarray, truths: dict) -> str:
    """`value` is the line with true inputs (`truths`: the d-names it may read, bound to the truth), `expected` what it
    should be; `name` is the version key of what the line is for."""
    from .lines import close_enough

    value, expected = np.asarray(value, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    if value.shape != expected.shape and value.size != 1:
        transposed = value.ndim == 2 and value.T.shape == expected.shape and close_enough(state, value.T, expected)
        said = f"d{state.label(name)}"
        return (f"a transposed matrix: this line has shape {value.shape} where {said} has shape {expected.shape}, "
                "and its transpose is right" if transposed else f"shape {value.shape}, but {said} has shape {expected.shape}")
    value = np.broadcast_to(value.reshape(()) if value.size == 1 else value, expected.shape)
    if value.ndim == 2 and value.shape[0] == value.shape[1] and not close_enough(state, value, expected) and close_enough(state, value.T, expected):
        return "a transposed matrix: the transpose of this line is right"
    if close_enough(state, -value, expected) and not close_enough(state, value, 0 * value):
        return "the sign is flipped"
    for factor, said in ((2.0, "twice the true value: a factor 2 too many"), (0.5, "half the true value: a factor 2 is missing")):
        if close_enough(state, value, factor * expected) and not close_enough(state, expected, 0 * expected):
            return said
    return (_factor(state, value, expected) or _mask(state, value, expected) or _upstream(state, statement, name, expected, truths)
            or f"this line gives {_number(value)}; the true value is {_number(expected)}")


def _factor(state, value: np.ndarray, expected: np.ndarray) -> str | None:
    """Off by a factor equal to a forward value: `missing factor den`, `extra factor den`."""
    from .lines import close_enough

    if close_enough(state, expected, 0 * expected):
        return None
    for other, given in state.env.items():
        given = np.asarray(given, dtype=np.float64)
        if given.size != 1 and given.shape != expected.shape:
            continue
        if np.all(np.abs(given) == 1):
            continue  # a factor 1 (or a mask of ones) explains nothing
        if close_enough(state, value * given, expected):
            return f"a factor {other} is missing (this line times {other} is right)"
        if close_enough(state, value, expected * given):
            return f"an extra factor {other} (this line divided by {other} is right)"
    return None


def _mask(state, value: np.ndarray, expected: np.ndarray) -> str | None:
    """A relu's backward without its mask: right once multiplied by (z > 0) for a forward value z."""
    from .lines import close_enough

    gated = _relu_arguments(state.plan)
    for other, given in state.env.items():
        given = np.asarray(given, dtype=np.float64)
        if given.shape != expected.shape or (given.size == 1 and other not in gated):  # a scalar only if relu reads it
            continue
        mask = (given > 0).astype(np.float64)
        if not np.all(mask == 1) and close_enough(state, value * mask, expected):
            return f"a mask is missing: this line times ({other} > 0) is right"
    return None


def _relu_arguments(plan) -> set[str]:
    """Names the forward pass hands to relu, or to max/min beside a constant (max(0, z2)): where a mask belongs."""
    names = set()
    for statement in plan.forward:
        nodes = statement.expr.nodes
        for node in nodes:
            if node.op == "relu" or (node.op in ("max", "min") and any(nodes[a].op in ("num", "const") for a in node.args)):
                names.update(nodes[a].name for a in node.args if nodes[a].op == "var")
    return names


def _upstream(state, statement: Statement, name: str, expected: np.ndarray, truths: dict) -> str | None:
    """The wrong upstream d-name: the line with d<read> replaced by the true d<other> is right."""
    from .lines import close_enough, evaluate

    for read in statement.expr.variables:
        if not read.startswith("d") or read not in truths or read[1:] not in state.versions:
            continue
        for other, truth in state.truth.items():
            if truth is truths[read] or np.shape(truth) != np.shape(truths[read]):
                continue
            try:
                value = evaluate(statement.expr, {**state.env, **truths, read: truth}, state)
            except GradcheckError:
                continue
            if np.shape(value) == np.shape(expected) and close_enough(state, value, expected):
                return f"reads {read} where d{state.label(other)} was needed"
    return None
