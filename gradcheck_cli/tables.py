"""Cases as rich tables that fit the terminal: every number whole on one line, at any width.

The per-variable table drops columns in a fixed order when it is too wide — forward, richardson,
centered, complex — and past that each variable becomes a stacked block of `name value` pairs
that wrap between pairs, never inside a number. Tensors get a row per variable (its worst element)
and an element table for small ones and for the elements that did not pass; programs get a table
of their d-lines. Piped output is as wide as the lines need (tables are never cut).
"""

from __future__ import annotations

import numpy as np

from .display import visible
from .report import (VERDICT_STYLE, array_text, expression_text, message_text, number, point_text, shape_text,
                     summary_line)
from .results import CaseResult, GradientCheck

NUMERICAL_METHODS = ("forward", "centered", "richardson", "complex", "best")
DEFAULT_METHODS = ("forward", "centered", "best")
DROP_ORDER = ("forward", "richardson", "centered", "complex")  # what goes first when a table is too wide
BEST_TAGS = {"complex": "cx", "richardson": "ri", "centered": "ce"}
ELEMENTS_SHOWN = 16  # a tensor this small gets a row per element
WIDE = 120  # at this width and above, 13 significant digits; below, 10 (enough for any rtol >= 1e-9)


def _digits(width: int) -> int:
    return 13 if width >= WIDE else 10


def _at(value, index):
    if value is None:
        return None
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else array[index].item()


def _cells(g: GradientCheck, index, methods, digits: int, claims: bool) -> dict[str, str]:
    """The columns of one gradient element, as text."""
    values = {"analytic": g.analytic, "forward": g.forward, "centered": g.centered, "richardson": g.richardson,
              "complex": g.complex_step, "exact": g.exact}
    cells = {name: _shown(_at(values[name], index), digits) for name in ("analytic", *[m for m in methods if m != "best"], "exact")
             if name in values}
    if "best" in methods:
        method = _at(g.best_method, index) if isinstance(g.best_method, np.ndarray) else g.best_method
        cells["best"] = f"{number(_at(g.best, index), digits)} ({BEST_TAGS.get(method, method)})" if g.best is not None else "—"
    if claims:
        cells["claimed"] = _shown(_at(g.expected, index), digits)
    rel = _at(g.rel_error, index)
    cells["rel. error"] = "—" if rel is None or rel != rel else f"{rel:.2e}"
    if claims:
        claim_rel = _at(g.expected_rel_error, index)
        cells["claim error"] = "—" if claim_rel is None or claim_rel != claim_rel else f"{claim_rel:.2e}"
    return cells


def _shown(value, digits: int) -> str:
    """A column's value; NaN is "no value here" (an element without an exact value): shown as —, like None."""
    return "—" if value is None or value != value else number(value, digits)


def _columns(methods, claims: bool) -> list[str]:
    ordered = ["analytic", *[m for m in methods if m != "best"], *(["best"] if "best" in methods else []), "exact"]
    return ordered + (["claimed"] if claims else []) + ["rel. error"] + (["claim error"] if claims else [])


