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
    hessian: tuple[HessianCheck, ...] = ()  # second order: backprop's Hessian (--order 2), or your hessian and hvp


@dataclass(frozen=True, slots=True)
class HessianCheck:
    """The second derivatives of one case (--order 2, a Hessian claim, check_function's hessian= or hvp=): the
    candidate entry by entry against differences of the gradient, their complex step and the exact Hessian; past
    the size limit, Hessian-vector products along random directions. Matrices are (n, n) over the flattened
    variables (`vars`, C order, in the order of --wrt): row j, column i is d²f/dxⱼdxᵢ."""

    vars: tuple[tuple[str, tuple[int, ...]], ...]  # (name, index) of each row (and column)
    status: str  # the worst entry's (an asymmetric pair counts as a mismatch)
    candidate: str = "backprop"  # what was checked: backprop (forward-over-reverse), hessian or hvp (your functions)
    analytic: np.ndarray | None = None  # the candidate; None past the size limit (directions)
    exact: np.ndarray | None = None  # NaN where there is no exact value; None when not computed
    best: np.ndarray | None = None  # the most accurate numerical estimate of each entry
    best_method: np.ndarray | None = None  # complex | richardson | centered per entry
    expected: np.ndarray | None = None  # the claim, NaN where none; None without a Hessian claim
    rel_error: np.ndarray | None = None
    expected_rel_error: np.ndarray | None = None
    statuses: np.ndarray | None = None  # per entry
    failing: tuple[tuple[tuple[int, int | None], str, str | None], ...] = ()  # ((row, column or None), status, text)
    diagnosis: str | None = None  # the worst entry's, or what the random directions found
    exact_note: str | None = None  # why there is no exact column
    symmetric: bool = True  # the candidate equals its transpose within the references' accuracy
    mode: str = "entries"  # entries: every entry's columns; directions: random Hessian-vector products
    directions: tuple = ()  # directions.Slope per random direction, in directions mode

    def entry(self, row: int, column: int | None) -> str:
        return entry_label(self.vars, row, column)


def element_label(var: tuple[str, tuple[int, ...]]) -> str:
    """`x`, `W[0,1]`: one flattened variable of a Hessian."""
    name, index = var
    return name + ("[" + ",".join(str(i) for i in index) + "]" if index else "")


def entry_label(variables, row: int, column: int | None) -> str:
    """`d2f/dx2`, `d2f/dxdy`, `d2f/dW[0,1]dW[1,0]`; past the size limit, an element of H·v: `(H·v)[W[3,4]]`."""
    a = element_label(variables[row])
    if column is None:
        return f"(H·v)[{a}]"
    if row == column and not variables[row][1]:
        return f"d2f/d{a}2"
    return f"d2f/d{a}d{element_label(variables[column])}"
