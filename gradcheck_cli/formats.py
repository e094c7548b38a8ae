"""One batch result → its pieces in each `check` report format: table rows and failure details (built on report.py),
a JUnit <testcase>, a GitHub annotation; writers.py streams them into whole reports.

JUnit: a mismatch is a <failure>, an error an <error>; a kink (or inconclusive point) passes, with a
`gradcheck.status` property, unless --strict, where it is a <failure>. Nothing here is <skipped>: every case ran.
Everything meant for people goes through display.visible (no raw control characters) and is shortened: points
of thousands of values, messages of thousands of notes, reproduce commands pages long.
"""

from __future__ import annotations

import re
import shlex
from xml.sax.saxutils import escape

from . import report
from .batch import Checked
from .tables import print_case, shown_gradients
from .lang.values import split_top_level
from .display import POINT_ITEMS, visible
from .errors import ExitCode
from .verdict import exit_code

EXPR_WIDTH = 40  # characters of an expression shown in a table row or a test name
DETAIL_VARIABLES = 20  # rows of a failing case's table in a batch report (those that did not pass first)
REPRODUCE_LIMIT = 2000  # characters: a longer `gradcheck eval` command is a note instead
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def fails(status: str, strict: bool) -> bool:
    """Whether a case fails the run (the rule lives in verdict.exit_code)."""
    return exit_code([status], strict) != ExitCode.OK


def shorten(text: str, limit: int = EXPR_WIDTH) -> str:
    """An expression for a row or a test name: whole, or cut before a number (see clip_expression)."""
    return clip_expression(text, limit)


def worst_error(checked: Checked) -> float | None:
    """The largest relative error the case judged (over every element): analytic vs reference, and claim vs reference."""
    import numpy as np

    errors = []
    for g in checked.case.gradients:
        for e in (g.rel_error, g.expected_rel_error):
            values = np.asarray(e, dtype=np.float64) if e is not None else np.zeros(0)
            if values.size and not np.all(np.isnan(values)):
                errors.append(float(np.nanmax(values)))
    for h in checked.case.hessian:  # second order: every entry but a kink's (its slopes straddle a jump)
        for e in (h.rel_error, h.expected_rel_error) if h.statuses is not None else ():
            values = np.where(np.asarray(h.statuses) == "kink", np.nan, np.asarray(e, dtype=np.float64)) if e is not None else np.zeros(0)
            if values.size and not np.all(np.isnan(values)):
                errors.append(float(np.nanmax(values)))
    return max(errors, default=None)


def point_argument(point: dict) -> str:
    """`x=-2,y=5,W=[[1.5, 2]]` with repr precision, so `eval --at` gets the same doubles."""
    import numpy as np

    def text(value) -> str:
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == 0:
            return repr(float(array)).removesuffix(".0")
        return np.array2string(array, separator=",", threshold=1 << 62, max_line_width=1 << 30,
                               formatter={"float_kind": lambda v: repr(float(v)).removesuffix(".0")}).replace("\n", "").replace(" ", "")

    return ",".join(f"{k}={text(v)}" for k, v in point.items())


def reproduce(checked: Checked) -> str | None:
    """The `gradcheck eval` command that checks the same case alone."""
    case = checked.case
    if checked.command:
        return checked.command
    if "lines" in case.extras:  # a program file: the file itself
        return f"gradcheck eval {shlex.quote('@' + checked.file)}"
    if checked.line is None or not case.gradients and case.status == "error" and not case.point:
        return None
    if checked.gates:  # eval alone does not know the file's gates: the file does
        return f"gradcheck check {shlex.quote(checked.file)}   (line {checked.line} uses the file's gates: {', '.join(checked.gates)})"
    parts = ["gradcheck", "eval", shlex.quote(case.expr)]
    if case.point:
        parts += ["--at", shlex.quote(point_argument(case.point))]
    if checked.claims:
        parts += ["--expect", shlex.quote(checked.claims)]
    return " ".join(parts)


def reproduce_line(checked: Checked) -> str | None:
    """`reproduce: gradcheck eval …`, or a note when that command would be pages long (a point of 3,000 values)."""
    command = reproduce(checked)
    if command is None:
        return None
    if len(command) > REPRODUCE_LIMIT:
        values = f"a point of {len(checked.case.point):,} values, " if len(checked.case.point) > POINT_ITEMS else ""
        return (f"reproduce: (the command would be {len(command):,} characters: {values}too long to show; "
                "--format json has the expression and every value)")
    return visible(f"reproduce: {command}", newlines=False)


