"""Cases as rich tables that fit the terminal: every number whole on one line, at any width.

The per-variable table drops columns in a fixed order when it is too wide — forward, richardson,
centered, complex — and past that each variable becomes a stacked block of `name value` pairs
that wrap between pairs, never inside a number. Tensors get a row per variable (its worst element)
and an element table for small ones and for the elements that did not pass; programs get a table
of their d-lines (program_table.py). Piped output is as wide as the lines need (tables are never cut). The console
they print on (make_console) honours NO_COLOR and COLUMNS and writes no trailing spaces.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..display import shorten_text, visible
from ..results import CaseResult, GradientCheck
from ..status import SEVERITY
from .text import VERDICT_STYLE, WIDE, precision_text, array_text, element_text, expression_text, gradient_error, hanging, message_text, number, point_text, shape_text, short_number, shown_gradients, summary_line, wrap_pairs

NUMERICAL_METHODS = ("forward", "centered", "richardson", "complex", "best")
DEFAULT_METHODS = ("forward", "centered", "best")
DROP_ORDER = ("forward", "richardson", "centered", "complex")  # what goes first when a table is too wide
BEST_TAGS = {"complex": "cx", "richardson": "ri", "centered": "ce"}
ELEMENTS_SHOWN = 16  # a tensor this small gets a row per element


@dataclass(frozen=True, slots=True)
class View:
    """How a table report shows its cases (formats without a table ignore it)."""

    methods: tuple[str, ...] = DEFAULT_METHODS  # the numerical columns of each case's table
    title: str = "gradcheck check"  # the streamed table's title
    recap: bool = True  # the failing lines again after the summary (`check`)
    timed: bool = True  # the run's time in the summary (`check` on a terminal)


def _digits(width: int) -> int:
    return 13 if width >= WIDE else 10


def _at(value, index):
    if value is None:
        return None
    array = np.asarray(value)
    return array.item() if array.ndim == 0 else array[index].item()


def _cells(g: GradientCheck, index, methods, digits: int, claims: bool) -> dict[str, str]:
    """The columns of one gradient element, as text; no exact column where there is none at all (a Python function's
    gradient, --no-exact): a column of dashes would take the place of one that says something."""
    values = {"analytic": g.analytic, "forward": g.forward, "centered": g.centered, "richardson": g.richardson,
              "complex": g.complex_step, "exact": g.exact}
    exact = ("exact",) if g.exact is not None else ()
    cells = {name: _shown(_at(values[name], index), digits) for name in ("analytic", *[m for m in methods if m != "best"], *exact)
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


def _columns(methods, claims: bool, exact: bool) -> list[str]:
    ordered = ["analytic", *[m for m in methods if m != "best"], *(["best"] if "best" in methods else []), *(["exact"] if exact else [])]
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
    exact = any(g.exact is not None for g in gradients)
    methods = list(methods)
    while True:
        names = _columns(methods, claims, exact)
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
    where = [shape_text(g.shape) if g.shape else "", element_text(index) if g.shape else ""] if tensors else []
    return [g.var, *where, *[cells.get(n, "—") for n in names], VERDICT_STYLE[g.status][0]]


def _title(case: CaseResult, width: int):
    """`f = EXPR  at  POINT  →  f = VALUE`; when that does not fit, `→ f = VALUE` starts its own line (whole)."""
    from rich.cells import cell_len
    from rich.text import Text

    prefix = "" if case.is_program else "f = "  # a program's name already says what f is
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
        where = f" {shape_text(g.shape)} element {element_text(index)}" if g.shape else ""
        console.print(Text.assemble(f"  d{g.var}{where}  ", (label, style)))
        pairs = [f"{name} {value}" for name, value in _cells(g, index, methods, digits, claims).items()]
        for line in wrap_pairs(pairs, width - 6):
            console.print(Text("      " + line))


def trace_table(case: CaseResult, width: int):
    """Every gate's value and gradient; when too wide, the source column goes, then digits (10, then 7), then the
    operation text is shortened — node names and numbers stay whole."""
    from rich.table import Table

    for digits in (_digits(width), 10, 7):
        columns = ["#", "node", "operation", "source", "value", "df/dnode"]
        rows = [[str(k), visible(row.label), visible(row.operation), visible(shorten_text(" ".join(row.source.split()), 40)),
                 short_number(row.value, digits), short_number(row.gradient, digits)] for k, row in enumerate(case.trace, 1)]
        if _needed(rows, columns) > width:
            columns, rows = columns[:3] + columns[4:], [r[:3] + r[4:] for r in rows]
        if _needed(rows, columns) <= width:
            break
    excess = _needed(rows, columns) - width
    if excess > 0:  # the operation text gives way last (at least 8 characters of it)
        room = max(8, max(len(r[2]) for r in rows) - excess)
        rows = [[*r[:2], shorten_text(r[2], room), *r[3:]] for r in rows]
    table = Table(title="staged computation (forward values, then df/d(node) from the backward pass)", title_justify="left")
    for name in columns:
        table.add_column(name, justify="right" if name in ("#", "value", "df/dnode") else "left", no_wrap=True)
    for row in rows:
        table.add_row(*row)
    return table


def print_case(console, case: CaseResult, methods=DEFAULT_METHODS, limit: int | None = None) -> None:
    """One case as `eval` shows it; `limit`: at most this many variables' rows (a batch report of a huge case)."""
    from rich.text import Text

    width = console.width
    if case.trace:
        console.print(trace_table(case, width))
    if case.lines or case.gates:  # the gate audits, also for a cell without d-lines
        from .program_table import print_lines

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
    for g in gradients:
        if g.shape:
            elements = element_table(g, shown, width)
            if elements is not None:
                console.print(elements)
    if left_out:
        console.print(Text(f"  {left_out} (the JSON report has every one)"))
    _notes(console, case, gradients, shown)
    if case.hessian:  # second order (report/hessian.py)
        from .hessian import print_hessians

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
        say("  exact: chained at 50 digits; --exact-method auto prints SymPy's formula")
    for g in gradients:
        if g.diagnosis and g.status != "pass":
            label, style = VERDICT_STYLE[g.status]
            say(Text.assemble(("  " + label, style), visible(f"  d{g.var}: {g.diagnosis}")))
        elif g.diagnosis:
            say(Text.assemble(("  note", "dim"), visible(f"  d{g.var}: {g.diagnosis}")))
    if case.expected_value is not None and case.message and "claimed f" in case.message:
        say(Text.assemble(("  ✗ mismatch", "bold red"), visible(f"  {case.message.split(';')[0]}")))
    taylor = case.taylor
    if taylor is not None:
        say(Text(visible(f"  Taylor test: {taylor.note}")))
    if precision_text(case.precision):
        say(Text(visible(f"  {precision_text(case.precision)}")))


