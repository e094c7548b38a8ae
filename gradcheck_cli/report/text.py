"""The one set of formatters: every number, value, point, shape and name a report or a message shows.

Numbers carry enough digits to see the disagreement that decided a verdict (13 significant by default; JSON
carries every digit); a point is written so that `--at` reads back the same doubles; a tensor is shown by its
first values and its shape; text from files goes through display.visible; a cut never falls inside a number.
The printers (table.py, plain.py, stream.py, ci.py, dot.py, sweep.py) and the messages of the lower layers
(problems, directions, the line judge) all take their text from here. numpy, the standard library, and rich's
cell widths only where a cut is measured.
"""

from __future__ import annotations

import re
import shlex
from itertools import islice

import numpy as np

from ..display import POINT_ITEMS, cap_message, short_assignments, visible
from ..lang.values import split_top_level
from ..status import SEVERITY, ExitCode, counts, exit_code

VERDICT_STYLE = {
    "pass": ("✓ pass", "green"),
    "mismatch": ("✗ mismatch", "bold red"),
    "kink": ("kink", "yellow"),
    "inconclusive": ("? inconclusive", "magenta"),
    "error": ("✗ error", "bold red"),
}
SHOWN_EXPRESSION = 200  # characters of an expression shown in a title or message; JSON keeps all of it
EXPR_WIDTH = 40  # characters of an expression shown in a table row or a test name
DETAIL_VARIABLES = 20  # rows of a failing case's table in a batch report (those that did not pass first)
REPRODUCE_LIMIT = 2000  # characters: a longer `gradcheck eval` command is a note instead
WIDE = 120  # at this width and above, tables show 13 significant digits; below, 10 (enough for any rtol >= 1e-9)


# --- numbers and values ----------------------------------------------------------------------------------

def number(x, digits: int = 13, array_digits: int = 6) -> str:
    """13 significant digits by default: a 1e-12 disagreement is visible; JSON carries every digit. A tensor is its
    first values (to `array_digits`) and its shape; None (no such value) is a dash."""
    if x is None:
        return "—"
    array = np.asarray(x, dtype=np.float64)
    if array.ndim:
        return array_text(array, digits=array_digits)
    return f"{float(array):.{digits}g}"


def array_text(array, limit: int = 6, digits: int = 6, start: int = 0) -> str:
    """A short look at a tensor: `limit` values from flat index `start` (the first by default) and its shape."""
    array = np.asarray(array, dtype=np.float64)
    start = min(start, max(array.size - limit, 0))
    shown = ", ".join(f"{v:.{digits}g}" for v in array.reshape(-1)[start:start + limit])
    return f"[{'…, ' if start else ''}{shown}{', …' if array.size > start + limit else ''}] {shape_text(array.shape)}"


def short_number(value, digits: int, limit: int = 4, start: int = 0) -> str:
    """A number, or a tensor's `limit` values from flat index `start` and its shape (a table cell); a dash for None."""
    if value is None:
        return "—"
    array = np.asarray(value, dtype=np.float64)
    return number(array, digits) if array.ndim == 0 else array_text(array, limit, start=start)


def values_text(value) -> str:
    """Every value, for a message that compares two of them: one number at 10 digits, else the whole array."""
    array = np.asarray(value, dtype=np.float64)
    if array.size == 1:
        return f"{float(array.reshape(-1)[0]):.10g}"
    return np.array2string(array, precision=6, separator=", ", max_line_width=1 << 20).replace("\n", "")


