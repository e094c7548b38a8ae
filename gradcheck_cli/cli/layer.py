"""`gradcheck layer FILE.py[:NAME]`: forward/backward pairs as cs231n writes them, one layer or every pair of a file."""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, replace
from typing import Callable

import click

from ..report.formats import STREAMED
from .options import DIRECTIONS_TYPE, code_options

FORWARD = re.compile(r"forward|fprop")  # affine_forward, conv_forward_naive, fprop
LOSS = re.compile(r"(^|_)loss($|_)")  # svm_loss, softmax_loss_naive: functions returning (loss, grad)


@dataclass(frozen=True, slots=True)
class Layer:
    """A layer found in the user's file: its forward, its backward (if separate) and its inputs."""

    name: str  # as --at prefixes and reports name it: affine, conv (for conv_forward_naive), svm_loss
    forward: Callable
    backward: Callable | None  # None: forward returns (loss, gradients)
    file: str
    line: int
    spec: str  # FILE.py:NAME, for the reproduce command

    @property
    def title(self) -> str:
        """How reports name the case: `affine_forward / affine_backward`, or the loss function's name."""
        return self.forward.__name__ if self.backward is None else f"{self.forward.__name__} / {self.backward.__name__}"

    @property
    def source(self) -> str:
        return f"{self.file}:{self.line}"


def _partner(name: str) -> str:
    """affine_forward → affine_backward, conv_forward_naive → conv_backward_naive, fprop → bprop."""
    return name[::-1].replace("drawrof", "drawkcab", 1)[::-1] if "forward" in name else name.replace("fprop", "bprop")


def _short(name: str) -> str:
    """The layer's name: its forward's without `forward` (conv_forward_naive → conv, fprop → fprop)."""
    stem = re.sub(r"_?forward(_naive)?$|_forward(?=_)", "", name)
    return stem or name


def _line(function: Callable) -> int:
    code = getattr(function, "__code__", None)
    return code.co_firstlineno if code else 0


def layers_of(module, path: str) -> list[Layer]:
    """Every forward with its backward (and every *_loss function) the module defines, in the order it defines them."""
    found = []
    for name, value in vars(module).items():
        if not callable(value) or name.startswith("_") or not hasattr(value, "__code__"):
            continue
        backward = vars(module).get(_partner(name)) if FORWARD.search(name) else None
        mine = getattr(value, "__module__", None) == module.__name__ or getattr(backward, "__module__", None) == module.__name__
        if not mine:
            continue
        if backward is not None and callable(backward):
            here = value if getattr(value, "__module__", None) == module.__name__ else backward
            found.append(Layer(_short(name), value, backward, path, _line(here), f"{path}:{name}"))
        elif LOSS.search(name) and not FORWARD.search(name) and "backward" not in name:
            found.append(Layer(name, value, None, path, _line(value), f"{path}:{name}"))
    return sorted(found, key=lambda layer: layer.line)


def one_layer(target: str, backward_spec: str | None) -> Layer:
    """FILE.py:NAME: NAME_forward/NAME_backward, NAME itself if it is a forward (or fprop), or a (loss, grad) function."""
    from ..errors import UsageError
    from ..function.user_code import import_module, load

    path, _, name = target.rpartition(":")
    module = import_module(path, "FILE.py:NAME")
    functions = vars(module)
    if backward_spec:
        forward = load(target, "FILE.py:NAME")
        backward = load(backward_spec, "--backward")
        return Layer(_short(name), forward.function, backward.function, path, _line(forward.function), target)
    candidates = [name] if FORWARD.search(name) else [f"{name}_forward", *sorted(n for n in functions if n.startswith(f"{name}_forward"))]
    for candidate in candidates:
        forward, backward = functions.get(candidate), functions.get(_partner(candidate))
        if callable(forward) and callable(backward):
            return Layer(_short(candidate), forward, backward, path, _line(forward), f"{path}:{candidate}")
    if callable(functions.get(name)) and not FORWARD.search(name):
        return Layer(name, functions[name], None, path, _line(functions[name]), target)  # returns (loss, grad)
    pairs = ", ".join(layer.name for layer in layers_of(module, path)) or "none"
    wanted = f"{candidates[0]} and {_partner(candidates[0])}"
    raise UsageError(f"{path} has no {wanted} (its layers: {pairs}); name a backward with --backward FILE.py:NAME")


