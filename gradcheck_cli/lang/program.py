"""A pasted notebook cell → statements: assignments, d-lines, functions and gate rules. Nothing is executed.

Read as Python writes it: `#` comments, blank lines, `;` between statements, lines continued inside
brackets, after `\\` or inside triple-quoted strings. What a cell holds besides its computation is
skipped with a note: `import`, `print(...)` and Python 2's `print x`, `assert`, plots (`plt.plot(...)`,
`fig, ax = plt.subplots()`), a bare expression (a notebook's display). Every other statement is one of:

    NAME = EXPR | NAME += EXPR | NAME -= EXPR | NAME *= EXPR | NAME /= EXPR
    a, b = EXPR, EXPR                              one assignment per name
    def NAME(ARGS) = EXPR                          a gate; `d NAME/dARG = EXPR` gives its derivative rule
    def NAME(ARGS): [NAME = EXPR ...] return EXPR  a Python function (inlined where it is called)
    np.random.seed(N)                              the seed of the random values after it

What cannot be read is kept as a statement that says so (kind "unread" for an assignment, "block" for a
`for`/`if`/`while`/`with`/`try`/`class` block); the plan (programs/plan.py) decides whether it matters: a
line whose value nothing reads is skipped with a note, anything else is an error saying what to write.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Mapping

from ..errors import ParseError, Position
from .expr import COMPARISONS, Expr, parse
from .lexer import shorten, split_outside
from .spelling import SIGNATURES, Signature

_ASSIGN = re.compile(r"([A-Za-z_]\w*)\s*(\+=|-=|\*=|/=|=)(?!=)")
_TUPLE = re.compile(r"([A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)+)\s*,?\s*=(?!=)")
_ELEMENT = re.compile(r"([A-Za-z_]\w*)\s*(\[.*\]|\.\s*[A-Za-z_]\w*)\s*(\+=|-=|\*=|/=|=)(?!=)")  # [a <= 0] too
_RULE = re.compile(r"d\s*([A-Za-z_]\w*)\s*/\s*d\s*([A-Za-z_]\w*)\s*=(?!=)")
_DEF = re.compile(r"def\s+([A-Za-z_]\w*)\s*\(([^)]*)\)\s*(=|:)")
_SEED = re.compile(r"(?:np|numpy)\s*\.\s*random\s*\.\s*seed\s*\(\s*([-+]?[0-9][0-9 *+-]*)\s*\)\s*$")
_PLOT = re.compile(r"(?:[\w\s,]+=\s*)?(?:plt|pylab|sns|matplotlib)\s*\.|(?:ax|axs|axes|fig)\w*\s*[.\[]")
_PRINT = re.compile(r"print\b(?!\s*[+\-*/]?=)")
_SKIPPED = (
    (re.compile(r"(import\s|from\s+\S+\s+import\s)"), "an import"),
    (re.compile(r"(%|!)"), "a notebook command"),
    (re.compile(r"assert\b"), "an assert"),
    (re.compile(r"(?:np|numpy)\s*\.\s*(?:set_printoptions|testing\s*\.)|display\s*\(|help\s*\("), "a display"),
    (re.compile(r"[rbufRBUF]{0,2}('''|\"\"\"|'|\")"), "a string on its own"),
)
_BLOCK_FIX = {
    "for": "a loop: gradcheck reads straight-line code: unroll it (one assignment per step)",
    "while": "a loop: gradcheck reads straight-line code: unroll it (one assignment per step)",
    "if": "a branch: gradcheck reads straight-line code: keep the lines of the branch your point takes, "
          "or write the choice with max, min, relu or abs",
    "with": "a 'with' block: write the lines inside it without the 'with'",
    "try": "a 'try' block: write the lines inside it without the 'try'",
    "class": "a class: gradcheck reads straight-line code: write its forward pass as assignments",
}
_FUNCTION_FIX = "or check your functions with `gradcheck function FILE.py:f --grad FILE.py:g`"
_CONTINUATIONS = ("elif", "else", "except", "finally")
_UNSUPPORTED = ("return", "lambda", "global", "nonlocal", "del", "yield", "raise", "pass", "break", "continue")


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of a pasted program: its kind, where it is, and what it assigns."""

    kind: str  # assign | rule | seed | skip | unread | block
    line: int  # 1-based
    column: int  # 0-based offset of the statement in its line
    text: str  # the statement as written
    target: str = ""  # for blocks: the keyword
    operator: str = "="  # = | += | -=  (x *= e and x /= e are read as x = x * (e), x = x / (e))
    expr: Expr | None = None
    argument: str = ""  # for rules: d NAME/dARGUMENT
    note: str = ""  # why a line was skipped; for unread and block: what is wrong and what to write instead
    seed: int = 0
    expr_column: int = 0  # where the right-hand side starts in its line (unread: where the problem is)
    whole: Expr | None = None  # x += e as x + (e): the new value of a forward name (offsets from `column`)
    targets: tuple[str, ...] = ()  # unread: every name the statement assigns
    end_line: int = 0  # block: its last line
    integers: tuple[tuple[str, int], ...] = ()  # names holding integers before it (N = 5): its literal shapes may use them


