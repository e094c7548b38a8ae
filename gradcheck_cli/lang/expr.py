"""Text → Expr: an iterative shunting-yard parser (no recursion, no eval) with exact error columns.

The tree is stored flat, in post-order: every node's arguments come before it, so the list is
already a topological order and every consumer is a plain loop (10,000-deep nesting is fine).
Postfix forms (`.T`, `[i, j]`, `.dot(...)`) bind tighter than any operator, as in Python.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from typing import Mapping

from ..errors import InputLimitError, ParseError, Position
from .fastparse import fast_parse
from .lexer import Token, describe, shorten, tokenize
from .literal import parse_literal, parse_subscript
from .spelling import ALIASES, CONSTANTS, METHODS, NAMESPACES, QUALIFIED, SIGNATURES, SUGGESTIONS, Signature
from .tree import Expr, LazyNodes, Node, paused_gc  # noqa: F401  (re-exported: the parser's output types)

BINARY_OPS: dict[str, str] = {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "@": "matmul",
                              ">": "gt", "<": "lt", ">=": "ge", "<=": "le"}
OP_SYMBOLS: dict[str, str] = {v: k for k, v in BINARY_OPS.items()}
COMPARISONS = frozenset({"gt", "lt", "ge", "le"})
MAX_INPUT_CHARS = 20_000_000  # ~100x the largest benchmarked expression; bounds memory on hostile input

_PRECEDENCE = {"gt": 1, "lt": 1, "ge": 1, "le": 1, "add": 2, "sub": 2, "mul": 3, "div": 3, "matmul": 3,
               "neg": 4, "pos": 4, "pow": 5}
_RIGHT_ASSOC = {"pow"}


@dataclass(slots=True)
class _Frame:
    """An open '(' or '[' on the operator stack."""

    start: int  # offset of the bracket
    kind: str  # paren | call | list
    function: str | None = None  # canonical name, for calls
    spelled: str = ""  # as the user wrote it, for messages
    name_start: int = 0
    arg_count: int = 0  # tensor arguments completed
    params: list = field(default_factory=list)  # [(key, literal)]
    after_comma: bool = False


def _arity_message(spelled: str, signature: Signature, got: str) -> str:
    arity = signature.inputs
    count = "1 or more arguments" if arity < 0 else f"{arity} argument{'s' if arity != 1 else ''}"
    return f"{spelled}() takes {count}, got {got}"


class _Parser:
    """Shunting-yard over the token list: operands go to `operands`, operators and open brackets to `stack`."""

    def __init__(self, text: str, functions: Mapping[str, Signature], literals: Mapping[str, int] | None = None):
        self.text = text
        self.functions = functions
        self.literals = literals  # integers a program assigned above, which its literal parameters may use
        self.tokens = tokenize(text)
        self.nodes: list[Node] = []
        self.operands: list[int] = []  # indices into nodes
        self.stack: list[tuple[str, int] | _Frame] = []  # operators (op, token start) and open brackets

    def error(self, message: str, offset: int) -> ParseError:
        return ParseError(message, Position(self.text, offset))

    def push(self, node: Node) -> None:
        self.nodes.append(node)
        self.operands.append(len(self.nodes) - 1)

    def parse(self) -> Expr:
        tokens = self.tokens
        expect_operand = True
        i = 0
        while True:
            kind, text, start = tokens[i]
            if expect_operand:
                i, expect_operand = self.operand(i)
            elif kind == "op":
                self.binary(text, start)
                expect_operand = True
            elif kind == "dot":
                i, expect_operand = self.attribute(i)
            elif kind == "lbracket":
                i = self.subscript(i)
            elif kind in ("rparen", "comma", "rbracket"):
                expect_operand = self.close(tokens[i])
            elif kind == "end":
                self.pop_operators(0, False)
                if self.stack:
                    frame = self.stack[-1]
                    bracket = "[" if frame.kind == "list" else "("
                    raise self.error(f"unclosed '{bracket}' (missing '{']' if bracket == '[' else ')'}')", frame.start)
                break
            elif kind == "assign":
                raise self.error("'=' is not an operator here: give a point with --at (or after '@' in a file), "
                                 "and put assignments (q = x + y) in a program file", start)
            else:
                hint = f" (write {self.text[tokens[i - 1][2]:start].strip()}*{text})" if tokens[i - 1][0] == "num" and kind == "name" else ""
                raise self.error(f"missing operator before {describe(tokens[i])}{hint}", start)
            i += 1
        if not self.nodes:
            raise self.error("empty expression", 0)
        return Expr(self.text, tuple(self.nodes))

    # --- operands -----------------------------------------------------------------------------------

    def operand(self, i: int) -> tuple[int, bool]:
        """Read what may stand where an operand is expected; returns (last token used, expect_operand)."""
        kind, text, start = self.tokens[i]
        frame = self.stack[-1] if self.stack else None
        if frame.__class__ is _Frame and frame.kind == "call":
            argument = self.call_argument(i, frame)
            if argument is not None:
                return argument
        if kind == "name":
            following = self.tokens[i + 1][0]
            if following != "lparen" and following != "dot" and text not in CONSTANTS and following != "name":
                self.push(Node("var", (), start, start + len(text), text))  # the common case, without the detours
                return i, False
            return self.name(i)
        if kind == "num":
            value = float(text)
            if not math.isfinite(value):
                raise self.error(f"number {shorten(text)} is too large for a float", start)
            self.push(Node("num", (), start, start + len(text), "", value))
            return i, False
        if kind == "lparen":
            self.stack.append(_Frame(start, "paren"))
            return i, True
        if kind == "lbracket":
            self.stack.append(_Frame(start, "list", "stack", "[", start))
            return i, True
        if kind == "op" and text in "+-":
            self.stack.append(("neg" if text == "-" else "pos", start))
            return i, True
        if kind == "rbracket" and isinstance(frame, _Frame) and frame.kind == "list":
            if frame.arg_count:  # [a, b,] as Python allows
                return i, self.close(self.tokens[i])
            raise self.error("empty list: write at least one element, e.g. [1, 2]", frame.start)
        if kind == "rparen" and isinstance(frame, _Frame) and frame.kind == "call":
            if frame.after_comma:
                raise self.error(f"missing argument after ',' in {frame.spelled}()", start)
            if frame.arg_count or self.functions[frame.function].inputs == 0:  # x.sum(), rand()
                self.finish_call(frame, start)
                return i, False
            raise self.error(_arity_message(frame.spelled, self.functions[frame.function], "0"), frame.name_start)
        what = "expression ends too early" if kind == "end" else f"unexpected {describe(self.tokens[i])}"
        raise self.error(f"{what}: expected a number, a variable, a function call or '('", start)

    def name(self, i: int) -> tuple[int, bool]:
        _, text, start = self.tokens[i]
        if text in NAMESPACES and self.tokens[i + 1][0] == "dot" and self.tokens[i + 2][0] == "name":
            return self.qualified(i)
        name = text if text in self.functions else ALIASES.get(text, text)  # a user's `def sigmoid` shadows the alias
        if self.tokens[i + 1][0] == "lparen":
            if name not in self.functions:
                known = [f for f in self.functions if f != "array"]
                guess = difflib.get_close_matches(text, [*known, *ALIASES], n=1)
                hint = f" ({SUGGESTIONS[text]})" if text in SUGGESTIONS else f" (did you mean '{guess[0]}'?)" if guess else ""
                raise self.error(f"unknown function '{shorten(text)}'{hint}; known: {', '.join(known)}", start)
            return self.open_call(i + 1, name, text, start), True
        if name in self.functions and self.tokens[i + 1][0] in ("name", "num"):  # `tanh x`; a lone `dot` is a variable
            raise self.error(f"'{text}' is a function; call it as {text}(...)", start)
        if text in CONSTANTS:
            self.push(Node("const", (), start, start + len(text), text, CONSTANTS[text]))
        else:
            self.push(Node("var", (), start, start + len(text), text))
        return i, False

    def qualified(self, i: int) -> tuple[int, bool]:
        """np.exp, numpy.sum, math.pi: a spelling of the language's own function or constant."""
        namespace, (_, attr, attr_start) = self.tokens[i][1], self.tokens[i + 2]
        start = self.tokens[i][2]
        if attr == "random" and self.tokens[i + 3][0] == "dot" and self.tokens[i + 4][0] == "name":
            i, attr, attr_start = i + 2, f"random.{self.tokens[i + 4][1]}", self.tokens[i + 4][2]
        spelled = f"{namespace}.{attr}"
        canonical = QUALIFIED[namespace].get(attr)
        if canonical is None:
            supported = ", ".join(f"{namespace}.{n}" for n in QUALIFIED[namespace])
            extra = f"; {SUGGESTIONS[attr]}" if attr in SUGGESTIONS else _did_you_mean(attr, QUALIFIED[namespace], namespace)
            raise self.error(f"{shorten(spelled)} is not supported{extra} (supported: {supported})", attr_start)
        if canonical in CONSTANTS:
            self.push(Node("const", (), start, attr_start + len(attr), canonical, CONSTANTS[canonical]))
            return i + 2, False
        if self.tokens[i + 3][0] != "lparen":
            raise self.error(f"'{spelled}' is a function; call it as {spelled}(...)", start)
        if canonical not in self.functions:
            raise self.error(f"{spelled} makes a constant value: use it for an input's value (--at, or NAME = {spelled}(...) "
                             "in a program), not inside an expression", start)
        return self.open_call(i + 3, canonical, spelled, start), True

    def open_call(self, paren: int, function: str, spelled: str, name_start: int) -> int:
        self.stack.append(_Frame(self.tokens[paren][2], "call", function, spelled, name_start))
        return paren

    def call_argument(self, i: int, frame: _Frame) -> tuple[int, bool] | None:
        """A keyword (axis=0) or a literal parameter (sum(x, 0)) at the start of an argument, else None."""
        kind, text, start = self.tokens[i]
        signature = self.functions[frame.function]
        keyword = kind == "name" and self.tokens[i + 1][0] == "assign"
        positional_param = signature.inputs >= 0 and frame.arg_count >= signature.inputs and kind not in ("rparen",)
        if not (keyword or positional_param):
            return None
        if keyword:
            if text not in signature.params and text not in signature.ignored and f"*{text}" not in signature.params:
                accepted = ", ".join(p.lstrip("*") for p in (*signature.params, *signature.ignored)) or "none"
                raise self.error(f"{frame.spelled}() has no keyword '{text}' (keywords: {accepted})", start)
            value, i = parse_literal(self.tokens, i + 2, self.text, names=self.literals)
            key = text
        else:
            position = frame.arg_count - signature.inputs + len(frame.params)
            slots = signature.params
            if not slots or (position >= len(slots) and not slots[-1].startswith("*")):
                raise self.error(_arity_message(frame.spelled, signature, "more"), start)
            key = slots[min(position, len(slots) - 1)]
            value, i = parse_literal(self.tokens, i, self.text, what=f"{frame.spelled}()'s {key.lstrip('*')}",
                                     names=self.literals)
        self.add_param(frame, key, value, start)
        kind, _, start = self.tokens[i]
        if kind == "comma":
            frame.after_comma = True
            return i, True
        if kind == "rparen":
            self.finish_call(frame, start)
            return i, False
        raise self.error(f"expected ',' or ')' after {frame.spelled}()'s {key.lstrip('*')}, got {describe(self.tokens[i])}", start)

    def add_param(self, frame: _Frame, key: str, value: object, start: int) -> None:
        if key.startswith("*"):  # reshape(x, 2, 3) and reshape(x, (2, 3)) are the same
            name = key[1:]
            previous = dict(frame.params).get(name, ())
            frame.params = [(k, v) for k, v in frame.params if k != name]
            frame.params.append((name, previous + (value if isinstance(value, tuple) else (value,))))
            return
        if any(k == key for k, _ in frame.params):
            raise self.error(f"{frame.spelled}() got '{key}' twice", start)
        frame.params.append((key, value))

    # --- postfix: .T, .method(...), [index] -----------------------------------------------------------

    def attribute(self, i: int) -> tuple[int, bool]:
        kind, attr, start = self.tokens[i + 1]
        dot = self.tokens[i][2]
        if kind != "name":
            raise self.error(f"expected an attribute name after '.', got {describe(self.tokens[i + 1])}", start)
        receiver = self.operands[-1]
        if attr == "T":
            self.operands.pop()
            self.push(Node("transpose", (receiver,), self.nodes[receiver].start, start + 1, at=dot))
            return i + 1, False
        if attr in METHODS and self.tokens[i + 2][0] == "lparen":
            self.stack.append(_Frame(self.tokens[i + 2][2], "call", METHODS[attr], f".{attr}", self.nodes[receiver].start, 1))
            return i + 2, True
        supported = ", ".join([".T", *(f".{m}()" for m in METHODS)])
        raise self.error(f"attribute '.{shorten(attr)}' is not supported (supported: {supported})", dot)

    def subscript(self, i: int) -> int:
        target = self.operands.pop()
        index, end = parse_subscript(self.tokens, i, self.text)
        self.push(Node("index", (target,), self.nodes[target].start, self.tokens[end][2] + 1, params=(("index", index),),
                       at=self.tokens[i][2]))
        return end

    # --- closing brackets and operators ---------------------------------------------------------------

    def close(self, token: Token) -> bool:
        """A ')', ']' or ',' after an operand: finish the argument; returns expect_operand."""
        kind, _, start = token
        self.pop_operators(0, False)
        if not self.stack:
            if kind == "comma":
                raise self.error("',' outside a function call or list", start)
            raise self.error(f"unmatched {describe(token)}", start)
        frame = self.stack[-1]
        assert isinstance(frame, _Frame)
        frame.arg_count += 1
        if kind == "comma":
            return self.comma(frame, start)
        closing = "]" if frame.kind == "list" else ")"
        if token[1] != closing:
            raise self.error(f"'{token[1]}' closes nothing here: the '{'[' if closing == ']' else '('}' at column "
                             f"{frame.start + 1} needs '{closing}'", start)
        if frame.kind == "paren":
            self.stack.pop()
            inner = self.operands[-1]  # widen the span to cover the parentheses, for carets and --trace
            n = self.nodes[inner]
            self.nodes[inner] = Node(n.op, n.args, min(n.start, frame.start), start + 1, n.name, n.value, n.params, n.at)
        else:
            self.finish_call(frame, start)
        return False

    def comma(self, frame: _Frame, start: int) -> bool:
        if frame.kind == "paren":
            raise self.error("',' outside a function call or list (tuples are not supported)", start)
        if frame.kind == "call":
            signature = self.functions[frame.function]
            if signature.inputs >= 0 and frame.arg_count >= signature.inputs and not (signature.params or signature.ignored):
                raise self.error(_arity_message(frame.spelled, signature, "more"), start)
        frame.after_comma = True
        return True

    def finish_call(self, frame: _Frame, end: int) -> None:
        self.stack.pop()
        count = frame.arg_count
        if frame.kind == "call":
            signature = self.functions[frame.function]
            if (signature.inputs >= 0 and count != signature.inputs) or (signature.inputs < 0 and count < 1):
                raise self.error(_arity_message(frame.spelled, signature, str(count)), frame.name_start)
        args = tuple(self.operands[len(self.operands) - count:])
        del self.operands[len(self.operands) - count:]
        if frame.function == "array":  # np.array(x) is x: keep the operand, widen its span
            n = self.nodes[args[0]]
            self.nodes[args[0]] = Node(n.op, n.args, frame.name_start, end + 1, n.name, n.value, n.params, n.at)
            self.operands.append(args[0])
            return
        at = frame.start - len(frame.spelled) if frame.spelled.startswith(".") else frame.name_start
        self.push(Node(frame.function, args, frame.name_start, end + 1, params=tuple(frame.params), at=at))

    def binary(self, text: str, start: int) -> None:
        op = BINARY_OPS.get(text)
        if op is None:
            raise self.error(f"'{text}' is not supported: comparisons are >, <, >=, <= (they give 0/1 masks)", start)
        if op in COMPARISONS:
            for entry in reversed(self.stack):
                if isinstance(entry, _Frame):
                    break
                if entry[0] in COMPARISONS:
                    raise self.error("chained comparisons (a < b < c) are not supported", start)
        self.pop_operators(_PRECEDENCE[op], op in _RIGHT_ASSOC)
        self.stack.append((op, start))

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
                nodes[arg] = Node(inner.op, inner.args, start, inner.end, inner.name, inner.value, inner.params, inner.at)
            elif inner.op == "num":  # fold -3 into one literal, as a user reads it
                nodes[arg] = Node("num", (), start, inner.end, "", -inner.value)
            else:
                operands.pop()
                self.push(Node("neg", (arg,), start, inner.end))
            return
        right = operands.pop()
        left = operands.pop()
        self.push(Node(op, (left, right), nodes[left].start, nodes[right].end, at=start))


def _did_you_mean(attr: str, known, namespace: str) -> str:
    close = difflib.get_close_matches(attr, list(known), n=1, cutoff=0.8)
    return f"; did you mean {namespace}.{close[0]}?" if close else ""


def parse(text: str, functions: Mapping[str, Signature] = SIGNATURES, literals: Mapping[str, int] | None = None) -> Expr:
    """Parse `text` into an Expr, or raise ParseError pointing at the offending column. `literals`: integer names a
    program assigned above, usable in literal parameters (np.random.randn(N, D))."""
    if len(text) > MAX_INPUT_CHARS:
        raise InputLimitError(f"expression is {len(text):,} characters; the limit is {MAX_INPUT_CHARS:,}")
    if not text.strip():
        raise ParseError("empty expression", Position(text, 0))
    with paused_gc(len(text) // 4):  # a node for every few characters, at most
        columns = fast_parse(text, functions)
        if columns is not None:
            return Expr(text, LazyNodes(columns))
        return _Parser(text, functions, literals).parse()