def _parameters(function: Callable) -> tuple[str, ...]:
    from ..function.user_code import parameters

    return parameters(function)


def layer_point(layer: Layer, texts: list, seed: int, strict: bool, defaults: bool = True) -> tuple[dict, list[str]]:
    """The layer's inputs: --at values (for every layer, or for this one by its prefix), then the defaults.
    `strict`: a name that is not a parameter is an error (one layer); otherwise it is for another layer."""
    from ..function.layer_points import default_values, read_values, split_items, typed
    from ..inputs.points import PointContext
    from ..ops import default_registry

    names = _parameters(layer.forward)
    given: dict = {}
    for point in texts:
        if point.layer not in (None, layer.name):
            continue
        text = point.text
        if not strict and point.layer is None:  # an --at for every layer: each takes its own parameters
            text = ", ".join(p.strip() for p, _ in split_items(text) if p.partition("=")[0].strip() in names or "=" not in p)
        if text.strip():
            values = read_values(text, names, PointContext(default_registry(), seed, file_dtypes=True))
            given.update({k: typed(k, v) for k, v in values.items()})
    if not defaults:
        return given, [n for n in names if n not in given]
    return default_values(layer.name, names, given, seed)


def _unknown_names(layers: list[Layer], texts: list) -> None:
    """An --at name that no layer takes is a typo: say so before checking anything."""
    from ..errors import UsageError
    from ..function.layer_points import split_items

    everything = {n for layer in layers for n in _parameters(layer.forward)}
    for point in texts:
        if point.layer is None:
            for piece, _ in split_items(point.text):
                name, equals, _ = piece.partition("=")
                if equals and name.strip() not in everything:
                    raise UsageError(f"--at gives {name.strip()!r}, which no layer takes (parameters: {', '.join(sorted(everything))})")


def _run(layer: Layer, values: dict, wrt, options, keep_going: bool):
    """One layer's case (`options`: function.check.FunctionOptions; its seed is dout's); the user's exceptions as one
    line (an error case when checking a whole file)."""
    from ..errors import GradcheckError
    from ..function.layer import check_layer, check_returning_grad
    from ..function.user_code import calls_quietly, raised_in_user_code, user_error
    from ..results import CaseResult

    dout_seed = options.seed
    try:
        with calls_quietly():
            if layer.backward is None:
                return check_returning_grad(layer.forward, values, wrt, seed=dout_seed, name=layer.title, options=options)
            return check_layer(layer.forward, layer.backward, values, wrt, seed=dout_seed, name=layer.title, options=options)
    except GradcheckError as error:
        if not keep_going:
            raise
        problem = error
    except (Exception, SystemExit) as raised:  # noqa: BLE001 -- a sys.exit(0) in the layer must not end the run as a pass
        if not raised_in_user_code(raised, (layer.file,)):
            raise
        problem = user_error(raised, f"calling {_who(raised, layer)}")
        if not keep_going:
            raise problem from None
    return CaseResult(layer.title, layer.source, {}, float("nan"), "error", problem.message, ())


def _who(problem: BaseException, layer: Layer) -> str:
    import traceback

    names = {frame.name for frame in traceback.extract_tb(problem.__traceback__)}
    backward = layer.backward
    return backward.__name__ if backward is not None and backward.__name__ in names else layer.forward.__name__


def _missing_case(layer: Layer, missing: list[str]):
    from ..results import CaseResult

    example = ", ".join(f"{n}=..." for n in missing)
    message = (f"no default for {', '.join(missing)} (from the parameter names of {layer.forward.__name__}): give "
               f"--at '{layer.name}: {example}' (with the other inputs it needs, so their shapes agree)")
    return CaseResult(layer.title, layer.source, {}, float("nan"), "error", message, ())


