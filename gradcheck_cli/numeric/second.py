"""Second order on the one judge: each Hessian entry is Evidence for `verdict.judge`, whoever computed the candidate.

The candidate is backprop's forward-over-reverse Hessian (hessian.py), or your `hessian`/`hvp` (check_function).
Its references are differences of the gradient, column by column: the gradient at x + s·hᵢ·eᵢ for the six offsets
s of numeric.stencil gives centered, Richardson and one-sided slopes of every component along eᵢ, with their error
estimates; the complex step of the gradient, Im g(x + i·h·eᵢ)/h, where the gradient computes with complex input
(a gate graph always does; your grad is cross-checked by the judge's complex_dropped rule); and the exact Hessian
of the oracle (expressions). Kinks are second-order ones: across a kink the gradient jumps or bends, so an entry
whose column's stencil crosses one (or sits on one) is a kink, judged by nothing (the judge's `jumped`), never a
mismatch: relu'' is 0 off the corner and undefined on it. Symmetry is checked by the judge too: the candidate
against its own transpose, allowed the references' accuracy of both entries; and the references against theirs
(differences of a gradient that is not symmetric say the gradient itself is wrong).

Past the element limit (10,000 entries of H) or the work limit, the Hessian is checked along random directions as
gradients are (directions.py): with a random u over every element, φ(x) = uᵀg(x) is a function whose gradient is
Hu, so `check_directions` compares vᵀ(candidate's Hu) with φ's slope along random v and bisects a disagreeing v to
name the elements of Hu (rows of H) that are wrong; each such row is then bisected over u's support (its element
of H·(u on a half) against the complex step of the gradient's element along the half) to name the entries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Protocol

import numpy as np

from ..results import HessianCheck, element_label, entry_label
from ..status import COMPLEX_STEP, KINK, MISMATCH, PASS, SEVERITY
from ..verdict import COMPLEX, METHODS, SAFETY, Evidence, Judgement, Tolerances, describe, judge
from .differences import representable_steps, stencil
from .directions import Candidate, check_directions, summary

FAILING_SHOWN = 20
_OFFSETS = (1.0, -1.0, 0.5, -0.5, 0.25, -0.25)
BLAME = {"backprop": "a second-order rule (forward-over-reverse) is wrong", "hessian": "your hessian is wrong",
         "hvp": "your hvp is wrong"}
CANDIDATE_WORDS = {"backprop": "forward-over-reverse", "hessian": "your hessian", "hvp": "your hvp"}


@dataclass(frozen=True, slots=True)
class Layout:
    """The flattened variables: H's rows and columns, in the order of --wrt, each variable in C order."""

    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    vars: tuple[tuple[str, tuple[int, ...]], ...]  # (name, index) of each row

    @classmethod
    def of(cls, names, shapes) -> "Layout":
        names, shapes = tuple(names), tuple(tuple(s) for s in shapes)
        return cls(names, shapes, tuple((name, tuple(int(i) for i in np.unravel_index(k, shape)) if shape else ())
                                        for name, shape in zip(names, shapes) for k in range(math.prod(shape))))

    @property
    def sizes(self) -> tuple[int, ...]:
        return tuple(math.prod(s) for s in self.shapes)

    @property
    def size(self) -> int:
        return len(self.vars)

    @property
    def starts(self) -> tuple[int, ...]:
        return tuple(int(s) for s in np.cumsum([0, *self.sizes]))

    def block(self, name: str) -> slice:
        k = self.names.index(name)
        return slice(self.starts[k], self.starts[k + 1])

    def flat(self, values: dict[str, np.ndarray]) -> np.ndarray:
        return np.concatenate([np.asarray(values[n], dtype=np.float64).reshape(-1) for n in self.names])


class GradientRows(Protocol):
    """The gradient under the Hessian (backprop's through a gate graph, or your grad) at moved copies of the point."""

    holomorphic: bool  # its complex step is right by construction (a gate graph)
    use_complex: bool  # it computes with complex input
    eps: float  # the machine epsilon it computes in

    def gradients(self, moves: np.ndarray) -> "Rows": ...


