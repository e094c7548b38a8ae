"""The common case of the parser in one tight loop: numbers, names, + - * / ** @, calls with all their
arguments as expressions, parentheses. One regex pass cuts the text into tokens (whitespace skipped in C);
the loop fills flat columns (no Node objects until someone asks), with spans as token numbers that become
character offsets only when a node is made. It gives up (returns None) on anything else — a subscript, a
keyword, a comparison, an error — so the full parser (expr.py) decides those and words the messages. Both
build the same nodes: a test parses random expressions with each and compares every field.
"""

from __future__ import annotations

import math
import re
from typing import Mapping

from .spelling import ALIASES, CONSTANTS, Signature

# the lexer's tokens (lexer.py), whitespace skipped: group 1 is each token
_TOKENS = re.compile(r"\s*((?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|\*\*|==|!=|>=|<=|\S)", re.ASCII)
_BINARY = {"+": ("add", 2), "-": ("sub", 2), "*": ("mul", 3), "/": ("div", 3), "@": ("matmul", 3), "**": ("pow", 5)}
_UNARY_PRECEDENCE = 4
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NUMBER_START = frozenset("0123456789.")
_PAREN = -1  # an open '(' on the stack; a call is its argument count, >= 0


class Columns:
    """The parsed nodes as parallel lists (see tree.Node for the fields); params are always (). Spans are token
    numbers (`starts`, `ends` inclusive, `ats`, -1 for none): `offsets()` turns them into character offsets."""

    __slots__ = ("text", "tokens", "ops", "args", "starts", "ends", "names", "values", "ats", "_offsets")

    def __init__(self, text: str, tokens: list[str]) -> None:
        self.text, self.tokens = text, tokens
        self.ops: list[str] = []
        self.args: list[tuple[int, ...]] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.names: list[str] = []
        self.values: list[float] = []
        self.ats: list[int] = []
        self._offsets: list[int] | None = None

    def offsets(self) -> list[int]:
        """Each token's character offset (made the first time a node is asked for: the 10^5-gate paths never ask)."""
        if self._offsets is None:
            self._offsets = [m.start(1) for m in _TOKENS.finditer(self.text)]
        return self._offsets

    def span(self, i: int) -> tuple[int, int, int]:
        """(start, end, at) of node i in characters."""
        offsets, tokens = self.offsets(), self.tokens
        end = self.ends[i]
        at = self.ats[i]
        return offsets[self.starts[i]], offsets[end] + len(tokens[end]), offsets[at] if at >= 0 else -1


def fast_parse(text: str, functions: Mapping[str, Signature]) -> Columns | None:
    """The columns of `text`, or None when it needs the full parser.

    One function, not split: it is the loop of a 10^5-gate expression (about 3·10^5 tokens), where every call
    and attribute lookup per token shows; the shunting-yard's steps are marked inside."""
    tokens = _TOKENS.findall(text)
    count = len(tokens)
    tokens.append("")  # the end
    out = Columns(text, tokens)
    ops_, args_, starts, ends, names, values, ats = out.ops, out.args, out.starts, out.ends, out.names, out.values, out.ats
    add_op, add_args, add_start, add_end = ops_.append, args_.append, starts.append, ends.append
    add_name, add_value, add_at = names.append, values.append, ats.append
    operands: list[int] = []
    push = operands.append
    stack: list = []  # (op, precedence, token) operators, and frames [kind, token, function, name token, arity]

    def emit(op: str, at: int) -> None:
        """One stacked operator applied to the operands (expr._Parser.emit)."""
        if op == "pos":  # +x is x, its span widened
            starts[operands[-1]] = at
        elif op == "neg":
            arg = operands[-1]
            if ops_[arg] == "num":  # fold -3 into one literal, as the full parser does
                starts[arg], values[arg], ats[arg] = at, -values[arg], -1
            else:
                operands[-1] = len(ops_)
                add_op("neg"), add_args((arg,)), add_start(at), add_end(ends[arg]), add_name(""), add_value(0.0), add_at(-1)
        else:
            right = operands.pop()
            left = operands[-1]
            operands[-1] = len(ops_)
            add_op(op), add_args((left, right)), add_start(starts[left]), add_end(ends[right]), add_name(""), add_value(0.0)
            add_at(at)

    def unwind(min_precedence: int, right_assoc: bool) -> None:
        """Emit the stacked operators that bind at least as tightly (expr._Parser.pop_operators)."""
        while stack:
            top = stack[-1]
            if top.__class__ is not tuple or top[1] < min_precedence or (right_assoc and top[1] == min_precedence):
                return
            stack.pop()
            emit(top[0], top[2])

    expect = True
    i = 0
    while i < count:
        token = tokens[i]
        c = token[0]
        if expect:  # --- an operand, a '(' or a unary sign
            if c in _NAME_START:
                following = tokens[i + 1]
                if following == "(":
                    name = token if token in functions else ALIASES.get(token, token)
                    signature = functions.get(name)
                    if signature is None or signature.inputs < 1 or name == "array":
                        return None
                    stack.append([0, i + 1, name, i, signature.inputs])  # a call frame
                    i += 2
                    continue
                if following == "." or (following and (following[0] in _NAME_START or following[0] in _NUMBER_START)):
                    return None  # np.exp, a method, `tanh x`, `2 x`: the full parser's business
                push(len(ops_))
                if token in CONSTANTS:
                    add_op("const"), add_value(CONSTANTS[token])
                else:
                    add_op("var"), add_value(0.0)
                add_args(()), add_start(i), add_end(i), add_name(token), add_at(-1)
                expect = False
            elif c in _NUMBER_START and token != ".":
                value = float(token)
                if not math.isfinite(value):
                    return None
                push(len(ops_))
                add_op("num"), add_args(()), add_start(i), add_end(i), add_name(""), add_value(value), add_at(-1)
                expect = False
            elif token == "(":
                stack.append([_PAREN, i, "", i, 0])
            elif token == "-" or token == "+":
                stack.append(("neg" if token == "-" else "pos", _UNARY_PRECEDENCE, i))
            else:
                return None
        elif token in _BINARY:  # --- a binary operator
            op, precedence = _BINARY[token]
            unwind(precedence, precedence == 5)
            stack.append((op, precedence, i))
            expect = True
        elif token == ")" or token == ",":  # --- the end of a parenthesis or of an argument
            unwind(0, False)
            if not stack:
                return None
            frame = stack[-1]
            if frame[0] == _PAREN:
                if token == ",":
                    return None
                stack.pop()
                inner = operands[-1]  # widen the span to cover the parentheses
                if frame[1] < starts[inner]:
                    starts[inner] = frame[1]
                ends[inner] = i
            else:
                frame[0] += 1
                arity = frame[4]
                if token == ",":
                    if frame[0] >= arity:
                        return None
                else:
                    if frame[0] != arity:
                        return None
                    stack.pop()
                    arguments = tuple(operands[len(operands) - arity:])
                    del operands[len(operands) - arity:]
                    push(len(ops_))
                    add_op(frame[2]), add_args(arguments), add_start(frame[3]), add_end(i), add_name(""), add_value(0.0)
                    add_at(frame[3])
            expect = token == ","
        else:
            return None
        i += 1
    if expect:
        return None
    unwind(0, False)
    return None if stack or len(operands) != 1 else out