@dataclass(frozen=True, slots=True)
class Function:
    """A `def` of a pasted program: its parameters and body."""

    name: str
    parameters: tuple[str, ...]
    body: tuple[Statement, ...]  # local assignments, in order
    result: Expr
    line: int  # the line of the result (the `return` of a Python function)
    gate: bool  # `def f(x) = ...`: a gate (rules may follow); `def f(x):`: an inlined Python function
    result_column: int = 0
    defined: int = 0  # the line of its `def`


@dataclass(frozen=True, slots=True)
class Program:
    """A pasted program: its lines, statements and functions."""

    name: str  # the file (or <stdin>) it came from
    lines: tuple[str, ...]
    statements: tuple[Statement, ...]
    functions: dict[str, Function] = field(default_factory=dict)
    unreadable: dict[str, ParseError] = field(default_factory=dict)  # Python functions gradcheck cannot inline

    def error(self, message: str, line: int, column: int) -> ParseError:
        return ParseError(message, Position(self.lines[line - 1], column, self.name, line))


@dataclass(frozen=True, slots=True)
class _Logical:
    """One statement's text (continuation lines joined by spaces) and where each piece starts."""

    text: str
    line: int
    column: int
    indent: int
    last: int = 0  # the line it ends on


def _split(lines: list[str]) -> list[_Logical]:
    """Logical statements: comments dropped, `;` split, bracket, backslash and triple-quote continuations joined."""
    out: list[_Logical] = []
    pending, start, depth, indent, quote = "", (0, 0), 0, 0, None
    for number, raw in enumerate(lines, 1):
        code, depth_after, quote_after = _code(raw, depth, quote)
        if not pending:
            indent = len(raw) - len(raw.lstrip())
        continued = code.rstrip().endswith("\\") and quote_after is None
        if continued:
            code = code.rstrip()[:-1]
        pieces = _semicolons(code) if not pending else [(code, 0)]
        for k, (piece, offset) in enumerate(pieces):
            if not pending:
                start = (number, offset + len(piece) - len(piece.lstrip()))
            pending = (pending + " " + piece.strip()) if pending else piece.strip()
            if k < len(pieces) - 1 or (depth_after == 0 and not continued and quote_after is None):
                if pending:
                    out.append(_Logical(pending, start[0], start[1], indent, number))
                pending = ""
        depth, quote = depth_after, quote_after
    if pending:
        out.append(_Logical(pending, start[0], start[1], indent, len(lines)))
    return out


def _code(line: str, depth: int, quote: str | None) -> tuple[str, int, str | None]:
    """The line without its comment, the bracket depth after it, and the triple quote still open after it."""
    i = 0
    while i < len(line):
        char = line[i]
        if quote:
            if line.startswith(quote, i):
                i += len(quote) - 1
                quote = None
        elif line.startswith(('"""', "'''"), i):
            quote = line[i:i + 3]
            i += 2
        elif char in "'\"":
            end = line.find(char, i + 1)
            i = len(line) if end < 0 else end
        elif char == "#":
            return line[:i], depth, None
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth = max(0, depth - 1)
        i += 1
    return line, depth, quote