@dataclass(frozen=True, slots=True)
class Rows:
    """The flattened gradient at x + each row of moves; per row, whether a piecewise gate left its branch at the
    point (`crossed`, None when unknown), sat on its kink there (`tied`), and which gate (-1: none)."""

    values: np.ndarray
    crossed: np.ndarray | None = None
    tied: np.ndarray | None = None
    gate: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Columns:
    """Every reference column of H, (n, n) laid out as H: row j a component of the gradient, column i the element
    moved. `gate[i]`: the kink column i crossed (-1: none, -2: found by the slopes alone)."""

    forward: np.ndarray
    centered: np.ndarray
    richardson: np.ndarray
    error_estimate: np.ndarray
    reliable: np.ndarray
    left: np.ndarray
    right: np.ndarray
    h_centered: np.ndarray
    complex_step: np.ndarray
    crossed: np.ndarray
    tied: np.ndarray
    gate: np.ndarray


def _steps(x: np.ndarray, override: float | None, eps: float, scale: np.ndarray | None = None) -> np.ndarray:
    """∛eps times each element's scale (max(1, |x|) unless given: your functions' steps follow the variable's own
    magnitude, numeric.variable_scale), rounded so that x + h is exact; --h as given."""
    if override is not None:
        return np.full(x.shape, float(override))
    return representable_steps(x, eps ** (1 / 3) * (np.maximum(1.0, np.abs(x)) if scale is None else scale))


def _jumps(rows: tuple[np.ndarray, ...], noise: np.ndarray) -> np.ndarray:
    """Where the gradient jumps inside the stencil: plus - minus stays the same as h halves (a step's size), well
    above rounding, instead of halving with h as a smooth gradient's does."""
    plus, minus, plus2, minus2, plus4, minus4 = rows
    d1, d2, d4 = np.abs(plus - minus), np.abs(plus2 - minus2), np.abs(plus4 - minus4)
    with np.errstate(all="ignore"):
        flat = (np.abs(d1 - d2) <= 0.25 * d1) & (np.abs(d2 - d4) <= 0.25 * d2)
    return flat & (d4 > 1000 * noise)


def gradient_columns(source: GradientRows, x: np.ndarray, g0: np.ndarray, h: float | None = None,
                     scale: np.ndarray | None = None) -> Columns:
    """The references of every entry: the gradient at x ± h·eᵢ, ± h/2·eᵢ, ± h/4·eᵢ for every element i (one batch of
    6n rows), numeric.stencil on each column, and the complex step of the gradient (n complex rows). `scale`: what
    each element's step scales with (default max(1, |x|))."""
    n = len(x)
    steps = _steps(x, h, source.eps, scale)
    moves = np.zeros((n, len(_OFFSETS), n))
    for s, offset in enumerate(_OFFSETS):
        moves[np.arange(n), s, np.arange(n)] = offset * steps
    got = source.gradients(moves.reshape(n * len(_OFFSETS), n))
    values = got.values.reshape(n, len(_OFFSETS), n)
    rows = tuple(values[:, s] for s in range(len(_OFFSETS)))
    columns = stencil(rows, g0[None, :], steps[:, None], source.eps)
    kink = columns.pop("kink")
    # a component that comes out bit for bit the same at every row of the stencil does not depend on the element
    # moved: its slope is 0 to the last bit, which settles a 0 in H (a separable f's) where rounding bounds could not
    still = np.all([r == g0[None, :] for r in rows], axis=0)
    columns["error_estimate"] = np.where(still, 0.0, columns["error_estimate"])
    columns["reliable"] = columns["reliable"] | still
    complex_step = np.full((n, n), np.nan)
    if source.use_complex:
        tiny = COMPLEX_STEP * np.maximum(1.0, np.abs(x))
        with np.errstate(all="ignore"):
            complex_step = source.gradients(np.diag(1j * tiny)).values.imag / tiny[:, None]
    if got.crossed is not None:  # a gate graph: the kinks its branch signs say each column crossed (or sits on)
        crossed_i = got.crossed.reshape(n, len(_OFFSETS)).any(axis=1)
        tied_i = got.tied.reshape(n, len(_OFFSETS)).any(axis=1)
        gate = np.where(crossed_i, got.gate.reshape(n, len(_OFFSETS)).max(axis=1), -1)
        crossed = np.broadcast_to(crossed_i[:, None], (n, n))  # (column, component), as the stencil's arrays
        tied = np.broadcast_to(tied_i[:, None], (n, n))
    else:  # your grad: where the one-sided slopes part cleanly (it bends), or it jumps
        with np.errstate(all="ignore"):
            noise = 2 * source.eps * np.maximum.reduce([np.abs(rows[0]), np.abs(rows[1]), np.abs(g0)[None, :] + 0 * rows[0]])
        crossed = kink | _jumps(rows, noise)
        tied = crossed
        gate = np.where(crossed.any(axis=1), -2, -1)
    # H is symmetric: an entry whose mirror image's stencil crosses a kink is a kink too, judged by that interval
    crossed, tied = np.asarray(crossed).T, np.asarray(tied).T
    mirror = crossed.T & ~crossed
    left = np.where(mirror, columns["left"], columns["left"].T)
    right = np.where(mirror, columns["right"], columns["right"].T)
    h_columns = np.broadcast_to(steps[:, None], (n, n))
    return Columns(columns["forward"].T, columns["centered"].T, columns["richardson"].T, columns["error_estimate"].T,
                   columns["reliable"].T, left, right, h_columns.T, complex_step.T, crossed | crossed.T, tied | tied.T,
                   gate)


