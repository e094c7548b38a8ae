"""Second derivatives as a table (rich, fitted to the terminal) and as plain text: H entry by entry.

A small Hessian is shown whole (its upper triangle, and every entry below it that did not pass); a larger one by its
worst entries. Columns: the entry (`d2f/dxdy`), the candidate (backprop's forward-over-reverse, or yours), the best
numerical estimate (differences of the gradient, or its complex step), exact, the claim, the relative errors and
the verdict. When that is too wide, `best` goes first, then `rel. error`; past that each entry becomes a block of
`name value` pairs that wrap between pairs: every number stays whole on one line at any width.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ..display import visible
from ..results import CaseResult, HessianCheck
from .text import VERDICT_STYLE, number, wrap_pairs

SHOWN = 16  # entries in a table at most
WHOLE = 4  # up to this many variables (elements), the whole upper triangle is shown
SAID = 3  # diagnoses said under a table (entries that share one are said together)
TAGS = {"complex": "cx", "richardson": "ri", "centered": "ce"}
TITLES = {"backprop": "backprop's forward-over-reverse", "hessian": "your hessian", "hvp": "your hvp"}


def shown_entries(h: HessianCheck) -> list[tuple[int, int]]:
    """(row, column) of the entries a table shows: the whole upper triangle of a small H, and an entry below it
    only where it differs from its mirror image (an asymmetric candidate, a transposed claim); for a larger H the
    entries that did not pass first, then the largest relative errors."""
    n = len(h.vars)
    statuses = np.asarray(h.statuses)

    def mirrored(r: int, c: int) -> bool:  # an entry below the diagonal that says nothing its mirror does not
        same = []
        for m in (h.analytic, h.expected):
            if m is not None:
                a, b = float(np.asarray(m)[r, c]), float(np.asarray(m)[c, r])
                same.append((a != a and b != b) or abs(a - b) <= 1e-9 * max(abs(a), abs(b)))
        return r > c and statuses[r, c] == statuses[c, r] and all(same)

    if n <= WHOLE:
        return [(r, c) for r in range(n) for c in range(n) if not (c < r and mirrored(r, c))][:SHOWN]
    failing = [(r, c) for (r, c), _, _ in h.failing if c is not None and not mirrored(r, c)]
    errors = np.nan_to_num(np.asarray(h.rel_error, np.float64), nan=0.0, posinf=1.0)
    upper = [(int(r), int(c)) for r, c in zip(*np.triu_indices(n))]
    rest = sorted((e for e in upper if e not in failing), key=lambda e: -errors[e])
    return (failing + rest)[:min(SHOWN, max(len(failing), 8))]


def _cells(h: HessianCheck, row: int, column: int, digits: int) -> dict[str, str]:
    def shown(matrix) -> str:
        if matrix is None:
            return "—"
        value = float(np.asarray(matrix)[row, column])
        return "—" if value != value else number(value, digits)

    cells = {"entry": h.entry(row, column), "analytic": shown(h.analytic),
             "best": f"{shown(h.best)} ({TAGS.get(str(np.asarray(h.best_method)[row, column]), '?')})",
             **({"exact": shown(h.exact)} if h.exact is not None and np.isfinite(h.exact).any() else {})}
    if h.expected is not None:
        cells["claimed"] = shown(h.expected)
    rel = float(np.asarray(h.rel_error)[row, column])
    cells["rel. error"] = "—" if rel != rel else f"{rel:.2e}"
    if h.expected is not None:
        claim = float(np.asarray(h.expected_rel_error)[row, column])
        cells["claim error"] = "—" if claim != claim else f"{claim:.2e}"
    cells["verdict"] = VERDICT_STYLE[str(np.asarray(h.statuses)[row, column])][0]
    return cells


def _width(rows: list[list[str]], header: list[str]) -> int:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    return sum(widths) + 3 * len(widths) + 1


def title(h: HessianCheck) -> str:
    names = ", ".join(dict.fromkeys(name for name, _ in h.vars))
    what = TITLES.get(h.candidate, h.candidate)
    if h.mode == "directions":
        return (f"H over {names} ({len(h.vars):,} elements): {what}, Hessian-vector products along random "
                "directions")
    return f"H over {names}: {what}, against differences of the gradient"


def print_hessians(console, case: CaseResult, width: int) -> None:
    """Every HessianCheck of the case (tables.print_case calls this after the gradients)."""
    for h in case.hessian:
        _print(console, case, h, width)


def _print(console, case: CaseResult, h: HessianCheck, width: int) -> None:
    from rich.table import Table
    from rich.text import Text

    say = _sayer(console, width)
    say(title(h))
    header: list[str] = []
    if h.mode == "entries" and h.statuses is not None:  # an `error` check has no entries, only what went wrong
        digits = 13 if width >= 120 else 10
        entries = shown_entries(h)
        cells = [_cells(h, r, c, digits) for r, c in entries]
        names = list(cells[0]) if cells else []
        for dropped in ((), ("rel. error",), ("rel. error", "claim error"), ("rel. error", "claim error", "best")):
            header = [n for n in names if n not in dropped]
            rows = [[cell[n] for n in header] for cell in cells]
            if _width(rows, header) <= width:
                table = Table(show_lines=False)
                for name in header:
                    table.add_column(name, justify="left" if name in ("entry", "verdict") else "right", no_wrap=True)
                for cell, row in zip(cells, rows):
                    status = str(np.asarray(h.statuses)[entries[len(table.rows)]])
                    table.add_row(*[Text(visible(c)) for c in row[:-1]], Text(row[-1], style=VERDICT_STYLE[status][1]))
                console.print(table)
                break
        else:  # too narrow for columns: each entry a block of pairs
            header = names
            for cell, (r, c) in zip(cells, entries):
                status = str(np.asarray(h.statuses)[r, c])
                label, style = VERDICT_STYLE[status]
                console.print(Text.assemble(f"  {cell['entry']}  ", (label, style)))
                pairs = [f"{k} {v}" for k, v in cell.items() if k not in ("entry", "verdict")]
                for line in wrap_pairs(pairs, width - 6):
                    console.print(Text("      " + line))
        hidden = len(h.vars) * (len(h.vars) + 1) // 2 - sum(1 for r, c in entries if c >= r)
        if hidden > 0:
            say(f"  … {hidden:,} more entries (the JSON report has every one)")
        if "best" in header:
            say("  best: differences of the gradient — (cx) its complex step, (ri) Richardson, (ce) centered at a kink")
    for line in notes(h):
        say(line)


def notes(h: HessianCheck) -> list[str]:
    """What is said under the table: the exact column's note, symmetry, and each entry that did not pass."""
    out = []
    if h.exact_note and h.candidate == "backprop":  # your functions have no exact column, as the gradients say
        out.append(f"  exact H: {h.exact_note}")
    if h.mode == "directions" or not h.failing:
        if h.diagnosis:
            label = VERDICT_STYLE[h.status][0] if h.status != "pass" else "note"
            out.append(f"  {label}  H: {h.diagnosis}")
    said: set = set()
    groups: dict[tuple[str, str], list[str]] = {}  # (status, what is said) -> the entries it is said of
    for (row, column), status, text in h.failing:
        if not text or h.mode != "entries" or (column, row) in said:  # a symmetric pair is said once
            continue
        said.add((row, column))
        label, _, what = text.partition(": ")
        groups.setdefault((status, what), []).append(label)
    for (status, what), labels in list(groups.items())[:SAID]:
        named = labels[0] if len(labels) == 1 else (f"{len(labels)} entries ({', '.join(labels[:3])}"
                                                     f"{', …' if len(labels) > 3 else ''})")
        out.append(f"  {VERDICT_STYLE[status][0]}  {named}: {what}")
    if len(groups) > SAID:
        more = sum(len(v) for v in list(groups.values())[SAID:])
        out.append(f"  … and {more} more entr{'ies' if more > 1 else 'y'} that did not pass (the JSON report has every one)")
    if h.mode == "directions" and h.failing:
        out.append("  named by bisection: " + ", ".join(h.entry(row, column) for (row, column), _, _ in h.failing[:6])
                   + (" …" if len(h.failing) > 6 else ""))
    return out


