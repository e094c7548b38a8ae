"""The chain method on a scalar DAG: values and adjoints in multi-precision mpmath through each operation's
local rule (rules.py: mpmath alone, no SymPy), with a running bound on every value's and adjoint's error.

The bound is what lets one precision suffice: exact.py keeps a result whose every float is proved by it
(both ends of value ± 4·bound round to the same float) and compares two precisions only where the bound
gives up (heavy cancellation, a near tie, magnitudes outside [1e-250, 1e250]).
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np

from .lower import Dag
from .rules import INF, RULES, ZERO_BASE, Rule, constant_power, decided, literal, literal_error

BOUNDED_PRECISION = 200  # bits; above it u*|x| underflows for small x, and two precisions are compared anyway
CONSTANTS = {"pi": lambda: +mpmath.pi, "e": lambda: mpmath.e + 0}  # rounded at the working precision when asked


def rule_for(dag: Dag, index: int) -> Rule:
    op, args = dag.ops[index], dag.args[index]
    if op == "pow":
        base, exponent = args
        if dag.ops[exponent] == "num":  # x**2 as such: 2*x, defined at 0 (x**y*y/x is not)
            return constant_power(dag.payload[exponent])
        if dag.ops[base] == "num" and dag.payload[base] == 0:  # 0**t: 0 for t > 0, not 0*log(0)
            return ZERO_BASE
    return RULES[op]


@dataclass(frozen=True, slots=True)
class Forward:
    values: list  # mpf per node
    tied: list[bool]  # piecewise nodes sitting exactly on their kink
    depends: list[bool]  # depends on a checked input
    rules: list  # Rule or None per node
    aux: list  # what a paired rule's partial reuses (sin's cos), else None
    floats: list[float] | None  # each value as a float; None where the bound gave up
    errors: list[float] | None  # a bound on each value's error at this precision


def forward(dag: Dag, wrt: frozenset[str], point: dict[str, np.ndarray], deadline=None) -> Forward:
    """Every node's value at the working precision, which piecewise nodes are tied, which depend on `wrt`,
    and (while it holds) a bound on each value's error."""
    u = 2.0 ** -mpmath.mp.prec
    values: list = []
    tied: list[bool] = []
    depends: list[bool] = []
    rules: list = []
    auxes: list = []
    floats: list[float] = []
    errors: list[float] = []
    bounded = mpmath.mp.prec <= BOUNDED_PRECISION
    flat = {name: np.asarray(value, dtype=np.float64).reshape(-1) for name, value in point.items()}
    ops, all_args, payloads = dag.ops, dag.args, dag.payload
    for index, op in enumerate(ops):
        if deadline is not None and not index & 1023:
            deadline.check()
        rule, tie, error, aux = None, False, 0.0, None
        if op == "input":
            name, k, _ = payloads[index]
            value = mpmath.mpf(float(flat[name][k]))  # a float is exact in mpf
            depends.append(name in wrt)
        elif op == "num":
            value = literal(payloads[index])
            error = literal_error(payloads[index], u) if bounded else 0.0
            depends.append(False)
        elif op == "const":
            value = CONSTANTS[payloads[index]]()
            error = u * float(value)
            depends.append(False)
        else:
            rule = rule_for(dag, index) if op == "pow" else RULES[op]
            args = all_args[index]
            if len(args) == 2:
                a, b = args
                env = (values[a], values[b])
                depend = depends[a] or depends[b]
            else:
                env = tuple([values[a] for a in args])
                depend = any([depends[a] for a in args])
            if rule.paired:
                value, aux = rule.value(*env)
            else:
                value = rule.value(*env)
            depends.append(depend)
            if rule.decider is not None and depend:
                tie = not (env[0] if rule.decider == "arg" else env[0] - env[1])
            if bounded:
                if len(args) == 2:
                    xs, es = (floats[a], floats[b]), (errors[a], errors[b])
                else:
                    xs, es = tuple([floats[a] for a in args]), tuple([errors[a] for a in args])
                if rule.decider is not None and not decided(rule, env, xs, es):
                    bounded = False  # the error could flip the branch: two precisions decide
                else:
                    f = float(value)
                    error = rule.forward(xs, f, es, u)
        values.append(value)
        tied.append(tie)
        rules.append(rule)
        auxes.append(aux)
        if bounded:
            if rule is None:
                f = float(value)
            magnitude = abs(f)
            if not error < INF or (magnitude and not 1e-250 < magnitude < 1e250) or (not f and value):
                bounded = False  # past what float bounds can follow (or the bound gave up): two precisions decide
            floats.append(f)
            errors.append(error)
    return Forward(values, tied, depends, rules, auxes, floats if bounded else None, errors if bounded else None)


