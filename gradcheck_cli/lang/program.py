"""A pasted notebook cell → statements: assignments, d-lines, functions and gate rules. Nothing is executed.

Read as Python writes it: `#` comments, blank lines, `;` between statements, lines continued inside
brackets or after `\\`. `import` and `print(...)` lines (and a bare expression, a notebook's display)
are skipped with a note. Every other statement is one of:

    NAME = EXPR | NAME += EXPR | NAME -= EXPR      forward values, d-lines (dNAME / dfdNAME), helpers
    def NAME(ARGS) = EXPR                          a gate; `d NAME/dARG = EXPR` gives its derivative rule
    def NAME(ARGS): [NAME = EXPR ...] return EXPR  a Python function (inlined where it is called)
    np.random.seed(N)                              the seed of rand/randn/randint in constant values
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import ParseError, Position
from .expr import Expr, parse
from .lexer import shorten
from .spelling import SIGNATURES, Signature

_ASSIGN = re.compile(r"([A-Za-z_]\w*)\s*(\+=|-=|=)(?!=)")
_RULE = re.compile(r"d\s*([A-Za-z_]\w*)\s*/\s*d\s*([A-Za-z_]\w*)\s*=(?!=)")
_DEF = re.compile(r"def\s+([A-Za-z_]\w*)\s*\(([^)]*)\)\s*(=|:)")
_SEED = re.compile(r"(?:np|numpy)\s*\.\s*random\s*\.\s*seed\s*\(\s*([-+]?[0-9][0-9 *+-]*)\s*\)\s*$")
_SKIPPED = re.compile(r"(import\s|from\s+\S+\s+import\s|print\s*\(|%|!)")
_UNSUPPORTED = ("for", "while", "if", "elif", "else", "class", "with", "try", "except", "return", "lambda", "assert", "global", "del")


@dataclass(frozen=True, slots=True)
class Statement:
    kind: str  # assign | rule | seed | skip
    line: int  # 1-based
    column: int  # 0-based offset of the statement in its line
    text: str  # the statement as written
    target: str = ""
    operator: str = "="  # = | += | -=
    expr: Expr | None = None
    argument: str = ""  # for rules: d NAME/dARGUMENT
    note: str = ""  # why a line was skipped
    seed: int = 0
    expr_column: int = 0  # where the right-hand side starts in its line


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    parameters: tuple[str, ...]
    body: tuple[Statement, ...]  # local assignments, in order
    result: Expr
    line: int
    gate: bool  # `def f(x) = ...`: a gate (rules may follow); `def f(x):`: an inlined Python function
    result_column: int = 0


@dataclass(frozen=True, slots=True)
class Program:
    name: str  # the file (or <stdin>) it came from
    lines: tuple[str, ...]
    statements: tuple[Statement, ...]
    functions: dict[str, Function] = field(default_factory=dict)

    def error(self, message: str, line: int, column: int) -> ParseError:
        return ParseError(message, Position(self.lines[line - 1], column, self.name, line))


@dataclass(frozen=True, slots=True)
class _Logical:
    """One statement's text (continuation lines joined by spaces) and where each piece starts."""

    text: str
    line: int
    column: int
    indent: int


def _split(lines: list[str]) -> list[_Logical]:
    """Logical statements: comments dropped, `;` split, bracket and backslash continuations joined."""
    out: list[_Logical] = []
    pending, start, depth, indent = "", (0, 0), 0, 0
    for number, raw in enumerate(lines, 1):
        code, depth_after = _code(raw, depth)
        if not pending:
            indent = len(raw) - len(raw.lstrip())
        continued = code.rstrip().endswith("\\")
        if continued:
            code = code.rstrip()[:-1]
        pieces = _semicolons(code) if not pending else [(code, 0)]
        for k, (piece, offset) in enumerate(pieces):
            if not pending:
                start = (number, offset + len(piece) - len(piece.lstrip()))
            pending = (pending + " " + piece.strip()) if pending else piece.strip()
            if k < len(pieces) - 1 or (depth_after == 0 and not continued):
                if pending:
                    out.append(_Logical(pending, start[0], start[1], indent))
                pending = ""
        depth = depth_after
    if pending:
        out.append(_Logical(pending, start[0], start[1], indent))
    return out


