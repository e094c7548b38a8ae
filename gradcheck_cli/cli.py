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
from .options import DIRECTIONS_TYPE, EVAL_SAMPLES_TYPE, ORDER_TYPE, ExpressionCommand, OptionValueError, numeric_options


def _fail(error: GradcheckError, argument: str | None = None) -> None:
    """The error, one line (and a caret); when EXPRESSION failed and is the name of a file, the `@` it lacks."""
    hint = _file_hint(argument) if argument is not None else None
    click.echo(visible(f"gradcheck: {hint or error.render()}"), err=True)
    sys.exit(ExitCode.TOOL_ERROR)


def _file_hint(argument: str) -> str | None:
    """`gradcheck eval task1.py`: the file exists, so the `@` was forgotten (EXPRESSION is text, @FILE a file)."""
    import shlex

    if argument.startswith("@") or argument == "-" or not os.path.isfile(argument):
        return None
    if argument.endswith(".gc"):
        return (f"{argument} is an expression file: did you mean gradcheck check {shlex.quote(argument)}? "
                "(EXPRESSION is one expression, or one program from @FILE)")
    return f"{argument} is a file: did you mean {shlex.quote('@' + argument)}? (EXPRESSION is read as text; @FILE reads a file)"


def read_source(argument: str):
    """(text, name): EXPR itself (name None), `-` for standard input, or `@FILE`."""
    from .inputs import read_expression_source

    return read_expression_source(argument)


def parse_expression(whole: str, source: str | None, registry):
    """Parse an expression; a syntax error in a file or stdin is reported as NAME:LINE:COL."""
    from .lang.expr import parse

    text = whole.strip()
    try:
        return parse(text, registry.signatures)
    except ParseError as error:
        if source is None:
            raise
        raise error.in_source(source, whole, len(whole) - len(whole.lstrip()) if text else 0) from None


def _check_step(h: float, points: list[dict], names: tuple[str, ...]) -> None:
    """--h must move every variable: below the float spacing at x, x+h/4 == x and every difference is 0/0."""
    import numpy as np

    for point in points:
        for name in names:
            x = np.asarray(point[name], dtype=np.float64)
            stuck = x + h / 4 == x
            if np.any(stuck):
                value = float(x[stuck].reshape(-1)[0]) if x.ndim else float(x)
                raise UsageError(f"--h {h:g} is below the spacing of floats at {name}={value:g}; use a larger --h")


