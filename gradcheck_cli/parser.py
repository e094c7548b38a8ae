"""Text → Expr: an iterative shunting-yard parser (no recursion, no eval) with exact error columns.

The tree is stored flat, in post-order: every node's arguments come before it, so the list is
already a topological order and every consumer is a plain loop (10,000-deep nesting is fine).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from typing import NamedTuple

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
    "=": "'=' is not an operator here; points go in --at",
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


class _Token(NamedTuple):
    kind: str
    text: str
    start: int


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
        append(_Token(kind, match.group(), match.start()))
    append(_Token("end", "", len(text)))
    return tokens


def _describe(token: _Token) -> str:
    return "the end of the expression" if token.kind == "end" else repr(token.text)


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


def parse(text: str) -> Expr:
    """Parse `text` into an Expr, or raise ParseError pointing at the offending column."""
    if len(text) > MAX_INPUT_CHARS:
        raise InputLimitError(f"expression is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}")
    tokens = _tokenize(text)
    nodes: list[Node] = []
    operands: list[int] = []  # indices into nodes
    stack: list[tuple[str, int] | _Frame] = []  # operators (op, token start) and open parentheses

    def emit(op: str, start: int) -> None:
        if op in ("neg", "pos"):
            arg = operands.pop()
            inner = nodes[arg]
            if op == "pos":
                nodes[arg] = Node(inner.op, inner.args, start, inner.end, inner.name, inner.value)
                operands.append(arg)
                return
            if inner.op == "num":  # fold -3 into one literal, as a user reads it
                nodes[arg] = Node("num", (), start, inner.end, "", -inner.value)
                operands.append(arg)
                return
            nodes.append(Node("neg", (arg,), start, inner.end))
        else:
            right = operands.pop()
            left = operands.pop()
            nodes.append(Node(op, (left, right), nodes[left].start, nodes[right].end))
        operands.append(len(nodes) - 1)

    def pop_operators(min_precedence: int, right_assoc: bool) -> None:
        while stack and isinstance(stack[-1], tuple):
            op, start = stack[-1]
            precedence = _PRECEDENCE[op]
            if precedence < min_precedence or (right_assoc and precedence == min_precedence):
                break
            stack.pop()
            emit(op, start)

    expect_operand = True
    i = 0
    while True:
        token = tokens[i]
        if expect_operand:
            if token.kind == "num":
                value = float(token.text)
                if not math.isfinite(value):
                    raise ParseError(f"number {token.text} is too large for a float", Position(text, token.start))
                nodes.append(Node("num", (), token.start, token.start + len(token.text), "", value))
                operands.append(len(nodes) - 1)
                expect_operand = False
            elif token.kind == "name":
                name = ALIASES.get(token.text, token.text)
                follows_paren = tokens[i + 1].kind == "lparen"
                if follows_paren:
                    if name not in FUNCTIONS:
                        guess = difflib.get_close_matches(token.text, [*FUNCTIONS, *ALIASES], n=1)
                        hint = f" (did you mean '{guess[0]}'?)" if guess else ""
                        known = ", ".join(FUNCTIONS)
                        raise ParseError(f"unknown function '{token.text}'{hint}; known: {known}", Position(text, token.start))
                    stack.append(_Frame(tokens[i + 1].start, name, token.start))
                    i += 1  # the '(' is consumed with the name
                elif name in FUNCTIONS:
                    raise ParseError(f"'{token.text}' is a function; call it as {token.text}(...)", Position(text, token.start))
                elif token.text in CONSTANTS:
                    nodes.append(Node("const", (), token.start, token.start + len(token.text), token.text, CONSTANTS[token.text]))
                    operands.append(len(nodes) - 1)
                    expect_operand = False
                else:
                    nodes.append(Node("var", (), token.start, token.start + len(token.text), token.text))
                    operands.append(len(nodes) - 1)
                    expect_operand = False
            elif token.kind == "lparen":
                stack.append(_Frame(token.start, None, token.start))
            elif token.kind == "op" and token.text in "+-":
                stack.append(("neg" if token.text == "-" else "pos", token.start))
            elif token.kind == "rparen" and stack and isinstance(stack[-1], _Frame) and stack[-1].function:
                raise ParseError(_arity_message(stack[-1].function, "0"), Position(text, stack[-1].name_start))
            else:
                what = "expression ends too early" if token.kind == "end" else f"unexpected {_describe(token)}"
                raise ParseError(f"{what}: expected a number, a variable, a function call or '('", Position(text, token.start))
        else:
            if token.kind == "op":
                op = BINARY_OPS[token.text]
                pop_operators(_PRECEDENCE[op], op in _RIGHT_ASSOC)
                stack.append((op, token.start))
                expect_operand = True
            elif token.kind in ("rparen", "comma", "end"):
                pop_operators(0, False)
                if token.kind == "end":
                    if stack:
                        frame = stack[-1]
                        assert isinstance(frame, _Frame)
                        raise ParseError("unclosed '(' (missing ')')", Position(text, frame.start))
                    break
                if not stack:
                    raise ParseError(f"unmatched {_describe(token)}" if token.kind == "rparen" else "',' outside a function call", Position(text, token.start))
                frame = stack[-1]
                assert isinstance(frame, _Frame)
                frame.arg_count += 1
                if token.kind == "comma":
                    if frame.function is None:
                        raise ParseError("',' outside a function call", Position(text, token.start))
                    if frame.arg_count >= FUNCTIONS[frame.function]:
                        raise ParseError(_arity_message(frame.function, "more"), Position(text, token.start))
                    expect_operand = True
                else:
                    stack.pop()
                    if frame.function is not None:
                        arity = FUNCTIONS[frame.function]
                        if frame.arg_count != arity:
                            raise ParseError(_arity_message(frame.function, str(frame.arg_count)), Position(text, frame.name_start))
                        args = tuple(operands[-arity:])
                        del operands[-arity:]
                        nodes.append(Node(frame.function, args, frame.name_start, token.start + 1))
                        operands.append(len(nodes) - 1)
                    else:
                        inner = operands[-1]  # widen the span to cover the parentheses, for carets and --trace
                        n = nodes[inner]
                        nodes[inner] = Node(n.op, n.args, min(n.start, frame.start), token.start + 1, n.name, n.value)
            else:
                raise ParseError(f"missing operator before {_describe(token)}", Position(text, token.start))
        i += 1

    if not nodes:
        raise ParseError("empty expression", Position(text, 0))
    assert len(operands) == 1
    return Expr(text, tuple(nodes))


def parse_constant(text: str) -> float:
    """Parse a variable-free expression such as `pi/4` or `-1e-3` (used for --at values)."""
    expr = parse(text)
    for node in expr.nodes:
        if node.op == "var":
            raise ParseError(f"'{node.name}' is not a number: point values must be constants", Position(text, node.start))
    from .engine import evaluate_constant  # numpy only when a point is actually read

    return evaluate_constant(expr)
