"""Hypothesis: one random smooth function, checked through every route, gets the same verdict on each.

A draw is a small expression tree over 1-3 variables (scalars, or vectors of one common length 2-4) and a
point. The tree is kept as a flat post-order list of nodes, and three translators of this file read it with a
plain loop (never eval or exec of text): a printer (gradcheck's spelling, and numpy's for a pasted cell), a
numpy evaluator (a dict of numpy callables), and a SymPy builder (the exact gradient, lambdified for
check_function and evaluated at 30 digits for the claims). The routes:

  (a) expression   gradcheck_cli.check(EXPR, at=point, expect=claims)
  (b) program      gradcheck_cli.check(cell): `x = ...` inputs, `f = EXPR`, and for a wrong gradient d-lines
  (c) function     gradcheck_cli.check_function(numpy f, point, grad from SymPy)
  (d) directions   the expression route with the element limit forced to 0, so random directions judge

The right gradient must pass on every route; the same gradient with one element times 1.01 (or its sign
flipped) must be a mismatch on every route, blaming the variable that holds that element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from gradcheck_cli import check, check_function
from gradcheck_cli.api import Report

SCALARS = ("x", "y", "z")
VECTORS = ("u", "v", "w")
CONSTANTS = (0.5, 1.5, 2.0, 3.0)
UNARY = ("exp", "logsq", "tanh", "sigma", "sin", "square")
BINARY = ("add", "sub", "mul", "div")
ROUTES = ("expression", "program", "function", "directions")

# --- the translators: one entry per op in each table ---

GRADCHECK = {  # gradcheck's own spelling
    "exp": "exp({0})", "logsq": "log(1 + ({0})**2)", "tanh": "tanh({0})", "sigma": "sigma({0})", "sin": "sin({0})",
    "square": "({0})**2", "add": "({0}) + ({1})", "sub": "({0}) - ({1})", "mul": "({0}) * ({1})",
    "div": "({0}) / (1 + ({1})**2)", "sum": "sum({0})", "dot": "({0}) @ ({1})",
}
NUMPY_TEXT = {  # a pasted cell's spelling
    **GRADCHECK, "exp": "np.exp({0})", "logsq": "np.log(1 + ({0})**2)", "tanh": "np.tanh({0})",
    "sigma": "1 / (1 + np.exp(-({0})))", "sin": "np.sin({0})", "sum": "np.sum({0})",
}
NUMPY = {
    "exp": np.exp, "logsq": lambda a: np.log(1 + a ** 2), "tanh": np.tanh, "sigma": lambda a: 1 / (1 + np.exp(-a)),
    "sin": np.sin, "square": lambda a: a ** 2, "add": lambda a, b: a + b, "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b, "div": lambda a, b: a / (1 + b ** 2), "sum": np.sum, "dot": lambda a, b: a @ b,
}
SYMPY_SCALAR = {
    "exp": sympy.exp, "logsq": lambda a: sympy.log(1 + a ** 2), "tanh": sympy.tanh, "sigma": lambda a: 1 / (1 + sympy.exp(-a)),
    "sin": sympy.sin, "square": lambda a: a ** 2, "add": lambda a, b: a + b, "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b, "div": lambda a, b: a / (1 + b ** 2),
}


def _sympy_op(op: str, args: list):
    """An op on SymPy values: a scalar is an Expr, a vector a tuple of Exprs (elementwise, scalars broadcast)."""
    if op == "sum":
        return sympy.Add(*args[0])
    if op == "dot":
        return sympy.Add(*(a * b for a, b in zip(*args)))
    n = max((len(a) for a in args if isinstance(a, tuple)), default=0)
    if not n:
        return SYMPY_SCALAR[op](*args)
    spread = [a if isinstance(a, tuple) else (a,) * n for a in args]
    return tuple(SYMPY_SCALAR[op](*parts) for parts in zip(*spread))


ARITY = {**{op: 1 for op in UNARY}, **{op: 2 for op in BINARY}, "sum": 1, "dot": 2}


@dataclass(frozen=True)
class Draw:
    nodes: tuple[tuple, ...]  # post-order: ("var", name) | ("const", value) | (op,)
    point: tuple[tuple[str, object], ...]  # (name, float or tuple of floats), in order of first use

    @property
    def at(self) -> dict:
        return {name: (np.array(value) if isinstance(value, tuple) else value) for name, value in self.point}

    def text(self, table: dict) -> str:
        stack: list[str] = []
        for node in self.nodes:
            if node[0] == "var":
                stack.append(node[1])
            elif node[0] == "const":
                stack.append(repr(node[1]))
            else:
                args = [stack.pop() for _ in range(ARITY[node[0]])][::-1]
                stack.append(table[node[0]].format(*args))
        return stack.pop()

    def evaluate(self, values: dict):
        stack: list = []
        for node in self.nodes:
            if node[0] == "var":
                stack.append(values[node[1]])
            elif node[0] == "const":
                stack.append(node[1])
            else:
                args = [stack.pop() for _ in range(ARITY[node[0]])][::-1]
                stack.append(NUMPY[node[0]](*args))
        return stack.pop()

    def program(self, d_lines: dict | None = None) -> str:
        lines = ["import numpy as np"]
        for name, value in self.point:
            lines.append(f"{name} = np.array({list(value)!r})" if isinstance(value, tuple) else f"{name} = {value!r}")
        lines.append(f"f = {self.text(NUMPY_TEXT)}")
        for name, value in (d_lines or {}).items():
            array = np.asarray(value, dtype=np.float64)
            lines.append(f"d{name} = {[float(v) for v in array]!r}" if array.ndim else f"d{name} = {float(array)!r}")
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Exact:
    gradient: dict  # name -> float or array, at 30 digits rounded to float64
    function: object  # the lambdified gradient: (**values) -> {name: float or array}


@lru_cache(maxsize=256)
def exact(draw: Draw) -> Exact:
    symbols = {name: (tuple(sympy.Symbol(f"{name}_{i}") for i in range(len(value))) if isinstance(value, tuple)
                      else sympy.Symbol(name)) for name, value in draw.point}
    stack: list = []
    for node in draw.nodes:
        if node[0] == "var":
            stack.append(symbols[node[1]])
        elif node[0] == "const":
            stack.append(sympy.Float(node[1]))
        else:
            args = [stack.pop() for _ in range(ARITY[node[0]])][::-1]
            stack.append(_sympy_op(node[0], args))
    f = stack.pop()
    flat = [s for group in symbols.values() for s in (group if isinstance(group, tuple) else (group,))]
    derivatives = [sympy.diff(f, s) for s in flat]
    at = dict(zip(flat, [sympy.Float(v, 30) for _, value in draw.point
                         for v in (value if isinstance(value, tuple) else (value,))]))
    values = [float(d.evalf(30, subs=at)) for d in derivatives]
    compiled = sympy.lambdify(flat, derivatives, modules="numpy")

    def regroup(flat_values) -> dict:
        out, k = {}, 0
        for name, group in symbols.items():
            if isinstance(group, tuple):
                out[name] = np.array([float(v) for v in flat_values[k:k + len(group)]])
                k += len(group)
            else:
                out[name] = float(flat_values[k])
                k += 1
        return out

    def gradient(**inputs):
        args = [float(v) for name, _ in draw.point for v in np.asarray(inputs[name]).reshape(-1)]
        return regroup(compiled(*args))

    return Exact(regroup(values), gradient)


# --- the grammar ---

@st.composite
def expressions(draw) -> Draw:
    count = draw(st.integers(1, 3))
    kinds = draw(st.lists(st.booleans(), min_size=count, max_size=count))  # True: a vector
    length = draw(st.integers(2, 4))
    names = [VECTORS[i] if vector else SCALARS[i] for i, vector in enumerate(kinds)]
    scalars = [n for n, vector in zip(names, kinds) if not vector]
    vectors = [n for n, vector in zip(names, kinds) if vector]
    nodes: list[tuple] = []
    # An explicit stack of goals: ("want", kind, depth) expands into nodes pushed in post-order via ("emit", node).
    goals: list[tuple] = [("want", "s", draw(st.integers(2, 4)))]
    while goals:
        goal = goals.pop()
        if goal[0] == "emit":
            nodes.append(goal[1])
            continue
        _, kind, depth = goal
        leaves = vectors if kind == "v" else scalars
        if depth == 0 or (nodes and draw(st.integers(0, 5)) == 0):  # the root is never a bare leaf
            if leaves:
                nodes.append(("var", draw(st.sampled_from(leaves))))
            elif kind == "s" and vectors:
                goals += [("emit", ("sum",)), ("want", "v", 0)]
            else:
                nodes.append(("const", draw(st.sampled_from(CONSTANTS))))
            continue
        forms = ["unary", "binary"] + (["sum", "dot"] if kind == "s" and vectors else [])
        form = draw(st.sampled_from(forms))
        if form == "unary":
            goals += [("emit", (draw(st.sampled_from(UNARY)),)), ("want", kind, depth - 1)]
        elif form == "binary":
            left, right = (kind, kind) if kind == "s" else draw(st.sampled_from([("v", "v"), ("v", "s"), ("s", "v")]))
            goals += [("emit", (draw(st.sampled_from(BINARY)),)), ("want", right, depth - 1), ("want", left, depth - 1)]
        elif form == "sum":
            goals += [("emit", ("sum",)), ("want", "v", depth - 1)]
        else:
            goals += [("emit", ("dot",)), ("want", "v", depth - 1), ("want", "v", depth - 1)]
    used = list(dict.fromkeys(node[1] for node in nodes if node[0] == "var"))
    assume(used)  # a function of no variable has nothing to check
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 32 - 1)))  # points spread over [-1.5, 1.5], not at 0

    def value() -> float:
        return round(float(rng.uniform(-1.5, 1.5)), 6)

    point = tuple((name, tuple(value() for _ in range(length)) if name in vectors else value()) for name in used)
    return Draw(tuple(nodes), point)


@st.composite
def checked(draw) -> tuple[Draw, Exact, str, tuple, float]:
    """A well-behaved draw, its exact gradient, and the planted error: variable, element, factor."""
    d = draw(expressions())
    with np.errstate(all="ignore"):
        value = float(d.evaluate(d.at))
    assume(math.isfinite(value) and abs(value) < 1e6)
    e = exact(d)
    sizes = {name: np.abs(np.asarray(g)).max() for name, g in e.gradient.items()}
    assume(all(math.isfinite(s) and s < 1e6 for s in sizes.values()))
    with np.errstate(all="ignore"):
        floats = e.function(**d.at)
    for name, g in e.gradient.items():  # the float64 formula is accurate at this point (no cancellation)
        assume(np.all(np.abs(np.asarray(floats[name]) - g) <= 1e-9 * np.abs(g)))
    name = max(sizes, key=sizes.get)
    assume(sizes[name] > 1e-3)
    element = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(e.gradient[name]))), np.shape(e.gradient[name])))
    factor = draw(st.sampled_from([1.01, -1.0]))
    return d, e, name, element, factor


def planted(e: Exact, name: str, element: tuple, factor: float) -> dict:
    wrong = {k: np.array(v, dtype=np.float64) for k, v in e.gradient.items()}
    wrong[name][element] *= factor
    return {k: (float(v) if v.ndim == 0 else v) for k, v in wrong.items()}


# --- the routes: each returns its Report ---

def expression_route(d: Draw, claims: dict):
    return check(d.text(GRADCHECK), at=d.at, expect=claims)


def program_route(d: Draw, claims: dict | None):
    return check(d.program(claims))


def function_route(d: Draw, gradient):
    return check_function(lambda **values: d.evaluate(values), d.at, gradient)


def directions_route(d: Draw, claims: dict):
    from gradcheck_cli.expression.check import Options  # the API has no knob for the element limit: the library's own Options
    from gradcheck_cli.session import check_text

    expect = ", ".join(f"d{name}={np.asarray(value, dtype=np.float64).tolist()!r}" for name, value in claims.items())
    result = check_text(d.text(GRADCHECK), d.at, expect=expect, options=Options(direction_limit=0))
    return Report(tuple(result) if isinstance(result, list) else (result,))


def route(name: str, d: Draw, e: Exact, wrong: dict | None):
    """The report of route `name` for the right gradient (wrong=None) or the planted one."""
    if name == "expression":
        return expression_route(d, wrong or e.gradient)
    if name == "program":
        return program_route(d, wrong)
    if name == "function":
        return function_route(d, e.function if wrong is None else lambda **values: wrong)
    return directions_route(d, wrong or e.gradient)


def statuses(report) -> dict:
    return {g.var: g.status for case in report.cases for g in case.gradients}


SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@pytest.mark.parametrize("name", ROUTES)
@SETTINGS
@given(checked())
def test_every_route_passes_the_right_gradient(name, drawn):
    d, e, *_ = drawn
    report = route(name, d, e, None)
    assert report.ok and report.status == "pass", f"{name} route on {d.text(GRADCHECK)} at {d.at}:\n{report.text()}"


@pytest.mark.parametrize("name", ROUTES)
@SETTINGS
@given(checked())
def test_every_route_fails_the_same_gradient_with_one_planted_error(name, drawn):
    d, e, var, element, factor = drawn
    report = route(name, d, e, planted(e, var, element, factor))
    where = f"{name} route on {d.text(GRADCHECK)} at {d.at}, d{var}{list(element)} times {factor}"
    assert not report.ok and report.status == "mismatch", f"{where}:\n{report.text()}"
    assert statuses(report)[var] == "mismatch", f"{where}: d{var} not blamed\n{report.text()}"


# --- fixed draws that once split the routes (Hypothesis' points rarely land on them) ---

FIXED = {
    "linear-at-f-0": Draw((("var", "u"), ("sum",)), (("u", (0.0, 0.0)),)),  # the Taylor remainder is all rounding
    "zero-gradient": Draw((("var", "v"), ("exp",), ("sum",), ("var", "x"), ("var", "x"), ("sub",), ("exp",), ("add",)),
                          (("v", (0.410885, -0.69064)), ("x", -1.377079))),  # df/dx = 0 exactly: exp(x - x)
    "product-at-0": Draw((("var", "x"), ("var", "y"), ("mul",)), (("x", 0.0), ("y", 0.0))),  # f = 0, gradient 0
}


@pytest.mark.parametrize("name", ROUTES)
@pytest.mark.parametrize("fixed", FIXED, ids=list(FIXED))
def test_every_route_passes_the_right_gradient_at_a_fixed_draw(fixed, name):
    d = FIXED[fixed]
    report = route(name, d, exact(d), None)
    assert report.ok and report.status == "pass", f"{name} route on {d.text(GRADCHECK)} at {d.at}:\n{report.text()}"


# --- a variable past 10,000 elements: random directions through the public API ---

BIG = np.random.default_rng(3)
X_BIG, C_BIG = 0.8 * BIG.standard_normal((101, 100)), BIG.standard_normal((101, 100))
DX_BIG = C_BIG * (1 - np.tanh(X_BIG) ** 2)
BIG_ELEMENT = (57, 31)


def _big_wrong(factor: float) -> np.ndarray:
    wrong = DX_BIG.copy()
    wrong[BIG_ELEMENT] *= factor
    return wrong


@pytest.mark.parametrize("factor", [1.0, 1.01, -1.0], ids=["right", "times-1.01", "sign-flip"])
def test_past_ten_thousand_elements_expression_and_function_agree(factor):
    claim = _big_wrong(factor)
    expression = check("sum(tanh(X) * C)", at={"X": X_BIG, "C": C_BIG}, expect={"X": claim}, wrt="X",
                       exact=False)  # the exact column of 10,100 elements costs 2 s; claims then meet backprop
    function = check_function(lambda X, C: np.sum(np.tanh(X) * C), {"X": X_BIG, "C": C_BIG},
                              lambda X, C: claim, wrt="X", draws=False)  # a gradient of this point only
    for report in (expression, function):
        dX = report.cases[0].gradients[0]
        assert dX.mode == "directions", report.text()
        if factor == 1.0:
            assert report.ok and report.status == "pass", report.text()
        else:
            assert not report.ok and report.status == "mismatch", report.text()
            assert BIG_ELEMENT in [tuple(int(i) for i in index) for index, *_ in dX.failing], report.text()