def _reader_left() -> None:
    """`gradcheck ... | head`: the reader left before the report was complete. Every command and format exits 2
    (the run could not deliver its report), says nothing more, and flushes nowhere."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(ExitCode.TOOL_ERROR)


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
        except BrokenPipeError:  # a usage message into a closed pipe
            _reader_left()
        except SystemExit as stop:
            # click's own EPIPE path (--help, --version) exits 1, after wrapping stdout (click 8.5) or from inside
            # its except block (8.4): either sign means the reader left
            wrapped = type(sys.stdout).__name__.lstrip("_") == "PacifyFlushWrapper"
            if wrapped or isinstance(stop.__context__, BrokenPipeError):
                _reader_left()
            raise
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
        except BrokenPipeError:
            _reader_left()
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
    """Check gradients you derived by hand: backprop through a gate graph, finite
    differences, the complex step and SymPy's exact derivative, side by side.

    \b
    Start with one of these:
      gradcheck eval "(x+sigma(y))/(sigma(x)+(x+y)**2)" --at x=3,y=-4
      gradcheck check derivations/          every case in .gc and .gc.py files
      gradcheck function model.py:loss --grad model.py:loss_grad --at @p.npz

    \b
    Exit codes: 0 every check passed (kinks allowed), 1 a check failed
    (mismatch or error), 2 the tool could not run (bad option or input).
    Run `gradcheck COMMAND --help` for a command's options and examples.
    """


POINT_CELLS = 20_000_000  # points x graph nodes in one batch (~160 MB a pass): bounds eval's memory


@main.command("eval", cls=ExpressionCommand, short_help="Check an expression at points, or a pasted program line by line.")
@click.argument("expression")
@click.option("--at", "points", multiple=True, metavar="x=3,W=[[1,2]]",
              help="A point: numbers, constant expressions (pi/4), nested lists, rand(2,3)/randn/zeros/ones, "
                   "NAME=@FILE.npy, @FILE.npz or @FILE.json. Repeat for several points.")
@click.option("--wrt", metavar="x,W", help="Check only these variables (default: all, in order of appearance).")
@click.option("--expect", metavar="dx=VALUE,dW=EXPR",
              help="Your claimed gradient: numbers, nested lists or expressions in the variables; `dW ~= [[...]]` "
                   "judges printed numbers to their last digit; f=VALUE claims the value.")
@numeric_options("auto", "auto: SymPy's whole formula for small expressions (slow: ~10-30 ms each), else chained local rules; "
                 "chain: always the chained rules (no formula, ~10x faster).", "Skip the SymPy column.")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--trace", is_flag=True, help="Show the staged computation: every gate's value and gradient.")
@click.option("--samples", type=EVAL_SAMPLES_TYPE,
              help=f"Also check N seeded random points ({EVAL_SAMPLES_TYPE.range_text()}; uniform in [-3, 3], 4 decimals) where f is finite and off kinks.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed for --samples, and of rand()/randn() in points (numpy's np.random.seed(SEED) draws).")
@click.option("--dtype", type=click.Choice(["float64", "float32"]), default="float64", show_default=True,
              help="Run the gate graph (the analytic column) in this precision, as your float32 code does; "
                   "the numerical reference stays float64, the exact column 50 digits.")
@click.option("--directions", type=DIRECTIONS_TYPE, default=2, show_default=True,
              help="Random directions per variable once a case has more than 10,000 elements to check.")
@click.option("--graph", "graph_path", metavar="FILE.dot|svg|png",
              help="Also draw the gate graph at the first point: values and gradients on every wire (.svg/.png need Graphviz).")
@click.option("--methods", metavar="LIST",
              help="Numerical columns of the table, from forward, centered, richardson, complex, best "
                   "[default: forward,centered,best; forward,centered with --expect].")
@click.option("--order", type=ORDER_TYPE, default=1, show_default=True,
              help="2: check the Hessian too, entry by entry (random Hessian-vector products past 10,000 entries); "
                   "a claim H=[[...]], d2x=... or dxdy=... asks for it as well.")
@click.option("--strict", is_flag=True, help="Kinks and inconclusive points fail too.")
def eval_command(expression: str, points: tuple[str, ...], wrt: str | None, h: float | None, rtol: float, atol: float,
                 expect: str | None, exact_timeout: float, exact_method: str, no_exact: bool, output_format: str, trace: bool,
                 samples: int | None, seed: int, dtype: str, directions: int, graph_path: str | None, methods: str | None,
                 order: int, strict: bool) -> None:
    """Check the gradient of EXPRESSION at one or more points, or check a
    program (a pasted forward/backward cell) line by line.

    EXPRESSION may be `-` (standard input) or `@FILE`, and may start with a
    minus sign. Text with assignments (`q = x + y`, `dq = ...`) is a program:
    each d-line is judged, and the first wrong one is named.

    \b
    Examples:
      gradcheck eval "(x+sigma(y))/(sigma(x)+(x+y)**2)" --at x=3,y=-4 --trace
      gradcheck eval "sum((X@W - Y)**2)" --wrt W \\
          --at "W=[[1,1]], X=[[0],[-2],[1]], Y=[[0,1],[1,-1],[0,-2]]"
      gradcheck eval "x*y" --at x=-2,y=3 --expect "dx=3, dy=-2"
      gradcheck eval "softmax(x)" --at "x=[1, 2]" \\
          --expect "dx=diag(softmax(x)) - outer(softmax(x), softmax(x))"
      gradcheck eval "x*x*y" --at x=1,y=2 --order 2 \\
          --expect "H=[[2*y, 2*x], [2*x, 0]]"
      gradcheck eval @cell.gc.py              a forward and backward cell
    """
    from .cases import Options
    from .verdict import Tolerances, exit_code

    try:
        shown_methods = _methods(methods or ("forward,centered" if expect else "forward,centered,best"))  # claims need the width
        if graph_path:
            from .dot import check_destination

            check_destination(graph_path)  # before the check runs, so a typo in the path loses nothing
        options = Options(h=h, tolerances=Tolerances(rtol, atol), exact=not no_exact, exact_timeout=exact_timeout,
                          exact_method=exact_method, trace=trace, dtype=dtype, directions=directions, order=order)
        whole, source = read_source(expression)
        from .lang.program import looks_like_program

        if order == 2 and looks_like_program(whole):
            raise UsageError("--order 2 checks expressions; a program's d-lines are first derivatives")
        run = _run_program if looks_like_program(whole) else _run_expression
        cases, picture = run(whole, source, points, wrt, expect, samples, seed, options, graph_path)
    except GradcheckError as error:
        _fail(error, expression)
        return
    _print(cases, output_format, shown_methods)
    if picture is not None:
        click.echo(visible(f"gradcheck: the gate graph is in {picture}", newlines=False), err=True)
    sys.exit(exit_code([c.status for c in cases], strict))


def _print(cases, output_format: str, methods) -> None:
    from . import report

    if output_format == "json":
        click.echo(report.to_json(cases))
    else:
        from .tables import print_table_report

        print_table_report(report.make_console(), cases, methods)


def _methods(methods: str) -> tuple[str, ...]:
    from .tables import NUMERICAL_METHODS

    shown = tuple(m.strip() for m in methods.split(",") if m.strip())
    for m in shown:
        if m not in NUMERICAL_METHODS:
            raise UsageError(f"--methods: unknown method '{m}' (choose from {', '.join(NUMERICAL_METHODS)})")
    return shown


def _run_expression(whole: str, source, points, wrt, expect, samples, seed, options, graph_path):
    """An expression at each --at point (and --samples random ones): the cases, and the picture's path."""
    from .cases import check_points
    from .ops.registry import default_registry
    from .points import PointContext
    from .session import prepare, read_points

    registry = default_registry()
    expr = parse_expression(whole, source, registry)
    if not points and not samples and expr.variables:
        raise UsageError(f"give a point with --at or --samples N (the expression's variables: {', '.join(expr.variables)})")
    parsed = read_points(expr, list(points), PointContext(registry, seed))  # every --at, even for a constant
    prepared = prepare(expr, parsed, wrt, expect, registry)
    parsed = parsed + _samples(prepared, samples, seed) if samples and expr.variables else parsed
    if not expr.variables:
        parsed = [{}]  # a constant has one value: every (empty) point is the same case
    if options.h is not None:
        _check_step(options.h, parsed, prepared.wrt)
    cases = check_points(prepared.graph, parsed, prepared.wrt, options, prepared.claims)
    return cases, _picture(graph_path, prepared.graph, parsed, cases)


