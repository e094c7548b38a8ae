"""Reading input with its size limit enforced while reading, opening only regular files for batches, and report
files written beside their target and renamed into place (so an interrupted run never leaves a half-written or
empty report). Standard library and the parser's limit only: `--help` stays light.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys
from typing import BinaryIO

from ..errors import FileError, InputLimitError, UsageError
from ..lang.expr import MAX_INPUT_CHARS

MAX_EXPRESSION_CHARS = MAX_INPUT_CHARS  # what the parser accepts is all that is read
MAX_FILE_BYTES = 64 * 1024 * 1024  # one .gc file; ~3 million typical lines
CHUNK = 1 << 20


def read_text_limited(stream: BinaryIO, name: str, limit: int | None = None) -> str:
    """UTF-8 text of `stream`, reading at most `limit` (default MAX_EXPRESSION_CHARS) + one chunk of characters:
    an endless stream (`@/dev/zero`, `yes | gradcheck eval -`) ends in an InputLimitError, not in swap."""
    limit = MAX_EXPRESSION_CHARS if limit is None else limit
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    parts: list[str] = []
    count = consumed = 0
    try:
        while True:
            chunk = stream.read(CHUNK)
            pending = len(decoder.getstate()[0])  # bytes of a character split across the previous chunk
            if not chunk:
                parts.append(decoder.decode(b"", final=True))
                break
            text = decoder.decode(chunk)
            consumed += len(chunk)
            count += len(text)
            if count > limit:
                raise InputLimitError(f"{name}: the expression is longer than the limit of {limit:,} characters")
            parts.append(text)
    except UnicodeDecodeError as problem:
        at = consumed - pending + problem.start  # `consumed`: the bytes before this chunk
        raise UsageError(f"cannot read {name}: invalid UTF-8 at byte {max(at, 0) + 1}") from None
    except OSError as problem:
        raise UsageError(f"cannot read {name}: {problem.strerror or problem}") from None
    return "".join(parts).removeprefix("\ufeff")  # a byte-order mark, as editors on Windows write one


def read_expression_source(argument: str) -> tuple[str, str | None]:
    """(text, where it came from): EXPR itself (None), `-` for standard input, or `@FILE` (any readable file,
    including a pipe such as `@<(command)`, read up to the limit)."""
    if argument == "-":
        return read_text_limited(sys.stdin.buffer, "<stdin>"), "<stdin>"
    if not argument.startswith("@"):
        return argument, None
    path = argument[1:]
    from ..display import shorten_text

    try:
        handle = open(path, "rb")
    except (OSError, ValueError) as problem:  # ValueError: a NUL in the path
        reason = getattr(problem, "strerror", None) or str(problem)
        raise UsageError(f"cannot read expression file {shorten_text(path)!r}: {reason}") from None
    with handle:
        if stat.S_ISDIR(os.fstat(handle.fileno()).st_mode):
            raise UsageError(f"cannot read expression file {shorten_text(path)!r}: it is a directory")
        return read_text_limited(handle, f"expression file {shorten_text(path)!r}"), path


# --- batch files: regular files only, never blocking --------------------------------------------------------

def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def not_regular(path: str) -> str | None:
    """Why `path` is not a regular file we may open (without opening it: opening a FIFO blocks), or None."""
    try:
        mode = os.stat(path).st_mode
    except OSError as problem:
        return f"cannot read: {problem.strerror or problem}"
    if stat.S_ISREG(mode):
        return None
    link = "a symlink to " if os.path.islink(path) else ""
    return f"skipped: {link}{_kind(mode)}, not a regular file; only regular files are read"


def open_regular(path: str) -> BinaryIO:
    """Open a regular file for reading, never blocking: O_NONBLOCK so a FIFO swapped in after the check cannot
    hang the open, then fstat to make sure of what was opened."""
    problem = not_regular(path)
    if problem is not None:
        raise FileError(problem)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise FileError(f"cannot read: {error.strerror or error}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FileError("skipped: not a regular file; only regular files are read")
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
    except (ImportError, AttributeError, OSError):  # Windows: no O_NONBLOCK was set
        pass
    return os.fdopen(fd, "rb")


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


# --- report files: written beside their target, renamed into place ------------------------------------------

class ReportFile:
    """`--output FILE`: written to a temporary file in FILE's directory and renamed over FILE at the end
    (os.replace), so FILE is either the previous report or a whole new one — never empty or half-written. A FIFO, a
    device (`/dev/null`) or a symlink (`/dev/stdout`, `/dev/fd/1`: renaming over what it points to would replace the
    caller's own log file) is written directly, as before."""

    def __init__(self, path: str, option: str = "--output"):
        self.path = self.target = path
        self.temp: str | None = None
        try:
            existing = os.stat(path)
        except OSError:
            existing = None
        try:
            if os.path.islink(path) or (existing is not None and not stat.S_ISREG(existing.st_mode)):
                self.handle = open(path, "w", encoding="utf-8")
            else:
                self.handle = self._temporary(None if existing is None else stat.S_IMODE(existing.st_mode))
        except OSError as problem:
            raise UsageError(f"cannot write {option} {path}: {problem.strerror or problem}") from None

    def _temporary(self, mode: int | None):
        import secrets

        directory, name = os.path.split(os.path.abspath(self.target))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        for _ in range(100):
            candidate = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.gradcheck-tmp")
            try:
                fd = os.open(candidate, flags, 0o666 if mode is None else mode)  # new files: 0666 less the umask
            except FileExistsError:
                continue
            self.temp = candidate
            if mode is not None and hasattr(os, "fchmod"):
                os.fchmod(fd, mode)  # the report keeps the mode of the file it replaces
            return os.fdopen(fd, "w", encoding="utf-8")
        raise OSError(f"no free temporary name in {directory}")

    def commit(self) -> None:
        """The report is complete: put it in place."""
        self.handle.close()
        if self.temp is not None:
            os.replace(self.temp, self.target)
            self.temp = None

    def discard(self) -> None:
        """The run failed before a report could be finished: FILE stays as it was, and no temporary file is left."""
        try:
            self.handle.close()
        except OSError:
            pass
        if self.temp is not None:
            try:
                os.unlink(self.temp)
            except OSError:
                pass
            self.temp = None


def input_named_by(output: str, inputs: list[str]) -> str | None:
    """The input file that `output` is (`check mine.gc -o mine.gc` would destroy mine.gc), or None."""
    target = os.path.realpath(output)
    if not os.path.exists(target):
        return None
    return next((path for path in inputs if same_file(path, target)), None)
