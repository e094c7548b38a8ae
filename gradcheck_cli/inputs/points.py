"""Point text → values: numbers, constant expressions (pi/4), nested lists, rand/randn/zeros/ones, .npz/.json/.npy files.

A point maps each variable to a float64 array of its own shape (a scalar is 0-d). Random values are
drawn in order of appearance from numpy's legacy RandomState(seed), so `--seed 42 --at "W1=rand(2,2), ..."`
reproduces a notebook's `np.random.seed(42)` draws exactly. Values are computed by the engine from
the parsed text (never eval); files are read with numpy's loaders, pickles refused.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

from ..errors import GradcheckError, ParseError, PointError, Position, ShapeError
from ..lang.expr import parse
from ..lang.spelling import CONSTANTS, MAKERS, RANDOM
from ..lang.values import Item, parse_items
from ..ops.registry import Op, Registry

MAX_ELEMENTS = 50_000_000  # elements of one value: bounds memory on hostile input (zeros(10**9))
MAX_FILE_BYTES = 1 << 30
_PLAIN_NUMBER = re.compile(r"\s*[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*", re.ASCII)


@dataclass
class PointContext:
    """What reading points needs: the registry, one RandomState per run (draws continue across points), a base dir.
    `seeded` says where the seed came from: `--seed` (or the API's seed=), or the cell's np.random.seed."""

    registry: Registry
    seed: int = 0
    base_dir: str = "."
    seeded: str = "--seed"
    draws: int = 0  # random values drawn so far (a program notes draws the cell did not seed)
    file_dtypes: bool = False  # arrays from .npz/.npy files keep their dtype (float32, integer labels): the user's
    # own code computes with them (gradcheck function, gradcheck layer); expressions read float64
    _rng: np.random.RandomState | None = field(init=False, default=None)

    def reseed(self, seed: int, seeded: str = "--seed") -> None:
        """np.random.seed(N) in a program: the draws after it are the notebook's."""
        self.seed, self._rng, self.seeded = seed, None, seeded

    @property
    def rng(self) -> np.random.RandomState:
        """Made at the first draw (a RandomState costs ~0.3 ms; most points draw nothing)."""
        if self._rng is None:
            self._rng = np.random.RandomState(self.seed % 2 ** 32)
        return self._rng

    def value_registry(self) -> Registry:
        """The registry with numpy's makers of constant arrays (lang.spelling.MAKERS and RANDOM), for values."""
        return self.registry.with_ops(_makers(self), {**MAKERS, **RANDOM})

    def draw(self, how, size) -> np.ndarray:
        self.draws += 1
        try:
            return np.asarray(how(self.rng, _size(size)), dtype=np.float64)[None]
        except (ValueError, TypeError, OverflowError) as problem:  # numpy's own words: low >= high, scale < 0
            raise PointError(f"np.random: {str(problem).splitlines()[0][:200]}") from None


def _size(size) -> tuple[int, ...] | None:
    return None if size is None else _checked(size)


def _made(value) -> np.ndarray:
    value = np.asarray(value, dtype=np.float64)
    if value.size > MAX_ELEMENTS:
        raise PointError(f"shape {value.shape} has {value.size:,} elements; the limit is {MAX_ELEMENTS:,}")
    return value[None]


def _arange(*bounds) -> np.ndarray:
    if not 1 <= len(bounds) <= 3 or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds):
        raise PointError(f"arange takes 1 to 3 numbers (stop, or start, stop[, step]), got {bounds}")
    start, stop, step = (0, bounds[0], 1) if len(bounds) == 1 else (*bounds, 1)[:3]
    if step == 0:
        raise PointError("arange: step must not be 0")
    _checked((max(0, math.ceil((stop - start) / step)),))
    return np.arange(start, stop, step, dtype=np.float64)


def _eye(N, M=None, k=0) -> np.ndarray:
    _checked((N, N if M is None else M))
    return np.eye(N, M, k)


def _shape_of(make):
    """The shape rule of a maker with no array inputs: the shape of what it makes (it is cheap to make)."""
    return lambda **params: np.shape(make(**params))[1:]


def _dropping_dtype(function):
    """`dtype=` is read and dropped: values are float64 (--dtype sets the precision of a whole check)."""
    return lambda *args, dtype=None, **params: function(*args, **params)


