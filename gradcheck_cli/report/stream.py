"""Reports written as results arrive (`check`, `layer FILE.py`), in bounded memory: nothing holds all the cases.

JSON: the same `gradcheck/1` document as `eval` (same keys, same layout), one case at a time. JUnit: a
<testsuites> element needs its totals first, so cases are spooled to temporary files (one suite at a time) and
assembled at the end. GitHub: one annotation per line. Table: tables of up to BLOCK rows (drawn here as text:
rich's Table measured every cell, slower than checking it), each followed by the details of its failing cases
(so a run of up to BLOCK cases looks exactly as before), then the summary. formats.py names them.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from typing import IO

from ..display import visible
from ..results import CaseResult, FileCase
from ..status import SEVERITY, exit_code
from .ci import annotation, attribute, testcase, xml_text
from .json import SCHEMA, case_json
from .table import View, print_case, print_notes
from .text import (DETAIL_VARIABLES, EXPR_WIDTH, VERDICT_STYLE, clip, clip_expression, clip_point, fails, failure_line, message_text, point_text, reproduce_line, shorten, source_of, summary_text,
                   worst_error)

INTERRUPTED = "<interrupted>"  # the file of the marker case an interrupted run ends with
BLOCK = 500  # table rows per rich table
SHORT_SUMMARY_LINES = 20
RECAP_LINES = 10  # failing FILE:LINEs recalled after the summary of a table report


class Tally:
    """What the end of a run needs, kept small: counts per status, the first failing cases' one-line summaries."""

    def __init__(self, strict: bool):
        self.strict = strict
        self.counts = {"total": 0, **{s: 0 for s in SEVERITY}}
        self.line_cases = 0  # cases from lines (the rest are problems with whole files)
        self.failing = 0
        self.failing_lines: list[str] = []
        self.problems: list[str] = []
        self.recalled: list[tuple[str, str, str | None]] = []  # (FILE:LINE, status, reproduce line) of failing lines
        self.failing_sources = 0  # failing lines (a line's failing points count once)
        self.last_source: str | None = None
        self.reproduced = False  # whether a recalled line carries the first reproduce command

    def add(self, item: FileCase) -> None:
        self.counts["total"] += 1
        self.counts[item.case.status] += 1
        if item.line is not None:
            self.line_cases += 1
        elif len(self.problems) < 5:
            self.problems.append(message_text(item.case.message))
        if fails(item.case.status, self.strict):
            self.failing += 1
            if len(self.failing_lines) < SHORT_SUMMARY_LINES:
                self.failing_lines.append(failure_line(item))
            self._recall(item)

    def _recall(self, item: FileCase) -> None:
        source = source_of(item)
        if item.file == INTERRUPTED or source == self.last_source:
            return
        self.last_source = source
        self.failing_sources += 1
        if len(self.recalled) < RECAP_LINES:
            command = None if self.reproduced else reproduce_line(item)
            self.reproduced = self.reproduced or command is not None
            self.recalled.append((source, item.case.status, command))

    def recap(self) -> list[str]:
        """The failing lines again, after the summary: the end of a 10,000-line run says where to look (at most
        RECAP_LINES of them, then how many more), with the first reproduce command under its line."""
        if not self.recalled:
            return []
        count = self.failing_sources
        lines = [f"{count:,} failing line{'s' if count != 1 else ''}:"]
        for source, status, command in self.recalled:
            lines.append(f"  {source}  {VERDICT_STYLE[status][0]}")
            if command:
                lines.append(f"    {command}")
        if count > len(self.recalled):
            lines.append(f"  … and {count - len(self.recalled):,} more")
        return lines

    def exit_code(self):
        return exit_code([s for s in SEVERITY if self.counts[s]], self.strict)

    def short_summary(self, seconds: float | None) -> str:
        """What the terminal still gets with --output: one line per failing case (at most 20), then the counts."""
        lines = list(self.failing_lines)
        if self.failing > len(lines):
            lines.append(f"… and {self.failing - len(lines)} more failing cases")
        lines.append(summary_text(self.counts, seconds))
        return "\n".join(lines)

    def nothing_checked(self) -> str | None:
        """Why no line could be checked at all (exit 2), or None."""
        if self.line_cases:
            return None
        if not self.counts["total"]:
            return "nothing to check: the files hold no cases"
        more = self.counts["total"] - len(self.problems)
        return "nothing to check: " + "; ".join(self.problems) + (f"; and {more} more" if more > 0 else "")