def label(checked: Checked) -> str:
    """`line 3: EXPR @ POINT`, the name of a case in JUnit and in messages (the point shortened)."""
    case = checked.case
    if checked.line is None:
        return "file"
    where = f" @ {report.point_text(case.point, short=True)}" if case.point else ""
    return visible(f"line {checked.line}: {shorten(case.expr)}{where}", newlines=False)


def details(checked: Checked) -> str:
    """Plain-text body of a failure: one line per variable (at most DETAIL_VARIABLES), the diagnosis, how to reproduce."""
    case = checked.case
    lines = [report.message_text(case.message or case.status)]
    gradients, left_out = shown_gradients(case, DETAIL_VARIABLES)
    for g in gradients:
        where = f" element [{', '.join(map(str, g.worst))}]" if g.shape else ""
        claim = f", claimed {report.number(g.at('expected'))}" if g.expected is not None else ""
        rel = g.at("rel_error")
        lines.append(f"d{g.var}{where}: {g.status}; analytic {report.number(g.at('analytic'))}, centered "
                     f"{report.number(g.at('centered'))}, exact {report.number(g.at('exact'))}{claim}, rel. error "
                     + ("—" if rel is None or rel != rel else f"{rel:.2e}"))
    if left_out:
        lines.append(left_out)
    if checked.caret:
        lines.append(checked.caret)
    command = reproduce_line(checked)
    if command:
        lines.append(command)
    return "\n".join(lines)


def one_line(text: str) -> str:
    return " ".join(text.split())


def source_of(item: Checked) -> str:
    return visible(item.case.source or item.file, newlines=False)


def failure_line(item: Checked) -> str:
    """`FILE:LINE: status: message`; a message that already starts with its FILE:LINE:COL stands alone."""
    source, message = source_of(item), report.message_text(one_line(item.case.message or ""))
    return message if message.startswith(f"{source}:") else f"{source}: {item.case.status}: {message}"


def summary_text(counts: dict[str, int], seconds: float | None = None) -> str:
    """`N cases: a pass, b mismatch … in S s (R cases/s)`."""
    line = report.counts_line(counts)
    if seconds is not None and seconds > 0 and counts["total"]:
        line += f" in {seconds:.2f} s ({counts['total'] / seconds:.0f} cases/s)"
    return line


# --- table rows ------------------------------------------------------------------------------------------

ROW_COLUMNS = (("source", "left"), ("expression", "left"), ("point", "left"), ("worst error", "right"), ("verdict", "left"))


def row_cells(item: Checked) -> list[str]:
    error = worst_error(item)
    expr = item.case.expr.removeprefix(f"{item.file}: ")  # a program's title names its file: the source column does
    return [source_of(item), visible(shorten(expr), newlines=False), report.point_text(item.case.point, short=True),
            "—" if error is None else f"{error:.2e}", report.VERDICT_STYLE[item.case.status][0]]


SHRINK_TO = {2: 12, 1: 14}  # point, then expression: how narrow each gets before the next gives way


def fitted(widths: list[int], total: int) -> tuple[list[int], list[int]]:
    """(the columns shown, their widths) to fit `total` terminal columns, borders included: the point and expression
    columns shrink, then the point column goes (a failing case's details show it), then the source; the error and
    the verdict stay whole."""
    columns, shown = list(range(len(widths))), list(widths)

    def excess() -> int:
        return sum(shown[k] for k in columns) + 3 * len(columns) + 1 - total

    for column, narrowest in SHRINK_TO.items():
        shown[column] -= max(0, min(excess(), shown[column] - narrowest))
    if excess() > 0:
        columns.remove(2)
        shown[1] = min(widths[1], shown[1] + max(0, -excess()))  # the expression takes back what the point left
    for column, narrowest in ((0, 24), (1, 8), (0, 12)):
        shown[column] -= max(0, min(excess(), shown[column] - narrowest))
    return columns, shown


