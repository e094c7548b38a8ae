"""A layer's inputs as check_function sees them, and the gradients the user's code returns, put in their places.

A layer is called with inputs of many kinds: arrays to differentiate (x, w, b), a dict of arrays (seed 002's
`params`), and values that are passed through untouched (labels `y`, an index array, a mode string, cs231n's
`conv_param`). check_function differentiates flat named arrays, so each array to check is a `Slot` with a name the
report shows (`x`, `params['W1']`), and `Inputs.call_values` rebuilds the user's call from the flat arrays, with
fresh copies every call. `assign` reads what the user's backward returned (a tuple in the forward's parameter
order, a dict by name, or one array) into {slot name: gradient}. `first_change` names what a call changed in place.
"""

from __future__ import annotations

import copy
import inspect
import os
from dataclasses import dataclass
from typing import Callable, Hashable, Mapping

import numpy as np

from ..errors import UsageError


@dataclass(frozen=True, slots=True)
class Slot:
    """One array checked on its own: an input, or one entry of a dict input."""

    name: str  # as the report shows it: x, params['W1']
    input: str  # the parameter it belongs to
    key: Hashable | None = None  # the entry of a dict input; None for an array input


def slot_name(input_name: str, key: Hashable | None) -> str:
    return input_name if key is None else f"{input_name}[{key!r}]"


def is_float_array(value) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def is_array_dict(value) -> bool:
    return isinstance(value, Mapping) and len(value) > 0 and all(is_float_array(v) for v in value.values())


def where(function: Callable) -> str:
    """`affine_backward (layers.py:40)`: a user function named with the place it is defined."""
    name = getattr(function, "__qualname__", None) or getattr(function, "__name__", None) or type(function).__name__
    code = getattr(function, "__code__", None)
    if code is None:
        return name
    path = code.co_filename
    if "ipykernel_" in path or path.startswith("<ipython-input"):  # a notebook cell: its file name means nothing
        return f"{name} (its cell, line {code.co_firstlineno})"
    shown = os.path.relpath(path) if os.path.isfile(path) and not os.path.relpath(path).startswith("..") else os.path.basename(path)
    return f"{name} ({shown}:{code.co_firstlineno})"


