"""The oracle's hand-written mpmath rules (oracle/rules.py) against SymPy, and its one-precision error bounds
against 500 digits.

The chain method no longer asks SymPy for each local derivative at run time; these tests are what ties
each rule to `sympy.diff` of the operation's definition (oracle/sympy_ops.py), so the exact column stays
independent of ops/ and of the rules it checks. The bounds are what let one precision stand: wherever the
chain says its 50-digit floats are proved, they must equal the 500-digit ones, and every node's value and
adjoint must lie within its bound.
"""

from __future__ import annotations

import random

import mpmath
import numpy as np
import pytest
import sympy
from mpmath.libmp import dps_to_prec

from gradcheck_cli.lang.expr import parse
from gradcheck_cli.oracle import chain, exact
from gradcheck_cli.oracle.lower import lower
from gradcheck_cli.oracle.rules import RULES, ZERO_BASE, NotReal, constant_power
from gradcheck_cli.oracle.sympy_ops import ARITY, JUMPS, PIECEWISE, SYMPY_OPS, evaluate, sigma

DIGITS = 60
SMOOTH_POINTS = [-37.5, -3.0, -1.25, -0.5, -1e-7, 1e-7, 0.3, 0.7, 1.0, 2.5, 15.0, 40.0]


def _sympy_rule(op: str):
    """The operation's value and partials as SymPy states them (sigma differentiated through its definition)."""
    arguments = tuple(sympy.Symbol(f"t{k}", real=True) for k in range(ARITY.get(op, 1)))
    value = SYMPY_OPS[op](*arguments)
    definition = sigma.definition(arguments[0]) if op == "sigma" else value
    return arguments, value, tuple(sympy.diff(definition, t) for t in arguments)


def _ours(rule, args):
    if rule.paired:
        value, aux = rule.value(*args)
    else:
        value, aux = rule.value(*args), None
    return value, [partial(tuple(args), value, aux) for partial in rule.partials]


def _theirs(arguments, value, partials, args):
    """SymPy's formulas at 200 more digits (its 1 - tanh(t)**2 loses 32 of them at t = -37.5; ours does not)."""
    env = dict(zip(arguments, args))
    with mpmath.workdps(DIGITS + 200):
        return evaluate(value, env), [evaluate(p, env) for p in partials]


def _points(op: str):
    rng = random.Random(op)
    if ARITY.get(op, 1) == 1:
        return [(x,) for x in SMOOTH_POINTS] + [(rng.uniform(-4, 4),) for _ in range(20)]
    return [(rng.uniform(-4, 4), rng.uniform(-4, 4)) for _ in range(30)] + [(2.5, -1.5), (-3.0, 0.5), (1e-7, 3.0)]


def _close(a, b) -> bool:
    return abs(a - b) <= mpmath.mpf(10) ** (5 - DIGITS) * max(abs(a), abs(b), mpmath.mpf(10) ** -300)


@pytest.mark.parametrize("op", sorted(SYMPY_OPS))
def test_each_rule_is_sympys_derivative_of_the_definition(op):
    rule = RULES[op]
    arguments, value, partials = _sympy_rule(op)
    compared = 0
    with mpmath.workdps(DIGITS):
        for point in _points(op):
            args = [mpmath.mpf(x) for x in point]
            if op == "pow" and args[0] <= 0:
                args[0] = -args[0] + mpmath.mpf("0.25")  # a**b of a real b: a positive base
            if op in ("log", "sqrt") and args[0] <= 0:
                args[0] = -args[0]
            try:
                want_value, want_partials = _theirs(arguments, value, partials, args)
            except NotReal:
                continue  # a Heaviside's DiracDelta on its tie: not a value on either side
            got_value, got_partials = _ours(rule, args)
            assert _close(got_value, want_value), (op, point)
            for got, want in zip(got_partials, want_partials):
                assert _close(got, want), (op, point, got, want)
            compared += 1
    assert compared >= 20


def _sympy_seconds(op: str):
    """The operation's second partials d²/dtᵢdtⱼ, i <= j, as SymPy differentiates its definition twice."""
    arguments, value, _ = _sympy_rule(op)
    definition = sigma.definition(arguments[0]) if op == "sigma" else value
    return arguments, tuple(sympy.diff(definition, arguments[i], arguments[j])
                            for i in range(len(arguments)) for j in range(i, len(arguments)))


@pytest.mark.parametrize("op", sorted(SYMPY_OPS))
def test_each_second_partial_is_sympys_second_derivative(op):
    """The second partials (what the exact Hessian is chained from), off kinks: 0 for piecewise operations, whose
    DiracDelta is no number on the kink (asserted there too)."""
    rule = RULES[op]
    arguments, seconds = _sympy_seconds(op)
    assert len(rule.seconds) == len(seconds)
    compared = 0
    with mpmath.workdps(DIGITS):
        for point in _points(op):
            args = [mpmath.mpf(x) for x in point]
            if op == "pow" and args[0] <= 0:
                args[0] = -args[0] + mpmath.mpf("0.25")
            if op in ("log", "sqrt") and args[0] <= 0:
                args[0] = -args[0]
            env = dict(zip(arguments, args))
            with mpmath.workdps(DIGITS + 200):
                wanted = [evaluate(s, env) for s in seconds]
            value, aux = rule.value(*args) if rule.paired else (rule.value(*args), None)
            for got, want in zip((second(tuple(args), value, aux) for second in rule.seconds), wanted):
                assert _close(got, want), (op, point, got, want)
            compared += 1
        if op in PIECEWISE:  # on the kink: no number
            tie = [mpmath.mpf(0)] * len(arguments)
            value = rule.value(*tie)
            with pytest.raises(NotReal):
                rule.seconds[0](tuple(tie), value, None)
    assert compared >= 20