def evidence(candidate: np.ndarray, columns: Columns, x: np.ndarray, exact: np.ndarray | None, expected: np.ndarray | None,
             claim_tolerance, magnitude, noise, holomorphic: bool) -> Evidence:
    n = len(x)
    nan = np.full((n, n), np.nan)
    return Evidence(analytic=candidate, magnitude=np.asarray(magnitude), noise=np.asarray(noise), x=x[None, :],
                    forward=columns.forward, centered=columns.centered, richardson=columns.richardson,
                    error_estimate=columns.error_estimate, reliable=columns.reliable, left=columns.left,
                    right=columns.right, second=np.zeros(()), h_centered=columns.h_centered,
                    complex_step=columns.complex_step, exact=nan if exact is None else exact,
                    expected=nan if expected is None else expected, claim_tolerance=np.asarray(claim_tolerance),
                    crossed=columns.crossed, tied=columns.tied, nested=np.zeros((n, n), bool),
                    jumped=columns.crossed, holomorphic=np.asarray(holomorphic))


def _accuracy(e: Evidence, j: Judgement) -> np.ndarray:
    """How far each entry's judging reference may be from the truth: nothing for exact, the rounding allowance for
    the complex step, 10x the estimated error for a real difference."""
    has_exact = np.isfinite(e.exact)
    real = np.where(np.isfinite(e.error_estimate), SAFETY * e.error_estimate, np.inf)
    return np.where(has_exact, 0.0, np.where(j.best_method == COMPLEX, 4 * j.rounding, real)) + j.rounding


def _symmetry(values: np.ndarray, accuracy: np.ndarray, magnitude, tol: Tolerances, eps: float) -> np.ndarray:
    """The judge on H against Hᵀ: each entry's counterpart as a reference of no error, the two entries' accuracy
    as slack. Statuses (n, n)."""
    n = len(values)
    nan = np.full((n, n), np.nan)
    no = np.zeros((n, n), bool)
    e = Evidence(analytic=values, magnitude=np.asarray(magnitude) + np.asarray(magnitude).T if np.ndim(magnitude) else
                 np.asarray(magnitude), noise=np.zeros(()), x=np.zeros(()), forward=nan, centered=nan, richardson=nan,
                 error_estimate=np.full((n, n), np.inf), reliable=no, left=nan, right=nan, second=np.zeros(()),
                 h_centered=np.ones(()), complex_step=nan, exact=values.T, expected=nan, claim_tolerance=np.zeros(()),
                 crossed=no, tied=no, nested=no, slack=accuracy + accuracy.T)
    return judge(e, tol, eps).status


