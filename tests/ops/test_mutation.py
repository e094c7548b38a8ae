"""Mutation test of the derivative rules: every wrong rule must be caught and blamed on backprop.

Scalar gates (ops/scalar.py): for every gate and every partial we install mutants (scaled by 1.001, sign
flipped, zeroed; and for two-input gates the partials swapped) and check expressions at points where the
rule matters. Tensor ops (ops/tensor.py): the same for every VJP (swapped where the two inputs' shapes
allow). Each mutant must turn every case that exercises it into a `mismatch` whose diagnosis blames the
derivative rule; the true rules must pass the same cases. A mutant is a registry with one op replaced
(Registry.replace_op), passed to the check: nothing global is patched.

Mutant count: 84 scalar mutants (was 81: `copy` adds 3) and 54 tensor mutants, each run with and without the
exact column: 168 scalar (was 162) and 108 tensor parametrized tests. Second-order rules (ops' `second`, at the
end of this file): 44 mutants of gates' second partials and 18 of tensor ops' JVPs and VJP tangents, checked with
--order 2, each with and without the exact column. `sign` and the comparisons gt/lt/ge/le
have zero partials, so all 31 of their mutants are equivalent (asserted in test_equivalent_mutants), as is
add's swap: 32 equivalent mutants left out.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import numpy as np
import pytest

from gradcheck_cli.expression.check import Options
from gradcheck_cli.inputs.points import PointContext
from gradcheck_cli.ir import build_graph, build_program
from gradcheck_cli.lang.expr import parse
from gradcheck_cli.lang.program import parse_program
from gradcheck_cli.ops import default_registry
from gradcheck_cli.ops.registry import Op, Registry, flat
from gradcheck_cli.ops.scalar import SCALAR_OPS
from gradcheck_cli.ops.tensor import TENSOR_OPS
from gradcheck_cli.programs.plan import plan_program
from gradcheck_cli.results import CaseResult
from gradcheck_cli.session import check_program_text, check_text

BLAME = "derivative rule or backward pass is wrong"
# with the exact column, and without it (then the complex step / finite differences alone must catch the mutant)
OPTIONS = {"exact": Options(exact_timeout=5), "numeric-only": Options(exact=False)}
REGISTRY = default_registry()
GATES: dict[str, Op] = {op.name: REGISTRY[op.name] for op in SCALAR_OPS}
TENSOR: dict[str, Op] = {op.name: REGISTRY[op.name] for op in TENSOR_OPS if op.vjps}


class Case(NamedTuple):
    text: str  # an expression, or a program (program=True) whose forward lines make the gate (copy: `b = x`)
    point: dict[str, float]
    partials: tuple[int, ...] = (0, 1)  # input positions whose local derivative is non-zero and reaches f
    program: bool = False


# Points keep away from kinks, poles and zeros of the derivative, so no mutant is equivalent there.
CASES: dict[str, list[Case]] = {
    "add": [Case("x + y", {"x": 1.5, "y": -0.7}), Case("tanh(x*y + x)", {"x": 0.3, "y": 0.8})],
    "sub": [Case("x - y", {"x": 1.5, "y": -0.7}), Case("exp(x*y - y)", {"x": 0.3, "y": 0.8})],
    "mul": [Case("x*y", {"x": 1.5, "y": -0.7}), Case("sin(x*(y + 1))", {"x": 0.4, "y": 0.3})],
    "div": [Case("x/y", {"x": 1.5, "y": 2.5}), Case("(x + 1)/(y*y + 2)", {"x": 0.4, "y": 0.3})],
    "pow": [Case("x**y", {"x": 1.5, "y": 2.5}), Case("(x + y)**(x*y)", {"x": 0.7, "y": 0.9}),
            Case("(x*x + 1)**3", {"x": 0.8}, (0,))],
    "neg": [Case("-x", {"x": 0.7}, (0,)), Case("sin(-x*y)", {"x": 0.5, "y": 1.2}, (0,))],
    "sigma": [Case("sigma(x)", {"x": 0.7}, (0,)), Case("sigma(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    "exp": [Case("exp(x)", {"x": 0.7}, (0,)), Case("exp(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    "log": [Case("log(x)", {"x": 0.7}, (0,)), Case("log(x*x + y)", {"x": 0.5, "y": 1.3}, (0,))],
    "sqrt": [Case("sqrt(x)", {"x": 2.0}, (0,)), Case("sqrt(x*x + y*y)", {"x": 0.6, "y": 0.8}, (0,))],
    "sin": [Case("sin(x)", {"x": 0.7}, (0,)), Case("sin(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    "cos": [Case("cos(x)", {"x": 0.7}, (0,)), Case("cos(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    "tan": [Case("tan(x)", {"x": 0.7}, (0,)), Case("tan(x*y)", {"x": 0.5, "y": 0.9}, (0,))],
    "tanh": [Case("tanh(x)", {"x": 0.7}, (0,)), Case("tanh(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    # piecewise gates: on the side where the derivative is non-zero, far from the kink
    "relu": [Case("relu(x)", {"x": 0.7}, (0,)), Case("relu(x*y - 1)", {"x": 2.0, "y": 1.5}, (0,))],
    "abs": [Case("abs(x)", {"x": -0.7}, (0,)), Case("abs(x*y)", {"x": 0.5, "y": 1.5}, (0,)),
            Case("abs(x*y)", {"x": 0.5, "y": -1.5}, (0,))],
    "max": [Case("max(x, y)", {"x": 1.5, "y": 0.5}, (0,)), Case("max(x, y)", {"x": 0.5, "y": 1.5}, (1,)),
            Case("max(sin(x), x*y)", {"x": 1.0, "y": 2.0}, (1,)), Case("max(x*x, y)", {"x": 2.0, "y": 1.0}, (0,))],
    "min": [Case("min(x, y)", {"x": 0.5, "y": 1.5}, (0,)), Case("min(x, y)", {"x": 1.5, "y": 0.5}, (1,)),
            Case("min(sin(x), x*y)", {"x": 1.0, "y": 2.0}, (0,)), Case("min(x*x, y)", {"x": 2.0, "y": 1.0}, (1,))],
    # a program's `b = x` (a copy of an input) and `c = b` (a copy of a named value)
    "copy": [Case("b = x\nf = sin(b)", {"x": 0.7}, (0,), program=True),  # `f = b` would be a 2nd copy: -(-1) = 1
             Case("b = x*y\nc = b\nf = sin(c)*x", {"x": 0.5, "y": 1.2}, (0,), program=True)],
    # steps: derivative 0 everywhere (so no input position is exercised); the true rules must still pass
    "sign": [Case("sign(x)*x", {"x": -0.7}, ()), Case("x*sign(x*y - 1)", {"x": 2.0, "y": 1.5}, ())],
    "gt": [Case("(x > y)*x*y", {"x": 1.5, "y": 0.5}, ()), Case("(x > y)*x + y", {"x": 0.5, "y": 1.5}, ())],
    "lt": [Case("(x < y)*x*y", {"x": 1.5, "y": 0.5}, ()), Case("(x < y)*x + y", {"x": 0.5, "y": 1.5}, ())],
    "ge": [Case("(x >= y)*x*y", {"x": 1.5, "y": 0.5}, ()), Case("(x >= y)*x + y", {"x": 0.5, "y": 1.5}, ())],
    "le": [Case("(x <= y)*x*y", {"x": 1.5, "y": 0.5}, ()), Case("(x <= y)*x + y", {"x": 0.5, "y": 1.5}, ())],
}

Rule = Callable[..., np.ndarray]

# How each mutant changes one rule (a local derivative (ans, *inputs), or a VJP (g, ans, *inputs, **params)).
MUTATIONS: dict[str, Callable[[Rule], Rule]] = {
    "scaled": lambda rule: lambda *args, **params: 1.001 * rule(*args, **params),
    "negated": lambda rule: lambda *args, **params: -rule(*args, **params),
    "zeroed": lambda rule: lambda *args, **params: np.zeros_like(rule(*args, **params)),
}

# add's two partials are both 1: swapping them is the same rule. sign, gt, lt, ge and le have zero partials:
# 1.001*0, -0 and 0 are 0, and swapping two zero partials changes nothing. (All asserted in test_equivalent_mutants.)
ZERO_PARTIALS = ("sign", "gt", "lt", "ge", "le")
EQUIVALENT = {("add", "swapped", None)} | {
    (name, kind, position) for name in ZERO_PARTIALS
    for kind, position in [*((k, p) for k in MUTATIONS for p in range(len(GATES[name].partials))),
                           *((("swapped", None),) if len(GATES[name].partials) == 2 else ())]}


class Mutant(NamedTuple):
    op: str
    kind: str  # scaled | negated | zeroed | swapped
    position: int | None  # the mutated rule; None for swapped
    cases: tuple


def mutated(registry: Registry, op: str, kind: str, position: int | None) -> Registry:
    """A registry with one rule of `op` mutated (partials for elementwise ops, VJPs for the others)."""
    field = "partials" if registry[op].elementwise else "vjps"
    rules = list(getattr(registry[op], field))
    if kind == "swapped":
        rules.reverse()
    else:
        rules[position] = MUTATIONS[kind](rules[position])
    return registry.replace_op(op, **{field: tuple(rules)})


def all_mutants() -> list[Mutant]:
    mutants = []
    for name, gate in GATES.items():
        cases = CASES.get(name, [])
        for position in range(len(gate.partials)):
            exercising = tuple(c for c in cases if position in c.partials)
            mutants += [Mutant(name, kind, position, exercising) for kind in MUTATIONS
                        if (name, kind, position) not in EQUIVALENT]
        if len(gate.partials) == 2 and (name, "swapped", None) not in EQUIVALENT:
            mutants.append(Mutant(name, "swapped", None, tuple(cases)))
    return mutants


def mutant_id(m: Mutant) -> str:
    return f"{m.op}-{m.kind}" + ("" if m.position is None else f"-d{m.position}")


def run(case: Case, columns: str = "exact", registry: Registry = REGISTRY) -> CaseResult:
    if case.program:
        at = ", ".join(f"{k}={v!r}" for k, v in case.point.items())
        return check_program_text(case.text, at=at, options=OPTIONS[columns], registry=registry)
    return check_text(case.text, case.point, options=OPTIONS[columns], registry=registry)


def ops_in(case: Case) -> set[str]:
    if case.program:
        plan = plan_program(parse_program(case.text), PointContext(REGISTRY))
        return {n.op for n in build_program(plan.bindings, REGISTRY).nodes}
    return {n.op for n in build_graph(parse(case.text), REGISTRY).nodes}


def assert_caught(result: CaseResult, case) -> None:
    assert result.status == "mismatch", (case, result.status, result.message)
    wrong = [g for g in result.gradients if g.status == "mismatch"]
    assert wrong and all(BLAME in (g.diagnosis or "") for g in wrong), (case, result.message)
    for g in wrong:  # every failing element of a tensor gradient blames the rule, not just the worst one
        assert all(BLAME in (text or "") for _, status, text in g.failing if status == "mismatch"), (case, g.failing)


def test_every_gate_and_partial_is_exercised():
    # a new gate (or a new input) without cases would otherwise escape the mutation test
    assert set(CASES) == set(GATES)
    for name, gate in GATES.items():
        covered = {p for c in CASES[name] for p in c.partials}
        if name in ZERO_PARTIALS:  # nothing to exercise: every mutant of a zero partial is equivalent
            assert covered == set(), name
        else:
            assert covered == set(range(len(gate.partials))), name
        assert all(name in ops_in(c) for c in CASES[name]), name


@pytest.mark.parametrize("columns", OPTIONS)
@pytest.mark.parametrize("gate", sorted(CASES))
def test_true_rules_pass(gate, columns):
    # the unmutated table must give no mismatch (nor kink) on exactly the cases used below
    for case in CASES[gate]:
        result = run(case, columns)
        assert result.status == "pass", (case, result.message)


@pytest.mark.parametrize("columns", OPTIONS)
@pytest.mark.parametrize("mutant", all_mutants(), ids=mutant_id)
def test_mutant_is_caught(mutant, columns):
    assert mutant.cases, f"no case exercises {mutant_id(mutant)}"
    registry = mutated(REGISTRY, mutant.op, mutant.kind, mutant.position)
    for case in mutant.cases:
        assert_caught(run(case, columns, registry), case)


@pytest.mark.parametrize("name,kind,position", sorted(EQUIVALENT, key=str), ids=lambda v: str(v))
def test_equivalent_mutants(name, kind, position):
    # the mutants left out really are the same rule, so leaving them out hides nothing
    gate = GATES[name]
    mutant = mutated(REGISTRY, name, kind, position)[name]
    points = [(c.point.get("x", 1.0), c.point.get("y", 2.0)) for c in CASES[name]] + [(0.0, 0.0), (1.5, 1.5), (-2.0, 3.0)]
    for x, y in points:
        args = (np.array([x]), np.array([y]))[:len(gate.partials)]
        ans = gate.forward(*args)
        for original, changed in zip(gate.partials, mutant.partials):
            assert np.array_equal(original(ans, *args), changed(ans, *args))
    # and through the pipeline: the same analytic gradients on every case
    for case in CASES[name]:
        before, after = run(case, "numeric-only"), run(case, "numeric-only", mutated(REGISTRY, name, kind, position))
        assert after.status == before.status == "pass"
        assert [g.analytic for g in after.gradients] == [g.analytic for g in before.gradients]


def test_mutation_score_is_total():
    # 100 % of the non-equivalent mutants have at least one case (the parametrized test checks each is caught)
    mutants = all_mutants()
    expected = sum(3 * len(g.partials) + (len(g.partials) == 2) for g in GATES.values()) - len(EQUIVALENT)
    assert len(mutants) == expected == 84  # 81 before copy; see the module docstring
    assert len(EQUIVALENT) == 32
    assert all(m.cases for m in mutants)


# --- tensor ops: every VJP ---------------------------------------------------------------------------------

_RNG = np.random.default_rng(20261201)


def _values(*shape: int) -> np.ndarray:
    """Non-special values: magnitudes in [0.3, 1.5], random signs, no zeros, no ties."""
    return _RNG.uniform(0.3, 1.5, shape) * _RNG.choice([-1.0, 1.0], shape)


class TensorCase(NamedTuple):
    text: str
    point: dict[str, np.ndarray]
    swappable: bool = False  # the two inputs have the same shape: a swapped VJP gives arrays of the right shapes


TENSOR_CASES: dict[str, list[TensorCase]] = {
    "matmul": [TensorCase("sum(tanh(X @ W))", {"X": _values(3, 2), "W": _values(2, 2)}),
               TensorCase("sum(tanh(A @ B))", {"A": _values(2, 2), "B": _values(2, 2)}, swappable=True),
               TensorCase("sum(tanh(X @ v)*c)", {"X": _values(3, 2), "v": _values(2), "c": _values(3)})],
    "dot": [TensorCase("dot(a, b)", {"a": _values(3), "b": _values(3)}, swappable=True),
            TensorCase("sum(tanh(dot(A, B)))", {"A": _values(2, 2), "B": _values(2, 2)}, swappable=True),
            TensorCase("sum(dot(s, a)*c)", {"s": np.array(0.7), "a": _values(3), "c": _values(3)})],
    "sum": [TensorCase("sum(sum(A, 0)*c)", {"A": _values(2, 3), "c": _values(3)}),
            TensorCase("tanh(sum(A*B))", {"A": _values(2, 3), "B": _values(2, 3)})],
    "mean": [TensorCase("sum(mean(A, 1)*c)", {"A": _values(2, 3), "c": _values(2)})],
    "softmax": [TensorCase("sum(softmax(x)*c)", {"x": _values(3), "c": _values(3)}),
                TensorCase("sum(softmax(A, axis=0)*C)", {"A": _values(2, 3), "C": _values(2, 3)})],
    "log_softmax": [TensorCase("sum(log_softmax(A)*C)", {"A": _values(2, 3), "C": _values(2, 3)})],
    "logsumexp": [TensorCase("sum(logsumexp(A)*c)", {"A": _values(2, 3), "c": _values(2)})],
    "transpose": [TensorCase("sum(A.T*B)", {"A": _values(2, 3), "B": _values(3, 2)})],
    "reshape": [TensorCase("sum(reshape(A, (3, 2))*C)", {"A": _values(2, 3), "C": _values(3, 2)})],
    "index": [TensorCase("sum(A[1]*c)", {"A": _values(2, 3), "c": _values(3)})],
    "stack": [TensorCase("sum([a, b]*C)", {"a": _values(3), "b": _values(3), "C": _values(2, 3)})],
    "outer": [TensorCase("sum(outer(a, b)*C)", {"a": _values(2), "b": _values(3), "C": _values(2, 3)}),
              TensorCase("sum(outer(a, b)*C)", {"a": _values(3), "b": _values(3), "C": _values(3, 3)}, swappable=True)],
    "diag": [TensorCase("sum(diag(a)*C)", {"a": _values(3), "C": _values(3, 3)}),
             TensorCase("sum(diag(A)*c)", {"A": _values(3, 3), "c": _values(3)})],
    "diagflat": [TensorCase("sum(diagflat(A)*C)", {"A": _values(2, 2), "C": _values(4, 4)})],
}


def all_tensor_mutants() -> list[Mutant]:
    mutants = []
    for name, op in TENSOR.items():
        cases = tuple(TENSOR_CASES.get(name, ()))
        for position in range(len(op.vjps)):
            mutants += [Mutant(name, kind, position, cases) for kind in MUTATIONS]
        if len(op.vjps) == 2:
            mutants.append(Mutant(name, "swapped", None, tuple(c for c in cases if c.swappable)))
    return mutants


def run_tensor(case: TensorCase, columns: str = "exact", registry: Registry = REGISTRY) -> CaseResult:
    return check_text(case.text, case.point, options=OPTIONS[columns], registry=registry)


def test_every_tensor_op_with_vjps_is_exercised():
    assert set(TENSOR_CASES) == set(TENSOR) == {op.name for op in TENSOR_OPS}
    for name, cases in TENSOR_CASES.items():
        for case in cases:
            shapes = {k: np.shape(v) for k, v in case.point.items()}
            graph = build_graph(parse(case.text), REGISTRY, shapes)
            assert name in {n.op for n in graph.nodes}, (name, case.text)
            assert graph.nodes[-1].shape == (), case.text  # a scalar f: one backward pass
            if case.swappable:
                node = next(n for n in graph.nodes if n.op == name)
                assert graph.nodes[node.inputs[0]].shape == graph.nodes[node.inputs[1]].shape
    assert len(all_tensor_mutants()) == 54
    assert all(m.cases for m in all_tensor_mutants())


@pytest.mark.parametrize("columns", OPTIONS)
@pytest.mark.parametrize("op", sorted(TENSOR_CASES))
def test_true_tensor_rules_pass(op, columns):
    for case in TENSOR_CASES[op]:
        result = run_tensor(case, columns)
        assert result.status == "pass", (case.text, result.message)
        assert all(g.is_tensor or g.var == "s" for g in result.gradients)


@pytest.mark.parametrize("columns", OPTIONS)
@pytest.mark.parametrize("mutant", all_tensor_mutants(), ids=mutant_id)
def test_tensor_mutant_is_caught(mutant, columns):
    assert mutant.cases, f"no case exercises {mutant_id(mutant)}"
    registry = mutated(REGISTRY, mutant.op, mutant.kind, mutant.position)
    for case in mutant.cases:
        assert_caught(run_tensor(case, columns, registry), case.text)


def test_mutants_leave_the_default_registry_alone():
    registry = mutated(REGISTRY, "matmul", "negated", 0)
    assert registry["matmul"].vjps[0] is not REGISTRY["matmul"].vjps[0]
    assert default_registry()["matmul"].vjps == REGISTRY["matmul"].vjps
    assert dataclasses.replace(REGISTRY["matmul"]).vjps == REGISTRY["matmul"].vjps


# --- second-order rules: every second partial of a gate, every JVP and VJP tangent of a tensor op -------------
#
# Checked with --order 2: a mutant must make the Hessian a `mismatch` that blames a second-order rule, with and
# without the exact column (then the complex step of the gradient catches it). Linear ops (sum, reshape, ...) and
# bilinear ones (matmul, dot, outer) have no second-order rule of their own: their tangents are their forward and
# their VJPs, whose mutants are caught above. A gate's second partial that is 0 off its kink (`flat`: add, relu,
# max, ...) has only equivalent mutants (1.001*0, -0 and 0 are 0), as does swapping two of them.

SECOND_BLAME = "a second-order rule (forward-over-reverse) is wrong"
SECOND_OPTIONS = {name: dataclasses.replace(options, order=2) for name, options in OPTIONS.items()}

# Case.partials: the second partials (aa; aa, ab, bb) the case exercises, at points where each is far from 0.
SECOND_CASES: dict[str, list[Case]] = {
    "mul": [Case("x*y", {"x": 1.5, "y": -0.7}, (1,)), Case("sin(x)*y", {"x": 0.4, "y": 0.3}, (1,))],
    "div": [Case("x/y", {"x": 1.5, "y": 2.5}, (1, 2)), Case("(x + 1)/(y*y + 2)", {"x": 0.4, "y": 0.3}, (1, 2))],
    "pow": [Case("x**y", {"x": 1.5, "y": 2.5}, (0, 1, 2)), Case("(x*x + 1)**3", {"x": 0.8}, (0,))],
    "sigma": [Case("sigma(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    "exp": [Case("exp(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    "log": [Case("log(x*x + y)", {"x": 0.5, "y": 1.3}, (0,))],
    "sqrt": [Case("sqrt(x*x + y*y)", {"x": 0.6, "y": 0.8}, (0,))],
    "sin": [Case("sin(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    "cos": [Case("cos(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
    "tan": [Case("tan(x*y)", {"x": 0.5, "y": 0.9}, (0,))],
    "tanh": [Case("tanh(x*y)", {"x": 0.5, "y": -1.2}, (0,))],
}
SECOND_TENSOR_CASES: dict[str, list[TensorCase]] = {
    "softmax": [TensorCase("sum(softmax(x)*c)", {"x": _values(3), "c": _values(3)}),
                TensorCase("sum(softmax(A, axis=0)*C)", {"A": _values(2, 3), "C": _values(2, 3)})],
    "log_softmax": [TensorCase("sum(log_softmax(A)*C)", {"A": _values(2, 3), "C": _values(2, 3)})],
    "logsumexp": [TensorCase("sum(logsumexp(A)*c)", {"A": _values(2, 3), "c": _values(2)})],
}
# (op, kind, position) of each equivalent second-order mutant: flat partials, and swaps of two flat ones
SECOND_EQUIVALENT = {
    (name, kind, position) for name, gate in GATES.items() for position, rule in enumerate(gate.second.partials)
    if rule is flat for kind in MUTATIONS} | {
    (name, "swapped", None) for name, gate in GATES.items()
    if len(gate.second.partials) == 3 and gate.second.partials[0] is flat and gate.second.partials[2] is flat}


def second_mutated(registry: Registry, op: str, kind: str, position: int | None) -> Registry:
    """A registry with one second-order rule of `op` mutated: a gate's second partial (swapped: aa with bb), or a
    tensor op's JVP (position 0) or VJP tangent (position 1 + input)."""
    second = registry[op].second
    if registry[op].elementwise:
        rules = list(second.partials)
        if kind == "swapped":
            rules[0], rules[-1] = rules[-1], rules[0]
        else:
            rules[position] = MUTATIONS[kind](rules[position])
        return registry.replace_op(op, second=dataclasses.replace(second, partials=tuple(rules)))
    if position == 0:
        return registry.replace_op(op, second=dataclasses.replace(second, jvp=MUTATIONS[kind](second.jvp)))
    vjps = list(second.vjps)
    vjps[position - 1] = MUTATIONS[kind](vjps[position - 1])
    return registry.replace_op(op, second=dataclasses.replace(second, vjps=tuple(vjps)))


