"""Results → JSON (`gradcheck/1`) and the helpers every printer shares; the rich tables are in tables.py.

Knows nothing of parsing. Tensors are nested lists (a Jacobian: output shape + input shape) with their
"shape"; non-finite numbers are the strings "nan", "inf", "-inf"; a value that does not exist (no exact value, no
claim, not at a kink) is null, in a scalar and in each element of a tensor; keys are added, never renamed.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from typing import Any, Iterable

import numpy as np

from .display import cap_message, short_assignments, visible
from .results import CaseResult, GradientCheck, HessianCheck
from .verdict import SEVERITY

SCHEMA = "gradcheck/1"
VERDICT_STYLE = {
    "pass": ("✓ pass", "green"),
    "mismatch": ("✗ mismatch", "bold red"),
    "kink": ("kink", "yellow"),
    "inconclusive": ("? inconclusive", "magenta"),
    "error": ("✗ error", "bold red"),
}


def number(x, digits: int = 13) -> str:
    """13 significant digits by default: a 1e-12 disagreement is visible; JSON carries every digit."""
    if x is None:
        return "—"
    array = np.asarray(x, dtype=np.float64)
    if array.ndim:
        return array_text(array)
    return f"{float(array):.{digits}g}"


def array_text(array, limit: int = 6) -> str:
    """A short look at a tensor: its first values and its shape."""
    array = np.asarray(array, dtype=np.float64)
    shown = ", ".join(f"{v:.6g}" for v in array.reshape(-1)[:limit])
    return f"[{shown}{', …' if array.size > limit else ''}] {shape_text(array.shape)}"


def shape_text(shape) -> str:
    return "(" + ", ".join(str(n) for n in shape) + ("," if len(shape) == 1 else "") + ")"


def json_float(x: float | None) -> float | str | None:
    if x is None:
        return None
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def json_value(x) -> Any:
    """A number, or a tensor as nested lists, with JSON's spelling of non-finite numbers."""
    if x is None or isinstance(x, str):
        return x
    array = np.asarray(x)
    if array.dtype.kind in "USO":  # per-element words (statuses, methods)
        return array.tolist()
    if array.ndim == 0:
        return json_float(float(array))
    return [json_value(item) for item in array]


def json_optional(x) -> Any:
    """A column that may have no value — exact (no exact value), expected and expected_rel_error (no claim for this
    element), left and right (not at a kink), complex (no complex step) — as JSON: `null` where there is none, for
    a scalar and for each element of a tensor alike. Inside gradcheck a tensor marks those elements NaN; in JSON NaN
    ("nan") stays what it is elsewhere, a computed value that is not a number."""
    if x is None:
        return None
    array = np.asarray(x)
    if array.dtype.kind in "USO":
        return array.tolist()
    if array.ndim == 0:
        return None if math.isnan(float(array)) else json_float(float(array))
    return [json_optional(item) for item in array]


# --- JSON ---------------------------------------------------------------------------------------------

def gradient_json(g: GradientCheck) -> dict[str, Any]:
    data = {
        "var": g.var,
        "analytic": json_value(g.analytic),
        "forward": json_value(g.forward),
        "centered": json_value(g.centered),
        "exact": json_optional(g.exact),
        "exact_expr": g.exact_expr,
        "expected": json_optional(g.expected),
        "rel_error": json_value(g.at("rel_error") if g.shape else g.rel_error),
        "status": g.status,
        "richardson": json_value(g.richardson),
        "complex": json_optional(g.complex_step),
        "best": json_value(g.best),
        "best_method": json_value(g.best_method),
        "error_estimate": json_value(g.error_estimate),
        "left": json_optional(g.left),
        "right": json_optional(g.right),
        "expected_rel_error": json_optional(g.at("expected_rel_error") if g.shape else g.expected_rel_error),
        "diagnosis": g.diagnosis,
        "h": {"forward": json_value(g.h_forward), "centered": json_value(g.h_centered)},
    }
    if g.shape:  # tensors: the shape, the element that decided, every element's status and relative error
        data.update({"shape": list(g.shape), "var_shape": list(g.var_shape), "worst": list(g.worst),
                     "statuses": json_value(g.statuses), "rel_errors": json_value(g.rel_error),
                     "failing": [{"index": list(i), "status": s, "diagnosis": d} for i, s, d in g.failing]})
    if g.mode == "directions":
        data["mode"] = "directions"
        data["directions"] = [{"analytic": json_float(s.analytic), "complex": json_optional(s.complex_step),
                               "centered": json_float(s.centered), "magnitude": json_float(s.magnitude), "agrees": s.agrees}
                              for s in g.directions]
    return data


