"""Layers as people write them, checked by function_check.check_function: nothing here compares numbers.

Two shapes are adapted into the f and grad check_function takes:

- a forward/backward pair with a cache (cs231n's `out, cache = affine_forward(x, w, b)` and
  `dx, dw, db = affine_backward(dout, cache)`; seed 002's `fprop(x, y, params)` returning an OrderedDict with
  'loss', and `bprop(cache)`): f(**arrays) = sum(dout * out) and grad(**arrays) = backward(dout, cache), so the
  check is of doutᵀJ with a seeded random dout, as cs231n's eval_numerical_gradient_array does;
- a function returning (loss, grad) (cs231n's `svm_loss(x, y)`): f is the loss, grad the rest.

Every call gets fresh copies of its inputs, and of the cache and dout for the backward pass. One probe call before
the check finds a forward that is not repeatable (an unseeded dropout mask) and a call that changes its inputs,
its cache or dout in place; each is an `error` of the case, naming the function and what changed. A pair that passes
is also screened at random draws of its inputs (check_function does it: draws.py).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from typing import Callable, Mapping

import numpy as np

from ..errors import UsageError
from ..results import CaseResult
from ..status import worst
from .check import FunctionOptions, check_function
from .layer_inputs import Inputs, Slot, assign, first_change, parameter_names, positional_count, where


@dataclass(frozen=True, slots=True)
class Pair:
    """The user's code adapted: `forward` returns out, (out, cache) or a dict holding 'loss'; `backward` is None
    when forward itself returns (loss, gradients)."""

    forward: Callable
    backward: Callable | None
    inputs: Inputs
    dout: np.ndarray | float
    backward_takes_dout: bool  # False: backward(result), seed 002's bprop(fprop_cache)

    def run(self, flat: Mapping[str, np.ndarray]):
        return self.forward(**self.inputs.call_values(flat))

    def output(self, result):
        """(out, rest): what forward's result holds beside its output (the cache, or the gradients)."""
        if self.backward is None:
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                raise UsageError(f"{where(self.forward)} returned {_kind(result)}: with no gradient function, it must "
                                 "return (loss, gradients), as cs231n's svm_loss returns (loss, dx)")
            return result[0], result[1]
        if isinstance(result, Mapping):
            if "loss" not in result:
                raise UsageError(f"{where(self.forward)} returned a dict without 'loss' (keys: {', '.join(map(repr, result))}): "
                                 "return out, (out, cache), or a dict holding 'loss'")
            return result["loss"], result
        if isinstance(result, tuple):
            if len(result) != 2:
                raise UsageError(f"{where(self.forward)} returned a tuple of {len(result)}: return out or (out, cache)")
            return result
        return result, None

    def f(self, **flat):
        out, _ = self.output(self.run(flat))
        return np.sum(self.dout * np.asarray(out))

    def grad(self, **flat):
        return self.gradients(flat)[0]

    def gradients(self, flat: Mapping[str, np.ndarray], wanted: tuple[Slot, ...] | None = None):
        """({slot name: gradient}, what the call changed in place or None)."""
        values = self.inputs.call_values(flat)
        result = self.forward(**values)
        out, rest = self.output(result)
        if self.backward is None:
            return assign(rest, self.inputs, wanted, where(self.forward)), None
        dout = np.array(self.dout, copy=True)
        if not self.backward_takes_dout:
            given, before = _snapshot(result)
            returned = self.backward(given)
            changed = first_change(before, given, "its argument")
        elif rest is None:
            returned, changed = self._without_cache(dout, values)
        else:
            given, before = _snapshot(rest)
            returned = self.backward(dout, given)
            changed = first_change(before, given, "cache")
        changed = changed or first_change(np.asarray(self.dout), dout, "dout")
        return assign(returned, self.inputs, wanted, where(self.backward)), changed

    def _without_cache(self, dout, values):
        """A forward that returns out alone: backward(dout, x, ...) gets the inputs it names."""
        names = parameter_names(self.backward) or ()
        rest = [n for n in names[1:]]
        if not rest or any(n not in values for n in rest):
            raise UsageError(f"{where(self.forward)} returned no cache (only out), and {where(self.backward)} takes "
                             f"({', '.join(names)}): return (out, cache) from the forward pass")
        given = {n: values[n] for n in rest}
        before = copy.deepcopy(given)
        returned = self.backward(dout, **given)
        return returned, first_change(before, given, "its inputs")


def _snapshot(value):
    """(a copy for the user's call, a copy to compare with afterwards)."""
    try:
        return copy.deepcopy(value), copy.deepcopy(value)
    except Exception:  # noqa: BLE001 -- a cache deepcopy refuses is passed as it is, and not compared
        return value, None


def _kind(value) -> str:
    if isinstance(value, tuple):
        return f"a tuple of {len(value)}"
    return f"a {type(value).__name__}" if not isinstance(value, np.ndarray) else f"an array of shape {value.shape}"


