"""A program's d-lines as a table (line, code, your value, the true value, verdict), fitted to the terminal like
every table in table.py, then the diagnosis of each wrong line."""

from __future__ import annotations

import numpy as np

from ..display import shorten_text, visible
from ..results import CaseResult
from .text import WIDE, hanging, short_number

LINE_MARKS = {"pass": "✓", "wrong": "✗ wrong", "kink": "kink", "error": "✗ error", "helper": "·"}


def _line_cells(rows, width: int):
    """(columns, cells) of the program table that fit: tensors show 4, 2, then 1 of their values, numbers 10 or 7
    digits; past that the `true` column goes (the diagnosis below each wrong line has it); the code column shrinks."""
    tries = [(d, n) for d, n in ((10, 4), (7, 4), (7, 2), (7, 1)) if d <= (10 if width >= WIDE else 7)]
    starts = [_first_difference(r) for r in rows]
    for columns in (["line", "code", "yours", "true", "verdict"], ["line", "code", "yours", "verdict"]):
        for digits, limit in tries:
            cells = [{"line": str(r.line), "code": " ".join(r.text.split()), "yours": short_number(r.yours, digits, limit, k),
                      "true": short_number(r.true, digits, limit, k), "verdict": LINE_MARKS[r.status]}
                     for r, k in zip(rows, starts)]
            fixed = sum(max(len(name), *(len(c[name]) for c in cells)) for name in columns if name != "code")
            room = width - fixed - 3 * len(columns) - 1
            if room >= 8:
                return columns, [{**c, "code": shorten_text(c["code"], min(60, room))} for c in cells]
    return columns, cells


def _first_difference(row) -> int:
    """Where a wrong line's tensor first differs from the truth (its cells start there: the first values of a
    line that is wrong in a few elements, a relu's mask left out, are often right); 0 for anything else."""
    if row.status != "wrong" or row.yours is None or row.true is None or np.shape(row.yours) != np.shape(row.true):
        return 0
    yours, true = np.asarray(row.yours, dtype=np.float64).reshape(-1), np.asarray(row.true, dtype=np.float64).reshape(-1)
    differ = np.flatnonzero(~np.isclose(yours, true, rtol=1e-9, atol=0.0))
    return int(differ[0]) if differ.size else 0


def lines_table(case: CaseResult, width: int):
    """A program's d-lines: line, code, your value, the true value, verdict; the first wrong line in bold."""
    from rich.table import Table
    from rich.text import Text

    rows = case.lines
    first = case.first_wrong_line
    columns, cells = _line_cells(rows, width)
    table = Table(title=Text("your backward pass, line by line (each line judged with the true values of what it reads)"),
                  title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in ("line", "yours", "true") else "left", no_wrap=True)
    for r, c in zip(rows, cells):
        style = "bold red" if r.line == first else ("red" if r.status in ("wrong", "error") else "")
        row = [Text(visible(c[name])) if name == "code" else (Text(c[name], style=style) if name == "verdict" else c[name])
               for name in columns]
        table.add_row(*row, style=style or None)
    return table


def print_lines(console, case: CaseResult, width: int) -> None:
    from rich.text import Text

    def say(text) -> None:  # notes wrap under their own indent
        console.print(hanging(text, console.width))

    if case.lines:
        console.print(lines_table(case, width))
    first = case.first_wrong_line
    for r in case.lines or ():
        if r.status in ("wrong", "error", "kink") and r.diagnosis:
            mark, style = ("kink", "yellow") if r.status == "kink" else ("✗", "bold red")
            which = f"line {r.line}" + (" (the first wrong line)" if r.line == first else "")
            say(Text.assemble((f"  {mark} ", style), visible(f"{which}: {r.diagnosis}")))
    for note in case.notes:
        say(Text(visible(f"  note: {note}"), style="dim"))
    for audit in case.gates or ():
        if audit.status != "pass":
            say(Text.assemble(("  ✗ ", "bold red"), visible(audit.message)))
        else:
            say(Text(visible(f"  gate {audit.gate}: your rule for {audit.argument} agrees with the exact derivative "
                             f"at {audit.points} points"), style="dim"))
