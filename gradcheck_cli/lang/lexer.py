"""One tokenizer for expressions, claims, points and program lines: text → (kind, text, start) tuples."""

from __future__ import annotations

import re

from ..errors import ParseError, Position

_TOKEN = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<op>\*\*|==|!=|>=|<=|[-+*/@<>])"
    r"|(?P<assign>=)"
    r"|(?P<lparen>\()|(?P<rparen>\))|(?P<lbracket>\[)|(?P<rbracket>\])"
    r"|(?P<comma>,)|(?P<dot>\.)|(?P<colon>:)"
    r"|(?P<bad>.)",
    re.ASCII | re.DOTALL,  # ASCII: no Unicode digits or letters sneak into numbers and names
)

# characters people paste from papers and other languages, and what gradcheck spells them as
_HINTS = {
    ";": "one expression at a time",
    "'": "strings are not supported",
    '"': "strings are not supported",
    "\u2212": "that is a Unicode minus sign: type '-'",
    "\u2013": "that is a dash: type '-'",
    "\u00b2": "use '**2'",
    "\u00b3": "use '**3'",
    "\u00b7": "use '*' for multiplication",
    "\u00d7": "use '*' for multiplication",
    "\u22c5": "use '*' for multiplication",
    "\u00f7": "use '/' for division",
    "\u03c3": "use sigma(...) for the logistic function",
    "\u221a": "use sqrt(...)",
    "\u03c0": "use pi",
    "\u2211": "use sum(...)",
    "\u2202": "write the function itself; gradcheck differentiates it",
    "!": "'!' is not an operator",
    "{": "braces are not supported; use [ ] for lists",
    "}": "braces are not supported; use [ ] for lists",
    "%": "'%' (modulo) is not supported",
    "&": "'&' is not supported; use * to combine masks",
    "|": "'|' is not supported",
}

Token = tuple[str, str, int]  # (kind, text, start): plain tuples, as a NamedTuple's constructor doubles tokenizing time


def tokenize(text: str) -> list[Token]:
    """Every token of `text` and a final ("end", "", len(text)); a character outside the language is a ParseError."""
    tokens: list[Token] = []
    append = tokens.append
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind == "space":
            continue
        if kind == "bad":
            raise bad_character(text, match.start())
        append((kind, match.group(), match.start()))
    append(("end", "", len(text)))
    return tokens


def bad_character(text: str, pos: int) -> ParseError:
    char = text[pos]
    hint = _power_hint(text, pos) if char == "^" else _HINTS.get(char)
    shown = repr(char) if char.isprintable() else f"U+{ord(char):04X}"
    return ParseError(f"unexpected character {shown}" + (f" ({hint})" if hint else ""), Position(text, pos))


def _power_hint(text: str, pos: int) -> str:
    """`x^2` -> write x**2; `e^x` -> write exp(x): the user's own operands in the fix."""
    base = re.search(r"([A-Za-z_]\w*|\d+\.?\d*|\))\s*$", text[:pos])
    power = re.match(r"\s*(-?[A-Za-z_]\w*|-?\d+\.?\d*|\()", text[pos + 1:])
    if base and base.group(1) == "e" and power:
        return f"for e^{power.group(1)} write exp({power.group(1)})" if power.group(1) != "(" else "for e^(...) write exp(...)"
    if base and power and power.group(1) != "(" and base.group(1) != ")":
        return f"use '**' for powers: {base.group(1)}**{power.group(1)}"
    return "use '**' for powers"


def describe(token: Token) -> str:
    kind, text, _ = token
    return "the end of the expression" if kind == "end" else repr(shorten(text))


def shorten(text: str, limit: int = 40) -> str:
    """Long user text inside a one-line message: its start and an ellipsis (the caret shows where)."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def split_outside(text: str, at) -> tuple[list[tuple[str, int]], str]:
    """`text` split where `at(char)` holds outside (), [], {} and quotes: every piece with its offset (empty ones too),
    and what is left open at the end ('' when nothing: else the quote, or a bracket). The one such splitter: a
    cell's `;`, a point's `,`, a magic's words."""
    pieces, depth, start, quote = [], 0, 0, ""
    for i, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and at(char):
            pieces.append((text[start:i], start))
            start = i + 1
    pieces.append((text[start:], start))
    return pieces, quote or ("bracket" if depth > 0 else "")