def shape_text(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def element_text(index: tuple[int, ...]) -> str:
    """`[1, 2]`: an element of a tensor."""
    return "[" + ", ".join(str(i) for i in index) + "]"


def shortest(x: float) -> str:
    """The shortest text that reads back as the same double (-0.6275, not -0.6274999999999999), without a '.0'."""
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


def value_text(value, short: bool = False) -> str:
    """A point's value as `--at` reads it back (the same doubles); a tensor as a nested list (its shape, when short)."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return shortest(float(array))
    if short and array.size > 4:
        return f"{shape_text(array.shape)} array"
    return np.array2string(array, separator=", ", threshold=1 << 62, max_line_width=1 << 30,
                           formatter={"float_kind": lambda v: shortest(float(v))}).replace("\n", "")


# --- points ------------------------------------------------------------------------------------------------

def point_text(point: dict, short: bool = False) -> str:
    """`x=3, y=-4`; `short`: tensors by their shape, the first few assignments and the count (`… (3,000 values)`)."""
    if not short or len(point) <= 4:  # a few values are always shown (tensors by shape when short)
        return ", ".join(f"{k}={value_text(v, short)}" for k, v in point.items())
    return short_assignments([f"{k}={value_text(v, True)}" for k, v in islice(point.items(), 16)], len(point))


def point_shapes(point: dict, limit: int = 200) -> str:
    """`x=3, W=(2, 2) array`: numbers whole, every tensor by its shape, cut at `limit` characters (plain text)."""
    parts = [f"{name}={shortest(float(array))}" if array.ndim == 0 else f"{name}={shape_text(array.shape)} array"
             for name, array in ((name, np.asarray(value)) for name, value in point.items())]
    text = ", ".join(parts)
    return text if len(text) <= limit else text[:limit - 1] + f"… ({len(point):,} values)"


def point_argument(point: dict) -> str:
    """`x=-2,y=5,W=[[1.5,2]]`: a point as one command-line word that `eval --at` reads back as the same doubles."""
    def text(value) -> str:
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == 0:
            return shortest(float(array))
        return np.array2string(array, separator=",", threshold=1 << 62, max_line_width=1 << 30,
                               formatter={"float_kind": lambda v: shortest(float(v))}).replace("\n", "").replace(" ", "")

    return ",".join(f"{k}={text(v)}" for k, v in point.items())


# --- expressions, messages, counts -------------------------------------------------------------------------

def expression_text(text: str) -> str:
    """A 10^5-gate expression is ~1 MB: show its start and its length, not a screenful per case; one line
    even when it came from a file written over several."""
    if "\n" in text or "\t" in text:
        text = " ".join(text.split())
    shown = text if len(text) <= SHOWN_EXPRESSION else f"{text[:SHOWN_EXPRESSION - 1]}… ({len(text):,} characters)"
    return visible(shown)


def message_text(text: str | None) -> str:
    """A case's message for people: visible characters, and capped when thousands of variables each add a note."""
    return visible(cap_message(text or ""))


def one_line(text: str) -> str:
    return " ".join(text.split())


def counts_line(counts: dict[str, int]) -> str:
    """`11 cases: 8 pass, 1 kink, 1 mismatch, 1 error` from status.counts()."""
    parts = [f"{counts[s]:,} {s}" for s in SEVERITY if counts[s]]
    if not parts:
        return "0 cases"
    return f"{counts['total']:,} case{'s' if counts['total'] != 1 else ''}: " + ", ".join(parts)


def summary_line(cases) -> str:
    return counts_line(counts(c.status for c in cases))


def summary_text(counts: dict[str, int], seconds: float | None = None) -> str:
    """`N cases: a pass, b mismatch … in S s (R cases/s)`."""
    line = counts_line(counts)
    if seconds is not None and seconds > 0 and counts["total"]:
        rate = counts["total"] / seconds
        line += f" in {seconds:.2f} s ({rate:,.0f} cases/s)" if rate >= 10 else f" in {seconds:.2f} s ({rate:.2g} cases/s)"
    return line


# --- cutting to a width, never inside a number ----------------------------------------------------------------

def clip(text: str, width: int, keep_end: bool = False) -> str:
    """`text` cut to `width` terminal cells with an ellipsis (at the start when the end matters: file:line)."""
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) <= width:
        return text
    if keep_end:
        return "…" + set_cell_size(text[::-1], width - 1)[::-1]
    return set_cell_size(text, width - 1) + "…"