def _semicolons(code: str) -> list[tuple[str, int]]:
    pieces, _ = split_outside(code, lambda char: char == ";")
    return [(p, o) for p, o in pieces if p.strip()] or [("", 0)]


_PROGRAM_LINE = re.compile(
    r"^\s*(?:def\s|import\s|from\s+\S+\s+import\s|print\b|[A-Za-z_]\w*(?:\s*,\s*[A-Za-z_]\w*)*\s*,?\s*[-+*/]?=(?!=)|"
    r"(?:np|numpy)\s*\.\s*random\s*\.\s*seed\s*\(|(?:for|while|if|with|try|class)\b[^\n]*:\s*$)", re.M)


def looks_like_program(text: str) -> bool:
    """The one test of program against expression, for every entry (eval, check(), the API): text with an
    assignment, a def, an import, a print or a block on some line is a program; otherwise one expression."""
    return bool(_PROGRAM_LINE.search(text))


def parse_program(text: str, name: str = "<program>", functions: dict[str, Signature] | None = None) -> Program:
    """Statements of a cell, with LINE:COL errors; `functions` are the signatures known before it (defaults: builtins)."""
    lines = text.removeprefix("\ufeff").split("\n")
    lines = [line.removesuffix("\r") for line in lines]
    program = Program(name, tuple(lines), ())
    signatures = dict(functions or SIGNATURES)
    integers: dict[str, int] = {}  # names assigned an integer so far (N = 5, M = N*K): literal shapes may use them
    statements: list[Statement] = []
    defined: dict[str, Function] = {}
    unreadable: dict[str, ParseError] = {}
    logical = _split(lines)
    i = 0
    while i < len(logical):
        item = logical[i]
        if re.match(r"def\s", item.text):
            function, problem, i = _function(program, logical, i, signatures)
            defined.pop(function, None), unreadable.pop(function, None)
            if isinstance(problem, ParseError):
                unreadable[function] = problem
            else:
                defined[function] = problem
            signatures[function] = Signature(len(problem.parameters) if isinstance(problem, Function) else -1)
            continue
        keyword = re.match(r"(for|while|if|with|try|class)\b", item.text)
        if keyword:
            end = _block_end(logical, i)
            statements.append(Statement("block", item.line, item.column, item.text, keyword.group(1),
                                        note=_BLOCK_FIX[keyword.group(1)], end_line=logical[end - 1].last))
            i = end
            continue
        for statement in _statements(program, item, signatures, integers):
            statements.append(replace(statement, integers=tuple(integers.items())) if integers else statement)
            if statement.kind in ("assign", "unread"):  # what the name holds from here on
                value = _integer_value(statement.expr, integers) if statement.kind == "assign" and statement.operator == "=" else None
                if value is None:
                    integers.pop(statement.target, None)
                else:
                    integers[statement.target] = value
        i += 1
    return Program(name, tuple(lines), tuple(statements), defined, unreadable)


def _block_end(logical: list[_Logical], i: int) -> int:
    """The index after a block: its indented body, and the elif/else/except/finally parts that follow it."""
    head = logical[i]
    j = i + 1
    while j < len(logical):
        item = logical[j]
        if item.indent > head.indent or (item.indent == head.indent and re.match(rf"({'|'.join(_CONTINUATIONS)})\b", item.text)):
            j += 1
        else:
            break
    return j


def block_error(program: Program, statement: Statement) -> ParseError:
    """What to write instead of a `for`/`if`/`class`... block, with the caret on its keyword."""
    return program.error(f"'{statement.target}' (lines {statement.line}-{statement.end_line}) is {statement.note}, "
                         f"{_FUNCTION_FIX}", statement.line, statement.column)


def _expression(program: Program, text: str, line: int, column: int, signatures,
                integers: Mapping[str, int] | None = None) -> Expr:
    try:
        return parse(text, signatures, integers)
    except ParseError as problem:
        offset = problem.position.offset if problem.position else 0
        raise program.error(problem.message, line, column + offset) from None


_INTEGER_OPS = {"add": lambda a, b: a + b, "sub": lambda a, b: a - b, "mul": lambda a, b: a * b}


