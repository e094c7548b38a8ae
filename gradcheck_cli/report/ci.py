"""The formats CI reads: one file case as a JUnit <testcase> and as a GitHub Actions annotation; stream.py writes
them into whole reports.

JUnit: a mismatch is a <failure>, an error an <error>; a kink (or inconclusive point) passes, with a
`gradcheck.status` property, unless --strict, where it is a <failure>. Nothing here is <skipped>: every case ran.
Everything meant for people goes through display.visible (no raw control characters) and is shortened: points
of thousands of values, messages of thousands of notes, reproduce commands pages long.
"""

from __future__ import annotations

import re

from ..display import visible
from ..results import FileCase
from .text import details, expression_text, fails, label, message_text, one_line, point_text, reproduce_line

_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
_TEXT_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ATTRIBUTE_TABLE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", **_ATTRIBUTE_ENTITIES})
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


# --- JUnit XML -------------------------------------------------------------------------------------------

def xml_text(text: str) -> str:
    """Characters XML 1.0 cannot carry, and terminal controls, become visible escapes (any file name, any content)."""
    return _XML_INVALID.sub("\ufffd", visible(text))


def escape(text: str) -> str:
    """XML character data: & < > as entities (xml.sax.saxutils.escape, without the import of urllib it brings)."""
    return text.translate(_TEXT_ENTITIES)


def attribute(text: str) -> str:
    """An XML attribute's value, double-quoted: & < > " and the whitespace a parser would fold, as entities."""
    return '"' + text.translate(_ATTRIBUTE_TABLE) + '"'


def classname(path: str) -> str:
    """`expressions/seeds.gc` → `expressions.seeds` (consumers read dots as packages)."""
    stem = path[:-len(".gc")] if path.endswith(".gc") else path
    return xml_text(".".join(part for part in re.split(r"[\\/]+", stem) if part not in ("", ".")).replace(" ", "_") or "gradcheck")


def _attrs(pairs: dict[str, str]) -> str:
    return "".join(f" {key}={attribute(xml_text(value))}" for key, value in pairs.items())


def testcase(item: FileCase, strict: bool) -> tuple[str, str | None]:
    """The <testcase> of one case as XML text (indented for its place in a <testsuite>), and its outcome: "failure",
    "error" or None (passed). Built as text: an ElementTree per case cost a fifth of a large run."""
    case = item.case
    attributes = {"classname": classname(item.file), "name": label(item), "file": item.file, "time": f"{item.seconds:.6f}"}
    if item.line is not None:
        attributes["line"] = str(item.line)
    head = f"    <testcase{_attrs(attributes)}"
    outcome = "error" if case.status == "error" else "failure" if fails(case.status, strict) else None
    if outcome:
        message = one_line(message_text(case.message or case.status))
        return (f"{head}>\n      <{outcome}{_attrs({'type': case.status, 'message': message})}>{escape(xml_text(details(item)))}"
                f"</{outcome}>\n    </testcase>\n"), outcome
    body = []
    if case.status != "pass":  # a kink (or inconclusive point) passes, marked
        body += ["      <properties>", f'        <property{_attrs({"name": "gradcheck.status", "value": case.status})} />',
                 f'        <property{_attrs({"name": "gradcheck.message", "value": one_line(message_text(case.message))})} />',
                 "      </properties>"]
    if case.point:  # a passing case still shows its point and columns (a failing one has them in its body)
        text = f"point: {point_text(case.point, short=True)}\n" + details(item)
        body.append(f"      <system-out>{escape(xml_text(text))}</system-out>")
    if not body:
        return f"{head} />\n", None
    return f"{head}>\n" + "\n".join(body) + "\n    </testcase>\n", None


# --- GitHub Actions workflow commands ----------------------------------------------------------------------

def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(item: FileCase, strict: bool) -> str | None:
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
    where = f"{expression_text(case.expr)} at {point_text(case.point, short=True)}: " if case.point else ""
    message = where + message_text(one_line(case.message or case.status))
    command = reproduce_line(item)
    if command and level == "error":
        message += f"\n{command}"
    return f"::{level} {','.join(props)}::{escape_data(message)}"
