"""The syntax of points and claims: `x=3, W=[[1,1]], b=rand(2,1), @params.npz`, `dx=2*x, dW ~= [[15, 11]]`.

Only splitting and naming here, with the offsets errors need; values are computed in inputs/points.py and inputs/claims.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import PointError, Position
from .lexer import shorten

_OPEN, _CLOSE = "([", ")]"


def split_top_level(text: str, separator: str = ",") -> list[tuple[str, int]]:
    """Split on `separator` outside parentheses and brackets; each piece with its offset (so errors can point into it)."""
    pieces, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth -= 1
        elif char == separator and depth == 0:
            pieces.append((text[start:i], start))
            start = i + 1
    pieces.append((text[start:], start))
    return pieces


@dataclass(frozen=True, slots=True)
class Item:
    """One `NAME=VALUE` (or `NAME ~= VALUE`, or `@FILE`) of a point or a claim list."""

    name: str  # "" for a whole-file item (@params.npz)
    value: str
    name_offset: int
    value_offset: int
    approximate: bool = False  # `~=`: judged to the digits printed
    kind: str = "value"  # value | seed (np.random.seed(N)); an @FILE item has no name


_SPACED_ASSIGNMENTS = re.compile(r"^\s*[A-Za-z_]\w*\s*=\s*\S+\s+[A-Za-z_]\w*\s*=")
_SEED = re.compile(r"\s*(?:np|numpy)\s*\.\s*random\s*\.\s*seed\s*\(\s*([0-9]+)\s*\)\s*$")


def parse_items(text: str, what: str = "point", source_name: str | None = None, files: bool = False) -> list[Item]:
    """`x=3, y=-4` → Items, with carets on malformed ones; `@FILE` items only where `files` allows them."""
    def at(offset: int) -> Position:
        return Position(text, offset, source_name=source_name)

    items = []
    for piece, offset in split_top_level(text):
        stripped = piece.strip()
        lead = offset + len(piece) - len(piece.lstrip())
        if not stripped:
            raise PointError(f"empty item in {what} (stray ',')", at(offset))
        if files and stripped.startswith("@"):
            items.append(Item("", stripped[1:].strip(), lead, lead + 1))
            continue
        seed = _SEED.match(piece) if files else None
        if seed:  # np.random.seed(42) in a point: the rand() draws after it are the notebook's
            items.append(Item("", seed.group(1), lead, lead, kind="seed"))
            continue
        if ";" in piece and what == "point" and source_name == "--at":
            raise PointError("separate the values of a point with commas (x=3, y=4); for another point, "
                             "repeat --at", at(offset + piece.index(";")))
        if _SPACED_ASSIGNMENTS.match(piece):
            raise PointError(f"separate the values of a {what} with commas (x=3, y=4)", at(lead))
        items.append(_item(piece, offset, lead, what, at))
    return items


def _item(piece: str, offset: int, lead: int, what: str, at) -> Item:
    name_part, eq, value_part = piece.partition("=")
    approximate = name_part.rstrip().endswith("~")
    if approximate:
        name_part = name_part.rstrip()[:-1]
    name = name_part.strip()
    if not eq:
        raise PointError(f"expected NAME=VALUE in {what}, got {shorten(piece.strip())!r}", at(lead))
    if not name.isidentifier() or not name.isascii():
        raise PointError(f"{shorten(name)!r} is not a variable name", at(lead))
    value_offset = offset + len(piece.partition("=")[0]) + 1
    if not value_part.strip():
        raise PointError(f"no value after '{name}='", at(value_offset))
    return Item(name, value_part, lead, value_offset, approximate)