def _cancellation(before, total) -> float:
    """|before| / |total| for mpf values of any size (their floats may under- or overflow): inf past 2**1000."""
    _, man_b, exp_b, bits_b = before._mpf_
    _, man_t, exp_t, bits_t = total._mpf_
    shift = exp_b + bits_b - exp_t - bits_t
    if shift > 1000:
        return INF
    if shift < -1000:
        return 0.0
    return (man_b / 2.0 ** bits_b) / (man_t / 2.0 ** bits_t) * 2.0 ** shift


def adjoints(dag: Dag, fwd: Forward, output: int, deadline=None) -> tuple[list, list[bool], list[float] | None]:
    """d(output)/d(node) for every node, which adjoints a tied kink leaves undecided, and (while the bound
    holds) a bound on each adjoint's relative error. Relative, because adjoints span any range: a deep
    expression's reach 1e-14000, where an absolute bound in floats would be 0. One loop, not split: it runs
    once per edge of a 10^5-gate expression, and the value and its bound are updated side by side."""
    u = 2.0 ** -mpmath.mp.prec
    count = output + 1
    adjoint = [mpmath.mpf(0)] * count
    undecided = [False] * count
    adjoint[output] = mpmath.mpf(1)
    bounded = fwd.errors is not None
    relative = [0.0] * count if bounded else None
    zeros: dict[int, mpmath.mpf] = {}  # adjoints that cancelled to exactly 0 with inexact parts: their absolute error
    values, floats, value_errors, depends, tied = fwd.values, fwd.floats, fwd.errors, fwd.depends, fwd.tied
    for index in range(output, -1, -1):
        if deadline is not None and not index & 1023:
            deadline.check()
        args = dag.args[index]
        jump = tied[index] and fwd.rules[index].jumps  # x*sign(x) at 0: 0 times a jump is no derivative either
        if not args or not depends[index]:
            continue
        gradient = adjoint[index]
        if not gradient and not undecided[index] and not jump:
            if bounded and index in zeros:
                bounded = False  # an adjoint that cancelled to 0 may not be 0: two precisions decide
            continue
        rule = fwd.rules[index]
        env = tuple([values[a] for a in args])
        y, aux = values[index], fwd.aux[index]
        spread = undecided[index] or tied[index]
        rg = rt = 0.0
        if bounded:
            rg = relative[index]
            if not rule.unit_partials:
                xs = tuple([floats[a] for a in args])
                es = tuple([value_errors[a] for a in args])
        for k, a in enumerate(args):
            if not depends[a]:
                continue
            if tied[index]:
                undecided[a] = True  # the derivative on a kink is a convention, not a value
                continue
            local = rule.partials[k](env, y, aux)
            if rule.unit_partials:  # +-1 or 0 (add, sub, a branch's 1): exact, nothing to multiply
                if not local:
                    continue
                term, rt = (gradient if local > 0 else -gradient), rg
            else:
                if bounded:
                    p = float(local)
                    magnitude = abs(p)
                    if (magnitude and not 1e-250 < magnitude < 1e250) or (not p and local):
                        bounded = False
                    else:
                        perror = rule.partial_error(k, xs, floats[index], es, value_errors[index], p, u)
                        if not local:
                            bounded = not perror  # an exact 0 adds nothing; a 0 that may not be one gives up
                        else:
                            rp = perror / magnitude
                            rt = rg + rp + rg * rp + u
                if not local:
                    continue
                term = gradient * local
            before = adjoint[a]
            undecided[a] = undecided[a] or spread
            if not before:
                adjoint[a] = term
                if bounded:
                    relative[a] = rt + (float(zeros.pop(a) / abs(term)) if a in zeros else 0.0)
                continue
            total = adjoint[a] = before + term
            if bounded:
                if before._mpf_[0] == term._mpf_[0]:  # same signs: no cancellation, the larger relative error bounds it
                    relative[a] = max(relative[a], rt) + u
                elif total:
                    relative[a] = _cancellation(before, total) * relative[a] + _cancellation(term, total) * rt + u
                    if not relative[a] < INF:
                        bounded = False
                elif relative[a] or rt:  # cancelled to 0 exactly, the parts not exact: the error, absolute, till the next part
                    zeros[a] = abs(before) * relative[a] + abs(term) * rt
    if bounded:
        for a in zeros:
            relative[a] = INF  # an adjoint 0 that may not be 0: not proved
    return adjoint, undecided, relative if bounded else None


def gradients(dag: Dag, fwd: Forward, output: int, sizes: dict[str, int], deadline=None) -> tuple[dict, dict | None]:
    """Per checked input, d(output)/d(element) for each element in C order (mpf, or None where a kink leaves it
    undecided), and the bounds on their relative errors (None where the bound gave up)."""
    adjoint, undecided, errors = adjoints(dag, fwd, output, deadline)
    values = {name: [mpmath.mpf(0)] * size for name, size in sizes.items()}
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
