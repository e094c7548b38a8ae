"""Batch results → the `check` report formats: the table (built on report.py), JUnit XML and GitHub annotations.

JSON is report.to_json unchanged. JUnit: one testsuite per file, one testcase per case; a mismatch is a
<failure>, an error an <error>; a kink (or inconclusive point) passes, with a `gradcheck.status` property,
unless --strict, where it is a <failure>. Nothing here is <skipped>: every case ran.
"""

from __future__ import annotations

import re
import shlex
import xml.etree.ElementTree as ET
from typing import Iterable

from . import report
from .batch import VALUE_CLAIM, Checked
from .check import split_top_level
from .errors import ExitCode
from .verdict import exit_code

EXPR_WIDTH = 40  # characters of an expression shown in a table row or a test name
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def fails(status: str, strict: bool) -> bool:
    """Whether a case fails the run (the rule lives in verdict.exit_code)."""
    return exit_code([status], strict) != ExitCode.OK


def shorten(text: str, limit: int = EXPR_WIDTH) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def worst_error(checked: Checked) -> float | None:
    """The largest relative error the case judged: analytic vs reference, and claim vs reference."""
    errors = [e for g in checked.case.gradients for e in (g.rel_error, g.expected_rel_error) if e is not None]
    return max(errors, default=None)


def point_argument(point: dict[str, float]) -> str:
    """`x=-2,y=5` with repr precision, so `eval --at` gets the same doubles."""
    return ",".join(f"{k}={v!r}".removesuffix(".0") for k, v in point.items())


def reproduce(checked: Checked) -> str | None:
    """The `gradcheck eval` command that checks the same case alone."""
    case = checked.case
    if checked.line is None or not case.gradients and case.status == "error" and not case.point:
        return None
    parts = ["gradcheck", "eval", shlex.quote(case.expr)]
    if case.point:
        parts += ["--at", shlex.quote(point_argument(case.point))]
    gradient_claims = _gradient_claims(checked.claims)
    if gradient_claims:
        parts += ["--expect", shlex.quote(gradient_claims)]
    return " ".join(parts)


def _gradient_claims(claims: str | None) -> str | None:
    """The claims without a value claim `f=...` (eval's --expect takes gradients only)."""
    if not claims:
        return None
    kept = [piece.strip() for piece, _ in split_top_level(claims) if piece.split("=", 1)[0].strip() != VALUE_CLAIM]
    return ", ".join(kept) or None


def label(checked: Checked) -> str:
    """`line 3: EXPR @ POINT`, the name of a case in JUnit and in messages."""
    case = checked.case
    if checked.line is None:
        return "file"
    where = f" @ {report.point_text(case.point)}" if case.point else ""
    return f"line {checked.line}: {shorten(case.expr)}{where}"


def details(checked: Checked) -> str:
    """Plain-text body of a failure: one line per variable, the diagnosis, and how to reproduce it."""
    case = checked.case
    lines = [case.message or case.status]
    for g in case.gradients:
        claim = f", claimed {report.number(g.expected)}" if g.expected is not None else ""
        lines.append(f"d{g.var}: {g.status}; analytic {report.number(g.analytic)}, centered {report.number(g.centered)}, "
                     f"exact {report.number(g.exact)}{claim}, rel. error {g.rel_error:.2e}")
    if checked.caret:
        lines.append(checked.caret)
    command = reproduce(checked)
    if command:
        lines.append(f"reproduce: {command}")
    return "\n".join(lines)


# --- table -----------------------------------------------------------------------------------------------

def rows_table(checked: list[Checked]):
    from rich.table import Table
    from rich.text import Text

    table = Table(title="gradcheck check", title_justify="left")
    for name, justify in (("source", "left"), ("expression", "left"), ("point", "left"), ("worst rel. error", "right"), ("verdict", "left")):
        table.add_column(name, justify=justify, no_wrap=name != "point")
    for item in checked:
        case = item.case
        verdict, style = report.VERDICT_STYLE[case.status]
        error = worst_error(item)
        table.add_row(case.source or item.file, shorten(case.expr), report.point_text(case.point),
                      "—" if error is None else f"{error:.2e}", Text(verdict, style=style))
    return table


def print_table(console, checked: list[Checked], strict: bool, seconds: float | None = None) -> None:
    """The rows, then `eval`'s full table for every failing case (with the command to reproduce it), then the summary."""
    from rich.text import Text

    console.print(rows_table(checked))
    failing = [item for item in checked if fails(item.case.status, strict)]
    for item in failing:
        console.print()
        console.print(Text(item.case.source or item.file, style="bold"))
        if item.case.point or item.case.gradients:
            report.print_case(console, item.case)
        else:  # a malformed line or a file problem: its message and caret, not an empty point
            console.print(Text.assemble(("✗ error", "bold red"), f"  {item.case.message}"))
            if item.caret:
                console.print(item.caret, highlight=False, markup=False)
        command = reproduce(item)
        if command:
            console.print(f"  reproduce: {command}", soft_wrap=True)
    console.print()
    console.print(summary_text([item.case for item in checked], seconds))


def summary_text(cases, seconds: float | None = None) -> str:
    line = report.summary_line(cases)
    if seconds is not None and seconds > 0:
        line += f" in {seconds:.2f} s ({len(cases) / seconds:.0f} cases/s)"
    return line


