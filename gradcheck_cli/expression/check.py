"""The expression route: one case end to end, a graph and its points → every column → the judge → CaseResults.

All points go through the graph as one numpy batch; every element of every checked variable gets
the numerical columns, the exact column (one time budget for the whole case) and a verdict. The
allowances for float64 rounding are measured only where a clean verdict needs them.

In three steps, so that many cases (a .gc file's lines) can share the per-call costs: `prepare` computes a case's
columns, `judge_together` takes the difference quotients of many cases in one go and judges their scalar gradients
in one call, and `finish` makes the results. check_points is the three for one case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..errors import UsageError
from ..eval.engine import backward, branch_signs, forward, nonfinite_points, perturbed_forward, value_scales
from ..eval.jacobian import effective_output, jacobian
from ..inputs.claims import VALUE_CLAIM, Claim, claim_values
from ..ir import Graph
from ..numeric.differences import Differences, StencilRows, complex_step, differences_together, stencil_rows
from ..numeric.directions import Candidate, GraphProbe, as_gradient_check, check_directions, element_judgement, needs_directions
from ..oracle import ExactResult
from ..report.text import element_text
from ..results import CaseResult, GradientCheck, TraceRow
from ..status import EPS, PASS, SEVERITY, worst
from ..verdict import METHODS, Evidence, Judgement, Tolerances, describe, judge
from .problems import first_problem, kink_text, tie_counts

DTYPES = {"float64": np.float64, "float32": np.float32}
FAILING_SHOWN = 20  # failing elements listed per variable (JSON keeps every element's values)


@dataclass(frozen=True, slots=True)
class Options:
    """How a case is checked: step, tolerances, the exact column, precision, random directions, order."""

    h: float | None = None
    tolerances: Tolerances = Tolerances()
    exact: bool = True
    exact_timeout: float = 5.0  # seconds for the exact column of a whole case (all its points)
    exact_method: str = "auto"  # auto: SymPy's whole formula for small scalar expressions, else chain; chain: always
    trace: bool = False
    dtype: str = "float64"  # the analytic pass runs in this precision (the numerical reference stays float64)
    directions: int = 2  # random directions per variable past direction_limit checked elements
    direction_limit: int = 10_000
    seed: int = 0  # of the random directions
    order: int = 1  # 2: the Hessian too (expression/hessian.py); a claim on second derivatives asks for it as well


def _stacked(points: list[dict[str, np.ndarray]], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    if len(points) == 1:  # a .gc line's one point: its values, copied, as a batch of one
        return {v: np.array(points[0][v], dtype=np.float64)[None] for v in names}
    return {v: np.stack([np.asarray(p[v], dtype=np.float64) for p in points]) for v in names}


def check_points(graph: Graph, points: list[dict[str, np.ndarray]], wrt: tuple[str, ...], options: Options,
                 claims: dict[str, Claim] | None = None, source: str | None = None, program=None) -> list[CaseResult]:
    """Every column at every point, the points going through the graph as one numpy batch.
    `program`: (bindings, definitions) for the oracle when the graph came from a program."""
    prepared = prepare(graph, points, wrt, options, claims, source, program)
    return finish(prepared, judge_together([prepared])[0]) if prepared is not None else []


@dataclass(frozen=True, slots=True)
class Judged:
    """What judge_together made of a prepared case: its sample with the difference quotients taken, and its verdicts
    where they are clean passes (None: `finish` judges it variable by variable)."""

    sample: Sample | None
    verdicts: dict[str, tuple[Evidence, Judgement]] | None


@dataclass(frozen=True, slots=True)
class CaseColumns:
    """One case up to its verdicts (`prepare`'s result): every column computed, nothing judged yet, so that many
    cases' quotients and scalar elements can be taken in one go (judge_together) before `finish` makes the results."""

    graph: Graph
    points: list[dict[str, np.ndarray]]
    wrt: tuple[str, ...]
    options: Options
    second: dict[str, Claim]  # claims on second derivatives (the Hessian route's)
    values: list[np.ndarray]  # the forward pass at every point
    passes: list  # the backward passes (jacobian's)
    problems: list[str | None]  # why a point cannot be checked, per point
    expected: dict[str, np.ndarray]  # the claims' values, every point
    sample: Sample | None  # the good points' columns (quotients not yet taken); None: no good point, or random
    # directions (checks made)
    checks: dict[int, tuple[GradientCheck, ...]]  # made already by random directions, else empty
    exact: dict[int, ExactResult]  # per good point
    source: str | None
    program: tuple | None  # (bindings, definitions) of a program's graph, for the oracle


def prepare(graph: Graph, points: list[dict[str, np.ndarray]], wrt: tuple[str, ...], options: Options,
            claims: dict[str, Claim] | None = None, source: str | None = None, program=None) -> CaseColumns | None:
    """Every column of a case (None: no points); the judge runs in `finish` (or judge_together for many cases)."""
    if not points:
        return None
    empty = [v for v in graph.variables if math.prod(graph.shapes[v]) == 0]
    if empty:
        raise UsageError(f"{empty[0]} is empty (shape {graph.shapes[empty[0]]}): there is no gradient to check; "
                         "give it at least one element")
    claims = claims or {}
    second = {v: c for v, c in claims.items() if c.second is not None}  # claims on H: the second-order route's
    claims = {v: c for v, c in claims.items() if c.second is None}
    if options.order == 2 or second:
        from .hessian import refuse

        refuse(graph, wrt, options, second)  # before any work: what the second-order check cannot do
    inputs = _stacked(points, graph.variables)
    dtype = DTYPES[options.dtype]
    values = forward(graph, inputs, dtype)
    analytic, _, passes = jacobian(graph, values, wrt)
    expected = {v: claim_values(c, graph.registry, graph.shapes, inputs, effective_output(graph) + graph.shapes[v] if v != VALUE_CLAIM
                                else graph.nodes[-1].shape, len(points)) for v, c in claims.items()}
    suspect = nonfinite_points(values, [*analytic.values(), *expected.values()], len(points))
    problems = [first_problem(graph, values, passes, analytic, expected, k) if suspect[k] else None for k in range(len(points))]
    good = [k for k, problem in enumerate(problems) if problem is None]
    sample, checks, exact = _columns(graph, [points[k] for k in good], good, inputs, values, analytic, expected, wrt,
                                     options, claims, program)
    return CaseColumns(graph, points, wrt, options, second, values, passes, problems, expected, sample, checks, exact,
                    source, program)


def finish(p: CaseColumns, judged: Judged) -> list[CaseResult]:
    """The CaseResults of a prepared case, from what judge_together made of it."""
    checks = judged.sample.checks(p.wrt, judged.verdicts) if judged.sample is not None else p.checks
    cases = [_case(p.graph, p.points[k], k, p.values, p.passes, p.problems[k], checks.get(k), p.exact.get(k), p.expected,
                   p.options, p.source) for k in range(len(p.points))]
    if p.options.order == 2 or p.second:
        from .hessian import with_hessians

        good = [k for k, problem in enumerate(p.problems) if problem is None]
        cases = with_hessians(p.graph, p.points, good, cases, p.wrt, p.options, p.second, p.program)
    return cases


def _columns(graph, good_points, good, inputs, values, analytic, expected, wrt, options: Options, claims, program=None):
    """(the good points' Sample, or None with the checks random directions made; the exact result per good point)."""
    if not good:
        return None, {}, {}
    if math.prod(graph.nodes[-1].shape) == 1 and needs_directions(graph, good_points[0], wrt, options.direction_limit):
        exact = _exact(graph, good_points, wrt, options, claims, program)
        tolerance = {v: c.tolerance() for v, c in claims.items() if c.approximate}
        return None, direction_checks(graph, good_points, good, analytic, expected, wrt, options, exact, tolerance), \
            dict(zip(good, exact)) if exact else {}
    base = {v: a[good] for v, a in inputs.items()}
    reference = values if options.dtype == "float64" else forward(graph, inputs)  # the numerical columns stay float64
    f0 = np.asarray(reference[-1][good], dtype=np.float64)
    scales = value_scales(reference)[good]
    signs = {g: s[good] if s.shape[0] > 1 else s for g, s in branch_signs(graph, reference).items()}
    rows = stencil_rows(graph, base, wrt, scales, f0, signs, options.h)
    complex_slopes = complex_step(graph, base, wrt, rows.layout)
    exact = _exact(graph, good_points, wrt, options, claims, program)
    sample = Sample(graph=graph, good=good, base=base, values=values, analytic=analytic, expected=expected, rows=rows,
                    differences={}, complex=complex_slopes, exact=exact, signs=signs, options=options, claims=claims,
                    out=effective_output(graph))
    return sample, {}, dict(zip(good, exact)) if exact else {}


def judge_together(prepared: list[CaseColumns]) -> list[Judged]:
    """Many cases at once: their difference quotients taken together (differences_together), and their scalar
    gradients (scalar variables of a scalar f: a .gc file's usual line) judged in one call of the judge per
    tolerance, whose cost is per call, not per element: the same judge and the same evidence, only the arrays are
    longer. Per case: its verdicts where every one is a clean pass without rounding allowances, else None (then
    `finish` judges each variable on its own, measuring the allowances where they are needed)."""
    samples = [p.sample for p in prepared]
    pending = [k for k, sample in enumerate(samples) if sample is not None]
    for k, differences in zip(pending, differences_together([samples[k].rows for k in pending])):
        samples[k] = replace(samples[k], differences=differences)
    verdicts: list[dict[str, tuple[Evidence, Judgement]] | None] = [None] * len(prepared)
    groups: dict[tuple[Tolerances, float], list[int]] = {}
    for k in pending:
        if samples[k].all_scalar(prepared[k].wrt):
            groups.setdefault((prepared[k].options.tolerances, samples[k].eps()), []).append(k)
    for (tol, eps), members in groups.items():
        evidences = [[samples[k].evidence(v) for v in prepared[k].wrt] for k in members]
        pieces = [e for case in evidences for e in case]
        sizes = [len(e.analytic) for e in pieces]
        stacked = Evidence(*(_joined([getattr(e, name) for e in pieces], sizes) for name in Evidence.__slots__))
        j = judge(stacked, tol, eps)
        fields = [np.broadcast_to(getattr(j, name), stacked.analytic.shape) for name in Judgement.__slots__]
        unclean = (fields[0] != PASS) | (fields[1] != 0) | fields[2] | (~np.isnan(stacked.expected) & ~np.isfinite(stacked.exact))
        start = 0
        for k, case in zip(members, evidences):
            stop = start + sum(len(e.analytic) for e in case)
            if not unclean[start:stop].any():
                judged = {}
                for v, e in zip(prepared[k].wrt, case):
                    end = start + len(e.analytic)
                    judged[v] = (e, Judgement(*(field[start:end] for field in fields)))
                    start = end
                verdicts[k] = judged
            start = stop
    return [Judged(sample, verdict) for sample, verdict in zip(samples, verdicts)]


def _joined(values: list, sizes: list[int]) -> np.ndarray:
    """One field of many pieces of evidence end to end, each broadcast to its piece's size (few numpy calls: a field
    is usually one array per element, or one value per piece)."""
    if all(np.ndim(v) == 1 for v in values):
        return np.concatenate(values)
    if all(np.ndim(v) == 0 for v in values):
        return np.repeat(np.array(values), sizes)
    return np.concatenate([np.broadcast_to(v, (n,)) for v, n in zip(values, sizes)])


def _exact(graph: Graph, points, wrt, options: Options, claims, program=None):
    if not options.exact:
        return None
    from ..oracle import SIZE_LIMIT

    if sum(math.prod(graph.shapes[v]) for v in graph.variables) > SIZE_LIMIT:  # decided before SymPy is imported
        from ..oracle import skipped_for_size

        return [skipped_for_size(wrt)] * len(points)
    from ..oracle.exact import exact_case  # SymPy only when the exact column is asked for

    source, definitions = program if program is not None else (graph.expr, None)
    return exact_case(source, points, wrt, options.exact_timeout, options.exact_method == "auto",
                      {v: c.expr for v, c in claims.items() if c.expr is not None}, definitions)


@dataclass(frozen=True, slots=True)
class Sample:
    """The columns of the good points, judged variable by variable (arrays of shape (G, *output, *variable))."""

    graph: Graph
    good: list[int]  # indices of the points that can be checked
    base: dict[str, np.ndarray]  # their values, (G, *variable)
    values: list[np.ndarray]  # the forward pass at every point
    analytic: dict[str, np.ndarray]  # backprop's Jacobian per variable, every point
    expected: dict[str, np.ndarray]  # the claims' values, every point
    rows: StencilRows  # f at the stencil rows, from which `differences` are taken
    differences: dict[str, Differences]  # empty until judge_together takes them (many cases' in one go)
    complex: dict[str, np.ndarray]  # the complex step per variable
    exact: list[ExactResult] | None  # per good point; None when the exact column is off
    signs: dict[int, np.ndarray]  # branch signs of the piecewise gates at the good points
    options: Options
    claims: dict[str, Claim]
    out: tuple[int, ...]  # the output's shape as the gradient sees it (eval/jacobian.effective_output)

    def _shaped(self, array: np.ndarray, var: str) -> np.ndarray:
        shape = (len(self.good), *self.out, *self.graph.shapes[var])
        return array if array.shape == shape else array.reshape(shape)

    def _per_element(self, array: np.ndarray, var: str) -> np.ndarray:
        """A (G, *variable) array lined up with (G, *output, *variable)."""
        shape = (len(self.good),) + (1,) * len(self.out) + self.graph.shapes[var]
        return array if array.shape == shape else array.reshape(shape)

    def evidence(self, var: str, magnitude=0.0, noise=0.0) -> Evidence:
        d: Differences = self.differences[var]
        crossed, ties, jumped = tie_counts(d.crossed, self.signs, self.graph)
        no = np.zeros((), bool)  # no kink crossed anywhere: one False for every element
        crossed, tied, nested = (no, no, no) if crossed is None else (
            self._per_element(crossed, var), self._per_element(ties >= 1, var), self._per_element(ties >= 2, var))
        jumped = no if jumped is None else self._per_element(jumped, var)
        shape = (len(self.good), *self.out, *self.graph.shapes[var])  # (G, *output, *variable), as _shaped makes it
        exact, claims, tolerance = self._exact_columns(var, shape)
        shaped = [a if a.shape == shape else a.reshape(shape) for a in (
            d.forward, d.centered, d.richardson, d.error_estimate, d.reliable, d.left, d.right, d.second, self.complex[var])]
        return Evidence(self.analytic[var][self.good].astype(np.float64, copy=False), np.asarray(magnitude),
                        np.asarray(noise), self._per_element(self.base[var], var), *shaped[:8],
                        self._per_element(d.h_centered, var), shaped[8], exact, claims, tolerance,
                        crossed, tied, nested, jumped, holomorphic=np.ones((), bool))

    def _exact_columns(self, var: str, shape: tuple[int, ...]):
        exact = np.full(shape, np.nan)
        if var in self.expected:
            claimed = self.expected[var][self.good].astype(np.float64)
        elif self.exact:
            claimed = np.full(shape, np.nan)
        else:
            claimed = exact  # no claim and no exact value: both all NaN (the judge writes to neither)
        for row, result in enumerate(self.exact or ()):
            if result.values.get(var) is not None:
                exact[row] = np.reshape(result.values[var], shape[1:])
            if var in result.claims and result.values.get(var) is not None:
                claimed[row] = np.reshape(result.claims[var], shape[1:])  # the claim at 50 digits, where there is one
        tolerance = np.zeros(())
        if var in self.claims and self.claims[var].approximate:
            printed = self.claims[var].tolerance()
            tolerance = printed.reshape(shape[1:]) if printed.size == math.prod(shape[1:]) else np.broadcast_to(printed, shape[1:])
        return exact, claimed, tolerance

    def all_scalar(self, wrt: tuple[str, ...]) -> bool:
        """Scalar variables of a scalar f: what judge_together stacks."""
        return bool(wrt) and not self.out and not any(self.graph.shapes[v] for v in wrt)

    def checks(self, wrt: tuple[str, ...], judged: dict[str, tuple[Evidence, Judgement]] | None = None
               ) -> dict[int, tuple[GradientCheck, ...]]:
        """The GradientChecks per good point; `judged`: clean verdicts from judge_together, else each variable is
        judged here."""
        judged = judged or {v: self._judge(v) for v in wrt}
        return {k: tuple(self._gradient(v, row, *judged[v]) for v in wrt) for row, k in enumerate(self.good)}

    def _judge(self, var: str) -> tuple[Evidence, Judgement]:
        tol = self.options.tolerances
        evidence = self.evidence(var)
        judgement = judge(evidence, tol, self.eps())
        # a claim without an exact value is judged against analytic: that needs analytic's rounding, so it is measured
        unsure_claim = ~np.isnan(evidence.expected) & ~np.isfinite(evidence.exact)
        unclean = np.flatnonzero(np.any((judgement.status != PASS) | (judgement.diagnosis != 0) | judgement.claim_failed
                                        | unsure_claim, axis=tuple(range(1, judgement.status.ndim))))
        if not unclean.size:
            return evidence, judgement
        # rounding allowances only widen tolerances, so a clean pass without them stays one: measure them elsewhere only
        magnitude = np.zeros(evidence.analytic.shape)
        magnitude[unclean] = self._magnitudes(var, unclean)
        evidence = self.evidence(var, magnitude)
        judgement = judge(evidence, tol, self.eps())
        doubtful = np.flatnonzero(np.any(judgement.status == SEVERITY.index("mismatch"), axis=tuple(range(1, judgement.status.ndim))))
        if doubtful.size:  # a mismatch may be float64 conditioning rather than a wrong rule: measure the noise there only
            noise = np.zeros(evidence.analytic.shape)
            noise[doubtful] = self._noise(var, doubtful)
            evidence = self.evidence(var, magnitude, noise)
            judgement = judge(evidence, tol, self.eps())
        return evidence, judgement

    def eps(self) -> float:
        return float(np.finfo(DTYPES[self.options.dtype]).eps)

    def _magnitudes(self, var: str, rows: np.ndarray) -> np.ndarray:
        subset = {v: a[rows] for v, a in self.base.items()}
        values = forward(self.graph, subset, DTYPES[self.options.dtype])
        return jacobian(self.graph, values, (var,), with_magnitudes=True)[1][var]

    def _noise(self, var: str, rows: np.ndarray, samples: int = 6) -> np.ndarray:
        """How far rounding of the forward values can move the analytic gradient: 4x the largest change over
        `samples` perturbed copies of each point (Monte Carlo arithmetic)."""
        if len(self.graph.nodes) * len(rows) * samples * max(1, math.prod(self.graph.nodes[-1].shape)) > 20_000_000:
            return np.zeros((len(rows), *self.analytic[var].shape[1:]))
        copies = {v: np.repeat(a[rows], samples, axis=0) for v, a in self.base.items()}
        perturbed = jacobian(self.graph, perturbed_forward(self.graph, copies, eps=self.eps()), (var,))[0][var]
        reference = np.repeat(self.analytic[var][self.good][rows], samples, axis=0)
        with np.errstate(all="ignore"):
            change = np.abs(perturbed - reference).reshape((len(rows), samples, *perturbed.shape[1:])).max(axis=1)
        return np.where(np.isfinite(change), 4 * change, 0.0)

    def _gradient(self, var: str, row: int, evidence: Evidence, judgement: Judgement) -> GradientCheck:
        return gradient_check(self, var, row, evidence, judgement)


def gradient_check(sample: Sample, var: str, row: int, e: Evidence, j: Judgement) -> GradientCheck:
    """One variable at one point: floats for a scalar gradient, arrays for a tensor one; the worst element decides."""
    status = j.status[row]
    worst_index = ()
    if status.ndim:
        severity = status * 4.0 + np.nan_to_num(np.maximum(j.rel_error[row], np.nan_to_num(j.expected_rel_error[row])), posinf=3.0).clip(0, 3)
        worst_index = tuple(int(i) for i in np.unravel_index(int(np.argmax(severity)), status.shape))
    var_shape = sample.graph.shapes[var]
    d = sample.differences[var]

    shape = np.shape(j.status)
    flags = (j.status, j.diagnosis, j.claim_failed, j.claim_unjudged, j.complex_dropped)
    broadcast: list[Evidence] = []  # every field at the analytic shape, made only when an element has words

    def text(index: tuple[int, ...]) -> str | None:
        at = (row, *index)
        if not any((flag if np.shape(flag) == shape else np.broadcast_to(flag, shape))[at] for flag in flags):  # a clean pass
            return None
        if not broadcast:
            broadcast.append(e.broadcast())
        full = broadcast[0]
        kink = kink_text(sample.graph, d.crossed, sample.signs, row, index[len(sample.out):], float(full.left[at]),
                         float(full.right[at]), float(full.h_centered[at]))
        said = describe(j, full, at, var, sample.options.tolerances, kink)
        return said if not index or said is None else f"element {element_text(index)}: {said}"

    failing = []
    if status.ndim:
        for index in zip(*np.nonzero(status != PASS)):
            index = tuple(int(i) for i in index)
            if len(failing) < FAILING_SHOWN:
                failing.append((index, SEVERITY[int(status[index])], text(index)))
    exact_row = sample.exact[row] if sample.exact else None

    whole = e.analytic.shape
    scalar = len(whole) == 1

    def col(array: np.ndarray) -> float | np.ndarray:
        if array.shape == whole:
            if scalar:  # a scalar gradient: its float
                return float(array[row])
            value = array[row]
        else:
            value = np.broadcast_to(array, whole)[row] if array.ndim else array
        return float(value) if value.ndim == 0 else np.array(value)

    has_claim = var in sample.expected
    return GradientCheck(
        var=var, analytic=col(e.analytic), forward=col(e.forward), centered=col(e.centered), richardson=col(e.richardson),
        complex_step=col(e.complex_step), exact=_optional(col(e.exact)), exact_expr=exact_row.formulas.get(var) if exact_row else None,
        expected=_optional(col(e.expected)) if has_claim else None, rel_error=col(j.rel_error),
        expected_rel_error=col(j.expected_rel_error) if has_claim else None, error_estimate=col(e.error_estimate),
        left=_optional(col(j.left)), right=_optional(col(j.right)), status=SEVERITY[int(status.max()) if status.ndim else int(status)],
        diagnosis=text(worst_index), h_forward=col(sample._per_element(d.h_forward, var)), h_centered=col(e.h_centered),
        best=col(j.best), best_method=_methods(j.best_method[row]), shape=tuple(e.analytic.shape[1:]), var_shape=var_shape,
        statuses=status_names(status), worst=worst_index, failing=tuple(failing))


def _optional(value):
    if isinstance(value, float):
        return None if math.isnan(value) else value
    return value


def _methods(codes: np.ndarray):
    if np.ndim(codes) == 0:
        return METHODS[int(codes)]
    return np.array(METHODS)[codes]


def status_names(status: np.ndarray):
    return np.array(SEVERITY)[status] if status.ndim else None


def _case(graph: Graph, point, k: int, values, passes, problem, checks, exact, expected, options: Options, source) -> CaseResult:
    value = np.asarray(values[-1][k], dtype=np.float64)
    f_value = float(value) if value.ndim == 0 else value
    trace = _trace(graph, values, passes, k) if options.trace else ()
    shown_point = {name: (float(v) if np.ndim(v) == 0 else np.asarray(v)) for name, v in point.items()}
    if problem is not None:
        return CaseResult(graph.expr.text, source, shown_point, f_value, "error", problem, (), None, None, trace)
    status = worst([c.status for c in checks])
    notes = [f"d{c.var}: {c.diagnosis}" for c in checks if c.diagnosis and c.status != "pass"]
    case = CaseResult(graph.expr.text, source, shown_point, f_value, status, "; ".join(notes) or None, checks,
                      exact.method if exact else None, exact.note if exact else ("not computed (the exact column is off)" if not options.exact else None), trace)
    if VALUE_CLAIM in expected:
        case = judge_value(case, expected[VALUE_CLAIM][k], exact, options)
    return case


def judge_value(case: CaseResult, claimed, exact, options: Options) -> CaseResult:
    """The value claim f=..., judged as every claim is (verdict.judge): against the exact f where there is one (by
    rtol), else against the float f with its rounding (undecided: inconclusive)."""
    claimed = np.asarray(claimed, dtype=np.float64)
    f = np.asarray(case.value, dtype=np.float64)
    reference = np.asarray(exact.value) if exact is not None and exact.value is not None and np.all(np.isfinite(exact.value)) else None
    exact_f = np.full(f.shape, np.nan) if reference is None else reference.reshape(f.shape).astype(np.float64)
    claimed = np.broadcast_to(claimed.reshape(f.shape) if claimed.size == f.size else claimed, f.shape)
    nan, no = np.full(f.shape, np.nan), np.zeros(f.shape, bool)
    eps = float(np.finfo(DTYPES[options.dtype]).eps)
    evidence = Evidence(analytic=f, magnitude=np.abs(f) / 4, noise=np.zeros(()), x=np.zeros(()), forward=nan, centered=nan,
                        richardson=nan, error_estimate=np.full(f.shape, np.inf), reliable=no, left=nan, right=nan,
                        second=np.zeros(()), h_centered=np.ones(()), complex_step=nan, exact=exact_f, expected=claimed,
                        claim_tolerance=np.zeros(()), crossed=no, tied=no, nested=no)
    j = judge(evidence, options.tolerances, eps)  # 16·eps·|f|/4: the rounding of f itself
    case = replace(case, expected_value=float(claimed) if claimed.ndim == 0 else np.array(claimed))
    against = f if reference is None else exact_f
    if j.claim_failed.any():
        worst_at = int(np.argmax(np.where(j.claim_failed, np.abs(against - claimed), -1.0).reshape(-1)))
        problem = (f"claimed f = {claimed.reshape(-1)[worst_at]:.10g} but f is {against.reshape(-1)[worst_at]:.10g}"
                   + (f" (element {element_text(np.unravel_index(worst_at, against.shape))})" if against.ndim else ""))
        return replace(case, status=worst([case.status, "mismatch"]), message="; ".join(filter(None, (problem, case.message))))
    if j.claim_unjudged.any():
        problem = (f"claimed f = {claimed.reshape(-1)[0]:.10g} cannot be judged to rtol {options.tolerances.rtol:g}: there is "
                   "no exact value, and float64 rounding of f leaves it undecided")
        return replace(case, status=worst([case.status, "inconclusive"]), message="; ".join(filter(None, (problem, case.message))))
    return case


def _trace(graph: Graph, values, passes, k: int) -> tuple[TraceRow, ...]:
    from ..eval.engine import at_point

    grads = passes[0].node_grads if len(passes) == 1 else None
    rows = []
    for i, n in enumerate(graph.nodes):
        value = np.asarray(at_point(values[i], k), dtype=np.float64)
        gradient = None
        if grads is not None and (n.varies or i == graph.output):
            gradient = np.asarray(at_point(grads[i], k), dtype=np.float64)
        rows.append(TraceRow(n.label, graph.describe(i), graph.expr.source(n.expr_index),
                             float(value) if value.ndim == 0 else value,
                             None if gradient is None else (float(gradient) if gradient.ndim == 0 else gradient), n.shape))
    return tuple(rows)


def point_problem(graph: Graph, point: dict, wrt: tuple[str, ...]) -> str | None:
    """Why `point` cannot be differentiated at all (a gate outside its domain, a gradient not finite), or None."""
    inputs = _stacked([point], graph.variables)
    values = forward(graph, inputs)
    analytic, _, passes = jacobian(graph, values, wrt)
    return first_problem(graph, values, passes, analytic, {}, 0)


# --- cases past the element (or work) limit: random directions ---------------------------------------------

def direction_checks(graph, points, good, analytic, expected, wrt, options, exact, claim_tolerance=None
                     ) -> dict[int, tuple[GradientCheck, ...]]:
    """Per good point (index k into the case's points): a GradientCheck per variable."""
    checks = {}
    eps = float(np.finfo(np.dtype(options.dtype)).eps)
    for row, (k, point) in enumerate(zip(good, points)):
        ex = exact[row] if exact else None
        magnitudes = _magnitudes(graph, point, wrt)
        probe = GraphProbe(graph, point)
        checks[k] = tuple(_direction_check(probe, point, v, np.asarray(analytic[v][k], dtype=np.float64), magnitudes[v], eps,
                                           expected[v][k] if v in expected else None, ex, options,
                                           (claim_tolerance or {}).get(v, 0.0)) for v in wrt)
    return checks


def _magnitudes(graph, point, wrt) -> dict[str, np.ndarray]:
    """The backward pass on absolute values: what each element's rounding is relative to."""
    values = forward(graph, {v: np.asarray(point[v], np.float64)[None] for v in graph.variables})
    result = backward(graph, values, with_magnitudes=True)
    index = dict(zip(graph.variables, graph.variable_nodes))
    return {v: np.asarray(result.magnitudes[index[v]][0], np.float64) for v in wrt}


def _direction_check(probe, point, var: str, gradient: np.ndarray, magnitude: np.ndarray, eps: float, claimed, exact,
                     options, claim_tolerance) -> GradientCheck:
    tol = options.tolerances
    x = np.asarray(point[var], dtype=np.float64)
    claimed = None if claimed is None else np.asarray(claimed, dtype=np.float64)
    candidate = Candidate(var, x, gradient, 16 * max(eps, EPS) * magnitude, eps)
    result = check_directions(probe, candidate, tol, options.directions, options.seed)
    exact_values = exact.values.get(var) if exact is not None else None
    exact_values = None if exact_values is None else np.asarray(exact_values, np.float64).reshape(gradient.shape)
    kinked = any(s.status == "kink" for s in result.slopes)
    elements = element_judgement(candidate, magnitude, exact_values, claimed, claim_tolerance, tol, kinked)
    return as_gradient_check(result, candidate, elements, exact_values, claimed)
