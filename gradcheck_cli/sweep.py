"""`gradcheck sweep`: how the error of each difference quotient moves with h — the V of truncation
against rounding error — measured against the exact derivative."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .ir import Graph
from .numeric import centered_step, evaluate_rows, forward_step

STEPS = tuple(10.0 ** -k for k in range(1, 16))
METHODS = ("forward", "centered", "richardson")
MARKERS = {"forward": "F", "centered": "C", "richardson": "R"}


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


def sweep(graph: Graph, point: dict[str, float], var: str, reference: float, reference_method: str,
          steps: tuple[float, ...] = STEPS) -> Sweep:
    """Every difference quotient at every h, from one batched forward pass."""
    names = graph.variables
    column = names.index(var)
    base = np.array([float(point[n]) for n in names])
    shifts = [0.0]
    for h in steps:
        shifts += [h, -h, h / 2, -h / 2]
    rows = np.tile(base, (len(shifts), 1))
    rows[:, column] = base[column] + np.array(shifts)
    f = evaluate_rows(graph, rows)
    f0 = f[0]
    result = []
    with np.errstate(all="ignore"):
        for k, h in enumerate(steps):
            plus, minus, plus_half, minus_half = f[1 + 4 * k:5 + 4 * k]
            h_used = rows[1 + 4 * k, column] - base[column]  # the step that was really taken
            centered = (plus - minus) / (2 * h_used)
            centered_half = (plus_half - minus_half) / h_used
            estimates = {
                "forward": float((plus - f0) / h_used),
                "centered": float(centered),
                "richardson": float(centered_half + (centered_half - centered) / 3),
            }
            errors = {m: _relative(v, reference) for m, v in estimates.items()}
            result.append(SweepRow(h, estimates, errors))
    chosen = {"forward": forward_step(float(point[var])), "centered": centered_step(float(point[var]))}
    return Sweep(var, reference, reference_method, tuple(result), chosen)


def _relative(value: float, reference: float) -> float:
    if not math.isfinite(value):
        return math.inf
    scale = max(abs(reference), abs(value))
    return abs(value - reference) / scale if scale else 0.0


def ascii_plot(result: Sweep, height: int = 17) -> str:
    """log10(relative error) against log10(h), one letter per method; '|' marks gradcheck's centered h."""
    floor = -17
    width_per_step = 4
    columns = len(result.rows) * width_per_step
    grid = [[" "] * columns for _ in range(height)]
    chosen_x = math.log10(result.chosen["centered"])
    for k, row in enumerate(result.rows):
        x = k * width_per_step + 1
        if abs(math.log10(row.h) - chosen_x) < 0.5:
            for line in grid:
                line[x + 1] = "|"
        for m in METHODS:
            error = row.errors[m]
            level = floor if error <= 0 else max(floor, min(0, math.log10(error)))
            y = round((level - floor) / -floor * (height - 1))
            cell = height - 1 - y
            current = grid[cell][x]
            grid[cell][x] = MARKERS[m] if current in " |" else "*"
    lines = []
    for i, line in enumerate(grid):
        level = -floor * (height - 1 - i) / (height - 1) + floor
        label = f"1e{level:.0f}" if i % 4 == 0 or i == height - 1 else ""
        lines.append(f"{label:>6} ┤" + "".join(line))
    lines.append("       └" + "─" * columns)
    labels = [f"1e{round(math.log10(r.h))}" for r in result.rows[::2]]
    lines.append("        " + "".join(f"{label:<{2 * width_per_step}}" for label in labels))
    lines.append("        h →   F forward, C centered, R Richardson, * overlap, | the centered h gradcheck picks")
    return "\n".join(lines)


def save_plot(result: Sweep, path: str) -> None:
    """A PNG of the same V (needs matplotlib, an optional extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    hs = [r.h for r in result.rows]
    for m in METHODS:
        axes.loglog(hs, [max(r.errors[m], 1e-17) for r in result.rows], marker="o", label=m)
    axes.axvline(result.chosen["centered"], linestyle="--", color="grey", label="gradcheck's centered h")
    axes.set_xlabel("h")
    axes.set_ylabel(f"relative error vs {result.reference_method}")
    axes.set_title(f"d/d{result.var}: truncation vs rounding")
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)


def run_sweep(expr, graph: Graph, point: dict, var: str) -> Sweep:
    """The sweep against the exact derivative (the complex step where the oracle has no value)."""
    from .numeric import complex_step
    from .oracle.exact import exact_case

    exact = exact_case(expr, [point], (var,))[0]
    value = exact.values.get(var)
    reference, method = (float(value), "exact") if value is not None and np.isfinite(value) else (None, "")
    if reference is None:
        inputs = {v: np.asarray(point[v], dtype=np.float64)[None] for v in graph.variables}
        reference, method = float(complex_step(graph, inputs, (var,))[var].reshape(-1)[0]), "complex step"
    return sweep(graph, point, var, reference, method)


def sweep_json(result: Sweep, point: dict[str, float]) -> str:
    import json

    from .report import json_float

    from .report import json_value

    return json.dumps({"schema": "gradcheck-sweep/1", "var": result.var, "point": {k: json_value(v) for k, v in point.items()},
                       "reference": json_float(result.reference),
                       "reference_method": result.reference_method, "chosen_h": result.chosen,
                       "rows": [{"h": r.h, **{m: json_float(v) for m, v in r.estimates.items()},
                                 "errors": {m: json_float(v) for m, v in r.errors.items()}} for r in result.rows]}, indent=2)


def print_sweep(result: Sweep, text: str, point: dict[str, float]) -> None:
    """The table of relative errors per h (gradcheck's own steps marked), then the ASCII plot."""
    from rich.table import Table
    from rich.text import Text

    from .report import expression_text, make_console, number, point_text

    console = make_console()
    title = Text(f"relative error of d/d{result.var} of {expression_text(text)} at {point_text(point, short=True)}: "
                 f"reference {number(result.reference)} ({result.reference_method})")
    console.print(title)  # apart: a table's title wraps at the table's width
    table = Table()
    table.add_column("h", justify="right", no_wrap=True)  # "1e-05 ◀ c" stays one line
    for m in METHODS:
        table.add_column(m, justify="right", no_wrap=True)
    nearest = {kind: min(result.rows, key=lambda r: abs(math.log10(r.h / h))).h for kind, h in result.chosen.items()}
    for r in result.rows:
        marks = "".join(f" ◀ {kind[0]}" for kind in ("centered", "forward") if nearest[kind] == r.h)
        table.add_row(f"{r.h:.0e}{marks}", *(f"{r.errors[m]:.2e}" for m in METHODS))
    console.print(table)
    console.print(f"◀ f, ◀ c: gradcheck's steps here: forward h = {result.chosen['forward']:.3g}, "
                  f"centered h = {result.chosen['centered']:.3g}")
    console.print(ascii_plot(result))