def clip(text: str, width: int, keep_end: bool = False) -> str:
    """`text` cut to `width` terminal cells with an ellipsis (at the start when the end matters: file:line)."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return text
    if keep_end:
        return "…" + set_cell_size(text[::-1], width - 1)[::-1]
    return set_cell_size(text, width - 1) + "…"


_NUMBER = re.compile(r"(?<![A-Za-z_\d.])(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def clip_expression(text: str, width: int) -> str:
    """An expression cut to `width` cells, never inside or right after a number (`x*1.2…` and `x + 4.5…` both read
    as a value that goes on): a number the cut meets goes whole; the cut ends in `…`."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    cut = clip(text, width)[:-1]
    for number in _NUMBER.finditer(text):
        if number.start() >= len(cut):
            break
        if len(cut) <= number.end():
            cut = cut[:number.start()]
            break
    return cut + "…"


def clip_point(text: str, width: int) -> str:
    """A point cut to `width` cells by whole `name=value` items (never inside a value: `z=1…` reads as a number),
    ending in `…`: `x=-2, y=5, …`; just `…` when not even the first item fits."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    kept: list[str] = []
    for piece, _ in split_top_level(text, ","):
        item = piece.strip()
        if item.startswith("…") or cell_len(", ".join([*kept, item, "…"])) > width:
            break  # `… (3,000 values)`: the note of a shortened point goes with the items it counted
        kept.append(item)
    return ", ".join([*kept, "…"])


CLIPS = (lambda text, width: clip(text, width, keep_end=True), clip_expression, clip_point, clip, clip)  # by column
VERDICT_WIDTH = max(len(label) for label, _ in report.VERDICT_STYLE.values())


def leave_room(widths: list[int]) -> None:
    """Widths for the first of several blocks, which fixes them for the rest: room for 3 more digits of line
    number, an expression of EXPR_WIDTH, a point of 24 characters and any verdict (a verdict is never cut)."""
    widths[0] += 3
    widths[1] = max(widths[1], EXPR_WIDTH)
    widths[2] = max(widths[2], 24)
    widths[4] = max(widths[4], VERDICT_WIDTH)


def rows_block(checked: list[Checked], title: str | None, widths: list[int], total: int = 10 ** 6, grow: bool = True,
               more: bool = False):
    """The rows as rich's default table draws them (same box and columns), built as one Text: rich's Table measures
    every cell and took ~0.3 ms a row, longer than checking it. `widths` (the widest cell of each column) is updated
    in place when `grow` (with room for what later blocks hold when `more` follow); otherwise the block keeps them
    and longer cells are cut, so every block of a run has the same columns at the same widths. `total`: the
    terminal's width, which they fit."""
    from rich.cells import cell_len
    from rich.text import Text

    cells = [row_cells(item) for item in checked]
    if grow:
        for k, (name, _) in enumerate(ROW_COLUMNS):
            widths[k] = max(widths[k], cell_len(name), *(cell_len(row[k]) for row in cells))
        if more:
            leave_room(widths)
    columns, fit = fitted(widths, total)
    names = [ROW_COLUMNS[k] for k in columns]
    cells = [[CLIPS[k](row[k], fit[k]) for k in columns] for row in cells]
    shown = [fit[k] for k in columns]

    def pad(text: str, k: int) -> str:
        gap = " " * (shown[k] - cell_len(text))
        return gap + text if names[k][1] == "right" else text + gap

    def rule(left: str, fill: str, middle: str, right: str) -> str:
        return left + middle.join(fill * (width + 2) for width in shown) + right + "\n"

    block = Text()
    if title:
        block.append(title + "\n", style="italic")
    block.append(rule("┏", "━", "┳", "┓") + "┃")
    for k, (name, _) in enumerate(names):
        block.append(" ")
        block.append(pad(clip(name, shown[k]), k), style="bold")
        block.append(" ┃")
    block.append("\n" + rule("┡", "━", "╇", "┩"))
    for item, row in zip(checked, cells):
        block.append("│ " + " │ ".join(pad(cell, k) for k, cell in enumerate(row[:-1])) + " │ ")
        block.append(pad(row[-1], len(row) - 1), style=report.VERDICT_STYLE[item.case.status][1])
        block.append(" │\n")
    block.append(rule("└", "─", "┴", "┘").rstrip("\n"))
    return block


