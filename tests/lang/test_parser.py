"""The parser: grammar, precedence and associativity (checked against Python's own), errors with columns,
and no recursion limit (10,000-deep nesting, 100,000-term sums)."""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from gradcheck_cli.errors import GradcheckError, ParseError
from gradcheck_cli.eval.engine import backward, forward, variable_gradients
from gradcheck_cli.inputs.points import PointContext, constant_value
from gradcheck_cli.ir import build_graph
from gradcheck_cli.lang.expr import BINARY_OPS, parse
from gradcheck_cli.lang.spelling import SIGNATURES
from gradcheck_cli.ops import default_registry

REGISTRY = default_registry()


def value(text: str, **point: float) -> float:
    graph = build_graph(parse(text), REGISTRY)
    values = forward(graph, {v: np.array([float(point[v])]) for v in graph.variables})
    return float(values[graph.output][0])


def gradients(text: str, **point: float) -> dict[str, float]:
    graph = build_graph(parse(text), REGISTRY)
    values = forward(graph, {v: np.array([float(point[v])]) for v in graph.variables})
    grads = variable_gradients(graph, backward(graph, values))
    return {k: float(v[0]) for k, v in grads.items()}


def tensor_value(text: str, **point) -> np.ndarray:
    """f at one point whose variables may be arrays (their shapes set the graph's)."""
    arrays = {k: np.asarray(v, dtype=np.float64) for k, v in point.items()}
    graph = build_graph(parse(text), REGISTRY, {k: a.shape for k, a in arrays.items()})
    values = forward(graph, {v: arrays[v][None] for v in graph.variables})
    return np.asarray(values[graph.output][0])


def evaluate_constant(expr) -> float:
    """The slow path for a variable-free expression: a graph and a numpy forward pass (was engine.evaluate_constant)."""
    return float(forward(build_graph(expr, REGISTRY), {})[-1][0])


def parse_constant(text: str) -> float:
    """The fast path (was parser.parse_constant): points.constant_value gives a 0-d array for a number."""
    result = constant_value(text, PointContext(REGISTRY))
    assert result.shape == ()
    return float(result)


def sigma(t: float) -> float:
    return 1 / (1 + math.exp(-t))


# --- tokens -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["3", "0", "1.5e-3", "1.5E+3", "2e10", ".5", "5.", "007", "123.456", "1e-300"])
def test_numbers_parse_to_their_float_value(text):
    expr = parse(text)
    assert [n.op for n in expr.nodes] == ["num"]
    assert expr.nodes[0].value == float(text)
    assert evaluate_constant(expr) == float(text)


@pytest.mark.parametrize("name", ["x", "w0", "x_1", "_a", "X", "E", "sigma_", "lambda", "theta12_b"])
def test_variable_names(name):
    expr = parse(f"{name} * 2")
    assert expr.variables == (name,)
    assert value(f"{name} * 2", **{name: 3.5}) == 7.0


def test_variables_in_order_of_first_appearance():
    assert parse("y*x + y + sigma(z) - x*w").variables == ("y", "x", "z", "w")


def test_constants_pi_and_e():
    assert evaluate_constant(parse("pi")) == math.pi
    assert evaluate_constant(parse("e")) == math.e
    assert evaluate_constant(parse("2*pi - e")) == 2 * math.pi - math.e
    # constants are not variables
    assert parse("x*pi + e").variables == ("x",)


@pytest.mark.parametrize("text,expected", [
    ("sigma(x)", sigma(0.7)),
    ("sigmoid(x)", sigma(0.7)),
    ("exp(x)", math.exp(0.7)),
    ("log(x)", math.log(0.7)),
    ("sqrt(x)", math.sqrt(0.7)),
    ("sin(x)", math.sin(0.7)),
    ("cos(x)", math.cos(0.7)),
    ("tan(x)", math.tan(0.7)),
    ("tanh(x)", math.tanh(0.7)),
    ("relu(x)", 0.7),
    ("relu(-x)", 0.0),
    ("abs(-x)", 0.7),
    ("max(x, 0.5)", 0.7),
    ("max(0.5, -x)", 0.5),
    ("min(x, 0.5)", 0.5),
    ("min(-x, 0.5)", -0.7),
    ("sign(x)", 1.0),
    ("sign(-x)", -1.0),
    ("pow(x, 2)", 0.7 ** 2),
    ("np.power(x, 0.5)", math.sqrt(0.7)),
])
def test_function_calls(text, expected):
    assert value(text, x=0.7) == pytest.approx(expected, rel=1e-15, abs=1e-300)