def _integer_value(expr: Expr | None, integers: Mapping[str, int]) -> int | None:
    """The integer an assignment gives when it is written with integers, names holding integers, + - * and unary
    minus (N = 5, num_examples = N*K), else None."""
    if expr is None or any(c in expr.text for c in ".eE"):
        return None
    values: list[int] = []
    for node in expr.nodes:  # post-order: a node's arguments come before it
        if node.op == "num" and not node.name and float(node.value).is_integer():
            values.append(int(node.value))
        elif node.op == "var" and node.name in integers:
            values.append(integers[node.name])
        elif node.op in _INTEGER_OPS and len(node.args) == 2:
            values.append(_INTEGER_OPS[node.op](values[node.args[0]], values[node.args[1]]))
        elif node.op == "neg" and len(node.args) == 1:
            values.append(-values[node.args[0]])
        else:
            return None
    return values[-1] if values and abs(values[-1]) <= 2 ** 31 else None


def _statements(program: Program, item: _Logical, signatures, integers: Mapping[str, int] | None = None) -> list[Statement]:
    """One logical line: usually one statement; `a, b = 1, 2` is two."""
    text, line, column = item.text, item.line, item.column
    for pattern, what in _SKIPPED:
        if pattern.match(text):
            return [Statement("skip", line, column, text, note=f"{what}: skipped")]
    if _PRINT.match(text):
        py2 = not re.match(r"print\s*\(", text)
        return [Statement("skip", line, column, text, note="a Python 2 print: skipped" if py2 else "a print: skipped")]
    if _PLOT.match(text):
        return [Statement("skip", line, column, text, note="a plot: skipped")]
    seed = _SEED.match(text)
    if seed is None and re.match(r"(?:np|numpy)\s*\.\s*random\s*\.\s*seed\b", text):
        raise program.error("np.random.seed takes an integer written out (np.random.seed(42))", line, column)
    if seed:
        return [Statement("seed", line, column, text, seed=_seed_value(program, seed.group(1), line, column))]
    rule = _RULE.match(text)
    if rule:
        expr = _expression(program, text[rule.end():], line, column + rule.end(), signatures)
        return [Statement("rule", line, column, text, rule.group(1), "=", expr, rule.group(2), expr_column=column + rule.end())]
    assign = _ASSIGN.match(text)
    if assign:
        return [_assignment(program, item, assign, signatures, integers)]
    tuple_assign = _TUPLE.match(text)
    if tuple_assign:
        return _tuple_assignment(program, item, tuple_assign, signatures, integers)
    return [_other(program, item, signatures)]


def _assignment(program: Program, item: _Logical, assign: re.Match, signatures,
                integers: Mapping[str, int] | None = None) -> Statement:
    text, line, column = item.text, item.line, item.column
    target, operator = assign.group(1), assign.group(2)
    rhs_column = column + assign.end()
    try:
        expr = parse(text[assign.end():], signatures, integers)
    except ParseError as problem:
        offset = problem.position.offset if problem.position else 0
        return Statement("unread", line, column, text, target, operator, expr_column=rhs_column + offset,
                         note=_unread_reason(target, text[assign.end():], problem.message), targets=(target,))
    if operator == "=":
        return Statement("assign", line, column, text, target, "=", expr, expr_column=rhs_column)
    # `x op= e` as `x op (e)`, offsets kept: the '=' becomes '(' and ')' closes the line
    equals = assign.start(2) + 1
    whole = parse(text[:equals] + "(" + text[equals + 1:] + ")", signatures, integers)
    if operator in ("*=", "/="):
        return Statement("assign", line, column, text, target, "=", whole, expr_column=column)
    return Statement("assign", line, column, text, target, operator, expr, expr_column=rhs_column, whole=whole)


def _unread_reason(target: str, rhs: str, message: str) -> str:
    if re.search(r"\bif\b.*\belse\b", rhs):
        return f"a conditional expression (A if C else B) is not read: write the value it gives (e.g. {target} = -2.0)"
    if re.search(r"\blambda\b", rhs):
        return "a lambda is not read: write def NAME(ARGS): return EXPR"
    return message