def _code(line: str, depth: int) -> tuple[str, int]:
    """The line without its comment, and the bracket depth after it (strings are skipped over)."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#":
            return line[:i], depth
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
    return line, depth


def _semicolons(code: str) -> list[tuple[str, int]]:
    pieces, depth, start, quote = [], 0, 0, None
    for i, char in enumerate(code):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ";" and depth == 0:
            pieces.append((code[start:i], start))
            start = i + 1
    pieces.append((code[start:], start))
    return [(p, o) for p, o in pieces if p.strip()] or [("", 0)]


_PROGRAM_LINE = re.compile(r"^\s*(def\s|import\s|from\s+\S+\s+import\s|[A-Za-z_]\w*\s*(\+|-)?=(?!=)|"
                           r"(np|numpy)\s*\.\s*random\s*\.\s*seed\s*\()", re.M)


def looks_like_program(text: str) -> bool:
    """Text with an assignment, a def or an import on some line is a program; otherwise one expression."""
    return bool(_PROGRAM_LINE.search(text))


def parse_program(text: str, name: str = "<program>", functions: dict[str, Signature] | None = None) -> Program:
    """Statements of a cell, with LINE:COL errors; `functions` are the signatures known before it (defaults: builtins)."""
    lines = text.removeprefix("\ufeff").split("\n")
    lines = [line.removesuffix("\r") for line in lines]
    program = Program(name, tuple(lines), ())
    signatures = dict(functions or SIGNATURES)
    statements: list[Statement] = []
    defined: dict[str, Function] = {}
    logical = _split(lines)
    i = 0
    while i < len(logical):
        item = logical[i]
        if item.text.startswith("def ") or item.text.startswith("def\t"):
            function, i = _function(program, logical, i, signatures)
            defined[function.name] = function
            signatures[function.name] = Signature(len(function.parameters))
            continue
        statements.append(_statement(program, item, signatures))
        i += 1
    return Program(name, tuple(lines), tuple(statements), defined)


def _expression(program: Program, text: str, line: int, column: int, signatures) -> Expr:
    try:
        return parse(text, signatures)
    except ParseError as problem:
        offset = problem.position.offset if problem.position else 0
        raise program.error(problem.message, line, column + offset) from None


def _statement(program: Program, item: _Logical, signatures) -> Statement:
    text, line, column = item.text, item.line, item.column
    if _SKIPPED.match(text):
        what = "an import" if text.startswith(("import", "from")) else "a print" if text.startswith("print") else "a notebook command"
        return Statement("skip", line, column, text, note=f"{what}: skipped")
    seed = _SEED.match(text)
    if seed:
        return Statement("seed", line, column, text, seed=_seed_value(program, seed.group(1), line, column))
    rule = _RULE.match(text)
    if rule:
        expr = _expression(program, text[rule.end():], line, column + rule.end(), signatures)
        return Statement("rule", line, column, text, rule.group(1), "=", expr, rule.group(2), expr_column=column + rule.end())
    assign = _ASSIGN.match(text)
    if assign:
        expr = _expression(program, text[assign.end():], line, column + assign.end(), signatures)
        return Statement("assign", line, column, text, assign.group(1), assign.group(2), expr, expr_column=column + assign.end())
    first = re.match(r"[A-Za-z_]\w*", text)
    if first and first.group() in _UNSUPPORTED:
        raise program.error(f"'{first.group()}' statements are not supported: a program is straight-line assignments "
                            "(NAME = EXPR, dNAME = EXPR, dNAME += EXPR)", line, column)
    if re.match(r"[A-Za-z_]\w*\s*,", text):
        raise program.error("tuple assignment is not supported: assign one name per statement", line, column)
    try:
        parse(text, signatures)
    except ParseError as problem:
        offset = problem.position.offset if problem.position else 0
        raise program.error(f"not a statement gradcheck reads: {problem.message}", line, column + offset) from None
    return Statement("skip", line, column, text, note="an expression on its own (a notebook's display): skipped")


def _seed_value(program: Program, text: str, line: int, column: int) -> int:
    try:
        value = 1
        for factor in text.replace(" ", "").split("*"):
            value *= int(factor)
        return value
    except ValueError:
        raise program.error(f"np.random.seed takes an integer, got {shorten(text)!r}", line, column) from None


def _function(program: Program, logical: list[_Logical], i: int, signatures) -> tuple[Function, int]:
    head = logical[i]
    match = _DEF.match(head.text)
    if not match:
        raise program.error("expected `def NAME(ARGS) = EXPR` or `def NAME(ARGS):`", head.line, head.column)
    name, parameters = match.group(1), tuple(p.strip() for p in match.group(2).split(",") if p.strip())
    for p in parameters:
        if not p.isidentifier():
            raise program.error(f"parameter {shorten(p)!r} is not a name (defaults and *args are not supported)", head.line, head.column)
    inner = dict(signatures)
    inner[name] = Signature(len(parameters))  # a gate's rule may call the gate itself
    rest = head.text[match.end():].strip()
    if match.group(3) == "=":
        column = head.column + match.end() + len(head.text[match.end():]) - len(head.text[match.end():].lstrip())
        result = _expression(program, rest, head.line, column, signatures)
        return Function(name, parameters, (), result, head.line, True, column), i + 1
    body: list[Statement] = []
    j = i + 1
    if rest:  # def f(x): return x*x
        return _function_result(program, name, parameters, body, rest, head, head.column + match.end(), signatures), i + 1
    while j < len(logical) and logical[j].indent > head.indent:
        item = logical[j]
        if item.text.startswith("return"):
            return _function_result(program, name, parameters, body, item.text, item, item.column, signatures), j + 1
        statement = _statement(program, item, signatures)
        if statement.kind == "assign":
            body.append(statement)
        elif statement.kind != "skip":
            raise program.error("only assignments and a final return may stand in a function", item.line, item.column)
        j += 1
    raise program.error(f"function '{name}' has no return statement", head.line, head.column)


def _function_result(program, name, parameters, body, text: str, item: _Logical, column: int, signatures) -> Function:
    returned = re.match(r"\s*return\s+", text)
    if not returned:
        raise program.error("expected `return EXPR`", item.line, column)
    result = _expression(program, text[returned.end():], item.line, column + returned.end(), signatures)
    return Function(name, parameters, tuple(body), result, item.line, False, column + returned.end())
