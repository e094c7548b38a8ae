"""Results as plain text: for the Python API's messages, pytest failures and piped output. No colour, no rich.

Every number is printed whole; a line is wrapped between fields, never inside a number.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ..results import CaseResult, GradientCheck
from .text import VERDICT_STYLE, element_text, number, point_shapes, precision_text, shape_text, summary_line

MARKS = {status: label for status, (label, _) in VERDICT_STYLE.items()}


def _at(value, index):
    if value is None:
        return None
    array = np.asarray(value)
    return array if array.ndim == 0 else array[index]


def gradient_lines(g: GradientCheck, width: int) -> list[str]:
    where = f" {shape_text(g.shape)}" if g.shape else ""
    head = f"  d{g.var}{where}: {MARKS[g.status]}"
    if g.mode == "directions":
        agree = sum(1 for s in g.directions if s.agrees)
        head += f"  ({agree} of {len(g.directions)} random directions agree)"
    index = g.worst if g.shape else ()
    fields = [("analytic", g.analytic), ("centered", g.centered), ("best", g.best), ("exact", g.exact), ("claimed", g.expected)]
    values = [f"{name} {number(_at(value, index), array_digits=8)}".replace(" ", "\xa0")  # a field wraps whole: never `rel.` | `error`
              for name, value in fields if value is not None]
    if g.rel_error is not None and not (g.shape and g.mode == "directions"):
        values.append(f"rel.\xa0error\xa0{float(np.nan_to_num(_at(g.rel_error, index), nan=0.0)):.2e}")
    label = "    " + f"element {element_text(index)}: ".replace(" ", "\xa0")[:-1] + " " if g.shape else "    "
    wrapped = textwrap.wrap(label + ", ".join(values), width, subsequent_indent="      ", break_long_words=False)
    lines = [head, *(line.replace("\xa0", " ") for line in wrapped)]
    if g.diagnosis and g.status != "pass":
        lines += textwrap.wrap("    " + g.diagnosis, width, subsequent_indent="      ", break_long_words=False)
    return lines


def case_text(case: CaseResult, width: int = 100) -> str:
    value = number(case.value, array_digits=8)
    lines = textwrap.wrap(f"{MARKS[case.status]}  f = {case.expr.strip()[:200]}  at  {point_shapes(case.point)}  →  f = {value}",
                          width, subsequent_indent="    ", break_long_words=False)
    if case.status == "error" and case.message:
        lines += textwrap.wrap("  " + case.message, width, subsequent_indent="    ", break_long_words=False)
    for row in case.lines or ():
        if row.status not in ("pass", "helper"):
            text = f"  line {row.line}: {row.text.strip()[:60]}  ✗ {row.status}: {row.diagnosis}"
            lines += textwrap.wrap(text, width, subsequent_indent="      ", break_long_words=False)
    for g in case.gradients:
        lines += gradient_lines(g, width)
    if case.hessian:  # second order
        from .hessian import plain_lines

        for h in case.hessian:
            lines += plain_lines(h, width)
    taylor = case.taylor
    if taylor is not None:
        lines += textwrap.wrap(f"  Taylor test: {taylor.note}", width, subsequent_indent="    ", break_long_words=False)
    for note in (*case.notes, *case.function_notes):  # a program's skipped lines, a layer's findings, a random draw
        lines += textwrap.wrap(f"  note: {note}", width, subsequent_indent="    ", break_long_words=False)
    if precision_text(case.precision):
        lines += textwrap.wrap(f"  {precision_text(case.precision)}", width, subsequent_indent="    ", break_long_words=False)
    return "\n".join(lines)


def report_text(cases, width: int = 100) -> str:
    return "\n\n".join([*(case_text(c, width) for c in cases), summary_line(cases)])
