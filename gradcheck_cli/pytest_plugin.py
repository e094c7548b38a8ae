"""The pytest plugin (entry point `pytest11`, name `gradcheck`): `.gc` and `*.gc.py` files become test items.

One item per case: an expression line with `@` points gives one item per point (the line is still checked once, its
points as one numpy batch, and each item takes its own result); a line without `@` is one item over its random
points; a program file is one item; a file that cannot be read is one failing item. Items fail exactly when
`gradcheck check` would count the case as failing. Collection only reads the files: checking happens in runtest, so
`--collect-only` is quick and pytest-xdist spreads the work. Only pytest and the standard library are imported at
startup; numpy comes with the first .gc file, rich and SymPy with the first check. See docs/pytest.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .files.format import Line, Settings
    from .results import FileCase

EXPRESSION_SUFFIX = ".gc"  # files/format.py's EXTENSION, PROGRAM_EXTENSION: not imported, that would load numpy at startup
PROGRAM_SUFFIX = ".gc.py"
DEFAULT_SAMPLES = 5  # `gradcheck check`'s defaults (cli/check.py); the tests compare them
DEFAULT_SEED = 0
CHECK_EXACT_METHOD = "chain"
NAME_EXPRESSION = 60  # characters of an expression in an item's name (-k also matches the whole expression)
NAME_POINT = 40
PIPED_WIDTH = 200  # report/table.py's make_console width for piped output: pytest captures the terminal during a test


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gradcheck", "gradcheck expression files (.gc, .gc.py)")
    group.addoption("--gradcheck-samples", type=int, default=DEFAULT_SAMPLES, metavar="N",
                    help=f"random points for a line without '@' (default {DEFAULT_SAMPLES}, as gradcheck check --samples)")
    group.addoption("--gradcheck-seed", type=int, default=DEFAULT_SEED, metavar="N",
                    help=f"seed of those random points (default {DEFAULT_SEED}, as gradcheck check --seed)")
    group.addoption("--gradcheck-strict", action="store_true", help="kinks and inconclusive points fail too (as --strict)")
    group.addoption("--gradcheck-no-exact", action="store_true", help="skip the exact column (faster; as --no-exact)")


def pytest_configure(config: pytest.Config) -> None:
    samples = config.getoption("gradcheck_samples")
    if samples != DEFAULT_SAMPLES:  # cli/options.py imports click: only when there is something to check
        from .cli.options import CHECK_SAMPLES

        if not CHECK_SAMPLES.holds(samples):
            raise pytest.UsageError(f"--gradcheck-samples {samples}: must be in {CHECK_SAMPLES.text()}")


@pytest.hookimpl(hookwrapper=True)
def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    """A .gc file, or a *.gc.py program file, is ours; for a program file the other collectors are dropped: the python
    plugin (the file named on the command line, or matching python_files) and --doctest-modules would import it."""
    outcome = yield
    name = file_path.name
    if name.endswith((EXPRESSION_SUFFIX, PROGRAM_SUFFIX)):
        others = [] if name.endswith(PROGRAM_SUFFIX) else outcome.get_result()
        outcome.force_result([*others, GradcheckFile.from_parent(parent, path=file_path)])


def settings_from(samples: int, seed: int, exact: bool) -> Settings:
    """The Settings `gradcheck check --samples S --seed N [--no-exact]` runs with."""
    from .expression.check import Options
    from .files.format import Settings

    return Settings(Options(exact=exact, exact_method=CHECK_EXACT_METHOD), samples, seed)


def _shown_path(path: Path) -> str:
    """The path as `gradcheck check` run from here names it in messages: relative when under the working directory."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return str(path)
    return str(path) if relative.startswith("..") else relative


class GradcheckFile(pytest.File):
    """A .gc or .gc.py file: reading it yields its items; nothing is checked here."""

    def collect(self):
        from .files.discovery import read_units
        from .results import FileCase

        for unit in read_units(_shown_path(self.path)):
            if isinstance(unit, FileCase):  # the file cannot be read: one failing item says why
                yield GradcheckItem.from_parent(self, name="file", check=SharedCheck(unit, 1), index=None)
            elif unit.kind == "program":
                yield GradcheckItem.from_parent(self, name="program", check=SharedCheck(unit, 1), index=None)
            else:
                names, expression = case_names(unit)
                shared = SharedCheck(unit, len(names))
                for index, name in enumerate(names):
                    item = GradcheckItem.from_parent(self, name=name, check=shared, index=index if len(names) > 1 else None)
                    item.extra_keyword_matches.update({f"{self.nodeid}:{unit.number}:", expression})  # -k FILE:LINE:, -k long text
                    yield item


