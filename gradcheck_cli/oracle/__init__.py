"""The independent oracle: exact derivatives in multi-precision mpmath, formulas from SymPy.

It never imports ops/, ir.py or eval/: tensors are lowered to scalar operations by numpy's own
object-array semantics (lower.py), each scalar operation's value and local derivatives are its own mpmath
formulas, tested against `sympy.diff` of the operation's definition (rules.py, sympy_ops.py), and values
are chained at 50 digits or more with a bound on their rounding error (chain.py, exact.py). SymPy is
imported only for a whole formula (formula.py).

What the oracle returns (ExactResult) and its size limit are here: light to import (no SymPy, no mpmath), so a
case past the limit never pays for either, and exact.py and formula.py share them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

SIZE_LIMIT = 200_000  # scalar operations of a lowered case (~10 us each at two precisions); past this "skipped: size"


@dataclass(frozen=True, slots=True)
class ExactResult:
    """The exact column of one point: derivatives, f and the claims as floats, or why they are missing."""

    values: dict[str, np.ndarray | None]  # per variable, shape (*out, *var); NaN where undefined or undecided
    formulas: dict[str, str | None]
    method: str  # "sympy", "chain" or "skipped"
    note: str | None = None  # why values are missing
    value: np.ndarray | None = None  # f itself, shape (*out)
    claims: dict[str, np.ndarray] = field(default_factory=dict)  # each claim's value, at the same precision
    undecided: dict[str, np.ndarray] = field(default_factory=dict)  # True where a kink leaves the derivative undecided
    seconds: float = 0.0


def as_float(value) -> float:
    """An mpf as a float; NaN for None (undecided); ±inf past the float range, which the judge calls an error (where
    the true derivative overflows, float64's f is not the true f: an input or intermediate was rounded away)."""
    if value is None:
        return float("nan")
    result = float(value)
    return result if result == result else float("nan")


def skipped_for_size(wrt: tuple[str, ...]) -> ExactResult:
    return ExactResult({n: None for n in wrt}, {n: None for n in wrt}, "skipped",
                       f"skipped: size (more than {SIZE_LIMIT:,} input elements)")
