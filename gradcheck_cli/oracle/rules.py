"""Each scalar operation's value and local derivatives in mpmath alone, with the error bounds that let one
precision be trusted.

The derivatives are written by hand here, not taken from ops/: tests/oracle/test_oracle_rules.py checks every
one (and every second partial, `seconds`, what exact Hessians are chained from) against `sympy.diff` of the
operation's definition in sympy_ops.py at 60 digits, on random points and on
the edges (0, kinks, large arguments), so a wrong rule here is caught there, and a wrong rule in ops/ is
not mirrored here. They are written where they stay accurate: tanh' as 1/cosh**2 rather than SymPy's
1 - tanh**2, which loses 13 digits at 15.

The bounds (floats) are a running error analysis of the chain at working precision u = 2**-prec:
`forward` bounds |computed - true| of a node's value from its arguments' bounds and the operation's
slope, `partial` bounds the error of each local derivative. Each op states them for itself; an argument
whose error is not small enough for a first-order bound, a branch that the error could flip, or a
magnitude outside [1e-250, 1e250] gives `inf`: the caller then falls back to comparing two precisions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import mpmath

INF = math.inf
FUNCTION_ULPS = 16.0  # mpmath's exp, sin, ... are within an ulp or two; a compound formula a few more
SMALL = 1e-12  # an argument's relative error below which a first-order bound holds


class NotReal(Exception):
    """The value or derivative is undefined or not a finite real number at the point."""


def real(value) -> mpmath.mpf:
    if isinstance(value, mpmath.mpc):
        if value.imag != 0:
            raise NotReal("not a real number")
        value = value.real
    if not mpmath.isfinite(value):
        raise NotReal("not finite")
    return value


def power(base: mpmath.mpf, exponent: mpmath.mpf) -> mpmath.mpf:
    if base == 0 and exponent < 0:
        raise NotReal("division by zero")
    if base == 0 and exponent == 0:
        return mpmath.mpf(1)  # 0**0 = 1, as numpy and Python say
    return real(mpmath.power(base, exponent))


@lru_cache(maxsize=4096)
def fraction(value: float) -> tuple[int, int]:
    """The literal the user typed as an exact fraction in lowest terms: 0.1 means 1/10, not the nearest double.
    The shortest decimal that round-trips (repr) read by hand: fractions.Fraction(repr(value)), without importing
    fractions and decimal on the exact column's start-up."""
    if value == int(value) and abs(value) < 2**53:
        return int(value), 1
    mantissa, _, exponent = repr(value).partition("e")
    whole, _, decimals = mantissa.partition(".")
    digits, scale = int(whole + decimals), int(exponent or 0) - len(decimals)
    if scale >= 0:
        return digits * 10 ** scale, 1
    denominator = 10 ** -scale
    common = math.gcd(digits, denominator)
    return digits // common, denominator // common


def literal(value: float) -> mpmath.mpf:
    numerator, denominator = fraction(value)
    return mpmath.mpf(numerator) if denominator == 1 else mpmath.mpf(numerator) / denominator


def literal_error(value: float, u: float) -> float:
    """The rounding of a literal at working precision (0: an integer or a power-of-two fraction is exact)."""
    numerator, denominator = fraction(value)
    return 0.0 if denominator & (denominator - 1) == 0 else u * abs(value)


def in_range(x: float) -> bool:
    """|x| where float bounds work: 0, or well inside the float range (u*|x| neither underflows nor overflows)."""
    a = abs(x)
    return a == 0.0 or 1e-250 < a < 1e250


# --- the rules ---------------------------------------------------------------------------------------------

Partial = Callable[[tuple, mpmath.mpf], mpmath.mpf]


@dataclass(frozen=True, slots=True)
class Rule:
    """value(*args), or (value, aux) where `paired` (what the partial reuses: sin's cos, sigma's exp(-x));
    partials[i](args, value, aux); forward(xs, y, errors, u) -> error bound of the value;
    partial_error(i, xs, y, errors, error of y, the partial as a float, u); decider: "arg" (sign of the
    argument picks the branch), "diff" (sign of a - b), or None."""

    value: Callable[..., mpmath.mpf]
    partials: tuple[Partial, ...]
    forward: Callable[[tuple, float, tuple, float], float]
    partial_error: Callable[[int, tuple, float, tuple, float, float, float], float]
    decider: str | None = None
    jumps: bool = False
    paired: bool = False
    unit_partials: bool = False  # every partial is exactly 1, -1 or 0 (no rounding, nothing to multiply)  # the value itself jumps at the kink: nothing upstream is differentiable there
    seconds: tuple[Partial, ...] = ()  # d²value/d(arg i)d(arg j) for i <= j (aa; aa, ab, bb), as partials are called


