"""How the command line is read, in one place (click only: `--help` stays light): every numeric option's range,
the option records the commands hand on, the shared numeric options, and an EXPRESSION that may start with '-'.

Each option has one range (docs/verdicts.md, "Option ranges"), defined here once and used by the click types and by
the Python API alike; a value outside it — nan, inf, negative, absurdly large — is a usage error (exit 2) naming the
option and the range, before any work starts (the API raises ValueError). The ranges:

    --rtol           finite, in [0, 1)
    --atol           finite, in [0, 1e6]
    --h              finite, in [1e-300, 1e3]   (and eval checks it moves every variable of every point)
    --exact-timeout  finite, in [0, 3600] s     (0 = no limit)
    --samples        1 .. 10,000 in eval; 1 .. 1,000 per line in check
    --jobs           0 .. 256                   (0 = one per 64 lines, up to one per CPU)
    --directions     1 .. 64                    (random directions per variable past 10,000 elements)
    --order          1 .. 2                     (2: the Hessian too)
    --shard          K/N with 1 <= K <= N <= 10,000
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any, Callable

import click

SHARDS_MAX = 10_000


def _short(x: float) -> str:
    """1e6, 1e-300, 3600: how a person writes a bound."""
    return f"{x:g}".replace("e+0", "e").replace("e+", "e").replace("e-0", "e-")


@dataclass(frozen=True, slots=True)
class FloatRange:
    """A finite float in [low, high] (or [low, high) with high_open)."""

    low: float
    high: float
    high_open: bool = False
    note: str = ""

    def bounds(self) -> str:
        return f"[{_short(self.low)}, {_short(self.high)}{')' if self.high_open else ']'}"

    def text(self) -> str:
        return self.bounds() + (f", {self.note}" if self.note else "")

    def holds(self, number: float) -> bool:
        above = number >= self.high if self.high_open else number > self.high
        return math.isfinite(number) and number >= self.low and not above


@dataclass(frozen=True, slots=True)
class IntRange:
    """A whole number in [low, high]."""

    low: int
    high: int
    note: str = ""

    def bounds(self) -> str:
        return f"{self.low}..{self.high:,}"

    def text(self) -> str:
        return self.bounds() + (f", {self.note}" if self.note else "")

    def holds(self, number: int) -> bool:
        return isinstance(number, int) and not isinstance(number, bool) and self.low <= number <= self.high


RTOL = FloatRange(0.0, 1.0, high_open=True)  # a relative tolerance of 1 or more accepts any value
ATOL = FloatRange(0.0, 1e6)
H = FloatRange(1e-300, 1e3)
EXACT_TIMEOUT = FloatRange(0.0, 3600.0, note="0 = no limit")
EVAL_SAMPLES = IntRange(1, 10_000)  # points of one expression go through the graph as one batch: bounds its memory
CHECK_SAMPLES = IntRange(1, 1_000)  # per line of a file
JOBS = IntRange(0, 256, note="0 = one per 64 lines, up to one per CPU")
DIRECTIONS = IntRange(1, 64)
ORDER = IntRange(1, 2)  # derivatives checked: the gradient; 2: the Hessian too


def checked(name: str, value, allowed: FloatRange | IntRange):
    """The API's check of one value against the CLI's range: ValueError naming the argument and the range."""
    bounds = allowed.bounds() + (f" ({allowed.note})" if allowed.note else "")
    if isinstance(allowed, FloatRange):
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a number in {bounds}, got {value!r}") from None
        if not allowed.holds(number):
            raise ValueError(f"{name} must be in {bounds}, got {value}")
        return number
    if not allowed.holds(value):
        raise ValueError(f"{name} must be an integer in {bounds}, got {value!r}")
    return value


class OptionValueError(click.UsageError):
    """A numeric option outside its range: printed as `gradcheck: --rtol must be ... (got nan)`, exit 2."""


def _fail(param: click.Parameter | None, what: str, got: object) -> None:
    name = param.opts[0] if isinstance(param, click.Option) and param.opts else "the value"
    raise OptionValueError(f"{name} must be {what} (got {got})")


class BoundedFloat(click.ParamType):
    """A float option in its range: nan, inf and out-of-range are usage errors."""

    name = "float"

    def __init__(self, allowed: FloatRange):
        self.allowed = allowed

    def range_text(self) -> str:
        return self.allowed.text()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                _fail(param, f"a finite number in {self.range_text()}", repr(value))
        if not self.allowed.holds(number):
            _fail(param, f"a finite number in {self.range_text()}", _short(number))
        return number


class BoundedInt(click.ParamType):
    """A whole-number option in its range; the message names the range."""

    name = "integer"

    def __init__(self, allowed: IntRange):
        self.allowed = allowed

    def range_text(self) -> str:
        return self.allowed.text()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            text = str(value).strip()
            try:
                number = int(text)
            except ValueError:
                _fail(param, f"a whole number in {self.range_text()}", repr(value) if len(text) < 40 else "a long text")
        if not self.allowed.holds(number):
            _fail(param, f"a whole number in {self.range_text()}", f"{number:,}" if abs(number) < 10 ** 30 else "a huge number")
        return number


class ShardType(click.ParamType):
    """`K/N`: the K-th of N shares of the cases (1-based, as CI matrices count)."""

    name = "K/N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[int, int]:
        if isinstance(value, tuple):
            return value
        index, slash, count = str(value).strip().partition("/")
        if not (slash and index.strip().isdigit() and count.strip().isdigit()):
            _fail(param, "K/N, two whole numbers such as 2/3", repr(value))
        k, n = int(index), int(count)
        if not 1 <= k <= n <= SHARDS_MAX:
            _fail(param, f"K/N with 1 <= K <= N <= {SHARDS_MAX:,}", f"{k}/{n}" if max(k, n) < 10 ** 30 else "huge numbers")
        return k, n


RTOL_TYPE = BoundedFloat(RTOL)
ATOL_TYPE = BoundedFloat(ATOL)
H_TYPE = BoundedFloat(H)
EXACT_TIMEOUT_TYPE = BoundedFloat(EXACT_TIMEOUT)
EVAL_SAMPLES_TYPE = BoundedInt(EVAL_SAMPLES)
CHECK_SAMPLES_TYPE = BoundedInt(CHECK_SAMPLES)
JOBS_TYPE = BoundedInt(JOBS)
DIRECTIONS_TYPE = BoundedInt(DIRECTIONS)
ORDER_TYPE = BoundedInt(ORDER)
SHARD_TYPE = ShardType()

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def numeric_options(exact_method_default: str, exact_method_help: str, no_exact_help: str) -> Decorator:
    """--h, --rtol, --atol, --exact-timeout, --exact-method, --no-exact: the same types for eval and check."""
    decorators = [
        click.option("--h", "h", type=H_TYPE, help=f"Finite-difference step, {H_TYPE.range_text()} (default: scaled to each variable; docs/verdicts.md)."),
        click.option("--rtol", type=RTOL_TYPE, default=1e-6, show_default=True, help=f"Relative tolerance of every comparison, {RTOL_TYPE.range_text()}."),
        click.option("--atol", type=ATOL_TYPE, default=0.0, show_default=True, help=f"Absolute tolerance added to every comparison, {ATOL_TYPE.range_text()}."),
        click.option("--exact-timeout", type=EXACT_TIMEOUT_TYPE, default=5.0, show_default=True,
                     help=f"Seconds the exact column may take per case (all its points), {EXACT_TIMEOUT_TYPE.range_text()}."),
        click.option("--exact-method", type=click.Choice(["auto", "chain"]), default=exact_method_default, show_default=True,
                     help=exact_method_help),
        click.option("--no-exact", is_flag=True, help=no_exact_help),
    ]

    def apply(function: Callable[..., Any]) -> Callable[..., Any]:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def code_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """--h, --rtol, --atol, --no-draws: the same options for the commands that check your own code (function, layer)."""
    for decorator in reversed([
        click.option("--h", "h", type=H_TYPE, help=f"Finite-difference step, {H_TYPE.range_text()} (default: scaled to each element)."),
        click.option("--rtol", type=RTOL_TYPE, default=1e-6, show_default=True, help=f"Relative tolerance, {RTOL_TYPE.range_text()}."),
        click.option("--atol", type=ATOL_TYPE, default=0.0, show_default=True, help=f"Absolute tolerance, {ATOL_TYPE.range_text()}."),
        click.option("--draws/--no-draws", default=True, show_default=True,
                     help="A gradient that passes is checked at 3 random draws of the float64 inputs too (rand() "
                          "weights can hide relu's mask); --no-draws: only at the given inputs."),
    ]):
        function = decorator(function)
    return function


class ExpressionCommand(click.Command):
    """A command whose first argument is an expression that may start with '-' (`-tanh(x)`, `-1`, `--x`).

    click would read `-tanh(x)` as the bundled short options -t -a -n -h ... and show the help; so before click
    parses, the first token that is not an option (or an option's value) is moved behind a `--`, where click
    takes it literally. A token that is exactly an option name (`-h`, `--at`) is still that option; `-` alone is
    standard input."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, expression_last(args, self.get_params(ctx)))


def expression_last(args: list[str], params: list[click.Parameter]) -> list[str]:
    """`args` with the expression (the first positional token) placed after `--` when it starts with '-'."""
    takes_value: set[str] = set()
    flags: set[str] = set()
    for param in params:
        if isinstance(param, click.Option):
            names = set(param.opts) | set(param.secondary_opts)
            (flags if param.is_flag or param.count else takes_value).update(names)
    i = 0
    while i < len(args):
        token = args[i]
        if token == "--" or token == "-" or not token.startswith("-"):
            return args  # `--`: everything after is literal already; otherwise the expression needs no help
        name = token.split("=", 1)[0] if token.startswith("--") else token
        if name in takes_value:
            i += 1 if "=" in token and token.startswith("--") else 2
            continue
        if token in flags:
            i += 1
            continue
        rest = args[:i] + args[i + 1:]
        if "--" in rest:  # the user's own `--` comes later: the expression is the first literal after it
            k = rest.index("--") + 1
            return rest[:k] + [token] + rest[k:]
        return rest + ["--", token]
    return args


NUMERIC = ("h", "rtol", "atol", "exact_timeout", "exact_method", "no_exact")  # what numeric_options adds


@dataclass(frozen=True, slots=True)
class NumericOptions:
    """The values of numeric_options (eval and check), as click read them."""

    h: float | None
    rtol: float
    atol: float
    exact_timeout: float
    exact_method: str
    no_exact: bool

    @classmethod
    def take(cls, given: dict) -> "NumericOptions":
        """Its fields out of a command's keyword arguments (they are removed from `given`)."""
        return cls(**{name: given.pop(name) for name in NUMERIC})

    def case_options(self, **more):
        return case_options(h=self.h, rtol=self.rtol, atol=self.atol, exact=not self.no_exact,
                            exact_timeout=self.exact_timeout, exact_method=self.exact_method, **more)


def case_options(*, rtol: float = 1e-6, atol: float = 0.0, h: float | None = None, exact: bool = True,
                 exact_timeout: float = 5.0, exact_method: str = "auto", trace: bool = False, dtype: str = "float64",
                 directions: int = 2, order: int = 1):
    """A check's Options from values already in their ranges (click's types, or `checked` in the API)."""
    from ..expression.check import Options
    from ..verdict import Tolerances

    return Options(h=h, tolerances=Tolerances(rtol, atol), exact=exact, exact_timeout=exact_timeout,
                   exact_method=exact_method, trace=trace, dtype=dtype, directions=directions, order=order)


def with_file_hint(error, argument: str):
    """The error EXPRESSION gave; or, when EXPRESSION is the name of an existing file, the `@` it lacks (EXPRESSION is
    text, @FILE a file), as a one-line error of its own."""
    import shlex

    if argument.startswith("@") or argument == "-" or not os.path.isfile(argument):
        return error
    from ..errors import UsageError

    if argument.endswith(".gc"):
        return UsageError(f"{argument} is an expression file: did you mean gradcheck check {shlex.quote(argument)}? "
                          "(EXPRESSION is one expression, or one program from @FILE)")
    return UsageError(f"{argument} is a file: did you mean {shlex.quote('@' + argument)}? (EXPRESSION is read as text; "
                      "@FILE reads a file)")