def judge_entries(layout: Layout, candidate: np.ndarray, columns: Columns, x: np.ndarray, tol: Tolerances, eps: float,
                  exact: np.ndarray | None = None, expected: np.ndarray | None = None, claim_tolerance=0.0,
                  holomorphic: bool = True, magnitude: Callable[[], np.ndarray] | None = None,
                  noise: Callable[[], np.ndarray] | np.ndarray | float = 0.0, candidate_name: str = "backprop",
                  kink_text: Callable[[int], str] | None = None, exact_note: str | None = None) -> HessianCheck:
    """Every entry judged, and the symmetry of the candidate and of the references. `magnitude`: the size of what
    the candidate summed (the rounding allowance), computed only when an entry does not pass cleanly; `noise`: how
    far rounding of the forward values moves the candidate (a function: measured only where a mismatch would
    otherwise be called, as cases.py does for gradients)."""
    measured = 0.0 if callable(noise) else noise
    e = evidence(candidate, columns, x, exact, expected, claim_tolerance, 0.0, measured, holomorphic)
    j = judge(e, tol, eps)
    dropped = int(j.complex_dropped.sum())
    if dropped:  # the gradient is not holomorphic: its complex step judges no entry (as check_function's first order)
        columns = replace(columns, complex_step=np.full(columns.complex_step.shape, np.nan))
        e = evidence(candidate, columns, x, exact, expected, claim_tolerance, 0.0, measured, holomorphic)
        j = judge(e, tol, eps)
    size = 0.0
    if magnitude is not None and bool(np.any((j.status != PASS) | (j.diagnosis != 0) | j.claim_failed)):
        size = magnitude()
        e = evidence(candidate, columns, x, exact, expected, claim_tolerance, size, measured, holomorphic)
        j = judge(e, tol, eps)
    if callable(noise) and bool(np.any(j.status == MISMATCH)):
        e = evidence(candidate, columns, x, exact, expected, claim_tolerance, size, noise(), holomorphic)
        j = judge(e, tol, eps)
    full = e.broadcast()
    accuracy = _accuracy(full, j)
    finite = np.isfinite(candidate) & np.isfinite(candidate).T & ~np.eye(len(x), dtype=bool)  # pairs to compare
    asymmetric = (_symmetry(candidate, accuracy, size, tol, eps) >= MISMATCH) & ~full.crossed & finite
    statuses = np.where(asymmetric, np.maximum(j.status, MISMATCH), j.status)
    settled = np.isfinite(full.exact) | (j.best_method == COMPLEX) | full.reliable
    uneven = (_symmetry(np.asarray(j.best, np.float64), accuracy, 0.0, tol, eps) >= MISMATCH) & settled & settled.T \
        & ~full.crossed & ~np.isfinite(full.exact)
    texts = _Texts(layout, j, full, tol, candidate_name, kink_text, columns)
    failing, first = [], None
    order = np.argsort(-(statuses * 4.0 + np.nan_to_num(np.maximum(j.rel_error, np.nan_to_num(j.expected_rel_error)),
                                                          posinf=3.0).clip(0, 3)), axis=None, kind="stable")
    for flat in order:
        row, column = divmod(int(flat), len(x))
        if statuses[row, column] == PASS or len(failing) >= FAILING_SHOWN:
            break
        text = texts.entry(row, column, bool(asymmetric[row, column]), candidate)
        first = first or text
        failing.append(((row, column), SEVERITY[int(statuses[row, column])], text))
    if first is None and bool(np.any(j.diagnosis != 0)):  # every entry passed; a note on one (ill-conditioned, ...)
        row, column = (int(i) for i in np.argwhere(j.diagnosis != 0)[0])
        first = texts.entry(row, column, False, candidate)
    notes = [first] if first else []
    if dropped:
        notes.append(f"the complex step of the gradient was not used: at {dropped} entr{'ies' if dropped > 1 else 'y'} "
                     "the real differences contradict it, so the gradient is not holomorphic (np.abs, np.sign, np.real "
                     "or a complex maximum in it)")
    if uneven.any():
        row, column = (int(i) for i in np.argwhere(uneven)[0])
        notes.append(f"the differences of the gradient are not symmetric ({entry_label(layout.vars, row, column)} "
                     f"{float(j.best[row, column]):.10g}, {entry_label(layout.vars, column, row)} "
                     f"{float(j.best[column, row]):.10g}): the gradient they difference is itself wrong there (check the "
                     "first order)")
    has_claim = expected is not None
    return HessianCheck(layout.vars, SEVERITY[int(statuses.max(initial=PASS))], candidate_name, candidate,
                        None if exact is None else np.asarray(exact, np.float64), np.asarray(j.best, np.float64),
                        np.array(METHODS)[j.best_method], None if not has_claim else np.asarray(expected, np.float64),
                        j.rel_error, j.expected_rel_error if has_claim else None, np.array(SEVERITY)[statuses],
                        tuple(failing), "; ".join(notes) or None, exact_note, not bool(asymmetric.any()))


