"""The expression-file format (.gc): finding and reading files, parsing lines, sampling points, running cases.

One case per line (README "Expression files"):

    EXPR [@ POINT (; POINT)*] [=> CLAIMS]   [# comment]

A line without `@` is checked at `samples` random points drawn uniformly from [-3, 3] (rounded to
4 decimals, so the printed point reproduces exactly with `gradcheck eval --at`), where f, its gradient
and every claim are finite and no piecewise gate sits on its kink. Workers get line TEXT only.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Iterator

import numpy as np

from .check import CaseResult, Claim, Options, check_points, parse_assignments, parse_claims, parse_point, split_top_level
from .errors import FileError, FormatError, GradcheckError, Position
from .graph import Graph, build_graph
from .sampling import SAMPLE_HIGH, SAMPLE_LOW, sample_points
from .parser import parse, parse_constant
from .verdict import worst

EXTENSION = ".gc"
VALUE_CLAIM = "f"  # `=> f=VALUE` claims the value of the expression itself


@dataclass(frozen=True, slots=True)
class Line:
    """One line of work: text only, so it pickles cheaply to a worker (Expr trees may be too deep to pickle)."""

    file: str
    number: int
    text: str
    bad_byte: int | None = None  # column (1-based) of the first byte that is not UTF-8


@dataclass(frozen=True, slots=True)
class Checked:
    """A case plus where it came from (formats need file and line apart; paths may contain ':')."""

    case: CaseResult
    file: str
    line: int | None  # None: a problem with the whole file
    column: int | None = None  # for malformed lines: where the problem is
    claims: str | None = None  # the claims text, so a failure can be reproduced with `eval --expect`
    seconds: float = 0.0
    caret: str | None = None  # for malformed lines: the line with a caret under the column


@dataclass(frozen=True, slots=True)
class Settings:
    options: Options = Options()
    samples: int = 5
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Piece:
    text: str
    offset: int  # 0-based column of text[0] in the line


@dataclass(frozen=True, slots=True)
class LineParts:
    expr: Piece
    points: tuple[Piece, ...]  # empty: random points
    claims: Piece | None


# --- finding and reading files -------------------------------------------------------------------------

def _walk(directory: str) -> list[str]:
    """Every .gc file under `directory`, sorted by path, skipping hidden directories (.git, .venv)."""
    found = []
    for root, dirs, files in os.walk(directory):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found.extend(os.path.join(root, f) for f in files if f.endswith(EXTENSION))
    return sorted(found, key=lambda path: os.path.relpath(path, directory).split(os.sep))


def file_problem(path: str, message: str) -> Checked:
    case = CaseResult(expr="", source=path, point={}, value=math.nan, status="error", message=f"{path}: {message}", gradients=())
    return Checked(case, path, None)


def expand_paths(paths: Iterable[str]) -> list[str | Checked]:
    """Files to read, in the order given (directories expanded); a Checked for a path that yields nothing."""
    items: list[str | Checked] = []
    seen: set[str] = set()
    for path in paths:
        if os.path.isdir(path):
            files = _walk(path)
            if not files:
                items.append(file_problem(path, f"no {EXTENSION} files in this directory"))
        elif os.path.exists(path):
            files = [path]
        else:
            items.append(file_problem(path, "no such file or directory"))
            continue
        for f in files:
            key = os.path.realpath(f)
            if key not in seen:
                seen.add(key)
                items.append(f)
    return items


def _decode(raw: bytes) -> tuple[str, int | None]:
    """The line as text, and the 1-based column of its first invalid byte (shown as U+FFFD)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as problem:
        return raw.decode("utf-8", errors="replace"), len(raw[:problem.start].decode("utf-8", errors="replace")) + 1


