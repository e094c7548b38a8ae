"""Random draws where every d-line must hold too: a line can be right at the cell's own values only.

A staged cell is usually checked at the values it assigns, and those can hide a wrong line: `np.random.rand` inputs
are all positive, so `z1 = W1 @ x + b1` is positive everywhere, relu's mask is all ones, and `dz1 = da1` (the mask
left out), `a1` where `z1` belongs or `db1 = da1` give the true values there. So when every line passes at the cell's
values, the inputs the cell differentiates (those with a d-line) are drawn again a few times, each element normal
at its input's own scale (the root mean square of its value, 1 for zeros), seeded by the cell's np.random.seed (else
--seed) and its text, and the d-lines are judged at each draw where everything the forward pass computes is finite.
Other constants (eps, y) keep their values, except in the second half of the draws one of 0 or 1 (lam = 1.0,
reg = 0.0), which hides a factor or term a line leaves out. Of the draws where a line is wrong, the one with the
fewest zero true values (relus least often off: a zero explains anything) is where the case is then checked and
shown, with a note saying so.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from ..errors import GradcheckError
from ..inputs.sampling import drawn_like
from .judge import Lines, judge_lines
from .plan import Plan, d_target

DRAWS = 6  # random draws judged when every line passes at the cell's own values: a scalar relu input drawn positive
# every time (its mask invisible) is 1 in 2**DRAWS
KEPT = 2  # draws that show a wrong line, of which the one with the fewest zeros is shown: then the judging stops
SHOWN_DIGITS = 4  # significant digits of a drawn scalar or small array, so the point reads (and pastes) short
SHOWN_ELEMENTS = 16


@dataclass(frozen=True, slots=True)
class Probe:
    """A draw where some d-line is wrong: the point, the lines judged there, and the note that says why the case is
    shown at this point and not at the cell's own values."""

    point: dict[str, np.ndarray]
    lines: Lines
    note: tuple[int, str]
    drawn: tuple[str, ...]  # the inputs drawn anew

    @property
    def said(self) -> str:
        """What the case's message starts with, so that a one-line report (GitHub, JUnit) says where it was found."""
        return f"at a random draw of {', '.join(self.drawn)} (the cell's own values pass every line)"


def redrawn(plan: Plan, checked: tuple[str, ...], point: dict[str, np.ndarray]) -> list[str]:
    """The checked inputs (the cell's constants, or values it reads from the notebook) with a d-line of their own (dW1
    for W1) and a floating-point value, in the cell's order."""
    names = [name for name in checked if np.asarray(point[name]).dtype.kind == "f"
             and any(d_target(s.target, {name}, plan.spellings) for s in plan.backward)]
    return sorted(names, key=lambda name: plan.input_lines.get(name, 0))


def hiding(plan: Plan, checked: tuple[str, ...], point: dict[str, np.ndarray], names: list[str]) -> list[str]:
    """The other checked inputs that are a scalar 0 or 1 (lam = 1.0, reg = 0.0): such a constant hides a factor or a
    term a line leaves out (`dreg_loss = dloss` for lam * dloss), so the second half of the draws draws it too. An
    array of 0s and 1s is data with a shape of its own (one-hot labels: softmax's dscores = probs - Y holds only for
    rows that sum to 1), never drawn."""
    def zeros_and_ones(value: np.ndarray) -> bool:
        return value.dtype.kind == "f" and value.size == 1 and bool(np.all((value == 0) | (value == 1)))

    return [name for name in checked if name not in names and zeros_and_ones(np.asarray(point[name]))]


def draws(plan: Plan, point: dict[str, np.ndarray], names: list[str], seed: int, count: int = DRAWS,
          also: list[str] = ()):
    """`count` (point, names drawn): `point` with each of `names` drawn normal at its own scale, and in the second
    half of the draws each of `also` too (a label drawn off the integers may break every draw it is in: the first
    half keeps them). Deterministic: the seed and the cell's text."""
    rng = np.random.default_rng([seed & 0xFFFFFFFF, zlib.crc32("\n".join(plan.program.lines).encode())])
    for k in range(count):
        drawn = dict(point)
        now = [*names, *also] if also and k >= count // 2 else list(names)
        for name in now:
            fresh = drawn_like(point[name], rng)
            if fresh.size <= SHOWN_ELEMENTS:
                fresh = np.vectorize(lambda e: float(f"{e:.{SHOWN_DIGITS}g}"), otypes=[np.float64])(fresh)
            drawn[name] = fresh.reshape(np.shape(point[name]))
        yield drawn, tuple(now)


def first_failing(truth_graph, plan: Plan, point: dict[str, np.ndarray], functions: dict, options,
                  checked: tuple[str, ...], seed: int, count: int = DRAWS) -> Probe | None:
    """Of `count` draws, one where a d-line is wrong, or None (no draw shows one, or nothing to draw)."""
    from ..eval.engine import forward

    names = redrawn(plan, checked, point)
    if not names:
        return None
    failing: list[tuple[int, int, dict, Lines, tuple[str, ...]]] = []  # (zeros, order, draw, its lines, names drawn)
    for drawn, now in draws(plan, point, names, seed, count, hiding(plan, checked, point, names)):
        with np.errstate(all="ignore"):
            values = forward(truth_graph, {v: np.asarray(drawn[v])[None] for v in truth_graph.variables})
        if not all(np.all(np.isfinite(v)) for v in values):  # log or sqrt of a negative draw: no point to judge
            continue
        trial = replace(plan, notes=list(plan.notes), skipped={why: list(items) for why, items in plan.skipped.items()})
        try:
            lines = judge_lines(truth_graph, trial, drawn, functions, options)
        except GradcheckError:
            continue
        wrong = lines.first_wrong
        if wrong is not None and wrong.status == "wrong":
            failing.append((_zeros(lines), len(failing), drawn, lines, now))
            if len(failing) == KEPT:
                break
    if not failing:
        return None
    _, _, drawn, lines, now = min(failing, key=lambda item: item[:2])  # the fewest true zeros (dead relus)
    wrong = lines.first_wrong
    where = min(plan.input_lines.get(name, wrong.line) for name in now)
    return Probe(drawn, lines, (where, f"every d-line holds at the cell's own values, but line {wrong.line} does not "
                                       f"at a random draw of {', '.join(now)} (seed {seed}): the case is shown at that draw"),
                 now)


def _zeros(lines: Lines) -> int:
    """How many true values of the d-lines are zero: a draw where every relu is off says little (a zero explains
    anything), so of the draws that show a wrong line the one with the fewest zeros is shown."""
    return sum(int(np.size(row.true)) - int(np.count_nonzero(row.true)) for row in lines.rows if row.true is not None)
