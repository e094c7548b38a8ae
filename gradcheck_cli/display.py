"""Text from files and arguments made safe and short for human-readable output (terminal, CI logs, JUnit pages).

Control characters, escape sequences and bidirectional overrides in a file could hide or rewrite log lines
(`\\x1b[2K`, `\\r`, U+202E), and a file name that is not UTF-8 could not even be printed: every human-readable
writer shows such characters as visible escapes (`\\x1b`, `\\u202e`, a byte `\\xe9`). JSON keeps the text as it is
(json.dumps escapes it). Standard library only.
"""

from __future__ import annotations

import re

# C0 and C1 controls and DEL (tab and newline handled apart), bidi embeddings/overrides/isolates and marks, the
# line/paragraph separators, noncharacters XML cannot carry, and lone surrogates (undecodable bytes of a name)
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                     "\ufeff\ufffe\uffff\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # surrogateescape: the undecodable byte itself
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def visible(text: str, newlines: bool = True) -> str:
    """`text` with every character that could act on a terminal or a log shown as an escape; tabs become spaces;
    newlines stay (they are the report's own structure) unless `newlines` is False."""
    if not newlines:
        text = text.replace("\n", "\\n")
    return _UNSAFE.sub(_escape, text.replace("\t", " "))


def visible_width_before(text: str, offset: int) -> int:
    """Columns that `text[:offset]` takes once made visible (for a caret under an escaped line)."""
    return len(visible(text[:offset], newlines=False))


def shorten_text(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def cap_message(text: str, limit: int = 1000) -> str:
    """A message of thousands of diagnoses stays readable: its start and how much was left out."""
    return text if len(text) <= limit else f"{text[:limit - 1]}… ({len(text) - limit + 1:,} more characters)"


POINT_ITEMS = 8  # assignments of a point shown in tables, names and messages
POINT_CHARS = 160


def short_assignments(items: list[str], total: int) -> str:
    """`x=1, y=2, …, … (3,000 values)`: the first few of `total` assignments, within POINT_CHARS."""
    shown: list[str] = []
    length = 0
    for item in items[:POINT_ITEMS]:
        if shown and length + len(item) + 2 > POINT_CHARS:
            break
        shown.append(item)
        length += len(item) + 2
    if len(shown) == total:
        return ", ".join(shown)
    return ", ".join(shown) + f", … ({total:,} values)"
