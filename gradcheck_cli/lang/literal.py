"""Literal parameters inside expressions: `axis=0`, `keepdims=True`, `reshape(x, (-1, 1))`, subscripts `W[1, :]`.

They are read straight from the tokens (never evaluated): integers, True/False/None, dtype names, tuples.
"""

from __future__ import annotations

from typing import Mapping

from ..errors import ParseError, Position
from .lexer import Token, describe

_NAMED = {"True": True, "False": False, "None": None, "float": "float64", "int": "int64"}
_DTYPES = {"float64", "float32", "float", "double", "newaxis"}


def _error(text: str, offset: int, message: str) -> ParseError:
    return ParseError(message, Position(text, offset))


def parse_literal(tokens: list[Token], i: int, text: str, what: str = "a parameter",
                  names: Mapping[str, int] | None = None) -> tuple[object, int]:
    """The literal starting at token i and the index of the token after it. `names`: integers a program assigned
    above (N = 5): a literal may be written with them, and with + - * between integers (np.zeros((N*K, D)))."""
    kind, word, start = tokens[i]
    if names is not None and (kind == "name" and word in names or kind == "num" and _arithmetic_follows(tokens, i)):
        return _integer(tokens, i, text, what, names)
    if kind == "op" and word == "-" and tokens[i + 1][0] == "num":
        return -_number(tokens[i + 1], text, what), i + 2
    if kind == "num":
        return _number(tokens[i], text, what), i + 1
    if kind == "name" and word in _NAMED:
        return _NAMED[word], i + 1
    if kind == "name" and word in ("np", "numpy") and tokens[i + 1][0] == "dot" and tokens[i + 2][1] in _DTYPES:
        return tokens[i + 2][1], i + 3
    if kind == "lparen":
        return _tuple(tokens, i, text, what, names)
    raise _error(text, start, f"{what} must be a literal (an integer, True/False or a tuple of integers), "
                              f"got {describe(tokens[i])}")


def _arithmetic_follows(tokens: list[Token], i: int) -> bool:
    return tokens[i + 1][0] == "op" and tokens[i + 1][1] in ("+", "-", "*")


def _integer(tokens: list[Token], i: int, text: str, what: str, names: Mapping[str, int]) -> tuple[int, int]:
    """An integer written with integers, names of `names`, + - and * (Python's precedence), and where it ends."""
    total, sign = 0, 1
    while True:
        term, i = _factor(tokens, i, text, what, names)
        while tokens[i][0] == "op" and tokens[i][1] == "*":
            factor, i = _factor(tokens, i + 1, text, what, names)
            term *= factor
        total += sign * term
        if not (tokens[i][0] == "op" and tokens[i][1] in ("+", "-")):
            break
        sign = 1 if tokens[i][1] == "+" else -1
        i += 1
    if abs(total) > 2 ** 31:
        raise _error(text, tokens[i - 1][2], f"{what}: {total} is too large")
    return total, i


def _factor(tokens: list[Token], i: int, text: str, what: str, names: Mapping[str, int]) -> tuple[int, int]:
    kind, word, start = tokens[i]
    if kind == "name" and word in names:
        return names[word], i + 1
    if kind == "num" and not any(c in word for c in ".eE"):
        return int(word), i + 1
    raise _error(text, start, f"{what} must be an integer here (written with integers and the integer names "
                              f"assigned above), got {describe(tokens[i])}")


def _number(token: Token, text: str, what: str) -> int | float:
    _, word, start = token
    if any(c in word for c in ".eE"):
        return float(word)
    value = int(word)
    if value > 2 ** 31:
        raise _error(text, start, f"{what}: {word} is too large")
    return value


def _tuple(tokens: list[Token], i: int, text: str, what: str, names: Mapping[str, int] | None = None) -> tuple[tuple, int]:
    items = []
    i += 1
    while tokens[i][0] != "rparen":
        item, i = parse_literal(tokens, i, text, what, names)
        items.append(item)
        if tokens[i][0] == "comma":
            i += 1
        elif tokens[i][0] != "rparen":
            raise _error(text, tokens[i][2], f"expected ',' or ')' in {what}, got {describe(tokens[i])}")
    return tuple(items), i + 1


def parse_subscript(tokens: list[Token], i: int, text: str) -> tuple[tuple, int]:
    """`[0]`, `[1, 0]`, `[:, 0]`, `[1:3]`, `[::-1]`, `[None]` from the '[' at token i; returns (items, index of ']').

    Items: an int, None (a new axis), or ("slice", start, stop, step) with None for an omitted bound."""
    items: list[object] = []
    i += 1
    while True:
        if tokens[i][0] == "rbracket":
            if not items:
                raise _error(text, tokens[i][2], "empty subscript: write an integer index, e.g. w[0]")
            return tuple(items), i
        item, i = _subscript_item(tokens, i, text)
        items.append(item)
        if tokens[i][0] == "comma":
            i += 1
        elif tokens[i][0] != "rbracket":
            raise _error(text, tokens[i][2], f"expected ',' or ']' in the subscript, got {describe(tokens[i])} "
                                             "(indices must be integer literals)")


def _subscript_item(tokens: list[Token], i: int, text: str) -> tuple[object, int]:
    bounds: list[int | None] = []
    if tokens[i][0] in ("comma", "rbracket"):
        raise _error(text, tokens[i][2], "empty index: write an integer, e.g. W[1, 0]")
    while True:
        kind, word, start = tokens[i]
        if kind in ("colon", "comma", "rbracket"):
            bounds.append(None)
        elif kind == "name" and word not in _NAMED:
            raise _error(text, start, f"indices must be integer literals; '{word}' is a variable (variables cannot index)")
        else:
            value, i = parse_literal(tokens, i, text, "an index")
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise _error(text, start, f"an index must be an integer literal, got {word!r} (variables cannot index)")
            bounds.append(value)
        if tokens[i][0] != "colon":
            break
        if len(bounds) == 3:
            raise _error(text, tokens[i][2], "a slice has at most two ':'")
        i += 1
    if len(bounds) == 1:
        return bounds[0], i
    while len(bounds) < 3:
        bounds.append(None)
    if bounds[2] == 0:
        raise _error(text, tokens[i - 1][2], "slice step cannot be zero")
    return ("slice", *bounds), i
