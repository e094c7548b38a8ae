"""Finding expression files and reading their lines lazily, one file open at a time, in bounded memory.

Only regular files are opened (a FIFO, a device or a symlink to /dev/stdin would block forever: git can store such
a symlink, so a pull request could hang CI), and standard input when it is named as `-`; anything else found by a
directory walk, or named explicitly, is an `error` case saying it was skipped. A file is read up to MAX_FILE_BYTES;
lines are produced one by one.
"""

from __future__ import annotations

import os
import re
import sys
from typing import BinaryIO, Iterable, Iterator

from ..errors import FileError
from ..results import FileCase
from .format import EXTENSION, PROGRAM_EXTENSION, Line, file_problem
from .reading import MAX_FILE_BYTES, not_regular, open_regular

Unit = Line | FileCase  # a line to check, or a ready-made result for a path that yields no lines
STDIN = "-"  # the path that means standard input
STDIN_NAME = "<stdin>"  # its lines' file name in reports (<stdin>:3:5)


NEAR_MISSES = (".py", ".ipynb")  # what a directory of derivations holds when its files are not named *.gc.py
NAMED_IN_HINT = 3


def _walk(directory: str) -> tuple[list[tuple[str, str | None]], list[str]]:
    """(every .gc entry under `directory`, sorted by path, with why it cannot be read (None: a regular file); the
    .py and .ipynb files that are not .gc.py, for the hint when there is no .gc entry). Hidden directories (.git,
    .venv) are skipped, symlinked directories are not followed (no loops)."""
    found: list[tuple[str, str | None]] = []
    unreadable: list[tuple[str, str | None]] = []
    misses: list[str] = []

    def note(error: OSError) -> None:  # os.walk would skip an unreadable directory in silence
        unreadable.append((error.filename or directory, f"cannot read this directory: {error.strerror or error}"))

    for root, dirs, names in os.walk(directory, onerror=note):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.endswith(EXTENSION) or name.endswith(PROGRAM_EXTENSION):
                path = os.path.join(root, name)
                found.append((path, not_regular(path)))  # stat only: opening a FIFO would block
            elif name.endswith(NEAR_MISSES) and not name.startswith("."):
                misses.append(os.path.join(root, name))
    order = lambda path: os.path.relpath(path, directory).split(os.sep)  # noqa: E731
    return sorted(found + unreadable, key=lambda entry: order(entry[0])), sorted(misses, key=order)


def nothing_found(directory: str, misses: list[str]) -> str:
    """Why a directory gave nothing to check, naming the files that were probably meant (task1.py, a notebook)."""
    message = f"no {EXTENSION} or {PROGRAM_EXTENSION} files in this directory"
    if not misses:
        return message
    shown = ", ".join(os.path.relpath(path, directory) for path in misses[:NAMED_IN_HINT])
    more = f" and {len(misses) - NAMED_IN_HINT:,} more" if len(misses) > NAMED_IN_HINT else ""
    first = misses[0]
    if first.endswith(".ipynb"):
        return f"{message}; found {shown}{more}: notebooks are not read; paste a cell into a file named *{PROGRAM_EXTENSION}"
    renamed = os.path.basename(first)[:-len(".py")] + PROGRAM_EXTENSION
    return (f"{message}; found {shown}{more}: program files are named *{PROGRAM_EXTENSION} (rename "
            f"{os.path.basename(first)} to {renamed}, or name the file: gradcheck check {first})")


def expand_paths(paths: Iterable[str]) -> list[str | FileCase]:
    """Files to read, in the order given (directories expanded); a FileCase for a path that yields nothing.
    File names only, so the list is small even for a huge tree."""
    items: list[str | FileCase] = []
    seen: set[str] = set()
    for path in paths:
        if path == STDIN:
            items.append(STDIN if STDIN not in seen else file_problem(STDIN, "standard input is named twice; it is read once"))
            seen.add(STDIN)
            continue
        if os.path.isdir(path):
            entries, misses = _walk(path)
            if not entries:
                items.append(file_problem(path, nothing_found(path, misses)))
        elif os.path.exists(path):
            entries = [(path, None)]
        else:
            items.append(file_problem(path, "no such file or directory"))
            continue
        for found, problem in entries:
            if problem is not None:
                items.append(file_problem(found, problem))
                continue
            key = os.path.realpath(found)
            if key not in seen:
                seen.add(key)
                items.append(found)
    return items


def _decode(raw: bytes) -> tuple[str, int | None]:
    """The line as text, and the 1-based column of its first invalid byte (shown as U+FFFD)."""
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as problem:
        return raw.decode("utf-8", errors="replace"), len(raw[:problem.start].decode("utf-8", errors="replace")) + 1


def has_case(line: Line) -> bool:
    return line.bad_byte is not None or bool(line.text.split("#", 1)[0].strip())


def _too_big(size: int) -> str:
    return f"larger than the limit of {MAX_FILE_BYTES:,} bytes ({MAX_FILE_BYTES // (1 << 20)} MiB) for one file; split it"