def _makers(context: PointContext) -> list[Op]:
    """numpy's makers as ops with no gradient: zeros, ones, full, eye, arange, *_like, and np.random's draws."""
    fixed = {
        "zeros": lambda shape=(): _made(np.zeros(_checked(shape))),
        "ones": lambda shape=(): _made(np.ones(_checked(shape))),
        "full": lambda shape=(), fill_value=0.0: _made(np.full(_checked(shape), float(fill_value))),
        "eye": lambda N=1, M=None, k=0: _made(_eye(N, M, k)),
        "arange": lambda range=(): _made(_arange(*range)),
    }
    drawn = {
        "rand": lambda shape=(): context.draw(lambda r, s: r.random_sample(s), shape or None),
        "randn": lambda shape=(): context.draw(lambda r, s: r.standard_normal(s), shape or None),
        "random": lambda size=None: context.draw(lambda r, s: r.random_sample(s), size),
        "randint": lambda low=0, high=None, size=None: context.draw(lambda r, s: r.randint(low, high, size=s), size),
        "uniform": lambda low=0.0, high=1.0, size=None: context.draw(lambda r, s: r.uniform(low, high, s), size),
        "normal": lambda loc=0.0, scale=1.0, size=None: context.draw(lambda r, s: r.normal(loc, scale, s), size),
    }
    shapes = {**{n: _shape_of(f) for n, f in fixed.items()},
              "rand": lambda shape=(): _checked(shape), "randn": lambda shape=(): _checked(shape),
              "random": lambda size=None: _checked(size) if size is not None else (),
              "randint": lambda low=0, high=None, size=None: _checked(size) if size is not None else (),
              "uniform": lambda low=0.0, high=1.0, size=None: _checked(size) if size is not None else (),
              "normal": lambda loc=0.0, scale=1.0, size=None: _checked(size) if size is not None else ()}
    ops = [Op(name, _dropping_dtype(make), _dropping_dtype(shapes[name]), vjps=()) for name, make in {**fixed, **drawn}.items()]
    like = {"zeros_like": lambda a, **_: np.zeros_like(a), "ones_like": lambda a, **_: np.ones_like(a),
            "full_like": lambda a, fill_value=0.0, **_: np.full_like(a, float(fill_value))}
    ops += [Op(name, make, lambda shape, **_: shape, vjps=(lambda g, ans, a, **_: np.zeros_like(a),))
            for name, make in like.items()]
    return ops


def _checked(shape) -> tuple[int, ...]:
    shape = tuple(shape) if isinstance(shape, tuple) else (shape,)
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 0 for n in shape):
        raise PointError(f"a shape must be non-negative integers, got {shape}")
    if math.prod(shape) > MAX_ELEMENTS:
        raise PointError(f"shape {shape} has {math.prod(shape):,} elements; the limit is {MAX_ELEMENTS:,}")
    return shape


def constant_value(text: str, context: PointContext, whole: str | None = None, offset: int = 0,
                   source_name: str | None = None, literals: Mapping[str, int] | None = None) -> np.ndarray:
    """The value of a variable-free expression such as `pi/4`, `[[1, 2], [3, 4]]` or `rand(2, 1)`; `literals`: the
    integer names a program assigned above, which its shapes may use (randn(N, D))."""
    from ..eval.engine import forward
    from ..ir import build_graph

    if _PLAIN_NUMBER.fullmatch(text):  # most point values: no parse, graph and numpy pass needed
        value = float(text)
        if math.isfinite(value):  # 1e400 goes the long way, to its error message
            return np.asarray(value)
    registry = context.value_registry()
    try:
        expr = parse(text, registry.signatures, literals)
        for node in expr.nodes:
            if node.op == "var":
                raise ParseError(f"'{node.name}' is not a number: point values must be constants", Position(text, node.start))
        graph = build_graph(expr, registry, {})
        value = forward(graph, {})[-1][0]
    except GradcheckError as problem:
        p = problem.position
        raise type(problem)(problem.message, Position(whole if whole is not None else text, offset + (p.offset if p else 0),
                                                      source_name=source_name)) from None
    return np.array(value, dtype=np.float64)


def read_point(text: str, variables: tuple[str, ...], context: PointContext, source_name: str | None = "--at",
               shapes: Mapping[str, tuple[int, ...]] | None = None) -> dict[str, np.ndarray]:
    """Values for every variable of the expression; names that are not variables are errors."""
    point: dict[str, np.ndarray] = {}
    for item in parse_items(text, "point", source_name, files=True):
        if item.kind == "seed":
            context.reseed(int(item.value))
            continue
        if not item.name:
            for name, value in read_file(item.value, context, text, item.value_offset, source_name).items():
                put_value(point, name, value, variables, text, item.value_offset, source_name)
            continue
        put_value(point, item.name, item_value(item, context, text, source_name), variables, text, item.name_offset, source_name)
    missing = [v for v in variables if v not in point]
    if missing:
        raise PointError(f"no value for {', '.join(repr(m) for m in missing)} (every variable needs one)",
                         Position(text, len(text), source_name=source_name))
    for name, shape in (shapes or {}).items():
        if name in point and point[name].shape != tuple(shape):
            raise ShapeError(f"'{name}' has shape {point[name].shape} here but {tuple(shape)} at the first point "
                             "(every point of a case has the same shapes)", Position(text, 0, source_name=source_name))
    return {v: point[v] for v in variables}


def item_value(item: Item, context: PointContext, text: str, source_name: str | None) -> np.ndarray:
    if item.name in CONSTANTS:
        raise PointError(f"'{item.name}' is a constant, not a variable", Position(text, item.name_offset, source_name=source_name))
    stripped = item.value.strip()
    if stripped.startswith("@"):
        lead = item.value_offset + len(item.value) - len(item.value.lstrip()) + 1
        return read_array_file(stripped[1:].strip(), context, text, lead, source_name)
    return constant_value(item.value, context, text, item.value_offset, source_name)


