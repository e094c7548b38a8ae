"""The tensor ops, one row each: numpy's semantics on values with a leading batch axis, VJPs as in HIPS autograd.

Shape rules see the variables' own shapes (no batch axis) and raise ShapeMismatch with numpy's wording;
forwards and VJPs see arrays of shape (B, *shape) and keep axis 0 as the batch. `second` is each op's second-order
rule (registry.Second): linear ops and bilinear ones (matmul: its VJP with the tangents as inputs) need no formula
of their own; softmax, log_softmax and logsumexp state their forward's tangent and their VJP's tangent.
"""

from __future__ import annotations

import math

import numpy as np

from .registry import BILINEAR, LINEAR, Array, Op, Second, Shape, ShapeMismatch, broadcast_shapes

# --- shape rules ---------------------------------------------------------------------------------------


def _axes(shape: Shape, axis, what: str) -> tuple[int, ...]:
    """Own axes of a reduction (None: all), validated, non-negative."""
    if axis is None:
        return tuple(range(len(shape)))
    items = axis if isinstance(axis, tuple) else (axis,)
    result = []
    for item in items:
        if not isinstance(item, int) or isinstance(item, bool):
            raise ShapeMismatch(f"{what}: axis must be an integer, got {item!r}")
        if not -len(shape) <= item < len(shape):
            raise ShapeMismatch(f"{what}: axis {item} is out of bounds for an array of shape {shape}")
        result.append(item % len(shape))
    if len(set(result)) != len(result):
        raise ShapeMismatch(f"{what}: repeated axis in {axis!r}")
    return tuple(result)


def _reduced(shape: Shape, axis=None, keepdims=False, what: str = "sum") -> Shape:
    axes = _axes(shape, axis, what)
    return tuple(1 if k in axes else n for k, n in enumerate(shape) if keepdims or k not in axes)


def _matmul_shape(a: Shape, b: Shape, what: str = "@") -> Shape:
    if not a or not b:
        raise ShapeMismatch(f"{what} needs arrays on both sides, got shapes {a} and {b} (use * to scale by a scalar)")
    left = (1, *a) if len(a) == 1 else a
    right = (*b, 1) if len(b) == 1 else b
    if left[-1] != right[-2]:
        raise ShapeMismatch(f"shapes {a} and {b} do not align for {what} ({left[-1]} != {right[-2]})")
    batch = broadcast_shapes(left[:-2], right[:-2])
    return (*batch, *((left[-2],) if len(a) > 1 else ()), *((right[-1],) if len(b) > 1 else ()))


def _dot_shape(a: Shape, b: Shape) -> Shape:
    if not a or not b:
        return broadcast_shapes(a, b)
    if len(a) > 2 or len(b) > 2:
        raise ShapeMismatch(f"dot of arrays with more than 2 dimensions ({a} and {b}) is not supported: use @")
    return _matmul_shape(a, b, "dot")


def _softmax_shape(shape: Shape, axis=-1, what: str = "softmax") -> Shape:
    if not shape:
        raise ShapeMismatch(f"{what} needs an array, got a scalar")
    _axes(shape, axis, what)
    return shape


