"""Every gate (elementwise op of ops/scalar.py) against SymPy at 50 digits, on points Hypothesis draws from the
gate's domain; the midpoint convention at kinks; and every gate through the full pipeline (session.check_text;
`copy`, which only a program's `b = a` makes, through session.check_program_text)."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gradcheck_cli.lang.expr import BINARY_OPS, parse
from gradcheck_cli.lang.spelling import SIGNATURES
from gradcheck_cli.ops import default_registry
from gradcheck_cli.ops.scalar import SCALAR_OPS
from gradcheck_cli.session import check_program_text

REGISTRY = default_registry()
GATES = {op.name: REGISTRY[op.name] for op in SCALAR_OPS}  # was gates.GATES: the registry's elementwise ops

A, B = sympy.symbols("a b", real=True)


def _finite(lo: float, hi: float):
    # no subnormal-sized inputs: their products lose the relative precision the comparisons rely on
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False).filter(lambda v: v == 0 or abs(v) > 1e-100)


def _nonzero(lo: float, hi: float, gap: float):
    return _finite(lo, hi).filter(lambda v: abs(v) > gap)


def _distinct_pair(lo: float, hi: float):
    return st.tuples(_finite(lo, hi), _finite(lo, hi)).filter(lambda p: abs(p[0] - p[1]) > 1e-6 * max(1.0, abs(p[0])))


def _tan_point():
    # away from the poles pi/2 + k*pi: |a - k*pi| <= 1.4
    return st.tuples(_finite(-1.4, 1.4), st.integers(-3, 3)).map(lambda t: (t[0] + t[1] * math.pi,))


# name -> (SymPy reference of the gate, strategy of input tuples from its domain)
REFERENCE: dict[str, tuple] = {
    "add": (lambda a, b: a + b, st.tuples(_finite(-1e3, 1e3), _finite(-1e3, 1e3))),
    "sub": (lambda a, b: a - b, st.tuples(_finite(-1e3, 1e3), _finite(-1e3, 1e3))),
    "mul": (lambda a, b: a * b, st.tuples(_finite(-1e3, 1e3), _finite(-1e3, 1e3))),
    "div": (lambda a, b: a / b, st.tuples(_finite(-1e3, 1e3), _nonzero(-1e3, 1e3, 1e-3))),
    "pow": (lambda a, b: a ** b, st.tuples(_finite(1e-3, 30.0), _finite(-6.0, 6.0))),
    "neg": (lambda a: -a, st.tuples(_finite(-1e3, 1e3))),
    "sigma": (lambda a: 1 / (1 + sympy.exp(-a)), st.tuples(_finite(-40.0, 40.0))),
    "exp": (sympy.exp, st.tuples(_finite(-700.0, 700.0))),
    "log": (sympy.log, st.tuples(_finite(1e-8, 1e8))),
    "sqrt": (sympy.sqrt, st.tuples(_finite(1e-8, 1e8))),
    "sin": (sympy.sin, st.tuples(_finite(-100.0, 100.0))),
    "cos": (sympy.cos, st.tuples(_finite(-100.0, 100.0))),
    "tan": (sympy.tan, _tan_point()),
    "tanh": (sympy.tanh, st.tuples(_finite(-20.0, 20.0))),
    "relu": (lambda a: sympy.Max(0, a), st.tuples(_nonzero(-1e3, 1e3, 1e-9))),
    "abs": (sympy.Abs, st.tuples(_nonzero(-1e3, 1e3, 1e-9))),
    "max": (sympy.Max, _distinct_pair(-1e3, 1e3)),
    "min": (sympy.Min, _distinct_pair(-1e3, 1e3)),
    "copy": (lambda a: a, st.tuples(_finite(-1e3, 1e3))),
    "sign": (sympy.sign, st.tuples(_nonzero(-1e3, 1e3, 1e-9))),
    # comparisons are 0/1 masks: off the tie, value 1 or 0 and derivative 0 (Piecewise: SymPy differentiates each piece)
    "gt": (lambda a, b: sympy.Piecewise((1, a > b), (0, True)), _distinct_pair(-1e3, 1e3)),
    "lt": (lambda a, b: sympy.Piecewise((1, a < b), (0, True)), _distinct_pair(-1e3, 1e3)),
    "ge": (lambda a, b: sympy.Piecewise((1, a >= b), (0, True)), _distinct_pair(-1e3, 1e3)),
    "le": (lambda a, b: sympy.Piecewise((1, a <= b), (0, True)), _distinct_pair(-1e3, 1e3)),
}
ALL_GATES = sorted(GATES)
RTOL = 1e-9  # what the random-tree tests ask of whole expressions; each gate must do at least as well


def test_the_reference_table_covers_every_gate():
    assert set(REFERENCE) == set(GATES), "a gate was added or removed: give it a SymPy reference and a domain"


def test_every_grammar_operation_has_an_op_with_one_rule_per_input():
    # the parser's operations (functions, operators, unary minus, .T, subscripts, list literals) and a program's copy
    arity = {**{name: s.inputs for name, s in SIGNATURES.items() if name != "array"},
             **{op: 2 for op in BINARY_OPS.values()}, "neg": 1, "index": 1, "stack": -1, "copy": 1}
    assert set(arity) == set(REGISTRY.ops)
    for name, op in REGISTRY.ops.items():
        assert op.name == name
        rules = op.partials if op.elementwise else op.vjps
        assert (op.partials is None) != (op.vjps is None), name  # a local derivative per input, or VJPs, not both
        if arity[name] < 0:
            assert op.variadic and len(rules) == 1, name  # one VJP, told its input's position
        else:
            assert len(rules) == arity[name], name


def test_the_gates_are_exactly_the_elementwise_ops():
    assert set(GATES) == {name for name, op in REGISTRY.ops.items() if op.elementwise}


def _exact(expression: sympy.Expr, symbols, inputs) -> mpmath.mpf:
    # the float's exact binary value as a 60-digit Float (a Rational would make SymPy try exact powers)
    subs = {s: sympy.Float(v, 60) for s, v in zip(symbols, inputs)}
    result = sympy.N(expression.subs(subs), 50)
    assert result.is_real, f"{expression} at {inputs} is {result}"
    return mpmath.mpf(str(result))


def _close(got: float, want: mpmath.mpf, rtol: float = RTOL) -> bool:
    if want == 0:
        return got == 0
    return abs(mpmath.mpf(got) - want) <= rtol * abs(want)


def _local(name: str, inputs: tuple[float, ...]) -> tuple[float, list[float]]:
    gate = GATES[name]
    args = [np.array([v], dtype=np.float64) for v in inputs]
    with np.errstate(all="ignore"):
        ans = gate.forward(*args)
        partials = [float(p(ans, *args)[0]) for p in gate.partials]
    return float(ans[0]), partials


@pytest.mark.parametrize("name", ALL_GATES)
def test_gate_forward_and_local_derivatives_match_sympy(name):
    reference, domain = REFERENCE[name]
    symbols = (A, B)[:len(GATES[name].partials)]
    f = reference(*symbols)
    derivatives = [sympy.diff(f, s) for s in symbols]

    @settings(max_examples=40)
    @given(domain)
    def check(inputs):
        ans, partials = _local(name, inputs)
        want_value = _exact(f, symbols, inputs)
        assert _close(ans, want_value, 1e-13), f"{name}{inputs} = {ans}, SymPy says {want_value}"
        for k, (got, derivative) in enumerate(zip(partials, derivatives)):
            want = _exact(derivative, symbols, inputs)
            assert _close(got, want), (
                f"d{name}/d(input {k}) at {inputs}: gate gives {got!r}, SymPy {mpmath.nstr(want, 17)} "
                f"(relative error {float(abs(mpmath.mpf(got) - want) / abs(want)) if want else got:.3g})"
            )

    check()


@pytest.mark.parametrize("name", ALL_GATES)
def test_forward_supports_the_complex_step(name):
    """Forwards accept complex input (piecewise ones branch on the real part): Im f(a + ih)/h is the derivative."""
    reference, domain = REFERENCE[name]
    symbols = (A, B)[:len(GATES[name].partials)]
    derivatives = [sympy.diff(reference(*symbols), s) for s in symbols]

    @settings(max_examples=10)
    @given(domain)
    def check(inputs):
        for k in range(len(inputs)):
            args = [np.array([complex(v)]) for v in inputs]
            h = 1e-20 * max(1.0, abs(inputs[k]))
            args[k] = args[k] + 1j * h
            with np.errstate(all="ignore"):
                slope = float(GATES[name].forward(*args)[0].imag / h)
            want = _exact(derivatives[k], symbols, inputs)
            if want != 0 and abs(want) < 1e-250:
                continue  # the complex step underflows for tinier slopes
            assert _close(slope, want, 1e-9), f"{name}{inputs}: complex step {slope}, SymPy {want}"

    check()


# --- kinks: the midpoint convention ------------------------------------------------------------------

def test_relu_derivative_at_zero_is_one_half():
    assert _local("relu", (0.0,)) == (0.0, [0.5])


def test_abs_derivative_at_zero_is_zero():
    assert _local("abs", (0.0,)) == (0.0, [0.0])


@pytest.mark.parametrize("name", ["max", "min"])
@pytest.mark.parametrize("tie", [0.0, 1.5, -3.25])
def test_max_min_ties_split_one_half_each(name, tie):
    assert _local(name, (tie, tie)) == (tie, [0.5, 0.5])


@pytest.mark.parametrize("name,inputs,partials", [
    ("relu", (2.0,), [1.0]), ("relu", (-2.0,), [0.0]),
    ("abs", (2.0,), [1.0]), ("abs", (-2.0,), [-1.0]),
    ("max", (2.0, 1.0), [1.0, 0.0]), ("max", (1.0, 2.0), [0.0, 1.0]),
    ("min", (2.0, 1.0), [0.0, 1.0]), ("min", (1.0, 2.0), [1.0, 0.0]),
])
def test_piecewise_gates_off_the_kink(name, inputs, partials):
    assert _local(name, inputs)[1] == partials


def test_pow_slopes_at_zero():
    # new core (intentional): d/da a**0 at a=0 is 0 (was 0*inf), d/db 0**b at b=2 is 0 (was 0*log(0))
    assert _local("pow", (0.0, 0.0))[1][0] == 0.0
    assert _local("pow", (0.0, 2.0)) == (0.0, [0.0, 0.0])
    assert _local("pow", (-2.0, 3.0))[1][0] == 12.0  # a negative base with an integer exponent needs no log


@pytest.mark.parametrize("name", ["sign", "gt", "lt", "ge", "le"])
def test_steps_have_zero_partials_everywhere(name):
    inputs = (0.0,) if name == "sign" else (1.5, 1.5)
    for shift in (-2.0, 0.0, 3.0):
        assert _local(name, tuple(v + (shift if k == 0 else 0) for k, v in enumerate(inputs)))[1] == [0.0] * len(inputs)


@pytest.mark.parametrize("name,inputs,value", [
    ("sign", (0.0,), 0.0), ("sign", (-3.0,), -1.0), ("gt", (1.0, 1.0), 0.0), ("lt", (1.0, 1.0), 0.0),
    ("ge", (1.0, 1.0), 1.0), ("le", (1.0, 1.0), 1.0), ("gt", (2.0, 1.0), 1.0), ("lt", (2.0, 1.0), 0.0),
])
def test_step_values_at_and_off_the_tie(name, inputs, value):
    assert _local(name, inputs)[0] == value


@pytest.mark.parametrize("name", [n for n in ALL_GATES if GATES[n].branch is not None])
def test_branch_is_zero_exactly_on_the_kink(name):
    gate = GATES[name]
    unary = len(gate.partials) == 1
    on = [np.array([0.0])] if unary else [np.array([1.0]), np.array([1.0])]
    assert float(gate.branch(*on)[0]) == 0.0
    off = [np.array([1.0])] if unary else [np.array([2.0]), np.array([1.0])]
    assert float(gate.branch(*off)[0]) != 0.0


def test_only_the_piecewise_gates_have_a_branch():
    assert {n for n, g in REGISTRY.ops.items() if g.branch is not None} == {
        "relu", "abs", "sign", "max", "min", "gt", "lt", "ge", "le"}


# --- each gate through the whole pipeline -----------------------------------------------------------

TEMPLATE = {
    "add": "x + y", "sub": "x - y", "mul": "x * y", "div": "x / y", "pow": "x ** y", "neg": "-x",
    "max": "max(x, y)", "min": "min(x, y)", "gt": "x > y", "lt": "x < y", "ge": "x >= y", "le": "x <= y",
}
COPY_PROGRAM = "x = 0.5\nb = x\nf = b\n"  # `b = x` is the only way to a copy gate


def _text(name: str) -> str:
    return TEMPLATE.get(name, f"{name}(x)")


def run_gate(name: str, point: dict[str, float], check):
    if name == "copy":
        at = ", ".join(f"{k}={v!r}" for k, v in point.items())
        return check_program_text(COPY_PROGRAM, at=at)
    return check(_text(name), point)


def test_the_pipeline_templates_use_the_gate():
    from gradcheck_cli.ir import Binding, build_program

    for name in ALL_GATES:
        if name == "copy":
            graph = build_program([Binding("b", parse("x")), Binding(None, parse("b"))], REGISTRY)
            assert graph.nodes[-1].op == "copy"
        else:
            assert parse(_text(name)).nodes[-1].op == name


# the pipeline's finite-difference stencil (h ~ 6e-6*max(1,|x|)) must not reach a kink: a "kink near the point"
# is the right verdict there (tested in test_engine.py), so these points stay well away from ties
_APART = st.tuples(_finite(-1e3, 1e3), _finite(-1e3, 1e3)).filter(lambda p: abs(p[0] - p[1]) > 1e-3 * max(1.0, abs(p[0]), abs(p[1])))
PIPELINE_DOMAIN = {
    "relu": st.tuples(_nonzero(-1e3, 1e3, 1e-3)),
    "abs": st.tuples(_nonzero(-1e3, 1e3, 1e-3)),
    "sign": st.tuples(_nonzero(-1e3, 1e3, 1e-3)),
    **{name: _APART for name in ("max", "min", "gt", "lt", "ge", "le")},
}
# points every run tries (Hypothesis may or may not draw them): saturated and large arguments
PIPELINE_EXAMPLES = {
    "sigma": [(30.0,), (-40.0,)], "tanh": [(15.0,), (-20.0,)], "exp": [(700.0,)], "log": [(1e8,)],
}

@pytest.mark.parametrize("name", ALL_GATES)
def test_gate_through_the_pipeline_passes(name, check):
    domain = PIPELINE_DOMAIN.get(name, REFERENCE[name][1])

    def run(inputs):
        point = dict(zip("xy", inputs))
        case = run_gate(name, point, check)
        assert case.status == "pass", (case.status, case.message)
        for g in case.gradients:
            assert g.status == "pass"
            assert g.exact is not None
            assert g.analytic == pytest.approx(g.exact, rel=1e-9, abs=1e-300)

    for inputs in PIPELINE_EXAMPLES.get(name, []):
        run = example(inputs)(run)
    settings(max_examples=5)(given(domain)(run))()


@pytest.mark.parametrize("text,at,analytic", [
    ("relu(x)", "x=0", {"x": 0.5}),
    ("abs(x)", "x=0", {"x": 0.0}),
    ("max(x, y)", "x=2,y=2", {"x": 0.5, "y": 0.5}),
    ("min(x, y)", "x=-1,y=-1", {"x": 0.5, "y": 0.5}),
])
def test_midpoint_convention_through_the_pipeline(text, at, analytic, check):
    case = check(text, at)
    assert case.status == "kink"
    for g in case.gradients:
        assert g.analytic == analytic[g.var]
        # new core (intentional): exact is undecided on the kink (was SymPy's Heaviside(0) = 1/2 and sign(0) = 0)
        assert g.exact is None
        assert g.centered == pytest.approx(analytic[g.var], abs=1e-9)
        assert g.status == "kink" and g.left is not None and g.right is not None
        assert min(g.left, g.right) - 1e-6 <= g.analytic <= max(g.left, g.right) + 1e-6


@pytest.mark.parametrize("text,at", [("sign(x)", "x=0"), ("x > y", "x=1,y=1"), ("x <= y", "x=-2,y=-2")])
def test_steps_on_their_tie_are_kinks_with_zero_analytic(text, at, check):
    case = check(text, at)
    assert case.status == "kink", case.message
    for g in case.gradients:
        assert g.analytic == 0.0 and g.exact is None
