"""Results → text: the rich table (with --trace) and the `gradcheck/1` JSON. Knows nothing of parsing."""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Iterable

from .check import CaseResult
from .display import cap_message, short_assignments, visible
from .verdict import SEVERITY, GradientCheck

SCHEMA = "gradcheck/1"
VERDICT_STYLE = {
    "pass": ("✓ pass", "green"),
    "mismatch": ("✗ mismatch", "bold red"),
    "kink": ("kink", "yellow"),
    "inconclusive": ("? inconclusive", "magenta"),
    "error": ("✗ error", "bold red"),
}


def number(x: float | None) -> str:
    """13 significant digits: a 1e-12 disagreement is visible; JSON carries every digit."""
    if x is None:
        return "—"
    return f"{x:.13g}"


def json_float(x: float | None) -> float | str | None:
    if x is None:
        return None
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


# --- JSON ---------------------------------------------------------------------------------------------

def gradient_json(g: GradientCheck) -> dict[str, Any]:
    return {
        "var": g.var,
        "analytic": json_float(g.analytic),
        "forward": json_float(g.forward),
        "centered": json_float(g.centered),
        "exact": json_float(g.exact),
        "exact_expr": g.exact_expr,
        "expected": json_float(g.expected),
        "rel_error": json_float(g.rel_error),
        "status": g.status,
        "richardson": json_float(g.richardson),
        "complex": json_float(g.complex_step),
        "best": json_float(g.best),
        "best_method": g.best_method,
        "error_estimate": json_float(g.error_estimate),
        "left": json_float(g.left),
        "right": json_float(g.right),
        "expected_rel_error": json_float(g.expected_rel_error),
        "diagnosis": g.diagnosis,
        "h": {"forward": g.h_forward, "centered": g.h_centered},
    }


def case_json(case: CaseResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "expr": case.expr,
        "source": case.source,
        "point": {k: json_float(v) for k, v in case.point.items()},
        "value": json_float(case.value),
        "status": case.status,
        "message": case.message,
        "gradients": [gradient_json(g) for g in case.gradients],
        "exact_method": case.exact_method,
        "exact_note": case.exact_note,
        "expected_value": json_float(case.expected_value),
    }
    if case.trace:
        data["trace"] = [
            {"name": r.label, "op": r.operation, "source": r.source, "value": json_float(r.value), "grad": json_float(r.gradient)}
            for r in case.trace
        ]
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

def make_console(stderr: bool = False, file: Any = None):
    """A rich Console that honours NO_COLOR and does not wrap tables to 80 columns when piped."""
    from rich.console import Console

    stream = file if file is not None else (sys.stderr if stderr else sys.stdout)
    interactive = hasattr(stream, "isatty") and stream.isatty()
    width = None if interactive else int(os.environ.get("COLUMNS", "200"))
    plain = bool(os.environ.get("NO_COLOR"))  # no-color.org; no bold either, so output greps cleanly
    # markup=False: a '[/b]' in an expression or a file name is text, never a rich tag (a MarkupError lost the report)
    return Console(file=stream, width=width, color_system=None if plain else "auto", highlight=False,
                   soft_wrap=False, emoji=False, markup=False)


SHOWN_EXPRESSION = 200  # characters of an expression shown in a title or message; JSON keeps all of it


def expression_text(text: str) -> str:
    """A 10^5-gate expression is ~1 MB: show its start and its length, not a screenful per case; one line
    even when it came from a file written over several."""
    if "\n" in text or "\t" in text:
        text = " ".join(text.split())
    shown = text if len(text) <= SHOWN_EXPRESSION else f"{text[:SHOWN_EXPRESSION - 1]}… ({len(text):,} characters)"
    return visible(shown)


def point_text(point: dict[str, float], short: bool = False) -> str:
    """`x=3, y=-4`; `short`: the first few assignments and the count (`… (3,000 values)`), for titles and messages."""
    if not short or len(point) <= 4:  # a few values are always shown whole
        return ", ".join(f"{k}={v:.16g}" for k, v in point.items())
    from itertools import islice

    return short_assignments([f"{k}={v:.16g}" for k, v in islice(point.items(), 16)], len(point))