def _reshape_shape(own: Shape, shape=()) -> Shape:
    target = tuple(shape)
    size = math.prod(own)
    if any(not isinstance(n, int) or isinstance(n, bool) or n < -1 for n in target) or target.count(-1) > 1:
        raise ShapeMismatch(f"reshape: bad shape {target} (integers, at most one -1)")
    known = math.prod(n for n in target if n != -1)
    if -1 in target:
        if known == 0 or size % known:
            raise ShapeMismatch(f"cannot reshape an array of size {size} into shape {target}")
        target = tuple(size // known if n == -1 else n for n in target)
    if math.prod(target) != size:
        raise ShapeMismatch(f"cannot reshape an array of size {size} into shape {target}")
    return target


def _transpose_shape(shape: Shape, axes=None) -> Shape:
    return tuple(shape[k] for k in _permutation(shape, axes))


def _permutation(shape: Shape, axes) -> tuple[int, ...]:
    if axes is None:
        return tuple(reversed(range(len(shape))))
    perm = _axes(shape, tuple(axes) if isinstance(axes, tuple) else axes, "transpose")
    if len(perm) != len(shape):
        raise ShapeMismatch(f"transpose: axes {axes} do not match an array of {len(shape)} dimensions")
    return perm


def _index_shape(shape: Shape, index=()) -> Shape:
    if not shape:
        raise ShapeMismatch("cannot index a scalar")
    try:
        return np.broadcast_to(np.float64(0), shape)[_numpy_index(index)[1:]].shape
    except IndexError as problem:
        raise ShapeMismatch(f"{problem} (shape {shape})") from None


def _stack_shape(*shapes: Shape) -> Shape:
    for shape in shapes[1:]:
        if shape != shapes[0]:
            raise ShapeMismatch(f"list elements have different shapes {shapes[0]} and {shape} (a ragged list is not an array)")
    return (len(shapes), *shapes[0])


def _diag_shape(shape: Shape) -> Shape:
    if len(shape) == 1:
        return (shape[0], shape[0])
    if len(shape) == 2:
        return (min(shape),)
    raise ShapeMismatch(f"diag takes a 1-d or 2-d array, got shape {shape}")


# --- forwards and VJPs -----------------------------------------------------------------------------------


def _numpy_index(index: tuple) -> tuple:
    items = [slice(None)]
    for item in index:
        items.append(slice(*item[1:]) if isinstance(item, tuple) else item)
    return tuple(items)


def _own(axes: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(a + 1 for a in axes)


def _promote(a: Array, b: Array) -> tuple[Array, Array, bool, bool]:
    """numpy's vector rules for @ ((k,) is (1, k) on the left, (k, 1) on the right), batch dims aligned after axis 0."""
    left_vector, right_vector = a.ndim == 2, b.ndim == 2
    if left_vector:
        a = a[:, None, :]
    if right_vector:
        b = b[:, :, None]
    gap = a.ndim - b.ndim
    if gap > 0:
        b = b.reshape(b.shape[:1] + (1,) * gap + b.shape[1:])
    elif gap < 0:
        a = a.reshape(a.shape[:1] + (1,) * -gap + a.shape[1:])
    return a, b, left_vector, right_vector


def _demote(out: Array, left_vector: bool, right_vector: bool) -> Array:
    if left_vector and right_vector:
        return out[..., 0, 0]
    if left_vector:
        return out[..., 0, :]
    return out[..., 0] if right_vector else out


def _promoted_grad(g: Array, left_vector: bool, right_vector: bool) -> Array:
    if left_vector and right_vector:
        return g[..., None, None]
    if left_vector:
        return g[..., None, :]
    return g[..., None] if right_vector else g


def _product(a: Array, b: Array) -> Array:
    """np.matmul, with a real operand kept real against a complex one: two real products, half a complex one's work."""
    if np.iscomplexobj(b) and not np.iscomplexobj(a):
        return np.matmul(a, b.real) + 1j * np.matmul(a, b.imag)
    if np.iscomplexobj(a) and not np.iscomplexobj(b):
        return np.matmul(a.real, b) + 1j * np.matmul(a.imag, b)
    return np.matmul(a, b)


def _matmul(a: Array, b: Array) -> Array:
    a2, b2, lv, rv = _promote(a, b)
    return _demote(_product(a2, b2), lv, rv)


def _matmul_vjp_a(g: Array, ans: Array, a: Array, b: Array) -> Array:
    a2, b2, lv, rv = _promote(a, b)
    grad = np.matmul(_promoted_grad(g, lv, rv), np.swapaxes(b2, -1, -2))
    return grad[..., 0, :] if lv else grad


def _matmul_vjp_b(g: Array, ans: Array, a: Array, b: Array) -> Array:
    a2, b2, lv, rv = _promote(a, b)
    grad = np.matmul(np.swapaxes(a2, -1, -2), _promoted_grad(g, lv, rv))
    return grad[..., 0] if rv else grad


def _scaled(a: Array, b: Array) -> tuple[Array, Array]:
    """A scalar operand of dot (shape (B,)) lined up against the other one."""
    if a.ndim < b.ndim:
        a = a.reshape(a.shape + (1,) * (b.ndim - a.ndim))
    elif b.ndim < a.ndim:
        b = b.reshape(b.shape + (1,) * (a.ndim - b.ndim))
    return a, b


def _dot(a: Array, b: Array) -> Array:
    if a.ndim == 1 or b.ndim == 1:
        x, y = _scaled(a, b)
        return x * y
    return _matmul(a, b)


def _dot_vjp(position: int):
    def vjp(g: Array, ans: Array, a: Array, b: Array) -> Array:
        if a.ndim == 1 or b.ndim == 1:
            other = b if position == 0 else a
            g2, o2 = _scaled(g, other)
            return g2 * o2
        return (_matmul_vjp_a if position == 0 else _matmul_vjp_b)(g, ans, a, b)
    return vjp


def _sum(a: Array, axis=None, keepdims=False) -> Array:
    return a.sum(axis=_own(_axes(a.shape[1:], axis, "sum")), keepdims=keepdims)


def _expand_back(g: Array, a: Array, axis, keepdims) -> Array:
    """A reduction's upstream gradient spread back over the reduced axes of `a` (batch axis from g)."""
    axes = _own(_axes(a.shape[1:], axis, "sum"))
    if not keepdims:
        g = np.expand_dims(g, axes)
    return np.broadcast_to(g, g.shape[:1] + a.shape[1:])


def _count(a: Array, axis) -> int:
    return math.prod(a.shape[k] for k in _own(_axes(a.shape[1:], axis, "mean")))


def _last(a: Array, axis: int | None) -> int:
    """An own axis as an axis of the batched array."""
    return _own(_axes(a.shape[1:], axis, "softmax"))[0]


def _softmax(a: Array, axis=-1) -> Array:
    k = _last(a, axis)
    e = np.exp(a - a.real.max(axis=k, keepdims=True))
    return e / e.sum(axis=k, keepdims=True)


def _logsumexp(a: Array, axis=-1, keepdims=False) -> Array:
    k = _own(_axes(a.shape[1:], axis, "logsumexp"))
    m = a.real.max(axis=k, keepdims=True)
    out = np.log(np.exp(a - m).sum(axis=k, keepdims=True)) + m
    return out if keepdims else out.squeeze(axis=k)


def _log_softmax(a: Array, axis=-1) -> Array:
    return a - _logsumexp(a, axis, keepdims=True)


def _softmax_vjp(g: Array, ans: Array, a: Array, axis=-1) -> Array:
    k = _last(a, axis)
    return ans * (g - (g * ans).sum(axis=k, keepdims=True))


def _log_softmax_vjp(g: Array, ans: Array, a: Array, axis=-1) -> Array:
    k = _last(a, axis)
    return g - np.exp(ans) * g.sum(axis=k, keepdims=True)


def _logsumexp_vjp(g: Array, ans: Array, a: Array, axis=-1, keepdims=False) -> Array:
    k = _own(_axes(a.shape[1:], axis, "logsumexp"))
    if not keepdims:
        g, ans = np.expand_dims(g, k), np.expand_dims(ans, k)
    return g * np.exp(a - ans)


def _transpose(a: Array, axes=None) -> Array:
    return np.transpose(a, (0, *_own(_permutation(a.shape[1:], axes))))


def _transpose_vjp(g: Array, ans: Array, a: Array, axes=None) -> Array:
    return np.transpose(g, (0, *_own(tuple(np.argsort(_permutation(a.shape[1:], axes))))))


def _index_vjp(g: Array, ans: Array, a: Array, index=()) -> Array:
    out = np.zeros(g.shape[:1] + a.shape[1:], dtype=g.dtype)
    out[_numpy_index(index)] = g
    return out


def _stack(*xs: Array) -> Array:
    batch = max(x.shape[0] for x in xs)
    return np.stack([np.broadcast_to(x, (batch, *x.shape[1:])) for x in xs], axis=1)


def _outer(a: Array, b: Array) -> Array:
    return a.reshape(a.shape[0], -1)[:, :, None] * b.reshape(b.shape[0], -1)[:, None, :]


def _outer_vjp_a(g: Array, ans: Array, a: Array, b: Array) -> Array:
    return (g * b.reshape(b.shape[0], 1, -1)).sum(axis=2).reshape(g.shape[:1] + a.shape[1:])


def _outer_vjp_b(g: Array, ans: Array, a: Array, b: Array) -> Array:
    return (g * a.reshape(a.shape[0], -1, 1)).sum(axis=1).reshape(g.shape[:1] + b.shape[1:])


def _diag(a: Array) -> Array:
    if a.ndim == 2:  # a vector becomes a diagonal matrix
        return a[:, :, None] * np.eye(a.shape[1], dtype=a.real.dtype)
    return np.diagonal(a, axis1=1, axis2=2).copy()


def _diag_vjp(g: Array, ans: Array, a: Array) -> Array:
    if a.ndim == 2:
        return np.diagonal(g, axis1=1, axis2=2)
    out = np.zeros(g.shape[:1] + a.shape[1:], dtype=g.dtype)
    rows = np.arange(g.shape[1])
    out[:, rows, rows] = g
    return out


def _softmax_jvp(ans: Array, a: Array, t: Array, axis=-1) -> Array:
    return ans * (t - (ans * t).sum(axis=_last(a, axis), keepdims=True))


def _softmax_vjp_tangent(g: Array, ans: Array, dans: Array, a: Array, t: Array, axis=-1) -> Array:
    k = _last(a, axis)  # the VJP ans*(g - sum(g*ans)) moved along d(ans), g fixed
    return dans * (g - (g * ans).sum(axis=k, keepdims=True)) - ans * (g * dans).sum(axis=k, keepdims=True)


def _log_softmax_jvp(ans: Array, a: Array, t: Array, axis=-1) -> Array:
    return t - (np.exp(ans) * t).sum(axis=_last(a, axis), keepdims=True)


def _log_softmax_vjp_tangent(g: Array, ans: Array, dans: Array, a: Array, t: Array, axis=-1) -> Array:
    return -np.exp(ans) * dans * g.sum(axis=_last(a, axis), keepdims=True)


def _logsumexp_jvp(ans: Array, a: Array, t: Array, axis=-1, keepdims=False) -> Array:
    k = _own(_axes(a.shape[1:], axis, "logsumexp"))
    expanded = ans if keepdims else np.expand_dims(ans, k)
    return (np.exp(a - expanded) * t).sum(axis=k, keepdims=keepdims)


def _logsumexp_vjp_tangent(g: Array, ans: Array, dans: Array, a: Array, t: Array, axis=-1, keepdims=False) -> Array:
    k = _own(_axes(a.shape[1:], axis, "logsumexp"))
    if not keepdims:
        g, ans, dans = np.expand_dims(g, k), np.expand_dims(ans, k), np.expand_dims(dans, k)
    return g * np.exp(a - ans) * (t - dans)


def _softmax_magnitude(g: Array, ans: Array, a: Array, axis=-1) -> Array:
    k = _last(a, axis)
    return np.abs(ans) * (np.abs(g) + (np.abs(g) * np.abs(ans)).sum(axis=k, keepdims=True))


def _log_softmax_magnitude(g: Array, ans: Array, a: Array, axis=-1) -> Array:
    return np.abs(g) + np.exp(ans.real) * np.abs(g).sum(axis=_last(a, axis), keepdims=True)


TENSOR_OPS = (
    Op("matmul", _matmul, _matmul_shape, vjps=(_matmul_vjp_a, _matmul_vjp_b), symbol="@", second=BILINEAR),
    Op("dot", _dot, _dot_shape, vjps=(_dot_vjp(0), _dot_vjp(1)), symbol="dot", second=BILINEAR),
    Op("sum", _sum, lambda s, axis=None, keepdims=False: _reduced(s, axis, keepdims), vjps=(lambda g, ans, a, axis=None, keepdims=False: _expand_back(g, a, axis, keepdims),), symbol="sum", second=LINEAR),
    Op("mean", lambda a, axis=None, keepdims=False: _sum(a, axis, keepdims) / _count(a, axis), lambda s, axis=None, keepdims=False: _reduced(s, axis, keepdims, "mean"), vjps=(lambda g, ans, a, axis=None, keepdims=False: _expand_back(g, a, axis, keepdims) / _count(a, axis),), symbol="mean", second=LINEAR),
    Op("softmax", _softmax, _softmax_shape, vjps=(_softmax_vjp,), magnitudes=(_softmax_magnitude,), symbol="softmax", second=Second(jvp=_softmax_jvp, vjps=(_softmax_vjp_tangent,))),
    Op("log_softmax", _log_softmax, lambda s, axis=-1: _softmax_shape(s, axis, "log_softmax"), vjps=(_log_softmax_vjp,), magnitudes=(_log_softmax_magnitude,), symbol="log_softmax", rounding=lambda ans, a, axis=-1: np.abs(a) + np.abs(a - ans), second=Second(jvp=_log_softmax_jvp, vjps=(_log_softmax_vjp_tangent,))),
    Op("logsumexp", _logsumexp, lambda s, axis=-1, keepdims=False: _reduced(_softmax_shape(s, axis if axis is not None else -1, "logsumexp"), axis, keepdims, "logsumexp"), vjps=(_logsumexp_vjp,), magnitudes=(lambda g, ans, a, axis=-1, keepdims=False: np.abs(_logsumexp_vjp(g, ans, a, axis, keepdims)),), symbol="logsumexp", second=Second(jvp=_logsumexp_jvp, vjps=(_logsumexp_vjp_tangent,))),
    Op("transpose", _transpose, _transpose_shape, vjps=(_transpose_vjp,), symbol=".T", second=LINEAR),
    Op("reshape", lambda a, shape=(): a.reshape((a.shape[0], *_reshape_shape(a.shape[1:], shape))), _reshape_shape, vjps=(lambda g, ans, a, shape=(): g.reshape(g.shape[:1] + a.shape[1:]),), symbol="reshape", second=LINEAR),
    Op("index", lambda a, index=(): a[_numpy_index(index)], _index_shape, vjps=(_index_vjp,), symbol="[]", second=LINEAR),
    Op("stack", _stack, _stack_shape, vjps=(lambda g, ans, *xs, position: g[:, position],), symbol="[...]", variadic=True, second=LINEAR),
    Op("outer", _outer, lambda a, b: (math.prod(a), math.prod(b)), vjps=(_outer_vjp_a, _outer_vjp_b), symbol="outer", second=BILINEAR),
    Op("diag", _diag, _diag_shape, vjps=(_diag_vjp,), symbol="diag", second=LINEAR),
    Op("diagflat", lambda a: _diag(a.reshape(a.shape[0], -1)), lambda s: (math.prod(s), math.prod(s)), vjps=(lambda g, ans, a: np.diagonal(g, axis1=1, axis2=2).reshape(g.shape[:1] + a.shape[1:]),), symbol="diagflat", second=LINEAR),
)
