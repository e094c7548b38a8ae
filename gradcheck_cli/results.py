"""What a check produces: typed records, data only. Per case (CaseResult), per variable (GradientCheck: floats for a
scalar, arrays of the gradient's shape for a tensor), and what a route adds to a case: a program's judged lines
and gate audits, a function's Taylor test, a layer's notes, random directions' slopes. A FileCase is a case with
where it came from (a file and line, or a command); a Sweep is `gradcheck sweep`'s numbers; a Circuit what
--graph draws.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Value = float | np.ndarray  # a scalar's float, or a tensor's array (the gradient's shape)


def by_position(record) -> tuple:
    """`__reduce__` of the records a worker process sends back (check's results): the class and its fields in order.
    A frozen slotted dataclass pickles its state by default through dataclasses.fields() on every load, which was
    19 µs of the parent's time a case (6.7 µs this way)."""
    return type(record), tuple([getattr(record, name) for name in type(record).__slots__])


@dataclass(frozen=True, slots=True)
class Slope:
    """The gradient along one random direction v, against f's own slope along v."""

    analytic: float  # vᵀ·g
    complex_step: float  # f's slope along v by the complex step (NaN: not used)
    centered: float
    magnitude: float  # Σ|vᵢ·gᵢ|
    agrees: bool  # pass or kink
    left: float = math.nan  # one-sided slopes along v, where they part (a kink along v)
    right: float = math.nan
    status: str = "pass"


@dataclass(frozen=True, slots=True)
class GradientCheck:
    """One variable of one case. Scalars hold floats; tensors hold arrays of the gradient's shape
    (the variable's shape, or output shape + variable shape for a Jacobian)."""

    __reduce__ = by_position

    var: str
    analytic: Value
    forward: Value
    centered: Value
    richardson: Value
    complex_step: Value
    exact: Value | None  # None for a scalar without an exact value (NaN in a tensor's elements without one)
    exact_expr: str | None
    expected: Value | None  # the claim (None when there is none)
    rel_error: Value
    expected_rel_error: Value | None
    error_estimate: Value
    left: Value | None  # one-sided derivatives, at kinks only
    right: Value | None
    status: str  # the worst element's
    diagnosis: str | None  # the worst element's, with its index for tensors
    h_forward: Value
    h_centered: Value
    best: Value
    best_method: str | np.ndarray  # complex | richardson | centered (per element for tensors)
    shape: tuple[int, ...] = ()  # the gradient's shape; () for a scalar
    var_shape: tuple[int, ...] = ()
    statuses: np.ndarray | None = None  # per element, for tensors
    worst: tuple[int, ...] = ()  # index of the element that decided status and diagnosis
    failing: tuple[tuple[tuple[int, ...], str, str | None], ...] = ()  # (index, status, diagnosis) of elements that did not pass
    mode: str = "elements"  # elements: every element's columns; directions: random directions (past the size limit)
    directions: tuple[Slope, ...] = ()  # one per random direction, in directions mode

    @property
    def is_tensor(self) -> bool:
        return bool(self.shape)

    def at(self, name: str) -> float | str | None:
        """A column's value at the worst element (what a one-line summary shows): a float, a word, or None."""
        value = getattr(self, name)
        if value is None:
            return None
        array = np.asarray(value)
        item = array.item() if array.ndim == 0 else array[self.worst].item()
        return None if isinstance(item, float) and item != item and name in ("exact", "expected") else item


@dataclass(frozen=True, slots=True)
class TraceRow:
    """One gate of --trace: its label, operation, source text, value and gradient."""

    label: str
    operation: str
    source: str
    value: Value
    gradient: Value | None  # None for constants: nothing flows back into them
    shape: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class LineResult:
    """One d-line of a program, judged with the true values of what it reads."""

    line: int
    text: str
    target: str
    yours: float | np.ndarray | None  # the line's value with your own d-values (None when it cannot be computed)
    true: float | np.ndarray | None  # what it should be, with every d-name it reads replaced by the truth
    status: str  # pass | wrong | kink | error | helper
    diagnosis: str | None
    order: tuple[int, ...] = ()  # a correct backprop's order: nearer the output first
    consequence: bool = False  # an error that an earlier mistake explains (a d-name read that no line assigned)


@dataclass(frozen=True, slots=True)
class GateAudit:
    """One rule of a user gate, checked on its own against the exact derivative of the gate's body."""

    gate: str
    argument: str
    status: str  # pass | mismatch | error
    message: str | None
    points: int  # how many points were checked


@dataclass(frozen=True, slots=True)
class Taylor:
    """check_function's Taylor test: |f(x+hv) - f(x) - h<g, v>| must shrink like h**2."""

    slope: float | None  # fitted log(remainder)/log(h) over the steps above rounding
    remainders: tuple[float, ...]
    verdict: str  # pass | mismatch | inconclusive
    note: str


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case: an expression (or a program, a function, a layer) at one point, every variable's check, and what
    its route adds. JSON keys follow the fields (report/json.py); a field that is None has no key."""

    __reduce__ = by_position

    expr: str
    source: str | None
    point: dict[str, Value]  # name -> float, or array for a tensor
    value: Value  # f: a float, or an array when f is not a scalar
    status: str
    message: str | None
    gradients: tuple[GradientCheck, ...]
    exact_method: str | None = None
    exact_note: str | None = None
    trace: tuple[TraceRow, ...] = ()
    expected_value: Value | None = None  # a claimed value of f (expression files' `=> f=...`)
    lines: tuple[LineResult, ...] | None = None  # a program's d-lines, judged (None: not a program)
    first_wrong_line: int | None = None  # a program's first wrong line
    notes: tuple[str, ...] = ()  # what was said about a program's lines (skipped, unseeded draws, ...)
    gates: tuple[GateAudit, ...] | None = None  # a program's user gates, audited (None: no gate with a rule)
    taylor: Taylor | None = None  # a function's Taylor test
    precision: str | None = None  # the precision detected in a function's code (float32, float64)
    function_notes: tuple[str, ...] = ()  # a function's or layer's findings as sentences: a random draw, a layer's probe, inputs not checked
    hessian: tuple[HessianCheck, ...] = ()  # second order: backprop's Hessian (--order 2), or your hessian and hvp

    @property
    def is_program(self) -> bool:
        return self.lines is not None


@dataclass(frozen=True, slots=True)
class FileCase:
    """A case from a file (or a command that checks many): where it came from, for reports (file and line apart:
    paths may contain ':'), and how to reproduce it."""

    __reduce__ = by_position

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
    """One step size of a sweep: each difference quotient and its relative error."""

    h: float
    estimates: dict[str, float]
    errors: dict[str, float]  # relative error against the reference


@dataclass(frozen=True, slots=True)
class Sweep:
    """`gradcheck sweep`'s numbers: one row per step size against one reference derivative."""

    var: str
    reference: float
    reference_method: str
    rows: tuple[SweepRow, ...]
    chosen: dict[str, float]  # the h gradcheck picks for forward and centered


@dataclass(frozen=True, slots=True)
class Circuit:
    """One point of a graph as the circuit picture draws it (eval/circuit.py computes it, report/dot.py draws it)."""

    values: list[np.ndarray]  # each node's value at the point (its own shape, no batch axis)
    grads: list[np.ndarray] | None  # df/d(node); None when f is not a scalar
    kinks: set[int]  # piecewise gates sitting exactly on their kink
    shares: dict[tuple[int, int], np.ndarray]  # (source, consumer) -> what that wire sends back, at a fan-out


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
    directions: tuple[Slope, ...] = ()  # one per random direction (H·u), in directions mode

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