ONE, MINUS_ONE, ZERO = mpmath.mpf(1), mpmath.mpf(-1), mpmath.mpf(0)  # exact at every precision: shared


def _one(args, y, aux):
    return ONE


def _minus_one(args, y, aux):
    return MINUS_ONE


def _zero(args, y, aux):
    return ZERO


def _exact_partials(i, xs, y, errors, error, p, u) -> float:
    return 0.0  # constant partials (+-1, 0, a branch's 1) carry no error


def _heaviside(t: mpmath.mpf) -> mpmath.mpf:
    return mpmath.mpf(1) if t > 0 else mpmath.mpf(0) if t < 0 else mpmath.mpf(1) / 2


def _dirac(t: mpmath.mpf) -> mpmath.mpf:
    if t != 0:
        return mpmath.mpf(0)
    raise NotReal("not differentiable on the kink")


def _kink_second(args, y, aux):
    """A piecewise operation's second partial: 0 off its kink, a Dirac delta (no number) on it."""
    decider = args[0] - args[1] if len(args) == 2 else args[0]
    return _dirac(decider)


# linear: add, sub, neg

def _sum_error(xs, y, errors, u) -> float:
    exact = xs[0] == 0.0 or xs[1] == 0.0 or y == 0.0  # x + 0, and a sum that cancels to 0 exactly, are not rounded
    return errors[0] + errors[1] + (0.0 if exact else u * abs(y))


def _neg_error(xs, y, errors, u) -> float:
    return errors[0]


# mul, div

def _mul_error(xs, y, errors, u) -> float:
    (a, b), (ea, eb) = xs, errors
    return abs(b) * ea + abs(a) * eb + ea * eb + u * abs(y)


def _mul_partial_error(i, xs, y, errors, error, p, u) -> float:
    return errors[1 - i]  # d(ab)/da = b, computed exactly as b


def _div_value(a, b):
    if b == 0:
        raise NotReal("division by zero")
    return a / b


def _div_error(xs, y, errors, u) -> float:
    (_, b), (ea, eb) = xs, errors
    if eb > SMALL * abs(b):
        return INF
    return (ea + abs(y) * eb) / (abs(b) - eb) + u * abs(y)


def _div_partial_error(i, xs, y, errors, error, p, u) -> float:
    (a, b), (ea, eb) = xs, errors
    if i == 0:  # 1/b
        return eb / (b * b) * (1 + 4 * SMALL) + u * abs(p)
    return (ea + 2 * abs(a) * eb / abs(b)) / (b * b) * (1 + 4 * SMALL) + 4 * u * abs(p)  # -a/b**2


# smooth functions of one argument: error = slope * argument's error + the function's own rounding

def _lipschitz(slope: float) -> Callable:
    """A function whose derivative is at most `slope` everywhere (sin, cos, tanh, sigma)."""
    def forward(xs, y, errors, u) -> float:
        return slope * errors[0] + FUNCTION_ULPS * u * abs(y)
    return forward


def _exp_error(xs, y, errors, u) -> float:
    e = errors[0]
    if e > SMALL:
        return INF
    return abs(y) * e * (1 + 2 * e) + FUNCTION_ULPS * u * abs(y)


def _log_value(a):
    if a <= 0:
        raise NotReal("log of a non-positive number")
    return mpmath.log(a)


def _log_error(xs, y, errors, u) -> float:
    (a,), (e,) = xs, errors
    if e > SMALL * abs(a):
        return INF
    return e / abs(a) * (1 + 2 * SMALL) + FUNCTION_ULPS * u * abs(y)


def _sqrt_value(a):
    if a < 0:
        raise NotReal("not a real number")
    return mpmath.sqrt(a)


def _sqrt_error(xs, y, errors, u) -> float:
    (a,), (e,) = xs, errors
    if e == 0:
        return FUNCTION_ULPS * u * abs(y)
    if a == 0 or e > SMALL * abs(a):
        return INF
    return e / (2 * abs(y)) * (1 + 2 * SMALL) + FUNCTION_ULPS * u * abs(y)


def _sqrt_partial(args, y, aux):
    if y == 0:
        raise NotReal("division by zero")
    return 1 / (2 * y)


def _tan_error(xs, y, errors, u) -> float:
    e = errors[0]
    if e * (1 + abs(y)) > SMALL:
        return INF
    return (1 + y * y) * e * (1 + 4 * SMALL) + FUNCTION_ULPS * u * abs(y)


