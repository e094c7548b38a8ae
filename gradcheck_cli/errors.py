"""The exception tree: every user-facing error knows where it happened and can draw a caret."""

from __future__ import annotations

from dataclasses import dataclass

from .display import visible, visible_width_before


@dataclass(frozen=True, slots=True)
class Position:
    """Where in a piece of text something happened (0-based offset into `text`)."""

    text: str
    offset: int
    file: str | None = None
    line: int = 1  # line of `text` inside `file` (1-based)
    column_base: int = 0  # characters on that line before `text` starts
    source_name: str | None = None  # what `text` is when it is not a file line, e.g. "--at"

    @property
    def column(self) -> int:
        return self.column_base + self.offset + 1


class GradcheckError(Exception):
    """Anything the user did that gradcheck cannot run with; rendered as one line plus a caret."""

    def __init__(self, message: str, position: Position | None = None):
        super().__init__(message)
        self.message = message
        self.position = position

    def located(self, file: str | None, line: int, column_base: int) -> "GradcheckError":
        """The same error, placed inside a file (for batch lines)."""
        if self.position is None:
            return self
        p = self.position
        return type(self)(self.message, Position(p.text, p.offset, file, line, column_base, p.source_name))

    def in_source(self, name: str, whole: str, shift: int) -> "GradcheckError":
        """The same error placed at NAME:LINE:COL, for an expression read from a file or stdin that may span lines;
        `shift`: characters of `whole` before the parsed text (stripped whitespace)."""
        if self.position is None:
            return self
        offset = self.position.offset + shift
        start = whole.rfind("\n", 0, offset) + 1
        end = whole.find("\n", offset)
        line_text = whole[start:end if end >= 0 else len(whole)]
        return type(self)(self.message, Position(line_text, offset - start, name, whole.count("\n", 0, offset) + 1))

    def headline(self) -> str:
        """`FILE:LINE:COL: message`, or `COL: message` for a bare expression: one line, whatever the user's text in
        the message holds (a newline in a file name is shown as \\n)."""
        p = self.position
        message = self.message.replace("\r", "\\r").replace("\n", "\\n")
        if p is None:
            return message
        if p.file is not None:
            return f"{p.file}:{p.line}:{p.column}: {message}"
        if p.source_name:
            return f"{p.source_name}, column {p.column}: {message}"
        return f"column {p.column}: {message}"

    def caret(self, width: int = 100) -> str:
        """The offending text with a caret under the column, windowed so long input stays one line."""
        p = self.position
        if p is None:
            return ""
        text = p.text.replace("\n", " ").replace("\t", " ")
        start = max(0, p.offset - width // 2)
        end = min(len(text), start + width)
        prefix = "…" if start > 0 else ""
        suffix = "…" if end < len(text) else ""
        window = text[start:end]
        shown = prefix + visible(window, newlines=False) + suffix  # control characters never reach the terminal raw
        pad = len(prefix) + visible_width_before(window, p.offset - start)
        return f"  {shown}\n  {' ' * pad}^"

    def render(self) -> str:
        caret = self.caret()
        return self.headline() + ("\n" + caret if caret else "")


class ParseError(GradcheckError):
    """The expression text is not valid gradcheck syntax."""


class PointError(GradcheckError):
    """A `--at` point is malformed, misses a variable or names an unknown one."""


class UsageError(GradcheckError):
    """A command-line option combination that cannot run."""


class InputLimitError(GradcheckError):
    """The input is larger than gradcheck will process (bounds the work on hostile input)."""


class FormatError(GradcheckError):
    """A line of an expression file that does not follow the file format (`@`, `;`, `=>`, `#`)."""


class FileError(GradcheckError):
    """A path that cannot be read as an expression file (missing, unreadable, not text)."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM, turned into the same clean path as Ctrl-C (a KeyboardInterrupt, so `except Exception` never eats it)."""

    def __init__(self, signal_number: int):
        super().__init__(signal_number)
        self.signal_number = signal_number


class ShapeMismatch(Exception):
    """Raised by an op's shape rule (no position yet); the graph builder turns it into a ShapeError."""


class ShapeError(GradcheckError):
    """Operand shapes that do not fit an operation (`@` of (3, 1) and (2, 1)), or values of the wrong shape."""