class _Texts:
    """Each entry's diagnosis in words: the judge's (verdict.describe), the candidate named, kinks in second-order
    terms, and an asymmetric pair said so."""

    def __init__(self, layout, j, e, tol, candidate_name, kink_text, columns):
        self.layout, self.j, self.e, self.tol, self.name = layout, j, e, tol, candidate_name
        self.kink_text, self.columns = kink_text, columns

    def entry(self, row: int, column: int, asymmetric: bool, candidate: np.ndarray) -> str | None:
        vars_ = self.layout.vars
        label = entry_label(vars_, row, column)
        kink = None
        if int(self.j.status[row, column]) == KINK:
            gate = int(self.columns.gate[column]) if self.columns.gate[column] != -1 else int(self.columns.gate[row])
            kink = self.kink_text(gate) if self.kink_text is not None and gate >= 0 else (
                "kink: the gradient bends or jumps inside the stencil (its one-sided slopes differ): a second "
                "derivative through a kink is a Dirac delta there, not a number")
        # describe() writes a claim as "claimed d{var}": the entry's name after its d
        said = describe(self.j, self.e, (row, column), label[1:], self.tol, kink)
        if asymmetric:
            pair = (f"not symmetric: {label} = {float(candidate[row, column]):.10g} but "
                    f"{entry_label(vars_, column, row)} = {float(candidate[column, row]):.10g}, further apart than the "
                    f"references' accuracy: {BLAME[self.name]} here or in its mirror image")
            said = pair if said is None else f"{said}; {pair}"
        if said is None:
            return None
        said = said.replace("the derivative rule or backward pass is wrong", BLAME[self.name])
        said = said.replace("backprop", CANDIDATE_WORDS[self.name]).replace("this gradient", "this second derivative").replace(
            "the gradient under test", "the second derivative under test").replace(
            "rounding of the forward values moves", "float64 (rounding of the forward values, or its range) moves")
        for method, words in (("complex", "the complex step of the gradient"), ("richardson", "Richardson differences "
                              "of the gradient"), ("centered", "centered differences of the gradient")):
            said = said.replace(f"the {method} estimate", words)
        return f"{label}: {said}"


# --- past the size limit: random Hessian-vector products ----------------------------------------------------