def _needed(rows: list[list[str]], header: list[str]) -> int:
    """Width of a rich table with these cells: content, one space of padding each side, and the rules between."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows)]
    return sum(widths) + 3 * len(widths) + 1


def gradient_table(case: CaseResult, gradients, methods, width: int):
    """The per-variable table (a row per variable; a tensor's row shows its worst element), or None when even
    the narrowest version is wider than `width` (then the caller stacks)."""
    from rich.table import Table
    from rich.text import Text

    digits = _digits(width)
    claims = any(g.expected is not None for g in gradients)
    tensors = any(g.shape for g in gradients)
    methods = list(methods)
    while True:
        names = _columns(methods, claims)
        header = ["var", *(["shape", "element"] if tensors else []), *names, "verdict"]
        rows = [_row(g, methods, digits, claims, tensors, names) for g in gradients]
        if _needed(rows, header) <= width:
            break
        droppable = [m for m in DROP_ORDER if m in methods]
        if not droppable:
            return None
        methods.remove(droppable[0])
    table = Table(show_lines=False)
    for name in header:
        table.add_column(name, justify="left" if name in ("var", "verdict", "shape", "element") else "right", no_wrap=True)
    for g, row in zip(gradients, rows):
        label, style = VERDICT_STYLE[g.status]
        table.add_row(*[Text(visible(c)) for c in row[:-1]], Text(label, style=style))
    return table, methods


def _row(g: GradientCheck, methods, digits: int, claims: bool, tensors: bool, names: list[str]) -> list[str]:
    index = g.worst if g.shape else ()
    cells = _cells(g, index, methods, digits, claims)
    where = [shape_text(g.shape) if g.shape else "", ("[" + ", ".join(map(str, index)) + "]") if g.shape else ""] if tensors else []
    return [g.var, *where, *[cells.get(n, "—") for n in names], VERDICT_STYLE[g.status][0]]


def _title(case: CaseResult, width: int):
    """`f = EXPR  at  POINT  →  f = VALUE`; when that does not fit, `→ f = VALUE` starts its own line (whole)."""
    from rich.cells import cell_len
    from rich.text import Text

    prefix = "" if "lines" in case.extras else "f = "  # a program's name already says what f is
    value = number(case.value) if np.ndim(case.value) == 0 else array_text(case.value)
    head = Text.assemble((prefix, "bold"), expression_text(case.expr), "  at  ", visible(point_text(case.point, short=True)))
    arrow = "  →  f = " if cell_len(head.plain) + 9 + cell_len(value) <= width else "\n  →  f = "
    return Text.assemble(head, (arrow, "bold"), value)


def stacked(console, case: CaseResult, gradients, methods, width: int) -> None:
    """Each variable as a block of `name value` pairs, wrapped between pairs: for terminals too narrow for columns."""
    from rich.text import Text

    console.print(_title(case, width))
    digits = _digits(width)
    claims = any(g.expected is not None for g in gradients)
    for g in gradients:
        label, style = VERDICT_STYLE[g.status]
        index = g.worst if g.shape else ()
        where = f" {shape_text(g.shape)} element [{', '.join(map(str, index))}]" if g.shape else ""
        console.print(Text.assemble(f"  d{g.var}{where}  ", (label, style)))
        pairs = [f"{name} {value}" for name, value in _cells(g, index, methods, digits, claims).items()]
        for line in _wrap(pairs, width - 6):
            console.print(Text("      " + line))


def _wrap(pairs: list[str], width: int) -> list[str]:
    lines, current = [], ""
    for pair in pairs:
        if current and len(current) + 3 + len(pair) > width:
            lines.append(current)
            current = pair
        else:
            current = f"{current}   {pair}" if current else pair
    return lines + ([current] if current else [])


def _short(value, digits: int, limit: int = 4) -> str:
    if value is None:
        return "—"
    array = np.asarray(value, dtype=np.float64)
    return number(array, digits) if array.ndim == 0 else array_text(array, limit)


def trace_table(case: CaseResult, width: int):
    """Every gate's value and gradient; when too wide, the source column goes, then digits (10, then 7), then the
    operation text is shortened — node names and numbers stay whole."""
    from rich.table import Table

    for digits in (_digits(width), 10, 7):
        columns = ["#", "node", "operation", "source", "value", "df/dnode"]
        rows = [[str(k), visible(row.label), visible(row.operation), visible(_clipped(" ".join(row.source.split()), 40)),
                 _short(row.value, digits), _short(row.gradient, digits)] for k, row in enumerate(case.trace, 1)]
        if _needed(rows, columns) > width:
            columns, rows = columns[:3] + columns[4:], [r[:3] + r[4:] for r in rows]
        if _needed(rows, columns) <= width:
            break
    excess = _needed(rows, columns) - width
    if excess > 0:  # the operation text gives way last (at least 8 characters of it)
        room = max(8, max(len(r[2]) for r in rows) - excess)
        rows = [[*r[:2], _clipped(r[2], room), *r[3:]] for r in rows]
    table = Table(title="staged computation (forward values, then df/d(node) from the backward pass)", title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in ("#", "value", "df/dnode") else "left", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def _clipped(text: str, room: int) -> str:
    return text if len(text) <= room else text[:room - 1] + "…"


def print_case(console, case: CaseResult, methods=DEFAULT_METHODS, limit: int | None = None) -> None:
    """One case as `eval` shows it; `limit`: at most this many variables' rows (a batch report of a huge case)."""
    from rich.text import Text

    width = console.width
    if case.trace:
        console.print(trace_table(case, width))
    if case.extras.get("lines") or case.extras.get("gates"):  # the gate audits, also for a cell without d-lines
        from .program_tables import print_lines

        print_lines(console, case, width)
    if case.status == "error" and not case.gradients:
        where = f"  at  {point_text(case.point, short=True)}" if case.point else ""
        console.print(Text.assemble(("✗ error", "bold red"), visible(f"  {expression_text(case.expr)}{where}: "), message_text(case.message)))
        return
    if not case.gradients:  # a constant expression, or --wrt naming nothing: f is all there is to show
        console.print(Text.assemble(("f = ", "bold"), expression_text(case.expr), ("  →  f = ", "bold"), number(case.value),
                                    "  (no variables: nothing to differentiate)"))
        return
    gradients, left_out = shown_gradients(case, limit)
    built = gradient_table(case, gradients, methods, width)
    if built is None:
        stacked(console, case, gradients, methods, width)
        shown = list(methods)
    else:
        console.print(_title(case, width))  # printed apart: a table's title is padded to the table's width
        console.print(built[0])
        shown = built[1]
    from .element_tables import element_table

    for g in gradients:
        if g.shape:
            elements = element_table(g, shown, width)
            if elements is not None:
                console.print(elements)
    if left_out:
        console.print(Text(f"  {left_out} (the JSON report has every one)"))
    _notes(console, case, gradients, shown)
    if case.hessian:  # second order (hessian_report.py)
        from .hessian_report import print_hessians

        print_hessians(console, case, width)


def _notes(console, case: CaseResult, gradients, shown) -> None:
    from rich.text import Text

    def say(text) -> None:  # every note wraps under its own indent, not at column 0
        console.print(hanging(Text(text) if isinstance(text, str) else text, console.width))

    if "best" in shown:
        say("  best: the most accurate numerical estimate — (cx) complex step, (ri) Richardson, (ce) centered at a kink")
    for g in gradients:
        if g.exact_expr:
            say(Text(visible(f"  exact df/d{g.var} = {g.exact_expr}")))
        if g.mode == "directions":
            agree = sum(1 for s in g.directions if s.agrees)
            say(Text(visible(f"  d{g.var}: {g.shape and int(np.prod(g.shape)):,} elements, checked along "
                             f"{len(g.directions)} random directions ({agree} agree); per-element columns "
                             "are not computed past the size limit")))
    if case.exact_method != "sympy" and case.exact_note:
        say(Text(visible(f"  exact: {case.exact_note}")))
    elif case.exact_method == "chain":
        say("  exact: SymPy's local derivatives chained in multi-precision mpmath (no whole formula; "
            "--exact-method auto gives one up to 80 nodes)")
    for g in gradients:
        if g.diagnosis and g.status != "pass":
            label, style = VERDICT_STYLE[g.status]
            say(Text.assemble(("  " + label, style), visible(f"  d{g.var}: {g.diagnosis}")))
        elif g.diagnosis:
            say(Text.assemble(("  note", "dim"), visible(f"  d{g.var}: {g.diagnosis}")))
    if case.expected_value is not None and case.message and "claimed f" in case.message:
        say(Text.assemble(("  ✗ mismatch", "bold red"), visible(f"  {case.message.split(';')[0]}")))
    taylor = case.extras.get("taylor")
    if taylor is not None:
        say(Text(visible(f"  Taylor test: {taylor.note}")))


def hanging(text, width: int, indent: int = 4):
    """`text` wrapped between words to `width`, continuation lines indented (styles kept: rich Text slices)."""
    import re

    from rich.cells import cell_len
    from rich.text import Text

    plain = text.plain
    if cell_len(plain) <= width:
        return text
    out, start, length, end = Text(), 0, 0, 0
    for word in re.finditer(r"\S+", plain):
        size = cell_len(word.group())
        gap = word.start() - end
        if end and length + gap + size > width:
            out.append_text(text[start:end])
            out.append("\n" + " " * indent)
            start, length = word.start(), indent + size
        else:
            length += gap + size
        end = word.end()
    out.append_text(text[start:])
    return out


def shown_gradients(case: CaseResult, limit: int | None):
    """The gradients to show, at most `limit` (those that did not pass first, then in order), and a note on the rest."""
    if limit is None or len(case.gradients) <= limit:
        return case.gradients, None
    rank = sorted(range(len(case.gradients)), key=lambda i: (case.gradients[i].status == "pass", i))
    shown = set(rank[:limit])
    failing = sum(1 for i in rank[limit:] if case.gradients[i].status != "pass")
    rest = len(case.gradients) - limit
    note = f"… and {rest:,} more variables " + (f"({failing:,} of them did not pass)" if failing else "that pass")
    return tuple(g for i, g in enumerate(case.gradients) if i in shown), note


DETAIL_LIMIT = 10  # more points than this: a summary per variable, then only the failing points in full


def points_summary_table(cases: list[CaseResult]):
    """Worst case per variable over many points, and the point where it happened."""
    from rich.table import Table
    from rich.text import Text

    from .report import worst_status
    from .verdict import SEVERITY

    table = Table(title=Text(visible(f"f = {expression_text(cases[0].expr)}  over {len(cases)} points")), title_justify="left")
    for name, justify in (("var", "left"), ("worst rel. error", "right"), ("at", "left"), ("verdicts", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "at")
    by_var: dict[str, list] = {}
    for case in cases:
        for g in case.gradients:
            by_var.setdefault(g.var, []).append((g, case))
    for var, rows in by_var.items():
        g, case = max(rows, key=lambda r: (SEVERITY.index(r[0].status), _worst_error(r[0])))
        counts: dict[str, int] = {}
        for row, _ in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        label, style = VERDICT_STYLE[worst_status(counts)]
        verdicts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda c: SEVERITY.index(c[0])))
        table.add_row(var, f"{_worst_error(g):.2e}", visible(point_text(case.point, short=True)), Text(verdicts, style=style))
    return table


def _worst_error(g: GradientCheck) -> float:
    """The largest error judged: backprop's against the reference, and the claim's (as `check`'s rows count it)."""
    errors = [0.0]
    for e in (g.rel_error, g.expected_rel_error):
        values = np.asarray(e, dtype=np.float64) if e is not None else np.zeros(0)
        if values.size and not np.all(np.isnan(values)):
            errors.append(float(np.nanmax(values)))
    return max(errors)


def print_table_report(console, cases: list[CaseResult], methods=DEFAULT_METHODS) -> None:
    if len(cases) <= DETAIL_LIMIT:
        shown = cases
    else:
        console.print(points_summary_table(cases))
        failing = [c for c in cases if c.status != "pass"]
        shown = failing[:DETAIL_LIMIT]
        if failing:
            console.print(f"the first {len(shown)} of {len(failing)} points that did not pass:")
    for case in shown:
        print_case(console, case, methods)
        console.print()
    console.print(summary_line(cases))
