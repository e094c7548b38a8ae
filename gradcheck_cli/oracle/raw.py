"""rules.py's values and first partials on mpmath's raw mpf tuples (sign, mantissa, exponent, bitcount), at a
precision passed in: what the chain's hot loops run, without an mpf object per operation or the precision context.

Each function makes the libmp calls (mpf_add, mpf_exp, mpf_rdiv_int, ...) that mpmath's operators make for the
formula of the same op in rules.py, with the same precision and rounding (to nearest), so the results are
bit for bit rules.py's: tests/oracle/test_raw.py checks every op and partial against rules.py's mpf formulas at
several precisions on random inputs (signs, 0, huge and tiny magnitudes) and on the edges. rules.py stays the
definition (each formula there is tested against SymPy, and its error bounds, deciders and second partials are
read from there); this is its fast spelling. A rule's partial here is only called off its kink (a tied
piecewise node never propagates a partial), as in chain.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

from mpmath.libmp import (ComplexResult, fhalf, fnan, fnone, fone, from_float, from_int, fzero, mpc_pow, mpf_abs, mpf_add,
                          mpf_cos_sin, mpf_div, mpf_e, mpf_exp, mpf_gt, mpf_log, mpf_lt, mpf_mul, mpf_mul_int, mpf_neg,
                          mpf_pi, mpf_pos, mpf_pow, mpf_pow_int, mpf_rdiv_int, mpf_sqrt, mpf_sub, mpf_tan, mpf_tanh,
                          to_float)

from .rules import RULES, ZERO_BASE, NotReal, Rule, constant_power, fraction, literal_error

N = "n"  # round to nearest, mpmath's default and the only rounding the oracle uses
HALF_FLOAT = from_float(0.5)


def as_float(x: tuple) -> float:
    """float(mpf(x)) without the object: the mantissa rounded to 53 bits (Python's int -> float rounds to nearest,
    ties to even, as mpmath's normalize does), then scaled; libmp's to_float past the float range."""
    sign, man, exp, bc = x
    if man and bc < 1024:
        try:
            f = math.ldexp(float(man), exp)
        except OverflowError:
            return to_float(x, False, N)
        return -f if sign else f
    return to_float(x, False, N)


def finite(x: tuple) -> tuple:
    """rules.real for an mpf result: NotReal for inf or nan (the only specials with a zero mantissa but 0)."""
    if not x[1] and x != fzero:
        raise NotReal("not finite")
    return x


def integer(n: int, prec: int) -> tuple:
    """mpmath.mpf(n) at `prec`."""
    return mpf_pos(from_int(n), prec, N)


@lru_cache(maxsize=4096)
def literal(value: float, prec: int) -> tuple:
    """rules.literal(value) at `prec`: the decimal the user typed (0.1 is 1/10), rounded once."""
    numerator, denominator = fraction(value)
    top = integer(numerator, prec)
    return top if denominator == 1 else mpf_div(top, from_int(denominator), prec, N)


@lru_cache(maxsize=4096)
def literal_with_error(value: float, prec: int) -> tuple[tuple, float]:
    """literal(value, prec) and rules.literal_error's bound on its rounding, in one cached look-up."""
    return literal(value, prec), literal_error(value, 2.0 ** -prec)


def constant(name: str, prec: int) -> tuple:
    """pi and e at `prec`, rounded to nearest: +mpmath.pi and mpmath.e + 0 in the working precision."""
    if name == "pi":
        return mpf_pi(prec, N)
    if name == "e":
        return mpf_add(mpf_e(prec, N), fzero, prec, N)
    raise KeyError(f"the oracle has no constant {name!r}")


def power(a: tuple, b: tuple, prec: int) -> tuple:
    """rules.power: a**b, 1 for 0**0, NotReal where it is not a finite real number."""
    if a == fzero and b[0]:  # b < 0
        raise NotReal("division by zero")
    if a == fzero and b == fzero:
        return fone
    try:
        return finite(mpf_pow(a, b, prec, N))
    except ComplexResult:
        re, im = mpc_pow((a, fzero), (b, fzero), prec, N)
        if im != fzero:
            raise NotReal("not a real number") from None
        return finite(re)


def _heaviside(t: tuple) -> tuple:  # rules._heaviside
    return fone if mpf_gt(t, fzero) else fzero if mpf_lt(t, fzero) else fhalf


def _dirac(t: tuple) -> tuple:  # rules._dirac
    if t != fzero:
        return fzero
    raise NotReal("not differentiable on the kink")


RawValue = Callable[..., tuple]  # (*args, prec, rounding) -> value, or (value, aux) for a paired rule: libmp's own signature
RawPartial = Callable[[int, tuple, tuple, object], tuple]  # (prec, args, value, aux) -> partial


@dataclass(frozen=True, slots=True)
class RawRule:
    """An op's rule (rules.py: bounds, decider, second partials) with its value and partials on raw tuples.
    `signs`: the partials where each is a constant +-1 (add, sub, neg): the chain multiplies by nothing."""

    rule: Rule
    value: RawValue
    partials: tuple[RawPartial, ...]
    signs: tuple[int, ...] | None = None


def _one(prec, args, y, aux):
    return fone


def _minus_one(prec, args, y, aux):
    return fnone


def _zero(prec, args, y, aux):
    return fzero


# values (add, sub, mul, neg, exp, tanh and cos are libmp's functions themselves) --------------------------------

def _div(a, b, prec, rnd):
    if b == fzero:
        raise NotReal("division by zero")
    return mpf_div(a, b, prec, N)


def _pow(a, b, prec, rnd):
    return power(a, b, prec)


def _zero_base(a, b, prec, rnd):
    return power(fzero, b, prec)


def _sigma(a, prec, rnd):  # 1/(1 + exp(-a)), and exp(-a) for the partial
    e = mpf_exp(mpf_neg(a, prec, N), prec, N)
    return mpf_rdiv_int(1, mpf_add(e, fone, prec, N), prec, N), e


def _log(a, prec, rnd):
    if a[0] or a == fzero:
        raise NotReal("log of a non-positive number")
    return mpf_log(a, prec, N)


def _sqrt(a, prec, rnd):
    if a[0]:
        raise NotReal("not a real number")
    return mpf_sqrt(a, prec, N)


def _sin(a, prec, rnd):
    c, s = mpf_cos_sin(a, prec, N)
    return s, c


def _tan(a, prec, rnd):
    return finite(mpf_tan(a, prec, N))


def _relu(a, prec, rnd):
    return a if mpf_gt(a, fzero) else fzero


def _abs(a, prec, rnd):
    return mpf_abs(a, prec, N)


def _sign(a, prec=0, rnd=N):  # mpmath.sign: 0 and nan are their own sign
    if a == fzero or a == fnan:
        return a
    return fone if mpf_gt(a, fzero) else fnone


def _max(a, b, prec, rnd):
    return b if mpf_gt(b, a) else a  # Python's max keeps the first of equals


def _min(a, b, prec, rnd):
    return b if mpf_lt(b, a) else a


def _comparison(strict: bool, reverse: bool) -> RawValue:
    tie = fzero if strict else fone

    def value(a, b, prec, rnd):
        d = mpf_sub(b, a, prec, N) if reverse else mpf_sub(a, b, prec, N)
        return fone if mpf_gt(d, fzero) else fzero if mpf_lt(d, fzero) else tie
    return value


# partials ----------------------------------------------------------------------------------------------------

def _second_arg(prec, args, y, aux):
    return args[1]


def _first_arg(prec, args, y, aux):
    return args[0]


def _div_a(prec, args, y, aux):  # 1/b
    return mpf_rdiv_int(1, args[1], prec, N)


def _div_b(prec, args, y, aux):  # -a/b**2
    return mpf_div(mpf_neg(args[0], prec, N), mpf_pow_int(args[1], 2, prec, N), prec, N)


def _pow_base(prec, args, y, aux):  # y*b/a
    a, b = args
    if a == fzero:
        raise NotReal("division by zero")
    return mpf_div(mpf_mul(y, b, prec, N), a, prec, N)


def _pow_exponent(prec, args, y, aux):  # y*log(a)
    return mpf_mul(y, _log(args[0], prec, N), prec, N)


def _value_itself(prec, args, y, aux):  # exp
    return y


def _aux(prec, args, y, aux):  # sin's cos
    return aux


def _minus_aux(prec, args, y, aux):  # cos's -sin
    return mpf_neg(aux, prec, N)


def _sigma_partial(prec, args, y, aux):  # y*y*exp(-t)
    return mpf_mul(mpf_mul(y, y, prec, N), aux, prec, N)


def _log_partial(prec, args, y, aux):  # 1/a
    return mpf_rdiv_int(1, args[0], prec, N)


def _sqrt_partial(prec, args, y, aux):  # 1/(2*y)
    if y == fzero:
        raise NotReal("division by zero")
    return mpf_rdiv_int(1, mpf_mul_int(y, 2, prec, N), prec, N)


def _tan_partial(prec, args, y, aux):  # y*y + 1
    return mpf_add(mpf_mul(y, y, prec, N), fone, prec, N)


def _tanh_partial(prec, args, y, aux):
    """1 - y*y while tanh**2 < 1/4; else 4e/(1 + e)**2 with e = exp(-2|t|) (rules._tanh_partial)."""
    if mpf_lt(mpf_abs(y, prec, N), HALF_FLOAT):
        return mpf_sub(fone, mpf_mul(y, y, prec, N), prec, N)
    e = mpf_exp(mpf_mul_int(mpf_abs(args[0], prec, N), -2, prec, N), prec, N)
    return mpf_div(mpf_mul_int(e, 4, prec, N), mpf_pow_int(mpf_add(e, fone, prec, N), 2, prec, N), prec, N)


def _relu_partial(prec, args, y, aux):
    return _heaviside(args[0])


def _abs_partial(prec, args, y, aux):
    return _sign(args[0])


def _sign_partial(prec, args, y, aux):
    return _dirac(args[0])


def _max_a(prec, args, y, aux):
    return _heaviside(mpf_sub(args[0], args[1], prec, N))


def _max_b(prec, args, y, aux):
    return _heaviside(mpf_sub(args[1], args[0], prec, N))


def _kink_partial(prec, args, y, aux):  # a comparison's partials: 0 off the tie, none on it
    return _dirac(mpf_sub(args[0], args[1], prec, N))


_TABLE: dict[str, tuple[RawValue, tuple[RawPartial, ...]]] = {
    "add": (mpf_add, (_one, _one)),
    "sub": (mpf_sub, (_one, _minus_one)),
    "mul": (mpf_mul, (_second_arg, _first_arg)),
    "div": (_div, (_div_a, _div_b)),
    "pow": (_pow, (_pow_base, _pow_exponent)),
    "neg": (mpf_neg, (_minus_one,)),
    "sigma": (_sigma, (_sigma_partial,)),
    "exp": (mpf_exp, (_value_itself,)),
    "log": (_log, (_log_partial,)),
    "sqrt": (_sqrt, (_sqrt_partial,)),
    "sin": (_sin, (_aux,)),
    "cos": (mpf_cos_sin, (_minus_aux,)),  # (cos, sin): the value and what its partial reuses
    "tan": (_tan, (_tan_partial,)),
    "tanh": (mpf_tanh, (_tanh_partial,)),
    "relu": (_relu, (_relu_partial,)),
    "abs": (_abs, (_abs_partial,)),
    "sign": (_sign, (_sign_partial,)),
    "max": (_max, (_max_a, _max_b)),
    "min": (_min, (_max_b, _max_a)),
    "gt": (_comparison(True, False), (_kink_partial, _kink_partial)),
    "lt": (_comparison(True, True), (_kink_partial, _kink_partial)),
    "ge": (_comparison(False, False), (_kink_partial, _kink_partial)),
    "le": (_comparison(False, True), (_kink_partial, _kink_partial)),
}
_SIGNS = {"add": (1, 1), "sub": (1, -1), "neg": (-1,)}
RAW: dict[str, RawRule] = {op: RawRule(RULES[op], value, partials, _SIGNS.get(op)) for op, (value, partials) in _TABLE.items()}
RAW_ZERO_BASE = RawRule(ZERO_BASE, _zero_base, (_zero, _zero))


@lru_cache(maxsize=1024)
def raw_constant_power(exponent: float) -> RawRule:
    """a**c for a literal c (rules.constant_power): d/da = c*a**(c - 1), defined at a = 0 where c >= 1."""
    numerator, denominator = fraction(exponent)

    def partial(prec, args, y, aux):
        if numerator == 0:
            return fzero
        if numerator == denominator:
            return fone
        return mpf_mul(literal(exponent, prec), power(args[0], _below(exponent, prec), prec), prec, N)

    return RawRule(constant_power(exponent), _pow, (partial, _zero))


@lru_cache(maxsize=4096)
def _below(exponent: float, prec: int) -> tuple:
    """c - 1 for a literal c at `prec`, as rules.constant_power's partial makes it: (numerator - denominator)/denominator."""
    numerator, denominator = fraction(exponent)
    below = integer(numerator - denominator, prec)
    return below if denominator == 1 else mpf_div(below, from_int(denominator), prec, N)