def read_lines(path: str) -> list[Line] | Checked:
    """Numbered lines of a file (split on \\n only, as editors count them), or a Checked naming the problem."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as problem:
        return file_problem(path, f"cannot read: {problem.strerror or problem}")
    if b"\0" in data:
        return file_problem(path, "not a text file (contains NUL bytes)")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 byte order mark is not part of the first line
    lines = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        text, bad = _decode(raw.removesuffix(b"\r"))
        lines.append(Line(path, number, text, bad))
    return lines


# --- one line → its parts ------------------------------------------------------------------------------

def _piece(text: str, start: int, end: int) -> Piece:
    return Piece(text[start:end], start)


def _stripped(piece: Piece) -> Piece:
    lead = len(piece.text) - len(piece.text.lstrip())
    return Piece(piece.text.strip(), piece.offset + lead)


def _format_error(message: str, line: str, offset: int) -> FormatError:
    return FormatError(message, Position(line, offset))


def split_line(text: str) -> LineParts | None:
    """`EXPR @ P1; P2 => CLAIMS # comment` → its pieces with their columns; None for blank and comment lines."""
    code = text.split("#", 1)[0]
    if not code.strip():
        return None
    arrow = code.find("=>")
    head_end = arrow if arrow >= 0 else len(code)
    claims = None
    if arrow >= 0:
        second = code.find("=>", arrow + 2)
        if second >= 0:
            raise _format_error("more than one '=>' (list every claim after the first, separated by ',')", text, second)
        if "@" in code[arrow:]:
            raise _format_error("'@' after '=>': write the point before the claims (EXPR @ POINT => CLAIMS)", text, code.index("@", arrow))
        claims = _piece(code, arrow + 2, len(code))
        if not claims.text.strip():
            raise _format_error("no claims after '=>' (write e.g. dx=0.5 or dx=2*x)", text, arrow)
    at = code.find("@", 0, head_end)
    expr = _stripped(_piece(code, 0, at if at >= 0 else head_end))
    if not expr.text:
        raise _format_error("no expression before '" + ("@" if at >= 0 else "=>") + "'", text, expr.offset)
    points: tuple[Piece, ...] = ()
    if at >= 0:
        second = code.find("@", at + 1, head_end)
        if second >= 0:
            raise _format_error("more than one '@' (separate points with ';')", text, second)
        points = _split_points(code, at + 1, head_end)
    return LineParts(expr, points, claims)


def _split_points(code: str, start: int, end: int) -> tuple[Piece, ...]:
    section = code[start:end]
    if not section.strip():
        raise _format_error("no point after '@' (write e.g. x=1, y=2)", code, start)
    pieces = []
    for piece, offset in split_top_level(section, ";"):
        if not piece.strip():
            raise _format_error("empty point (stray ';')", code, start + offset)
        pieces.append(Piece(piece, start + offset))
    return tuple(pieces)


# --- claims, including the value claim f=VALUE ----------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Claims:
    gradient: dict[str, Claim]
    value: float | None  # `f=VALUE`
    value_offset: int  # column (0-based, in the line) of the value claim, for messages


def _located(error: GradcheckError, line: Line, base: int) -> GradcheckError:
    if error.position is None:
        return type(error)(error.message, Position(line.text, base, line.file, line.number, 0))
    return error.located(line.file, line.number, base)


def read_claims(piece: Piece, variables: tuple[str, ...], line: Line) -> Claims:
    """Claims item by item, so `f=VALUE` can sit among the d<var> claims; errors keep their columns."""
    gradient: dict[str, Claim] = {}
    value, value_offset = None, 0
    for item, offset in split_top_level(piece.text):
        base = piece.offset + offset
        name = item.split("=", 1)[0].strip()
        try:
            if name == VALUE_CLAIM and VALUE_CLAIM not in variables:
                value, value_offset = _value_claim(item, value, base)
                continue
            claim = parse_claims(item, variables, source_name=None)
        except GradcheckError as error:
            raise _located(error, line, base) from None
        for var in claim:
            if var in gradient:
                raise FormatError(f"'d{var}' is claimed twice", Position(line.text, base + item.index("d"), line.file, line.number, 0))
        gradient.update(claim)
    return Claims(gradient, value, value_offset)


def _value_claim(item: str, previous: float | None, base: int) -> tuple[float, int]:
    (_, value_text, name_offset, value_offset), = parse_assignments(item, "claims", source_name=None)
    if previous is not None:
        raise FormatError(f"'{VALUE_CLAIM}' is claimed twice", Position(item, name_offset))
    try:
        value = parse_constant(value_text)
    except GradcheckError as error:
        p = error.position
        raise FormatError(f"the value claim {VALUE_CLAIM}=... must be a number: {error.message}",
                          Position(item, value_offset + (p.offset if p else 0))) from None
    return value, base + name_offset


def judge_value(case: CaseResult, claimed: float, options: Options) -> CaseResult:
    """The value claim, at the same tolerance as the gradient claims (plus a few ulps of float64 rounding)."""
    if case.status == "error":
        return case
    f = case.value
    allowance = options.tolerances.rtol * max(abs(f), abs(claimed)) + options.tolerances.atol + 4 * np.finfo(float).eps * abs(f)
    case = replace(case, expected_value=claimed)
    if math.isfinite(f) and abs(f - claimed) <= allowance:
        return case
    problem = f"claimed {VALUE_CLAIM} = {claimed:.10g} but f is {f:.10g}"
    return replace(case, status=worst([case.status, "mismatch"]), message="; ".join(filter(None, (problem, case.message))))


# --- one line → its cases -------------------------------------------------------------------------------

def line_error(line: Line, error: GradcheckError) -> Checked:
    """A malformed line: an error case whose message is `FILE:LINE:COL: message`."""
    column = error.position.column if error.position is not None else 1
    code = line.text.split("#", 1)[0].strip() or line.text.strip()  # the comment is no part of the case
    case = CaseResult(expr=code, source=f"{line.file}:{line.number}", point={}, value=math.nan,
                      status="error", message=error.headline(), gradients=())
    caret = GradcheckError(error.message, Position(line.text, column - 1)).caret()  # the whole line, not the piece
    return Checked(case, line.file, line.number, column, caret=caret)


def _points(parts: LineParts, graph: Graph, claims: Claims, settings: Settings, line: Line) -> list[dict[str, float]]:
    if parts.points:
        points = []
        for piece in parts.points:
            try:
                points.append(parse_point(piece.text, graph.variables, source_name=None))
            except GradcheckError as error:
                raise _located(error, line, piece.offset) from None
        return points
    if not graph.variables:
        return [{}]
    if claims.value is not None:
        raise FormatError(f"a value claim ({VALUE_CLAIM}=...) needs a point: write EXPR @ x=1 => {VALUE_CLAIM}=...",
                          Position(line.text, claims.value_offset, line.file, line.number, 0))
    found, drawn = sample_points(graph, claims.gradient, settings.samples, settings.seed)
    if not found:
        raise FormatError(f"no usable point: f, its gradient or a claim is not finite at any of {drawn} points "
                          f"drawn from [{SAMPLE_LOW:g}, {SAMPLE_HIGH:g}]; give one with '@'",
                          Position(line.text, parts.expr.offset, line.file, line.number, 0))
    return found


def _run_points(graph: Graph, points: list[dict[str, float]], claims: Claims, options: Options, source: str) -> list[CaseResult]:
    """All points of a line as one numpy batch (and one SymPy differentiation); a crash costs this line only."""
    try:
        cases = check_points(graph, points, graph.variables, options, claims.gradient, source)
    except Exception as problem:  # a bug must cost one line, not the rest of the file (and never a traceback)
        message = problem.message if isinstance(problem, GradcheckError) else f"internal error, please report: {type(problem).__name__}: {problem}"
        return [CaseResult(graph.expr.text, source, point, math.nan, "error", message, ()) for point in points]
    return cases if claims.value is None else [judge_value(case, claims.value, options) for case in cases]


def check_line(line: Line, settings: Settings) -> list[Checked]:
    """Every case of one line (none for blank and comment lines); never raises for anything in the text."""
    started = time.perf_counter()
    if line.bad_byte is not None:
        return [line_error(line, FileError("invalid UTF-8 (the line is shown with U+FFFD in its place)",
                                           Position(line.text, line.bad_byte - 1, line.file, line.number, 0)))]
    try:
        parts = split_line(line.text)
        if parts is None:
            return []
        try:
            expr = parse(parts.expr.text)
        except GradcheckError as error:
            raise _located(error, line, parts.expr.offset) from None
        graph = build_graph(expr)
        claims = read_claims(parts.claims, graph.variables, line) if parts.claims else Claims({}, None, 0)
        points = _points(parts, graph, claims, settings, line)
    except GradcheckError as error:
        return [line_error(line, _located(error, line, 0) if error.position is None or error.position.file is None else error)]
    except Exception as problem:  # never a traceback; the rest of the file still runs
        return [line_error(line, FormatError(f"internal error, please report: {type(problem).__name__}: {problem}", Position(line.text, 0, line.file, line.number, 0)))]
    cases = _run_points(graph, points, claims, settings.options, f"{line.file}:{line.number}")
    share = (time.perf_counter() - started) / len(cases)  # the points ran as one batch: each gets an equal share
    claims_text = parts.claims.text.strip() if parts.claims else None
    return [Checked(case, line.file, line.number, None, claims_text, share) for case in cases]


# --- running many lines --------------------------------------------------------------------------------

Unit = Line | Checked


def _check_unit(unit: Unit, settings: Settings) -> list[Checked]:
    return check_line(unit, settings) if isinstance(unit, Line) else [unit]


def _has_case(line: Line) -> bool:
    return line.bad_byte is not None or bool(line.text.split("#", 1)[0].strip())


def collect(paths: Iterable[str]) -> list[Unit]:
    """Every line that holds a case, in file order; problems with paths and files as ready-made results."""
    units: list[Unit] = []
    for item in expand_paths(paths):
        if isinstance(item, Checked):
            units.append(item)
            continue
        lines = read_lines(item)
        units.extend([lines] if isinstance(lines, Checked) else filter(_has_case, lines))
    return units


class _Worker:
    """The pool's function: holds the settings so each task only carries a Line (picklable, module-level class)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    def __call__(self, unit: Unit) -> list[Checked]:
        return _check_unit(unit, self.settings)


def _ignore_interrupt() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: no traceback per worker


def run(units: list[Unit], settings: Settings, jobs: int = 1, on_result: Callable[[Unit], None] | None = None) -> Iterator[Checked]:
    """Results in file order; with jobs > 1 lines are checked in worker processes (fork where available)."""
    if settings.options.exact:
        from . import exact  # noqa: F401  (SymPy's import time is not the first case's; forked workers inherit it)
    worker = _Worker(settings)
    if jobs <= 1 or len(units) <= 1:
        for unit in units:
            yield from worker(unit)
            if on_result:
                on_result(unit)
        return
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    chunk = max(1, min(8, len(units) // (jobs * 8)))  # small chunks: SymPy time varies a lot between lines
    with context.Pool(min(jobs, len(units)), initializer=_ignore_interrupt) as pool:
        for unit, results in zip(units, pool.imap(worker, units, chunksize=chunk)):
            yield from results
            if on_result:
                on_result(unit)