def _scan(handle: BinaryIO) -> str | None:
    """Why the file cannot be read as text (too large, NUL bytes), reading it once in chunks; None when it can."""
    size = os.fstat(handle.fileno()).st_size
    if size > MAX_FILE_BYTES:
        return _too_big(size)
    total = 0
    while True:
        chunk = handle.read(1 << 20)
        if not chunk:
            break
        total += len(chunk)
        if total > MAX_FILE_BYTES:
            return _too_big(total)
        if b"\0" in chunk:
            return "not a text file (contains NUL bytes)"
    handle.seek(0)
    return None


_DEFINITION = re.compile(r"\s*(def\s|d\s*[A-Za-z_]\w*\s*/\s*d\s*[A-Za-z_]\w*\s*=(?!=))")


def _lines(handle: BinaryIO, path: str) -> Iterator[Unit]:
    """Numbered lines (split on \\n only, as editors count them) that hold a case, one at a time; gate definitions
    (`def g(t) = ...`, `d g/dt = ...`) are no cases: they go with every later line of the file."""
    budget = MAX_FILE_BYTES
    number = 0
    definitions: tuple[tuple[int, str], ...] = ()
    while True:
        raw = handle.readline(budget + 1)
        if not raw:
            return
        budget -= len(raw)
        if budget < 0:  # the file grew while it was read
            yield file_problem(path, _too_big(MAX_FILE_BYTES + 1))
            return
        number += 1
        if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
            raw = raw[3:]  # a UTF-8 byte order mark is not part of the first line
        text, bad = _decode(raw.removesuffix(b"\n").removesuffix(b"\r"))
        if bad is None and _DEFINITION.match(text):
            definitions += ((number, text.split("#", 1)[0]),)
            continue
        line = Line(path, number, text, bad, definitions=definitions)
        if has_case(line):
            yield line


SNIFFED_LINES = 1000  # lines read to tell expression lines from a program in a file named neither .gc nor .py


def holds_expression_lines(handle: BinaryIO) -> bool:
    """Whether a file named neither *.gc nor *.py (`exprs.txt`) holds .gc lines: some line has an `@` point or a
    `=>` claim, and no line is an assignment, an import or a Python def; anything else is read as a program. Reads
    up to SNIFFED_LINES lines and rewinds."""
    from ..lang.program import looks_like_program
    from .format import point_separators

    evidence = False
    try:
        for _ in range(SNIFFED_LINES):
            raw = handle.readline(MAX_FILE_BYTES)
            if not raw:
                break
            code = raw.decode("utf-8", errors="replace").split("#", 1)[0].strip()
            if not code or _DEFINITION.match(code):  # blank, a comment, a gate of the file (`def g(t) = ...`)
                continue
            if "=>" in code or point_separators(code, len(code)):
                evidence = True
            elif looks_like_program(code):
                return False
    finally:
        handle.seek(0)
    return evidence


def read_units(path: str) -> Iterator[Unit]:
    """The case lines of one file, or one FileCase naming why it cannot be read. `-` is standard input, read once
    as .gc lines (`generate | gradcheck check -`), up to the same size limit."""
    if path == STDIN:
        if sys.stdin.isatty():  # a person at the prompt, who may have forgotten the pipe
            print("gradcheck: reading .gc lines from standard input (Ctrl-D ends them)", file=sys.stderr, flush=True)
        yield from _lines(sys.stdin.buffer, STDIN_NAME)
        return
    try:
        handle = open_regular(path)
    except FileError as error:
        yield file_problem(path, error.message)
        return
    with handle:
        try:
            problem = _scan(handle)
        except OSError as error:
            problem = f"cannot read: {error.strerror or error}"
        if problem is not None:
            yield file_problem(path, problem)
            return
        if path.endswith(EXTENSION) or not path.endswith(".py") and holds_expression_lines(handle):
            yield from _lines(handle, path)
            return
        yield _program(handle, path)  # a program file: the whole cell is one case


def _program(handle: BinaryIO, path: str) -> Unit:
    raw = handle.read(MAX_FILE_BYTES + 1)
    text, bad = _decode(raw.removeprefix(b"\xef\xbb\xbf"))
    if bad is not None:
        return file_problem(path, f"invalid UTF-8 at character {bad}")
    return Line(path, 1, text, None, kind="program")


def units(items: Iterable[str | FileCase]) -> Iterator[Unit]:
    """Every line that holds a case, in file order, read lazily; problems with paths as ready-made results."""
    for item in items:
        if isinstance(item, FileCase):
            yield item
        else:
            yield from read_units(item)


class Shard:
    """`--shard K/N`: every N-th case unit starting at the K-th, in the order the files list them — a deterministic
    split (by file and line), so N runs of the same command cover every case exactly once. Counts what it skipped,
    so an empty shard of a non-empty file set can pass."""

    def __init__(self, index: int, count: int):
        self.index, self.count = index, count
        self.skipped = 0

    def select(self, all_units: Iterable[Unit]) -> Iterator[Unit]:
        for position, unit in enumerate(all_units):
            if position % self.count == self.index - 1:
                yield unit
            else:
                self.skipped += 1