def message_text(text: str | None) -> str:
    """A case's message for people: visible characters, and capped when thousands of variables each add a note."""
    return visible(cap_message(text or ""))


NUMERICAL_METHODS = ("forward", "centered", "richardson", "complex", "best")
DEFAULT_METHODS = ("forward", "centered", "best")
BEST_TAGS = {"complex": "cx", "richardson": "ri", "centered": "ce"}


def _numerical(g: GradientCheck, method: str) -> str:
    if method == "best":
        return f"{number(g.best)} ({BEST_TAGS[g.best_method]})"
    return number({"forward": g.forward, "centered": g.centered, "richardson": g.richardson, "complex": g.complex_step}[method])


def shown_gradients(case: CaseResult, limit: int | None) -> tuple[tuple[GradientCheck, ...], str | None]:
    """The gradients to show, at most `limit` (those that did not pass first, then in order), and a note on the rest."""
    if limit is None or len(case.gradients) <= limit:
        return case.gradients, None
    rank = sorted(range(len(case.gradients)), key=lambda i: (case.gradients[i].status == "pass", i))
    shown = set(rank[:limit])
    failing = sum(1 for i in rank[limit:] if case.gradients[i].status != "pass")
    rest = len(case.gradients) - limit
    note = f"… and {rest:,} more variables " + (f"({failing:,} of them did not pass)" if failing else "that pass")
    return tuple(g for i, g in enumerate(case.gradients) if i in shown), note


def case_table(case: CaseResult, methods: tuple[str, ...] = DEFAULT_METHODS, limit: int | None = None):
    from rich.table import Table
    from rich.text import Text

    gradients, _ = shown_gradients(case, limit)
    with_claims = any(g.expected is not None for g in gradients)
    title = Text.assemble(("f = ", "bold"), expression_text(case.expr), "  at  ", point_text(case.point, short=True),
                          ("  →  f = ", "bold"), number(case.value))
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("var", style="bold", no_wrap=True, min_width=max(3, *(len(g.var) for g in gradients)))
    for name in ("analytic", *methods, "exact", *(("expected",) if with_claims else ())):
        table.add_column(name, justify="right", overflow="fold")  # never hide digits behind an ellipsis
    table.add_column("rel. error", justify="right", no_wrap=True, min_width=10)
    if with_claims:
        table.add_column("claim error", justify="right", no_wrap=True, min_width=11)
    table.add_column("verdict", no_wrap=True, min_width=max(len(VERDICT_STYLE[g.status][0]) for g in gradients))
    for g in gradients:
        label, style = VERDICT_STYLE[g.status]
        row = [g.var, number(g.analytic), *(_numerical(g, m) for m in methods), number(g.exact)]
        if with_claims:
            row.append(number(g.expected))
        row.append(f"{g.rel_error:.2e}")
        if with_claims:
            row.append("—" if g.expected_rel_error is None else f"{g.expected_rel_error:.2e}")
        row.append(Text(label, style=style))
        table.add_row(*row)
    return table


def trace_table(case: CaseResult):
    from rich.table import Table

    table = Table(title="staged computation (forward values, then df/d(node) from the backward pass)", title_justify="left")
    for name, justify in (("#", "right"), ("node", "left"), ("operation", "left"), ("source", "left"), ("value", "right"), ("df/dnode", "right")):
        table.add_column(name, justify=justify)
    for k, row in enumerate(case.trace, 1):
        source = " ".join(row.source.split())
        source = source if len(source) <= 40 else source[:39] + "…"
        table.add_row(str(k), visible(row.label), visible(row.operation), visible(source), number(row.value), number(row.gradient))
    return table