_NUMBER = re.compile(r"(?<![A-Za-z_\d.])(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


def clip_expression(text: str, width: int) -> str:
    """An expression cut to `width` cells, never inside or right after a number (`x*1.2…` and `x + 4.5…` both read
    as a value that goes on): a number the cut meets goes whole; the cut ends in `…`."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    cut = clip(text, width)[:-1]
    for found in _NUMBER.finditer(text):
        if found.start() >= len(cut):
            break
        if len(cut) <= found.end():
            cut = cut[:found.start()]
            break
    return cut + "…"


def shorten(text: str, limit: int = EXPR_WIDTH) -> str:
    """An expression for a row or a test name: whole, or cut before a number (see clip_expression)."""
    return clip_expression(text, limit)


def clip_point(text: str, width: int) -> str:
    """A point cut to `width` cells by whole `name=value` items (never inside a value: `z=1…` reads as a number),
    ending in `…`: `x=-2, y=5, …`; just `…` when not even the first item fits."""
    from rich.cells import cell_len

    if cell_len(text) <= width:
        return text
    kept: list[str] = []
    for piece, _ in split_top_level(text, ","):
        item = piece.strip()
        if item.startswith("…") or cell_len(", ".join([*kept, item, "…"])) > width:
            break  # `… (3,000 values)`: the note of a shortened point goes with the items it counted
        kept.append(item)
    return ", ".join([*kept, "…"])


def hanging(text, width: int, indent: int = 4):
    """`text` wrapped between words to `width`, continuation lines indented (styles kept: rich Text slices)."""
    from rich.cells import cell_len
    from rich.text import Text

    plain = text.plain
    if cell_len(plain) <= width:
        return text
    out, start, length, end = Text(), 0, 0, 0
    for word in re.finditer(r"\S+", plain):
        size = cell_len(word.group())
        gap = word.start() - end
        if end and length + gap + size > width:
            out.append_text(text[start:end])
            out.append("\n" + " " * indent)
            start, length = word.start(), indent + size
        else:
            length += gap + size
        end = word.end()
    out.append_text(text[start:])
    return out


# --- one case of a run: its errors, its name, how to reproduce it -----------------------------------------------

def fails(status: str, strict: bool) -> bool:
    """Whether a case fails the run (the rule lives in status.exit_code)."""
    return exit_code([status], strict) != ExitCode.OK


def gradient_error(g) -> float | None:
    """The largest error a gradient's check judged (over every element): analytic against the reference, and the
    claim against the reference; None when nothing was judged."""
    errors = []
    for e in (g.rel_error, g.expected_rel_error):
        values = np.asarray(e, dtype=np.float64) if e is not None else np.zeros(0)
        if values.size and not np.all(np.isnan(values)):
            errors.append(float(np.nanmax(values)))
    return max(errors, default=None)


def worst_error(item) -> float | None:
    """The largest relative error a file case judged, over its gradients and its Hessian's entries (but a kink's:
    its slopes straddle a jump) (None: none judged)."""
    errors = [gradient_error(g) for g in item.case.gradients]
    for h in item.case.hessian:
        for e in (h.rel_error, h.expected_rel_error) if h.statuses is not None else ():
            values = np.where(np.asarray(h.statuses) == "kink", np.nan, np.asarray(e, dtype=np.float64)) if e is not None else np.zeros(0)
            if values.size and not np.all(np.isnan(values)):
                errors.append(float(np.nanmax(values)))
    return max(filter(lambda e: e is not None, errors), default=None)


def shown_gradients(case, limit: int | None):
    """The gradients to show, at most `limit` (those that did not pass first, then in order), and a note on the rest."""
    if limit is None or len(case.gradients) <= limit:
        return case.gradients, None
    rank = sorted(range(len(case.gradients)), key=lambda i: (case.gradients[i].status == "pass", i))
    shown = set(rank[:limit])
    failing = sum(1 for i in rank[limit:] if case.gradients[i].status != "pass")
    rest = len(case.gradients) - limit
    note = f"… and {rest:,} more variables " + (f"({failing:,} of them did not pass)" if failing else "that pass")
    return tuple(g for i, g in enumerate(case.gradients) if i in shown), note


def reproduce(item) -> str | None:
    """The `gradcheck eval` command that checks the same case alone."""
    case = item.case
    if item.command:
        return item.command
    if case.is_program:  # a program file: the file itself
        return f"gradcheck eval {shlex.quote('@' + item.file)}"
    if item.line is None or not case.gradients and case.status == "error" and not case.point:
        return None
    if item.gates:  # eval alone does not know the file's gates: the file does
        return f"gradcheck check {shlex.quote(item.file)}   (line {item.line} uses the file's gates: {', '.join(item.gates)})"
    parts = ["gradcheck", "eval", shlex.quote(case.expr)]
    if case.point:
        parts += ["--at", shlex.quote(point_argument(case.point))]
    if item.claims:
        parts += ["--expect", shlex.quote(item.claims)]
    return " ".join(parts)


def reproduce_line(item) -> str | None:
    """`reproduce: gradcheck eval …`, or a note when that command would be pages long (a point of 3,000 values)."""
    command = reproduce(item)
    if command is None:
        return None
    if len(command) > REPRODUCE_LIMIT:
        values = f"a point of {len(item.case.point):,} values, " if len(item.case.point) > POINT_ITEMS else ""
        return (f"reproduce: (the command would be {len(command):,} characters: {values}too long to show; "
                "--format json has the expression and every value)")
    return visible(f"reproduce: {command}", newlines=False)


def label(item) -> str:
    """`line 3: EXPR @ POINT`, the name of a case in JUnit and in messages (the point shortened)."""
    case = item.case
    if item.line is None:
        return "file"
    where = f" @ {point_text(case.point, short=True)}" if case.point else ""
    return visible(f"line {item.line}: {shorten(case.expr)}{where}", newlines=False)


def details(item) -> str:
    """Plain-text body of a failure: one line per variable (at most DETAIL_VARIABLES), the diagnosis, how to reproduce."""
    case = item.case
    lines = [message_text(case.message or case.status)]
    gradients, left_out = shown_gradients(case, DETAIL_VARIABLES)
    for g in gradients:
        where = f" element {element_text(g.worst)}" if g.shape else ""
        claim = f", claimed {number(g.at('expected'))}" if g.expected is not None else ""
        rel = g.at("rel_error")
        lines.append(f"d{g.var}{where}: {g.status}; analytic {number(g.at('analytic'))}, centered "
                     f"{number(g.at('centered'))}, exact {number(g.at('exact'))}{claim}, rel. error "
                     + ("—" if rel is None or rel != rel else f"{rel:.2e}"))
    if left_out:
        lines.append(left_out)
    if item.caret:
        lines.append(item.caret)
    command = reproduce_line(item)
    if command:
        lines.append(command)
    return "\n".join(lines)


def source_of(item) -> str:
    return visible(item.case.source or item.file, newlines=False)


def failure_line(item) -> str:
    """`FILE:LINE: status: message`; a message that already starts with its FILE:LINE:COL stands alone."""
    source, message = source_of(item), message_text(one_line(item.case.message or ""))
    return message if message.startswith(f"{source}:") else f"{source}: {item.case.status}: {message}"


def wrap_pairs(pairs: list[str], width: int) -> list[str]:
    """`name value` pairs three spaces apart, wrapped between pairs (never inside one) at `width`."""
    lines, current = [], ""
    for pair in pairs:
        if current and len(current) + 3 + len(pair) > width:
            lines.append(current)
            current = pair
        else:
            current = f"{current}   {pair}" if current else pair
    return lines + ([current] if current else [])


def precision_text(precision: str | None) -> str | None:
    """What a function case says of its precision: nothing for float64 (the default)."""
    if precision in (None, "float64"):
        return None
    return (f"precision: {precision} (your gradient is held to {precision}'s rounding; the references are computed in "
            "float64 where your code runs in the precision of its inputs)")
