"""Text → Expr: an iterative shunting-yard parser (no recursion, no eval) with exact error columns.

The tree is stored flat, in post-order: every node's arguments come before it, so the list is
already a topological order and every consumer is a plain loop (10,000-deep nesting is fine).
"""

from __future__ import annotations

import difflib
import gc
import math
import re
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from .errors import InputLimitError, ParseError, Position

# The grammar's function names and arities; derivative rules live in gates.py, SymPy ones in exact.py.
FUNCTIONS: dict[str, int] = {
    "sigma": 1, "exp": 1, "log": 1, "sqrt": 1, "sin": 1, "cos": 1, "tan": 1, "tanh": 1,
    "relu": 1, "abs": 1, "max": 2, "min": 2,
}
ALIASES: dict[str, str] = {"sigmoid": "sigma", "ln": "log"}
CONSTANTS: dict[str, float] = {"pi": math.pi, "e": math.e}
BINARY_OPS: dict[str, str] = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow"}
OP_SYMBOLS: dict[str, str] = {v: k for k, v in BINARY_OPS.items()}

MAX_INPUT_CHARS = 20_000_000  # ~100x the largest benchmarked expression; bounds memory on hostile input

_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pos": 3, "pow": 4}
_RIGHT_ASSOC = {"pow"}

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|[-+*/])"
    r"|(?P<lparen>\()|(?P<rparen>\))|(?P<comma>,)"
    r"|(?P<bad>.)",
    re.ASCII | re.DOTALL,  # ASCII: no Unicode digits or letters sneak into numbers and names
)
_HINTS = {
    "^": "use '**' for powers",
    "=": "'=' is not an operator; a point is given separately (--at, or after '@' in a file)",
    ";": "one expression at a time",
    "[": "subscripts are not supported",
    ".": "attribute access is not supported",
    "'": "strings are not supported",
    '"': "strings are not supported",
}


@dataclass(frozen=True, slots=True)
class Node:
    """One node of the parsed tree: an operation, its argument indices and its source span."""

    op: str  # num | const | var | add sub mul div pow neg | a FUNCTIONS name
    args: tuple[int, ...]
    start: int
    end: int
    name: str = ""  # variable or constant name
    value: float = 0.0  # for num and const

    def __repr__(self) -> str:
        label = self.name or (repr(self.value) if self.op == "num" else "")
        return f"Node({self.op}{' ' + label if label else ''} {self.args} @{self.start}:{self.end})"


@dataclass(frozen=True, slots=True, eq=False)
class Expr:
    """A parsed expression: `nodes` in post-order, the root last."""

    text: str
    nodes: tuple[Node, ...]

    @property
    def root(self) -> int:
        return len(self.nodes) - 1

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names in order of first appearance (post-order keeps leaves left to right)."""
        return tuple(dict.fromkeys(n.name for n in self.nodes if n.op == "var"))

    def source(self, index: int) -> str:
        node = self.nodes[index]
        return self.text[node.start:node.end]

    def __repr__(self) -> str:
        return f"Expr({self.text[:60]!r}, {len(self.nodes)} nodes)"


# (kind, text, start): plain tuples, as a NamedTuple's Python-level constructor doubles tokenizing time
_Token = tuple[str, str, int]


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    append = tokens.append
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            continue
        if kind == "bad":
            pos = match.start()
            char = text[pos]
            hint = _HINTS.get(char)
            shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
            raise ParseError(f"unexpected character {shown}" + (f" ({hint})" if hint else ""), Position(text, pos))
        append((kind, match.group(), match.start()))
    append(("end", "", len(text)))
    return tokens


def _describe(token: _Token) -> str:
    kind, text, _ = token
    return "the end of the expression" if kind == "end" else repr(shorten(text))


def shorten(text: str, limit: int = 40) -> str:
    """Long user text inside a one-line message: its start and an ellipsis (the caret shows where)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _arity_message(function: str, got: str) -> str:
    arity = FUNCTIONS[function]
    return f"{function}() takes {arity} argument{'s' if arity > 1 else ''}, got {got}"


@dataclass(slots=True)
class _Frame:
    """An open '(' on the operator stack; `function` is set for a call."""

    start: int
    function: str | None
    name_start: int
    arg_count: int = 0


