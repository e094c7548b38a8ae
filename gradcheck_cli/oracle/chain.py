"""The chain method on a scalar DAG: values and adjoints in multi-precision mpmath, each node through the
local derivative SymPy takes of its operation's definition (derived once per process)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy

from .lower import Dag
from .sympy_ops import ARITY, CONSTANTS, JUMPS, PIECEWISE, SYMPY_OPS, NotReal, compile_template, fraction, leaf_value, number, sigma


@dataclass(frozen=True, slots=True)
class _LocalRule:
    value: object
    partials: tuple
    decider: object | None  # piecewise: the quantity whose sign picks the branch (0 = on the kink)


_DECIDERS = {"relu": lambda t: t[0], "abs": lambda t: t[0], "sign": lambda t: t[0]}


@functools.lru_cache(maxsize=1024)  # a pure function of its key: each process derives a rule once, not once per line
def local_rule(op: str, exponent: float | None = None, base: float | None = None) -> _LocalRule:
    """SymPy differentiates the operation's definition (sigma through its definition; a constant power as such)."""
    arguments = tuple(sympy.Symbol(f"t{k}", real=True) for k in range(ARITY.get(op, 1)))
    if exponent is not None:  # x**2 as t0**2: d/dt0 = 2*t0, defined at 0 (t0**t1*t1/t0 is not)
        value = arguments[0] ** number(exponent)
        partials = (sympy.diff(value, arguments[0]), sympy.Integer(0))
    elif base == 0:  # 0**t is 0 for t > 0 (and undefined otherwise): its derivative is 0 there, not 0*log(0)
        value = sympy.Integer(0) ** arguments[1]
        partials = (sympy.Integer(0), sympy.Integer(0))
    else:
        value = SYMPY_OPS[op](*arguments)
        definition = sigma.definition(arguments[0]) if op == "sigma" else value
        partials = tuple(sympy.diff(definition, t) for t in arguments)
    decider = None
    if op in PIECEWISE:
        decider = arguments[0] if len(arguments) == 1 else arguments[0] - arguments[1]
    return _LocalRule(compile_template(value, arguments), tuple(compile_template(p, arguments) for p in partials),
                      None if decider is None else compile_template(decider, arguments))


def _rule_key(dag: Dag, index: int) -> tuple[str, float | None, float | None]:
    op, args = dag.ops[index], dag.args[index]
    if op == "pow":
        exponent, base = args[1], args[0]
        if dag.ops[exponent] == "num":
            return "pow", dag.payload[exponent], None
        if dag.ops[base] == "num" and dag.payload[base] == 0:
            return "pow", None, 0.0
    return op, None, None


@dataclass(frozen=True, slots=True)
class Forward:
    values: list  # mpf per node
    tied: list[bool]  # piecewise nodes sitting exactly on their kink
    depends: list[bool]  # depends on a checked input
    rules: list  # _LocalRule or None per node


def forward(dag: Dag, wrt: frozenset[str], point: dict[str, np.ndarray], deadline=None) -> Forward:
    """Every node's value at the working precision; which piecewise nodes are tied; which depend on `wrt`."""
    values: list = []
    tied: list[bool] = []
    depends: list[bool] = []
    rules: list = []
    flat = {name: np.asarray(value, dtype=np.float64).reshape(-1) for name, value in point.items()}
    for index, op in enumerate(dag.ops):
        if deadline is not None and not index & 1023:
            deadline.check()
        args, rule, tie = dag.args[index], None, False
        if op == "input":
            name, k, _ = dag.payload[index]
            values.append(mpmath.mpf(float(flat[name][k])))
            depends.append(name in wrt)
        elif op == "num":
            numerator, denominator = fraction(dag.payload[index])
            values.append(mpmath.mpf(numerator) if denominator == 1 else mpmath.mpf(numerator) / denominator)
            depends.append(False)
        elif op == "const":
            values.append(leaf_value(CONSTANTS[dag.payload[index]], {}))
            depends.append(False)
        else:
            rule = local_rule(*_rule_key(dag, index))
            env = tuple([values[a] for a in args])
            values.append(rule.value(env))
            depends.append(any(depends[a] for a in args))
            tie = rule.decider is not None and depends[-1] and rule.decider(env) == 0
        tied.append(tie)
        rules.append(rule)
    return Forward(values, tied, depends, rules)


def adjoints(dag: Dag, fwd: Forward, output: int, deadline=None) -> tuple[list, list[bool]]:
    """d(output)/d(node) for every node, and which adjoints a tied kink leaves undecided."""
    count = output + 1
    adjoint = [mpmath.mpf(0)] * count
    undecided = [False] * count
    adjoint[output] = mpmath.mpf(1)
    for index in range(output, -1, -1):
        if deadline is not None and not index & 1023:
            deadline.check()
        args = dag.args[index]
        jump = fwd.tied[index] and dag.ops[index] in JUMPS  # x*sign(x) at 0: 0 times a jump is no derivative either
        if not args or not fwd.depends[index] or (adjoint[index] == 0 and not undecided[index] and not jump):
            continue
        rule = fwd.rules[index]
        env = tuple([fwd.values[a] for a in args])
        spread = undecided[index] or fwd.tied[index]
        for partial, a in zip(rule.partials, args):
            if not fwd.depends[a]:
                continue
            if fwd.tied[index]:
                undecided[a] = True  # the derivative on a kink is a convention, not a value
                continue
            local = partial(env)
            adjoint[a] += adjoint[index] * local
            undecided[a] = undecided[a] or (spread and local != 0)
    return adjoint, undecided


def gradients(dag: Dag, fwd: Forward, output: int, shapes: dict[str, tuple[int, ...]], deadline=None) -> dict[str, np.ndarray]:
    """Per checked input, d(output)/d(element) as an object array of mpf (None where a kink leaves it undecided)."""
    adjoint, undecided = adjoints(dag, fwd, output, deadline)
    result = {name: np.full(int(np.prod(shape, dtype=np.int64)), mpmath.mpf(0), dtype=object) for name, shape in shapes.items()}
    for index in range(min(output + 1, len(dag.ops))):
        if dag.ops[index] == "input":
            name, k, _ = dag.payload[index]
            if name in result:
                result[name][k] = None if undecided[index] else adjoint[index]  # one input node per element
    return {name: flat.reshape(shapes[name]) for name, flat in result.items()}
