"""A corpus of correct layer and loss functions with hand-written gradients, and of planted bugs in them.

`CASES`: correct functions (layers.py) at seeded points away from every corner, except the deliberate kink
cases (`expect="kink"`). `BUGS`: the same functions with one thing wrong (bugs.py), each naming the inputs
whose gradient must be flagged. Every case and bug runs in float64 and in float32 (`DTYPES`): the float32
variant gets the same point rounded to float32 arrays and the same code, which then computes in float32.

    case.inputs(np.float32)  ->  {"x": float32 array, ..., "y": int labels}
    check_function(case.f, case.inputs(dtype), case.grad, wrt=case.wrt)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Callable

import numpy as np

from . import bugs, layers

DTYPES = (np.float64, np.float32)


@dataclass(frozen=True)
class Case:
    name: str
    f: Callable
    grad: Callable
    point: Callable[[], dict]  # the point in float64 (integer labels and indices stay integers)
    wrt: tuple[str, ...]
    expect: str = "pass"  # pass | kink (at a deliberate kink, a subgradient between the one-sided slopes)
    note: str = ""

    def inputs(self, dtype=np.float64) -> dict:
        """A fresh copy of the point, its float arrays in `dtype` (what the user would pass)."""
        return {k: (np.array(v, dtype=dtype) if np.issubdtype(np.asarray(v).dtype, np.floating) else np.array(v))
                for k, v in self.point().items()}


@dataclass(frozen=True)
class Bug:
    name: str
    case: Case  # the function, point and wrt, with the wrong grad (or f) in place
    blamed: tuple[str, ...]  # inputs whose gradient must be flagged; every other one must not be
    expect: str = "mismatch"  # mismatch | error
    element: tuple[int, ...] | None = None  # the one wrong element of blamed[0], for the element bugs
    note: str = ""


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _away(a: np.ndarray, margin: float = 0.2) -> np.ndarray:
    """Values pushed at least `margin` away from 0 (a relu's or abs' corner)."""
    return a + margin * np.where(a >= 0, 1.0, -1.0)


def _first(build: Callable[[np.random.Generator], dict], ok: Callable[[dict], bool], start: int) -> dict:
    """The point from the first seed >= start whose derived quantities keep away from every corner."""
    for seed in range(start, start + 1000):
        point = build(_rng(seed))
        if ok(point):
            return point
    raise AssertionError(f"no seed in {start}..{start + 999} gives a point away from the corners")


def cached(build: Callable[[], dict]) -> Callable[[], dict]:
    once = lru_cache(maxsize=1)(build)
    return lambda: {k: np.array(v) for k, v in once().items()}


# --- the points ---

@cached
def affine_point():
    r = _rng(1)
    return {"x": r.standard_normal((6, 3, 4)), "w": 0.5 * r.standard_normal((12, 7)), "b": r.standard_normal(7),
            "dout": r.standard_normal((6, 7))}


@cached
def affine_square_point():
    r = _rng(2)
    return {"x": r.standard_normal((8, 8)), "w": 0.5 * r.standard_normal((8, 8)), "b": r.standard_normal(8),
            "dout": r.standard_normal((8, 8))}


def _activation_point(seed: int, shape=(8, 6), scale: float = 1.5, away: bool = False):
    r = _rng(seed)
    x = scale * r.standard_normal(shape)
    return {"x": _away(x) if away else x, "dout": r.standard_normal(shape)}


@cached
def relu_point():
    return _activation_point(3, (10, 8), 1.0, away=True)


@cached
def relu_kink_point():
    point = _activation_point(4, (10, 8), 1.0, away=True)
    for index in [(0, 0), (3, 5), (7, 2)]:
        point["x"][index] = 0.0  # exactly on relu's corner: dout * (x > 0) gives 0 there, between 0 and dout
    return point


@cached
def dropout_point():
    r = _rng(5)
    p = 0.5
    return {"x": r.standard_normal((8, 10)), "mask": (r.random((8, 10)) < p) / p, "dout": r.standard_normal((8, 10))}


def _labels(r: np.random.Generator, n: int, classes: int) -> np.ndarray:
    return r.integers(0, classes, n)


@cached
def softmax_point():
    r = _rng(6)
    return {"W": 0.3 * r.standard_normal((12, 5)), "X": r.standard_normal((10, 12)), "y": _labels(r, 10, 5)}


def _svm_margins(p):
    scores = p["X"] @ p["W"]
    margins = scores - scores[np.arange(len(p["y"])), p["y"]][:, None] + 1
    margins[np.arange(len(p["y"])), p["y"]] = 1.0
    return margins


@cached
def svm_point():
    return _first(lambda r: {"W": 0.5 * r.standard_normal((10, 4)), "X": r.standard_normal((8, 10)), "y": _labels(r, 8, 4)},
                  lambda p: np.abs(_svm_margins(p)).min() > 0.1, 7)


@cached
def two_layer_point():
    def build(r):
        return {"W1": 0.5 * r.standard_normal((6, 6)), "b1": 0.1 * r.standard_normal(6),
                "W2": 0.5 * r.standard_normal((6, 6)), "b2": 0.1 * r.standard_normal(6),
                "X": r.standard_normal((8, 6)), "y": _labels(r, 8, 6)}
    return _first(build, lambda p: np.abs(p["X"] @ p["W1"] + p["b1"]).min() > 0.1, 100)


def _norm_point(seed: int, shape):
    r = _rng(seed)
    return {"x": 2 * r.standard_normal(shape) + 1, "gamma": 1 + 0.2 * r.standard_normal(shape[1]),
            "beta": r.standard_normal(shape[1]), "dout": r.standard_normal(shape)}


@cached
def batchnorm_point():
    return _norm_point(8, (8, 5))


@cached
def layernorm_point():
    return _norm_point(9, (6, 8))


@cached
def logsumexp_point():
    r = _rng(10)
    return {"x": 1000 + 2 * r.standard_normal((6, 8)), "dout": r.standard_normal(6)}


@cached
def attention_point():
    r = _rng(11)
    return {name: r.standard_normal((5, 4)) for name in ("Q", "K", "V", "dout")}


@cached
def conv1d_point():
    r = _rng(12)
    return {"x": r.standard_normal((2, 3, 10)), "w": 0.5 * r.standard_normal((4, 3, 3)), "b": r.standard_normal(4),
            "dout": r.standard_normal((2, 4, 8))}


def _regression(r: np.random.Generator, n: int, d: int, k: int, w_scale: float = 0.5) -> dict:
    return {"W": w_scale * r.standard_normal((d, k)), "X": r.standard_normal((n, d)), "Y": r.standard_normal((n, k))}


@cached
def l2_point():
    return _regression(_rng(13), 10, 6, 3)


@cached
def huber_point():
    return _first(lambda r: _regression(r, 10, 6, 3), lambda p: np.abs(np.abs(p["X"] @ p["W"] - p["Y"]) - 1).min() > 0.1, 14)


@cached
def seed_task2_point():
    """The values of seed 002's Task 2 cell (dW = [[15, 11]] there)."""
    return {"X": np.array([[0.0], [-2.0], [1.0]]), "W": np.array([[1.0, 1.0]]),
            "Y": np.array([[0.0, 1.0], [1.0, -1.0], [0.0, -2.0]]), "lam": np.array(1.0)}


