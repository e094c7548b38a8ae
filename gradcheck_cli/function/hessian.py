"""Second order for your own code: check_function(f, inputs, grad, hessian=..., hvp=...), `gradcheck function
--hessian FILE.py:H --hvp FILE.py:HV`.

`hessian(**inputs)` returns H over the flattened inputs of `wrt` (an (n, n) matrix, or for one input its shape
twice), or a dict of blocks {(a, b): block of shape a's + b's} (a block left out is the transpose of its mirror);
`hvp(v, **inputs)` returns H·v, v and the result shaped like the input (one input), or dicts by name (several; a
tuple in wrt order is read too). Either is the candidate; its references are differences of your `grad` (one call
per row of the stencil) and the complex step of `grad` where it computes with complex input, which the judge
cross-checks (verdict's complex_dropped rule: your code may not be holomorphic). Past 10,000 entries, or past the
time limit on calls, random Hessian-vector products along random directions, bisected to the rows that are wrong.
"""

from __future__ import annotations

import math
import time
from typing import Callable, Mapping

import numpy as np

from ..numeric.differences import variable_scale
from ..numeric.second import Layout, Rows, candidate_rounding, gradient_columns, judge_directions, judge_entries
from ..results import HessianCheck
from .user_code import copies, quiet

ELEMENT_CALLS = 32  # bisection turns to single elements once this many are left (one grad call each)


class HessianRefused(Exception):
    """Your hessian, hvp or grad gave something that cannot be checked: the Hessian check is an `error`."""


def _flat(given, layout: Layout, who: str) -> np.ndarray:
    """A gradient (or H·v) as your code returns it, flattened over the layout: a dict by name, a tuple in wrt order,
    or one array for one input."""
    if isinstance(given, Mapping):
        missing = [n for n in layout.names if n not in given]
        if missing:
            raise HessianRefused(f"{who} returned no value for {', '.join(missing)}")
        parts = [given[n] for n in layout.names]
    elif isinstance(given, (tuple, list)) and len(layout.names) > 1:
        parts = list(given)
    else:
        parts = [given]
    if len(parts) != len(layout.names):
        raise HessianRefused(f"{who} returned {len(parts)} arrays for {len(layout.names)} inputs ({', '.join(layout.names)})")
    out = []
    for name, shape, part in zip(layout.names, layout.shapes, parts):
        array = np.asarray(part)
        if array.size != math.prod(shape) or array.dtype.kind not in "fiubc":
            raise HessianRefused(f"{who} returned shape {array.shape} for {name}, whose shape is {shape}")
        out.append(array.reshape(-1))
    return np.concatenate(out)


class FunctionRows:
    """numeric.second.GradientRows for your grad: one call per row, on copies of the inputs."""

    holomorphic = False  # your code: its complex step is cross-checked by the judge

    def __init__(self, grad: Callable, inputs: dict, layout: Layout, eps: float, name: str):
        self.grad, self.inputs, self.layout, self.eps, self.name = grad, inputs, layout, eps, name
        self.use_complex = self._complex()

    def _moved(self, move: np.ndarray) -> dict:
        moved = copies(self.inputs)
        for name, shape in zip(self.layout.names, self.layout.shapes):
            block = move[self.layout.block(name)]
            if block.any() or np.iscomplexobj(block):
                moved[name] = np.asarray(self.inputs[name], dtype=block.dtype) + block.reshape(shape)
        return moved

    def _complex(self) -> bool:
        """Does grad keep an imaginary part through (a float() cast or .real does not)? Whether its answer is right
        is the judge's cross-check."""
        move = np.zeros(self.layout.size, np.complex128)
        move[0] = 1e-30j
        try:
            with quiet():
                value = _flat(self.grad(**self._moved(move)), self.layout, self.name)
        except Exception:  # noqa: BLE001 -- code that refuses complex input answers the question
            return False
        return np.iscomplexobj(value) and bool(np.all(np.isfinite(value)))

    def gradients(self, moves: np.ndarray) -> Rows:
        out = np.empty(moves.shape, np.complex128 if np.iscomplexobj(moves) else np.float64)
        with quiet():
            for row, move in enumerate(moves):
                value = _flat(self.grad(**self._moved(move)), self.layout, self.name)
                out[row] = value if np.iscomplexobj(out) else np.real(value)
        return Rows(out)


def _matrix(given, layout: Layout, who: str) -> np.ndarray:
    """Your hessian's answer as (n, n): the matrix (for one input, its shape twice is read too), or a dict of blocks."""
    n = layout.size
    if isinstance(given, Mapping):
        out = np.full((n, n), np.nan)
        for a in layout.names:
            for b in layout.names:
                block = given.get((a, b))
                mirrored = block is None and (b, a) in given
                if mirrored:
                    block = given[(b, a)]
                if block is None:
                    raise HessianRefused(f"{who} has no block ({a!r}, {b!r}) (its keys: {', '.join(map(str, given))})")
                size_a, size_b = layout.sizes[layout.names.index(a)], layout.sizes[layout.names.index(b)]
                array = np.asarray(block, dtype=np.float64)
                shape = (size_b, size_a) if mirrored else (size_a, size_b)
                if array.size != size_a * size_b:
                    raise HessianRefused(f"{who} returned shape {array.shape} for the block ({a!r}, {b!r}), whose "
                                         f"shape is {layout.shapes[layout.names.index(a)] + layout.shapes[layout.names.index(b)]}")
                array = array.reshape(shape)
                out[layout.block(a), layout.block(b)] = array.T if mirrored else array
        return out
    array = np.asarray(given)
    if array.dtype.kind not in "fiub" or array.size != n * n:
        raise HessianRefused(f"{who} returned shape {array.shape}, but H over {', '.join(layout.names)} has shape ({n}, {n})"
                             " (or a dict of blocks {(a, b): block})")
    return array.astype(np.float64).reshape(n, n)