def case_names(line: Line) -> tuple[list[str], str]:
    """(item names, the expression text): `3: x*y @ x=1, y=2` per `@` point, or `3: x*y` for a line without one
    (or one that does not split: its check reports why). A point named twice gets ` #K` (names stay unique)."""
    from .display import shorten_text, visible
    from .errors import GradcheckError
    from .files.format import split_line

    code = line.text.split("#", 1)[0].strip() or line.text.strip()
    try:
        parts = split_line(line.text) if line.bad_byte is None else None
    except GradcheckError:
        parts = None
    expression = parts.expr.text if parts is not None else code
    head = visible(f"{line.number}: {shorten_text(expression, NAME_EXPRESSION)}", newlines=False)
    if parts is None or not parts.points:
        return [head], expression
    points = [visible(shorten_text(p.text.strip(), NAME_POINT), newlines=False) for p in parts.points]
    names = [f"{head} @ {point}" + (f" #{k + 1}" if points.count(point) > 1 else "") for k, point in enumerate(points)]
    return names, expression


class SharedCheck:
    """One line's check, shared by the items of its points (the one mutable piece: a cache, so a line of N points
    runs once, not N times). Its results are dropped when the last of those items has taken its own."""

    def __init__(self, unit: Line | FileCase, items: int):
        self.unit, self.items = unit, items
        self._results: list[FileCase] | None = None
        self._untaken = 0

    def take(self, settings: Settings, index: int | None) -> list[FileCase]:
        """The cases of point `index` (None: every case of the unit); a line that failed as a whole (one error
        case instead of one per point) gives that error to every point's item."""
        from .files.runner import check_unit

        if self._results is None:
            self._results, self._untaken = check_unit(self.unit, settings), self.items
        results = self._results
        self._untaken -= 1
        if self._untaken <= 0:
            self._results = None
        if index is None or len(results) != self.items:
            return results
        return [results[index]]


class CaseFailed(Exception):
    """A case `gradcheck check` counts as failing; its text is the whole pytest failure message."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one collected item of a .gc file came to: its cases' statuses and the failure text."""

    statuses: tuple[str, ...]
    failure: str | None  # the message, or None when the item passes


class GradcheckItem(pytest.Item):
    def __init__(self, *, check: SharedCheck, index: int | None, **kwargs):
        super().__init__(**kwargs)
        self.check, self.index = check, index

    def runtest(self) -> None:
        config = self.config
        settings = settings_from(config.getoption("gradcheck_samples"), config.getoption("gradcheck_seed"),
                                 exact=not config.getoption("gradcheck_no_exact"))
        try:
            outcome = judge(self.check.take(settings, self.index), config.getoption("gradcheck_strict"))
        except Exception as problem:  # a bug costs this item, never a traceback of gradcheck's internals
            outcome = Outcome(("error",), f"{self.nodeid}: internal error, please report: {type(problem).__name__}: {problem}")
        # kinks and inconclusive points pass (unless strict), marked as `check --format junit` marks them
        self.user_properties.extend(("gradcheck.status", s) for s in dict.fromkeys(outcome.statuses) if s != "pass")
        if outcome.failure is not None:
            raise CaseFailed(outcome.failure)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CaseFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        number = getattr(self.check.unit, "number", None)  # a Line has one; a file problem (FileCase) has none
        return self.path, (number - 1 if number is not None else None), self.name


def _render_width() -> int:
    """COLUMNS, or the width `gradcheck check` uses when piped (tables are never squeezed to cut numbers)."""
    try:
        return max(40, int(os.environ.get("COLUMNS", "")))
    except ValueError:
        return PIPED_WIDTH


def judge(results: list[FileCase], strict: bool) -> Outcome:
    from .report.text import fails

    failing = [r for r in results if fails(r.case.status, strict)]
    return Outcome(tuple(r.case.status for r in results), failure_text(failing) if failing else None)


def failure_text(failing: list[FileCase]) -> str:
    """Each failing case as `gradcheck check` prints it, without colour: FILE:LINE, the verdict table (a program's
    line-by-line table first) and `reproduce:`; a malformed line or unreadable file is its one-line error and caret."""
    from io import StringIO

    from rich.console import Console
    from rich.text import Text

    from .report.table import print_case
    from .report.text import DETAIL_VARIABLES, failure_line, message_text, one_line, reproduce_line, source_of

    blocks = []
    for item in failing:
        if not (item.case.point or item.case.gradients):
            blocks.append("\n".join(filter(None, [failure_line(item), item.caret])))
            continue
        where = source_of(item)  # a program's names its first wrong line (files/format.py's check_program_file)
        buffer = StringIO()
        console = Console(file=buffer, width=_render_width(), color_system=None, force_terminal=False, highlight=False,
                          soft_wrap=False, emoji=False, markup=False)
        console.print(Text(f"{where}: {item.case.status}: {one_line(message_text(item.case.message or ''))}"), soft_wrap=True)
        print_case(console, item.case, limit=DETAIL_VARIABLES)
        command = reproduce_line(item)
        if command:
            console.print(Text(f"  {command}"), soft_wrap=True)
        blocks.append("\n".join(line.rstrip() for line in buffer.getvalue().strip("\n").splitlines()))
    return "\n\n".join(blocks)
