"""The Python API: `check` for expressions and programs, `check_function` for your own numpy code.

    from gradcheck_cli import check, check_function
    report = check("sum(tanh(X @ W) ** 2)", at={"X": X, "W": W}, expect={"W": my_dW})
    report.raise_for_status()          # AssertionError with the table when anything failed

Nothing here reads the command line or prints; messages never mention command-line options.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from .results import CaseResult
from .status import SEVERITY, exit_code, worst
from .verdict import Tolerances

MIN_TEXT_WIDTH = 20  # columns: narrower, the indented lines of Report.text would hold nothing


class GradientCheckFailed(AssertionError):
    """Raised by Report.raise_for_status: its message is the report as plain text."""


@dataclass(frozen=True, slots=True)
class Report:
    """What check, check_function and check_layer return: the cases, with pass/fail and the report formats."""

    cases: tuple[CaseResult, ...]
    strict: bool = False  # kinks and inconclusive points fail too

    @property
    def status(self) -> str:
        return worst([c.status for c in self.cases])

    @property
    def ok(self) -> bool:
        return exit_code([c.status for c in self.cases], self.strict) == 0

    def summary(self) -> dict[str, int]:
        counts = {"total": len(self.cases), **{s: 0 for s in SEVERITY}}
        for case in self.cases:
            counts[case.status] += 1
        return counts

    def text(self, width: int | None = None) -> str:
        """The report as plain text wrapped at `width` columns; by default COLUMNS, else the terminal's width when
        standard output is a terminal, else 100 (a log, a pytest failure message)."""
        from .report.plain import report_text
        from .report.table import output_width

        if width is not None and not (isinstance(width, int) and width >= MIN_TEXT_WIDTH):
            raise ValueError(f"width must be a whole number of columns, at least {MIN_TEXT_WIDTH}; got {width!r}")
        return report_text(self.cases, output_width(piped=100) if width is None else width)

    def raise_for_status(self) -> "Report":
        if not self.ok:
            raise GradientCheckFailed(self.text())
        return self

    def to_json(self) -> dict:
        from .report.json import case_json, summary

        return {"schema": "gradcheck/1", "cases": [case_json(c) for c in self.cases], "summary": summary(self.cases)}

    def __str__(self) -> str:
        return self.text()

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """In IPython (a notebook's Out[]): one line; the magics show the tables, report.text() has them all."""
        from .report.text import summary_line

        printer.text(f"<Report {'ok' if self.ok else 'not ok'}: {summary_line(list(self.cases))}>")


def _expect_text(expect, variables: tuple[str, ...]) -> str | None:
    """{"W": array, "f": 3.0} (or "dW" keys) as --expect text; a key that is a variable is that variable's."""
    if expect is None or isinstance(expect, str):
        return expect
    from .inputs.claims import second_order

    items = []
    for name, value in expect.items():
        named = name == "f" or second_order(name, variables) is not None or (
            name not in variables and name.startswith("d") and name[1:] in variables)
        key = name if named else f"d{name}"
        items.append(f"{key}={value}" if isinstance(value, str) else f"{key}={np.asarray(value, dtype=np.float64).tolist()!r}")
    return ", ".join(items)


def check(expr: str, at=None, expect=None, wrt=None, *, rtol: float = 1e-6, atol: float = 0.0, h: float | None = None,
          exact: bool = True, exact_timeout: float = 5.0, dtype: str = "float64", seed: int = 0, strict: bool = False,
          order: int = 1, draws: bool | None = None) -> Report:
    """Check the gradient of `expr` (an expression, or a program's text when it has assignments) at `at`:
    a dict of values (numbers, lists, arrays), an `--at`-style string, or a list of either (one case each).
    `expect`: your claimed gradients, {"W": array or formula string} or "dW=..., f=..." text; {"H": matrix},
    {"d2x": ..., "dxdy": ...} claim second derivatives. `order=2` checks the Hessian too. `draws` (a program): whether its
    d-lines, when all hold, are judged at random draws of its inputs too (docs/programs.md); default: at the
    program's own values yes, at `at` no."""
    from .cli.options import ORDER, case_options, checked
    from .lang.program import looks_like_program
    from .session import check_program_text, check_text

    _validate(rtol, atol, h, exact_timeout)
    options = case_options(rtol=rtol, atol=atol, h=h, exact=exact, exact_timeout=exact_timeout, dtype=dtype,
                           order=checked("order", order, ORDER))
    wrt = _names(wrt)
    if looks_like_program(expr):
        if order == 2:
            raise ValueError("order=2 checks expressions; a program's d-lines are first derivatives")
        if expect is not None:
            raise ValueError("expect is for expressions: in a program, its d-lines (dx = ...) are the claims")
        at_text = at if isinstance(at, str) or at is None else ", ".join(f"{k}={np.asarray(v).tolist()}" for k, v in at.items())
        if draws not in (None, True, False):
            raise ValueError(f"draws must be True, False or None, got {draws!r}")
        return Report((check_program_text(expr, "<program>", at_text, options, seed=seed, wrt=wrt, draws=draws),), strict)
    from .lang.expr import parse

    variables = parse(expr).variables if isinstance(expect, Mapping) else ()
    result = check_text(expr, at, wrt=wrt, expect=_expect_text(expect, variables), options=options, seed=seed)
    return Report(tuple(result) if isinstance(result, list) else (result,), strict)


def check_function(f: Callable, inputs: Mapping[str, object], grad: Callable | None = None, wrt=None, *, rtol: float = 1e-6,
                   atol: float = 0.0, h: float | None = None, seed: int = 0, strict: bool = False,
                   dtype: str | None = None, directions: int = 2, hessian: Callable | None = None,
                   hvp: Callable | None = None, draws: bool = True) -> Report:
    """Check `grad(**inputs)` against `f(**inputs)`: f returns a scalar (or an array: grad gives its Jacobian); grad
    returns an array (one input), a dict or a tuple in the order of `wrt` (default: every floating-point input;
    integer arrays such as labels are passed through). With no grad, f returns (loss, gradients), as cs231n's
    svm_loss returns (loss, dx). f and grad get copies of the inputs. The precision of your code is detected from
    what f and grad return (float32 code is held to float32's rounding); `dtype="float32"` says so where detection
    cannot see it. `hessian(**inputs)` (the matrix over the flattened inputs of wrt, or a dict of blocks
    {(a, b): block}) and `hvp(v, **inputs)` (H·v) are your second derivatives, judged against differences of grad.
    `draws`: a scalar f that passes is also screened at 3 random draws of its float64 inputs (docs/api.md)."""
    from .function.check import check_function as run

    options = _function_options(rtol, atol, h, seed, dtype, directions, draws)
    if grad is None and (hessian is not None or hvp is not None):
        raise ValueError("hessian and hvp are judged against differences of grad: give grad too")
    if grad is None:
        from .function.layer import check_returning_grad

        return Report((check_returning_grad(f, inputs, _names(wrt), seed=seed, options=options),), strict)
    return Report((run(f, inputs, grad, _names(wrt), options, hessian=hessian, hvp=hvp),), strict)


def _function_options(rtol: float, atol: float, h: float | None, seed: int, dtype: str | None, directions: int,
                      draws: bool = True):
    from .function.check import FunctionOptions

    _validate(rtol, atol, h, 1.0, dtype, directions)
    if draws not in (True, False):
        raise ValueError(f"draws must be True or False, got {draws!r}")
    return FunctionOptions(Tolerances(rtol, atol), h, seed, directions, dtype, draws=bool(draws))


def check_layer(forward: Callable, backward: Callable, inputs: Mapping[str, object], wrt=None, *, dout=None, seed: int = 0,
                rtol: float = 1e-6, atol: float = 0.0, h: float | None = None, strict: bool = False,
                dtype: str | None = None, directions: int = 2, draws: bool = True) -> Report:
    """Check a forward/backward pair as cs231n writes them: `forward(**inputs)` returns out, (out, cache), or a dict
    holding 'loss'; `backward(dout, cache)` returns a tuple in forward's parameter order, a dict by name, or one
    array (a backward taking one parameter gets forward's result). The check is of doutᵀJ, with `dout` random
    (seeded) by default. Float arrays and dicts of them are checked (entry by entry); other inputs pass through.
    `draws`: a pair that passes is also screened at 3 random draws of its float64 inputs (docs/layers.md)."""
    from .function.layer import check_layer as run

    options = _function_options(rtol, atol, h, seed, dtype, directions, draws)
    return Report((run(forward, backward, inputs, _names(wrt), dout=dout, seed=seed, options=options),), strict)


def _names(wrt) -> tuple[str, ...] | None:
    """wrt as "W", "W, b" or ["W", "b"]: a string is names, never its characters."""
    if wrt is None:
        return None
    if isinstance(wrt, str):
        return tuple(n.strip() for n in wrt.split(",") if n.strip())
    return tuple(wrt)


def _validate(rtol: float, atol: float, h: float | None, exact_timeout: float, dtype: str | None = "float64",
              directions: int = 2) -> None:
    """The command line's ranges (cli/options.py), as ValueError naming the argument."""
    from .cli.options import ATOL, DIRECTIONS, EXACT_TIMEOUT, RTOL, H, checked

    checked("rtol", rtol, RTOL)
    checked("atol", atol, ATOL)
    if h is not None:
        checked("h", h, H)
    checked("exact_timeout", exact_timeout, EXACT_TIMEOUT)
    if dtype not in (None, "float32", "float64"):
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}")
    checked("directions", directions, DIRECTIONS)
