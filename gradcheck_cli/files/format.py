"""The expression-file format (.gc): parsing lines, sampling points, checking a line (discovery.py reads files,
runner.py runs lines).

One case per line (docs/files-and-ci.md):

    EXPR [@ POINT (; POINT)*] [=> CLAIMS]   [# comment]

A line without `@` is checked at `samples` random points drawn uniformly from [-3, 3] (rounded to
4 decimals, so the printed point reproduces exactly with `gradcheck eval --at`), where f, its gradient
and every claim are finite and no piecewise gate sits on its kink. Workers get line TEXT only.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, replace

from ..errors import FileError, FormatError, GradcheckError, Position
from ..expression.check import CaseColumns, Judged, Options, finish, judge_together, prepare
from ..inputs.claims import VALUE_CLAIM, Claim, parse_claims
from ..inputs.sampling import SAMPLE_HIGH, SAMPLE_LOW, sample_points
from ..ir import Graph
from ..lang.values import split_top_level
from ..results import CaseResult, FileCase

EXTENSION = ".gc"
PROGRAM_EXTENSION = ".gc.py"  # a program file in a directory walk (a file named explicitly is read by its content)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of work: text only, so it pickles cheaply to a worker (Expr trees may be too deep to pickle)."""

    file: str
    number: int
    text: str
    bad_byte: int | None = None  # column (1-based) of the first byte that is not UTF-8
    kind: str = "line"  # line: one expression line; program: a whole program file (text is the file)
    definitions: tuple[tuple[int, str], ...] = ()  # the file's gate definitions above this line: (line, text)