class _Parser:
    """Shunting-yard over the token list: operands go to `operands`, operators and open '(' to `stack`."""

    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.nodes: list[Node] = []
        self.operands: list[int] = []  # indices into nodes
        self.stack: list[tuple[str, int] | _Frame] = []  # operators (op, token start) and open parentheses

    def error(self, message: str, offset: int) -> ParseError:
        return ParseError(message, Position(self.text, offset))

    def push(self, node: Node) -> None:
        self.nodes.append(node)
        self.operands.append(len(self.nodes) - 1)

    def parse(self) -> Expr:
        tokens, stack = self.tokens, self.stack
        expect_operand = True
        i = 0
        while True:
            kind, text, start = tokens[i]
            if expect_operand:
                i, expect_operand = self.operand(i)
            elif kind == "op":
                op = BINARY_OPS[text]
                self.pop_operators(_PRECEDENCE[op], op in _RIGHT_ASSOC)
                stack.append((op, start))
                expect_operand = True
            elif kind == "rparen" or kind == "comma":
                expect_operand = self.close(tokens[i])
            elif kind == "end":
                self.pop_operators(0, False)
                if stack:
                    raise self.error("unclosed '(' (missing ')')", stack[-1].start)
                break
            else:
                raise self.error(f"missing operator before {_describe(tokens[i])}", start)
            i += 1
        if not self.nodes:
            raise self.error("empty expression", 0)
        return Expr(self.text, tuple(self.nodes))

    def operand(self, i: int) -> tuple[int, bool]:
        """Read what may stand where an operand is expected; returns (last token used, expect_operand)."""
        kind, text, start = self.tokens[i]
        end = start + len(text)
        if kind == "name":
            name = ALIASES.get(text, text)
            if self.tokens[i + 1][0] == "lparen":
                if name not in FUNCTIONS:
                    guess = difflib.get_close_matches(text, [*FUNCTIONS, *ALIASES], n=1)
                    hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                    raise self.error(f"unknown function '{shorten(text)}'{hint}; known: {', '.join(FUNCTIONS)}", start)
                self.stack.append(_Frame(self.tokens[i + 1][2], name, start))
                return i + 1, True  # the '(' is consumed with the name
            if name in FUNCTIONS:
                raise self.error(f"'{text}' is a function; call it as {text}(...)", start)
            if text in CONSTANTS:
                self.push(Node("const", (), start, end, text, CONSTANTS[text]))
            else:
                self.push(Node("var", (), start, end, text))
            return i, False
        if kind == "num":
            value = float(text)
            if not math.isfinite(value):
                raise self.error(f"number {shorten(text)} is too large for a float", start)
            self.push(Node("num", (), start, end, "", value))
            return i, False
        if kind == "lparen":
            self.stack.append(_Frame(start, None, start))
            return i, True
        if kind == "op" and text in "+-":
            self.stack.append(("neg" if text == "-" else "pos", start))
            return i, True
        top = self.stack[-1] if self.stack else None
        if kind == "rparen" and isinstance(top, _Frame) and top.function:
            if top.arg_count:
                raise self.error(f"missing argument after ',' in {top.function}()", start)
            raise self.error(_arity_message(top.function, "0"), top.name_start)
        what = "expression ends too early" if kind == "end" else f"unexpected {_describe(self.tokens[i])}"
        raise self.error(f"{what}: expected a number, a variable, a function call or '('", start)

    def close(self, token: _Token) -> bool:
        """A ')' or ',' after an operand: finish the argument; returns expect_operand."""
        kind, _, start = token
        self.pop_operators(0, False)
        if not self.stack:
            raise self.error(f"unmatched {_describe(token)}" if kind == "rparen" else "',' outside a function call", start)
        frame = self.stack[-1]
        assert isinstance(frame, _Frame)
        frame.arg_count += 1
        if kind == "comma":
            if frame.function is None:
                raise self.error("',' outside a function call", start)
            if frame.arg_count >= FUNCTIONS[frame.function]:
                raise self.error(_arity_message(frame.function, "more"), start)
            return True
        self.stack.pop()
        if frame.function is not None:
            arity = FUNCTIONS[frame.function]
            if frame.arg_count != arity:
                raise self.error(_arity_message(frame.function, str(frame.arg_count)), frame.name_start)
            args = tuple(self.operands[-arity:])
            del self.operands[-arity:]
            self.push(Node(frame.function, args, frame.name_start, start + 1))
        else:
            inner = self.operands[-1]  # widen the span to cover the parentheses, for carets and --trace
            n = self.nodes[inner]
            self.nodes[inner] = Node(n.op, n.args, min(n.start, frame.start), start + 1, n.name, n.value)
        return False

    def pop_operators(self, min_precedence: int, right_assoc: bool) -> None:
        stack = self.stack
        while stack and isinstance(stack[-1], tuple):
            op, start = stack[-1]
            precedence = _PRECEDENCE[op]
            if precedence < min_precedence or (right_assoc and precedence == min_precedence):
                break
            stack.pop()
            self.emit(op, start)

    def emit(self, op: str, start: int) -> None:
        nodes, operands = self.nodes, self.operands
        if op == "neg" or op == "pos":
            arg = operands[-1]
            inner = nodes[arg]
            if op == "pos":
                nodes[arg] = Node(inner.op, inner.args, start, inner.end, inner.name, inner.value)
            elif inner.op == "num":  # fold -3 into one literal, as a user reads it
                nodes[arg] = Node("num", (), start, inner.end, "", -inner.value)
            else:
                operands.pop()
                self.push(Node("neg", (arg,), start, inner.end))
            return
        right = operands.pop()
        left = operands.pop()
        self.push(Node(op, (left, right), nodes[left].start, nodes[right].end))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Building 10^5 acyclic nodes triggers the cycle collector over and over for nothing: pause it meanwhile."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse(text: str) -> Expr:
    """Parse `text` into an Expr, or raise ParseError pointing at the offending column."""
    if len(text) > MAX_INPUT_CHARS:
        raise InputLimitError(f"expression is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}")
    if not text.strip():
        raise ParseError("empty expression", Position(text, 0))
    with paused_gc():
        return _Parser(text).parse()


_PLAIN_NUMBER = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)


def parse_constant(text: str) -> float:
    """Parse a variable-free expression such as `pi/4` or `-1e-3` (used for --at values)."""
    if _PLAIN_NUMBER.fullmatch(text):  # most point values: no parse, graph and numpy pass needed
        value = float(text)
        if math.isfinite(value):  # 1e400 goes the long way, to its error message
            return value
    expr = parse(text)
    for node in expr.nodes:
        if node.op == "var":
            raise ParseError(f"'{node.name}' is not a number: point values must be constants", Position(text, node.start))
    from .engine import evaluate_constant  # numpy only when a point is actually read

    return evaluate_constant(expr)