def test_the_kink_and_jump_tables_match_sympys():
    assert {op for op, rule in RULES.items() if rule.decider} == PIECEWISE
    assert {op for op, rule in RULES.items() if rule.jumps} == JUMPS


@pytest.mark.parametrize("exponent", [2.0, 3.0, -1.0, 0.5, 0.3, -2.5, 0.0, 1.0])
def test_constant_powers_are_sympys_derivative(exponent):
    t = sympy.Symbol("t0", real=True)
    from gradcheck_cli.oracle.sympy_ops import number

    value = t ** number(exponent)
    partial = sympy.diff(value, t)
    rule = constant_power(exponent)
    with mpmath.workdps(DIGITS):
        for x in (0.25, 0.7, 1.5, 3.0, 40.0):
            a, c = mpmath.mpf(x), mpmath.mpf(number(exponent).p) / number(exponent).q
            got_value, (got_partial, _) = _ours(rule, [a, c])
            assert _close(got_value, evaluate(value, {t: a}))
            assert _close(got_partial, evaluate(partial, {t: a}))
        zero = mpmath.mpf(0)
        if exponent >= 1:  # a**2 at 0: 2*a = 0 (SymPy's a**2*2/a would be undefined)
            assert rule.partials[0]((zero, c), rule.value(zero, c), None) == (1 if exponent == 1 else 0)
        elif exponent != 0:
            with pytest.raises(NotReal):
                rule.partials[0]((zero, c), rule.value(zero, c), None) if exponent > 0 else rule.value(zero, c)


@pytest.mark.parametrize("exponent", [2.0, 3.0, -1.0, 0.5, 0.3, -2.5, 0.0, 1.0])
def test_constant_powers_second_partial_is_sympys(exponent):
    t = sympy.Symbol("t0", real=True)
    from gradcheck_cli.oracle.sympy_ops import number

    second = sympy.diff(t ** number(exponent), t, t)
    rule = constant_power(exponent)
    with mpmath.workdps(DIGITS):
        c = mpmath.mpf(number(exponent).p) / number(exponent).q
        for x in (0.25, 0.7, 1.5, 3.0, 40.0):
            a = mpmath.mpf(x)
            assert _close(rule.seconds[0]((a, c), rule.value(a, c), None), evaluate(second, {t: a}))
        zero = mpmath.mpf(0)
        if exponent in (2.0, 3.0, 0.0, 1.0):  # a**2 at 0: 2; a**3: 0; straight lines: 0
            assert rule.seconds[0]((zero, c), rule.value(zero, c), None) == {2.0: 2, 3.0: 0, 0.0: 0, 1.0: 0}[exponent]
        elif exponent > 0:
            with pytest.raises(NotReal):
                rule.seconds[0]((zero, c), rule.value(zero, c), None)


def test_zero_base_is_zero_with_derivative_zero():
    with mpmath.workdps(DIGITS):
        zero, b = mpmath.mpf(0), mpmath.mpf("1.5")
        assert ZERO_BASE.value(zero, b) == 0
        assert [p((zero, b), zero, None) for p in ZERO_BASE.partials] == [0, 0]
        with pytest.raises(NotReal):
            ZERO_BASE.value(zero, -b)


# --- the scalar lowering without object arrays ----------------------------------------------------------

def _random_text(rng: random.Random, depth: int) -> str:
    if depth == 0 or rng.random() < 0.2:
        return rng.choice(["x", "y", "z", "0.1", "2", "pi", "e"])
    if rng.random() < 0.4:
        f = rng.choice(["sin", "cos", "tanh", "sigma", "exp", "relu", "abs", "sign", "-", "log", "sqrt", "log(1 + {}**2)",
                        "sqrt(1 + {}**2)"])
        inner = _random_text(rng, depth - 1)
        return f.format(f"({inner})") if "{" in f else f"{f}({inner})"
    a, b = _random_text(rng, depth - 1), _random_text(rng, depth - 1)
    form = rng.choice(["({} + {})", "({} - {})", "({} * {})", "({} / {})", "({}) ** ({})", "max({}, {})", "min({}, {})",
                       "({} > {})", "({} <= {})", "({}) ** 2"])
    return form.format(a, b)


