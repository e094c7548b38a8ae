"""Seeded random points where an expression can be checked: f, its gradient and every claim finite,
and no piecewise gate sitting exactly on its kink. Shared by `eval --samples` and expression files,
so `gradcheck eval EXPR --samples N --seed S` draws the same points as a file line with that EXPR.
Variables keep the graph's shapes: every element is drawn the same way.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

from ..eval.engine import branch_signs, forward
from ..eval.jacobian import effective_output, jacobian
from ..ir import Graph
from .claims import VALUE_CLAIM, Claim, claim_values

SAMPLE_LOW, SAMPLE_HIGH = -3.0, 3.0
SAMPLE_DECIMALS = 4  # short decimals: `.16g` prints them exactly, so `eval --at` reproduces the point bit for bit
MAX_CANDIDATES = 4096  # random candidates tried (at least; 4 per wanted point) before giving up
MAX_ROUNDS = 16  # vectorized rounds: bounds the time spent on huge graphs with no usable point
_CANDIDATE_CELLS = 1 << 18  # candidates x graph elements per vectorized round: bounds memory for deep graphs


def _flat(array: np.ndarray) -> np.ndarray:
    return array.reshape(array.shape[0], -1)


def _usable(graph: Graph, claims: dict[str, Claim], inputs: dict[str, np.ndarray], count: int) -> tuple[np.ndarray, np.ndarray]:
    """(finite, kink-free) masks over a batch of candidate points: one vectorized pass each, no Python loop per point."""
    values = forward(graph, inputs)
    finite = np.all(np.isfinite(_flat(values[-1])), axis=1)
    for gradient in jacobian(graph, values, graph.variables)[0].values():
        finite &= np.all(np.isfinite(_flat(gradient)), axis=1)
    for var, claim in claims.items():
        if claim.second is not None:  # second derivatives: judged where they are finite, not sampled for
            continue
        expected = effective_output(graph) + graph.shapes[var] if var != VALUE_CLAIM else graph.nodes[-1].shape
        finite &= np.all(np.isfinite(_flat(claim_values(claim, graph.registry, graph.shapes, inputs, expected, count))), axis=1)
    free = np.ones(count, dtype=bool)
    for sign in branch_signs(graph, values).values():
        free &= np.all(_flat(np.broadcast_to(sign, (count, *sign.shape[1:]))) != 0, axis=1)
    return finite, free


def _rng(seed: int, key: str) -> np.random.Generator:
    """Seeded by --seed and the expression's text: points do not move when other lines are added or reordered."""
    return np.random.default_rng([abs(seed), int(seed < 0), zlib.crc32(key.encode("utf-8"))])


def sample_points(graph: Graph, claims: dict[str, Claim], count: int, seed: int) -> tuple[list[dict[str, np.ndarray]], int]:
    """Up to `count` points (and how many were drawn), uniform in [-3, 3] rounded to 4 decimals, where everything is
    finite; points on a kink only when too few others exist."""
    names = graph.variables
    if not names:  # a constant expression has one point, the empty one
        return [{}], 0
    shapes = graph.shapes
    sizes = [math.prod(shapes[n]) for n in names]
    width = sum(sizes)
    rng = _rng(seed, graph.expr.text.strip())
    scale = 10.0 ** SAMPLE_DECIMALS
    cap = max(16, _CANDIDATE_CELLS // max(1, sum(math.prod(n.shape) for n in graph.nodes)))
    size = max(16, 4 * count)  # usually enough in one round; rounds grow 4x where the domain is small
    good: list[np.ndarray] = []
    on_kink: list[np.ndarray] = []
    drawn = rounds = 0
    limit = max(MAX_CANDIDATES, 4 * count)
    offsets = np.cumsum([0, *sizes])
    while drawn < limit and rounds < MAX_ROUNDS and sum(len(g) for g in good) < count:
        batch = min(size, max(cap, count), limit - drawn)
        candidates = np.rint(rng.uniform(SAMPLE_LOW, SAMPLE_HIGH, size=(batch, width)) * scale) / scale + 0.0
        drawn, rounds, size = drawn + batch, rounds + 1, size * 4
        inputs = {n: candidates[:, offsets[k]:offsets[k + 1]].reshape((batch, *shapes[n])) for k, n in enumerate(names)}
        finite, free = _usable(graph, claims, inputs, batch)
        good.append(candidates[finite & free])
        on_kink.append(candidates[finite & ~free])
    rows = np.concatenate(good + on_kink)[:count]
    return [{n: row[offsets[k]:offsets[k + 1]].reshape(shapes[n]) for k, n in enumerate(names)} for row in rows], drawn


def own_scale(value: np.ndarray) -> float:
    """The root mean square of a value's elements: the scale a new draw of it takes (1 for zeros or non-finite)."""
    value = np.asarray(value, dtype=np.float64)
    scale = float(np.sqrt(np.mean(np.square(value)))) if value.size else 1.0
    return scale if np.isfinite(scale) and scale > 0 else 1.0


def drawn_like(value: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`value` drawn anew: normal, at its own scale, its shape. The random draws of a program's inputs and of a
    layer's, where a backward pass right only at the given values (a relu mask left out) shows."""
    value = np.asarray(value, dtype=np.float64)
    return rng.standard_normal(value.shape) * own_scale(value)