def all_second_mutants() -> list[Mutant]:
    mutants = []
    for name, gate in GATES.items():
        cases = SECOND_CASES.get(name, [])
        for position in range(len(gate.second.partials)):
            exercising = tuple(c for c in cases if position in c.partials)
            mutants += [Mutant(name, kind, position, exercising) for kind in MUTATIONS
                        if (name, kind, position) not in SECOND_EQUIVALENT]
        if len(gate.second.partials) == 3 and (name, "swapped", None) not in SECOND_EQUIVALENT:
            mutants.append(Mutant(name, "swapped", None, tuple(cases)))
    for name, op in TENSOR.items():
        if op.second.form == "rules":
            cases = tuple(SECOND_TENSOR_CASES.get(name, ()))
            mutants += [Mutant(name, kind, position, cases) for position in range(1 + len(op.second.vjps))
                        for kind in MUTATIONS]
    return mutants


def second_id(m: Mutant) -> str:
    return f"{m.op}-second-{m.kind}" + ("" if m.position is None else f"-{m.position}")


def run_second(case, columns: str, registry: Registry = REGISTRY) -> CaseResult:
    return check_text(case.text, case.point, options=SECOND_OPTIONS[columns], registry=registry)


def test_every_second_order_rule_is_exercised():
    assert {op.name for op in REGISTRY.ops.values() if op.second is None} == set()  # no built-in op lacks one
    nonzero = {name for name, gate in GATES.items() if any(rule is not flat for rule in gate.second.partials)}
    assert set(SECOND_CASES) == nonzero
    for name, cases in SECOND_CASES.items():
        covered = {p for c in cases for p in c.partials}
        assert covered == {k for k, rule in enumerate(GATES[name].second.partials) if rule is not flat}, name
        assert all(name in ops_in(c) for c in cases), name
    assert set(SECOND_TENSOR_CASES) == {name for name, op in TENSOR.items() if op.second.form == "rules"}
    assert {op.second.form for op in TENSOR.values()} == {"linear", "bilinear", "rules"}
    mutants = all_second_mutants()
    assert len(mutants) == 44 + 18 and all(m.cases for m in mutants)


