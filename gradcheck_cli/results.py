"""What a check produces: per case, per variable (arrays for tensors, floats for scalars). Data only."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

Number = "float | np.ndarray"


@dataclass(frozen=True, slots=True)
class GradientCheck:
    """One variable of one case. Scalars hold floats; tensors hold arrays of the gradient's shape
    (the variable's shape, or output shape + variable shape for a Jacobian)."""

    var: str
    analytic: object
    forward: object
    centered: object
    richardson: object
    complex_step: object
    exact: object  # NaN (or None for a scalar) where there is no exact value
    exact_expr: str | None
    expected: object  # the claim (None when there is none)
    rel_error: object
    expected_rel_error: object
    error_estimate: object
    left: object  # one-sided derivatives, at kinks only
    right: object
    status: str  # the worst element's
    diagnosis: str | None  # the worst element's, with its index for tensors
    h_forward: object
    h_centered: object
    best: object
    best_method: object  # complex | richardson | centered (per element for tensors)
    shape: tuple[int, ...] = ()  # the gradient's shape; () for a scalar
    var_shape: tuple[int, ...] = ()
    statuses: object = None  # per element, for tensors
    worst: tuple[int, ...] = ()  # index of the element that decided status and diagnosis
    failing: tuple[tuple[tuple[int, ...], str, str | None], ...] = ()  # (index, status, diagnosis) of elements that did not pass
    mode: str = "elements"  # elements: every element's columns; directions: random directions (past the size limit)
    directions: tuple = ()  # directions.Slope per random direction, in directions mode

    @property
    def is_tensor(self) -> bool:
        return bool(self.shape)

    def at(self, name: str):
        """A column's value at the worst element (what a one-line summary shows): a float, a word, or None."""
        value = getattr(self, name)
        if value is None:
            return None
        array = np.asarray(value)
        item = array.item() if array.ndim == 0 else array[self.worst].item()
        return None if isinstance(item, float) and item != item and name in ("exact", "expected") else item


@dataclass(frozen=True, slots=True)
class TraceRow:
    label: str
    operation: str
    source: str
    value: object
    gradient: object  # None for constants: nothing flows back into them
    shape: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseResult:
    expr: str
    source: str | None
    point: dict  # name -> float, or array for a tensor
    value: object  # f: a float, or an array when f is not a scalar
    status: str
    message: str | None
    gradients: tuple[GradientCheck, ...]
    exact_method: str | None = None
    exact_note: str | None = None
    trace: tuple[TraceRow, ...] = ()
    expected_value: object = None  # a claimed value of f (expression files' `=> f=...`)
    extras: dict = field(default_factory=dict)  # additions by later stages (a program's lines), keyed like JSON


@dataclass(frozen=True, slots=True)
class FileCase:
    """A case from a file (or a command that checks many): where it came from, for reports (file and line apart:
    paths may contain ':'), and how to reproduce it."""

    case: CaseResult
    file: str
    line: int | None  # None: a problem with the whole file
    column: int | None = None  # for malformed lines: where the problem is
    claims: str | None = None  # the claims text, so a failure can be reproduced with `eval --expect`
    seconds: float = 0.0
    caret: str | None = None  # for malformed lines: the line with a caret under the column
    gates: tuple[str, ...] = ()  # the file's gates the line calls (eval alone does not know them)
    command: str | None = None  # the command that checks this case alone, when it is not `gradcheck eval` (a layer)


SWEEP_METHODS = ("forward", "centered", "richardson")  # the difference quotients a sweep compares


@dataclass(frozen=True, slots=True)
class SweepRow:
    h: float
    estimates: dict[str, float]
    errors: dict[str, float]  # relative error against the reference


@dataclass(frozen=True, slots=True)
class Sweep:
    var: str
    reference: float
    reference_method: str
    rows: tuple[SweepRow, ...]
    chosen: dict[str, float]  # the h gradcheck picks for forward and centered
