"""What an operation is: forward, vector-Jacobian products, shape rule, kink detector, domain message.

Values carry a leading batch axis (points, or perturbed copies of a point) of size B or 1; an op
sees its inputs with that axis and must broadcast over it. Elementwise ops are written as one
local derivative per input (the gate table's one-line rows) and turned into VJPs by `elementwise`;
the engine sums a contribution back to its input's shape (`unbroadcast`), so no rule repeats that.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable, Iterable, Mapping

import numpy as np

from ..errors import ShapeMismatch
from ..lang.spelling import SIGNATURES, Signature

Array = np.ndarray
Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Second:
    """An op's second-order rule, beside its first-order one (forward-over-reverse: the tangent of the backward pass).

    Elementwise gates: `partials`, d²(ans)/d(input i)d(input j) for i <= j, each (ans, *inputs) -> array (one for a
    gate of one input; aa, ab, bb for two). Tensor ops: `form` "linear" (the forward of the tangents, no curvature:
    sum, reshape, ...) or "bilinear" (linear in each input: the forward with one input replaced by its tangent, and
    the curvature of input k is its own VJP with the tangents as inputs: matmul needs no new formula), else `jvp`,
    the forward's tangent (ans, *inputs, *tangents, **params), and `vjps`, per input the part of its VJP's tangent
    that the upstream gradient's tangent does not give: (g, ans, ans_tangent, *inputs, *tangents, **params)."""

    partials: tuple[Callable[..., Array], ...] = ()
    jvp: Callable[..., Array] | None = None
    vjps: tuple[Callable[..., Array], ...] = ()
    form: str = "rules"  # rules | linear | bilinear


LINEAR = Second(form="linear")
BILINEAR = Second(form="bilinear")


def flat(ans: Array, *inputs: Array) -> Array:
    """A second partial that is 0 everywhere off a kink (add, relu, max, ...): recognised and skipped."""
    return np.zeros(np.shape(ans), np.result_type(ans, np.float32))


@dataclass(frozen=True, slots=True)
class Op:
    """One operation's row of the rule table: forward, shape rule, VJPs and what kind of gate it is."""

    name: str
    forward: Callable[..., Array]  # (*inputs, **params) -> value
    shape: Callable[..., Shape]  # (*input shapes, **params) -> output shape, or raise ShapeMismatch
    partials: tuple[Callable[..., Array], ...] | None = None  # elementwise: (ans, *inputs) -> d(ans)/d(input)
    vjps: tuple[Callable[..., Array], ...] | None = None  # others: (g, ans, *inputs, **params) -> contribution
    magnitudes: tuple[Callable[..., Array], ...] | None = None  # |contribution| bounds for rounding allowances
    branch: Callable[..., Array] | None = None  # piecewise: sign of the deciding quantity (0 = on the kink)
    domain: str = ""  # said when the op returns nan/inf from finite inputs
    symbol: str = ""  # how messages show it (`@`, `sum`)
    variadic: bool = False  # any number of inputs (list literals); its one VJP gets `position=`
    jump: bool = False  # the value itself jumps at the kink (sign, comparisons), not only the slope
    rounding: Callable[..., Array] | None = None  # (ans, *inputs, **params) -> what its own rounding error is
    # relative to, where that is more than |ans| (a fused op that cancels inside: log_softmax's a - logsumexp(a))
    second: Second | None = None  # the second-order rule (None: the op has none, so no Hessian through it)

    @property
    def elementwise(self) -> bool:
        return self.partials is not None

    @property
    def arity(self) -> int:
        return len(self.partials if self.partials is not None else self.vjps)


def broadcast_shapes(*shapes: Shape) -> Shape:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        raise ShapeMismatch(f"shapes {' and '.join(str(s) for s in shapes)} do not broadcast") from None


def elementwise(name: str, forward: Callable[..., Array], partials: tuple[Callable[..., Array], ...],
                branch: Callable[..., Array] | None = None, domain: str = "", symbol: str = "", jump: bool = False,
                second: tuple[Callable[..., Array], ...] | None = None) -> Op:
    """A gate-table row: numpy broadcasting for the shape, one local derivative per input, and (`second`) the
    second partials d²(ans)/d(input i)d(input j) for i <= j."""
    return Op(name, forward, lambda *shapes, **_: broadcast_shapes(*shapes), partials=partials, branch=branch,
              domain=domain, symbol=symbol or name, jump=jump, second=None if second is None else Second(second))


def unbroadcast(grad: Array, shape: Shape) -> Array:
    """Sum a contribution of shape (B, *broadcast) back to (B, *shape): autograd's unbroadcast, batch axis kept."""
    extra = grad.ndim - 1 - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(1, 1 + extra)))
    axes = tuple(k + 1 for k, n in enumerate(shape) if n == 1 and grad.shape[k + 1] != 1)
    if axes:
        grad = grad.sum(axis=axes, keepdims=True)
    return grad


@dataclass(frozen=True, slots=True)
class Registry:
    """The ops a check may use, by name: passed through (never a module global), so user gates can join."""

    ops: Mapping[str, Op]
    signatures: Mapping[str, Signature] = field(default_factory=lambda: dict(SIGNATURES))

    def __getitem__(self, name: str) -> Op:
        return self.ops[name]

    def __contains__(self, name: str) -> bool:
        return name in self.ops

    def with_ops(self, ops: Iterable[Op], signatures: Mapping[str, Signature] | None = None) -> "Registry":
        """A new registry with `ops` added or replaced (user gates; mutants in the tests)."""
        merged = dict(self.ops)
        merged.update({op.name: op for op in ops})
        return Registry(merged, {**self.signatures, **(signatures or {})})

    def replace_op(self, name: str, **changes) -> "Registry":
        return self.with_ops([replace(self.ops[name], **changes)])

