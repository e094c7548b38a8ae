"""Jupyter magics: `%load_ext gradcheck_cli`, then check cells and functions at the notebook's own values.

    %%gradcheck [--at POINT] [--wrt x,w] [--rtol R] [--seed S] [--strict] [--no-run]
        the cell, checked as a program (forward lines, then your d-lines, line by line); the names it reads and
        does not assign come from the notebook's variables; then the cell runs as usual (unless --no-run)
    %gradcheck_layer FORWARD BACKWARD ARG ... [NAME=ARG ...] [--wrt ...] [--seed S] [--strict] [--no-draws]
        check_layer on the notebook's functions and variables (FORWARD's parameters in order, or by name)
    %gradcheck_function F [GRAD] ARG ... [NAME=ARG ...] [--wrt ...] [--hessian H] [--hvp V] [--no-draws]
        check_function; F's other parameters are taken from the notebook by name; with no GRAD, F returns
        (loss, gradients); the ARGs listed are the inputs checked unless --wrt says otherwise; H (the Hessian)
        and V (v -> H·v) are judged against differences of GRAD, called as GRAD is

Each shows its table as the cell's rich output and returns the Report (its `ok`, `status`, `text()`), so
`report = %gradcheck_layer ...` keeps it. IPython is imported here only, when the extension loads. A mistake in
the magic's own line is one line of text (no traceback); an exception in your function is your traceback.
"""

from __future__ import annotations

import ast
import io
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from .errors import GradcheckError, UsageError

WIDTH = 110  # columns of the tables in a notebook (a 4-entry params dict still fits a table, not the stacked form)


def register(ipython) -> None:
    from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

    @magics_class
    class GradcheckMagics(Magics):
        @cell_magic("gradcheck")
        def gradcheck(self, line: str, cell: str):
            return _guarded(lambda: check_cell(line, cell, self.shell))

        @line_magic("gradcheck_layer")
        def gradcheck_layer(self, line: str):
            return _guarded(lambda: check_layer_line(line, self.shell.user_ns))

        @line_magic("gradcheck_function")
        def gradcheck_function(self, line: str):
            return _guarded(lambda: check_function_line(line, self.shell.user_ns))

    ipython.register_magics(GradcheckMagics)


def _guarded(run: Callable):
    """gradcheck's own errors (a bad option, a cell it cannot read) as one line, like the command line's."""
    try:
        return run()
    except GradcheckError as error:
        import sys

        print(f"gradcheck: {error.render()}", file=sys.stderr)
        return None


@dataclass(frozen=True, slots=True)
class Line:
    """A magic's line: words in order, NAME=VALUE words, and --options."""

    words: tuple[str, ...] = ()
    named: dict[str, str] = field(default_factory=dict)
    options: dict[str, str | bool] = field(default_factory=dict)


FLAGS = ("strict", "no-run", "no-draws")
OPTIONS = ("at", "wrt", "rtol", "atol", "h", "seed", "dout")