def short_summary(checked: list[Checked], strict: bool, seconds: float | None = None, limit: int = 20) -> str:
    """What the terminal still gets with --output: one line per failing case (at most `limit`), then the counts."""
    failing = [item for item in checked if fails(item.case.status, strict)]
    lines = [_failure_line(item) for item in failing[:limit]]
    if len(failing) > limit:
        lines.append(f"… and {len(failing) - limit} more failing cases")
    lines.append(summary_text([item.case for item in checked], seconds))
    return "\n".join(lines)


def _failure_line(item: Checked) -> str:
    """`FILE:LINE: status: message`; a message that already starts with its FILE:LINE:COL stands alone."""
    source, message = item.case.source or item.file, _one_line(item.case.message or "")
    return message if message.startswith(f"{source}:") else f"{source}: {item.case.status}: {message}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


# --- JUnit XML -------------------------------------------------------------------------------------------

def _xml_text(text: str) -> str:
    """Characters XML 1.0 cannot carry (control bytes from a broken file) become U+FFFD."""
    return _XML_INVALID.sub("\ufffd", text)


def _by_file(checked: Iterable[Checked]) -> dict[str, list[Checked]]:
    files: dict[str, list[Checked]] = {}
    for item in checked:
        files.setdefault(item.file, []).append(item)
    return files


def _classname(path: str) -> str:
    """`expressions/seeds.gc` → `expressions.seeds` (consumers read dots as packages)."""
    stem = path[:-len(".gc")] if path.endswith(".gc") else path
    return ".".join(part for part in re.split(r"[\\/]+", stem) if part not in ("", ".")).replace(" ", "_") or "gradcheck"


def _testcase(item: Checked, strict: bool) -> tuple[ET.Element, str | None]:
    case = item.case
    element = ET.Element("testcase", {"classname": _classname(item.file), "name": _xml_text(label(item)),
                                      "file": _xml_text(item.file), "time": f"{item.seconds:.6f}"})
    if item.line is not None:
        element.set("line", str(item.line))
    outcome = None
    if case.status == "error":
        outcome = "error"
    elif fails(case.status, strict):
        outcome = "failure"
    if outcome:
        child = ET.SubElement(element, outcome, {"type": case.status, "message": _xml_text(_one_line(case.message or case.status))})
        child.text = _xml_text(details(item))
        return element, outcome
    if case.status != "pass":  # a kink (or inconclusive point) passes, marked
        properties = ET.SubElement(element, "properties")
        ET.SubElement(properties, "property", {"name": "gradcheck.status", "value": case.status})
        ET.SubElement(properties, "property", {"name": "gradcheck.message", "value": _xml_text(_one_line(case.message or ""))})
    if case.point:  # a passing case still shows its point and columns (a failing one has them in its body)
        ET.SubElement(element, "system-out").text = _xml_text(f"point: {report.point_text(case.point)}\n" + details(item))
    return element, outcome


def junit(checked: list[Checked], strict: bool) -> str:
    root = ET.Element("testsuites", {"name": "gradcheck"})
    totals = {"tests": 0, "failures": 0, "errors": 0, "time": 0.0}
    for path, items in _by_file(checked).items():
        suite = ET.SubElement(root, "testsuite", {"name": _xml_text(path), "file": _xml_text(path)})
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        seconds = 0.0
        for item in items:
            element, outcome = _testcase(item, strict)
            suite.append(element)
            counts["tests"] += 1
            seconds += item.seconds
            if outcome == "error":
                counts["errors"] += 1
            elif outcome == "failure":
                counts["failures"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
        suite.set("time", f"{seconds:.6f}")
        for key in ("tests", "failures", "errors"):
            totals[key] += counts[key]
        totals["time"] += seconds
    for key in ("tests", "failures", "errors"):
        root.set(key, str(totals[key]))
    root.set("time", f"{totals['time']:.6f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- GitHub Actions workflow commands ----------------------------------------------------------------------

def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _annotation(item: Checked, strict: bool) -> str | None:
    case = item.case
    if case.status == "pass" or (not fails(case.status, strict) and case.status not in ("kink", "inconclusive")):
        return None
    level = "error" if fails(case.status, strict) else "warning"
    props = [f"file={_escape_property(item.file)}"]
    if item.line is not None:
        props.append(f"line={item.line}")
    if item.column is not None:
        props.append(f"col={item.column}")
    props.append(f"title={_escape_property('gradcheck ' + case.status)}")
    where = f"{report.expression_text(case.expr)} at {report.point_text(case.point)}: " if case.point else ""
    message = where + _one_line(case.message or case.status)
    command = reproduce(item)
    if command and level == "error":
        message += f"\nreproduce: {command}"
    return f"::{level} {','.join(props)}::{_escape_data(message)}"


def github(checked: list[Checked], strict: bool) -> str:
    """`::error file=F,line=L,title=gradcheck mismatch::…` per failing case, `::warning` per kink, then the counts."""
    lines = [a for a in (_annotation(item, strict) for item in checked) if a]
    lines.append(summary_text([item.case for item in checked]))
    return "\n".join(lines) + "\n"


def formatted(name: str, checked: list[Checked], strict: bool) -> str:
    """The report as text, for every format but the table (which rich renders)."""
    if name == "json":
        return report.to_json([item.case for item in checked]) + "\n"
    if name == "junit":
        return junit(checked, strict)
    return github(checked, strict)
