"""Hypothesis: random tensor expressions over random shapes, with broadcasting, matmul, reductions and softmax.

Every expression is smooth, so every element of every gradient must pass, and backprop must agree with the
independent SymPy oracle (the exact column, lowered element by element) and with a complex step written
here with numpy alone.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck_cli.expression.check import Options
from gradcheck_cli.session import check_text

UNARY = ["tanh({})", "sigma({})", "sin({})", "cos({})", "exp(tanh({}))", "log(1 + ({})**2)"]
BINARY = ["({}) + ({})", "({}) - ({})", "({}) * ({})", "({}) / (1 + ({})**2)"]


def variables(m: int, n: int, k: int) -> dict[str, tuple[int, ...]]:
    """One variable of every shape the grammar asks for."""
    return {"A": (m, n), "W": (n, k), "Z": (m, k), "b": (k,), "v": (n,), "c": ()}


@st.composite
def tensor_expr(draw, shape: tuple[int, ...], names: dict, depth: int) -> str:
    """An expression of exactly `shape`: elementwise gates, broadcasting, @, transposes, softmax."""
    leaf = next(name for name, s in names.items() if s == shape)
    if depth == 0:
        return leaf
    kind = draw(st.sampled_from(["unary", "binary", "broadcast", "matmul", "softmax"]))
    sub = lambda s: draw(tensor_expr(s, names, depth - 1))  # noqa: E731
    if kind == "unary":
        return draw(st.sampled_from(UNARY)).format(sub(shape))
    if kind == "binary":
        return draw(st.sampled_from(BINARY)).format(sub(shape), sub(shape))
    if kind == "broadcast" and len(shape) == 2:  # a row vector, or a scalar, stretched over a matrix
        other = draw(st.sampled_from([(shape[1],), ()]))
        if other in names.values():
            return draw(st.sampled_from(BINARY)).format(sub(shape), sub(other))
    if kind == "matmul" and shape == names["Z"]:
        return f"({sub(names['A'])}) @ ({sub(names['W'])})"
    if kind == "matmul" and shape == names["b"]:
        return f"({sub(names['W'])}).T @ ({sub(names['v'])})"
    if kind == "softmax" and len(shape) == 1:
        return f"softmax({sub(shape)})"
    return draw(st.sampled_from(UNARY)).format(sub(shape))  # the form drawn does not fit this shape


@st.composite
def case(draw):
    m, n, k = (draw(st.integers(1, 3)) for _ in range(3))
    names = variables(m, n, k)
    shape = draw(st.sampled_from([names["Z"], names["b"], names["A"]]))
    body = draw(tensor_expr(shape, names, draw(st.integers(1, 4))))
    reduce = draw(st.sampled_from(["sum({})", "mean({})", "sum(({})**2)"]))
    text = reduce.format(body)
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    point = {name: 0.7 * rng.standard_normal(s) for name, s in names.items() if name in text}
    return text, point


def complex_step(text: str, point: dict, var: str) -> np.ndarray:
    """d text / d var by the complex step, evaluated by numpy alone (the expression maps onto numpy names)."""
    namespace = {"tanh": np.tanh, "sin": np.sin, "cos": np.cos, "exp": np.exp, "log": np.log, "sum": np.sum,
                 "mean": np.mean, "sigma": lambda t: 1 / (1 + np.exp(-t)),
                 "softmax": lambda t: np.exp(t - t.real.max()) / np.exp(t - t.real.max()).sum()}
    x = np.asarray(point[var], dtype=np.complex128)
    out = np.zeros(x.shape)
    for index in np.ndindex(x.shape):
        moved = x.copy()
        moved[index] += 1e-30j
        values = {**{k: np.asarray(v, dtype=np.complex128) for k, v in point.items()}, var: moved}
        out[index] = eval(text, {"__builtins__": {}}, {**namespace, **values}).imag / 1e-30  # noqa: S307 -- test-made text
    return out


@settings(max_examples=60)
@given(case())
def test_random_tensor_expressions_pass_and_agree_with_the_oracle(drawn):
    text, point = drawn
    result = check_text(text, point, options=Options(exact_method="chain"))
    assert result.status == "pass", f"{text} at {point}: {result.status}: {result.message}"
    for g in result.gradients:
        analytic = np.asarray(g.analytic, dtype=np.float64)
        exact = np.asarray(g.exact, dtype=np.float64)
        assert np.all(np.isfinite(exact)), f"no exact value for d{g.var} of {text}"  # the oracle did run
        scale = np.abs(analytic).max(initial=0.0) + 1e-300
        assert np.all(np.abs(analytic - exact) <= 1e-9 * scale + 1e-12), f"d{g.var} of {text}: {analytic} vs {exact}"
        # values are O(1): a gradient that is 0 exactly (d/dv sum(softmax(v))) is ~1e-17 by the complex step
        assert np.allclose(analytic, complex_step(text, point, g.var), rtol=1e-9, atol=1e-12), f"d{g.var} of {text}"


def test_the_generator_reaches_every_form():
    forms = {"@": 0, ".T": 0, "softmax": 0, "broadcast": 0}

    @settings(max_examples=200, database=None)
    @given(case())
    def collect(drawn):
        text, point = drawn
        forms["@"] += "@" in text
        forms[".T"] += ".T" in text
        forms["softmax"] += "softmax" in text
        shapes = {np.shape(v) for k, v in point.items() if k in ("b", "c")}
        forms["broadcast"] += bool(shapes) and "A" in point or "Z" in point
    collect()
    assert all(count > 0 for count in forms.values()), forms
