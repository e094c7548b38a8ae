"""The words every layer shares, and nothing else: the five verdicts in order of severity, the exit codes, and
the two float64 constants the judge and the numerical references agree on.

A leaf (standard library only), so printers, the CLI and the pytest plugin can name a status or an exit code
without importing the judge, numpy or the engine.
"""

from __future__ import annotations

import enum

SEVERITY = ("pass", "kink", "inconclusive", "mismatch", "error")
PASS, KINK, INCONCLUSIVE, MISMATCH, ERROR = range(5)

EPS = 2.0 ** -52  # float64's machine epsilon (np.finfo(float).eps)
COMPLEX_STEP = 1e-20  # the complex step's h: its truncation error is judged against the centered difference's


class ExitCode(enum.IntEnum):
    """The only exit codes gradcheck uses (exit_code picks between the first two)."""

    OK = 0  # every check passed (kinks and inconclusive allowed unless --strict)
    FAILED = 1  # a mismatch or an error case
    TOOL_ERROR = 2  # the tool could not run: bad option, unparsable expression or point


def counts(statuses) -> dict[str, int]:
    """How many of each status, and the total: a report's summary."""
    tally = {"total": 0, **{s: 0 for s in SEVERITY}}
    for status in statuses:
        tally["total"] += 1
        tally[status] += 1
    return tally


def worst(statuses) -> str:
    return max(statuses, key=SEVERITY.index, default="pass")


def exit_code(statuses: list[str], strict: bool = False) -> ExitCode:
    """The one place exit codes come from: 1 on any mismatch or error (or kink/inconclusive with --strict)."""
    failing = {"mismatch", "error"} | ({"kink", "inconclusive"} if strict else set())
    return ExitCode.FAILED if any(s in failing for s in statuses) else ExitCode.OK
