"""The common case of the parser in one tight loop: numbers, names, + - * / ** @, calls with all their
arguments as expressions, parentheses. It fills flat columns (no Node objects until someone asks), and
gives up (returns None) on anything else — a subscript, a keyword, a comparison, an error — so the
full parser (expr.py) decides those and words the messages. Both build the same nodes: a test parses
random expressions with each and compares every field.
"""

from __future__ import annotations

import math
import re
from itertools import accumulate
from typing import Mapping

from .spelling import ALIASES, CONSTANTS, Signature

# the lexer's tokens, as bare strings (whitespace kept, so offsets are running sums of lengths)
_PIECES = re.compile(r"\s+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[A-Za-z_][A-Za-z0-9_]*|\*\*|==|!=|>=|<=|.",
                     re.ASCII | re.DOTALL)
_BINARY = {"+": ("add", 2), "-": ("sub", 2), "*": ("mul", 3), "/": ("div", 3), "@": ("matmul", 3), "**": ("pow", 5)}
_UNARY_PRECEDENCE = 4
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_NUMBER_START = frozenset("0123456789.")
_PAREN = -1  # an open '(' on the stack; a call is its argument count, >= 0


class Columns:
    """The parsed nodes as parallel lists (see expr.Node for the fields); params are always ()."""

    __slots__ = ("ops", "args", "starts", "ends", "names", "values", "ats")

    def __init__(self) -> None:
        self.ops: list[str] = []
        self.args: list[tuple[int, ...]] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.names: list[str] = []
        self.values: list[float] = []
        self.ats: list[int] = []

    def add(self, op: str, args: tuple[int, ...], start: int, end: int, name: str = "", value: float = 0.0, at: int = -1) -> int:
        self.ops.append(op)
        self.args.append(args)
        self.starts.append(start)
        self.ends.append(end)
        self.names.append(name)
        self.values.append(value)
        self.ats.append(at)
        return len(self.ops) - 1


def _tokens(text: str) -> list[tuple[str, int]]:
    pieces = _PIECES.findall(text)
    offsets = accumulate(map(len, pieces), initial=0)
    return [(p, o) for p, o in zip(pieces, offsets) if not p.isspace()]


def fast_parse(text: str, functions: Mapping[str, Signature]) -> Columns | None:
    """The columns of `text`, or None when it needs the full parser."""
    tokens = _tokens(text)
    tokens.append(("", len(text)))  # the end
    out = Columns()
    operands: list[int] = []
    ops: list = []  # (op, precedence, offset) operators, and frames [kind, offset, function, name offset]
    expect = True
    i, count = 0, len(tokens) - 1
    while i < count:
        token, start = tokens[i]
        c = token[0]
        if expect:
            if c in _NAME_START:
                following = tokens[i + 1][0]
                if following == "(":
                    name = token if token in functions else ALIASES.get(token, token)
                    signature = functions.get(name)
                    if signature is None or signature.inputs < 1 or name == "array":
                        return None
                    ops.append([0, tokens[i + 1][1], name, start, signature.inputs])  # a call frame
                    i += 1
                elif following == "." or (following and (following[0] in _NAME_START or following[0] in _NUMBER_START)):
                    return None  # np.exp, a method, `tanh x`, `2 x`: the full parser's business
                elif token in CONSTANTS:
                    operands.append(out.add("const", (), start, start + len(token), token, CONSTANTS[token]))
                    expect = False
                else:
                    operands.append(out.add("var", (), start, start + len(token), token))
                    expect = False
            elif c in _NUMBER_START and token != ".":
                value = float(token)
                if not math.isfinite(value):
                    return None
                operands.append(out.add("num", (), start, start + len(token), "", value))
                expect = False
            elif token == "(":
                ops.append([_PAREN, start, "", start, 0])
            elif token == "-" or token == "+":
                ops.append(("neg" if token == "-" else "pos", _UNARY_PRECEDENCE, start))
            else:
                return None
        elif token in _BINARY:
            op, precedence = _BINARY[token]
            _pop(out, operands, ops, precedence, op == "pow")
            ops.append((op, precedence, start))
            expect = True
        elif token == ")" or token == ",":
            if not _close(out, operands, ops, token, start):
                return None
            expect = token == ","
        else:
            return None
        i += 1
    if expect:
        return None
    _pop(out, operands, ops, 0, False)
    return None if ops or len(operands) != 1 else out


def _pop(out: Columns, operands: list[int], ops: list, min_precedence: int, right_assoc: bool) -> None:
    """Emit the stacked operators that bind at least as tightly (expr._Parser.pop_operators)."""
    while ops and ops[-1].__class__ is tuple:
        op, precedence, start = ops[-1]
        if precedence < min_precedence or (right_assoc and precedence == min_precedence):
            break
        ops.pop()
        if op == "pos":  # +x is x, its span widened
            out.starts[operands[-1]] = start
        elif op == "neg":
            arg = operands[-1]
            if out.ops[arg] == "num":  # fold -3 into one literal, as the full parser does
                out.starts[arg], out.values[arg], out.ats[arg] = start, -out.values[arg], -1
            else:
                operands[-1] = out.add("neg", (arg,), start, out.ends[arg])
        else:
            right = operands.pop()
            left = operands[-1]
            operands[-1] = out.add(op, (left, right), out.starts[left], out.ends[right], at=start)


def _close(out: Columns, operands: list[int], ops: list, token: str, start: int) -> bool:
    """A ')' or ',' after an operand; False where the full parser has more to say."""
    _pop(out, operands, ops, 0, False)
    if not ops:
        return False
    frame = ops[-1]
    if frame[0] == _PAREN:
        if token == ",":
            return False
        ops.pop()
        inner = operands[-1]  # widen the span to cover the parentheses
        out.starts[inner] = min(out.starts[inner], frame[1])
        out.ends[inner] = start + 1
        return True
    frame[0] += 1
    if token == ",":
        return frame[0] < frame[4]
    count = frame[0]
    if count != frame[4]:
        return False
    ops.pop()
    args = tuple(operands[len(operands) - count:])
    del operands[len(operands) - count:]
    operands.append(out.add(frame[2], args, frame[3], start + 1, at=frame[3]))
    return True