def _sigma_value(a):
    e = mpmath.exp(-a)
    return 1 / (1 + e), e


def _sigma_partial(args, y, aux):  # exp(-t)/(1 + exp(-t))**2, with the forward pass's exp(-t)
    return y * y * aux


def _tanh_partial(args, y, aux):
    if abs(y) < 0.5:
        return 1 - y * y  # no cancellation while tanh**2 < 1/4
    e = mpmath.exp(-2 * abs(args[0]))  # sech**2 = 4e/(1 + e)**2: 1 - tanh**2 would lose digits as tanh -> 1
    return 4 * e / (1 + e) ** 2


def _sigma_second(args, y, aux):  # y**2*e*(y*(e - 1)) with e = exp(-t): expm1 keeps e - 1 accurate near 0
    return y ** 3 * aux * mpmath.expm1(-args[0])


def _sqrt_second(args, y, aux):
    if y == 0:
        raise NotReal("division by zero")
    return -1 / (4 * y ** 3)


def _sin_value(a):
    c, s = mpmath.cos_sin(a)
    return s, c


def _cos_value(a):
    c, s = mpmath.cos_sin(a)
    return c, s


def _smooth_partial_error(slope: float, ulps: float = FUNCTION_ULPS) -> Callable:
    """A partial whose own derivative is at most `slope` in size: cos, -sin, sech**2, sigma'."""
    def partial_error(i, xs, y, errors, error, p, u) -> float:
        return slope * errors[0] + ulps * u * abs(p)
    return partial_error


def _exp_partial_error(i, xs, y, errors, error, p, u) -> float:
    return error  # the partial is the value itself


def _log_partial_error(i, xs, y, errors, error, p, u) -> float:
    (a,), (e,) = xs, errors
    return e / (a * a) * (1 + 4 * SMALL) + u * abs(p)


def _sqrt_partial_error(i, xs, y, errors, error, p, u) -> float:
    return error / (2 * y * y) * (1 + 4 * SMALL) + 2 * u * abs(p)


def _tan_partial_error(i, xs, y, errors, error, p, u) -> float:
    return 2 * abs(y) * error * (1 + 4 * SMALL) + 2 * u * abs(p)


# powers

def _pow_value(a, b):
    return power(a, b)


def _pow_error(xs, y, errors, u) -> float:
    (a, b), (ea, eb) = xs, errors
    if a == 0:
        return 0.0 if ea == 0 and (eb == 0 or b > 4 * eb) else INF  # 0**b: exactly 0 (or 1) while a is exactly 0
    if ea > SMALL * abs(a) or (a < 0 and eb > 0):  # a < 0 only with an integer b: its error may leave them
        return INF
    log_a = math.log(abs(a))
    if eb * abs(log_a) > SMALL or ea * abs(b) > SMALL * abs(a):
        return INF
    return abs(y) * (abs(b) * ea / abs(a) + abs(log_a) * eb) * (1 + 4 * SMALL) + FUNCTION_ULPS * u * abs(y)


def _pow_base_partial(args, y, aux):  # SymPy's t0**t1*t1/t0
    a, b = args
    if a == 0:
        raise NotReal("division by zero")
    return y * b / a


def _pow_exponent_partial(args, y, aux):  # t0**t1*log(t0)
    return y * _log_value(args[0])


def _pow_base_second(args, y, aux):  # t0**t1*t1*(t1 - 1)/t0**2
    a, b = args
    if a == 0:
        raise NotReal("division by zero")
    return y * b * (b - 1) / (a * a)


def _pow_mixed_second(args, y, aux):  # t0**t1*(t1*log(t0) + 1)/t0
    a, b = args
    if a == 0:
        raise NotReal("division by zero")
    return y * (1 + b * _log_value(a)) / a


def _pow_exponent_second(args, y, aux):  # t0**t1*log(t0)**2
    return y * _log_value(args[0]) ** 2


def _pow_partial_error(i, xs, y, errors, error, p, u) -> float:
    (a, b), (ea, eb) = xs, errors
    if a == 0:
        return INF
    if i == 0:  # y*b/a
        return (abs(b) * (error / abs(a) + abs(y) * ea / (a * a)) + abs(y / a) * eb) * (1 + 4 * SMALL) + 4 * u * abs(p)
    log_a = math.log(abs(a))
    return (abs(log_a) * error + abs(y) * ea / abs(a)) * (1 + 4 * SMALL) + FUNCTION_ULPS * u * abs(p)