def test_sigmoid_is_an_alias_of_sigma():
    assert [n.op for n in parse("sigmoid(x)").nodes] == [n.op for n in parse("sigma(x)").nodes]


_A = np.array([[0.5, -1.25, 2.0], [1.5, 0.25, -0.75]])  # (2, 3)
_B = np.array([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]])  # (3, 2)
_S = np.array([[2.0, -1.0], [0.5, 1.5]])  # (2, 2)
_a, _b = np.array([0.3, -1.2, 2.5]), np.array([1.5, 0.5, -0.25])
_T3 = np.arange(24.0).reshape(2, 3, 4) / 7


def _softmax(v, axis=-1):
    e = np.exp(v - v.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _logsumexp(v, axis=-1):
    return np.log(np.exp(v).sum(axis=axis))


# tensor functions (and their method / numpy spellings) against numpy itself
TENSOR_CALLS = [
    ("sum", "sum(A)", {"A": _A}, _A.sum()),
    ("sum", "sum(A, 0)", {"A": _A}, _A.sum(axis=0)),
    ("sum", "np.sum(A, axis=1, keepdims=True)", {"A": _A}, _A.sum(axis=1, keepdims=True)),
    ("sum", "A.sum(1)", {"A": _A}, _A.sum(axis=1)),
    ("mean", "mean(A, 1)", {"A": _A}, _A.mean(axis=1)),
    ("mean", "A.mean()", {"A": _A}, _A.mean()),
    ("softmax", "softmax(a)", {"a": _a}, _softmax(_a)),
    ("softmax", "softmax(A, axis=0)", {"A": _A}, _softmax(_A, 0)),
    ("log_softmax", "log_softmax(A)", {"A": _A}, np.log(_softmax(_A))),
    ("logsumexp", "logsumexp(A)", {"A": _A}, _logsumexp(_A)),
    ("logsumexp", "logsumexp(A, 0, True)", {"A": _A}, _logsumexp(_A, 0)[None]),
    ("matmul", "matmul(A, B)", {"A": _A, "B": _B}, _A @ _B),
    ("matmul", "A @ B", {"A": _A, "B": _B}, _A @ _B),
    ("matmul", "A @ b", {"A": _A, "b": _b}, _A @ _b),
    ("matmul", "a @ B", {"a": _a, "B": _B}, _a @ _B),
    ("dot", "dot(a, b)", {"a": _a, "b": _b}, np.dot(_a, _b)),
    ("dot", "A.dot(B)", {"A": _A, "B": _B}, _A.dot(_B)),
    ("dot", "dot(x, a)", {"x": 1.5, "a": _a}, np.dot(1.5, _a)),
    ("outer", "outer(a, b)", {"a": _a, "b": _b}, np.outer(_a, _b)),
    ("diag", "diag(a)", {"a": _a}, np.diag(_a)),
    ("diag", "diag(A)", {"A": _A}, np.diag(_A)),
    ("diagflat", "diagflat(S)", {"S": _S}, np.diagflat(_S)),
    ("transpose", "transpose(A)", {"A": _A}, _A.T),
    ("transpose", "A.T", {"A": _A}, _A.T),
    ("transpose", "transpose(T, (1, 0, 2))", {"T": _T3}, np.transpose(_T3, (1, 0, 2))),
    ("transpose", "T.transpose((2, 0, 1))", {"T": _T3}, _T3.transpose((2, 0, 1))),
    ("reshape", "reshape(A, (3, 2))", {"A": _A}, _A.reshape(3, 2)),
    ("reshape", "reshape(A, 3, 2)", {"A": _A}, _A.reshape(3, 2)),
    ("reshape", "A.reshape(-1)", {"A": _A}, _A.reshape(-1)),
    ("array", "np.array(A, dtype=float) * 2", {"A": _A}, _A * 2),
    # not functions, but tensor syntax the old grammar lacked
    ("index", "A[1]", {"A": _A}, _A[1]),
    ("index", "A[:, 0]", {"A": _A}, _A[:, 0]),
    ("index", "T[1, ::-1, 1:3]", {"T": _T3}, _T3[1, ::-1, 1:3]),
    ("stack", "[a, b]", {"a": _a, "b": _b}, np.stack([_a, _b])),
    ("stack", "[[x, 1], [2, x]]", {"x": 0.5}, np.array([[0.5, 1.0], [2.0, 0.5]])),
]


@pytest.mark.parametrize("function,text,point,expected", TENSOR_CALLS, ids=[c[1] for c in TENSOR_CALLS])
def test_tensor_function_calls(function, text, point, expected):
    got = tensor_value(text, **point)
    assert got.shape == np.shape(expected)
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=1e-15)


