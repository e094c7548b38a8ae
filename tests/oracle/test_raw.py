"""raw.py against rules.py: every op's value and partials on raw mpf tuples are bit for bit what rules.py's mpmath
formulas give at the same precision (or raise the same error), on random inputs (both signs, 0, ties, magnitudes
from 1e-600 to 1e600, mantissas of full precision), and the chain's helpers (literals, constants, power, float
conversion) are mpmath's. rules.py's formulas are themselves tested against SymPy (test_oracle_rules.py)."""

from __future__ import annotations

import math

import mpmath
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mpmath.libmp import dps_to_prec, finf, fnan, fninf, from_float, from_man_exp, fzero, mpf_abs, mpf_add, mpf_mul, mpf_sub

from gradcheck_cli.oracle import chain, raw
from gradcheck_cli.oracle.rules import RULES, ZERO_BASE, NotReal, constant_power, literal

PRECISIONS = [53, dps_to_prec(50), dps_to_prec(100), dps_to_prec(800)]
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

floats = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([0.0, 1.0, -1.0, 0.5, -0.5, 2.0, 1e-300, -1e300])
wide = st.builds(lambda sign, man, exp: from_man_exp(-man if sign else man, exp),  # mantissas past 53 bits, any size
                 st.booleans(), st.integers(1, 2 ** 300), st.integers(-2300, 2000))
EDGES = [0.5493061443340548, 0.5493061443340549, -0.5493061443340548, 0.54, 0.55, 1e-20, 40.0, -40.0, 710.0, 1.5707963267948966]
moderate = st.floats(-4, 4) | st.sampled_from(EDGES)  # where the formulas switch: tanh's 1 - y*y below |tanh| = 1/2
values = st.one_of(floats.map(from_float), moderate.map(from_float), wide, st.integers(-3, 3).map(lambda n: from_float(float(n))))
precisions = st.sampled_from(PRECISIONS)


def _mpf(x: tuple) -> mpmath.mpf:
    return mpmath.mp.make_mpf(x)


def _outcome(call):
    """The raw result (tuples), or the error's type and message."""
    try:
        result = call()
    except (NotReal, ZeroDivisionError, ValueError, OverflowError) as error:
        return type(error), str(error)
    if isinstance(result, tuple) and len(result) == 2:  # a paired rule's (value, aux); a raw value has 4 fields
        return tuple(r._mpf_ if isinstance(r, mpmath.mpf) else r for r in result)
    return result._mpf_ if isinstance(result, mpmath.mpf) else result


def _cheap(op: str, prec: int, args: tuple) -> bool:
    """Skip what would be slow in mpmath itself (exp of 2**2000, 800-digit trigonometry of 1e600): not our code."""
    big = max(x[2] + x[3] for x in args if x[1]) if any(x[1] for x in args) else 0
    return not (op in ("exp", "sigma", "sin", "cos", "tan", "tanh", "pow") and big > 40)


def _check(raw_rule: raw.RawRule, rule, prec: int, args: tuple) -> None:
    mpf_args = tuple(_mpf(a) for a in args)
    with mpmath.workprec(prec):
        expected = _outcome(lambda: rule.value(*mpf_args))
    got = _outcome(lambda: raw_rule.value(*args, prec, "n"))
    assert got == expected
    if isinstance(expected, tuple) and expected and isinstance(expected[0], type):
        return  # the value is undefined: no partials
    y, aux = (expected if rule.paired else (expected, None))
    for k, (raw_partial, partial) in enumerate(zip(raw_rule.partials, rule.partials)):
        with mpmath.workprec(prec):
            want = _outcome(lambda: partial(mpf_args, _mpf(y), None if aux is None else _mpf(aux)))
        assert _outcome(lambda: raw_partial(prec, args, y, aux)) == want, (k, want)


@pytest.mark.parametrize("op", sorted(raw.RAW))
@SETTINGS
@given(data=st.data(), prec=precisions)
def test_each_op_is_rules_py_bit_for_bit(op, data, prec):
    arity = len(RULES[op].partials)
    args = tuple(data.draw(values) for _ in range(arity))
    if arity == 2 and data.draw(st.booleans()):
        args = (args[0], args[0])  # ties: the kinks of max, min, the comparisons
    assume(_cheap(op, prec, args))
    _check(raw.RAW[op], RULES[op], prec, args)


@SETTINGS
@given(exponent=st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, -2.0, 0.5, -0.5, 0.3, 2.5, 1e-3, 7.0]), base=values, prec=precisions)
def test_constant_power_and_zero_base_are_rules_py_bit_for_bit(exponent, base, prec):
    assume(_cheap("pow", prec, (base,)))
    c = raw.literal(exponent, prec)
    _check(raw.raw_constant_power(exponent), constant_power(exponent), prec, (base, c))
    _check(raw.RAW_ZERO_BASE, ZERO_BASE, prec, (fzero, base))


@SETTINGS
@given(value=st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300) | st.sampled_from([0.1, 1e-7, 2.5, -0.3]),
       prec=precisions)