def _constant_power(exponent: float) -> Rule:
    """a**c for a literal c: d/da = c*a**(c-1), defined at a = 0 where c >= 1 (a**2 at 0: 2*a, not a**2*2/a)."""
    numerator, denominator = fraction(exponent)

    def partial(args, y, aux):
        c = literal(exponent)
        if numerator == 0:
            return mpmath.mpf(0)
        if numerator == denominator:
            return mpmath.mpf(1)
        below = mpmath.mpf(numerator - denominator) if denominator == 1 else mpmath.mpf(numerator - denominator) / denominator
        return c * power(args[0], below)

    def partial_error(i, xs, y, errors, error, p, u) -> float:
        (a, c), (ea, ec) = xs, errors
        if i == 1 or numerator == 0 or numerator == denominator:
            return 0.0  # the exponent's partial is not used; a**0 and a**1 have constant partials
        if a == 0:
            if ea == 0:
                return 0.0
            return abs(c) * ea ** (c - 1) if c >= 2 else INF  # the true a is within ea of 0
        if ea > SMALL * abs(a) or abs(c - 1) * ea > SMALL * abs(a):
            return INF
        log_a = math.log(abs(a))
        return (abs((c - 1) * p / a) * ea + abs(p * log_a * (c - 1)) * u + abs(p) * ec / abs(c)) * (1 + 4 * SMALL) \
            + FUNCTION_ULPS * u * abs(p)

    def second(args, y, aux):  # c*(c - 1)*a**(c - 2): 2 at a = 0 for c = 2, 0 for c = 0 and c = 1
        c = literal(exponent)
        if numerator == 0 or numerator == denominator:
            return mpmath.mpf(0)
        below = mpmath.mpf(numerator - 2 * denominator) / denominator
        return c * (c - 1) * power(args[0], below)

    return Rule(_pow_value, (partial, _zero), _pow_error, partial_error, seconds=(second, _zero, _zero))


def _zero_base_value(a, b):
    return power(mpmath.mpf(0), b)


def _zero_base_error(xs, y, errors, u) -> float:
    b, eb = xs[1], errors[1]
    return 0.0 if eb == 0 or b > 4 * eb else INF  # 0**b is exactly 0 while b is surely positive


ZERO_BASE = Rule(_zero_base_value, (_zero, _zero), _zero_base_error, _exact_partials, seconds=(_zero, _zero, _zero))  # 0**t: 0 for t > 0, derivative 0


# piecewise: the branch is decided by a sign; each value is one of its arguments or a constant (no rounding)

def _branch_error(pick: Callable) -> Callable:
    def forward(xs, y, errors, u) -> float:
        return pick(xs, errors)
    return forward


def _relu_value(a):
    return a if a > 0 else mpmath.mpf(0)


def _abs_value(a):
    return abs(a)


def _sign_value(a):
    return mpmath.mpf(mpmath.sign(a))


def _relu_partial(args, y, aux):
    return _heaviside(args[0])


def _abs_partial(args, y, aux):
    return mpmath.mpf(mpmath.sign(args[0]))


def _sign_partial(args, y, aux):
    return 2 * _dirac(args[0])


def _comparison(strict_above: bool, reverse: bool) -> Rule:
    """gt, lt (strict: 0 at a tie), ge, le (1 at a tie): Heaviside steps whose derivative is 0 off the tie."""
    def value(a, b):
        d = b - a if reverse else a - b
        return mpmath.mpf(1) if d > 0 else mpmath.mpf(0) if d < 0 else mpmath.mpf(0 if strict_above else 1)

    def partial_a(args, y, aux):
        a, b = args
        return -_dirac(b - a) if reverse else _dirac(a - b)

    def partial_b(args, y, aux):
        a, b = args
        return _dirac(b - a) if reverse else -_dirac(a - b)

    return Rule(value, (partial_a, partial_b), _branch_error(lambda xs, errors: 0.0), _exact_partials, "diff", True,
                seconds=(_kink_second,) * 3)


