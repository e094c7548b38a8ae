"""The chain method on a scalar DAG: values and adjoints in multi-precision mpmath through each operation's
local rule (rules.py: mpmath alone, no SymPy), with a running bound on every value's and adjoint's error.
The loops run on raw mpf tuples at an explicit precision (raw.py: the same libmp calls as rules.py's formulas,
bit for bit), with no mpf object per operation and no precision context.

The bound is what lets one precision suffice: exact.py keeps a result whose every float is proved by it
(both ends of value ± 4·bound round to the same float) and compares two precisions only where the bound
gives up (heavy cancellation, a near tie, magnitudes outside [1e-250, 1e250]).
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np
from mpmath.libmp import fone, from_float, fzero, mpf_abs, mpf_add, mpf_div, mpf_mul, mpf_neg, mpf_sub

from .lower import Dag
from .raw import RAW, RAW_ZERO_BASE, RawRule, as_float, constant, literal_with_error, raw_constant_power
from .rules import INF, decided

BOUNDED_PRECISION = 200  # bits; above it u*|x| underflows for small x, and two precisions are compared anyway
N = "n"  # round to nearest


def rule_for(dag: Dag, index: int) -> RawRule:
    op, args = dag.ops[index], dag.args[index]
    if op == "pow":
        base, exponent = args
        if dag.ops[exponent] == "num":  # x**2 as such: 2*x, defined at 0 (x**y*y/x is not)
            return raw_constant_power(dag.payload[exponent])
        if dag.ops[base] == "num" and dag.payload[base] == 0:  # 0**t: 0 for t > 0, not 0*log(0)
            return RAW_ZERO_BASE
    return RAW[op]


def as_mpf(x: tuple | None) -> mpmath.mpf | None:
    """A raw value as an mpf object (second.py chains Hessians on objects)."""
    return None if x is None else mpmath.mp.make_mpf(x)


@dataclass(frozen=True, slots=True)
class Forward:
    """One forward pass at one precision: what adjoints() reads (and second.py's Hessians)."""

    values: list[tuple]  # raw mpf tuple per node (raw.py)
    tied: list[bool]  # piecewise nodes sitting exactly on their kink
    depends: list[bool]  # depends on a checked input
    rules: list  # RawRule or None per node
    aux: list  # what a paired rule's partial reuses (sin's cos), else None
    floats: list[float] | None  # each value as a float; None where the bound gave up
    errors: list[float] | None  # a bound on each value's error at this precision
    prec: int  # the working precision, bits


def forward(dag: Dag, wrt: frozenset[str], point: dict[str, np.ndarray], deadline=None, prec: int | None = None) -> Forward:
    """Every node's value at `prec` bits (mpmath's working precision by default), which piecewise nodes are tied,
    which depend on `wrt`, and (while it holds) a bound on each value's error. Values are raw mpf tuples, each op's
    the libmp calls of its rule (raw.py): the hot loop makes no mpf objects. One loop, not split: it runs once per
    node of a 10^5-gate expression, and the value and its bound are updated side by side."""
    prec = mpmath.mp.prec if prec is None else prec
    u = 2.0 ** -prec
    ops, all_args, payloads = dag.ops, dag.args, dag.payload
    count = len(ops)
    values: list = [fzero] * count
    tied = [False] * count
    depends = [False] * count
    rules: list = [None] * count
    auxes: list = [None] * count
    floats = [0.0] * count
    errors = [0.0] * count
    bounded = prec <= BOUNDED_PRECISION
    flat = {name: np.asarray(value, dtype=np.float64).reshape(-1).tolist() for name, value in point.items()}
    for index in range(count):
        if not index & 1023 and deadline is not None:
            deadline.check()
        op = ops[index]
        raw = RAW.get(op)
        error = 0.0
        if raw is None:  # a leaf
            payload = payloads[index]
            if op == "input":
                value = from_float(flat[payload[0]][payload[1]])  # a float is exact in mpf
                depends[index] = payload[0] in wrt
            elif op == "num":
                value, error = literal_with_error(payload, prec)
            elif op == "const":
                value = constant(payload, prec)
                error = u * as_float(value)
            else:
                raise KeyError(f"the oracle has no rule for {op!r}")
            values[index] = value
            if bounded:
                f = as_float(value)
                magnitude = abs(f)
                if not (error < INF and 1e-250 < magnitude < 1e250) and (not error < INF or magnitude or value != fzero):
                    bounded = False  # as below
                floats[index], errors[index] = f, error
            continue
        if op == "pow":
            raw = rule_for(dag, index)
        rule = raw.rule
        args = all_args[index]
        if len(args) == 2:
            a, b = args
            x0 = values[a]
            x1 = values[b]
            value = raw.value(x0, x1, prec, N)
            depend = depends[a] or depends[b]
            if bounded:
                xs, es = (floats[a], floats[b]), (errors[a], errors[b])
        else:
            a = args[0]
            x0 = values[a]
            if rule.paired:
                value, auxes[index] = raw.value(x0, prec, N)
            else:
                value = raw.value(x0, prec, N)
            depend = depends[a]
            if bounded:
                xs, es = (floats[a],), (errors[a],)
        values[index] = value
        depends[index] = depend
        rules[index] = raw
        if rule.decider is not None:
            difference = x0 if rule.decider == "arg" else mpf_sub(x0, x1, prec, N)
            tied[index] = depend and difference == fzero
            if bounded and not decided(rule, as_float(difference), xs, es):
                bounded = False  # the error could flip the branch: two precisions decide
        if bounded:
            f = as_float(value)
            error = rule.forward(xs, f, es, u)
            magnitude = abs(f)
            if not (error < INF and 1e-250 < magnitude < 1e250) and (not error < INF or magnitude or value != fzero):
                bounded = False  # past what float bounds can follow (or the bound gave up): two precisions decide
            floats[index], errors[index] = f, error
    return Forward(values, tied, depends, rules, auxes, floats if bounded else None, errors if bounded else None, prec)


def _cancellation(before, total) -> float:
    """|before| / |total| for raw mpf values of any size (their floats may under- or overflow): inf past 2**1000."""
    _, man_b, exp_b, bits_b = before
    _, man_t, exp_t, bits_t = total
    shift = exp_b + bits_b - exp_t - bits_t
    if shift > 1000:
        return INF
    if shift < -1000:
        return 0.0
    return (man_b / 2.0 ** bits_b) / (man_t / 2.0 ** bits_t) * 2.0 ** shift


def adjoints(dag: Dag, fwd: Forward, output: int, deadline=None) -> tuple[list, list[bool], list[float] | None]:
    """d(output)/d(node) for every node (raw mpf tuples), which adjoints a tied kink leaves undecided, and (while the
    bound holds) a bound on each adjoint's relative error. Relative, because adjoints span any range: a deep
    expression's reach 1e-14000, where an absolute bound in floats would be 0. One loop, not split: it runs
    once per edge of a 10^5-gate expression, and the value and its bound are updated side by side."""
    prec = fwd.prec
    u = 2.0 ** -prec
    count = output + 1
    adjoint = [fzero] * count
    undecided = [False] * count
    adjoint[output] = fone
    bounded = fwd.errors is not None
    relative = [0.0] * count
    zeros: dict[int, tuple] = {}  # adjoints that cancelled to exactly 0 with inexact parts: their absolute error
    values, floats, value_errors, depends, tied, rules = fwd.values, fwd.floats, fwd.errors, fwd.depends, fwd.tied, fwd.rules
    all_args = dag.args
    for index in range(output, -1, -1):
        if not index & 1023 and deadline is not None:
            deadline.check()
        if not depends[index]:
            continue
        args = all_args[index]
        if not args:
            continue
        raw = rules[index]
        rule = raw.rule
        gradient = adjoint[index]
        if tied[index]:  # the derivative on a kink is a convention, not a value
            if gradient != fzero or undecided[index] or rule.jumps:  # x*sign(x) at 0: 0 times a jump is no derivative either
                for a in args:
                    if depends[a]:
                        undecided[a] = True
            elif bounded and index in zeros:
                bounded = False
            continue
        spread = undecided[index]
        if gradient == fzero and not spread:
            if bounded and index in zeros:
                bounded = False  # an adjoint that cancelled to 0 may not be 0: two precisions decide
            continue
        signs = raw.signs
        rg = relative[index] if bounded else 0.0
        if signs is None:  # the arguments as tuples, built by arity (a comprehension costs a frame per node)
            y, aux = values[index], fwd.aux[index]
            unit = rule.unit_partials
            if len(args) == 2:
                a0, a1 = args
                env = (values[a0], values[a1])
                if bounded and not unit:
                    xs, es = (floats[a0], floats[a1]), (value_errors[a0], value_errors[a1])
            else:
                a0 = args[0]
                env = (values[a0],)
                if bounded and not unit:
                    xs, es = (floats[a0],), (value_errors[a0],)
        for k, a in enumerate(args):
            if not depends[a]:
                continue
            rt = rg
            if signs is not None:  # add, sub, neg: +-1, exact, nothing to multiply
                term = gradient if signs[k] > 0 else mpf_neg(gradient, prec, N)
            else:
                local = raw.partials[k](prec, env, y, aux)
                if unit:  # +-1 or 0 (a branch's 1): exact, nothing to multiply
                    if local == fzero:
                        continue
                    term = mpf_neg(gradient, prec, N) if local[0] else gradient
                else:
                    if bounded:
                        p = as_float(local)
                        magnitude = abs(p)
                        if (magnitude and not 1e-250 < magnitude < 1e250) or (not p and local != fzero):
                            bounded = False
                        else:
                            perror = rule.partial_error(k, xs, floats[index], es, value_errors[index], p, u)
                            if local == fzero:
                                bounded = not perror  # an exact 0 adds nothing; a 0 that may not be one gives up
                            else:
                                rp = perror / magnitude
                                rt = rg + rp + rg * rp + u
                    if local == fzero:
                        continue
                    term = mpf_mul(gradient, local, prec, N)
            before = adjoint[a]
            if spread:
                undecided[a] = True
            if before == fzero:
                adjoint[a] = term
                if bounded:
                    relative[a] = rt + (as_float(mpf_div(zeros.pop(a), mpf_abs(term), prec, N)) if a in zeros else 0.0)
                continue
            total = adjoint[a] = mpf_add(before, term, prec, N)
            if bounded:
                if before[0] == term[0]:  # same signs: no cancellation, the larger relative error bounds it
                    relative[a] = max(relative[a], rt) + u
                elif total != fzero:
                    relative[a] = _cancellation(before, total) * relative[a] + _cancellation(term, total) * rt + u
                    if not relative[a] < INF:
                        bounded = False
                elif relative[a] or rt:  # cancelled to 0 exactly, the parts not exact: the error, absolute, till the next part
                    zeros[a] = mpf_add(mpf_mul(mpf_abs(before), from_float(relative[a]), prec, N),
                                       mpf_mul(mpf_abs(term), from_float(rt), prec, N), prec, N)
    if bounded:
        for a in zeros:
            relative[a] = INF  # an adjoint 0 that may not be 0: not proved
    return adjoint, undecided, relative if bounded else None


def gradients(dag: Dag, fwd: Forward, output: int, sizes: dict[str, int], deadline=None) -> tuple[dict, dict | None]:
    """Per checked input, d(output)/d(element) for each element in C order (a raw mpf tuple, or None where a kink
    leaves it undecided), and the bounds on their relative errors (None where the bound gave up)."""
    adjoint, undecided, errors = adjoints(dag, fwd, output, deadline)
    values = {name: [fzero] * size for name, size in sizes.items()}
    bounds = {name: [0.0] * size for name, size in sizes.items()} if errors is not None else None
    ops, payloads = dag.ops, dag.payload
    for index in range(min(output + 1, len(ops))):
        if ops[index] == "input":
            name, k, _ = payloads[index]
            if name in values:  # one input node per element
                values[name][k] = None if undecided[index] else adjoint[index]
                if bounds is not None:
                    bounds[name][k] = errors[index]
    return values, bounds