def interrupted_case(tally: Tally, signal_number: int | None) -> FileCase:
    """The last case of an interrupted run's report: an error, so no consumer mistakes the report for a whole run."""
    how = "SIGTERM" if signal_number is not None else "Ctrl-C"
    message = f"interrupted ({how}) after {tally.counts['total']:,} cases: the report holds those; the rest did not run"
    return FileCase(CaseResult("", None, {}, math.nan, "error", message, ()), INTERRUPTED, None)


class JsonWriter:
    """The `gradcheck/1` document streamed: one case per line, compact (json's C encoder: an indented dump is ~3x
    slower and was 6-9% of `check`), so that a report of any size takes little memory and every line is one case;
    `python -m json.tool` indents it for reading. Whole reports (`eval`, `function`) are printed indented."""

    def __init__(self, out: IO[str], strict: bool):
        self.out, self.first = out, True
        out.write('{"schema": "%s", "cases": [' % SCHEMA)

    def add(self, item: FileCase) -> None:
        self.out.write(("\n" if self.first else ",\n") + json.dumps(case_json(item.case)))  # one write per case
        self.first = False

    def close(self, tally: Tally, seconds: float | None) -> None:
        self.out.write(("]" if self.first else "\n]") + f', "summary": {json.dumps(tally.counts)}}}\n')


class GithubWriter:
    def __init__(self, out: IO[str], strict: bool):
        self.out, self.strict = out, strict

    def add(self, item: FileCase) -> None:
        line = annotation(item, self.strict)
        if line:
            self.out.write(line + "\n")

    def close(self, tally: Tally, seconds: float | None) -> None:
        self.out.write(summary_text(tally.counts) + "\n")


