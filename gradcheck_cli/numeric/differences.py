"""Finite differences and the complex step over engine.forward_output, per element of every checked variable.

Steps scale with the element: forward h = sqrt(eps)*max(1,|x|), centered h = cbrt(eps)*max(1,|x|) (each
balances its truncation error against rounding), rounded so that (x+h)-x == h exactly. The centered
stencil is also taken at h/2 and h/4, which gives a Richardson-extrapolated value, an estimate of the
centered difference's truncation error and a check that it shrinks like h**2; one-sided differences give
the left and right derivatives that judge a kink. Every perturbed copy of a point is one row of a
batched forward pass (variables not perturbed in a chunk stay one shared row), in chunks that bound
memory; branch signs of piecewise gates are compared with the point's own: a change means the stencil
crossed a kink. One point of scalar variables (a .gc line) has its rows built from Python floats instead
(_scalar_stencil_rows, _scalar_complex_step): the same IEEE operations, so the same bits, without the layouts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..eval.engine import forward_output
from ..ir import Graph
from ..status import COMPLEX_STEP, EPS

FORWARD_STEP = EPS ** 0.5
CENTERED_STEP = EPS ** (1 / 3)
_OFFSETS = (1.0, -1.0, 0.5, -0.5, 0.25, -0.25)  # multiples of the centered step; then the forward step
ROWS_PER_ELEMENT = len(_OFFSETS) + 1
MAX_ROWS = 4096  # rows per forward pass at most
MAX_SPARSE_ROWS = 1 << 13  # ... when rows differ from the point in one entry (eval/delta.py)
CELLS = 20_000_000  # rows x live values per forward pass at most: ~160 MB of float64


def representable_steps(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """h adjusted so that x+h is a float and (x+h)-x == h exactly (no rounding in the difference quotient)."""
    with np.errstate(over="ignore", invalid="ignore"):
        step = (x + h) - x
    return np.where((step != 0) & np.isfinite(step), step, h)


def variable_scale(x: np.ndarray) -> float:
    """What the steps of the user's functions and of random directions scale with: the variable's largest |element|
    (1 when it is all zeros). An input of size 1e-8 that f reads as W/1e-8 needs steps of its own size, not
    ∛ε ≈ 6e-6 (which would cross tanh's whole range: a flat, misleading stencil)."""
    largest = float(np.abs(x).max(initial=0.0))
    return largest if largest > 0 and np.isfinite(largest) else 1.0


def centered_steps(x: np.ndarray, override: float | None = None) -> np.ndarray:
    """The default step, rounded so that x+h is exact; a step the user chose (--h) is used exactly as given."""
    if override is not None:
        return np.full(np.shape(x), float(override))
    return representable_steps(x, CENTERED_STEP * np.maximum(1.0, np.abs(x)))


def forward_steps(x: np.ndarray, override: float | None = None) -> np.ndarray:
    if override is not None:
        return np.full(np.shape(x), float(override))
    return representable_steps(x, FORWARD_STEP * np.maximum(1.0, np.abs(x)))


def centered_step(x: float, override: float | None = None) -> float:
    return float(centered_steps(np.float64(x), override))


def forward_step(x: float, override: float | None = None) -> float:
    return float(forward_steps(np.float64(x), override))


@dataclass(frozen=True, slots=True)
class Differences:
    """Finite-difference estimates of d(f)/d(element) for one variable: arrays of shape (P, *out, *var)."""

    forward: np.ndarray
    centered: np.ndarray
    richardson: np.ndarray
    error_estimate: np.ndarray  # estimated |centered - true| (truncation from h vs h/2, plus rounding)
    reliable: np.ndarray  # the steps h, h/2, h/4 shrink the error as h**2 should (else the estimate means little)
    left: np.ndarray  # one-sided, Richardson-extrapolated
    right: np.ndarray
    second: np.ndarray  # d2f/dx2, for the conditioning of the analytic value
    h_forward: np.ndarray  # (P, *var)
    h_centered: np.ndarray
    crossed: dict[int, tuple[np.ndarray, np.ndarray]]  # piecewise node -> (crossed, element of it) per (P, *var)


@dataclass(frozen=True, slots=True)
class _Layout:
    """The checked elements, flattened: element e belongs to variable owner[e] at flat index local[e]."""

    wrt: tuple[str, ...]
    owner: np.ndarray
    local: np.ndarray
    starts: tuple[int, ...]

    @classmethod
    def of(cls, graph: Graph, wrt: tuple[str, ...]) -> "_Layout":
        sizes = [math.prod(graph.shapes[v]) for v in wrt]
        owner = np.repeat(np.arange(len(wrt)), sizes)
        local = np.concatenate([np.arange(n) for n in sizes]) if sizes else np.zeros(0, int)
        return cls(wrt, owner, local.astype(np.int64), tuple(np.cumsum([0, *sizes]).tolist()))

    @property
    def size(self) -> int:
        return len(self.owner)


def peak_live(graph: Graph) -> int:
    """Elements alive at once in a forward pass that drops dead values (what a row costs in memory)."""
    live = peak = 0
    for index, node in enumerate(graph.nodes):
        live += math.prod(node.shape)
        peak = max(peak, live)
        for dead in graph.dead_after[index]:
            live -= math.prod(graph.nodes[dead].shape)
    return max(peak, 1)


def _rows_per_pass(graph: Graph) -> int:
    if graph.scalar_only:  # scalars: the dead-value drop keeps a pass narrow
        return MAX_ROWS
    return int(max(1, min(MAX_ROWS, CELLS // peak_live(graph))))


def _stencil_inputs(graph: Graph, base: dict[str, np.ndarray], layout: _Layout, points: np.ndarray,
                    elements: np.ndarray, shifts: np.ndarray, dtype) -> dict[str, np.ndarray]:
    """One row per (point, element, shift): the point with that element moved; unmoved variables shared when
    the rows all belong to one point."""
    per = shifts.shape[1]
    row_point = np.repeat(points, per)
    single = bool(np.all(points == points[0]))
    if single and not any(graph.shapes[name] for name in layout.wrt):  # scalar variables at one point (a .gc line)
        return _scalar_stencil_inputs(base, layout, int(points[0]), elements, shifts, dtype, graph.variables)
    inputs = {}
    for name in graph.variables:
        value = base[name]
        k = layout.wrt.index(name) if name in layout.wrt else -1
        moved = np.flatnonzero(layout.owner[elements] == k) if k >= 0 else np.zeros(0, int)
        if not moved.size:
            inputs[name] = value[points[:1]] if single else value[row_point]
            continue
        rows = np.array(value[row_point], dtype=dtype)  # a copy: each row moves one element
        flat = rows.reshape(len(rows), -1)
        row_index = (moved[:, None] * per + np.arange(per)).reshape(-1)
        flat[row_index, np.repeat(layout.local[elements[moved]], per)] += shifts[moved].reshape(-1)
        inputs[name] = rows
    return inputs


def _scalar_stencil_inputs(base: dict[str, np.ndarray], layout: _Layout, point: int, elements: np.ndarray,
                           shifts: np.ndarray, dtype, variables: tuple[str, ...]) -> dict[str, np.ndarray]:
    """_stencil_inputs where every moved variable is a scalar and every row belongs to one point: the moved
    variables' rows made in one array, the same values (x + shift where the row moves it, else x)."""
    moved = sorted(set(layout.owner[elements].tolist()))
    names = [layout.wrt[k] for k in moved]
    rows = np.empty((len(names), shifts.size), dtype=dtype)
    rows[...] = np.array([base[name][point] for name in names], dtype=dtype)[:, None]
    where = np.searchsorted(moved, layout.owner[elements])  # each element's row of `rows`
    rows[np.repeat(where, shifts.shape[1]), np.arange(shifts.size)] += shifts.reshape(-1)
    inputs = {name: base[name][point:point + 1] for name in variables}
    inputs.update(zip(names, rows))
    return inputs


def _delta_inputs(graph: Graph, base, layout: _Layout, point: int, elements: np.ndarray, shifts: np.ndarray):
    """Each row moves one element: every moved variable as a Delta (rows that move another variable keep it)."""
    from ..eval.delta import Delta

    per = shifts.shape[1]
    moved = {}
    for k, name in enumerate(layout.wrt):
        mine = np.repeat(layout.owner[elements] == k, per)
        if not mine.any():
            continue
        value = np.asarray(base[name][point], dtype=np.float64)
        flat = np.where(mine, np.repeat(layout.local[elements], per), 0)
        old = value.reshape(-1)[flat]
        moved[name] = Delta(value, flat[:, None], np.where(mine, old + shifts.reshape(-1), old)[:, None])
    return moved


def _run(graph: Graph, base, layout: _Layout, steps: np.ndarray, dtype, base_signs=None):
    """f at every (point, element, shift) row, chunked; `steps` has shape (P, E, shifts). Also branch changes."""
    from ..eval.delta import worthwhile

    n_points, n_elements, per = steps.shape
    out_shape = graph.nodes[-1].shape
    pairs = max(1, _rows_per_pass(graph) // per)
    total = n_points * n_elements
    sparse = worthwhile(graph, n_elements)
    if n_points == 1 and not sparse and 0 < n_elements <= pairs:  # one point, one pass (a .gc line): no chunk bookkeeping
        return _one_pass(graph, base, layout, steps, dtype, base_signs)
    f = np.empty((n_points, n_elements, per, *out_shape), dtype=dtype)
    crossed = {}
    start = 0
    while start < total:
        stop = min(total, start + pairs, (start // n_elements + 1) * n_elements if sparse else total)
        flat = np.arange(start, stop)
        points, elements = flat // n_elements, flat % n_elements
        values, changes, cost = _rows(graph, base, layout, points, elements, steps[points, elements], dtype, base_signs, sparse)
        if sparse:  # rows that differ in one entry are cheap: as many per pass as their footprint allows
            pairs = int(max(1, min(MAX_SPARSE_ROWS, CELLS // cost) // per))
        start = stop
        f[points, elements] = np.broadcast_to(values, (len(flat) * per, *out_shape)).reshape(len(flat), per, *out_shape)
        for g, (changed, where) in changes.items():
            if g not in crossed:
                crossed[g] = (np.zeros((n_points, n_elements), bool), np.zeros((n_points, n_elements), np.int64))
            changed, where = changed.reshape(len(flat), per)[:, :len(_OFFSETS)], where.reshape(len(flat), per)
            first = changed.argmax(axis=1)
            crossed[g][0][points, elements] = changed.any(axis=1)
            crossed[g][1][points, elements] = where[np.arange(len(flat)), first]
    return f, crossed


def _one_pass(graph: Graph, base, layout: _Layout, steps: np.ndarray, dtype, base_signs):
    """_run's result for one point whose rows fit one pass: the same rows, the same forward pass, no chunks."""
    _, n_elements, per = steps.shape
    points, elements = np.zeros(n_elements, np.int64), np.arange(n_elements)
    values, changes, _ = _rows(graph, base, layout, points, elements, steps[0], dtype, base_signs, False)
    return _at_one_point(values, changes, n_elements, per, graph.nodes[-1].shape, dtype)


def _at_one_point(values: np.ndarray, changes: dict, n_elements: int, per: int, out_shape: tuple[int, ...], dtype):
    """(f as (1, E, per, *out), the kinks crossed) from a pass over one point's E x per rows."""
    f = np.asarray(np.broadcast_to(values, (n_elements * per, *out_shape)), dtype=dtype).reshape(1, n_elements, per, *out_shape)
    crossed = {}
    for g, (changed, where) in changes.items():
        changed, where = changed.reshape(n_elements, per)[:, :len(_OFFSETS)], where.reshape(n_elements, per)
        first = changed.argmax(axis=1)
        crossed[g] = (changed.any(axis=1)[None], where[np.arange(n_elements), first].astype(np.int64)[None])
    return f, crossed


def _rows(graph, base, layout, points, elements, shifts, dtype, base_signs, sparse: bool):
    if not sparse:
        inputs = _stencil_inputs(graph, base, layout, points, elements, shifts, dtype)
        return (*forward_output(graph, inputs, dtype, base_signs, np.repeat(points, shifts.shape[1])), 0)
    from ..eval.delta import forward_rows
    from ..eval.engine import forward

    point = int(points[0])
    at_point = forward(graph, {v: base[v][point:point + 1] for v in graph.variables})
    signs = None if base_signs is None else {g: s[point:point + 1] if s.shape[0] > 1 else s for g, s in base_signs.items()}
    moved = _delta_inputs(graph, base, layout, point, elements, shifts if np.isrealobj(shifts) else shifts)
    return forward_rows(graph, at_point, moved, dtype, signs)


def _per_variable(array: np.ndarray, layout: _Layout, k: int, var_shape: tuple[int, ...], out_ndim: int) -> np.ndarray:
    """(P, E, *out) → (P, *out, *var) for variable k (of shape var_shape)."""
    if not var_shape and not out_ndim:  # a scalar variable of a scalar f: its one column
        return array[:, layout.starts[k]]
    part = array[:, layout.starts[k]:layout.starts[k + 1]]
    part = part.reshape(part.shape[:1] + var_shape + part.shape[2:])
    n_var = len(var_shape)
    order = (0, *range(1 + n_var, 1 + n_var + out_ndim), *range(1, 1 + n_var))
    return np.transpose(part, order)


@dataclass(frozen=True, slots=True)
class StencilRows:
    """f at every stencil row of a case, before the difference quotients: finite_differences is
    differences_of(stencil_rows(...)), and differences_together takes many cases' quotients in one go."""

    layout: _Layout
    f: np.ndarray  # (P, E, ROWS_PER_ELEMENT, *out)
    f0: np.ndarray  # (P, *out)
    hc: np.ndarray  # (P, E): centered steps
    hf: np.ndarray  # (P, E): forward steps
    scales: np.ndarray  # (P,): the largest |intermediate value| per point
    crossed: dict[int, tuple[np.ndarray, np.ndarray]]  # piecewise node -> (crossed, element of it) per (P, E)
    shapes: tuple[tuple[int, ...], ...]  # each checked variable's shape
    out_ndim: int

    @property
    def joinable(self) -> bool:
        """One point, scalar variables, a scalar f: its quotients can be taken with other such cases'."""
        return self.f.shape[0] == 1 and not self.out_ndim and not any(self.shapes)


def stencil_rows(graph: Graph, base: dict[str, np.ndarray], wrt: tuple[str, ...], value_scales: np.ndarray,
                 f0: np.ndarray, base_signs: dict[int, np.ndarray], h: float | None = None) -> StencilRows:
    """f at x + (h, -h, h/2, -h/2, h/4, -h/4) along every element of every variable in `wrt`, and at x + the forward
    step, at every point (base: name → (P, *shape)), with the kinks the rows crossed."""
    if _scalar_point(graph, wrt, f0.shape[0], ROWS_PER_ELEMENT):
        return _scalar_stencil_rows(graph, base, wrt, value_scales, f0, base_signs, h)
    layout = _Layout.of(graph, wrt)
    n_points = f0.shape[0]
    x = np.concatenate([base[v].reshape(n_points, -1) for v in wrt], axis=1) if wrt else np.zeros((n_points, 0))
    hc, hf = centered_steps(x, h), forward_steps(x, h)
    steps = np.concatenate([hc[..., None] * np.array(_OFFSETS), hf[..., None]], axis=-1)
    with np.errstate(over="ignore"):  # x near the largest float: x+h is inf, and f there says so
        f, crossed = _run(graph, base, layout, steps, np.float64, base_signs)
    return StencilRows(layout, f, f0, hc, hf, value_scales, crossed, tuple(graph.shapes[v] for v in wrt),
                       len(graph.nodes[-1].shape))


def _scalar_point(graph: Graph, wrt: tuple[str, ...], n_points: int, per: int) -> bool:
    """One point, scalar variables, a scalar f, rows that fit one pass: a .gc line's usual case, which
    _scalar_stencil_rows and _scalar_complex_step take without layouts, chunks or per-element arrays."""
    return (n_points == 1 and 0 < len(wrt) <= max(1, _rows_per_pass(graph) // per) and not graph.nodes[-1].shape
            and not any(graph.shapes[v] for v in wrt))


def _centered_float(x: float, override: float | None) -> float:
    """centered_steps for one float, in Python floats (the same IEEE double operations, so the same bits)."""
    return float(override) if override is not None else _representable_float(x, CENTERED_STEP * max(1.0, abs(x)))


def _forward_float(x: float, override: float | None) -> float:
    return float(override) if override is not None else _representable_float(x, FORWARD_STEP * max(1.0, abs(x)))


def _representable_float(x: float, h: float) -> float:
    step = (x + h) - x
    return step if step != 0 and math.isfinite(step) else h


def _scalar_stencil_rows(graph: Graph, base: dict[str, np.ndarray], wrt: tuple[str, ...], value_scales: np.ndarray,
                         f0: np.ndarray, base_signs: dict[int, np.ndarray], h: float | None) -> StencilRows:
    """stencil_rows at one point of scalar variables (_scalar_point): the same rows, steps and pass, built from floats.
    Variable k's input holds its value in every row but its own ROWS_PER_ELEMENT, which move it."""
    n = len(wrt)
    xs = [float(base[v][0]) for v in wrt]
    hc = [_centered_float(x, h) for x in xs]
    hf = [_forward_float(x, h) for x in xs]
    inputs = {name: base[name][:1] for name in graph.variables}
    for k, (name, x) in enumerate(zip(wrt, xs)):
        row = [x] * (n * ROWS_PER_ELEMENT)
        row[k * ROWS_PER_ELEMENT:(k + 1) * ROWS_PER_ELEMENT] = [x + hc[k] * o for o in _OFFSETS] + [x + hf[k]]
        inputs[name] = np.array(row)
    with np.errstate(over="ignore"):  # x near the largest float: x+h is inf, and f there says so
        values, changes = forward_output(graph, inputs, np.float64, base_signs, np.zeros(n * ROWS_PER_ELEMENT, np.int64))
    f, crossed = _at_one_point(values, changes, n, ROWS_PER_ELEMENT, (), np.float64)
    layout = _Layout(wrt, np.arange(n), np.zeros(n, np.int64), tuple(range(n + 1)))
    return StencilRows(layout, f, f0, np.array([hc]), np.array([hf]), value_scales, crossed, ((),) * n, 0)


def _scalar_complex_step(graph: Graph, base: dict[str, np.ndarray], wrt: tuple[str, ...]) -> dict[str, np.ndarray]:
    """complex_step at one point of scalar variables (_scalar_point): row k moves variable k by i*h, x + 0.0 as
    numpy's x + 0j*... gives it (so -0.0 becomes 0.0 there, as before)."""
    n = len(wrt)
    xs = [float(base[v][0]) for v in wrt]
    steps = [COMPLEX_STEP * max(1.0, abs(x)) for x in xs]
    inputs = {name: base[name][:1] for name in graph.variables}
    for k, (name, x) in enumerate(zip(wrt, xs)):
        row = [complex(x, 0.0)] * n
        row[k] = complex(x + 0.0, steps[k])
        inputs[name] = np.array(row, dtype=np.complex128)
    values, _ = forward_output(graph, inputs, np.complex128)
    f = np.broadcast_to(values, (n,))
    with np.errstate(all="ignore"):
        return {v: np.array([f[k].imag / steps[k]]) for k, v in enumerate(wrt)}


def finite_differences(graph: Graph, base: dict[str, np.ndarray], wrt: tuple[str, ...], value_scales: np.ndarray,
                       f0: np.ndarray, base_signs: dict[int, np.ndarray], h: float | None = None) -> dict[str, Differences]:
    """The differences for every element of every variable in `wrt` at every point (base: name → (P, *shape))."""
    return differences_of(stencil_rows(graph, base, wrt, value_scales, f0, base_signs, h))


def differences_of(rows: StencilRows, columns: dict[str, np.ndarray] | None = None) -> dict[str, Differences]:
    """Per variable, the difference quotients of a case's stencil rows (`columns`: already taken, (P, E))."""
    layout, out_ndim, n_points = rows.layout, rows.out_ndim, rows.f.shape[0]
    if columns is None:
        f0 = rows.f0[:, None]
        scales = rows.scales.reshape((-1,) + (1,) * (out_ndim + 1))
        columns = _formulas(rows.f, f0, rows.hc, rows.hf, scales, out_ndim)
    result = {}
    for k, v in enumerate(layout.wrt):
        var_shape = rows.shapes[k]
        per = {name: _per_variable(col, layout, k, var_shape, out_ndim) for name, col in columns.items()}
        part = slice(layout.starts[k], layout.starts[k + 1])
        steps_v = {name: s[:, part].reshape((n_points, *var_shape)) for name, s in (("hf", rows.hf), ("hc", rows.hc))}
        kinks = {g: tuple(a[:, part].reshape((n_points, *var_shape)) for a in pair) for g, pair in rows.crossed.items()}
        result[v] = Differences(per["forward"], per["centered"], per["richardson"], per["error_estimate"], per["reliable"],
                                per["left"], per["right"], per["second"], steps_v["hf"], steps_v["hc"], kinks)
    return result


def differences_together(many: list[StencilRows]) -> list[dict[str, Differences]]:
    """differences_of for many cases, the joinable ones' quotients taken in one call of _formulas (its cost is per
    call: ~40 numpy calls on a line's few elements); the same numbers, element by element."""
    joined = [k for k, rows in enumerate(many) if rows.joinable]
    result: list[dict[str, Differences] | None] = [None] * len(many)
    if len(joined) > 1:
        parts = [many[k] for k in joined]
        sizes = [rows.f.shape[1] for rows in parts]
        f0 = np.repeat(np.concatenate([rows.f0.reshape(1) for rows in parts]), sizes)[None]
        scales = np.repeat(np.concatenate([rows.scales.reshape(1) for rows in parts]), sizes)[None]
        columns = _formulas(np.concatenate([rows.f for rows in parts], axis=1), f0,
                            np.concatenate([rows.hc for rows in parts], axis=1),
                            np.concatenate([rows.hf for rows in parts], axis=1), scales, 0)
        start = 0
        for k, size in zip(joined, sizes):
            result[k] = differences_of(many[k], {name: col[:, start:start + size] for name, col in columns.items()})
            start += size
    return [done if done is not None else differences_of(rows) for done, rows in zip(result, many)]


def _formulas(f: np.ndarray, f0: np.ndarray, hc: np.ndarray, hf: np.ndarray, scale: np.ndarray, out_ndim: int) -> dict[str, np.ndarray]:
    """Every difference quotient from the stencil rows f (P, E, 7, *out); results (P, E, *out). f0 and `scale`
    (the value scale) broadcast against (P, E, *out)."""
    expand = (slice(None), slice(None)) + (None,) * out_ndim
    hc, hf = hc[expand], hf[expand]
    plus, minus, plus_half, minus_half, plus_quarter, minus_quarter, plus_forward = (f[:, :, j] for j in range(ROWS_PER_ELEMENT))
    with np.errstate(all="ignore"):
        centered = (plus - minus) / (2 * hc)
        centered_half = (plus_half - minus_half) / hc
        centered_quarter = (plus_quarter - minus_quarter) / (hc / 2)
        rounding = 2 * EPS * np.maximum.reduce([np.broadcast_to(scale, plus.shape), np.abs(f0) + 0 * plus, np.abs(plus), np.abs(minus)]) / hc
        left_h, left_half = (f0 - minus) / hc, (f0 - minus_half) / (hc / 2)
        right_h, right_half = (plus - f0) / hc, (plus_half - f0) / (hc / 2)
        error_estimate = np.abs(centered - centered_half) * 4 / 3 + rounding
        return {
            "forward": (plus_forward - f0) / hf,
            "centered": centered,
            "richardson": centered_half + (centered_half - centered) / 3,
            "error_estimate": np.where(np.isnan(error_estimate), np.inf, error_estimate),
            "reliable": shrinks_like_h_squared(centered, centered_half, centered_quarter, 4 * rounding),
            "left": 2 * left_half - left_h,
            "right": 2 * right_half - right_h,
            "second": (plus_half - 2 * f0 + minus_half) / (hc / 2) ** 2,
        }


def shrinks_like_h_squared(d_h: np.ndarray, d_half: np.ndarray, d_quarter: np.ndarray, noise: np.ndarray,
                           low: float = 2.0, high: float = 8.0) -> np.ndarray:
    """Halving h should cut a centered difference's error 4x (low..high around it; 1.2..3.4 for a one-sided
    difference's 2x); differences lost in rounding noise are fine too."""
    first, second = np.abs(d_h - d_half), np.abs(d_half - d_quarter)
    with np.errstate(all="ignore"):
        ratio = first / second
    return ((first <= noise) & (second <= noise)) | ((second > 0) & (ratio >= low) & (ratio <= high))


def stencil(rows: tuple[np.ndarray, ...], f0, h, eps: float) -> dict[str, np.ndarray]:
    """Every difference from f at x + (h, -h, h/2, -h/2, h/4, -h/4) along one element or one direction (arrays of one
    shape; f0 and h broadcast against them), for f computed at machine epsilon `eps`: the columns the judge reads,
    and `kink`, whether the one-sided slopes part the way a kink at x makes them — cleanly, each converging like h
    (a kink crossed near x, not at it, or a stencil too coarse for the curvature, makes them jump as h shrinks)."""
    plus, minus, plus2, minus2, plus4, minus4 = rows
    with np.errstate(all="ignore"):
        noise = 2 * eps * np.maximum.reduce([np.abs(plus), np.abs(minus), np.abs(f0) + 0 * plus]) / h
        centered, half, quarter = (plus - minus) / (2 * h), (plus2 - minus2) / h, (plus4 - minus4) / (h / 2)
        left = [(f0 - minus) / h, (f0 - minus2) / (h / 2), (f0 - minus4) / (h / 4)]
        right = [(plus - f0) / h, (plus2 - f0) / (h / 2), (plus4 - f0) / (h / 4)]
        error = np.abs(centered - half) * 4 / 3 + noise
        clean = (shrinks_like_h_squared(*left, 16 * noise, 1.2, 3.4) & shrinks_like_h_squared(*right, 16 * noise, 1.2, 3.4))
        left_x, right_x = 2 * left[1] - left[0], 2 * right[1] - right[0]
        parted = np.abs(left_x - right_x) > 100 * error + 1e-6 * np.maximum(np.abs(left_x), np.abs(right_x)) + 1e-300
        return {"forward": right[0], "centered": centered, "richardson": half + (half - centered) / 3,
                "error_estimate": np.where(np.isnan(error), np.inf, error),
                "reliable": shrinks_like_h_squared(centered, half, quarter, 16 * noise),  # h/4 rounds 4x more
                "left": left_x, "right": right_x, "kink": parted & clean}


def complex_step(graph: Graph, base: dict[str, np.ndarray], wrt: tuple[str, ...], layout: _Layout | None = None
                 ) -> dict[str, np.ndarray]:
    """Im f(x + i*h)/h with h = 1e-20*max(1,|x|) per element: no subtraction, so no rounding error for analytic gates.
    `layout`: the elements' (a StencilRows' own, for the same wrt)."""
    n_points = next(iter(base.values())).shape[0] if base else 1
    if _scalar_point(graph, wrt, n_points, 1):
        return _scalar_complex_step(graph, base, wrt)
    layout = layout if layout is not None else _Layout.of(graph, wrt)
    x = np.concatenate([base[v].reshape(n_points, -1) for v in wrt], axis=1) if wrt else np.zeros((n_points, 0))
    steps = COMPLEX_STEP * np.maximum(1.0, np.abs(x))
    f, _ = _run(graph, base, layout, (1j * steps)[..., None], np.complex128)
    out_ndim = len(graph.nodes[-1].shape)
    with np.errstate(all="ignore"):
        slopes = f[:, :, 0].imag / steps[(slice(None), slice(None)) + (None,) * out_ndim]
    return {v: _per_variable(slopes, layout, k, graph.shapes[v], out_ndim) for k, v in enumerate(wrt)}


def evaluate_rows(graph: Graph, rows: np.ndarray) -> np.ndarray:
    """f at every row of `rows` (one column per scalar variable), chunked: for sweeps over one variable."""
    names = graph.variables
    parts = []
    step = _rows_per_pass(graph)
    for start in range(0, max(len(rows), 1), step):
        chunk = rows[start:start + step]
        values, _ = forward_output(graph, {n: chunk[:, k] for k, n in enumerate(names)}, dtype=rows.dtype.type)
        parts.append(values[:len(chunk)])
    return np.concatenate(parts)


def complex_step_elements(graph: Graph, point: dict[str, np.ndarray], var: str, flat: np.ndarray) -> np.ndarray:
    """The complex step of a scalar f at one point for some elements of one variable (by flat index)."""
    layout = _Layout((var,), np.zeros(len(flat), np.int64), np.asarray(flat, np.int64), (0, len(flat)))
    base = {v: np.asarray(point[v], dtype=np.float64)[None] for v in graph.variables}
    x = base[var].reshape(-1)[layout.local]
    steps = COMPLEX_STEP * np.maximum(1.0, np.abs(x))
    f, _ = _run(graph, base, layout, (1j * steps)[None, :, None], np.complex128)
    with np.errstate(all="ignore"):
        return f.reshape(len(flat)).imag / steps


def row_cost(graph: Graph, point: dict[str, np.ndarray], var: str) -> int:
    """Values one perturbed copy of the point holds at its widest node, when it differs in one entry of `var`."""
    from ..eval.delta import forward_rows
    from ..eval.engine import forward

    layout = _Layout((var,), np.zeros(1, np.int64), np.zeros(1, np.int64), (0, 1))
    base = {v: np.asarray(point[v], dtype=np.float64)[None] for v in graph.variables}
    moved = _delta_inputs(graph, base, layout, 0, np.zeros(1, np.int64), np.full((1, 1), 1e-3))
    return forward_rows(graph, forward(graph, base), moved, np.float64)[2]