class ProjectedProbe:
    """directions.check_directions' probe for φ(x) = uᵀg(x): the gradient (GradientRows) projected on u, with one
    variable moved along rows of moves."""

    ELEMENT_CHUNK = 64

    def __init__(self, source: GradientRows, layout: Layout, u: np.ndarray, x: np.ndarray, g0: np.ndarray,
                 element_budget: int, scale: np.ndarray | None = None):
        self.source, self.layout, self.u, self.x, self.budget = source, layout, u, x, element_budget
        self.scale = np.maximum(1.0, np.abs(x)) if scale is None else scale
        self.use_complex, self.holomorphic, self.eps = source.use_complex, source.holomorphic, source.eps
        self.f0 = float(u @ g0)

    def _full(self, var: str, moves: np.ndarray) -> np.ndarray:
        full = np.zeros((len(moves), self.layout.size), dtype=moves.dtype)
        full[:, self.layout.block(var)] = moves.reshape(len(moves), -1)
        return full

    def values(self, var: str, moves: np.ndarray, dtype) -> np.ndarray:
        out = []
        for start in range(0, len(moves), self.ELEMENT_CHUNK):
            chunk = np.asarray(moves[start:start + self.ELEMENT_CHUNK], dtype=dtype)
            out.append(self.source.gradients(self._full(var, chunk)).values @ self.u)
        return np.concatenate(out)

    def element_budget(self, var: str) -> int:
        return self.budget

    def element_slopes(self, var: str, flat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        size = self.layout.sizes[self.layout.names.index(var)]
        x = self.x[self.layout.block(var)]
        slopes, noise = [], []
        for start in range(0, len(flat), self.ELEMENT_CHUNK):
            part = flat[start:start + self.ELEMENT_CHUNK]
            moves = np.zeros((len(part), size), dtype=np.complex128 if self.use_complex else np.float64)
            if self.use_complex:
                moves[np.arange(len(part)), part] = 1j * COMPLEX_STEP
                with np.errstate(all="ignore"):
                    slopes.append(self.values(var, moves, np.complex128).imag / COMPLEX_STEP)
                noise.append(np.zeros(len(part)))
                continue
            h = _steps(x[part], None, self.eps, self.scale[self.layout.block(var)][part])
            moves[np.arange(len(part)), part] = h
            both = self.values(var, np.concatenate([moves, -moves]), np.float64)
            plus, minus = both[:len(part)], both[len(part):]
            slopes.append((plus - minus) / (2 * h))
            noise.append(4 * self.eps * np.maximum(np.abs(plus), np.abs(minus)) / h)
        return np.concatenate(slopes), np.concatenate(noise)


def random_u(layout: Layout, seed: int) -> np.ndarray:
    return np.random.default_rng([seed, layout.size, 2]).uniform(-1.0, 1.0, layout.size)


def judge_directions(layout: Layout, source: GradientRows, x: np.ndarray, g0: np.ndarray,
                     hvp: Callable[[np.ndarray], np.ndarray], rounding: Callable[[np.ndarray], np.ndarray], eps: float,
                     tol: Tolerances, count: int, seed: int, element_budget: int, candidate_name: str = "backprop",
                     exact_note: str | None = None, scale: np.ndarray | None = None) -> HessianCheck:
    """The candidate's H·u for a random u, checked per variable by directions.check_directions against the slopes of
    φ = uᵀg along random v (complex step, differences), a disagreeing v bisected to the rows of H that are wrong.
    `hvp(u)` and `rounding(u)` (how far rounding may move each element of H·u) are flat over the layout."""
    u = random_u(layout, seed)
    product, allowance = np.asarray(hvp(u), np.float64), np.asarray(rounding(u), np.float64)
    probe = ProjectedProbe(source, layout, u, x, g0, element_budget, scale)
    statuses, slopes, failing, parts = [], [], [], []
    blame = BLAME[candidate_name].rsplit(" is wrong", 1)[0]
    for name, shape in zip(layout.names, layout.shapes):
        block = layout.block(name)
        candidate = Candidate(name, x[block].reshape(shape), product[block].reshape(shape),
                              np.broadcast_to(allowance[block], (block.stop - block.start,)).reshape(shape), eps)
        found = check_directions(probe, candidate, tol, count, seed)
        statuses.append(found.status)
        slopes.extend(found.slopes)
        text = summary(found, blame)  # in directions.py's words for a gradient; here the gradient is H·u
        text = text and (text.replace("vᵀ·gradient", "vᵀ·(H·u)").replace(" along v gives", " of uᵀ·gradient along v gives")
                         .replace("names element", "names H·u's element"))
        if text and found.status != "pass":
            parts.append(f"d{name}: {text}" if len(layout.names) > 1 else text)
        for index in found.faulty:
            row = block.start + (int(np.ravel_multi_index(index, shape)) if shape else 0)
            columns = _columns(row, u, x, hvp, rounding, source, tol, eps) if len(failing) < ROWS_BISECTED else []
            failing += [((row, column), "mismatch", f"{entry_label(layout.vars, row, column)}: H·v disagrees with the "
                         f"slope of the gradient's element {element_label(layout.vars[row])} along v there: "
                         f"{BLAME[candidate_name]}") for column in columns]
            if not columns:
                failing.append(((row, None), "mismatch", f"{entry_label(layout.vars, row, None)}: H·u disagrees with "
                                f"the slope of uᵀ·gradient there: {BLAME[candidate_name]} in row "
                                f"{element_label(layout.vars[row])}"))
    status = max(statuses, key=SEVERITY.index, default="pass")
    named = [(r, c) for (r, c), _, _ in failing if c is not None]
    if named:
        parts.append("bisecting u column by column names " + ", ".join(entry_label(layout.vars, r, c) for r, c in named[:5])
                     + (" …" if len(named) > 5 else ""))
    diagnosis = "; ".join(parts) or None
    if status == "pass":
        diagnosis = (f"{len(slopes)} random directions agree with H·u for a random u"
                     + (f" ({diagnosis})" if diagnosis else ""))
    return HessianCheck(layout.vars, status, candidate_name, None, None, None, None, None, None, None, None,
                        tuple(failing[:FAILING_SHOWN]), diagnosis, exact_note, True, "directions", tuple(slopes))


ROWS_BISECTED = 4  # rows of H whose columns are bisected (each costs about 2·log2(n) H·v and gradient rows)
MAX_COLUMNS = 4  # entries named per row at most (a row wrong throughout: its first few, as evidence)


def _columns(row: int, u: np.ndarray, x: np.ndarray, hvp, rounding, source: GradientRows, tol: Tolerances,
             eps: float) -> list[int]:
    """The columns of a wrong row of H: halve u's support, level by level, keeping the halves where the row's
    element of H·(u on the half) disagrees with the complex step of the gradient's element along it (one judge,
    as directions.py's bisection); [] when the gradient takes no complex input (real differences along a half
    carry truncation, which could name columns that are right)."""
    if not source.use_complex:
        return []
    n, named, segments = len(u), [], [(0, len(u))]
    tiny = COMPLEX_STEP * max(1.0, float(np.abs(x).max(initial=0.0)))
    while segments and len(named) < MAX_COLUMNS:
        halves = [h for a, b in segments for h in ((a, (a + b) // 2), ((a + b) // 2, b)) if h[1] > h[0]]
        moves = np.zeros((len(halves), n))
        for k, (a, b) in enumerate(halves):
            moves[k, a:b] = u[a:b]
        candidate = np.array([hvp(v)[row] for v in moves])
        allowance = np.array([rounding(v)[row] for v in moves])
        with np.errstate(all="ignore"):
            slopes = source.gradients(1j * tiny * moves).values[:, row].imag / tiny
        status = _agreement(candidate, slopes, allowance, tol, eps)
        segments = []
        for (a, b), s in zip(halves, status):
            if s == MISMATCH:
                (named.append(a) if b - a == 1 else segments.append((a, b)))
        segments = segments[:MAX_COLUMNS]
    return named[:MAX_COLUMNS]


def _agreement(candidate: np.ndarray, reference: np.ndarray, rounding: np.ndarray, tol: Tolerances,
               eps: float) -> np.ndarray:
    """The judge on bare numbers: the candidate against a reference of no error of its own (the complex step),
    allowed its rounding and rtol of the larger; a reference that is not finite judges nothing (pass)."""
    n = len(candidate)
    nan, no = np.full(n, np.nan), np.zeros(n, bool)
    e = Evidence(analytic=candidate, magnitude=np.zeros(n), noise=np.abs(rounding), x=np.ones(n), forward=nan,
                 centered=reference, richardson=nan, error_estimate=np.zeros(n), reliable=np.ones(n, bool), left=nan,
                 right=nan, second=np.zeros(n), h_centered=np.ones(n), complex_step=nan, exact=nan, expected=nan,
                 claim_tolerance=np.zeros(n), crossed=no, tied=no, nested=no, jumped=no,
                 slack=tol.rtol * np.maximum(np.abs(candidate), np.abs(reference)) + tol.atol)
    return np.where(np.isfinite(reference), judge(e, Tolerances(0.0, 0.0), eps).status, PASS)


def candidate_rounding(values: np.ndarray, eps: float) -> np.ndarray:
    """16·eps of the largest entry: how far a candidate's own rounding may move each of its entries, when nothing
    better is known (your functions)."""
    return np.full(np.shape(values), 16 * eps * float(np.abs(values).max(initial=0.0)))