@cached
def l1_kink_point():
    r = _rng(15)
    point = _regression(r, 8, 5, 3)
    point["W"] = _away(point["W"])
    point["W"][1, 2] = point["W"][3, 0] = 0.0  # |W| on its corner: np.sign(0) = 0 lies between -lam and lam
    point["lam"] = np.array(0.5)
    return {"X": point["X"], "W": point["W"], "Y": point["Y"], "lam": point["lam"]}


@cached
def seed_task1_point():
    return {"x": np.array(2.0), "w": np.array([3.0, -4.0])}


@cached
def seed_task3_point():
    """The values of seed 002's Task 3 cell: np.random.seed(42), then W1, b1, W2, b2, x drawn in that order."""
    r = np.random.RandomState(42)
    W1, b1, W2, b2, x = r.rand(2, 2), r.rand(2, 1), r.rand(1, 2), r.rand(1, 1), r.rand(2, 1)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "x": x}


@cached
def seed_task4_point():
    return {"x": np.array([1.0, 2.0])}


def _window_gap(x):
    N, C, H, W = x.shape
    windows = np.sort(x.reshape(N, C, H // 2, 2, W // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4), axis=1)
    return (windows[:, -1] - windows[:, -2]).min()


@cached
def maxpool_point():
    return _first(lambda r: {"x": r.standard_normal((2, 2, 4, 4)), "dout": r.standard_normal((2, 2, 2, 2))},
                  lambda p: _window_gap(p["x"]) > 0.1, 16)


@cached
def embedding_point():
    r = _rng(17)
    return {"W": r.standard_normal((7, 5)), "idx": np.array([0, 3, 3, 1, 6, 3, 0, 2, 5, 0]),
            "dout": r.standard_normal((10, 5))}


@cached
def residual_point():
    r = _rng(18)
    return {"x": r.standard_normal((6, 5)), "w": 0.5 * r.standard_normal((5, 5)), "dout": r.standard_normal((6, 5))}


@cached
def l2_big_point():
    """100x100 W (10,000 elements: still checked one by one); |dW| is about 1."""
    r = _rng(19)
    return {"W": 0.1 * r.standard_normal((100, 100)), "X": r.standard_normal((4, 100)), "Y": r.standard_normal((4, 100))}


@cached
def l2_directions_point():
    """101x100 W (10,100 elements: past 10,000, random directions take over)."""
    r = _rng(20)
    return {"W": 0.1 * r.standard_normal((101, 100)), "X": r.standard_normal((4, 101)), "Y": r.standard_normal((4, 100))}


@cached
def cross_entropy_1000_point():
    r = _rng(21)
    return {"x": 1000 + 2 * r.standard_normal((6, 8)), "y": _labels(r, 6, 8)}


def _element_near_one(point: Callable[[], dict]) -> tuple[int, ...]:
    """The element of dW whose size is nearest 1 (the element bugs change it by 1e-3 relative)."""
    dW = layers.l2_grad(**point())["W"]
    index = np.unravel_index(int(np.argmin(np.abs(np.abs(dW) - 1))), dW.shape)
    return tuple(int(i) for i in index)


# --- the corpus ---

L = layers
CASES: tuple[Case, ...] = (
    Case("affine", L.affine_loss, L.affine_grad, affine_point, ("x", "w", "b")),
    Case("affine-square", L.affine_loss, L.affine_grad, affine_square_point, ("x", "w", "b")),
    Case("relu", L.relu_loss, L.relu_grad, relu_point, ("x",)),
    Case("relu-kink", L.relu_loss, L.relu_grad, relu_kink_point, ("x",), "kink", "x is exactly 0 at 3 elements"),
    Case("leaky-relu", L.leaky_relu_loss, L.leaky_relu_grad, relu_point, ("x",)),
    Case("sigmoid", L.sigmoid_loss, L.sigmoid_grad, lambda: _activation_point(22, scale=2.0), ("x",)),
    Case("tanh", L.tanh_loss, L.tanh_grad, lambda: _activation_point(23), ("x",)),
    Case("gelu", L.gelu_loss, L.gelu_grad, lambda: _activation_point(24, scale=2.0), ("x",)),
    Case("dropout", L.dropout_loss, L.dropout_grad, dropout_point, ("x",)),
    Case("softmax-ce", L.softmax_loss, L.softmax_grad, softmax_point, ("W",)),
    Case("svm", L.svm_loss, L.svm_grad, svm_point, ("W",)),
    Case("two-layer", L.two_layer_loss, L.two_layer_grad, two_layer_point, ("W1", "b1", "W2", "b2")),
    Case("batchnorm", L.batchnorm_loss, L.batchnorm_grad, batchnorm_point, ("x", "gamma", "beta")),
    Case("layernorm", L.layernorm_loss, L.layernorm_grad, layernorm_point, ("x", "gamma", "beta")),
    Case("logsumexp-1000", L.logsumexp_loss, L.logsumexp_grad, logsumexp_point, ("x",)),
    Case("attention", L.attention_loss, L.attention_grad, attention_point, ("Q", "K", "V")),
    Case("conv1d", L.conv1d_loss, L.conv1d_grad, conv1d_point, ("x", "w", "b")),
    Case("l2-regression", L.l2_loss, L.l2_grad, l2_point, ("W",)),
    Case("huber", L.huber_loss, L.huber_grad, huber_point, ("W",)),
    Case("seed002-task1", L.seed_task1_loss, L.seed_task1_grad, seed_task1_point, ("x", "w")),
    Case("seed002-task2", L.seed_task2_loss, L.seed_task2_grad, seed_task2_point, ("W",),
         note="np.abs: the complex step is wrong here"),
    Case("l1-kink", L.seed_task2_loss, L.seed_task2_grad, l1_kink_point, ("W",), "kink", "W is exactly 0 at 2 elements"),
    Case("seed002-task3", L.seed_task3_loss, L.seed_task3_grad, seed_task3_point, ("W1", "b1", "W2", "b2")),
    Case("seed002-task4", L.seed_task4_softmax, L.seed_task4_grad, seed_task4_point, ("x",),
         note="f returns an array; grad returns its Jacobian"),
    Case("maxpool", L.maxpool_loss, L.maxpool_grad, maxpool_point, ("x",)),
    Case("embedding", L.embedding_loss, L.embedding_grad, embedding_point, ("W",), note="idx repeats words"),
    Case("residual", L.residual_loss, L.residual_grad, residual_point, ("x", "w"), note="x fans out"),
    Case("l2-100x100", L.l2_loss, L.l2_grad, l2_big_point, ("W",)),
    Case("l2-101x100", L.l2_loss, L.l2_grad, l2_directions_point, ("W",), note="past 10,000 elements"),
)

BY_NAME = {case.name: case for case in CASES}


def _bug(name: str, base: str, grad: Callable, blamed: tuple[str, ...], **fields) -> Bug:
    case = replace(BY_NAME[base], name=f"bug-{name}", grad=grad, expect=fields.pop("expect", "mismatch"))
    if "f" in fields:
        case = replace(case, f=fields.pop("f"))
    if "point" in fields:
        case = replace(case, point=fields.pop("point"))
    return Bug(f"bug-{name}", case, blamed, case.expect, **fields)


ELEMENT = _element_near_one(l2_big_point)
ELEMENT_DIRECTIONS = _element_near_one(l2_directions_point)

B = bugs
BUGS: tuple[Bug, ...] = (
    _bug("missing-transpose", "affine-square", B.affine_missing_transpose, ("x",)),
    _bug("wrong-sum-axis", "affine-square", B.affine_wrong_sum_axis, ("b",)),
    _bug("assign-for-add-embedding", "embedding", B.embedding_assign_for_add, ("W",)),
    _bug("assign-for-add-residual", "residual", B.residual_assign_for_add, ("x",)),
    _bug("col2im-buffered-add", "conv1d", B.conv1d_fancy_add, ("x",)),
    _bug("missing-mean", "softmax-ce", B.softmax_missing_mean, ("W",)),
    _bug("sign-flip", "sigmoid", B.sigmoid_sign_flip, ("x",)),
    _bug("one-element", "l2-100x100", B.one_element_off(L.l2_grad, "W", ELEMENT), ("W",), element=ELEMENT),
    _bug("one-element-directions", "l2-101x100", B.one_element_off(L.l2_grad, "W", ELEMENT_DIRECTIONS), ("W",),
         element=ELEMENT_DIRECTIONS),
    _bug("swapped", "two-layer", B.two_layer_swapped, ("W1", "W2")),
    _bug("missing-regulariser", "softmax-ce", B.softmax_missing_reg, ("W",)),
    _bug("missing-branch", "residual", B.residual_missing_branch, ("x",)),
    _bug("missing-scale-attention", "attention", B.attention_missing_scale, ("Q",)),
    _bug("missing-scale-batchnorm", "batchnorm", B.batchnorm_missing_scale, ("x",)),
    _bug("grad-mutates-input", "l2-regression", B.l2_grad_mutating, ("W",), expect="error"),
    _bug("nan-loss", "logsumexp-1000", B.cross_entropy_grad, (), f=B.unstable_cross_entropy,
         point=cross_entropy_1000_point, expect="error"),
    _bug("grad-returns-text", "relu", B.relu_grad_as_text, (), expect="error"),
)

BUG_BY_NAME = {bug.name: bug for bug in BUGS}


def dtype_name(dtype) -> str:
    return np.dtype(dtype).name