class JUnitWriter:
    """Testcases go to a spool per suite; a finished suite (its counts now known) to the body spool."""

    def __init__(self, out: IO[str], strict: bool):
        self.out, self.strict = out, strict
        self.body = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.suite = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.file: str | None = None
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}  # the current suite's
        self.totals = dict(self.counts)

    def add(self, item: FileCase) -> None:
        if item.file != self.file:
            self._end_suite()
            self.file, self.counts = item.file, {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
        text, outcome = testcase(item, self.strict)
        self.suite.write(text)
        self.counts["tests"] += 1
        self.counts["time"] += item.seconds
        if outcome == "error":
            self.counts["errors"] += 1
        elif outcome == "failure":
            self.counts["failures"] += 1

    def _end_suite(self) -> None:
        if self.file is None:
            return
        name = xml_text(self.file)
        self.body.write(f"  <testsuite name={attribute(name)} file={attribute(name)} tests=\"{self.counts['tests']}\" "
                        f"failures=\"{self.counts['failures']}\" errors=\"{self.counts['errors']}\" skipped=\"0\" "
                        f"time=\"{self.counts['time']:.6f}\">\n")
        self.suite.seek(0)
        shutil.copyfileobj(self.suite, self.body)
        self.body.write("  </testsuite>\n")
        self.suite.seek(0)
        self.suite.truncate()
        for key in ("tests", "failures", "errors", "time"):
            self.totals[key] += self.counts[key]
        self.file = None

    def close(self, tally: Tally, seconds: float | None) -> None:
        self._end_suite()
        t = self.totals
        self.out.write('<?xml version="1.0" encoding="UTF-8"?>\n'
                       f'<testsuites name="gradcheck" tests="{t["tests"]}" failures="{t["failures"]}" errors="{t["errors"]}" '
                       f'time="{t["time"]:.6f}">\n')
        self.body.seek(0)
        shutil.copyfileobj(self.body, self.out)
        self.out.write("</testsuites>\n")
        self.discard()

    def discard(self) -> None:
        """The spools are temporary files: close (and so delete) them, whether or not the report was finished."""
        self.body.close()
        self.suite.close()


class TableWriter:
    """Rows in tables of up to BLOCK rows, each followed by eval's table for its failing cases with the command that
    reproduces them; then the summary with the time, and the recap of the failing lines. The first block fixes the
    column widths (with room for longer expressions, points and verdicts when more blocks follow), so every block
    of a long run lines up, on a terminal or in a file. `view`: the title, a layer's notes, the recap, the time."""

    def __init__(self, console, strict: bool, view: View = View()):
        self.console, self.strict, self.view = console, strict, view
        self.rows: list[FileCase] = []
        self.widths = [0] * len(ROW_COLUMNS)
        self.first = True

    def add(self, item: FileCase) -> None:
        self.rows.append(item)
        if len(self.rows) >= BLOCK:
            self.flush(last=False)

    def flush(self, last: bool = True) -> None:
        if not self.rows:
            return
        self.console.print(rows_block(self.rows, self.view.title if self.first else None, self.widths,
                                      self.console.width, grow=self.first, more=not last), soft_wrap=True)
        for item in self.rows:
            if fails(item.case.status, self.strict):
                print_failure(self.console, item)
                print_notes(self.console, item.case)
        self.rows.clear()
        self.first = False

    def close(self, tally: Tally, seconds: float | None) -> None:
        from rich.text import Text

        self.flush()
        self.console.print()
        self.console.print(Text(summary_text(tally.counts, seconds if self.view.timed else None)))
        for line in tally.recap() if self.view.recap else ():  # a reproduce command stays whole; a long path folds
            self.console.print(Text(line), soft_wrap=line.startswith("    reproduce: "))


class Both:
    """`--format F --junit FILE`: one run, two reports."""

    def __init__(self, first, second):
        self.writers = (first, second)

    def add(self, item: FileCase) -> None:
        for writer in self.writers:
            writer.add(item)

    def close(self, tally: Tally, seconds: float | None) -> None:
        for writer in self.writers:
            writer.close(tally, seconds)

    def discard(self) -> None:
        for writer in self.writers:
            if hasattr(writer, "discard"):
                writer.discard()


# --- check's table: rows drawn as rich's default table draws them --------------------------------------------

ROW_COLUMNS = (("source", "left"), ("expression", "left"), ("point", "left"), ("worst error", "right"), ("verdict", "left"))


def row_cells(item: FileCase) -> list[str]:
    error = worst_error(item)
    expr = item.case.expr.removeprefix(f"{item.file}: ")  # a program's title names its file: the source column does
    return [source_of(item), visible(shorten(expr), newlines=False), point_text(item.case.point, short=True),
            "—" if error is None else f"{error:.2e}", VERDICT_STYLE[item.case.status][0]]


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


CLIPS = (lambda text, width: clip(text, width, keep_end=True), clip_expression, clip_point, clip, clip)  # by column


VERDICT_WIDTH = max(len(label) for label, _ in VERDICT_STYLE.values())


def leave_room(widths: list[int]) -> None:
    """Widths for the first of several blocks, which fixes them for the rest: room for 3 more digits of line
    number, an expression of EXPR_WIDTH, a point of 24 characters and any verdict (a verdict is never cut)."""
    widths[0] += 3
    widths[1] = max(widths[1], EXPR_WIDTH)
    widths[2] = max(widths[2], 24)
    widths[4] = max(widths[4], VERDICT_WIDTH)


def rows_block(checked: list[FileCase], title: str | None, widths: list[int], total: int = 10 ** 6, grow: bool = True,
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
        block.append(pad(row[-1], len(row) - 1), style=VERDICT_STYLE[item.case.status][1])
        block.append(" │\n")
    block.append(rule("└", "─", "┴", "┘").rstrip("\n"))
    return block


def print_failure(console, item: FileCase) -> None:
    """`eval`'s table for a failing case (at most DETAIL_VARIABLES rows), or a malformed line's message and caret."""
    from rich.text import Text

    console.print()
    console.print(Text(source_of(item), style="bold"))
    if item.case.point or item.case.gradients:
        print_case(console, item.case, limit=DETAIL_VARIABLES)
    else:  # a malformed line or a file problem: its message and caret, not an empty point
        console.print(Text.assemble(("✗ error", "bold red"), f"  {message_text(item.case.message)}"))
        if item.caret:
            console.print(Text(item.caret))
    command = reproduce_line(item)
    if command:
        console.print(Text(f"  {command}"), soft_wrap=True)