def _points(at: tuple[str, ...], points_file: str | None, layers: list[Layer]) -> list:
    """--at texts and the points file's `LAYER: POINT` lines, each for every layer or the one its prefix names."""
    from ..errors import UsageError
    from ..function.layer_points import split_prefix

    names = tuple(layer.name for layer in layers)
    texts = list(at)
    if points_file:
        from ..errors import FileError
        from ..files.reading import open_regular, read_text_limited

        try:
            with open_regular(points_file) as handle:
                content = read_text_limited(handle, f"--points {points_file}")
        except FileError as problem:
            raise UsageError(f"--points {points_file}: {problem.message}") from None
        for number, line in enumerate(content.splitlines(), 1):
            line = line.split("#", 1)[0].strip() if not line.lstrip().startswith("@") else line.strip()
            if line:
                point = split_prefix(line, names)
                if point.layer is None:
                    raise UsageError(f"{points_file}:{number}: expected LAYER: POINT with LAYER one of {', '.join(names)}")
                texts.append(line)
    return [split_prefix(text, names) for text in texts]


def _command(layer: Layer, texts: list, seed: int) -> str:
    import shlex

    parts = ["gradcheck", "layer", shlex.quote(layer.spec)]
    for point in texts:
        if point.layer in (None, layer.name) and point.text.strip():
            parts += ["--at", shlex.quote(point.text.strip())]
    if seed:
        parts += ["--seed", str(seed)]
    return " ".join(parts)


@dataclass(frozen=True, slots=True)
class LayerRequest:
    """layer's options as click read them."""

    target: str
    backward_spec: str | None
    at: tuple[str, ...]
    points_file: str | None
    wrt: str | None
    h: float | None
    rtol: float
    atol: float
    draws: bool
    seed: int
    directions: int
    output_format: str
    strict: bool


@click.command("layer", short_help="Check forward/backward pairs with a cache, as cs231n writes them.")
@click.argument("target", metavar="FILE.py[:NAME]")
@click.option("--backward", "backward_spec", metavar="FILE.py:NAME",
              help="The backward pass, when its name is not the forward's with 'backward' for 'forward'.")
@click.option("--at", "at", multiple=True, metavar="POINT",
              help="Inputs: eval's point syntax plus dicts (conv_param={'stride': 1, 'pad': 1}); 'LAYER: POINT' for "
                   "one layer only; repeatable. Inputs not given get defaults from their names (docs/layers.md).")
@click.option("--points", "points_file", metavar="FILE", help="A file of 'LAYER: POINT' lines (# comments).")
@click.option("--wrt", metavar="x,w", help="Check only these inputs (default: every float array the backward returns a gradient for).")
@code_options
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the default inputs, of rand()/randn() in --at, of dout and of the random directions.")
@click.option("--directions", type=DIRECTIONS_TYPE, default=2, show_default=True,
              help="Random directions per input once there are more than 10,000 elements.")
@click.option("--format", "output_format", type=click.Choice(STREAMED), default="table", show_default=True)
@click.option("--strict", is_flag=True, help="Kinks and inconclusive points fail too.")
def layer_command(**given) -> None:
    """Check backward passes against their forward passes, as cs231n writes them.

    out, cache = NAME_forward(x, w, ...) and dx, dw, ... = NAME_backward(dout,
    cache): the backward's result (a tuple in the forward's parameter order, a
    dict by name, or one array) is checked as doutᵀJ with a random, seeded
    dout. A function named *_loss returning (loss, dx) is checked too. With
    FILE.py alone, every *_forward/*_backward pair (and *_loss function) the
    file defines is checked, each at the --at values it takes and defaults
    for the rest. gradcheck imports FILE.py to run them, as `python FILE.py`
    would.

    \b
    Examples:
      gradcheck layer layers.py
      gradcheck layer layers.py:affine --at "x=randn(4,5), w=randn(5,3)"
      gradcheck layer layers.py --at "conv: x=randn(2,3,7,7), w=randn(4,3,3,3)"
      gradcheck layer net.py:fprop --backward net.py:bprop --at @p.npz
    """
    run_layer(LayerRequest(**given))