def _finite(values: np.ndarray, who: str) -> np.ndarray:
    if not np.all(np.isfinite(values)):
        raise HessianRefused(f"{who} returned {values[~np.isfinite(values)][0]}: a second derivative must be finite")
    return values


def _eps(values) -> float:
    dtype = np.asarray(values).dtype
    return float(np.finfo(dtype).eps) if dtype.kind == "f" else float(np.finfo(np.float64).eps)


class _Hvp:
    """Your hvp as a function of a flat vector (its answer flattened), and the precision it computes in."""

    def __init__(self, hvp: Callable, inputs: dict, layout: Layout, name: str):
        self.hvp, self.inputs, self.layout, self.name, self.eps = hvp, inputs, layout, name, 0.0

    def __call__(self, u: np.ndarray) -> np.ndarray:
        layout = self.layout
        if len(layout.names) == 1:
            v = u.reshape(layout.shapes[0]).copy()
        else:
            v = {n: u[layout.block(n)].reshape(s).copy() for n, s in zip(layout.names, layout.shapes)}
        with quiet():
            given = self.hvp(v, **copies(self.inputs))
        parts = [given] if not isinstance(given, (Mapping, tuple, list)) else (
            [given[n] for n in layout.names if n in given] if isinstance(given, Mapping) else list(given))
        self.eps = max([self.eps] + [_eps(p) for p in parts])
        return _finite(np.real(_flat(given, layout, self.name)).astype(np.float64), self.name)


def check_hessians(f_name: str, grad: Callable, inputs: dict, wrt: tuple[str, ...], gradient: dict[str, np.ndarray],
                   eps: float, options, hessian: Callable | None = None, hvp: Callable | None = None,
                   names: tuple[str, str] = ("your hessian", "your hvp"),
                   given: dict | None = None) -> tuple[HessianCheck, ...]:
    """Each candidate given (hessian, hvp) judged against differences of grad at the point `inputs` (float64
    copies); `gradient` is grad's answer there, `eps` grad's precision. `given`: the inputs as you gave them (float32
    stays float32), what hessian and hvp are called with, so they are held to their own precision."""
    given = inputs if given is None else given
    layout = Layout.of(wrt, [np.shape(inputs[v]) for v in wrt])
    x = layout.flat(inputs)
    scale = np.concatenate([np.full(size, variable_scale(np.asarray(inputs[v], np.float64)))
                            for v, size in zip(wrt, layout.sizes)])  # the steps of check_function's first order
    g0 = layout.flat(gradient)
    source = FunctionRows(grad, inputs, layout, eps, "your grad")
    started = time.perf_counter()
    source.gradients(np.zeros((1, layout.size)))
    seconds = time.perf_counter() - started
    calls = 7 * layout.size
    directions = layout.size ** 2 > options.direction_limit or calls * seconds > options.seconds
    columns = None if directions else gradient_columns(source, x, g0, options.h, scale)
    out = []
    for kind, function, name in (("hessian", hessian, names[0]), ("hvp", hvp, names[1])):
        if function is None:
            continue
        try:
            out.append(_one(kind, function, name, layout, given, x, g0, source, columns, options, eps, scale))
        except HessianRefused as problem:
            out.append(HessianCheck(layout.vars, "error", kind, diagnosis=str(problem),
                                    exact_note="no exact column for Python functions"))
    return tuple(out)


def _one(kind: str, function: Callable, name: str, layout: Layout, inputs: dict, x, g0, source: FunctionRows,
         columns, options, eps: float, scale: np.ndarray) -> HessianCheck:
    tol = options.tolerances
    note = "no exact column for Python functions"
    if kind == "hessian":
        with quiet():
            given = function(**copies(inputs))
        matrix = _finite(_matrix(given, layout, name), name)
        candidate_eps = max(eps, _eps(next(iter(given.values())) if isinstance(given, Mapping) else given))
        product = lambda u: matrix @ u  # noqa: E731 -- the candidate's H·u, past the size limit
    else:
        product = _Hvp(function, inputs, layout, name)
        matrix = None if columns is None else np.stack([product(e) for e in np.eye(layout.size)], axis=1)
        candidate_eps = max(eps, product.eps)
    if columns is None:
        return judge_directions(layout, source, x, g0, product, lambda u: candidate_rounding(product(u), candidate_eps),
                                candidate_eps, tol, options.directions, options.seed, ELEMENT_CALLS, kind, note, scale)
    return judge_entries(layout, matrix, columns, x, tol, candidate_eps, noise=candidate_rounding(matrix, candidate_eps),
                         holomorphic=False, candidate_name=kind, exact_note=note)
