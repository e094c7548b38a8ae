"""Click commands only: read options, call the library, hand results to a formatter, exit.

Nothing heavy is imported at module level, so `gradcheck --help` loads neither numpy nor SymPy.
"""

from __future__ import annotations

import math
import os
import sys

import click

from .display import visible
from .errors import ExitCode, GradcheckError, ParseError, UsageError
from .options import EVAL_SAMPLES_TYPE, ExpressionCommand, OptionValueError, numeric_options


def _fail(error: GradcheckError) -> None:
    click.echo(visible(f"gradcheck: {error.render()}"), err=True)
    sys.exit(ExitCode.TOOL_ERROR)


def parse_expression(argument: str):
    """Parse EXPR, `-` or `@FILE`; a syntax error in a file or stdin is reported as NAME:LINE:COL."""
    from .inputs import read_expression_source
    from .parser import parse

    whole, source = read_expression_source(argument)
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
        from .interrupts import terminate_as_interrupt

        try:
            with terminate_as_interrupt():  # a CI timeout's SIGTERM takes Ctrl-C's path: reports finished, one line
                return super().main(*args, standalone_mode=False, **kwargs)
        except OptionValueError as error:  # the option, its range, what was given: all in one line
            click.echo(visible(f"gradcheck: {error.format_message()}", newlines=False), err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except click.UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # bare `gradcheck`: the help itself (click >= 8.2)
                click.echo(error.format_message(), err=True)
                sys.exit(ExitCode.TOOL_ERROR)
            command = error.ctx.command_path if error.ctx else "gradcheck"
            click.echo(visible(f"{command}: {error.format_message()} (see {command} --help)", newlines=False), err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except click.ClickException as error:
            click.echo(visible(f"gradcheck: {error.format_message()}", newlines=False), err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except (click.Abort, KeyboardInterrupt):  # Ctrl-C or SIGTERM while click was still reading the options
            click.echo("gradcheck: interrupted", err=True)
            sys.exit(ExitCode.TOOL_ERROR)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GradcheckError as error:
            _fail(error)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (errors.Interrupted): one line, exit 2, no traceback
            click.echo("gradcheck: interrupted", err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except BrokenPipeError:  # `gradcheck ... | head`: the reader left; say nothing more, and flush nowhere
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(ExitCode.TOOL_ERROR)
        except MemoryError:
            click.echo("gradcheck: out of memory (fewer points, --samples or lines at a time may fit)", err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except Exception as problem:  # noqa: BLE001
            message = f"gradcheck: internal error: {type(problem).__name__}: {problem} (please report it with the command)"
            click.echo(visible(message, newlines=False), err=True)
            sys.exit(ExitCode.TOOL_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="gradcheck", prog_name="gradcheck")
def main() -> None:
    """Check hand-derived gradients: backprop through a gate graph, finite differences and SymPy, side by side.

    \b
    Exit codes: 0 every check passed (kinks allowed), 1 a check failed (mismatch or error),
    2 the tool could not run (bad option, expression or point).
    """


POINT_CELLS = 20_000_000  # points x graph nodes in one batch (~160 MB a pass): bounds eval's memory


@main.command("eval", cls=ExpressionCommand)
@click.argument("expression")
@click.option("--at", "points", multiple=True, metavar="x=3,y=-4", help="A point; values may be constant expressions (pi/4). Repeat for several points.")
@click.option("--wrt", metavar="x,y", help="Check only these variables (default: all, in order of appearance).")
@click.option("--expect", metavar="dx=VALUE,dy=EXPR", help="Your claimed gradient: numbers or expressions in the variables.")
@numeric_options("auto", "auto: SymPy's whole formula for small expressions (slow: ~10-30 ms each), else chained local rules; "
                 "chain: always the chained rules (no formula, ~10x faster).", "Skip the SymPy column.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--trace", is_flag=True, help="Show the staged computation: every gate's value and gradient.")
@click.option("--samples", type=EVAL_SAMPLES_TYPE,
              help=f"Also check N seeded random points ({EVAL_SAMPLES_TYPE.range_text()}; uniform in [-3, 3], 4 decimals) where f is finite and off kinks.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --samples.")
@click.option("--methods", metavar="LIST",
              help="Numerical columns of the table, from forward, centered, richardson, complex, best "
                   "[default: forward,centered,best; forward,centered with --expect].")
@click.option("--strict", is_flag=True, help="Kinks and inconclusive points fail too.")
def eval_command(expression: str, points: tuple[str, ...], wrt: str | None, h: float | None, rtol: float, atol: float,
                 expect: str | None, exact_timeout: float, exact_method: str, no_exact: bool, output_format: str, trace: bool,
                 samples: int | None, seed: int, methods: str | None, strict: bool) -> None:
    """Check the gradient of EXPRESSION at one or more points.

    EXPRESSION may be `-` (read from standard input) or `@FILE`; it may start with a minus sign.

    \b
    Example:
      gradcheck eval "(x+sigma(y))/(sigma(x)+(x+y)**2)" --at x=3,y=-4 --trace
    """
    from .check import Options, check_points
    from .verdict import Tolerances, exit_code

    try:
        shown_methods = _methods(methods or ("forward,centered" if expect else "forward,centered,best"))  # claims need the width
        graph, parsed_points, chosen, claims = _eval_inputs(expression, points, wrt, expect, samples, seed)
        if h is not None:
            _check_step(h, parsed_points, chosen)
    except GradcheckError as error:
        _fail(error)
        return
    options = Options(h=h, tolerances=Tolerances(rtol, atol), exact=not no_exact, exact_timeout=exact_timeout,
                      exact_method=exact_method, trace=trace)
    cases = check_points(graph, parsed_points, chosen, options, claims)
    from . import report

    if output_format == "json":
        click.echo(report.to_json(cases))
    else:
        report.print_table_report(report.make_console(), cases, shown_methods)
    sys.exit(exit_code([c.status for c in cases], strict))


def _methods(methods: str) -> tuple[str, ...]:
    from .report import NUMERICAL_METHODS

    shown = tuple(m.strip() for m in methods.split(",") if m.strip())
    for m in shown:
        if m not in NUMERICAL_METHODS:
            raise UsageError(f"--methods: unknown method '{m}' (choose from {', '.join(NUMERICAL_METHODS)})")
    return shown


def _eval_inputs(expression: str, points: tuple[str, ...], wrt: str | None, expect: str | None, samples: int | None, seed: int):
    """(graph, points, variables to check, claims) from eval's arguments, or a GradcheckError saying what is wrong."""
    from .check import parse_claims, parse_point
    from .graph import build_graph
    from .sampling import sample_points

    graph = build_graph(parse_expression(expression))
    if not points and not samples and graph.variables:
        raise UsageError(f"give a point with --at or --samples N (the expression's variables: {', '.join(graph.variables)})")
    chosen = _wrt(wrt, graph.variables)
    claims = parse_claims(expect, graph.variables) if expect else {}
    left_out = [var for var in claims if var not in chosen]
    if left_out:
        raise UsageError(f"--expect claims {', '.join('d' + v for v in left_out)}, but --wrt leaves "
                         f"{', '.join(left_out)} out (it checks {', '.join(chosen)}): add {'them' if len(left_out) > 1 else 'it'} "
                         "to --wrt or drop the claim")
    # every --at is parsed, even for a constant expression: a name that is not a variable is an error
    parsed = [parse_point(p, graph.variables) for p in points]
    if samples and graph.variables:
        if samples * len(graph.nodes) > POINT_CELLS:
            raise UsageError(f"--samples {samples:,} is too many for an expression of {len(graph.nodes):,} nodes "
                             f"(at most {max(1, POINT_CELLS // len(graph.nodes)):,} points in one batch)")
        drawn, tried = sample_points(graph, claims, samples, seed)
        if not drawn:
            raise UsageError(f"no usable point among {tried} drawn from [-3, 3]: f, its gradient or a claim is not finite (--seed {seed})")
        parsed += drawn
    if not graph.variables:
        parsed = [{}]  # a constant has one value: every (empty) point is the same case
    return graph, parsed, chosen, claims


def _wrt(wrt: str | None, variables: tuple[str, ...]) -> tuple[str, ...]:
    if not wrt:
        return variables
    chosen = tuple(dict.fromkeys(name.strip() for name in wrt.split(",")))  # x,x checks x once
    for name in chosen:
        if name not in variables:
            raise UsageError(f"--wrt names '{name}', which is not a variable of the expression ({', '.join(variables) or 'none'})")
    return chosen


@main.command("sweep", cls=ExpressionCommand)
@click.argument("expression")
@click.option("--at", "point_text", required=True, metavar="x=3,y=-4", help="The point.")
@click.option("--wrt", metavar="x", help="The variable (default: the first one).")
@click.option("--plot", "plot_path", metavar="FILE.png", help="Also save the plot as a PNG (needs matplotlib).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def sweep_command(expression: str, point_text: str, wrt: str | None, plot_path: str | None, output_format: str) -> None:
    """Error of forward, centered and Richardson differences against the exact derivative, for h = 1e-1 … 1e-15.

    EXPRESSION may be `-` (read from standard input) or `@FILE`; it may start with a minus sign.
    """
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
    from .sweep import print_sweep, run_sweep, sweep_json

    result = run_sweep(expr, graph, point, var)
    if output_format == "json":
        click.echo(sweep_json(result, point))
    else:
        print_sweep(result, expr.text, point)
    if plot_path:
        from .sweep import save_plot

        save_plot(result, plot_path)
        click.echo(visible(f"plot written to {plot_path}", newlines=False), err=True)
    sys.exit(ExitCode.OK)


from .batch_cli import check_command  # noqa: E402  (click only; the heavy work is imported when it runs)

main.add_command(check_command)


if __name__ == "__main__":
    main()