def test_nodes_carry_literal_params_and_the_operator_offset():
    expr = parse("x + sum(A, axis=0, keepdims=True)")
    call, root = expr.nodes[-2], expr.nodes[-1]
    assert (call.op, call.params, call.at) == ("sum", (("axis", 0), ("keepdims", True)), 4)
    assert (root.op, root.at, root.start, root.end) == ("add", 2, 0, len(expr.text))
    assert parse("W[1, :]").nodes[-1].params == (("index", (1, ("slice", None, None, None))),)
    assert parse("A.T").nodes[-1].at == 1


def test_np_array_keeps_no_node():
    assert [n.op for n in parse("np.array(x)").nodes] == ["var"]


def test_every_grammar_function_is_covered_by_the_call_tests():
    # if a function is added to the grammar, test_function_calls (scalars) or test_tensor_function_calls must learn about it
    scalar = {"sigma", "exp", "log", "sqrt", "sin", "cos", "tan", "tanh", "relu", "abs", "max", "min", "sign", "pow"}
    tensor = {c[0] for c in TENSOR_CALLS} - {"index", "stack"}
    assert set(SIGNATURES) == scalar | tensor
    # and every function is an op of the registry (array is no op: the parser drops it)
    assert set(SIGNATURES) - {"array"} <= set(REGISTRY.ops)


# --- precedence and associativity -------------------------------------------------------------------

PY_NAMESPACE = {"x": 1.7, "y": -0.6, "z": 2.3, "w": 0.4}


@pytest.mark.parametrize("text,python", [
    ("-x**2", "-(x**2)"),
    ("2**3**2", "2**9"),
    ("2**-1", "0.5"),
    ("a-b-c", "(a-b)-c"),
    ("a/b/c", "(a/b)/c"),
    ("a-b+c", "(a-b)+c"),
    ("a/b*c", "(a/b)*c"),
    ("a+b*c", "a+(b*c)"),
    ("a*b**c", "a*(b**c)"),
    ("-a*b", "(-a)*b"),
    ("a**-b", "a**(-b)"),
    ("-a**-b", "-(a**(-b))"),
    ("--a", "a"),
    ("+a", "a"),
    ("-+-a", "a"),
    ("a - -b", "a+b"),
    ("(a+b)*c", "(a+b)*c"),
    ("2**-x**2", "2**(-(x**2))"),
    ("(-2)**2", "4"),
    ("-2**2", "-4"),
])
def test_precedence_matches_python(text, python):
    point = {"a": 5.0, "b": 3.0, "c": 2.0, "x": 1.5}
    used = {k: v for k, v in point.items() if k in parse(text).variables}
    expected = eval(python, {}, dict(point))  # our own test string, never user input
    assert value(text, **used) == pytest.approx(expected, rel=1e-15, abs=0)


