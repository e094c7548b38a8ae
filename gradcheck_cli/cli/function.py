"""`gradcheck function FILE.py:loss --grad FILE.py:loss_grad --at @params.npz`: the user's own numpy code."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import click

from .options import DIRECTIONS_TYPE, code_options


@dataclass(frozen=True, slots=True)
class FunctionRequest:
    """function's options as click read them."""

    target: str
    grad_spec: str | None
    point_text: str
    wrt: str | None
    h: float | None
    rtol: float
    atol: float
    draws: bool
    seed: int
    directions: int
    dtype: str | None
    hessian_spec: str | None
    hvp_spec: str | None
    output_format: str
    strict: bool

    def options(self, with_dtype: bool = True):
        """What check_function and the layer adapter take (F returning (loss, gradients) detects its dtype)."""
        from ..function.check import FunctionOptions
        from ..verdict import Tolerances

        return FunctionOptions(Tolerances(self.rtol, self.atol), self.h, self.seed, self.directions,
                               self.dtype if with_dtype else None, draws=self.draws)
from ..report.formats import WHOLE


@click.command("function", short_help="Check your own Python gradient against your function.")
@click.argument("target", metavar="FILE.py:F")
@click.option("--grad", "grad_spec", metavar="FILE.py:GRAD",
              help="Your gradient: returns an array (one input), a dict {name: array} or a tuple in --wrt order; "
                   "for an F that returns an array, the Jacobian (F's shape + the input's shape). Without it, F "
                   "returns (loss, gradients), as cs231n's svm_loss returns (loss, dx).")
@click.option("--at", "point_text", required=True, metavar="@params.npz",
              help="Values of F's parameters: @FILE.npz/.json, NAME=@FILE.npy, numbers, nested lists, rand(3,2).")
@click.option("--wrt", metavar="W,b", help="Check only these inputs (default: every parameter without a default).")
@code_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of rand()/randn() in --at and of the random directions.")
@click.option("--directions", type=DIRECTIONS_TYPE, default=2, show_default=True,
              help="Random directions per input once there are more than 10,000 elements.")
@click.option("--dtype", type=click.Choice(["float32", "float64"]), default=None,
              help="The precision of your code, where gradcheck cannot see it (default: detected from what F and GRAD return).")
@click.option("--hessian", "hessian_spec", metavar="FILE.py:H",
              help="Your Hessian: H(**inputs) returns the matrix over the flattened --wrt inputs, or a dict of blocks "
                   "{(a, b): block}; judged against differences of GRAD.")
@click.option("--hvp", "hvp_spec", metavar="FILE.py:HV",
              help="Your Hessian-vector product: HV(v, **inputs) returns H·v (v shaped like the input, or a dict by name).")
@click.option("--format", "output_format", type=click.Choice(WHOLE), default="table", show_default=True)
@click.option("--strict", is_flag=True, help="Kinks and inconclusive points fail too.")
def function_command(**given) -> None:
    """Check GRAD against F, your own Python functions, by calling F.

    F takes named numpy inputs and returns a number (or an array); GRAD takes
    the same inputs. Without --grad, F returns (loss, gradients). gradcheck imports FILE.py to run them: this command runs
    your code, as `python FILE.py` would (expressions are never executed).
    Columns: centered and Richardson differences, the complex step when F
    computes with complex input, kinks from one-sided slopes, random
    directions past 10,000 elements, and a Taylor test: the remainder
    |F(x+hv) - F(x) - h<GRAD, v>| must shrink like h**2.

    \b
    Examples:
      gradcheck function model.py:loss --grad model.py:loss_grad --at @p.npz
      gradcheck function model.py:loss --grad model.py:loss_grad --wrt W \\
          --at "W=randn(3,2), X=randn(5,3), y=randn(5,2)"
      gradcheck function layers.py:svm_loss --at "x=randn(4,5), y=[0,3,1,4]"
      gradcheck function logreg.py:loss --grad logreg.py:grad \\
          --hessian logreg.py:hessian --at @data.npz --wrt w
    """
    run_function(FunctionRequest(**given))


def run_function(request: FunctionRequest) -> None:
    """The one case, printed in the chosen format; the exit code from its status."""
    from ..function.user_code import load, parameters
    from ..inputs.points import PointContext, read_point
    from ..ops import default_registry
    from ..status import exit_code

    target, wrt = request.target, request.wrt
    f = load(target, "F")
    names = parameters(f.function)
    if not names:
        raise _usage(f"{target} takes no named parameters to differentiate")
    if request.grad_spec is None and (request.hessian_spec or request.hvp_spec):
        raise _usage("--hessian and --hvp are judged against differences of your gradient: give --grad too")
    if request.grad_spec is None:  # F returns (loss, gradients): check_layer's adapter, labels (y) passed through as integers
        from .layer import loss_function_case

        case = loss_function_case(f, request.point_text, wrt, request.options(with_dtype=False))
        _print(case, request.output_format)
        sys.exit(exit_code([case.status], request.strict))
    grad = load(request.grad_spec, "--grad")
    point = read_point(request.point_text, names, PointContext(default_registry(), request.seed, file_dtypes=True))
    chosen = tuple(n.strip() for n in wrt.split(",") if n.strip()) if wrt else None
    unknown = [n for n in chosen or () if n not in names]
    if unknown:
        raise _usage(f"--wrt names {', '.join(unknown)}, which {'is' if len(unknown) == 1 else 'are'} not a parameter of "
                     f"{target} ({', '.join(names)})")
    second = tuple(None if spec is None else load(spec, option)
                   for spec, option in ((request.hessian_spec, "--hessian"), (request.hvp_spec, "--hvp")))
    case = _run(f, grad, point, chosen, request.options(), second)
    _print(case, request.output_format)
    sys.exit(exit_code([case.status], request.strict))


def _usage(message: str):
    from ..errors import UsageError

    return UsageError(message)


def _run(f, grad, point, wrt, options, second=(None, None)):
    """check_function with the user's exceptions (and only theirs) turned into one-line errors; `second`: the
    loaded --hessian and --hvp (or None)."""
    from ..errors import GradcheckError
    from ..function.check import check_function
    from ..function.user_code import calls_quietly, raised_by, raised_in_user_code, user_error

    hessian, hvp = second
    targets = tuple(t for t in (f, grad, hessian, hvp) if t is not None)
    try:
        with calls_quietly():
            return check_function(f.function, point, grad.function, wrt, options, f.name, grad.name,
                                  hessian=hessian and hessian.function, hvp=hvp and hvp.function)
    except GradcheckError:
        raise
    except (Exception, SystemExit) as problem:  # noqa: BLE001 -- a sys.exit(0) in F must not end the run as a pass
        if not raised_in_user_code(problem, tuple(t.path for t in targets)):
            raise
        caller = raised_by(problem, targets) or (f if _in(problem, f.path) else grad)
        raise user_error(problem, f"calling {caller.name}") from None


def _in(problem: BaseException, path: str | None) -> bool:
    from ..function.user_code import raised_in_user_code

    return raised_in_user_code(problem, (path,))


def _print(case, output_format: str) -> None:
    from ..report.formats import print_report

    print_report(output_format, [case])