def put_value(point: dict, name: str, value: np.ndarray, variables: tuple[str, ...], text: str, offset: int,
         source_name: str | None) -> None:
    where = Position(text, offset, source_name=source_name)
    if name not in variables:
        known = ", ".join(variables) or "none"
        raise PointError(f"'{name}' is not a variable of the expression (its variables: {known})", where)
    if name in point:
        raise PointError(f"'{name}' is given twice", where)
    if not (math.isfinite(value) if value.ndim == 0 and value.dtype.kind == "f" else np.all(np.isfinite(value))):
        raise PointError(f"value of '{name}' is not finite", where)
    point[name] = value


def _path(path: str, context: PointContext) -> str:
    return path if os.path.isabs(path) else os.path.join(context.base_dir, path)


def read_file(path: str, context: PointContext, text: str, offset: int, source_name: str | None) -> dict[str, np.ndarray]:
    """Every array of a .npz file, or every entry of a .json object, by name."""
    where = Position(text, offset, source_name=source_name)
    full = _path(path, context)
    try:
        if path.endswith(".json"):
            return _read_json(full, where)
        if path.endswith(".npz"):
            with np.load(full, allow_pickle=False) as archive:
                return {name: _numeric(archive[name], f"{path}: '{name}'", where, context.file_dtypes)
                        for name in archive.files}
    except (OSError, ValueError, EOFError) as problem:
        raise PointError(f"cannot read {path}: {_reason(problem)}", where) from None
    raise PointError(f"@{path}: a whole-point file must be .npz or .json (for one array write NAME=@FILE.npy)", where)


def read_array_file(path: str, context: PointContext, text: str, offset: int, source_name: str | None) -> np.ndarray:
    where = Position(text, offset, source_name=source_name)
    try:
        if path.endswith(".npy"):
            return _numeric(np.load(_path(path, context), allow_pickle=False), path, where, context.file_dtypes)
        if path.endswith(".json"):
            with open(_path(path, context), encoding="utf-8") as handle:
                return _numeric(_json_array(json.load(handle), path, where), path, where)
    except (OSError, ValueError, EOFError) as problem:
        raise PointError(f"cannot read {path}: {_reason(problem)}", where) from None
    raise PointError(f"NAME=@{path}: one array comes from a .npy or .json file", where)


def _reason(problem: BaseException) -> str:
    return getattr(problem, "strerror", None) or str(problem).splitlines()[0][:200]


def _read_json(path: str, where: Position) -> dict[str, np.ndarray]:
    if os.path.getsize(path) > MAX_FILE_BYTES:
        raise PointError(f"{path} is larger than {MAX_FILE_BYTES:,} bytes", where)
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    if not isinstance(data, dict):
        raise PointError(f"{path}: expected a JSON object of names to numbers or nested lists", where)
    return {str(name): _numeric(_json_array(value, f"{path}: '{name}'", where), f"{path}: '{name}'", where)
            for name, value in data.items()}


def _json_array(value, what: str, where: Position) -> np.ndarray:
    try:
        return np.array(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise PointError(f"{what} is not a number or a rectangular nested list of numbers", where) from None


def _numeric(array: np.ndarray, what: str, where: Position, keep_dtype: bool = False) -> np.ndarray:
    if array.dtype.kind not in "biuf":
        raise PointError(f"{what} holds {array.dtype} values, not numbers", where)
    if array.size > MAX_ELEMENTS:
        raise PointError(f"{what} has {array.size:,} elements; the limit is {MAX_ELEMENTS:,}", where)
    return np.asarray(array) if keep_dtype and array.dtype.kind in "iuf" else np.asarray(array, dtype=np.float64)


def point_text(point: Mapping[str, object]) -> str:
    """`x=3, W=[[1, 1]]`: what gradcheck eval --at reads back (repr precision: the same doubles)."""
    return ", ".join(f"{name}={value_text(value)}" for name, value in point.items())


def value_text(value) -> str:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 0:
        return f"{float(array):.16g}"
    return np.array2string(array, separator=", ", threshold=1 << 62, max_line_width=1 << 30,
                           formatter={"float_kind": lambda v: f"{v:.16g}"}).replace("\n", "")


def read_overrides(text: str, names: tuple[str, ...], context: PointContext) -> dict[str, np.ndarray]:
    """--at for a program: values for some of its inputs (the rest keep the program's constants)."""
    values: dict[str, np.ndarray] = {}
    for item in parse_items(text, "point", "--at", files=True):
        if item.kind == "seed":
            context.reseed(int(item.value))
        elif not item.name:
            for name, value in read_file(item.value, context, text, item.value_offset, "--at").items():
                put_value(values, name, value, names, text, item.value_offset, "--at")
        else:
            put_value(values, item.name, item_value(item, context, text, "--at"), names, text, item.name_offset, "--at")
    return values