def case_json(case: CaseResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "expr": case.expr,
        "source": case.source,
        "point": {k: json_value(v) for k, v in case.point.items()},
        "value": json_value(case.value),
        "status": case.status,
        "message": case.message,
        "gradients": [gradient_json(g) for g in case.gradients],
        "exact_method": case.exact_method,
        "exact_note": case.exact_note,
        "expected_value": json_value(case.expected_value),
    }
    if case.trace:
        data["trace"] = [
            {"name": r.label, "op": r.operation, "source": r.source, "value": json_value(r.value), "grad": json_value(r.gradient)}
            for r in case.trace
        ]
    data.update(_extras_json(case.extras))
    for key, check in zip(("hessian", "hvp"), case.hessian):  # your hessian and your hvp, when both were given
        data[key] = hessian_json(check)
    return data


def hessian_json(h: HessianCheck) -> dict[str, Any]:
    """Second order: `vars` ([name, index] of each row and column), the matrices (null where not computed: exact
    without an exact column, every matrix past the size limit), the status, and the entries that did not pass."""
    def matrix(value):
        return None if value is None else json_value(value)

    data = {"vars": [[name, list(index)] for name, index in h.vars], "analytic": matrix(h.analytic),
            "exact": None if h.exact is None else json_optional(h.exact), "best": matrix(h.best), "status": h.status,
            "failing": [{"entry": h.entry(row, column), "row": [h.vars[row][0], list(h.vars[row][1])],
                         "column": None if column is None else [h.vars[column][0], list(h.vars[column][1])],
                         "status": status, "diagnosis": text} for (row, column), status, text in h.failing],
            "candidate": h.candidate, "mode": h.mode, "symmetric": h.symmetric, "diagnosis": h.diagnosis,
            "exact_note": h.exact_note, "best_method": matrix(h.best_method), "statuses": matrix(h.statuses),
            "rel_errors": matrix(h.rel_error)}
    if h.expected is not None:
        data["expected"] = json_optional(h.expected)
        data["expected_rel_errors"] = json_optional(h.expected_rel_error)
    if h.mode == "directions":
        data["directions"] = [{"analytic": json_float(s.analytic), "complex": json_optional(s.complex_step),
                               "centered": json_float(s.centered), "magnitude": json_float(s.magnitude), "agrees": s.agrees}
                              for s in h.directions]
    return data


def _extras_json(extras: dict) -> dict[str, Any]:
    """A program's lines, its gate audits, a function's Taylor test."""
    data: dict[str, Any] = {}
    if "lines" in extras:
        data["lines"] = [{"line": r.line, "text": r.text, "target": r.target, "yours": json_value(r.yours),
                          "true": json_value(r.true), "status": r.status, "diagnosis": r.diagnosis} for r in extras["lines"]]
        data["first_wrong_line"] = extras.get("first_wrong_line")
        data["notes"] = list(extras.get("notes", ()))
    if "gates" in extras:
        data["gates"] = [{"gate": a.gate, "argument": a.argument, "status": a.status, "message": a.message,
                          "points": a.points} for a in extras["gates"]]
    if "taylor" in extras:
        t = extras["taylor"]
        data["taylor"] = {"slope": json_float(t.slope), "verdict": t.verdict, "note": t.note,
                          "remainders": [json_float(r) for r in t.remainders]}
    if "precision" in extras:
        data["precision"] = extras["precision"]  # the user's code: float64, or float32 (held to its rounding)
    return data


def summary(cases: Iterable[CaseResult]) -> dict[str, int]:
    counts = {"total": 0, **{s: 0 for s in SEVERITY}}
    for case in cases:
        counts["total"] += 1
        counts[case.status] += 1
    return counts


def to_json(cases: list[CaseResult]) -> str:
    return json.dumps({"schema": SCHEMA, "cases": [case_json(c) for c in cases], "summary": summary(cases)}, indent=2)


# --- the rich table -----------------------------------------------------------------------------------

PIPED_WIDTH = 200  # columns of a report that is not going to a terminal, when COLUMNS does not say


def output_width(stream: Any = None, piped: int = PIPED_WIDTH) -> int:
    """The width output is laid out for: COLUMNS when it is set (a terminal that was resized, CI logs, the docs'
    examples), else the width of the terminal `stream` (default stdout) is, else `piped` for a file or a pipe
    (PIPED_WIDTH for tables, which are seldom cut there)."""
    stream = sys.stdout if stream is None else stream
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        if hasattr(stream, "isatty") and stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError, AttributeError):
        pass
    return piped


