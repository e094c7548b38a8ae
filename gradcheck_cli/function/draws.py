"""Random draws of the checked inputs of a function or a layer, where its gradient must hold too.

The inputs a gradient is checked at can hide a wrong one: seed 002's Task 3 draws its weights with `np.random.rand`,
all positive, so every pre-activation is positive, relu's mask is all ones, and a `bprop` without the mask gives the
true gradient there. So when every gradient passes at the given inputs, the checked float64 inputs are drawn again
(normal, each at its own scale: the root mean square of its value), and at each draw a cheap screen compares the
gradient along a random direction with f's centered difference along it (two forward calls, one backward). The screen
decides nothing: where it sees a disagreement, the whole check runs at that draw, and only its `mismatch` (the one
judge's) replaces the case, with a note saying so. Labels and other inputs keep their values; float32 code is not
drawn (its differences are too coarse for a screen this cheap), nor is an f whose value is not a scalar.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Mapping, Protocol

import numpy as np

from ..inputs.sampling import drawn_like, own_scale
from ..numeric.differences import CENTERED_STEP
from ..results import CaseResult

DRAWS = 3
SCREEN = 1e-5  # |difference - gradient·v| beyond this share of Σ|g·v| (plus rounding) sends a draw to the full check


def drawn(flat: dict[str, np.ndarray], names: tuple[str, ...], rng: np.random.Generator) -> dict[str, np.ndarray]:
    """`flat` with each of `names` drawn normal at its own scale."""
    return {**flat, **{name: drawn_like(flat[name], rng) for name in names}}


class Calls(Protocol):
    """What the screen calls: f's scalar value and the gradients by input name, at a point of every input."""

    def f(self, **point) -> object: ...

    def grad(self, **point) -> Mapping[str, np.ndarray]: ...


def disagrees(pair: Calls, point: dict[str, np.ndarray], names: tuple[str, ...], rng: np.random.Generator) -> bool:
    """Whether the gradient at `point` and f's centered difference part along a random direction (a screen)."""
    with np.errstate(all="ignore"):
        try:
            gradients = pair.grad(**point)
            v = {n: rng.standard_normal(np.shape(point[n])) for n in names}
            h = CENTERED_STEP * max(own_scale(point[n]) for n in names)
            plus = float(pair.f(**{**point, **{n: point[n] + h * v[n] for n in names}}))
            minus = float(pair.f(**{**point, **{n: point[n] - h * v[n] for n in names}}))
            f0 = float(pair.f(**point))
            terms = [np.asarray(gradients[n], dtype=np.float64) * v[n] for n in names]
        except Exception:  # noqa: BLE001 -- the user's code fails at a draw (a domain it assumes): no screen there
            return False
    along, magnitude = float(sum(t.sum() for t in terms)), float(sum(np.abs(t).sum() for t in terms))
    slope = (plus - minus) / (2 * h)
    if not all(np.isfinite([along, magnitude, slope, f0])):
        return False
    return abs(slope - along) > SCREEN * magnitude + 1e3 * np.finfo(np.float64).eps * abs(f0) / h


def at_a_draw(pair: Calls, flat: dict[str, np.ndarray], names: tuple[str, ...], seed: int, check) -> tuple[CaseResult, str] | None:
    """(the case at the first draw where the full check, `check(point)`, finds a mismatch the screen pointed to, the
    note that says so); None when every draw agrees (or the inputs are not float64)."""
    if not names or any(np.asarray(flat[n]).dtype != np.float64 for n in names):
        return None
    rng = np.random.default_rng([seed & 0xFFFFFFFF, 0x6C61])
    for _ in range(DRAWS):
        point = drawn(flat, names, rng)
        if not disagrees(pair, point, names, rng):
            continue
        case = check(point)
        if case.status == "mismatch":
            note = (f"every gradient agrees at the given inputs, but not at a random draw of {', '.join(names)} "
                    f"(seed {seed}): the case is shown at that draw")
            return replace(case, message=f"at a random draw of {', '.join(names)} (the given inputs pass): {case.message}"), note
    return None