def print_case(console, case: CaseResult, methods: tuple[str, ...] = DEFAULT_METHODS, limit: int | None = None) -> None:
    """One case as `eval` shows it; `limit`: at most this many variables' rows (a batch report of a huge case)."""
    from rich.text import Text

    if case.trace:
        console.print(trace_table(case))
    if case.status == "error":
        where = f"  at  {point_text(case.point, short=True)}" if case.point else ""
        console.print(Text.assemble(("✗ error", "bold red"), f"  {expression_text(case.expr)}{where}: {message_text(case.message)}"))
        return
    if not case.gradients:  # a constant expression, or --wrt naming nothing: f is all there is to show
        console.print(Text.assemble(("f = ", "bold"), expression_text(case.expr), ("  →  f = ", "bold"), number(case.value),
                                    "  (no variables: nothing to differentiate)"))
        return
    console.print(case_table(case, methods, limit))
    gradients, left_out = shown_gradients(case, limit)
    if left_out:
        console.print(Text(f"  {left_out} (the JSON report has every one)"))
    if "best" in methods:
        console.print("  best: the most accurate numerical estimate — (cx) complex step, (ri) Richardson, (ce) centered at a kink")
    for g in gradients:
        if g.exact_expr:
            console.print(Text(visible(f"  exact df/d{g.var} = {g.exact_expr}")))
    if case.exact_method != "sympy" and case.exact_note:
        console.print(Text(visible(f"  exact: {case.exact_note}")))
    elif case.exact_method == "chain":
        console.print("  exact: SymPy's local derivatives chained in multi-precision mpmath (no whole formula; --exact-method auto gives one up to 80 nodes)")
    for g in gradients:
        if g.diagnosis:
            label, style = VERDICT_STYLE[g.status] if g.status != "pass" else ("note", "dim")
            console.print(Text.assemble(("  " + label, style), visible(f"  d{g.var}: {g.diagnosis}")))


def summary_line(cases: list[CaseResult]) -> str:
    return counts_line(summary(cases))


def counts_line(counts: dict[str, int]) -> str:
    """`11 cases: 8 pass, 1 kink, 1 mismatch, 1 error` from summary()'s counts."""
    parts = [f"{counts[s]} {s}" for s in SEVERITY if counts[s]]
    return f"{counts['total']} case{'s' if counts['total'] != 1 else ''}: " + ", ".join(parts)


DETAIL_LIMIT = 10  # more points than this: a summary per variable, then only the failing points in full


def points_summary_table(cases: list[CaseResult]):
    """Worst case per variable over many points, and the point where it happened."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(f"f = {expression_text(cases[0].expr)}  over {len(cases)} points"), title_justify="left")
    for name, justify in (("var", "left"), ("worst rel. error", "right"), ("at", "left"), ("verdicts", "left")):
        table.add_column(name, justify=justify)
    by_var: dict[str, list[tuple[GradientCheck, CaseResult]]] = {}
    for case in cases:
        for g in case.gradients:
            by_var.setdefault(g.var, []).append((g, case))
    for var, rows in by_var.items():
        g, case = max(rows, key=lambda r: (SEVERITY.index(r[0].status), r[0].rel_error))
        counts = {}
        for row, _ in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        label, style = VERDICT_STYLE[worst_status(counts)]
        verdicts = ", ".join(f"{n} {s}" for s, n in sorted(counts.items(), key=lambda c: SEVERITY.index(c[0])))
        table.add_row(var, f"{g.rel_error:.2e}", point_text(case.point, short=True), Text(verdicts, style=style))
    return table


def worst_status(counts: dict[str, int]) -> str:
    return max(counts, key=SEVERITY.index, default="pass")


def print_table_report(console, cases: list[CaseResult], methods: tuple[str, ...] = DEFAULT_METHODS) -> None:
    if len(cases) <= DETAIL_LIMIT:
        shown = cases
    else:
        console.print(points_summary_table(cases))
        failing = [c for c in cases if c.status != "pass"]
        shown = failing[:DETAIL_LIMIT]
        if failing:
            console.print(f"the first {len(shown)} of {len(failing)} points that did not pass:")
    for case in shown:
        print_case(console, case, methods)
        console.print()
    console.print(summary_line(cases))