def _sayer(console, width: int):
    from rich.text import Text

    def say(text: str) -> None:
        for line in textwrap.wrap(text, width, subsequent_indent="    ", break_long_words=False, break_on_hyphens=False):
            console.print(Text(visible(line)))
    return say


def plain_lines(h: HessianCheck, width: int) -> list[str]:
    """The check as plain text (Report.text, pytest): a head line, the shown entries, the notes."""
    marks = {"pass": "✓ pass", "mismatch": "✗ mismatch", "kink": "kink", "inconclusive": "? inconclusive", "error": "✗ error"}
    lines = [f"  H ({TITLES.get(h.candidate, h.candidate)}, {len(h.vars):,} elements): {marks[h.status]}"]
    if h.mode == "entries" and h.statuses is not None:
        worst = [(r, c) for (r, c), _, _ in h.failing if c is not None and c >= r][:3]
        for r, c in worst or shown_entries(h)[:1]:
            cell = _cells(h, r, c, 13)
            fields = [f"{k} {v}".replace(" ", "\xa0") for k, v in cell.items() if k not in ("entry", "verdict")
                      and not v.startswith("—")]
            text = f"    {cell['entry']}:\xa0{cell['verdict'].replace(' ', chr(0xa0))} " + ", ".join(fields)
            lines += [line.replace("\xa0", " ") for line in
                      textwrap.wrap(text, width, subsequent_indent="      ", break_long_words=False)]
    for note in notes(h):
        lines += textwrap.wrap("  " + note.strip(), width, subsequent_indent="      ", break_long_words=False)
    return lines
