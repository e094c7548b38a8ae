"""The one registry of report formats: a new format is one entry in FORMATS.

An entry says how the format writes cases as they arrive (`check`, `layer FILE.py`: a writer with add/close, on the
--output file or standard output) and, when it can, how it prints a whole list of cases at once (`eval`, `function`,
`layer FILE.py:NAME`). Every command's --format choices come from this table. Nothing is imported until a format is
used: `gradcheck --help` reads the names only. (`sweep` prints its own data, not cases: table or json.)
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from ..results import CaseResult
    from .table import View


@dataclass(frozen=True, slots=True)
class Format:
    """One report format: how it streams cases and how it prints a whole report."""

    name: str
    writer: Callable[[IO[str] | None, bool, "View"], object]  # (out or None for stdout, strict, view) -> add/close
    whole: Callable[[list["CaseResult"], "View"], None] | None = None  # the whole report on standard output


def _table_writer(out: IO[str] | None, strict: bool, view: View):
    from .stream import TableWriter
    from .table import make_console

    console = make_console(file=out) if out is not None else make_console()
    return TableWriter(console, strict, replace(view, timed=view.timed and out is None))


def _table_whole(cases: list[CaseResult], view: View) -> None:
    from .table import make_console, print_table_report

    print_table_report(make_console(), cases, view)


def _json_writer(out: IO[str] | None, strict: bool, view: View):
    from .stream import JsonWriter

    return JsonWriter(out if out is not None else sys.stdout, strict)


def _json_whole(cases: list[CaseResult], view: View) -> None:
    from .json import to_json

    sys.stdout.write(to_json(cases) + "\n")
    sys.stdout.flush()


def _junit_writer(out: IO[str] | None, strict: bool, view: View):
    from .stream import JUnitWriter

    return JUnitWriter(out if out is not None else sys.stdout, strict)


def _github_writer(out: IO[str] | None, strict: bool, view: View):
    from .stream import GithubWriter

    return GithubWriter(out if out is not None else sys.stdout, strict)


FORMATS = {f.name: f for f in (
    Format("table", _table_writer, _table_whole),
    Format("json", _json_writer, _json_whole),
    Format("junit", _junit_writer),
    Format("github", _github_writer),
)}
STREAMED = tuple(FORMATS)  # `check` and `layer`
WHOLE = tuple(name for name, f in FORMATS.items() if f.whole is not None)  # `eval` and `function`


def make_writer(name: str, out: IO[str] | None, strict: bool, view: View | None = None):
    """The writer for --format NAME, on `out` (the --output file) or standard output."""
    if view is None:
        from .table import View

        view = View()
    return FORMATS[name].writer(out, strict, view)


def print_report(name: str, cases: list[CaseResult], view: View | None = None) -> None:
    """A whole report of `cases` in format NAME on standard output."""
    if view is None:
        from .table import View

        view = View()
    FORMATS[name].whole(cases, view)