def _samples(prepared, samples: int, seed: int) -> list[dict]:
    from .sampling import sample_points

    graph = prepared.graph
    if samples * sum(max(1, int(__import__("math").prod(n.shape))) for n in graph.nodes) > POINT_CELLS:
        raise UsageError(f"--samples {samples:,} is too many for an expression of {len(graph.nodes):,} nodes "
                         f"(at most {max(1, POINT_CELLS // len(graph.nodes)):,} points in one batch)")
    drawn, tried = sample_points(graph, prepared.claims, samples, seed)
    if not drawn:
        raise UsageError(f"no usable point among {tried} drawn from [-3, 3]: f, its gradient or a claim is not finite (--seed {seed})")
    return drawn


def _run_program(whole: str, source, points, wrt, expect, samples, seed, options, graph_path):
    """A forward/backward cell, its d-lines judged one by one: one case (at its constants, or one --at)."""
    from .ops.registry import default_registry
    from .points import PointContext
    from .programs import run_program
    from .session import read_cell

    if samples:
        raise UsageError("--samples checks expressions; a program is checked at its own constants (or one --at)")
    if expect:
        raise UsageError("--expect is for expressions; in a program your d-lines are the claims (dx = ...)")
    if len(points) > 1:
        raise UsageError("a program is checked at one point: give one --at (it overrides the program's constants)")
    context = PointContext(default_registry(), seed)
    program = read_cell(whole, source or "<program>", context)
    chosen = tuple(n.strip() for n in wrt.split(",") if n.strip()) if wrt else None
    result = run_program(program, context, options, points[0] if points else None, chosen)
    return [result.case], _picture(graph_path, result.graph, [result.point], [result.case])


