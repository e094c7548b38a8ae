"""Click commands only: read options, call the library, hand results to a formatter, exit.

Nothing heavy is imported at module level, so `gradcheck --help` loads neither numpy nor SymPy.
"""

from __future__ import annotations

import math
import os
import sys

import click

from .errors import ExitCode, GradcheckError, ParseError, UsageError


def _fail(error: GradcheckError) -> None:
    click.echo(f"gradcheck: {error.render()}", err=True)
    sys.exit(ExitCode.TOOL_ERROR)


def read_expression(argument: str) -> tuple[str, str | None]:
    """(text, where it came from): EXPR itself (None), `-` for standard input, or `@FILE` (for expressions longer
    than a command line). A byte-order mark is dropped, as editors on Windows write one."""
    if argument == "-":
        return sys.stdin.read().removeprefix("\ufeff"), "<stdin>"
    if argument.startswith("@"):
        path = argument[1:]
        try:
            with open(path, encoding="utf-8-sig") as handle:
                return handle.read(), path
        except (OSError, UnicodeDecodeError, ValueError) as problem:  # ValueError: a NUL in the path
            from .parser import shorten

            reason = getattr(problem, "strerror", None) or str(problem)
            raise UsageError(f"cannot read expression file {shorten(path)!r}: {reason}") from None
    return argument, None


def parse_expression(argument: str):
    """Parse EXPR, `-` or `@FILE`; a syntax error in a file or stdin is reported as NAME:LINE:COL."""
    from .parser import parse

    whole, source = read_expression(argument)
    text = whole.strip()
    try:
        return parse(text)
    except ParseError as error:
        if source is None:
            raise
        raise error.in_source(source, whole, len(whole) - len(whole.lstrip()) if text else 0) from None


def _check_step(h: float, points: list[dict[str, float]], names: tuple[str, ...]) -> None:
    """--h must move every variable: below the float spacing at x, x+h/4 == x and every difference is 0/0."""
    for point in points:
        for name in names:
            x = point[name]
            if x + h / 4 == x:
                raise UsageError(f"--h {h:g} is below the spacing of floats at {name}={x:g}; use a larger --h")