def test_binary_operators_are_the_old_five_plus_matmul_and_comparisons():
    assert BINARY_OPS == {"+": "add", "-": "sub", "*": "mul", "/": "div", "**": "pow", "@": "matmul",
                          ">": "gt", "<": "lt", ">=": "ge", "<=": "le"}


@pytest.mark.parametrize("text,python", [
    ("a + b > c * 2", "(a + b) > (c * 2)"),
    ("a - b*c < -a**2", "(a - (b*c)) < (-(a**2))"),
    ("a >= a", "True"),
    ("a <= b - 3", "a <= (b - 3)"),
    ("(a > b) * c", "(a > b) * c"),
    ("-(a < b) + 1", "-(a < b) + 1"),
])
def test_comparisons_bind_loosest_as_in_python(text, python):
    point = {"a": 5.0, "b": 3.0, "c": 2.0}
    expected = float(eval(python, {}, dict(point)))  # our own test string, never user input
    assert value(text, **{k: v for k, v in point.items() if k in parse(text).variables}) == expected


def test_chained_comparisons_are_an_error():
    with pytest.raises(ParseError, match="chained comparisons"):
        parse("a < b < c")


@pytest.mark.parametrize("text", ["A @ B * 2", "A * 2 @ B", "-A @ B", "A @ B.T @ A", "A + A @ B - B", "A @ B ** 2",
                                  "A / 2 @ B"])
def test_matmul_precedence_matches_python(text):
    A, B = _S, np.array([[0.5, -1.0], [2.0, 0.25]])
    expected = eval(text, {}, {"A": A, "B": B})  # our own test string, never user input
    np.testing.assert_allclose(tensor_value(text, A=A, B=B), expected, rtol=1e-15)


def test_two_pow_three_pow_two_is_512_not_64():
    assert evaluate_constant(parse("2**3**2")) == 512.0


def test_unary_minus_binds_looser_than_power():
    expr = parse("-x**2")
    assert expr.nodes[-1].op == "neg"
    assert value("-x**2", x=3.0) == -9.0


def _canonical_python(node: ast.AST) -> str:
    """Fully parenthesized form of a Python expression AST (unary minus of a literal folded, unary plus dropped)."""
    if isinstance(node, ast.Expression):
        return _canonical_python(node.body)
    if isinstance(node, ast.Constant):
        return repr(float(node.value))
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.UnaryOp):
        inner = _canonical_python(node.operand)
        if isinstance(node.op, ast.UAdd):
            return inner
        if _is_literal(inner):
            return repr(-float(inner))
        return f"neg({inner})"
    if isinstance(node, ast.BinOp):
        op = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}[type(node.op)]
        return f"{op}({_canonical_python(node.left)}, {_canonical_python(node.right)})"
    if isinstance(node, ast.Call):
        return f"{node.func.id}({', '.join(_canonical_python(a) for a in node.args)})"
    raise AssertionError(f"unexpected node {ast.dump(node)}")


def _is_literal(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def _canonical_ours(text: str) -> str:
    expr = parse(text)
    built: list[str] = []
    for node in expr.nodes:
        if node.op == "num":
            built.append(repr(node.value))
        elif node.op in ("var", "const"):
            built.append(node.name)
        else:
            built.append(f"{node.op}({', '.join(built[a] for a in node.args)})")
    return built[-1]


_ATOMS = ["x", "y", "z", "w", "2.0", "0.5", "3.", ".25", "1.5e-1", "7"]


def _expressions(atoms=tuple(_ATOMS)):
    def extend(children):
        return st.one_of(
            st.tuples(children, st.sampled_from([" + ", "-", "*", " / ", "**"]), children).map(lambda t: "".join(t)),
            children.map(lambda c: f"({c})"),
            children.map(lambda c: f"-{c}"),
            children.map(lambda c: f"+{c}"),
            st.tuples(st.sampled_from(["sin", "exp", "tanh", "sigma"]), children).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["max", "min"]), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        )
    return st.recursive(st.sampled_from(atoms), extend, max_leaves=12)


