"""`gradcheck eval`: an expression at points (and seeded random ones), or a pasted program line by line."""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import click

from ..display import visible
from ..errors import GradcheckError, UsageError
from ..report.formats import WHOLE
from .options import (DIRECTIONS_TYPE, EVAL_SAMPLES_TYPE, ORDER_TYPE, ExpressionCommand, NumericOptions, numeric_options,
                      with_file_hint)

POINT_CELLS = 20_000_000  # points x graph nodes in one batch (~160 MB a pass): bounds eval's memory


@dataclass(frozen=True, slots=True)
class EvalRequest:
    """eval's options as click read them (the numeric ones in `numeric`)."""

    expression: str
    points: tuple[str, ...]
    wrt: str | None
    expect: str | None
    numeric: NumericOptions
    output_format: str
    trace: bool
    samples: int | None
    seed: int
    dtype: str
    directions: int
    graph_path: str | None
    methods: str | None
    order: int
    strict: bool


@click.command("eval", cls=ExpressionCommand, short_help="Check an expression at points, or a pasted program line by line.")
@click.argument("expression")
@click.option("--at", "points", multiple=True, metavar="x=3,W=[[1,2]]",
              help="A point: numbers, constant expressions (pi/4), nested lists, rand(2,3)/randn/zeros/ones, "
                   "NAME=@FILE.npy, @FILE.npz or @FILE.json. Repeat for several points.")
@click.option("--wrt", metavar="x,W", help="Check only these variables (default: all, in order of appearance).")
@click.option("--expect", metavar="dx=VALUE,dW=EXPR",
              help="Your claimed gradient: numbers, nested lists or expressions in the variables; `dW ~= [[...]]` "
                   "judges printed numbers to their last digit; f=VALUE claims the value.")
@numeric_options("chain", "chain: each gate's local derivatives chained at 50 digits (the exact value; SymPy is not "
                 "loaded); auto: also SymPy's whole formula, printed, for expressions up to 80 nodes (+0.2 s to load "
                 "SymPy).", "Skip the exact column.")
@click.option("--format", "output_format", type=click.Choice(WHOLE), default="table", show_default=True)
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
def eval_command(**given) -> None:
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
    numeric = NumericOptions.take(given)
    run_eval(EvalRequest(numeric=numeric, **given))


def run_eval(request: EvalRequest) -> None:
    """The cases, printed in the chosen format; the exit code from their statuses (--strict: kinks fail too)."""
    from ..lang.program import looks_like_program
    from ..status import exit_code

    try:
        shown_methods = _methods(request.methods or ("forward,centered" if request.expect else "forward,centered,best"))  # claims need the width
        if request.graph_path:
            from ..report.dot import check_destination

            check_destination(request.graph_path)  # before the check runs, so a typo in the path loses nothing
        options = request.numeric.case_options(trace=request.trace, dtype=request.dtype, directions=request.directions,
                                               order=request.order)
        from ..files.reading import read_expression_source

        whole, source = read_expression_source(request.expression)
        if request.order == 2 and looks_like_program(whole):
            raise UsageError("--order 2 checks expressions; a program's d-lines are first derivatives")
        run = _run_program if looks_like_program(whole) else _run_expression
        cases, picture = run(request, whole, source, options)
    except GradcheckError as error:
        raise with_file_hint(error, request.expression) from None
    _print(cases, request.output_format, shown_methods)
    if picture is not None:
        click.echo(visible(f"gradcheck: the gate graph is in {picture}", newlines=False), err=True)
    sys.exit(exit_code([c.status for c in cases], request.strict))


def _print(cases, output_format: str, methods) -> None:
    from ..report.formats import print_report
    from ..report.table import View

    print_report(output_format, cases, View(methods))


def _methods(methods: str) -> tuple[str, ...]:
    from ..report.table import NUMERICAL_METHODS

    shown = tuple(m.strip() for m in methods.split(",") if m.strip())
    for m in shown:
        if m not in NUMERICAL_METHODS:
            raise UsageError(f"--methods: unknown method '{m}' (choose from {', '.join(NUMERICAL_METHODS)})")
    return shown


def _run_expression(request: EvalRequest, whole: str, source: str | None, options):
    """An expression at each --at point (and --samples random ones): the cases, and the picture's path."""
    from ..expression.check import check_points
    from ..inputs.points import PointContext
    from ..ops import default_registry
    from ..session import parse_expression, prepare, read_points

    registry = default_registry()
    expr = parse_expression(whole, source, registry)
    samples, seed = request.samples, request.seed
    if not request.points and not samples and expr.variables:
        raise UsageError(f"give a point with --at or --samples N (the expression's variables: {', '.join(expr.variables)})")
    parsed = read_points(expr, list(request.points), PointContext(registry, seed))  # every --at, even for a constant
    prepared = prepare(expr, parsed, request.wrt, request.expect, registry)
    parsed = parsed + _samples(prepared, samples, seed) if samples and expr.variables else parsed
    if not expr.variables:
        parsed = [{}]  # a constant has one value: every (empty) point is the same case
    if options.h is not None:
        _check_step(options.h, parsed, prepared.wrt)
    cases = check_points(prepared.graph, parsed, prepared.wrt, options, prepared.claims)
    return cases, _picture(request.graph_path, prepared.graph, parsed, cases)


def _samples(prepared, samples: int, seed: int) -> list[dict]:
    from ..inputs.sampling import sample_points

    graph = prepared.graph
    if samples * sum(max(1, int(math.prod(n.shape))) for n in graph.nodes) > POINT_CELLS:
        raise UsageError(f"--samples {samples:,} is too many for an expression of {len(graph.nodes):,} nodes "
                         f"(at most {max(1, POINT_CELLS // len(graph.nodes)):,} points in one batch)")
    drawn, tried = sample_points(graph, prepared.claims, samples, seed)
    if not drawn:
        raise UsageError(f"no usable point among {tried} drawn from [-3, 3]: f, its gradient or a claim is not finite (--seed {seed})")
    return drawn


def _run_program(request: EvalRequest, whole: str, source: str | None, options):
    """A forward/backward cell, its d-lines judged one by one: one case (at its constants, or one --at)."""
    from ..inputs.points import PointContext
    from ..ops import default_registry
    from ..programs.check import run_program
    from ..session import read_cell

    points, wrt = request.points, request.wrt
    if request.samples:
        raise UsageError("--samples checks expressions; a program is checked at its own constants (or one --at), its d-lines "
                         "also at 6 random draws of its inputs when all hold there")
    if request.expect:
        raise UsageError("--expect is for expressions; in a program your d-lines are the claims (dx = ...)")
    if len(points) > 1:
        raise UsageError("a program is checked at one point: give one --at (it overrides the program's constants)")
    context = PointContext(default_registry(), request.seed)
    program = read_cell(whole, source or "<program>", context)
    chosen = tuple(n.strip() for n in wrt.split(",") if n.strip()) if wrt else None
    result = run_program(program, context, options, points[0] if points else None, chosen)
    return [result.case], _picture(request.graph_path, result.graph, [result.point], [result.case])


def _picture(path: str | None, graph, points: list[dict], cases) -> str | None:
    if path is None:
        return None
    from ..eval.circuit import circuit
    from ..report.dot import SHARES_UP_TO, case_picture, write

    return write(path, case_picture(graph, circuit(graph, points[0], SHARES_UP_TO), cases[0]))


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
