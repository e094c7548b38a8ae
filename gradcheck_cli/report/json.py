"""Results → JSON (`gradcheck/1`): the document `eval`, `function`, `layer` and `check --format json` write.

Knows nothing of parsing. Tensors are nested lists (a Jacobian: output shape + input shape) with their
"shape"; non-finite numbers are the strings "nan", "inf", "-inf"; a value that does not exist (no exact value, no
claim, not at a kink) is null, in a scalar and in each element of a tensor; keys are added, never renamed.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable

import numpy as np

from ..results import CaseResult, GradientCheck, HessianCheck
from ..status import counts

SCHEMA = "gradcheck/1"

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
    if type(x) is float:  # a scalar case's columns: most values of a .gc file's report
        return x if math.isfinite(x) else json_float(x)
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
    if type(x) is float:
        return x if math.isfinite(x) else None if math.isnan(x) else json_float(x)
    array = np.asarray(x)
    if array.dtype.kind in "USO":
        return array.tolist()
    if array.ndim == 0:
        return None if math.isnan(float(array)) else json_float(float(array))
    return [json_optional(item) for item in array]


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
    data.update(_route_json(case))
    return data


def _route_json(case: CaseResult) -> dict[str, Any]:
    """What a route added: a program's lines and its gate audits, a function's Taylor test."""
    data: dict[str, Any] = {}
    if case.lines is not None:
        data["lines"] = [{"line": r.line, "text": r.text, "target": r.target, "yours": json_value(r.yours),
                          "true": json_value(r.true), "status": r.status, "diagnosis": r.diagnosis} for r in case.lines]
        data["first_wrong_line"] = case.first_wrong_line
        data["notes"] = list(case.notes)
    if case.gates is not None:
        data["gates"] = [{"gate": a.gate, "argument": a.argument, "status": a.status, "message": a.message,
                          "points": a.points} for a in case.gates]
    if case.taylor is not None:
        t = case.taylor
        data["taylor"] = {"slope": json_float(t.slope), "verdict": t.verdict, "note": t.note,
                          "remainders": [json_float(r) for r in t.remainders]}
    if case.precision is not None:
        data["precision"] = case.precision  # the user's code: float64, or float32 (held to its rounding)
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


def summary(cases: Iterable[CaseResult]) -> dict[str, int]:
    return counts(case.status for case in cases)


def to_json(cases: list[CaseResult]) -> str:
    return json.dumps({"schema": SCHEMA, "cases": [case_json(c) for c in cases], "summary": summary(cases)}, indent=2)