def test_literals_and_constants_are_mpmaths(value, prec):
    with mpmath.workprec(prec):
        assert raw.literal(value, prec) == literal(value)._mpf_
        assert raw.constant("pi", prec) == chain.as_mpf(raw.constant("pi", prec))._mpf_ == (+mpmath.pi)._mpf_
        assert raw.constant("e", prec) == (mpmath.e + 0)._mpf_


@SETTINGS
@given(x=values | st.sampled_from([fzero, finf, fninf, fnan]))
def test_as_float_is_mpmaths_float(x):
    expected = float(_mpf(x))
    got = raw.as_float(x)
    assert got == expected or (math.isnan(got) and math.isnan(expected))
    assert math.copysign(1.0, got) == math.copysign(1.0, expected) or math.isnan(expected)


def test_as_float_rounds_halfway_cases_to_even_and_handles_the_edges():
    """Ties at the 54th bit, subnormal results (rounded once by ldexp, as mpmath does), overflow to inf."""
    for man, exp in [(2 ** 53 + 1, 0), (2 ** 53 + 3, 0), (2 ** 54 + 2, -1), ((2 ** 53 + 1) << 100, -1180),
                     (3, -1076), (1, -1075), (1, -1074), (2 ** 60 - 1, 970), (2 ** 1100 + 1, -100), (1, 1024), (5, -2000)]:
        for sign in (1, -1):
            x = from_man_exp(sign * man, exp)
            assert raw.as_float(x) == float(_mpf(x)), (man, exp)


def test_specials_follow_mpmath():
    """inf and nan never reach the chain from finite inputs, but where they would, raw.py does what rules.py does."""
    for op in ("relu", "abs", "sign", "log", "sqrt", "neg", "max", "min", "gt", "le", "add", "mul"):
        arity = len(RULES[op].partials)
        for x in (finf, fninf, fnan, fzero):
            for prec in PRECISIONS[:2]:
                _check(raw.RAW[op], RULES[op], prec, (x,) * arity if arity == 1 else (x, from_float(1.5)))
    with pytest.raises(NotReal):
        raw.finite(finf)
    assert raw.finite(fzero) == fzero


@settings(max_examples=400, deadline=None)
@given(value=st.floats(allow_nan=False, allow_infinity=False))
def test_fraction_reads_the_shortest_decimal_as_fractions_does(value):
    """rules.fraction parses repr by hand (no fractions/decimal import on start-up): the same lowest terms."""
    from fractions import Fraction

    from gradcheck_cli.oracle.rules import fraction

    exact = Fraction(int(value)) if value == int(value) and abs(value) < 2 ** 53 else Fraction(repr(value))
    assert fraction(value) == (exact.numerator, exact.denominator)


# --- exact.py's certification: the quick test (_room) never says yes where the exact test says no ----------------

def _slow_certified(value, error, prec):
    margin = from_float(4 * error)
    return raw.as_float(mpf_sub(value, margin, prec, "n")) == raw.as_float(mpf_add(value, margin, prec, "n"))


def _slow_certified_relative(value, relative, prec):
    margin = mpf_mul(mpf_abs(value), from_float(4 * relative), prec, "n")
    return raw.as_float(mpf_sub(value, margin, prec, "n")) == raw.as_float(mpf_add(value, margin, prec, "n"))


@st.composite
def near_boundaries(draw):
    """Values whose bits below float's 53 sit at, next to or far from the rounding boundary, at any size."""
    prec = draw(st.sampled_from(PRECISIONS[1:3]))
    low_bits = prec - 53
    top = draw(st.sampled_from([1 << 52, (1 << 53) - 1]) | st.integers(1 << 52, (1 << 53) - 1))
    half = 1 << (low_bits - 1)
    low = draw(st.sampled_from([0, 1, 2, half - 2, half - 1, half, half + 1, half + 2, (1 << low_bits) - 1])
               | st.integers(0, (1 << low_bits) - 1))
    man = (top << low_bits) | low
    size = draw(st.integers(-1100, 1100) | st.sampled_from([-831 + 0, -830, 999, 1000]))
    value = from_man_exp(-man if draw(st.booleans()) else man, size - prec)
    short = draw(st.integers(0, prec - 1))  # fewer bits: the same number rounded (exact floats included)
    if short:
        value = mpf_add(value, fzero, prec - short, "n")
    return value, prec


@settings(max_examples=600, deadline=None)
@given(case=near_boundaries(), bits=st.integers(40, 200), fraction=st.floats(0.5, 1.0), relative=st.booleans())
def test_quick_certification_agrees_with_the_exact_test(case, bits, fraction, relative):
    """Margins from 2**-40 down to below the working precision's last bit: around every distance a value can have
    from a rounding boundary (a few units of its last bit, next to a tie, up to half a float ulp)."""
    from gradcheck_cli.oracle.exact import _certified, _certified_relative

    value, prec = case
    scale = math.ldexp(fraction, -bits) if bits < 200 else 0.0
    if relative:
        assert _certified_relative(value, scale, prec) == _slow_certified_relative(value, scale, prec)
    else:
        error = abs(raw.as_float(value)) * scale
        assert _certified(value, error, prec) == _slow_certified(value, error, prec)
