"""The expression-file format (.gc): parsing lines, sampling points, checking a line (files.py reads files, runner.py runs lines).

One case per line (README "Expression files"):

    EXPR [@ POINT (; POINT)*] [=> CLAIMS]   [# comment]

A line without `@` is checked at `samples` random points drawn uniformly from [-3, 3] (rounded to
4 decimals, so the printed point reproduces exactly with `gradcheck eval --at`), where f, its gradient
and every claim are finite and no piecewise gate sits on its kink. Workers get line TEXT only.
"""

from __future__ import annotations

import math
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


def file_problem(path: str, message: str) -> Checked:
    """A result for a path that yields no lines (missing, unreadable, skipped, not text): an error case naming it."""
    case = CaseResult(expr="", source=path, point={}, value=math.nan, status="error", message=f"{path}: {message}", gradients=())
    return Checked(case, path, None)


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


def _check_step(h: float | None, points: list[dict[str, float]], line: Line, parts: LineParts) -> None:
    """--h must move every variable (as eval checks): below the float spacing at x, every difference is 0/0."""
    if h is None:
        return
    for point in points:
        for name, x in point.items():
            if x + h / 4 == x:
                raise FormatError(f"--h {h:g} is below the spacing of floats at {name}={x:g}; use a larger --h",
                                  Position(line.text, parts.points[0].offset if parts.points else parts.expr.offset, line.file, line.number, 0))


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
        _check_step(settings.options.h, points, line, parts)
    except GradcheckError as error:
        return [line_error(line, _located(error, line, 0) if error.position is None or error.position.file is None else error)]
    except Exception as problem:  # never a traceback; the rest of the file still runs
        return [line_error(line, FormatError(f"internal error, please report: {type(problem).__name__}: {problem}", Position(line.text, 0, line.file, line.number, 0)))]
    cases = _run_points(graph, points, claims, settings.options, f"{line.file}:{line.number}")
    share = (time.perf_counter() - started) / len(cases)  # the points ran as one batch: each gets an equal share
    claims_text = parts.claims.text.strip() if parts.claims else None
    return [Checked(case, line.file, line.number, None, claims_text, share) for case in cases]


# --- running many lines (files.py reads them, runner.py checks them) -------------------------------------

def collect(paths: Iterable[str]) -> Iterator[Line | Checked]:
    """Every line that holds a case, in file order, read lazily (see files.py)."""
    from .files import expand_paths, units

    return units(expand_paths(paths))


def run(units: Iterable[Line | Checked], settings: Settings, jobs: int = 1,
        on_result: Callable[[Line | Checked], None] | None = None) -> Iterator[Checked]:
    """Results in file order; with jobs > 1 lines are checked in worker processes (see runner.py)."""
    from .runner import run as run_units

    return run_units(units, settings, jobs, on_result)
