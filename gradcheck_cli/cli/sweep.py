"""`gradcheck sweep`: the error of each difference quotient against the step h, at one point of a scalar expression."""

from __future__ import annotations

import sys

import click

from ..display import visible
from ..errors import GradcheckError, UsageError
from ..status import ExitCode
from .options import ExpressionCommand, with_file_hint


@click.command("sweep", cls=ExpressionCommand, short_help="Error of each finite difference against the step h.")
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
        from ..expression.check import point_problem
        from ..files.reading import read_expression_source
        from ..inputs.points import PointContext
        from ..ir import build_graph
        from ..ops import default_registry
        from ..session import chosen_variables, parse_expression, read_points

        registry = default_registry()
        whole, source = read_expression_source(expression)
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
        raise with_file_hint(error, expression) from None
    from ..expression.sweep import run_sweep
    from ..report.sweep import print_sweep, sweep_json

    result = run_sweep(expr, graph, point, var)
    if output_format == "json":
        click.echo(sweep_json(result, point))
    else:
        print_sweep(result, expr.text, point)
    if plot_path:
        from ..report.sweep import save_plot

        save_plot(result, plot_path)
        click.echo(visible(f"plot written to {plot_path}", newlines=False), err=True)
    sys.exit(ExitCode.OK)
