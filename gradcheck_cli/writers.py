"""`check` reports written as results arrive, in bounded memory: nothing holds all the cases.

JSON: the same `gradcheck/1` document as `eval` (same keys, same layout), one case at a time. JUnit: a
<testsuites> element needs its totals first, so cases are spooled to temporary files (one suite at a time) and
assembled at the end. GitHub: one annotation per line. Table: tables of up to BLOCK rows, each followed by
the details of its failing cases (so a run of up to BLOCK cases looks exactly as before), then the summary.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from typing import IO
from xml.sax.saxutils import quoteattr

from . import formats, report
from .batch import Checked
from .results import CaseResult
from .status import SEVERITY, exit_code

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

    def add(self, item: Checked) -> None:
        self.counts["total"] += 1
        self.counts[item.case.status] += 1
        if item.line is not None:
            self.line_cases += 1
        elif len(self.problems) < 5:
            self.problems.append(report.message_text(item.case.message))
        if formats.fails(item.case.status, self.strict):
            self.failing += 1
            if len(self.failing_lines) < SHORT_SUMMARY_LINES:
                self.failing_lines.append(formats.failure_line(item))
            self._recall(item)

    def _recall(self, item: Checked) -> None:
        source = formats.source_of(item)
        if item.file == INTERRUPTED or source == self.last_source:
            return
        self.last_source = source
        self.failing_sources += 1
        if len(self.recalled) < RECAP_LINES:
            command = None if self.reproduced else formats.reproduce_line(item)
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
            lines.append(f"  {source}  {report.VERDICT_STYLE[status][0]}")
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
        lines.append(formats.summary_text(self.counts, seconds))
        return "\n".join(lines)

    def nothing_checked(self) -> str | None:
        """Why no line could be checked at all (exit 2), or None."""
        if self.line_cases:
            return None
        if not self.counts["total"]:
            return "nothing to check: the files hold no cases"
        more = self.counts["total"] - len(self.problems)
        return "nothing to check: " + "; ".join(self.problems) + (f"; and {more} more" if more > 0 else "")


def interrupted_case(tally: Tally, signal_number: int | None) -> Checked:
    """The last case of an interrupted run's report: an error, so no consumer mistakes the report for a whole run."""
    how = "SIGTERM" if signal_number is not None else "Ctrl-C"
    message = f"interrupted ({how}) after {tally.counts['total']:,} cases: the report holds those; the rest did not run"
    return Checked(CaseResult("", None, {}, math.nan, "error", message, ()), INTERRUPTED, None)


def _indented(value: object, pad: str) -> str:
    """json.dumps(value, indent=2) as it reads nested at indentation `pad` of the whole document."""
    return json.dumps(value, indent=2).replace("\n", "\n" + pad)


class JsonWriter:
    def __init__(self, out: IO[str], strict: bool):
        self.out, self.first = out, True
        out.write('{\n  "schema": "%s",\n  "cases": [' % report.SCHEMA)

    def add(self, item: Checked) -> None:
        text = "    " + _indented(report.case_json(item.case), "    ")
        self.out.write(("\n" if self.first else ",\n") + text)  # one write per case: an interrupt never splits one
        self.first = False

    def close(self, tally: Tally, seconds: float | None) -> None:
        self.out.write(("]" if self.first else "\n  ]") + f',\n  "summary": {_indented(tally.counts, "  ")}\n}}\n')


class GithubWriter:
    def __init__(self, out: IO[str], strict: bool):
        self.out, self.strict = out, strict

    def add(self, item: Checked) -> None:
        line = formats.annotation(item, self.strict)
        if line:
            self.out.write(line + "\n")

    def close(self, tally: Tally, seconds: float | None) -> None:
        self.out.write(formats.summary_text(tally.counts) + "\n")


class JUnitWriter:
    """Testcases go to a spool per suite; a finished suite (its counts now known) to the body spool."""

    def __init__(self, out: IO[str], strict: bool):
        self.out, self.strict = out, strict
        self.body = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.suite = tempfile.TemporaryFile("w+", encoding="utf-8")
        self.file: str | None = None
        self.counts = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}  # the current suite's
        self.totals = dict(self.counts)

    def add(self, item: Checked) -> None:
        if item.file != self.file:
            self._end_suite()
            self.file, self.counts = item.file, {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
        text, outcome = formats.testcase(item, self.strict)
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
        name = formats.xml_text(self.file)
        self.body.write(f"  <testsuite name={quoteattr(name)} file={quoteattr(name)} tests=\"{self.counts['tests']}\" "
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
    of a long run lines up, on a terminal or in a file."""

    def __init__(self, console, strict: bool, timed: bool):
        self.console, self.strict, self.timed = console, strict, timed
        self.rows: list[Checked] = []
        self.widths = [0] * len(formats.ROW_COLUMNS)
        self.first = True

    def add(self, item: Checked) -> None:
        self.rows.append(item)
        if len(self.rows) >= BLOCK:
            self.flush(last=False)

    def flush(self, last: bool = True) -> None:
        if not self.rows:
            return
        self.console.print(formats.rows_block(self.rows, "gradcheck check" if self.first else None, self.widths,
                                             self.console.width, grow=self.first, more=not last), soft_wrap=True)
        for item in self.rows:
            if formats.fails(item.case.status, self.strict):
                formats.print_failure(self.console, item)
        self.rows.clear()
        self.first = False

    def close(self, tally: Tally, seconds: float | None) -> None:
        from rich.text import Text

        self.flush()
        self.console.print()
        self.console.print(Text(formats.summary_text(tally.counts, seconds if self.timed else None)))
        for line in tally.recap():  # a reproduce command stays whole, to copy and paste; a long path folds
            self.console.print(Text(line), soft_wrap=line.startswith("    reproduce: "))


class Both:
    """`--format F --junit FILE`: one run, two reports."""

    def __init__(self, first, second):
        self.writers = (first, second)

    def add(self, item: Checked) -> None:
        for writer in self.writers:
            writer.add(item)

    def close(self, tally: Tally, seconds: float | None) -> None:
        for writer in self.writers:
            writer.close(tally, seconds)

    def discard(self) -> None:
        for writer in self.writers:
            if hasattr(writer, "discard"):
                writer.discard()


def make_writer(name: str, out: IO[str] | None, strict: bool):
    """The writer for --format NAME, on `out` (the --output file) or standard output."""
    import sys

    if name == "table":
        console = report.make_console(file=out) if out is not None else report.make_console()
        return TableWriter(console, strict, timed=out is None)
    stream = out if out is not None else sys.stdout
    return {"json": JsonWriter, "junit": JUnitWriter, "github": GithubWriter}[name](stream, strict)
