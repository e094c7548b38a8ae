"""`gradcheck sweep`: how the error of each difference quotient moves with h — the V of truncation
against rounding error — measured against the exact derivative (expression/sweep.py computes it), printed: a table, an ASCII plot, JSON, a PNG."""

from __future__ import annotations

import math

from ..results import SWEEP_METHODS as METHODS
from ..results import Sweep

MARKERS = {"forward": "F", "centered": "C", "richardson": "R"}


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


def sweep_json(result: Sweep, point: dict[str, float]) -> str:
    import json

    from .json import json_float, json_value

    return json.dumps({"schema": "gradcheck-sweep/1", "var": result.var, "point": {k: json_value(v) for k, v in point.items()},
                       "reference": json_float(result.reference),
                       "reference_method": result.reference_method, "chosen_h": result.chosen,
                       "rows": [{"h": r.h, **{m: json_float(v) for m, v in r.estimates.items()},
                                 "errors": {m: json_float(v) for m, v in r.errors.items()}} for r in result.rows]}, indent=2)


def print_sweep(result: Sweep, text: str, point: dict[str, float]) -> None:
    """The table of relative errors per h (gradcheck's own steps marked), then the ASCII plot."""
    from rich.table import Table
    from rich.text import Text

    from .table import make_console
    from .text import expression_text, number, point_text

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