class _Group(click.Group):
    """One-line usage errors (exit 2), and the last line of defence: a bug still ends in one line, never a traceback."""

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, standalone_mode=False, **kwargs)
        except click.UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # bare `gradcheck`: the help itself (click >= 8.2)
                click.echo(error.format_message(), err=True)
                sys.exit(ExitCode.TOOL_ERROR)
            command = error.ctx.command_path if error.ctx else "gradcheck"
            click.echo(f"{command}: {error.format_message()} (see {command} --help)", err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except click.ClickException as error:
            click.echo(f"gradcheck: {error.format_message()}", err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except click.Abort:
            click.echo("gradcheck: aborted", err=True)
            sys.exit(ExitCode.TOOL_ERROR)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GradcheckError as error:
            _fail(error)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except BrokenPipeError:  # `gradcheck ... | head`: the reader left; say nothing more, and flush nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(ExitCode.TOOL_ERROR)
        except Exception as problem:  # noqa: BLE001
            click.echo(f"gradcheck: internal error: {type(problem).__name__}: {problem} (please report it with the command)", err=True)
            sys.exit(ExitCode.TOOL_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="gradcheck", prog_name="gradcheck")
def main() -> None:
    """Check hand-derived gradients: backprop through a gate graph, finite differences and SymPy, side by side.

    \b
    Exit codes: 0 every check passed (kinks allowed), 1 a check failed (mismatch or error),
    2 the tool could not run (bad option, expression or point).
    """


@main.command("eval", context_settings={"ignore_unknown_options": True})  # so "-x**2" is an expression, not an option
@click.argument("expression")
@click.option("--at", "points", multiple=True, metavar="x=3,y=-4", help="A point; values may be constant expressions (pi/4). Repeat for several points.")
@click.option("--wrt", metavar="x,y", help="Check only these variables (default: all, in order of appearance).")
@click.option("--h", "h", type=float, help="Finite-difference step (default: scaled to each variable, see README).")
@click.option("--rtol", type=float, default=1e-6, show_default=True, help="Relative tolerance of every comparison.")
@click.option("--atol", type=float, default=0.0, show_default=True, help="Absolute tolerance added to every comparison.")
@click.option("--expect", metavar="dx=VALUE,dy=EXPR", help="Your claimed gradient: numbers or expressions in the variables.")
@click.option("--exact-timeout", type=click.FloatRange(min=0), default=5.0, show_default=True, help="Seconds the SymPy column may take per point (0 = no limit).")
@click.option("--exact-method", type=click.Choice(["auto", "chain"]), default="auto", show_default=True,
              help="auto: SymPy's whole formula for small expressions (slow: ~10-30 ms each), else chained local rules; chain: always the chained rules (no formula, ~10x faster).")
@click.option("--no-exact", is_flag=True, help="Skip the SymPy column.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--trace", is_flag=True, help="Show the staged computation: every gate's value and gradient.")
@click.option("--samples", type=click.IntRange(min=1), help="Also check N seeded random points (uniform in [-3, 3], 4 decimals) where f is finite and off kinks.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --samples.")
@click.option("--methods", metavar="LIST",
              help="Numerical columns of the table, from forward, centered, richardson, complex, best "
                   "[default: forward,centered,best; forward,centered with --expect].")
@click.option("--strict", is_flag=True, help="Kinks and inconclusive points fail too.")
def eval_command(expression: str, points: tuple[str, ...], wrt: str | None, h: float | None, rtol: float, atol: float,
                 expect: str | None, exact_timeout: float, exact_method: str, no_exact: bool, output_format: str, trace: bool,
                 samples: int | None, seed: int, methods: str | None, strict: bool) -> None:
    """Check the gradient of EXPRESSION at one or more points.

    EXPRESSION may be `-` (read from standard input) or `@FILE`.

    \b
    Example:
      gradcheck eval "(x+sigma(y))/(sigma(x)+(x+y)**2)" --at x=3,y=-4 --trace
    """
    try:
        from .check import Options, check_points, parse_claims, parse_point
        from .sampling import sample_points
        from .graph import build_graph
        from .verdict import Tolerances, exit_code

        from .report import NUMERICAL_METHODS

        methods = methods or ("forward,centered" if expect else "forward,centered,best")  # claims need the width
        shown_methods = tuple(m.strip() for m in methods.split(",") if m.strip())
        for m in shown_methods:
            if m not in NUMERICAL_METHODS:
                raise UsageError(f"--methods: unknown method '{m}' (choose from {', '.join(NUMERICAL_METHODS)})")
        if h is not None and not (math.isfinite(h) and h > 0):
            raise UsageError(f"--h must be a positive finite number, not {h}")
        if not (math.isfinite(rtol) and math.isfinite(atol) and rtol >= 0 and atol >= 0):
            raise UsageError(f"--rtol and --atol must be finite and >= 0 (got --rtol {rtol}, --atol {atol})")
        expr = parse_expression(expression)
        graph = build_graph(expr)
        if not points and not samples:
            if graph.variables:
                raise UsageError(f"give a point with --at or --samples N (the expression's variables: {', '.join(graph.variables)})")
            points = ("",)
        chosen = graph.variables
        if wrt:
            chosen = tuple(dict.fromkeys(name.strip() for name in wrt.split(",")))  # x,x checks x once
            for name in chosen:
                if name not in graph.variables:
                    raise UsageError(f"--wrt names '{name}', which is not a variable of the expression ({', '.join(graph.variables)})")
        claims = parse_claims(expect, graph.variables) if expect else {}
        options = Options(h=h, tolerances=Tolerances(rtol, atol), exact=not no_exact, exact_timeout=exact_timeout,
                          exact_method=exact_method, trace=trace)
        parsed_points = [parse_point(p, graph.variables) if graph.variables else {} for p in points]
        if samples:
            drawn, tried = sample_points(graph, claims, samples, seed)
            if not drawn:
                raise UsageError(f"no usable point among {tried} drawn from [-3, 3]: f, its gradient or a claim is not finite (--seed {seed})")
            parsed_points += drawn
        if h is not None:
            _check_step(h, parsed_points, chosen)
    except GradcheckError as error:
        _fail(error)
        return
    cases = check_points(graph, parsed_points, chosen, options, claims)
    from . import report

    if output_format == "json":
        click.echo(report.to_json(cases))
    else:
        report.print_table_report(report.make_console(), cases, shown_methods)
    sys.exit(exit_code([c.status for c in cases], strict))


@main.command("sweep", context_settings={"ignore_unknown_options": True})
@click.argument("expression")
@click.option("--at", "point_text", required=True, metavar="x=3,y=-4", help="The point.")
@click.option("--wrt", metavar="x", help="The variable (default: the first one).")
@click.option("--plot", "plot_path", metavar="FILE.png", help="Also save the plot as a PNG (needs matplotlib).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def sweep_command(expression: str, point_text: str, wrt: str | None, plot_path: str | None, output_format: str) -> None:
    """Error of forward, centered and Richardson differences against the exact derivative, for h = 1e-1 … 1e-15."""
    try:
        from .check import parse_point, point_problem
        from .graph import build_graph

        expr = parse_expression(expression)
        graph = build_graph(expr)
        if not graph.variables:
            raise UsageError("the expression has no variables to differentiate")
        var = wrt.strip() if wrt else graph.variables[0]
        if var not in graph.variables:
            raise UsageError(f"--wrt names '{var}', which is not a variable of the expression ({', '.join(graph.variables)})")
        point = parse_point(point_text, graph.variables)
        problem = point_problem(graph, point, (var,))
        if problem is not None:  # no derivative to approach: nothing to sweep
            raise UsageError(f"cannot sweep at {point_text.strip()}: {problem}")
        if plot_path:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                raise UsageError("--plot needs matplotlib: pip install 'gradcheck[plot]'") from None
    except GradcheckError as error:
        _fail(error)
        return
    from .exact import exact_gradient
    from .numeric import complex_step
    from .sweep import ascii_plot, save_plot, sweep

    exact = exact_gradient(expr, point, (var,))
    reference, method = exact.values[var], "exact"
    if reference is None:
        reference, method = complex_step(graph, [point], (var,))[0][var], "complex step"
    result = sweep(graph, point, var, reference, method)
    if output_format == "json":
        import json

        from .report import json_float

        click.echo(json.dumps({"schema": "gradcheck-sweep/1", "var": var, "point": point, "reference": json_float(reference),
                               "reference_method": method, "chosen_h": result.chosen,
                               "rows": [{"h": r.h, **{m: json_float(v) for m, v in r.estimates.items()},
                                         "errors": {m: json_float(v) for m, v in r.errors.items()}} for r in result.rows]}, indent=2))
    else:
        from rich.table import Table

        from .report import expression_text, make_console, number

        console = make_console()
        table = Table(title=f"d/d{var} of {expression_text(expr.text)} at {point_text}: reference {number(reference)} ({method})", title_justify="left")
        table.add_column("h", justify="right")
        for m in ("forward", "centered", "richardson"):
            table.add_column(f"{m} rel. error", justify="right")
        nearest = {kind: min(result.rows, key=lambda r: abs(math.log10(r.h / h))).h for kind, h in result.chosen.items()}
        for r in result.rows:
            marks = "".join(f" ◀ {kind} h" for kind in ("centered", "forward") if nearest[kind] == r.h)
            table.add_row(f"{r.h:.0e}{marks}", *(f"{r.errors[m]:.2e}" for m in ("forward", "centered", "richardson")))
        console.print(table)
        console.print(f"gradcheck's steps here: forward h = {result.chosen['forward']:.3g}, centered h = {result.chosen['centered']:.3g}")
        console.print(ascii_plot(result), markup=False)
    if plot_path:
        save_plot(result, plot_path)
        click.echo(f"plot written to {plot_path}", err=True)
    sys.exit(ExitCode.OK)


from .batch_cli import check_command  # noqa: E402  (click only; the heavy work is imported when it runs)

main.add_command(check_command)


if __name__ == "__main__":
    main()