@settings(max_examples=200)
@given(_expressions())
def test_tree_shape_matches_python_ast(text):
    """Precedence and associativity: the same tree Python builds for the same text (our own generated text)."""
    python_tree = ast.parse(text, mode="eval")
    assert _canonical_ours(text) == _canonical_python(python_tree)


_PY_FUNCTIONS = {
    "sin": math.sin, "exp": math.exp, "tanh": math.tanh, "sigma": sigma, "max": max, "min": min,
}


@settings(max_examples=200)
@given(_expressions(tuple(a for a in _ATOMS if a != "7")))  # float literals only: Python's int ** int could run forever
def test_value_matches_python_evaluation(text):
    namespace = dict(_PY_FUNCTIONS, **PY_NAMESPACE)
    try:
        expected = eval(compile(text, "<generated>", "eval"), {"__builtins__": {}}, namespace)
    except (ZeroDivisionError, OverflowError, ValueError, TypeError):  # TypeError: complex into math.*
        assume(False)
    assume(isinstance(expected, float) and math.isfinite(expected) and abs(expected) < 1e100)
    used = {k: v for k, v in PY_NAMESPACE.items() if k in parse(text).variables}
    got = value(text, **used)
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


# --- errors: message, column, caret -----------------------------------------------------------------

def _caret_column(rendered: str) -> int:
    """Index (into the quoted text) of the caret in `render()` output: the line after the text."""
    lines = rendered.split("\n")
    assert len(lines) == 3, rendered
    assert lines[2].strip() == "^", rendered
    return lines[2].index("^") - 2


@pytest.mark.parametrize("text,fragments,offset", [
    ("sigm(x)", ["unknown function 'sigm'", "did you mean 'sigma'"], 0),
    ("2*tanhh(x)", ["unknown function 'tanhh'", "did you mean 'tanh'"], 2),
    ("foo(x)", ["unknown function 'foo'"], 0),
    ("sigma(x, y)", ["sigma() takes 1 argument"], 7),
    ("x + max(x)", ["max() takes 2 arguments", "got 1"], 4),
    ("max(x, y, z)", ["max() takes 2 arguments"], 8),
    ("exp()", ["exp() takes 1 argument", "got 0"], 0),
    ("(x+1", ["unclosed '('"], 0),
    ("x*(y+(1", ["unclosed '('"], 5),
    ("x+1)", ["unmatched ')'"], 3),
    ("x+*2", ["unexpected '*'"], 2),
    ("2x", ["missing operator before 'x'"], 1),
    ("3 4", ["missing operator before '4'"], 2),
    ("x^2", ["'^'", "use '**' for powers"], 1),
    ("", ["empty expression"], 0),
    ("   ", ["empty expression"], 0),
    ("x +", ["expression ends too early"], 3),
    ("x, y", ["',' outside a function call"], 1),
    ("tanh x", ["'tanh' is a function"], 0),
    ("()", ["unexpected ')'"], 1),
    ("x $ y", ["unexpected character '$'"], 2),
])
def test_error_message_and_column(text, fragments, offset):
    with pytest.raises(ParseError) as info:
        parse(text)
    error = info.value
    for fragment in fragments:
        assert fragment in error.message
    assert error.position is not None
    assert error.position.offset == offset
    assert error.position.column == offset + 1
    rendered = error.render()
    assert rendered.startswith(f"column {offset + 1}: ")
    assert rendered.split("\n")[1] == "  " + text
    assert _caret_column(rendered) == offset


@pytest.mark.parametrize("text", ["", " ", "\n\t \r\n"])
def test_whitespace_only_input_is_an_empty_expression(text):
    with pytest.raises(ParseError) as info:
        parse(text)
    assert info.value.message == "empty expression" and info.value.position.offset == 0


def test_trailing_comma_in_call_does_not_claim_zero_arguments():
    """`max(x,)` has one argument followed by a missing one; 'got 0' would be a false statement."""
    with pytest.raises(ParseError) as info:
        parse("max(x,)")
    assert "got 0" not in info.value.message
    # the problem is the ')' where the second argument should be, or the call as a whole
    assert info.value.position.offset in (0, 6)


