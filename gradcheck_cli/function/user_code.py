"""`gradcheck function FILE.py:NAME`: importing the user's own module is the point of that command.

This is the only place gradcheck runs code it did not write: a module the user names on the command line,
exactly as `python FILE.py` would. Expression text is still never executed. Exceptions the user's code raises
become one-line errors pointing at the user's file and line.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
import warnings
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from ..errors import UsageError

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


@dataclass(frozen=True, slots=True)
class Target:
    """A function of the user's code, named as they named it, and where it came from."""

    function: Callable
    name: str  # as the user wrote it: FILE.py:NAME or module:NAME
    path: str | None  # the file the module came from


def load(spec: str, what: str) -> Target:
    """`path/to/module.py:name` or `package.module:name` -> the callable; one-line errors naming what failed."""
    where, colon, name = spec.rpartition(":")
    if not colon or not where or not name.isidentifier():
        raise UsageError(f"{what} must be FILE.py:NAME or MODULE:NAME, such as model.py:loss (got {spec!r})")
    module = _import(where, what)
    function = getattr(module, name, None)
    if function is None:
        public = sorted(n for n, v in vars(module).items() if callable(v) and not n.startswith("_"))[:12]
        raise UsageError(f"{where} has no '{name}' (its functions: {', '.join(public) or 'none'})")
    if not callable(function):
        raise UsageError(f"{where}:{name} is a {type(function).__name__}, not a function")
    return Target(function, spec, getattr(module, "__file__", None))


def import_module(where: str, what: str):
    """FILE.py or package.module, imported as `load` imports it (for `gradcheck layer FILE.py`, every pair in it)."""
    return _import(where, what)


def _import(where: str, what: str):
    with _quiet_stdout():
        if where.endswith(".py") or os.sep in where or "/" in where:
            return _import_file(where, what)
        try:
            return importlib.import_module(where)
        except ImportError as problem:
            raise UsageError(f"{what}: cannot import module {where!r}: {problem}") from None
        except (Exception, SystemExit) as problem:  # noqa: BLE001 -- the user's module failed while importing
            raise user_error(problem, f"importing {where}") from None


def _import_file(path: str, what: str):
    if not os.path.isfile(path):
        raise UsageError(f"{what}: no file {path!r}")
    absolute = os.path.abspath(path)
    name = "gradcheck_user_" + os.path.splitext(os.path.basename(absolute))[0].replace("-", "_").replace(".", "_")
    cached = sys.modules.get(name)
    if cached is not None and getattr(cached, "__file__", None) == absolute:
        return cached  # --grad in the same file as f: one import, one module
    spec = importlib.util.spec_from_file_location(name, absolute)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, os.path.dirname(absolute))  # the module imports its neighbours as `python FILE.py` would
    try:
        spec.loader.exec_module(module)
    except SyntaxError as problem:
        raise UsageError(f"{path}:{problem.lineno}:{problem.offset or 1}: syntax error: {problem.msg}") from None
    except (Exception, SystemExit) as problem:  # noqa: BLE001 -- a module that calls sys.exit() on import too
        del sys.modules[name]
        raise user_error(problem, f"importing {path}") from None
    finally:
        sys.path.remove(os.path.dirname(absolute))
    return module


def parameters(function: Callable) -> tuple[str, ...]:
    """The inputs a point must give: every named parameter without a default."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        raise UsageError("cannot read the function's parameters; wrap it in a def with named parameters") from None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return tuple(p.name for p in signature.parameters.values() if p.kind in kinds and p.default is inspect.Parameter.empty)


def user_error(problem: BaseException, doing: str) -> UsageError:
    """`loss raised ValueError: ... (model.py:12)`: the innermost frame outside gradcheck, which is the user's."""
    frames = [f for f in traceback.extract_tb(problem.__traceback__) if not f.filename.startswith(PACKAGE_DIR)]
    user = [f for f in frames if "site-packages" not in f.filename and "importlib" not in f.filename] or frames
    where = f" ({os.path.relpath(user[-1].filename)}:{user[-1].lineno})" if user else ""
    text = str(problem).splitlines()[0] if str(problem) else ""
    if isinstance(problem, SystemExit):
        text = f"sys.exit({problem.code!r}) ended the call"
    return UsageError(f"{doing} raised {type(problem).__name__}{': ' + text if text else ''}{where}")


def raised_by(problem: BaseException, targets: tuple[Target, ...]) -> Target | None:
    """Which of `targets` gradcheck was calling when `problem` was raised: the outermost frame that runs one of their
    functions' code (so a GRAD that calls F internally is still GRAD); None when no frame does (a callable object)."""
    codes = {}
    for target in targets:
        code = getattr(inspect.unwrap(target.function), "__code__", None)
        if code is not None:
            codes.setdefault(code, target)
    for frame, _ in traceback.walk_tb(problem.__traceback__):
        if frame.f_code in codes:
            return codes[frame.f_code]
    return None


def raised_in_user_code(problem: BaseException, paths: tuple[str | None, ...]) -> bool:
    """Did the exception pass through the user's files (not only gradcheck's own)?"""
    files = {os.path.abspath(p) for p in paths if p}
    return any(os.path.abspath(f.filename) in files for f in traceback.extract_tb(problem.__traceback__))


@contextmanager
def _quiet_stdout():
    """The user's prints go to stderr: stdout carries the report (and must stay valid JSON)."""
    with redirect_stdout(sys.stderr):
        yield


calls_quietly = _quiet_stdout


# --- calling the user's functions: on copies, quietly, watched for changes to their inputs ---------------------

class Refused(Exception):
    """The user's code gave something that cannot be checked: the case is an `error` with this message."""


@contextmanager
def quiet():
    """numpy's warnings about nan and complex casts while probing the user's function say nothing useful."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", np.exceptions.ComplexWarning)
        yield


def copies(inputs: Mapping[str, object]) -> dict[str, object]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in inputs.items()}


class UserCode:
    """f and grad as the check calls them, on the check's own copies of the inputs (never the caller's arrays). The
    first call of each gets copies of its own and is watched for changes to its inputs; the check ends by making
    sure no later call changed them either (`unchanged`)."""

    def __init__(self, f: Callable, grad: Callable | None, f_name: str, grad_name: str):
        self.function, self.gradient, self.f_name, self.grad_name = f, grad, f_name, grad_name

    def f(self, inputs: Mapping[str, object]) -> np.ndarray:
        with quiet():
            return np.asarray(self.function(**inputs))

    def unchanged(self, inputs: Mapping[str, object], snapshot: Mapping[str, object]) -> None:
        for name, value in inputs.items():
            if isinstance(value, np.ndarray) and not np.array_equal(value, snapshot[name], equal_nan=True):
                raise Refused(f"{self.f_name} changed its input {name} during the check (an in-place operation on it): "
                              f"a function under check must leave its inputs as they were; work on a copy")

    def first(self, which: str, inputs: Mapping[str, object]):
        """The first call of f or grad: its result, after checking it left every input as it was."""
        given = copies(inputs)
        with quiet():
            result = (self.function if which == "f" else self.gradient)(**given)
        for name, value in given.items():
            original = inputs[name]
            if isinstance(original, np.ndarray) and not (isinstance(value, np.ndarray) and value.shape == original.shape
                                                         and np.array_equal(value, original, equal_nan=True)):
                who = self.f_name if which == "f" else self.grad_name
                raise Refused(f"{who} changed its input {name} (an in-place operation such as {name} *= ... or "
                              f"{name}[...] = ...): a function under check must leave its inputs as they were; "
                              f"work on a copy ({name} = {name}.copy())")
        return result
