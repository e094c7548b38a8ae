"""User text in human-readable output: never rich markup, never raw control characters, never 60 KB."""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck_cli.display import short_assignments, visible
from gradcheck_cli.errors import ParseError, Position
from gradcheck_cli.report import table as tables
from gradcheck_cli.report import text as report
from gradcheck_cli.report.table import make_console

MARKUP = st.lists(st.sampled_from(["[b]", "[/b]", "[/]", "[link=x]", "[red]", "[bold red on blue]", "\\[", "[", "]",
                                   "x", " @ x=1", "[/link]", ":smile:", "\x1b[2J", "\u202e", "\r"]), min_size=1, max_size=8).map("".join)
UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
FUZZ = settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _console(buffer: io.StringIO):
    return make_console(file=buffer)


@given(st.text())
def test_visible_leaves_nothing_that_acts_on_a_terminal_and_is_idempotent(text):
    shown = visible(text)
    assert not UNSAFE.search(shown)
    assert visible(shown) == shown
    assert shown.count("\n") == text.count("\n")


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))))
def test_visible_changes_no_ordinary_text(text):
    assert visible(text) == text.replace("\t", " ")


def test_visible_shows_escapes_bidi_and_undecodable_bytes():
    name = b"caf\xe9.gc".decode("utf-8", "surrogateescape")
    assert visible("a\x1b[2Kb\r\x08\u202egc.exe") == "a\\x1b[2Kb\\x0d\\x08\\u202egc.exe"
    assert visible(name) == "caf\\xe9.gc"
    visible(name).encode("utf-8")  # printable on a UTF-8 terminal (the raw name raised UnicodeEncodeError)


def test_a_caret_stays_under_its_column_when_the_line_holds_escapes():
    error = ParseError("bad", Position("\x1b[31mx + 2y", 10))
    text_line, caret = error.caret().split("\n")
    assert "\x1b" not in text_line
    assert text_line[caret.index("^")] == "y"


def _squeeze(text: str) -> str:
    return "".join(text.split())  # rich wraps long titles: compare without whitespace


@pytest.fixture(scope="module")
def base_case():
    from gradcheck_cli.session import check_text

    return check_text("x*y", {"x": 1.0, "y": 2.0}, expect="dx=3")


@FUZZ
@given(text=MARKUP)
def test_the_eval_renderers_print_markup_like_text_literally(text, base_case):
    case = replace(base_case, expr=text, message=text, status="mismatch")
    for shown in (case, replace(case, status="error"), replace(case, gradients=())):
        buffer = io.StringIO()
        tables.print_case(_console(buffer), shown)
        assert _squeeze(visible(text)) in _squeeze(buffer.getvalue())
        assert not UNSAFE.search(buffer.getvalue().replace("\n", ""))
    buffer = io.StringIO()
    tables.print_table_report(_console(buffer), [case] * 12)  # the many-points summary table too
    assert "12 cases" in buffer.getvalue()


def test_a_long_point_is_shortened_for_people():
    point = {f"w{k}": float(k) for k in range(3000)}
    shown = report.point_text(point, short=True)
    assert shown.startswith("w0=0, w1=1, ") and shown.endswith("… (3,000 values)") and len(shown) < 200
    assert report.point_text({"x": 1.0, "y": 2.0}, short=True) == "x=1, y=2"
    assert short_assignments(["a=1"], 1) == "a=1"


def test_chars_outside_the_basic_plane_and_combining_marks_survive():
    text = "x\u0301 😀"
    assert visible(text) == text
    assert unicodedata.category("\u0301") == "Mn"


@FUZZ
@given(text=st.one_of(MARKUP, st.text(max_size=40)), status=st.sampled_from(["pass", "mismatch", "error", "kink"]),
       line=st.sampled_from([None, 3]))
def test_every_batch_writer_takes_markup_and_control_characters_literally(text, status, line, base_case):
    import xml.etree.ElementTree as ET

    from gradcheck_cli.report import stream as writers
    from gradcheck_cli.report.formats import make_writer
    from gradcheck_cli.results import FileCase

    item = FileCase(replace(base_case, expr=text, message=text, status=status, source=f"{text}:3"), text, line,
                   claims="dx=3", caret=f"  {text}\n  ^")
    tally = writers.Tally(strict=False)
    tally.add(item)
    outputs = {}
    for name in ("table", "github", "junit", "json"):
        buffer = io.StringIO()
        writer = writers.TableWriter(_console(buffer), False) if name == "table" else make_writer(name, buffer, False)
        writer.add(item)
        writer.close(tally, 1.0)
        outputs[name] = buffer.getvalue()
    for name in ("table", "github", "junit"):
        assert not UNSAFE.search(outputs[name].replace("\n", "")), name
    assert not UNSAFE.search(tally.short_summary(1.0).replace("\n", ""))
    assert ET.fromstring(outputs["junit"]).get("tests") == "1"
    assert __import__("json").loads(outputs["json"])["cases"][0]["expr"] == text  # JSON keeps the text itself
    if status != "pass":  # as a message (newlines kept) or in a one-line place, a row or a source (newlines as \n)
        shown = _squeeze(outputs["table"])
        assert _squeeze(visible(text)) in shown or _squeeze(visible(text, newlines=False)) in shown