def test_caret_is_windowed_for_long_input():
    text = "x + " * 500 + "2y"
    with pytest.raises(ParseError) as info:
        parse(text)
    offset = len(text) - 1
    assert info.value.position.offset == offset
    lines = info.value.render().split("\n")
    assert len(lines) == 3
    assert len(lines[1]) < 200  # one readable line, not 2,000 characters
    caret = lines[2].index("^")
    assert lines[1][caret] == "y"


def test_errors_are_gradcheck_errors_not_python_errors():
    for text in ["(((", ")))", "**", "x**", ",", "max(", "sigma(x", "1e999", "x..y"]:
        with pytest.raises(GradcheckError):
            parse(text)


def test_too_large_number_is_a_parse_error_with_its_column():
    with pytest.raises(ParseError) as info:
        parse("x + 1e999")
    assert info.value.position.offset == 4
    assert "too large" in info.value.message


# --- no recursion limit -----------------------------------------------------------------------------

def test_ten_thousand_nested_parentheses():
    n = 10_000
    text = "(" * n + "x" + ")" * n
    assert value(text, x=2.5) == 2.5
    assert gradients(text, x=2.5) == {"x": 1.0}
    text = "(" * n + "x*2" + ")" * n + "+1"
    assert value(text, x=2.5) == 6.0


def test_ten_thousand_step_unrolled_rnn():
    """tanh(w*tanh(w*...tanh(w*x)...)) with 10,000 steps, checked against a hand-written staged loop."""
    steps, w, x = 10_000, 1.0, 0.5
    text = "tanh(w*" * steps + "x" + ")" * steps
    # forward: h_0 = x, h_k = tanh(w*h_{k-1}); backward with += into dw, then dx
    hs = [x]
    for _ in range(steps):
        hs.append(math.tanh(w * hs[-1]))
    dh, dw = 1.0, 0.0
    for k in range(steps, 0, -1):
        local = 1 - hs[k] ** 2
        dw += dh * local * hs[k - 1]
        dh = dh * local * w
    assert value(text, w=w, x=x) == pytest.approx(hs[-1], rel=1e-12, abs=0)
    got = gradients(text, w=w, x=x)
    assert got["w"] == pytest.approx(dw, rel=1e-10, abs=0)
    assert got["x"] == pytest.approx(dh, rel=1e-10, abs=0)


def test_ten_thousand_nested_unary_minus_and_calls():
    n = 10_000
    assert value("-" * n + "x", x=3.0) == 3.0  # even count
    assert value("-" * (n + 1) + "x", x=3.0) == -3.0
    assert value("abs(" * n + "x" + ")" * n, x=-3.0) == 3.0


def test_hundred_thousand_term_sum():
    n = 100_000
    terms = ["x", "y", "1", "x"]  # rotating: a*x + b*y + c
    text = "+".join(terms[k % 4] for k in range(n))
    a = sum(1 for k in range(n) if terms[k % 4] == "x")
    b = sum(1 for k in range(n) if terms[k % 4] == "y")
    c = n - a - b
    assert value(text, x=0.5, y=-2.0) == a * 0.5 - 2.0 * b + c
    assert gradients(text, x=0.5, y=-2.0) == {"x": float(a), "y": float(b)}


def test_ten_thousand_term_left_associative_difference():
    n = 10_000
    text = "x" + "-1" * n  # ((x-1)-1)-...: a right-associative parse would alternate signs
    assert value(text, x=0.0) == -n


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["{!r}", "{:.3e}", "{:.17g}", " {!r} ", "+{!r}"]))
def test_plain_numbers_take_the_fast_path_to_the_same_value(value, template):
    text = template.format(value)
    try:
        slow = evaluate_constant(parse(text))  # the parser and a numpy forward pass
    except ParseError:  # rounded up past the largest float (1.798e+308): the same error either way
        with pytest.raises(ParseError, match="too large for a float"):
            parse_constant(text)
        return
    assert math.copysign(1, parse_constant(text)) == math.copysign(1, slow) and parse_constant(text) == slow
