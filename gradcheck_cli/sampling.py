"""Seeded random points where an expression can be checked: f, its gradient and every claim finite,
and no piecewise gate sitting exactly on its kink. Shared by `eval --samples` and expression files,
so `gradcheck eval EXPR --samples N --seed S` draws the same points as a file line with that EXPR.
"""

from __future__ import annotations

import zlib

import numpy as np

from .check import Claim
from .engine import backward, forward, variable_gradients
from .gates import GATES
from .graph import Graph

SAMPLE_LOW, SAMPLE_HIGH = -3.0, 3.0
SAMPLE_DECIMALS = 4  # short decimals: `.16g` prints them exactly, so `eval --at` reproduces the point bit for bit
MAX_CANDIDATES = 4096  # random candidates tried (at least; 4 per wanted point) before giving up
MAX_ROUNDS = 16  # vectorized rounds: bounds the time spent on huge graphs with no usable point
_CANDIDATE_CELLS = 1 << 18  # candidates x graph nodes per vectorized round: bounds memory for deep graphs


def _kink_free(graph: Graph, values: list[np.ndarray]) -> np.ndarray:
    """Rows where no piecewise gate sits exactly on its kink (relu/abs at 0, max/min ties)."""
    free = np.ones(len(values[graph.output]), dtype=bool)
    for node in graph.nodes:
        gate = GATES.get(node.op)
        if gate is not None and gate.branch is not None:
            free &= gate.branch(*(values[i] for i in node.inputs)) != 0
    return free


def _usable(graph: Graph, claims: dict[str, Claim], inputs: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(finite, kink-free) masks over a batch of candidate points: one vectorized pass each, no Python loop per point."""
    values = forward(graph, inputs)
    finite = np.isfinite(values[graph.output])
    for gradient in variable_gradients(graph, backward(graph, values)).values():
        finite &= np.isfinite(gradient)
    for claim in claims.values():
        claim_values = forward(claim.graph, {v: inputs[v] for v in claim.graph.variables})
        finite &= np.isfinite(claim_values[claim.graph.output])
    return finite, _kink_free(graph, values)


def _rng(seed: int, key: str) -> np.random.Generator:
    """Seeded by --seed and the expression's text: points do not move when other lines are added or reordered."""
    return np.random.default_rng([abs(seed), int(seed < 0), zlib.crc32(key.encode("utf-8"))])


def sample_points(graph: Graph, claims: dict[str, Claim], count: int, seed: int) -> tuple[list[dict[str, float]], int]:
    """Up to `count` points (and how many were drawn), uniform in [-3, 3] rounded to 4 decimals, where everything is
    finite; points on a kink only when too few others exist."""
    names = graph.variables
    if not names:  # a constant expression has one point, the empty one
        return [{}], 0
    rng = _rng(seed, graph.expr.text.strip())
    scale = 10.0 ** SAMPLE_DECIMALS
    cap = max(16, _CANDIDATE_CELLS // max(1, len(graph.nodes)))
    size = max(16, 4 * count)  # usually enough in one round; rounds grow 4x where the domain is small
    good: list[np.ndarray] = []
    on_kink: list[np.ndarray] = []
    drawn = rounds = 0
    limit = max(MAX_CANDIDATES, 4 * count)
    while drawn < limit and rounds < MAX_ROUNDS and sum(len(g) for g in good) < count:
        batch = min(size, max(cap, count), limit - drawn)
        candidates = np.rint(rng.uniform(SAMPLE_LOW, SAMPLE_HIGH, size=(batch, len(names))) * scale) / scale + 0.0
        drawn, rounds, size = drawn + batch, rounds + 1, size * 4
        finite, free = _usable(graph, claims, {n: candidates[:, k] for k, n in enumerate(names)})
        good.append(candidates[finite & free])
        on_kink.append(candidates[finite & ~free])
    rows = np.concatenate(good + on_kink)[:count]
    return [{n: float(row[k]) for k, n in enumerate(names)} for row in rows], drawn