class TrimmedLines:
    """A text stream that drops the spaces at the end of every line: rich pads wrapped text and table titles, and
    `grep ' $'` or a diff of two reports should not see them. Spaces at the end of a write are held back until the
    next write shows whether a newline follows them."""

    _TRAILING = re.compile(r" +((?:\x1b\[[0-9;]*m)*)\n")
    _TAIL = re.compile(r" +\Z")

    def __init__(self, stream: Any):
        self.stream, self.pending = stream, ""

    def write(self, text: str) -> int:
        whole = self._TRAILING.sub(r"\1\n", self.pending + text)
        tail = self._TAIL.search(whole)
        self.pending = tail.group() if tail else ""
        self.stream.write(whole[:len(whole) - len(self.pending)])
        return len(text)

    def __getattr__(self, name: str) -> Any:  # isatty, fileno, encoding, flush: the stream's own
        return getattr(self.stream, name)


def make_console(stderr: bool = False, file: Any = None):
    """A rich Console that honours NO_COLOR, lays out for output_width(), and writes no trailing spaces."""
    from rich.console import Console

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    interactive = hasattr(stream, "isatty") and stream.isatty()
    width = None if interactive and not os.environ.get("COLUMNS", "").strip().isdigit() else output_width(stream)
    plain = bool(os.environ.get("NO_COLOR"))  # no-color.org; no bold either, so output greps cleanly
    # markup=False: a '[/b]' in an expression or a file name is text, never a rich tag (a MarkupError lost the report)
    class ReportConsole(Console):
        def on_broken_pipe(self) -> None:  # rich would exit 1; a closed pipe takes the CLI's one path (exit 2)
            raise BrokenPipeError

    return ReportConsole(file=stream if stderr else TrimmedLines(stream), width=width,
                         color_system=None if plain else "auto", highlight=False, soft_wrap=False, emoji=False,
                         markup=False)


SHOWN_EXPRESSION = 200  # characters of an expression shown in a title or message; JSON keeps all of it


def expression_text(text: str) -> str:
    """A 10^5-gate expression is ~1 MB: show its start and its length, not a screenful per case; one line
    even when it came from a file written over several."""
    if "\n" in text or "\t" in text:
        text = " ".join(text.split())
    shown = text if len(text) <= SHOWN_EXPRESSION else f"{text[:SHOWN_EXPRESSION - 1]}… ({len(text):,} characters)"
    return visible(shown)


def value_text(value, short: bool = False) -> str:
    """A point's value as `--at` reads it back (the same doubles); a tensor as a nested list (its shape, when short)."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return _shortest(float(array))
    if short and array.size > 4:
        return f"{shape_text(array.shape)} array"
    return np.array2string(array, separator=", ", threshold=1 << 62, max_line_width=1 << 30,
                           formatter={"float_kind": lambda v: _shortest(float(v))}).replace("\n", "")


def _shortest(x: float) -> str:
    """The shortest text that reads back as the same double (-0.6275, not -0.6274999999999999), without a '.0'."""
    text = repr(x)
    return text[:-2] if text.endswith(".0") else text


def point_text(point: dict, short: bool = False) -> str:
    """`x=3, y=-4`; `short`: tensors by their shape, the first few assignments and the count (`… (3,000 values)`)."""
    if not short or len(point) <= 4:  # a few values are always shown (tensors by shape when short)
        return ", ".join(f"{k}={value_text(v, short)}" for k, v in point.items())
    from itertools import islice

    return short_assignments([f"{k}={value_text(v, True)}" for k, v in islice(point.items(), 16)], len(point))


def message_text(text: str | None) -> str:
    """A case's message for people: visible characters, and capped when thousands of variables each add a note."""
    return visible(cap_message(text or ""))


def summary_line(cases: list[CaseResult]) -> str:
    return counts_line(summary(cases))


def counts_line(counts: dict[str, int]) -> str:
    """`11 cases: 8 pass, 1 kink, 1 mismatch, 1 error` from summary()'s counts."""
    parts = [f"{counts[s]} {s}" for s in SEVERITY if counts[s]]
    if not parts:
        return "0 cases"
    return f"{counts['total']} case{'s' if counts['total'] != 1 else ''}: " + ", ".join(parts)


def worst_status(counts: dict[str, int]) -> str:
    return max(counts, key=SEVERITY.index, default="pass")