def print_failure(console, item: Checked) -> None:
    """`eval`'s table for a failing case (at most DETAIL_VARIABLES rows), or a malformed line's message and caret."""
    from rich.text import Text

    console.print()
    console.print(Text(source_of(item), style="bold"))
    if item.case.point or item.case.gradients:
        print_case(console, item.case, limit=DETAIL_VARIABLES)
    else:  # a malformed line or a file problem: its message and caret, not an empty point
        console.print(Text.assemble(("✗ error", "bold red"), f"  {report.message_text(item.case.message)}"))
        if item.caret:
            console.print(Text(item.caret))
    command = reproduce_line(item)
    if command:
        console.print(Text(f"  {command}"), soft_wrap=True)


# --- JUnit XML -------------------------------------------------------------------------------------------

def xml_text(text: str) -> str:
    """Characters XML 1.0 cannot carry, and terminal controls, become visible escapes (any file name, any content)."""
    return _XML_INVALID.sub("\ufffd", visible(text))


def classname(path: str) -> str:
    """`expressions/seeds.gc` → `expressions.seeds` (consumers read dots as packages)."""
    stem = path[:-len(".gc")] if path.endswith(".gc") else path
    return xml_text(".".join(part for part in re.split(r"[\\/]+", stem) if part not in ("", ".")).replace(" ", "_") or "gradcheck")


def _attrs(pairs: dict[str, str]) -> str:
    return "".join(f' {key}="{escape(xml_text(value), _ATTRIBUTE_ENTITIES)}"' for key, value in pairs.items())


def testcase(item: Checked, strict: bool) -> tuple[str, str | None]:
    """The <testcase> of one case as XML text (indented for its place in a <testsuite>), and its outcome: "failure",
    "error" or None (passed). Built as text: an ElementTree per case cost a fifth of a large run."""
    case = item.case
    attributes = {"classname": classname(item.file), "name": label(item), "file": item.file, "time": f"{item.seconds:.6f}"}
    if item.line is not None:
        attributes["line"] = str(item.line)
    head = f"    <testcase{_attrs(attributes)}"
    outcome = "error" if case.status == "error" else "failure" if fails(case.status, strict) else None
    if outcome:
        message = one_line(report.message_text(case.message or case.status))
        return (f"{head}>\n      <{outcome}{_attrs({'type': case.status, 'message': message})}>{escape(xml_text(details(item)))}"
                f"</{outcome}>\n    </testcase>\n"), outcome
    body = []
    if case.status != "pass":  # a kink (or inconclusive point) passes, marked
        body += ["      <properties>", f'        <property{_attrs({"name": "gradcheck.status", "value": case.status})} />',
                 f'        <property{_attrs({"name": "gradcheck.message", "value": one_line(report.message_text(case.message))})} />',
                 "      </properties>"]
    if case.point:  # a passing case still shows its point and columns (a failing one has them in its body)
        text = f"point: {report.point_text(case.point, short=True)}\n" + details(item)
        body.append(f"      <system-out>{escape(xml_text(text))}</system-out>")
    if not body:
        return f"{head} />\n", None
    return f"{head}>\n" + "\n".join(body) + "\n    </testcase>\n", None


# --- GitHub Actions workflow commands ----------------------------------------------------------------------

def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


_escape_property = escape_property  # the name the tests know


def annotation(item: Checked, strict: bool) -> str | None:
    """`::error file=F,line=L,title=gradcheck mismatch::…` for a failing case, `::warning …` for a kink; None for a pass."""
    case = item.case
    if case.status == "pass" or (not fails(case.status, strict) and case.status not in ("kink", "inconclusive")):
        return None
    level = "error" if fails(case.status, strict) else "warning"
    props = [] if item.file.startswith("<") else [f"file={escape_property(visible(item.file))}"]  # <interrupted>: no file
    if item.line is not None:
        props.append(f"line={item.line}")
    if item.column is not None:
        props.append(f"col={item.column}")
    props.append(f"title={escape_property('gradcheck ' + case.status)}")
    where = f"{report.expression_text(case.expr)} at {report.point_text(case.point, short=True)}: " if case.point else ""
    message = where + report.message_text(one_line(case.message or case.status))
    command = reproduce_line(item)
    if command and level == "error":
        message += f"\n{command}"
    return f"::{level} {','.join(props)}::{escape_data(message)}"