RULES: dict[str, Rule] = {
    "add": Rule(lambda a, b: a + b, (_one, _one), _sum_error, _exact_partials, unit_partials=True, seconds=(_zero,) * 3),
    "sub": Rule(lambda a, b: a - b, (_one, _minus_one), _sum_error, _exact_partials, unit_partials=True, seconds=(_zero,) * 3),
    "mul": Rule(lambda a, b: a * b, (lambda args, y, aux: args[1], lambda args, y, aux: args[0]), _mul_error, _mul_partial_error,
                seconds=(_zero, _one, _zero)),
    "div": Rule(_div_value, (lambda args, y, aux: 1 / args[1], lambda args, y, aux: -args[0] / args[1] ** 2), _div_error, _div_partial_error,
                seconds=(_zero, lambda args, y, aux: -1 / args[1] ** 2, lambda args, y, aux: 2 * args[0] / args[1] ** 3)),
    "pow": Rule(_pow_value, (_pow_base_partial, _pow_exponent_partial), _pow_error, _pow_partial_error,
                seconds=(_pow_base_second, _pow_mixed_second, _pow_exponent_second)),
    "neg": Rule(lambda a: -a, (_minus_one,), _neg_error, _exact_partials, unit_partials=True, seconds=(_zero,)),
    "sigma": Rule(_sigma_value, (_sigma_partial,), _lipschitz(0.25), _smooth_partial_error(0.1), paired=True, seconds=(_sigma_second,)),
    "exp": Rule(mpmath.exp, (lambda args, y, aux: y,), _exp_error, _exp_partial_error, seconds=(lambda args, y, aux: y,)),
    "log": Rule(_log_value, (lambda args, y, aux: 1 / args[0],), _log_error, _log_partial_error,
                seconds=(lambda args, y, aux: -1 / args[0] ** 2,)),
    "sqrt": Rule(_sqrt_value, (_sqrt_partial,), _sqrt_error, _sqrt_partial_error, seconds=(_sqrt_second,)),
    "sin": Rule(_sin_value, (lambda args, y, aux: aux,), _lipschitz(1.0), _smooth_partial_error(1.0), paired=True,
                seconds=(lambda args, y, aux: -y,)),
    "cos": Rule(_cos_value, (lambda args, y, aux: -aux,), _lipschitz(1.0), _smooth_partial_error(1.0), paired=True,
                seconds=(lambda args, y, aux: -y,)),
    "tan": Rule(lambda a: real(mpmath.tan(a)), (lambda args, y, aux: y * y + 1,), _tan_error, _tan_partial_error,
                seconds=(lambda args, y, aux: 2 * y * (y * y + 1),)),
    "tanh": Rule(mpmath.tanh, (_tanh_partial,), _lipschitz(1.0), _smooth_partial_error(0.8),
                 seconds=(lambda args, y, aux: -2 * y * _tanh_partial(args, y, aux),)),
    "relu": Rule(_relu_value, (_relu_partial,), _branch_error(lambda xs, errors: errors[0] if xs[0] > 0 else 0.0),
                 _exact_partials, "arg", unit_partials=True, seconds=(_kink_second,)),
    "abs": Rule(_abs_value, (_abs_partial,), _branch_error(lambda xs, errors: errors[0]), _exact_partials, "arg",
                unit_partials=True, seconds=(_kink_second,)),
    "sign": Rule(_sign_value, (_sign_partial,), _branch_error(lambda xs, errors: 0.0), _exact_partials, "arg", True,
                 seconds=(_kink_second,)),
    "max": Rule(lambda a, b: max(a, b), (lambda args, y, aux: _heaviside(args[0] - args[1]), lambda args, y, aux: _heaviside(args[1] - args[0])),
                _branch_error(lambda xs, errors: errors[0] if xs[0] > xs[1] else errors[1]), _exact_partials, "diff",
                unit_partials=True, seconds=(_kink_second,) * 3),
    "min": Rule(lambda a, b: min(a, b), (lambda args, y, aux: _heaviside(args[1] - args[0]), lambda args, y, aux: _heaviside(args[0] - args[1])),
                _branch_error(lambda xs, errors: errors[0] if xs[0] < xs[1] else errors[1]), _exact_partials, "diff",
                unit_partials=True, seconds=(_kink_second,) * 3),
    "gt": _comparison(True, False),
    "lt": _comparison(True, True),
    "ge": _comparison(False, False),
    "le": _comparison(False, True),
}


@lru_cache(maxsize=1024)
def constant_power(exponent: float) -> Rule:
    return _constant_power(exponent)


def decided(rule: Rule, gap: float, xs: tuple, errors: tuple) -> bool:
    """Whether the arguments' errors cannot change the branch (a tie is certain only when exact).
    `gap`: float(a - b) with a - b taken at the working precision (the arguments' floats may differ while they
    nearly tie); not read for an "arg" decider."""
    if rule.decider == "arg":
        e = errors[0]
        return e == 0 or abs(xs[0]) > 4 * e
    e = errors[0] + errors[1]
    return e == 0 or abs(gap) > 4 * e