def _tuple_assignment(program: Program, item: _Logical, match: re.Match, signatures,
                      integers: Mapping[str, int] | None = None) -> list[Statement]:
    """`x, y = 3, -4` as `x = 3` and `y = -4` (when no value reads a name assigned before it in the tuple)."""
    text, line, column = item.text, item.line, item.column
    targets = tuple(t.strip() for t in match.group(1).split(","))
    rhs, rhs_start = text[match.end():], match.end()
    values = _top_level_commas(rhs)
    if len(values) != len(targets):
        return [Statement("unread", line, column, text, targets[0], expr_column=column, targets=targets,
                          note=f"assigns {len(targets)} names from one value (a tuple from a call is not read): "
                               f"write one assignment per name ({targets[0]} = ...)")]
    out = []
    for k, (target, (piece, offset)) in enumerate(zip(targets, values)):
        at = column + rhs_start + offset + len(piece) - len(piece.lstrip())
        expr = _expression(program, piece, line, column + rhs_start + offset, signatures, integers)
        swapped = [t for t in targets[:k] if t in expr.variables]
        if swapped:
            raise program.error(f"'{target}' is given a value that reads {swapped[0]}, assigned earlier in the same tuple "
                                f"(Python reads the old value): write it with a temporary name", line, at)
        out.append(Statement("assign", line, column, f"{target} = {piece.strip()}", target, "=", expr,
                             expr_column=column + rhs_start + offset))
    return out


def _top_level_commas(text: str) -> list[tuple[str, int]]:
    pieces, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            pieces.append((text[start:i], start))
            start = i + 1
    if text[start:].strip():
        pieces.append((text[start:], start))
    return pieces


# NAME[COND] op= V as a whole-value assignment: where COND holds (1), the new value; elsewhere (0), NAME as it was
_MASKED = {"=": "{n} * (1 - ({c})) + ({v}) * ({c})", "+=": "{n} + ({v}) * ({c})", "-=": "{n} - ({v}) * ({c})",
           "*=": "{n} * (1 - ({c})) + {n} * ({v}) * ({c})", "/=": "{n} * (1 - ({c})) + {n} / ({v}) * ({c})"}


def _masked(program: Program, item: _Logical, element: re.Match, signatures) -> Statement | None:
    """`dhidden[hidden_layer <= 0] = 0` (cs231n's relu backward, Karpathy's case study) as the whole value it makes:
    `dhidden * (1 - (hidden_layer <= 0)) + (0) * (hidden_layer <= 0)`, when the subscript is a comparison. None for
    another subscript (an index: an element is not a whole value)."""
    text, line, column = item.text, item.line, item.column
    name, operator = element.group(1), element.group(3)
    condition_start = element.start(2) + 1
    condition = text[condition_start:element.end(2) - 1]
    try:
        parsed = parse(condition, signatures)
    except ParseError:
        return None
    if not parsed.nodes or parsed.nodes[-1].op not in COMPARISONS:
        return None
    value_text = text[element.end():]
    _expression(program, value_text, line, column + element.end(), signatures)  # its own mistakes, at its own column
    whole = _MASKED[operator].format(n=name, c=condition.strip(), v=value_text.strip())
    return Statement("assign", line, column, text, name, "=", _expression(program, whole, line, column, signatures),
                     expr_column=column + element.end())


def _other(program: Program, item: _Logical, signatures) -> Statement:
    """A statement that is not an assignment: a bare expression (skipped), or something gradcheck does not read."""
    text, line, column = item.text, item.line, item.column
    element = _ELEMENT.match(text)
    masked = _masked(program, item, element, signatures) if element and element.group(2).startswith("[") else None
    if masked is not None:
        return masked
    if element:
        what = "an element" if element.group(2).startswith("[") else "an attribute"
        raise program.error(f"assignment to {what} ({shorten(text[:element.end()].strip())} ...) is not read: gradcheck "
                            f"reads whole values: build {element.group(1)} in one assignment (e.g. "
                            f"{element.group(1)} = [a, b]), {_FUNCTION_FIX}", line, column)
    first = re.match(r"[A-Za-z_]\w*", text)
    if first and first.group() in (*_UNSUPPORTED, *_CONTINUATIONS):
        raise program.error(f"'{first.group()}' is not read here: a cell is straight-line assignments (NAME = EXPR, "
                            f"dNAME = EXPR, dNAME += EXPR) and def functions", line, column)
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