def parameter_names(function: Callable) -> tuple[str, ...] | None:
    """Named parameters in order; None when they cannot be read (a builtin) or the function takes **kwargs."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_KEYWORD for p in parameters):
        return None
    return tuple(p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def positional_count(function: Callable) -> int | None:
    """How many positional arguments a function takes (None: any number, or unreadable)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    if any(p.kind == p.VAR_POSITIONAL for p in parameters):
        return None
    return sum(1 for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


@dataclass(frozen=True, slots=True)
class Inputs:
    """The user's inputs (untouched, in the forward's parameter order) and the slots to check."""

    values: Mapping[str, object]
    slots: tuple[Slot, ...]  # every array that can be checked, in parameter order (entries in dict order)

    @classmethod
    def of(cls, function: Callable, values: Mapping[str, object], wanted: tuple[str, ...] = ()) -> "Inputs":
        """Float arrays and dicts of float arrays are checkable; so is anything `wanted` names (made float64)."""
        names = parameter_names(function)
        if names is not None:
            unknown = [k for k in values if k not in names]
            if unknown:
                raise UsageError(f"inputs have {', '.join(map(repr, unknown))}, which {where(function)} does not take "
                                 f"(its parameters: {', '.join(names) or 'none'})")
            order = [n for n in names if n in values]
        else:
            order = list(values)
        ordered = {n: values[n] for n in order}
        slots = []
        for name, value in ordered.items():
            if is_array_dict(value) or (name in wanted and isinstance(value, Mapping)):
                slots += [Slot(slot_name(name, k), name, k) for k, v in value.items() if name not in wanted or _numeric(v)]
            elif is_float_array(value) or (name in wanted and _numeric(value)):
                slots.append(Slot(name, name))
        return cls(ordered, tuple(slots))

    def flat(self) -> dict[str, np.ndarray]:
        """The slots' arrays, by slot name (a slot named in `wanted` that was not a float array becomes float64)."""
        return {s.name: _as_array(self.values[s.input] if s.key is None else self.values[s.input][s.key]) for s in self.slots}

    def call_values(self, flat: Mapping[str, np.ndarray]) -> dict[str, object]:
        """The user's call with the flat arrays in place: fresh copies of everything, so no call sees another's changes."""
        values = {}
        for name, value in self.values.items():
            try:
                values[name] = copy.deepcopy(value)
            except Exception:  # noqa: BLE001 -- an input deepcopy refuses (a lock, a module) is passed as a shallow copy
                values[name] = copy.copy(value)
        for slot in self.slots:
            if slot.name not in flat:
                continue  # an array not checked keeps its value
            array = np.array(flat[slot.name], copy=True)
            if slot.key is None:
                values[slot.input] = array
            else:
                values[slot.input][slot.key] = array
        return values

    def candidates(self) -> list[str]:
        """The inputs with slots, in parameter order: what a tuple of gradients is matched against."""
        return list(dict.fromkeys(s.input for s in self.slots))

    def resolve(self, names: tuple[str, ...], function: Callable) -> tuple[Slot, ...]:
        """wrt names as slots: an input (all its slots), a slot name (params['W1']), or an entry's key (W1) if unique."""
        chosen: list[Slot] = []
        for name in names:
            found = ([s for s in self.slots if s.input == name] or [s for s in self.slots if s.name == name]
                     or [s for s in self.slots if s.key is not None and str(s.key) == name])
            if not found or len({s.input for s in found}) > 1 and found[0].input != name:
                known = ", ".join(s.name for s in self.slots) or "none"
                problem = "is not an array input" if name in self.values else "is not an input"
                raise UsageError(f"wrt names {name!r}, which {problem} of {where(function)} (arrays to check: {known})")
            chosen += [s for s in found if s not in chosen]
        return tuple(chosen)


def _numeric(value) -> bool:
    try:
        return np.asarray(value).dtype.kind in "biuf"
    except Exception:  # noqa: BLE001 -- anything numpy cannot read is not numeric
        return False


def _as_array(value) -> np.ndarray:
    array = np.asarray(value)
    return array if array.dtype.kind == "f" else array.astype(np.float64)


def assign(given, inputs: Inputs, wanted: tuple[Slot, ...] | None, who: str) -> dict[str, np.ndarray]:
    """What the user's backward returned, by slot name: a dict (by input name, slot name, entry key or dNAME), a
    tuple/list in the forward's parameter order (or in wrt's order), or one array. None entries are no gradient."""
    if isinstance(given, Mapping):
        return _from_dict(given, inputs, who)
    candidates = [n for n in inputs.candidates() if wanted is None or any(s.input == n for s in wanted)]
    if isinstance(given, (tuple, list)):
        if len(given) == len(candidates):
            pairs = list(zip(candidates, given))
        elif len(given) == len(inputs.candidates()):
            pairs = list(zip(inputs.candidates(), given))
        else:
            pairs = _by_shape(list(given), inputs, candidates, who)
    elif given is None:
        raise UsageError(f"{who} returned None: return the gradients, e.g. `return dx, dw, db`")
    else:
        pairs = [(_single(np.shape(given), inputs, candidates, who), given)]
    result: dict[str, np.ndarray] = {}
    for name, gradient in pairs:
        if gradient is not None and not isinstance(gradient, Mapping) and not _numeric(gradient):
            raise UsageError(f"{who} returned a {type(gradient).__name__} as the gradient of {name}: return arrays")
        if gradient is None:
            continue
        slots = [s for s in inputs.slots if s.input == name]
        if slots[0].key is None:
            result[name] = gradient
        elif isinstance(gradient, Mapping):
            result.update(_from_dict({name: gradient}, inputs, who))
        else:
            raise UsageError(f"{who} returned a {type(gradient).__name__} for {name}, a dict of arrays: return a dict "
                             f"with the same keys ({', '.join(map(repr, (s.key for s in slots)))})")
    return result


def _from_dict(given: Mapping, inputs: Inputs, who: str) -> dict[str, np.ndarray]:
    result: dict[str, np.ndarray] = {}
    for key, gradient in given.items():
        if gradient is None:
            continue
        slots = _slots_for(key, inputs)
        if slots is None and isinstance(key, str) and key.startswith("d"):
            slots = _slots_for(key[1:], inputs)
        if slots is None:
            if key in inputs.values:
                continue  # a gradient for an input that is not checked (an int array, a mode string)
            known = ", ".join(s.name for s in inputs.slots) or "none"
            raise UsageError(f"{who} returned a gradient for {key!r}, which is no input (arrays to check: {known})")
        if len(slots) == 1 and (slots[0].key is not None or not isinstance(gradient, Mapping)):
            result[slots[0].name] = gradient
        elif isinstance(gradient, Mapping):
            by_key = {s.key: s for s in slots}
            for entry, value in gradient.items():
                if entry not in by_key:
                    raise UsageError(f"{who} returned {key!r}[{entry!r}], but {key} has no entry {entry!r} "
                                     f"(its entries: {', '.join(map(repr, by_key))})")
                if value is not None:
                    result[by_key[entry].name] = value
        else:
            raise UsageError(f"{who} returned a {type(gradient).__name__} for {key!r}, a dict of arrays: return a dict "
                             f"with its keys ({', '.join(map(repr, (s.key for s in slots)))})")
    return result


def _slots_for(key, inputs: Inputs) -> list[Slot] | None:
    """The slots a dict key names: an input, a slot name, or the key of one dict input's entry."""
    found = [s for s in inputs.slots if s.input == key] or [s for s in inputs.slots if s.name == key]
    if not found:
        found = [s for s in inputs.slots if s.key is not None and s.key == key]
        if len({s.input for s in found}) != 1:
            return None
    return found or None


def _single(shape: tuple, inputs: Inputs, candidates: list[str], who: str) -> str:
    """The input one returned array is the gradient of: the only candidate, or the first of its shape."""
    arrays = [n for n in candidates if inputs.values[n] is not None and not isinstance(inputs.values[n], Mapping)]
    if len(arrays) == 1:
        return arrays[0]
    same = [n for n in arrays if np.shape(inputs.values[n]) == shape]
    if same:
        return same[0]
    listed = ", ".join(f"{n} {np.shape(inputs.values[n])}" for n in arrays) or "none"
    raise UsageError(f"{who} returned one array of shape {shape}, which fits none of the inputs ({listed}): "
                     "return a tuple in the forward's parameter order or a dict by name")


def _by_shape(given: list, inputs: Inputs, candidates: list[str], who: str) -> list[tuple[str, object]]:
    """Fewer gradients than inputs (svm_loss_naive(W, X, y, reg) returns dW): each to the next input of its shape."""
    pairs, start = [], 0
    for gradient in given:
        for k in range(start, len(candidates)):
            value = inputs.values[candidates[k]]
            fits = (isinstance(gradient, Mapping) and isinstance(value, Mapping)) or np.shape(gradient) == np.shape(value)
            if gradient is None or fits:
                pairs.append((candidates[k], gradient))
                start = k + 1
                break
        else:
            shapes = ", ".join(_shape_text(g) for g in given)
            listed = ", ".join(f"{n} {_shape_text(inputs.values[n])}" for n in candidates)
            raise UsageError(f"{who} returned {len(given)} gradients ({shapes}) for {len(candidates)} inputs ({listed}): "
                             "return one per input, in the forward's parameter order, or name them with wrt")
    return pairs


def _shape_text(value) -> str:
    return "a dict" if isinstance(value, Mapping) else "None" if value is None else str(np.shape(value))


def first_change(before, after, label: str) -> str | None:
    """Where `after` differs from `before` (a deep copy taken earlier), as `cache[0][1, 2]: 0.5 → 0`; None if equal.
    Walks nested tuples, lists and dicts with a stack, never recursion. `before` None: no copy could be taken."""
    if before is None:
        return None
    stack = [(label, before, after)]
    while stack:
        path, a, b = stack.pop()
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            change = _array_change(path, a, b)
            if change:
                return change
        elif isinstance(a, Mapping) and isinstance(b, Mapping):
            if list(a) != list(b):
                added, removed = [k for k in b if k not in a], [k for k in a if k not in b]
                return f"{path} gained {added!r}" if added else f"{path} lost {removed!r}" if removed else f"{path} reordered"
            stack += [(f"{path}[{k!r}]", a[k], b[k]) for k in reversed(list(a))]
        elif isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            if len(a) != len(b):
                return f"{path} went from {len(a)} to {len(b)} items"
            stack += [(f"{path}[{i}]", x, y) for i, x, y in reversed(list(zip(range(len(a)), a, b)))]
        else:
            try:
                same = bool(a == b) or (a != a and b != b)
            except Exception:  # noqa: BLE001 -- objects that cannot be compared are taken as unchanged
                same = True
            if not same:
                return f"{path}: {_item(a)} → {_item(b)}"
    return None


def _array_change(path: str, a, b) -> str | None:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"{path}: shape {a.shape} → {b.shape}"
    try:
        differ = ~((a == b) | ((a != a) & (b != b)))
    except Exception:  # noqa: BLE001 -- object arrays that cannot be compared
        return None
    if not np.any(differ):
        return None
    index = tuple(int(i) for i in np.argwhere(np.asarray(differ))[0]) if a.ndim else ()
    at = f"[{', '.join(map(str, index))}]" if index else ""
    count = int(np.count_nonzero(differ))
    more = f" ({count} elements changed)" if count > 1 else ""
    return f"{path}{at}: {_item(a[index])} → {_item(b[index])}{more}"


def _item(value) -> str:
    """An element as people write it: 0.1049001, not np.float64(0.10490011715303971)."""
    item = value.item() if isinstance(value, (np.ndarray, np.generic)) and np.ndim(value) == 0 else value
    if isinstance(item, (float, int, complex)) and not isinstance(item, bool):
        return f"{item:.7g}"
    text = repr(item) if not isinstance(item, (list, tuple, dict, np.ndarray)) else f"a {type(item).__name__}"
    return text if len(text) <= 60 else text[:59] + "…"