def run_layer(request: LayerRequest) -> None:
    """Each layer's case, printed in the chosen format; the exit code from their statuses."""
    from ..errors import UsageError
    from ..function.check import FunctionOptions
    from ..function.user_code import import_module
    from ..status import exit_code
    from ..verdict import Tolerances

    target, backward_spec, seed, strict = request.target, request.backward_spec, request.seed, request.strict
    whole = ":" not in target or target.rpartition(":")[0] == "" or target.endswith(".py") and not backward_spec
    if whole and backward_spec:
        raise UsageError("--backward needs a forward: FILE.py:NAME --backward FILE.py:NAME")
    if whole:
        layers = layers_of(import_module(target, "FILE.py"), target)
        if not layers:
            raise UsageError(f"{target} defines no *_forward/*_backward pair and no *_loss function to check")
    else:
        layers = [one_layer(target, backward_spec)]
    texts = _points(request.at, request.points_file, layers)
    if whole:
        _unknown_names(layers, texts)
    chosen = tuple(n.strip() for n in request.wrt.split(",") if n.strip()) if request.wrt else None
    options = FunctionOptions(Tolerances(request.rtol, request.atol), request.h, seed, request.directions, draws=request.draws)
    checked = []
    for layer in layers:
        started = time.perf_counter()
        values, missing = layer_point(layer, texts, seed, strict=not whole)
        if missing and not whole:
            raise UsageError(_missing_case(layer, missing).message)
        case = _missing_case(layer, missing) if missing else _run(layer, values, chosen, options, whole)
        case = replace(case, source=layer.source)
        checked.append((layer, case, time.perf_counter() - started))
    _print(request, checked, texts, whole)
    sys.exit(exit_code([case.status for _, case, _ in checked], strict))


def _print(request: LayerRequest, checked: list, texts: list, whole: bool) -> None:
    """One layer: its case as `eval` shows it, with the probe's notes. A file of layers: check's report (rows, each
    failing layer's table and the command that checks it alone), under this command's name."""
    from ..report.formats import FORMATS
    from ..report.stream import Tally
    from ..report.table import View
    from ..results import FileCase

    chosen, strict = FORMATS[request.output_format], request.strict
    view = View(title="gradcheck layer", recap=False, timed=False)
    cases = [case for _, case, _ in checked]
    if chosen.whole is not None and not whole:
        chosen.whole(cases, view)
        return
    tally = Tally(strict)
    writer = chosen.writer(None, strict, view)
    for layer, case, seconds in checked:
        item = FileCase(case, layer.file, layer.line, seconds=seconds, command=_command(layer, texts, request.seed))
        tally.add(item)
        writer.add(item)
    writer.close(tally, None)


def loss_function_case(target, point_text: str, wrt: str | None, options):
    """`gradcheck function FILE.py:svm_loss --at ...` with no --grad: the function returns (loss, gradients); every
    parameter needs a value (no defaults), labels become integers. The user's exceptions are one line, exit 2."""
    from ..errors import UsageError
    from ..function.layer_points import PointText

    layer = Layer(target.function.__name__, target.function, None, target.path or "", _line(target.function), target.name)
    values, missing = layer_point(layer, [PointText(point_text)], options.seed, strict=True, defaults=False)
    if missing:
        raise UsageError(f"--at gives no value for {', '.join(map(repr, missing))} (every parameter of {target.name} needs one)")
    chosen = tuple(n.strip() for n in wrt.split(",") if n.strip()) if wrt else None
    return replace(_run(layer, values, chosen, options, keep_going=False), expr=target.name)
