"""What the oracle returns (a plain dataclass: importing it does not import SymPy)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class ExactResult:
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
