"""Points for `gradcheck layer`: the forward's parameters from `--at` text and, when it does not give them, from
documented defaults chosen by the parameters' names (docs/layers.md has the table).

`--at` is eval's point syntax (numbers, nested lists, rand/randn, @files) plus Python dict literals for cs231n's
parameter dicts (`conv_param={'stride': 1, 'pad': 1}`), read with ast.literal_eval (never executed). A label
input (`y`, `labels`, `target(s)`, `idx`) with integer values is made an integer array, a `mask` of 0 and 1 a
boolean one, so `y=[0, 2, 1]` indexes as cs231n's svm_loss expects.

Defaults keep the shapes consistent: x is (4, 5) for a dense layer, (2, 3, 4, 4) when the forward takes
`conv_param`, `pool_param` or has `spatial` in its name; w, b, gamma and beta follow x's sizes (so an `--at` that
gives only x is enough); RNN and LSTM steps take x (3, 4) and a hidden size of 5 (4 × 5 for an LSTM).
A parameter with no default is named in the error, with the `--at` that gives it.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass

import numpy as np

from ..errors import PointError, Position
from ..lang.lexer import split_outside

LABELS = ("y", "labels", "label", "target", "targets", "idx", "indices")
PARAMETER_DICTS = {
    "conv_param": {"stride": 1, "pad": 1},
    "pool_param": {"pool_height": 2, "pool_width": 2, "stride": 2},
    "bn_param": {"mode": "train"},
    "ln_param": {},
    "gn_param": {},
    "dropout_param": {"mode": "train", "p": 0.5, "seed": 0},
}
PREFIX = re.compile(r"\s*([A-Za-z_]\w*)\s*:(?!=)\s*")


@dataclass(frozen=True, slots=True)
class PointText:
    """One `--at` (or points-file line): for every layer, or for the one its `LAYER:` prefix names."""

    text: str
    layer: str | None = None


def split_prefix(text: str, layers: tuple[str, ...]) -> PointText:
    """`conv: x=randn(2,3,5,5)` → for layer conv (also written conv_forward_naive); anything else is for all."""
    match = PREFIX.match(text)
    if match and match.group(1) in layers:
        return PointText(text[match.end():], match.group(1))
    return PointText(text)


def split_items(text: str) -> list[tuple[str, int]]:
    """Split at top-level commas, outside (), [], {} and quotes; each piece with its offset."""
    return split_outside(text, lambda char: char == ",")[0]


def read_values(text: str, names: tuple[str, ...], context, source_name: str = "--at") -> dict[str, object]:
    """Values for some of `names` from one --at text: dict literals here, everything else by eval's point reader."""
    from ..inputs.points import read_overrides

    literal, rest = {}, []
    for piece, offset in split_items(text):
        name, equals, value = piece.partition("=")
        if equals and value.strip().startswith("{"):
            key = name.strip()
            where = Position(text, offset + len(piece) - len(piece.lstrip()), source_name=source_name)
            if key not in names:
                raise PointError(f"'{key}' is not a parameter (parameters: {', '.join(names)})", where)
            try:
                literal[key] = ast.literal_eval(value.strip())
            except (ValueError, SyntaxError):
                raise PointError(f"'{key}': a dict must be a Python literal, such as {{'stride': 1, 'pad': 1}}", where) from None
        elif piece.strip():
            rest.append(piece.strip())
    values = read_overrides(", ".join(rest), names, context) if rest else {}
    return {**values, **literal}


def typed(name: str, value):
    """Labels as integers, masks as booleans (when their values are), everything else as read."""
    if not isinstance(value, np.ndarray) or value.dtype.kind != "f":
        return value
    if name in LABELS and np.all(value == np.round(value)):
        return value.astype(np.int64)
    if name == "mask" and np.all((value == 0) | (value == 1)):
        return value.astype(bool)
    return value


@dataclass(frozen=True, slots=True)
class Sizes:
    """The sizes a layer's made-up inputs take: the kind of layer and its dimensions."""

    kind: str  # dense | image | step | sequence | temporal
    n: int
    d: int  # features (dense), channels (image), input size (rnn)
    hidden: int = 5
    gates: int = 1  # 4 for an LSTM
    outputs: int = 3  # columns of a dense w (its filters for a convolution): b follows a given w


def _sizes(layer: str, parameters: tuple[str, ...], given: dict) -> Sizes:
    from dataclasses import replace

    sizes = _x_sizes(layer, parameters, given)
    w = given.get("w")
    if isinstance(w, np.ndarray) and w.ndim >= 1:
        return replace(sizes, outputs=w.shape[0] if sizes.kind == "image" else w.shape[-1])
    return sizes


def _x_sizes(layer: str, parameters: tuple[str, ...], given: dict) -> Sizes:
    x = given.get("x")
    shape = np.shape(x) if isinstance(x, np.ndarray) else None
    lower = layer.lower()
    gates = 4 if "lstm" in lower else 1
    if "conv_param" in parameters or "pool_param" in parameters or "spatial" in lower:
        return Sizes("image", shape[0] if shape else 2, shape[1] if shape and len(shape) > 1 else 3, outputs=2)
    if "rnn" in lower or "lstm" in lower:
        kind = "step" if "step" in lower else "sequence"
        return Sizes(kind, shape[0] if shape else 3, shape[-1] if shape else 4, gates=gates)
    if "temporal" in lower:
        return Sizes("temporal", shape[0] if shape else 3, shape[-1] if shape else 5)
    return Sizes("dense", shape[0] if shape else 4, math.prod(shape[1:]) if shape else 5)


def _shape(name: str, s: Sizes) -> tuple[int, ...] | None:
    hidden = s.hidden * s.gates
    table = {
        "dense": {"x": (s.n, s.d), "w": (s.d, s.outputs), "b": (s.outputs,), "gamma": (s.d,), "beta": (s.d,)},
        "image": {"x": (s.n, s.d, 4, 4), "w": (s.outputs, s.d, 3, 3), "b": (s.outputs,), "gamma": (s.d,), "beta": (s.d,)},
        "step": {"x": (s.n, s.d), "prev_h": (s.n, s.hidden), "prev_c": (s.n, s.hidden), "Wx": (s.d, hidden),
                 "Wh": (s.hidden, hidden), "b": (hidden,)},
        "sequence": {"x": (s.n, 2, s.d), "h0": (s.n, s.hidden), "Wx": (s.d, hidden), "Wh": (s.hidden, hidden), "b": (hidden,)},
        "temporal": {"x": (s.n, 2, s.d), "w": (s.d, s.outputs), "b": (s.outputs,)},
    }
    return table[s.kind].get(name)


def default_values(layer: str, parameters: tuple[str, ...], given: dict, seed: int) -> tuple[dict[str, object], list[str]]:
    """Values for the parameters `given` lacks, and the names of those that have no default."""
    rng = np.random.default_rng(seed)
    sizes = _sizes(layer, parameters, given)
    values, missing = dict(given), []
    for name in parameters:
        if name in values:
            continue
        if name in PARAMETER_DICTS:
            values[name] = dict(PARAMETER_DICTS[name])
        elif _shape(name, sizes) is not None:
            values[name] = rng.standard_normal(_shape(name, sizes))
        elif name in LABELS or name == "mask":
            x = values.get("x")
            if not isinstance(x, np.ndarray) or x.ndim < 2:
                missing.append(name)
            elif name == "mask":
                values[name] = np.ones(x.shape[:-1], bool)
            else:
                values[name] = rng.integers(0, x.shape[-1], size=x.shape[:-1])
        else:
            missing.append(name)
    return values, missing
