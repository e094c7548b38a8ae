"""What a wrong d-line got wrong, in words where it can be told: a transposed matrix, a flipped sign, a factor 2, a
missing or extra factor NAME, a missing relu mask, the wrong upstream d-name, a forward name read in place of
another; else the two values. `state` is judge.py's program at its point (its env, truths and plan), `evaluate` its
way of computing a line with other names bound (judge.evaluate)."""

from __future__ import annotations

from typing import Callable

import numpy as np

from ..errors import GradcheckError
from ..lang.program import Statement
from ..report.text import values_text
from ..verdict import agree


def close_enough(state, a, b, scale=0.0) -> bool:
    """Does the value a line gives (a) pass against what it should be (b)? The one judge decides (verdict.agree)."""
    return bool(agree(a, np.asarray(b, dtype=np.float64)[None], state.tolerance, scale)[0])


def diagnose(state, statement: Statement, name: str, value: np.ndarray, expected: np.ndarray, truths: dict,
             evaluate: Callable) -> str:
    """`value` is the line with true inputs (`truths`: the d-names it may read, bound to the truth), `expected` what it
    should be; `name` is the version key of what the line is for."""
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
    return (_factor(state, value, expected) or _mask(state, value, expected) or _upstream(state, statement, name, expected, truths, evaluate)
            or _swapped(state, statement, expected, truths, evaluate) or _number_factor(state, value, expected)
            or f"this line gives {values_text(value)}; the true value is {values_text(expected)}")


def _factor(state, value: np.ndarray, expected: np.ndarray) -> str | None:
    """Off by a factor equal to a forward value: `missing factor den`, `extra factor den`."""
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


def _number_factor(state, value: np.ndarray, expected: np.ndarray) -> str | None:
    """Off by a whole number written in the cell rather than named (dz = (p - y) for (p - y) / 8): the ratio of the
    largest element, when every element agrees with it (two elements at least: one number is a ratio of anything)."""
    if np.count_nonzero(expected) < 2:
        return None
    k = int(np.argmax(np.abs(expected)))
    with np.errstate(all="ignore"):
        ratio = float(value.reshape(-1)[k] / expected.reshape(-1)[k])
    if not np.isfinite(ratio) or ratio == 0:
        return None
    for factor, said in ((ratio, "an extra factor {n:g} (this line divided by {n:g} is right)"),
                         (1 / ratio, "a factor {n:g} is missing (this line times {n:g} is right)")):
        n = round(factor)
        if abs(n) >= 3 and abs(factor - n) <= 1e-9 * abs(n) and close_enough(state, value, expected * (n if said.startswith("an") else 1 / n)):
            return said.format(n=n)
    return None


def _mask(state, value: np.ndarray, expected: np.ndarray) -> str | None:
    """A relu's backward without its mask: right once multiplied by (z > 0) for a z the forward pass hands to relu
    (any other value of the right shape and signs would name a mask that is not there: (W2 > 0) for a1 read as z1)."""
    gated = _relu_arguments(state.plan)
    for other, given in state.env.items():
        given = np.asarray(given, dtype=np.float64)
        if given.shape != expected.shape or other not in gated:
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


def _swapped(state, statement: Statement, expected: np.ndarray, truths: dict, evaluate: Callable) -> str | None:
    """A forward value read in place of another of the same shape (z1 where a1 = relu(z1) belongs): the line with
    that one name bound to the other's value is right, and the two values differ here. Of several names that would
    do (y and c4 are both 0.7 at a seed's point), the one spelled most like the name read (c3 → c4)."""
    for read in statement.expr.variables:
        if read not in state.env or read in truths:
            continue
        mine = np.asarray(state.env[read], dtype=np.float64)
        right = []
        for other, given in state.env.items():
            given = np.asarray(given, dtype=np.float64)
            if other == read or given.shape != mine.shape or close_enough(state, given, mine) or np.all(given == 1) \
                    or not np.any(given):
                continue  # a value of ones or zeros (dot = 1 here) would stand in for a constant, not a name
            if _right_with(state, statement, {**truths, read: given}, expected, evaluate):
                right.append(other)
        if right:
            return f"reads {read} where {max(right, key=lambda other: _alike(read, other))} was needed"
    return None


def _alike(a: str, b: str) -> float:
    """How alike two names are spelled, 0 to 1 (c3 and c4: 0.5; c3 and y: 0)."""
    from difflib import SequenceMatcher

    return SequenceMatcher(None, a, b).ratio()


def _upstream(state, statement: Statement, name: str, expected: np.ndarray, truths: dict, evaluate: Callable) -> str | None:
    """The wrong upstream d-name: the line with d<read> replaced by the true d<other> is right, for a d<other> that
    an earlier line assigns (a line can read only those; db1 = dz1 later in the cell would name db1 for dz1)."""
    earlier = {s.target for s in state.plan.backward if s.line < statement.line}
    for read in statement.expr.variables:
        if not read.startswith("d") or read not in truths or read[1:] not in state.versions:
            continue
        for other, truth in state.truth.items():
            if truth is truths[read] or np.shape(truth) != np.shape(truths[read]) or not np.any(truth) \
                    or f"d{state.label(other)}" not in earlier:
                continue  # a d-value of zeros (every relu off) would explain any line whose truth is zero
            if _right_with(state, statement, {**truths, read: truth}, expected, evaluate):
                return f"reads {read} where d{state.label(other)} was needed"
    return None


def _right_with(state, statement: Statement, bound: dict, expected: np.ndarray, evaluate: Callable) -> bool:
    """Whether the line, with these names bound over the forward values, gives what it should."""
    try:
        value = evaluate(statement.expr, {**state.env, **bound}, state)
    except GradcheckError:
        return False
    return np.shape(value) == np.shape(expected) and close_enough(state, value, expected)
