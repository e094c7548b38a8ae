"""A tensor's elements as a table — a row per element of a small tensor, or per element that did not pass of
a large one — fitted to the terminal like every table in tables.py (columns, then digits, give way; when
nothing fits, each element becomes a block of `name value` pairs)."""

from __future__ import annotations

import numpy as np

from .display import visible
from .report import VERDICT_STYLE, shape_text
from .results import GradientCheck
from .tables import ELEMENTS_SHOWN, _cells, _columns, _digits, _needed, _wrap


def element_table(g: GradientCheck, methods, width: int):
    """A row per element of a small tensor, or per element that did not pass of a large one."""
    from rich.table import Table
    from rich.text import Text

    statuses = np.asarray(g.statuses) if g.statuses is not None else None
    size = int(np.prod(g.shape))
    if size <= ELEMENTS_SHOWN:
        indices = [tuple(int(i) for i in idx) for idx in np.ndindex(*g.shape)]
        title = f"d{g.var} {shape_text(g.shape)}, every element"
    else:
        indices = [index for index, _, _ in g.failing]
        if not indices:
            return None
        title = f"d{g.var} {shape_text(g.shape)}, the {len(indices)} element{'s' if len(indices) > 1 else ''} that did not pass" \
                + (" (first 20)" if len(indices) == 20 else "")
    layout = _element_layout(g, indices, statuses, methods, width)
    if layout is None:  # even the narrowest columns do not fit: a block of `name value` pairs per element
        return _stacked_elements(g, indices, statuses, title, methods, width)
    names, rows = layout
    table = Table(title=Text(visible(title)), title_justify="left", title_style="")
    for name in ["element", *names, "verdict"]:
        table.add_column(name, justify="left" if name in ("element", "verdict") else "right", no_wrap=True)
    for row in rows:
        label = row[-1]
        style = next(s for l, s in VERDICT_STYLE.values() if l == label)
        table.add_row(*row[:-1], Text(label, style=style))
    return table


def _element_rows(g: GradientCheck, indices, statuses, methods, digits: int) -> tuple[list[str], list[list[str]]]:
    claims = g.expected is not None
    names = _columns(methods, claims)
    rows = []
    for index in indices:
        cells = _cells(g, index, methods, digits, claims)
        status = str(statuses[index]) if statuses is not None else g.status
        rows.append(["[" + ", ".join(map(str, index)) + "]", *[cells.get(n, "—") for n in names], VERDICT_STYLE[status][0]])
    return names, rows


def _element_layout(g: GradientCheck, indices, statuses, methods, width: int):
    """(columns, rows) of the widest layout that fits: the centered column goes first, then best, then digits
    (13, 10, 7 significant); None when nothing fits."""
    shown = [m for m in methods if m in ("best", "centered")] or ["best"]
    tries = [(shown, _digits(width)), ([m for m in shown if m != "centered"], _digits(width)), ([], _digits(width)),
             ([], 10), ([], 7)]
    for chosen, digits in tries:
        names, rows = _element_rows(g, indices, statuses, chosen, digits)
        if _needed(rows, ["element", *names, "verdict"]) <= width:
            return names, rows
    return None


def _stacked_elements(g: GradientCheck, indices, statuses, title: str, methods, width: int):
    from rich.console import Group
    from rich.text import Text

    lines = [Text(visible(title))]
    claims = g.expected is not None
    for index in indices:
        status = str(statuses[index]) if statuses is not None else g.status
        label, style = VERDICT_STYLE[status]
        lines.append(Text.assemble(f"  [{', '.join(map(str, index))}]  ", (label, style)))
        pairs = [f"{name} {value}" for name, value in _cells(g, index, [], 10, claims).items()]
        lines += [Text("      " + line) for line in _wrap(pairs, width - 6)]
    return Group(*lines)