@dataclass(frozen=True, slots=True)
class Settings:
    """What every line of a `check` run shares: the check's options, random points and seed."""

    options: Options = Options()
    samples: int = 5
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of a line, with where it starts (for carets)."""

    text: str
    offset: int  # 0-based column of text[0] in the line


@dataclass(frozen=True, slots=True)
class LineParts:
    """A .gc line split at `@` and `=>`: the expression, its points and its claims."""

    expr: Piece
    points: tuple[Piece, ...]  # empty: random points
    claims: Piece | None


def file_problem(path: str, message: str) -> FileCase:
    """A result for a path that yields no lines (missing, unreadable, skipped, not text): an error case naming it."""
    case = CaseResult(expr="", source=path, point={}, value=math.nan, status="error", message=f"{path}: {message}", gradients=())
    return FileCase(case, path, None)


# --- one line → its parts ------------------------------------------------------------------------------

def _piece(text: str, start: int, end: int) -> Piece:
    return Piece(text[start:end], start)


def _stripped(piece: Piece) -> Piece:
    lead = len(piece.text) - len(piece.text.lstrip())
    return Piece(piece.text.strip(), piece.offset + lead)


def _format_error(message: str, line: str, offset: int) -> FormatError:
    return FormatError(message, Position(line, offset))


_POINT_START = re.compile(r"\s*(@|[A-Za-z_]\w*\s*~?=(?!=)|(np|numpy)\s*\.\s*random\s*\.\s*seed\s*\()")  # what starts a point


def point_separators(code: str, end: int) -> list[int]:
    """Offsets of the top-level '@'s that start a point: an '@' followed by `NAME =` (or `@FILE`); any other '@' is @."""
    found, depth = [], 0
    for i, char in enumerate(code[:end]):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
        elif char == "@" and depth == 0 and not (found and i == found[-1] + 1) and (
                _POINT_START.match(code, i + 1) or not code[i + 1:end].strip()):  # `x*y @` alone: a point left out
            found.append(i)
    return found


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
        late = point_separators(code[arrow:], len(code) - arrow)
        if late:
            raise _format_error("'@' after '=>': write the point before the claims (EXPR @ POINT => CLAIMS)", text, arrow + late[0])
        claims = _piece(code, arrow + 2, len(code))
        if not claims.text.strip():
            raise _format_error("no claims after '=>' (write e.g. dx=0.5 or dx=2*x)", text, arrow)
    separators = point_separators(code, head_end)
    at = separators[0] if separators else -1
    expr = _stripped(_piece(code, 0, at if at >= 0 else head_end))
    if not expr.text:
        raise _format_error("no expression before '" + ("@" if at >= 0 else "=>") + "'", text, expr.offset)
    points: tuple[Piece, ...] = ()
    if at >= 0:
        if len(separators) > 1:
            raise _format_error("more than one '@' before a point (separate points with ';')", text, separators[1])
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


# --- one line → its cases -------------------------------------------------------------------------------

def _located(error: GradcheckError, line: Line, base: int) -> GradcheckError:
    if error.position is None:
        return type(error)(error.message, Position(line.text, base, line.file, line.number, 0))
    return error.located(line.file, line.number, base)


def line_error(line: Line, error: GradcheckError) -> FileCase:
    """A malformed line: an error case whose message is `FILE:LINE:COL: message`."""
    column = error.position.column if error.position is not None else 1
    code = line.text.split("#", 1)[0].strip() or line.text.strip()  # the comment is no part of the case
    case = CaseResult(expr=code, source=f"{line.file}:{line.number}", point={}, value=math.nan,
                      status="error", message=error.headline(), gradients=())
    caret = GradcheckError(error.message, Position(line.text, column - 1)).caret()  # the whole line, not the piece
    return FileCase(case, line.file, line.number, column, caret=caret)


def _registry(line: Line):
    """(registry, gates): the built-in ops and the gates the file defined above this line (`def g(t) = ...` with
    `d g/dt = ...`). A gate without a rule is an error on the lines that call it, not on every line below it."""
    from ..ops import default_registry

    registry = default_registry()
    if not line.definitions:
        return registry, {}
    from ..eval.user_gates import user_gates
    from ..lang.program import parse_program

    text = "\n".join(definition for _, definition in line.definitions)
    try:
        program = parse_program(text, line.file)
        rules: dict = {}
        for statement in program.statements:
            if statement.kind == "rule":
                rules.setdefault(statement.target, {})[statement.argument] = statement.expr
            elif statement.kind != "skip":
                raise GradcheckError("only gate definitions (def NAME(ARGS) = EXPR, d NAME/dARG = EXPR) may stand here")
        missing = [name for name in program.functions if name not in rules]
        called = [name for name in missing if re.search(rf"\b{re.escape(name)}\s*\(", line.text)]
        if called:
            raise GradcheckError(f"gate '{called[0]}' has no derivative rule: add `d {called[0]}/d{program.functions[called[0]].parameters[0]} = ...`")
        gates = {name: f for name, f in program.functions.items() if name in rules}
        return user_gates(gates, rules, registry), gates
    except GradcheckError as error:
        at = (error.position.line - 1) if error.position is not None and error.position.line else 0
        number = line.definitions[min(at, len(line.definitions) - 1)][0]
        raise FormatError(f"in the gate definitions above (line {number}): {error.message}",
                          Position(line.text, 0, line.file, line.number, 0)) from None


def _points(parts: LineParts, expr, registry, claims: dict[str, Claim], settings: Settings, line: Line):
    from ..inputs.points import PointContext, read_point
    from ..ir import build_graph

    if not parts.points:
        graph = build_graph(expr, registry, {})
        if not graph.variables:
            return graph, [{}]
        if VALUE_CLAIM in claims:
            where = parts.claims.offset + re.search(rf"\b{VALUE_CLAIM}\s*~?=", parts.claims.text).start()
            raise FormatError(f"a value claim ({VALUE_CLAIM}=...) needs a point: write EXPR @ x=1 => {VALUE_CLAIM}=...",
                              Position(line.text, where, line.file, line.number, 0))
        found, drawn = sample_points(graph, claims, settings.samples, settings.seed)
        if not found:
            raise FormatError(f"no usable point: f, its gradient or a claim is not finite at any of {drawn} points "
                              f"drawn from [{SAMPLE_LOW:g}, {SAMPLE_HIGH:g}]; give one with '@'",
                              Position(line.text, parts.expr.offset, line.file, line.number, 0))
        return graph, found
    context = PointContext(registry, settings.seed)
    points, shapes = [], None
    for piece in parts.points:
        try:
            point = read_point(piece.text, expr.variables, context, None, shapes)
        except GradcheckError as error:
            raise _located(error, line, piece.offset) from None
        shapes = shapes or {v: point[v].shape for v in expr.variables}
        points.append(point)
    return build_graph(expr, registry, shapes or {}), points


def _check_step(h: float | None, points: list[dict], line: Line, parts: LineParts) -> None:
    """--h must move every variable (as eval checks): below the float spacing at x, every difference is 0/0."""
    import numpy as np

    if h is None:
        return
    for point in points:
        for name, x in point.items():
            stuck = np.asarray(x) + h / 4 == np.asarray(x)
            if np.any(stuck):
                value = float(np.asarray(x)[stuck].reshape(-1)[0]) if np.ndim(x) else float(x)
                raise FormatError(f"--h {h:g} is below the spacing of floats at {name}={value:g}; use a larger --h",
                                  Position(line.text, parts.points[0].offset if parts.points else parts.expr.offset, line.file, line.number, 0))


def _failed(graph: Graph, points: list[dict], source: str, problem: Exception) -> list[CaseResult]:
    """A crash costs this line only: each of its points gets an error case."""
    message = problem.message if isinstance(problem, GradcheckError) else f"internal error, please report: {type(problem).__name__}: {problem}"
    return [CaseResult(graph.exprs[-1].text, source, point, math.nan, "error", message, ()) for point in points]


def _parse_line(line: Line, settings: Settings):
    """(graph, points, claims, parts, gate definitions for the oracle) of an expression line, or a GradcheckError."""
    from ..lang.expr import parse

    parts = split_line(line.text)
    if parts is None:
        return None
    registry, functions = _registry(line)
    try:
        expr = parse(parts.expr.text, registry.signatures)
    except GradcheckError as error:
        raise _located(error, line, parts.expr.offset) from None
    claims = {}
    if parts.claims:
        try:
            claims = parse_claims(parts.claims.text, expr.variables, None, registry.signatures)
        except GradcheckError as error:
            raise _located(error, line, parts.claims.offset) from None
    graph, points = _points(parts, expr, registry, claims, settings, line)
    _check_step(settings.options.h, points, line, parts)
    definitions = None
    functions = {n: f for n, f in functions.items() if any(node.op == n for node in expr.nodes)}  # the gates it calls
    if functions:
        from ..oracle.lower import Definition

        definitions = (expr, {n: Definition(f.parameters, f.result) for n, f in functions.items()})
    return graph, points, claims, parts, definitions


def check_line(line: Line, settings: Settings) -> list[FileCase]:
    """Every case of one line (none for blank and comment lines); never raises for anything in the text."""
    return check_lines([line], settings)[0]


@dataclass(frozen=True, slots=True)
class _Staged:
    """An expression line whose columns are computed and whose verdicts wait for the judge."""

    line: Line
    parts: LineParts
    prepared: CaseColumns | None  # None: its points had no case
    program: tuple | None
    seconds: float  # spent on this line so far


def check_lines(lines: list[Line], settings: Settings) -> list[list[FileCase]]:
    """Every case of each line, in order; the lines' difference quotients and scalar gradients are taken and judged
    together (judge_together: their cost is per call), and a crash or bad text costs its own line only."""
    done: list[list[FileCase] | _Staged] = []
    for line in lines:
        started = time.perf_counter()
        done.append(_stage(line, settings))
        if isinstance(done[-1], _Staged):
            done[-1] = replace(done[-1], seconds=time.perf_counter() - started)
    staged = [item for item in done if isinstance(item, _Staged) and item.prepared is not None]
    started = time.perf_counter()
    try:
        verdicts: list[Judged | None] = list(judge_together([item.prepared for item in staged]))
    except Exception:  # noqa: BLE001 -- each line is then judged on its own, where a crash costs that line only
        verdicts = [None] * len(staged)
    shared = (time.perf_counter() - started) / max(1, len(staged))
    judged = {id(item): verdict for item, verdict in zip(staged, verdicts)}
    return [item if isinstance(item, list) else _finished(item, judged.get(id(item)), shared) for item in done]


def _stage(line: Line, settings: Settings) -> list[FileCase] | _Staged:
    if line.kind == "program":
        return check_program_file(line, settings)
    if line.bad_byte is not None:
        return [line_error(line, FileError("invalid UTF-8 (the line is shown with U+FFFD in its place)",
                                           Position(line.text, line.bad_byte - 1, line.file, line.number, 0)))]
    try:
        parsed = _parse_line(line, settings)
        if parsed is None:
            return []
        graph, points, claims, parts, program = parsed
    except GradcheckError as error:
        return [line_error(line, _located(error, line, 0) if error.position is None or error.position.file is None else error)]
    except Exception as problem:  # never a traceback; the rest of the file still runs
        return [line_error(line, FormatError(f"internal error, please report: {type(problem).__name__}: {problem}", Position(line.text, 0, line.file, line.number, 0)))]
    source = f"{line.file}:{line.number}"
    try:  # all points of a line as one numpy batch (and one oracle lowering)
        prepared = prepare(graph, points, graph.variables, settings.options, claims, source, program)
    except Exception as problem:  # a bug must cost one line, not the rest of the file (and never a traceback)
        return _file_cases(line, parts, program, _failed(graph, points, source, problem), 0.0)
    return _Staged(line, parts, prepared, program, 0.0)


def _finished(item: _Staged, judged: Judged | None, shared: float) -> list[FileCase]:
    started = time.perf_counter()
    prepared = item.prepared
    if prepared is None:
        return []
    try:
        cases = finish(prepared, judged if judged is not None else judge_together([prepared])[0])
    except Exception as problem:  # noqa: BLE001
        cases = _failed(prepared.graph, prepared.points, prepared.source, problem)
    return _file_cases(item.line, item.parts, item.program, cases, item.seconds + shared + time.perf_counter() - started)


def _file_cases(line: Line, parts: LineParts, program, cases: list[CaseResult], seconds: float) -> list[FileCase]:
    share = seconds / max(1, len(cases))  # the points ran as one batch: each gets an equal share
    claims_text = parts.claims.text.strip() if parts.claims else None
    gates = tuple(sorted(program[1])) if program else ()
    return [FileCase(case, line.file, line.number, None, claims_text, share, gates=gates) for case in cases]


def check_program_file(line: Line, settings: Settings) -> list[FileCase]:
    """A program file: one case, its lines judged; the first wrong line is the case's line in reports."""
    from ..inputs.points import PointContext
    from ..ops import default_registry
    from ..programs.check import check_program
    from ..session import read_cell

    started = time.perf_counter()
    try:
        context = PointContext(default_registry(), settings.seed)
        program = read_cell(line.text, line.file, context)
        case = check_program(program, context, settings.options)
    except GradcheckError as error:
        column = error.position.column if error.position is not None else 1
        number = error.position.line if error.position is not None and error.position.file else 1
        case = CaseResult(expr=line.file, source=line.file, point={}, value=math.nan, status="error",
                          message=error.headline(), gradients=())
        return [FileCase(case, line.file, number, column, caret=error.caret() or None)]
    except Exception as problem:  # noqa: BLE001 -- a bug costs this file only
        case = CaseResult(line.file, line.file, {}, math.nan, "error", f"internal error, please report: {type(problem).__name__}: {problem}", ())
        return [FileCase(case, line.file, 1)]
    first = case.first_wrong_line
    case = replace(case, source=f"{line.file}:{first}" if first else line.file)  # reports point at the first wrong line
    return [FileCase(case, line.file, first or 1, None, None, time.perf_counter() - started)]