DETAIL_LIMIT = 10  # more points than this: a summary per variable, then only the failing points in full


def points_summary_table(cases: list[CaseResult]):
    """Worst case per variable over many points, and the point where it happened."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(visible(f"f = {expression_text(cases[0].expr)}  over {len(cases)} points")), title_justify="left")
    for name, justify in (("var", "left"), ("worst rel. error", "right"), ("at", "left"), ("verdicts", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "at")
    by_var: dict[str, list] = {}
    for case in cases:
        for g in case.gradients:
            by_var.setdefault(g.var, []).append((g, case))
    for var, rows in by_var.items():
        g, case = max(rows, key=lambda r: (SEVERITY.index(r[0].status), gradient_error(r[0]) or 0.0))
        counts: dict[str, int] = {}
        for row, _ in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        label, style = VERDICT_STYLE[max(counts, key=SEVERITY.index)]
        verdicts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda c: SEVERITY.index(c[0])))
        table.add_row(var, f"{gradient_error(g) or 0.0:.2e}", visible(point_text(case.point, short=True)), Text(verdicts, style=style))
    return table


def print_table_report(console, cases: list[CaseResult], view: View = View()) -> None:
    """Every case as `eval` shows it (past DETAIL_LIMIT points: a summary per variable, then the failing points), each
    with a function's or layer's notes, then the counts."""
    if len(cases) <= DETAIL_LIMIT:
        shown = cases
    else:
        console.print(points_summary_table(cases))
        failing = [c for c in cases if c.status != "pass"]
        shown = failing[:DETAIL_LIMIT]
        if failing:
            console.print(f"the first {len(shown)} of {len(failing)} points that did not pass:")
    for case in shown:
        print_case(console, case, view.methods)
        print_notes(console, case)
        console.print()
    console.print(summary_line(cases))


# --- a tensor's elements: a row per element of a small tensor, or per element that did not pass of a large one

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
    names = _columns(methods, claims, g.exact is not None)
    rows = []
    for index in indices:
        cells = _cells(g, index, methods, digits, claims)
        status = str(statuses[index]) if statuses is not None else g.status
        rows.append([element_text(index), *[cells.get(n, "—") for n in names], VERDICT_STYLE[status][0]])
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
        lines.append(Text.assemble(f"  {element_text(index)}  ", (label, style)))
        pairs = [f"{name} {value}" for name, value in _cells(g, index, [], 10, claims).items()]
        lines += [Text("      " + line) for line in wrap_pairs(pairs, width - 6)]
    return Group(*lines)


def print_notes(console, case: CaseResult) -> None:
    """A function's or layer's findings (a random draw that shows a wrong gradient; a backward that changed its cache
    or dout in place, a forward that is not repeatable; the inputs not checked): in the message, which tables do not
    show for a case with gradients."""
    from rich.text import Text

    for note in case.function_notes:
        mark = ("  ✗ error", "bold red") if case.status == "error" and "not checked" not in note else ("  note", "dim")
        console.print(hanging(Text.assemble(mark, visible(f"  {note}")), console.width))


# --- the console every table is printed on ------------------------------------------------------------------

PIPED_WIDTH = 200  # columns of a report that is not going to a terminal, when COLUMNS does not say


def output_width(stream: Any = None, piped: int = PIPED_WIDTH) -> int:
    """The width output is laid out for: COLUMNS when it is set (a terminal that was resized, CI logs, the docs'
    examples), else the width of the terminal `stream` (default stdout) is, else `piped` for a file or a pipe
    (PIPED_WIDTH for tables, which are seldom cut there)."""
    stream = sys.stdout if stream is None else stream
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if hasattr(stream, "isatty") and stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        pass
    return piped


class TrimmedLines:
    """A text stream that drops the spaces at the end of every line: rich pads wrapped text and table titles, and
    `grep ' $'` or a diff of two reports should not see them. Spaces at the end of a write are held back until the
    next write shows whether a newline follows them."""

    _TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)\n")
    _TAIL = re.compile(r" +\Z")

    def __init__(self, stream: Any):
        self.stream, self.pending = stream, ""

    def write(self, text: str) -> int:
        whole = self._TRAILING.sub(r"\1\n", self.pending + text)
        tail = self._TAIL.search(whole)
        self.pending = tail.group() if tail else ""
        self.stream.write(whole[:len(whole) - len(self.pending)])
        return len(text)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, flush: the stream's own
        return getattr(self.stream, name)


def make_console(stderr: bool = False, file: Any = None):
    """A rich Console that honours NO_COLOR, lays out for output_width(), and writes no trailing spaces."""
    from rich.console import Console

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    interactive = hasattr(stream, "isatty") and stream.isatty()
    width = None if interactive and not os.environ.get("COLUMNS", "").strip().isdigit() else output_width(stream)
    plain = bool(os.environ.get("NO_COLOR"))  # no-color.org; no bold either, so output greps cleanly
    # markup=False: a '[/b]' in an expression or a file name is text, never a rich tag (a MarkupError lost the report)
    class ReportConsole(Console):
        def on_broken_pipe(self) -> None:  # rich would exit 1; a closed pipe takes the CLI's one path (exit 2)
            raise BrokenPipeError

    return ReportConsole(file=stream if stderr else TrimmedLines(stream), width=width,
                         color_system=None if plain else "auto", highlight=False, soft_wrap=False, emoji=False,
                         markup=False)