def _picture(path: str | None, graph, points: list[dict], cases) -> str | None:
    if path is None:
        return None
    from .dot import case_picture, write

    return write(path, case_picture(graph, points[0], cases[0]))


@main.command("sweep", cls=ExpressionCommand, short_help="Error of each finite difference against the step h.")
@click.argument("expression")
@click.option("--at", "point_text", required=True, metavar="x=3,y=-4", help="The point.")
@click.option("--wrt", metavar="x", help="The variable (default: the first one).")
@click.option("--plot", "plot_path", metavar="FILE.png", help="Also save the plot as a PNG (needs matplotlib).")
@click.option("--format", "output_format", type=click.Choice(["table", "json"]), default="table", show_default=True)
def sweep_command(expression: str, point_text: str, wrt: str | None, plot_path: str | None, output_format: str) -> None:
    """Error of forward, centered and Richardson differences against the
    exact derivative, for h = 1e-1 ... 1e-15: where each step size is best.

    EXPRESSION may be `-` (standard input) or `@FILE`, and may start with a
    minus sign. Scalar expressions and variables only.

    \b
    Examples:
      gradcheck sweep "exp(x)" --at x=1
      gradcheck sweep "x*sigma(y)" --at x=2,y=-1 --wrt y --plot sweep.png
    """
    try:
        from .cases import point_problem
        from .ir import build_graph
        from .ops.registry import default_registry
        from .points import PointContext
        from .session import chosen_variables, read_points

        registry = default_registry()
        whole, source = read_source(expression)
        expr = parse_expression(whole, source, registry)
        if not expr.variables:
            raise UsageError("the expression has no variables to differentiate")
        point = read_points(expr, [point_text], PointContext(registry))[0]
        graph = build_graph(expr, registry, {v: point[v].shape for v in expr.variables})
        var = chosen_variables(graph, wrt.strip() if wrt else graph.variables[0])[0]
        if graph.shapes[var] or graph.nodes[-1].shape:
            raise UsageError(f"sweep takes a scalar f and a scalar variable ({var} has shape {graph.shapes[var]}, "
                             f"f has shape {graph.nodes[-1].shape})")
        problem = point_problem(graph, point, (var,))
        if problem is not None:  # no derivative to approach: nothing to sweep
            raise UsageError(f"cannot sweep at {point_text.strip()}: {problem}")
        if plot_path:
            try:
                import matplotlib  # noqa: F401
            except ImportError:
                raise UsageError("--plot needs matplotlib: pip install 'gradcheck[plot]'") from None
    except GradcheckError as error:
        _fail(error, expression)
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
from .function_cli import function_command  # noqa: E402
from .layer_cli import layer_command  # noqa: E402

main.add_command(check_command)
main.add_command(function_command)
main.add_command(layer_command)


if __name__ == "__main__":
    main()
