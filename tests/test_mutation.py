"""Mutation test of the gate table: every wrong derivative rule must be caught and blamed on backprop.

For every gate and every partial we install mutants (scaled by 1.001, sign flipped, zeroed; and for
two-input gates the partials swapped) and check expressions at points where the rule matters. Each
mutant must turn every case that exercises it into a `mismatch` whose diagnosis blames the
derivative rule; the true rules must pass the same cases.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, NamedTuple

import numpy as np
import pytest

from gradcheck_cli import gates
from gradcheck_cli.check import CaseResult, Options, check_case
from gradcheck_cli.graph import build_graph
from gradcheck_cli.parser import parse

BLAME = "derivative rule or backward pass is wrong"
# with the SymPy column, and without it (then the complex step / finite differences alone must catch the mutant)
OPTIONS = {"exact": Options(exact_timeout=5), "numeric-only": Options(exact=False)}


class Case(NamedTuple):
    text: str
    point: dict[str, float]
    partials: tuple[int, ...] = (0, 1)  # input positions whose local derivative is non-zero and reaches f


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
}

Partial = Callable[..., np.ndarray]

# How each mutant changes one local derivative; `ans` (the first argument) gives the shape.
PARTIAL_MUTATIONS: dict[str, Callable[[Partial], Partial]] = {
    "scaled": lambda rule: lambda *args: 1.001 * rule(*args),
    "negated": lambda rule: lambda *args: -rule(*args),
    "zeroed": lambda rule: lambda *args: np.zeros_like(args[0]),
}

# add's two partials are both 1: swapping them is the same rule (asserted in test_equivalent_mutants).
EQUIVALENT = {("add", "swapped")}


class Mutant(NamedTuple):
    gate: str
    kind: str  # scaled | negated | zeroed | swapped
    position: int | None  # the mutated partial; None for swapped
    cases: tuple[Case, ...]


def mutate(gate: gates.Gate, kind: str, position: int | None) -> gates.Gate:
    if kind == "swapped":
        return dataclasses.replace(gate, partials=gate.partials[::-1])
    partials = list(gate.partials)
    partials[position] = PARTIAL_MUTATIONS[kind](partials[position])
    return dataclasses.replace(gate, partials=tuple(partials))


def all_mutants() -> list[Mutant]:
    mutants = []
    for name, gate in gates.GATES.items():
        cases = CASES.get(name, [])
        for position in range(len(gate.partials)):
            exercising = tuple(c for c in cases if position in c.partials)
            mutants += [Mutant(name, kind, position, exercising) for kind in PARTIAL_MUTATIONS]
        if len(gate.partials) == 2 and (name, "swapped") not in EQUIVALENT:
            mutants.append(Mutant(name, "swapped", None, tuple(cases)))
    return mutants


def mutant_id(m: Mutant) -> str:
    return f"{m.gate}-{m.kind}" + ("" if m.position is None else f"-d{m.position}")


def run(case: Case, columns: str = "exact") -> CaseResult:
    graph = build_graph(parse(case.text))
    return check_case(graph, case.point, graph.variables, OPTIONS[columns])


def test_every_gate_and_partial_is_exercised():
    # a new gate (or a new input) without cases would otherwise escape the mutation test
    assert set(CASES) == set(gates.GATES)
    for name, gate in gates.GATES.items():
        covered = {p for c in CASES[name] for p in c.partials}
        assert covered == set(range(len(gate.partials))), name
        assert all(name in {n.op for n in build_graph(parse(c.text)).nodes} for c in CASES[name]), name


@pytest.mark.parametrize("columns", OPTIONS)
@pytest.mark.parametrize("gate", sorted(CASES))
def test_true_rules_pass(gate, columns):
    # the unmutated table must give no mismatch (nor kink) on exactly the cases used below
    for case in CASES[gate]:
        result = run(case, columns)
        assert result.status == "pass", (case, result.message)


@pytest.mark.parametrize("columns", OPTIONS)
@pytest.mark.parametrize("mutant", all_mutants(), ids=mutant_id)
def test_mutant_is_caught(mutant, columns, monkeypatch):
    assert mutant.cases, f"no case exercises {mutant_id(mutant)}"
    monkeypatch.setitem(gates.GATES, mutant.gate, mutate(gates.GATES[mutant.gate], mutant.kind, mutant.position))
    for case in mutant.cases:
        result = run(case, columns)
        assert result.status == "mismatch", (case, result.status, result.message)
        wrong = [g for g in result.gradients if g.status == "mismatch"]
        assert wrong and all(BLAME in (g.diagnosis or "") for g in wrong), (case, result.message)


def test_equivalent_mutants():
    # the mutants left out really are the same rule, so leaving them out hides nothing
    for name, kind in EQUIVALENT:
        gate = gates.GATES[name]
        mutant = mutate(gate, kind, None)
        for case in CASES[name]:
            a, b = np.array([case.point.get("x", 1.0)]), np.array([case.point.get("y", 2.0)])
            ans = gate.forward(a, b)
            for original, changed in zip(gate.partials, mutant.partials):
                assert np.array_equal(original(ans, a, b), changed(ans, a, b))


def test_mutation_score_is_total():
    # 100 % of the non-equivalent mutants have at least one case (the parametrized test checks each is caught)
    mutants = all_mutants()
    expected = sum(3 * len(g.partials) + (len(g.partials) == 2) for g in gates.GATES.values()) - len(EQUIVALENT)
    assert len(mutants) == expected
    assert all(m.cases for m in mutants)
