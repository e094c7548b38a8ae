"""Results → text: the rich table (with --trace) and the `gradcheck/1` JSON. Knows nothing of parsing."""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Iterable

from .check import CaseResult
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
    return Console(file=stream, width=width, color_system=None if plain else "auto", highlight=False,
                   soft_wrap=False, emoji=False)


SHOWN_EXPRESSION = 200  # characters of an expression shown in a title or message; JSON keeps all of it


def expression_text(text: str) -> str:
    """A 10^5-gate expression is ~1 MB: show its start and its length, not a screenful per case; one line
    even when it came from a file written over several."""
    if "\n" in text or "\t" in text:
        text = " ".join(text.split())
    return text if len(text) <= SHOWN_EXPRESSION else f"{text[:SHOWN_EXPRESSION - 1]}… ({len(text):,} characters)"


def point_text(point: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.16g}" for k, v in point.items())


NUMERICAL_METHODS = ("forward", "centered", "richardson", "complex", "best")
DEFAULT_METHODS = ("forward", "centered", "best")
BEST_TAGS = {"complex": "cx", "richardson": "ri", "centered": "ce"}


def _numerical(g: GradientCheck, method: str) -> str:
    if method == "best":
        return f"{number(g.best)} ({BEST_TAGS[g.best_method]})"
    return number({"forward": g.forward, "centered": g.centered, "richardson": g.richardson, "complex": g.complex_step}[method])


def case_table(case: CaseResult, methods: tuple[str, ...] = DEFAULT_METHODS):
    from rich.table import Table
    from rich.text import Text

    with_claims = any(g.expected is not None for g in case.gradients)
    title = Text.assemble(("f = ", "bold"), expression_text(case.expr), "  at  ", point_text(case.point), ("  →  f = ", "bold"), number(case.value))
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("var", style="bold", no_wrap=True, min_width=max(3, *(len(g.var) for g in case.gradients)))
    for name in ("analytic", *methods, "exact", *(("expected",) if with_claims else ())):
        table.add_column(name, justify="right", overflow="fold")  # never hide digits behind an ellipsis
    table.add_column("rel. error", justify="right", no_wrap=True, min_width=10)
    if with_claims:
        table.add_column("claim error", justify="right", no_wrap=True, min_width=11)
    table.add_column("verdict", no_wrap=True, min_width=max(len(VERDICT_STYLE[g.status][0]) for g in case.gradients))
    for g in case.gradients:
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
        table.add_row(str(k), row.label, row.operation, source, number(row.value), number(row.gradient))
    return table


def print_case(console, case: CaseResult, methods: tuple[str, ...] = DEFAULT_METHODS) -> None:
    from rich.text import Text

    if case.trace:
        console.print(trace_table(case))
    if case.status == "error":
        where = f"  at  {point_text(case.point)}" if case.point else ""
        console.print(Text.assemble(("✗ error", "bold red"), f"  {expression_text(case.expr)}{where}: {case.message}"))
        return
    if not case.gradients:  # a constant expression, or --wrt naming nothing: f is all there is to show
        console.print(Text.assemble(("f = ", "bold"), expression_text(case.expr), ("  →  f = ", "bold"), number(case.value),
                                    "  (no variables: nothing to differentiate)"))
        return
    console.print(case_table(case, methods))
    if "best" in methods:
        console.print("  best: the most accurate numerical estimate — (cx) complex step, (ri) Richardson, (ce) centered at a kink")
    formulas = [g for g in case.gradients if g.exact_expr]
    for g in formulas:
        console.print(f"  exact df/d{g.var} = {g.exact_expr}")
    if case.exact_method != "sympy" and case.exact_note:
        console.print(f"  exact: {case.exact_note}")
    elif case.exact_method == "chain":
        console.print("  exact: SymPy's local derivatives chained in multi-precision mpmath (no whole formula; --exact-method auto gives one up to 80 nodes)")
    for g in case.gradients:
        if g.diagnosis:
            label, style = VERDICT_STYLE[g.status] if g.status != "pass" else ("note", "dim")
            console.print(Text.assemble(("  " + label, style), f"  d{g.var}: {g.diagnosis}"))


def summary_line(cases: list[CaseResult]) -> str:
    counts = summary(cases)
    parts = [f"{counts[s]} {s}" for s in SEVERITY if counts[s]]
    return f"{counts['total']} case{'s' if counts['total'] != 1 else ''}: " + ", ".join(parts)


DETAIL_LIMIT = 10  # more points than this: a summary per variable, then only the failing points in full


def points_summary_table(cases: list[CaseResult]):
    """Worst case per variable over many points, and the point where it happened."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"f = {expression_text(cases[0].expr)}  over {len(cases)} points", title_justify="left")
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
        table.add_row(var, f"{g.rel_error:.2e}", point_text(case.point), Text(verdicts, style=style))
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