def parse_line(line: str, allowed: tuple[str, ...], magic: str) -> Line:
    tokens = _tokens(line, magic)
    words, named, options = [], {}, {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.startswith("--"):
            name, equals, value = token[2:].partition("=")
            if name not in allowed:
                raise UsageError(f"{magic}: no option --{name} (options: {', '.join('--' + a for a in allowed)})")
            if name in FLAGS:
                options[name] = True
            elif equals:
                options[name] = value
            elif i + 1 < len(tokens):
                options[name] = tokens[i + 1]
                i += 1
            else:
                raise UsageError(f"{magic}: --{name} needs a value")
        elif "=" in token and token.split("=", 1)[0].isidentifier():
            key, _, value = token.partition("=")
            named[key] = value
        else:
            words.append(token)
        i += 1
    return Line(tuple(words), named, options)


def _tokens(line: str, magic: str) -> list[str]:
    """Words split at spaces outside brackets and quotes (so conv_param={'stride': 1, 'pad': 1} is one word and
    keeps its quotes); a word wholly in quotes ("x=1, y=2") loses them."""
    from .lang.lexer import split_outside

    pieces, unclosed = split_outside(line, str.isspace)
    if unclosed:
        raise UsageError(f"{magic}: cannot read the line: an unclosed {unclosed}")
    tokens = [piece for piece, _ in pieces if piece]
    return [t[1:-1] if len(t) > 1 and t[0] == t[-1] and t[0] in "'\"" else t for t in tokens]


def _number(options: Mapping, name: str, kind, default):
    if name not in options:
        return default
    try:
        return kind(options[name])
    except ValueError:
        raise UsageError(f"--{name} must be a number, got {options[name]!r}") from None


def _tolerances(options: Mapping) -> dict:
    return {"rtol": _number(options, "rtol", float, 1e-6), "atol": _number(options, "atol", float, 0.0),
            "h": _number(options, "h", float, None), "seed": _number(options, "seed", int, 0),
            "strict": bool(options.get("strict", False))}


def show(report) -> None:
    """The report's tables as the cell's rich output (HTML, with a plain-text twin)."""
    from IPython.display import display
    from rich.console import Console

    from .report.table import print_case, print_notes
    from .report.text import summary_line

    console = Console(record=True, file=io.StringIO(), width=WIDTH, highlight=False, emoji=False, markup=False, force_jupyter=False,
                      force_terminal=True, color_system="truecolor")
    for case in report.cases:
        print_case(console, case, ("forward", "centered", "best"))
        print_notes(console, case)
    console.print(summary_line(list(report.cases)))
    text = re.sub(r"\x1b\[[0-9;]*m", "", console.export_text(clear=False))  # styles some tables carry inside their text
    html = console.export_html(inline_styles=True, code_format="<pre style=\"font-family:monospace\">{code}</pre>")
    display({"text/plain": text, "text/html": html}, raw=True)  # one output block: the tables and their plain twin


# --- %%gradcheck ----------------------------------------------------------------------------------------------------

def free_names(cell: str) -> list[str]:
    """The names the cell reads before (or without) assigning them, in order of first reading."""
    from .lang.program import parse_program

    program = parse_program(cell, "<cell>")
    assigned, free = set(), {}
    for statement in program.statements:
        if statement.kind != "assign" or statement.expr is None:
            continue
        for name in statement.expr.variables:
            if name not in assigned:
                free.setdefault(name, None)
        assigned.add(statement.target)
    return list(free)


def namespace_point(names: list[str], namespace: Mapping[str, object]) -> dict[str, np.ndarray]:
    """The notebook's numeric values of `names` (numbers, lists of numbers, arrays); others are left out."""
    point = {}
    for name in names:
        value = namespace.get(name)
        if value is None or callable(value) or isinstance(value, (str, bytes, dict)):
            continue
        try:
            array = np.asarray(value)
        except Exception:  # noqa: BLE001 -- a value numpy cannot read is not a point value
            continue
        if array.dtype.kind in "biuf" and array.size and np.all(np.isfinite(array)):
            point[name] = array.astype(np.float64)
    return point


def check_cell(line: str, cell: str, shell):
    from .api import check
    from .function.layer_points import split_items
    from .report.text import point_argument

    parsed = parse_line(line, ("at", "wrt", "rtol", "atol", "h", "seed", "strict", "no-run"), "%%gradcheck")
    given = str(parsed.options.get("at", ""))
    named = {piece.partition("=")[0].strip() for piece, _ in split_items(given) if "=" in piece}
    taken = namespace_point([n for n in free_names(cell) if n not in named], shell.user_ns)
    at = ", ".join(part for part in (given, point_argument(taken) if taken else "") if part) or None
    options = _tolerances(parsed.options)
    # the notebook's values are the cell's own (random draws are judged too); a point given with --at is not
    report = check(cell, at=at, wrt=parsed.options.get("wrt"), draws=not given, **options)
    show(report)
    if not parsed.options.get("no-run"):
        shell.ex(cell)  # the cell's own variables, as without the magic
    return report


# --- %gradcheck_layer and %gradcheck_function -------------------------------------------------------------------

def _lookup(name: str, namespace: Mapping[str, object], magic: str):
    if name in namespace:
        return namespace[name]
    head, *attributes = name.split(".")
    if attributes and head in namespace and all(a.isidentifier() for a in attributes):  # wrong.affine_backward
        value = namespace[head]
        for attribute in attributes:
            if not hasattr(value, attribute):
                raise UsageError(f"{magic}: {head} has no {'.'.join(attributes)}")
            value = getattr(value, attribute)
        return value
    try:
        return ast.literal_eval(name)  # a literal in the line: 0.5, {'stride': 1, 'pad': 1}
    except (ValueError, SyntaxError):
        hidden = {"In", "Out", "exit", "quit", "get_ipython"}
        known = sorted(k for k in namespace if k.isidentifier() and not k.startswith("_") and k not in hidden)[:15]
        raise UsageError(f"{magic}: no variable {name!r} in the notebook (some there: {', '.join(known)})") from None


def _function(name: str, namespace: Mapping[str, object], magic: str) -> Callable:
    value = _lookup(name, namespace, magic)
    if not callable(value):
        raise UsageError(f"{magic}: {name} is a {type(value).__name__}, not a function")
    return value


def _arguments(function: Callable, parsed: Line, words: tuple[str, ...], namespace, magic: str,
               by_name: bool) -> dict[str, object]:
    """The inputs: words to the parameters in order, NAME=VAR by name; with by_name, the remaining parameters
    without a default from the notebook's variables of the same name."""
    import inspect

    from .function.layer_inputs import where

    parameters = [p for p in inspect.signature(function).parameters.values() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if len(words) > len(parameters):
        raise UsageError(f"{magic}: {len(words)} inputs for {where(function)}, which takes {len(parameters)} "
                         f"({', '.join(p.name for p in parameters)})")
    inputs = {p.name: _lookup(word, namespace, magic) for p, word in zip(parameters, words)}
    for key, word in parsed.named.items():
        if key not in {p.name for p in parameters}:
            raise UsageError(f"{magic}: {where(function)} has no parameter {key!r} ({', '.join(p.name for p in parameters)})")
        inputs[key] = _lookup(word, namespace, magic)
    missing = [p.name for p in parameters if p.name not in inputs and p.default is p.empty]
    for name in list(missing):
        if by_name and name in namespace:
            inputs[name] = namespace[name]
            missing.remove(name)
    if missing:
        raise UsageError(f"{magic}: no value for {', '.join(missing)}: list it after the functions (in "
                         f"{where(function)}'s parameter order) or write {missing[0]}=VARIABLE")
    return inputs


def check_layer_line(line: str, namespace: Mapping[str, object]):
    from .api import check_layer

    magic = "%gradcheck_layer"
    parsed = parse_line(line, ("wrt", "rtol", "atol", "h", "seed", "strict", "dout", "no-draws"), magic)
    if len(parsed.words) < 2:
        raise UsageError(f"{magic}: give FORWARD BACKWARD and the inputs, e.g. %gradcheck_layer affine_forward affine_backward x w b")
    forward, backward = (_function(n, namespace, magic) for n in parsed.words[:2])
    inputs = _arguments(forward, parsed, parsed.words[2:], namespace, magic, by_name=True)
    dout = _lookup(str(parsed.options["dout"]), namespace, magic) if "dout" in parsed.options else None
    report = check_layer(forward, backward, inputs, parsed.options.get("wrt"), dout=dout, **_tolerances(parsed.options),
                         draws=not parsed.options.get("no-draws", False))
    show(report)
    return report


def check_function_line(line: str, namespace: Mapping[str, object]):
    """F GRAD ARGS or F ARGS (F returns (loss, gradients)); the ARGs listed are checked, F's other inputs are fixed."""
    import inspect

    from .api import check_function

    magic = "%gradcheck_function"
    parsed = parse_line(line, ("wrt", "rtol", "atol", "h", "seed", "strict", "hessian", "hvp", "no-draws"), magic)
    if not parsed.words:
        raise UsageError(f"{magic}: give F [GRAD] and the inputs, e.g. %gradcheck_function loss loss_grad W")
    f = _function(parsed.words[0], namespace, magic)
    second = namespace.get(parsed.words[1]) if len(parsed.words) > 1 else None
    grad = second if callable(second) else None
    seconds = {name: _function(str(parsed.options[name]), namespace, magic) for name in ("hessian", "hvp") if name in parsed.options}
    if seconds and grad is None:
        option = next(iter(seconds))
        raise UsageError(f"{magic}: --{option} is judged against differences of GRAD: give it, e.g. "
                         f"%gradcheck_function {parsed.words[0]} GRAD ... --{option} {parsed.options[option]}")
    words = parsed.words[2:] if grad is not None else parsed.words[1:]
    inputs = _arguments(f, parsed, words, namespace, magic, by_name=True)
    listed = [p for p in inspect.signature(f).parameters][:len(words)] + list(parsed.named)
    given = str(parsed.options.get("wrt", ""))
    floats = [n for n in listed or inputs if isinstance(inputs[n], (float, np.ndarray)) and np.asarray(inputs[n]).dtype.kind == "f"]
    wrt = tuple(n.strip() for n in given.split(",") if n.strip()) or tuple(floats) or tuple(listed)
    unknown = [n for n in wrt if n not in inputs]
    if unknown:
        raise UsageError(f"{magic}: --wrt names {', '.join(unknown)}, which is not an input ({', '.join(inputs)})")
    options = {**_tolerances(parsed.options), "draws": not parsed.options.get("no-draws", False)}
    if grad is None:  # the gradients F returns say which inputs they are for: --wrt only narrows them
        report = check_function(f, inputs, None, wrt if given else None, **options)
    else:
        fixed = {k: v for k, v in inputs.items() if k not in wrt}  # labels, data: passed through as they are

        def loss(**checked):
            return f(**checked, **fixed)

        def gradient(**checked):
            return grad(**checked, **fixed)

        def hessian(**checked):
            return seconds["hessian"](**checked, **fixed)

        def hvp(v, **checked):
            return seconds["hvp"](v, **checked, **fixed)

        loss.__qualname__, gradient.__qualname__ = parsed.words[0], parsed.words[1]
        hessian.__qualname__, hvp.__qualname__ = str(parsed.options.get("hessian")), str(parsed.options.get("hvp"))
        report = check_function(loss, {k: inputs[k] for k in wrt}, gradient, wrt, **options,
                                hessian=hessian if "hessian" in seconds else None, hvp=hvp if "hvp" in seconds else None)
    show(report)
    return report