def _function(program: Program, logical: list[_Logical], i: int, signatures) -> tuple[str, Function | ParseError, int]:
    """(name, the function or why it cannot be inlined, the index after it). A gate (`def g(t) = EXPR`) must read;
    a Python function that does not is an error only where the cell calls it (see programs/plan.py)."""
    head = logical[i]
    match = _DEF.match(head.text)
    end = _block_end(logical, i)
    if not match:
        name = re.match(r"def\s+([A-Za-z_]\w*)", head.text)
        if name is None:
            raise program.error("expected `def NAME(ARGS) = EXPR` or `def NAME(ARGS):`", head.line, head.column)
        return name.group(1), program.error("expected `def NAME(ARGS):`", head.line, head.column), end
    name, parameters = match.group(1), tuple(p.strip() for p in match.group(2).split(",") if p.strip())
    inner = dict(signatures)
    inner[name] = Signature(len(parameters))  # a gate's rule may call the gate itself
    rest = head.text[match.end():].strip()
    if match.group(3) == "=":
        for p in parameters:
            if not p.isidentifier():
                raise program.error(f"parameter {shorten(p)!r} is not a name (defaults and *args are not supported)",
                                    head.line, head.column)
        column = head.column + match.end() + len(head.text[match.end():]) - len(head.text[match.end():].lstrip())
        result = _expression(program, rest, head.line, column, signatures)
        return name, Function(name, parameters, (), result, head.line, True, column, head.line), i + 1
    try:
        function = _python_function(program, logical, i, end, match, parameters, inner)
        return name, Function(function.name, function.parameters, function.body, function.result, function.line, False,
                              function.result_column, head.line), end
    except ParseError as problem:
        return name, problem, end


def _python_function(program: Program, logical: list[_Logical], i: int, end: int, match: re.Match,
                     parameters: tuple[str, ...], signatures) -> Function:
    head = logical[i]
    name = match.group(1)
    for p in parameters:
        if not p.isidentifier():
            raise program.error(f"parameter {shorten(p)!r} is not a name (defaults and *args are not read)", head.line, head.column)
    rest = head.text[match.end():].strip()
    if rest:  # def f(x): return x*x
        return _function_result(program, name, parameters, [], rest, head, head.column + match.end(), signatures)
    body: list[Statement] = []
    for j in range(i + 1, end):
        item = logical[j]
        if item.text.startswith("return"):
            if j != end - 1:
                raise program.error("only assignments and one final return are read in a function", logical[j + 1].line,
                                    logical[j + 1].column)
            return _function_result(program, name, parameters, body, item.text, item, item.column, signatures)
        if re.match(r"(for|while|if|with|try|class|def)\b", item.text):
            raise program.error(f"'{item.text.split()[0]}' in a function is not read: only assignments and a final "
                                "return are", item.line, item.column)
        for statement in _statements(program, item, signatures):
            if statement.kind == "assign" and statement.operator == "=":
                body.append(statement)
            elif statement.kind == "assign":
                body.append(Statement("assign", statement.line, statement.column, statement.text, statement.target, "=",
                                      statement.whole, expr_column=statement.column))
            elif statement.kind == "unread":
                raise program.error(statement.note, statement.line, statement.expr_column)
            elif statement.kind != "skip":
                raise program.error("only assignments and a final return are read in a function", item.line, item.column)
    raise program.error(f"function '{name}' has no return statement", head.line, head.column)


def _function_result(program, name, parameters, body, text: str, item: _Logical, column: int, signatures) -> Function:
    returned = re.match(r"\s*return\s+", text)
    if not returned:
        raise program.error("expected `return EXPR`", item.line, column)
    result = _expression(program, text[returned.end():], item.line, column + returned.end(), signatures)
    return Function(name, parameters, tuple(body), result, item.line, False, column + returned.end())