@pytest.mark.parametrize("columns", OPTIONS)
@pytest.mark.parametrize("gate", sorted(SECOND_CASES) + sorted(SECOND_TENSOR_CASES))
def test_true_second_order_rules_pass(gate, columns):
    for case in SECOND_CASES.get(gate, []) + SECOND_TENSOR_CASES.get(gate, []):
        result = run_second(case, columns)
        assert result.status == "pass" and result.hessian[0].status == "pass", (case, result.message)


@pytest.mark.parametrize("columns", OPTIONS)
@pytest.mark.parametrize("mutant", all_second_mutants(), ids=second_id)
def test_second_order_mutant_is_caught(mutant, columns):
    registry = second_mutated(REGISTRY, mutant.op, mutant.kind, mutant.position)
    for case in mutant.cases:
        result = run_second(case, columns, registry)
        h = result.hessian[0]
        assert result.status == h.status == "mismatch", (case, h.diagnosis)
        wrong = [text for _, status, text in h.failing if status == "mismatch"]
        assert wrong and all(SECOND_BLAME in (text or "") for text in wrong), (case, h.failing)
        assert all(g.status == "pass" for g in result.gradients)  # the first order is untouched


@pytest.mark.parametrize("name,kind,position", sorted(SECOND_EQUIVALENT, key=str), ids=lambda v: str(v))
def test_equivalent_second_order_mutants(name, kind, position):
    gate = GATES[name]
    mutant = second_mutated(REGISTRY, name, kind, position)[name]
    for x, y in [(0.7, -1.2), (0.0, 0.0), (1.5, 1.5), (-2.0, 3.0)]:
        args = (np.array([x]), np.array([y]))[:len(gate.partials)]
        with np.errstate(all="ignore"):  # 1/0 and 0/0 at the origin: the same inf and nan either way
            ans = gate.forward(*args)
            for original, changed in zip(gate.second.partials, mutant.second.partials):
                assert np.array_equal(original(ans, *args), changed(ans, *args), equal_nan=True)