def test_the_scalar_lowering_makes_the_nodes_numpys_lowering_makes():
    from gradcheck_cli.oracle import lower as lowering

    rng = random.Random(5)
    shapes = {"x": (), "y": (), "z": ()}
    for _ in range(200):
        expr = parse(_random_text(rng, 4))
        fast = lower([(None, expr)], shapes)[0]
        general = lowering.Dag([], [], [], 1 << 62)
        for name in shapes:
            general.add("input", (), (name, 0, 0.0))
        leaves = {name: lowering.lift(general, lowering.Scalar(general, k)) for k, name in enumerate(shapes)}
        lowering.lower_into(general, expr, leaves, {})
        assert (fast.ops, fast.args, fast.payload) == (general.ops, general.args, general.payload), expr.text


# --- the bounds: what one precision proves -----------------------------------------------------------

HARD = ["log(1 + x) - x", "tanh(x * 15)", "sigma(x * 40) - 1", "exp(x) - 1 - x", "sin(x * 1e8)", "(1 + x * 1e-9) ** 3 - 1",
        "x - x", "sin(x - x) * y", "(x + y) - (y + x)", "cos(x) ** 2 + sin(x) ** 2 - 1", "sqrt(1 + x * x) - 1",
        "(y - (y - x * 1e-12)) * 1e12", "tan(x * 1.5707963)", "x ** y - 1", "relu(x - x) * y", "max(x, x * 1.0)",
        "exp(-x * x * 400)", "1 / (x - y * 0.999999999)"]


def _cases(count: int):
    rng = random.Random(11)
    texts = list(HARD) + [_random_text(rng, 4) for _ in range(count)]
    for text in texts:
        point = {v: rng.choice([rng.uniform(-3, 3), rng.uniform(0.1, 2), 1e-8, 0.5]) for v in "xyz"}
        yield text, point


def test_what_one_precision_proves_matches_500_digits():
    """Where the bound says the 50-digit floats are proved, they are the 500-digit floats; every node's value and
    every adjoint lies within its bound; and most cases are proved at once (else the bound would be useless)."""
    proved = compared = 0
    for text, point in _cases(400):
        expr = parse(text)
        wrt = tuple(v for v in "xyz" if v in expr.variables)
        if not wrt:
            continue
        lowered = exact._lower(expr, {v: () for v in wrt}, {}, {})
        at = {v: np.asarray(point[v]) for v in wrt}
        low_prec, high_prec = dps_to_prec(50), dps_to_prec(500)
        try:
            low, certain = exact._chain_at(lowered, at, wrt, exact.Deadline(0), low_prec)
            fwd = chain.forward(lowered.dag, frozenset(wrt), at, prec=low_prec)
            output = lowered.output.item().index
            adjoint, undecided, adjoint_errors = chain.adjoints(lowered.dag, fwd, output)
            high, _ = exact._chain_at(lowered, at, wrt, exact.Deadline(0), high_prec)
            fwd_high = chain.forward(lowered.dag, frozenset(wrt), at, prec=high_prec)
            adjoint_high, _, _ = chain.adjoints(lowered.dag, fwd_high, output)
        except (NotReal, ZeroDivisionError):
            continue
        compared += 1
        with mpmath.workdps(600):  # the differences exactly enough: raw tuples as mpf objects
            if fwd.errors is not None:
                for low_value, high_value, bound in zip(fwd.values, fwd_high.values, fwd.errors):
                    assert abs(chain.as_mpf(low_value) - chain.as_mpf(high_value)) <= bound, (text, point)
            if adjoint_errors is not None:  # relative bounds: adjoints span any range
                for k, (low_value, high_value, bound) in enumerate(zip(adjoint, adjoint_high, adjoint_errors)):
                    if not undecided[k] and bound < float("inf"):  # inf: a 0 that may not be 0 (never proved)
                        low_mpf = chain.as_mpf(low_value)
                        assert abs(low_mpf - chain.as_mpf(high_value)) <= bound * abs(low_mpf), (text, point, k)
        if certain:
            proved += 1
            for v in wrt:
                np.testing.assert_array_equal(low.values[v], high.values[v], err_msg=f"{text} at {point}")
            np.testing.assert_array_equal(low.value, high.value)
    assert compared > 250, compared
    assert proved > 0.8 * compared, (proved, compared)


def test_the_chain_method_runs_without_sympy():
    """`check`'s exact column (the chain, no formula) and a tensor case never import SymPy; a small scalar case
    asking for its formula does."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import numpy as np\n"
        "from gradcheck_cli.lang.expr import parse\n"
        "from gradcheck_cli.oracle.exact import exact_case\n"
        "p = {'x': np.array(0.5), 'y': np.array(2.0)}\n"
        "r = exact_case(parse('sigma(x)*relu(y) + x**0.3'), [p], ('x', 'y'), formula=False)[0]\n"
        "t = exact_case(parse('sum(tanh(W @ v))'), [{'W': np.ones((2, 2)), 'v': np.array([0.5, -1.0])}], ('W',))[0]\n"
        "assert r.method == t.method == 'chain' and float(r.values['y']) > 0\n"
        "print('sympy' in sys.modules)\n"
        "f = exact_case(parse('sigma(x)*y'), [p], ('x', 'y'))[0]\n"
        "print('sympy' in sys.modules, f.method)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "True", "sympy"]