def make_pair(forward: Callable, backward: Callable | None, values: Mapping[str, object], wrt: tuple[str, ...] | None,
              dout, seed: int) -> Pair:
    inputs = Inputs.of(forward, values, tuple(wrt or ()))
    if not inputs.slots:
        raise UsageError(f"{where(forward)} has no float array among its inputs ({', '.join(values) or 'none'}) to "
                         "check: give arrays (np.float64), or name the inputs to check with wrt")
    for name, array in inputs.flat().items():
        if array.size == 0:
            raise UsageError(f"{name} is empty (shape {array.shape}): there is nothing to check")
        if not np.all(np.isfinite(array)):
            index = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0]) if array.ndim else ()
            raise UsageError(f"{name}{list(index) if index else ''} is {array[index]}: check at finite values")
    takes_dout = backward is None or positional_count(backward) != 1
    probe = Pair(forward, backward, inputs, 1.0, takes_dout)
    with np.errstate(all="ignore"):
        result = probe.run(inputs.flat())
    out, rest = probe.output(result)
    out = np.asarray(out)
    if backward is None or not takes_dout or isinstance(result, Mapping):
        default = np.ones(out.shape, out.dtype if out.dtype.kind == "f" else np.float64)  # a loss: backprop starts at 1
    else:
        default = np.random.default_rng(seed).standard_normal(out.shape).astype(out.dtype if out.dtype.kind == "f" else np.float64)
    if dout is None:
        dout = default
    else:
        if not takes_dout:
            raise UsageError(f"{where(backward)} takes no upstream gradient (only the forward result), so dout cannot be given")
        dout = np.asarray(dout)
        if dout.shape != out.shape:
            dout = np.broadcast_to(dout, out.shape).copy() if dout.ndim == 0 else _wrong_dout(dout, out, forward)
    return replace(probe, dout=dout)


def _wrong_dout(dout: np.ndarray, out: np.ndarray, forward: Callable):
    raise UsageError(f"dout has shape {dout.shape}, but {where(forward)}'s output has shape {out.shape}")


def run_checks(pair: Pair, wrt: tuple[str, ...] | None, name: str, options: FunctionOptions) -> CaseResult:
    """The probe, then check_function on the adapted f and grad, then the probe's findings added to the case."""

    flat = pair.inputs.flat()
    wanted = pair.inputs.resolve(wrt, pair.forward) if wrt else None
    problems = _repeatable(pair, flat)
    with np.errstate(all="ignore"):
        gradients, changed = pair.gradients(flat, wanted)
    who = where(pair.backward or pair.forward)
    if changed:
        root = re.split(r"[\[:]", changed, maxsplit=1)[0]
        fix = "dx = dout.copy(), then change dx" if root == "dout" else "change a copy"
        problems.append(f"{who} changed {root} in place ({changed}): {fix}")
    checked = tuple(s.name for s in wanted) if wanted else tuple(s.name for s in pair.inputs.slots if s.name in gradients)
    missing = [s for s in (wanted or ()) if s.name not in gradients]
    if missing:
        raise UsageError(f"wrt names {', '.join(s.name for s in missing)}, but {who} returns no gradient for "
                         f"{'it' if len(missing) == 1 else 'them'}")
    if not checked:
        raise UsageError(f"{who} returned no gradient for any array input ({', '.join(s.name for s in pair.inputs.slots)})")
    skipped = [s.name for s in pair.inputs.slots if s.name not in gradients and not wanted]

    # right at the given inputs: right at random draws of them too? (check_function's draws; not for a pair whose
    # forward is not repeatable or changes what it is given)
    options = replace(options, draws=options.draws and not problems)
    case = check_function(pair.f, {n: flat[n] for n in checked}, pair.grad, checked, options, name=name)
    notes = [*case.function_notes]
    if skipped:
        notes.append(f"not checked: {', '.join(skipped)} ({who} returns no gradient for {'it' if len(skipped) == 1 else 'them'})")
    return _with_problems(case, problems, notes)


def _repeatable(pair: Pair, flat) -> list[str]:
    """Two forward calls at the same inputs must agree (a dropout mask drawn anew each call cannot be checked), and
    must leave the arrays they were given unchanged."""
    problems = []
    with np.errstate(all="ignore"):
        first = pair.inputs.call_values(flat)
        out_first = np.asarray(pair.output(pair.forward(**first))[0])
        out_again = np.asarray(pair.output(pair.run(flat))[0])
    for slot in pair.inputs.slots:
        given = first[slot.input] if slot.key is None else first[slot.input][slot.key]
        change = first_change(flat[slot.name], given, slot.name)
        if change:
            problems.append(f"{where(pair.forward)} changed its input {change} in place")
            break
    if out_first.shape != out_again.shape or not np.array_equal(out_first, out_again, equal_nan=True):
        problems.append(f"{where(pair.forward)} returns a different output when called twice with the same inputs (a "
                        "random mask drawn anew? seed it, as cs231n's dropout_param['seed'] does): its gradient cannot be checked")
    return problems


def _with_problems(case: CaseResult, problems: list[str], notes: list[str]) -> CaseResult:
    if not problems and not notes:
        return case
    message = "; ".join([*problems, *filter(None, [case.message]), *notes])
    return replace(case, status=worst([case.status, "error"]) if problems else case.status, message=message,
                   function_notes=tuple(problems + notes))  # what the tables do not show from the message


def check_layer(forward: Callable, backward: Callable, inputs: Mapping[str, object], wrt: tuple[str, ...] | None = None, *,
                dout=None, seed: int = 0, name: str | None = None, options: FunctionOptions = FunctionOptions()) -> CaseResult:
    """One forward/backward pair at one point; `options` go to check_function (tolerances, h, directions...)."""
    pair = make_pair(forward, backward, inputs, wrt, dout, seed)
    label = name or f"{_name(forward)} / {_name(backward)}"
    return run_checks(pair, wrt, label, options)


def check_returning_grad(f: Callable, inputs: Mapping[str, object], wrt: tuple[str, ...] | None = None, *, seed: int = 0,
                         name: str | None = None, options: FunctionOptions = FunctionOptions()) -> CaseResult:
    """f returns (loss, dx), (loss, (dx, dw, ...)) in input order, or (loss, {name: gradient})."""
    pair = make_pair(f, None, inputs, wrt, None, seed)
    return run_checks(pair, wrt, name or _name(f), options)


def _name(function: Callable) -> str:
    return getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or type(function).__name__
