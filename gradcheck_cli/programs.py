"""A program (a pasted forward/backward cell) → its forward graph, the user's d-lines, and a checked case.

The forward assignments become one graph (names are its nodes); constants assigned before use are
inputs with that value (--at overrides); the last forward assignment is f. The d-lines are judged line
by line (lines.py); the inputs' gradients are checked as in `eval`, with the user's final dNAME as claims.
"""

from __future__ import annotations

import math

from dataclasses import dataclass, field, replace

import numpy as np

from .claims import Claim
from .errors import GradcheckError, PointError, Position
from .ir import Binding, build_program
from .lang.expr import Expr
from .lang.program import Program, Statement
from .points import PointContext, constant_value
from .results import CaseResult


@dataclass
class Plan:
    """What each statement of a program is."""

    program: Program
    bindings: list[Binding] = field(default_factory=list)  # forward lines, in order
    forward: list[Statement] = field(default_factory=list)
    inputs: dict[str, np.ndarray] = field(default_factory=dict)  # constants assigned before use
    backward: list[Statement] = field(default_factory=list)  # d-lines and their helpers, in order
    rules: dict[str, dict[str, Expr]] = field(default_factory=dict)  # gate -> argument -> rule
    notes: list[tuple[int, str]] = field(default_factory=list)

    @property
    def output(self) -> str:
        return self.bindings[-1].name


def d_target(name: str, known) -> tuple[str, int | None] | None:
    """What a d-line is for: dx → (x, None), dfdx → (x, None), dw0 → (w, 0) (the seeds' name for d w[0]) when
    x or w is a forward name or input; None for anything else (the user's own intermediate)."""
    for prefix in ("dfd", "d"):
        rest = name[len(prefix):] if name.startswith(prefix) else None
        if rest is None:
            continue
        if rest in known:
            return rest, None
        stem = rest.rstrip("0123456789")
        if stem and stem != rest and stem in known and len(rest) - len(stem) <= 2:
            return stem, int(rest[len(stem):])
    return None


def plan_program(program: Program, context: PointContext) -> Plan:
    plan = Plan(program)
    known: set[str] = set()
    backward_names: set[str] = set()
    for statement in program.statements:
        if statement.kind == "skip":
            plan.notes.append((statement.line, f"{statement.note}: {statement.text[:60]}"))
        elif statement.kind == "seed":
            context.reseed(statement.seed)
        elif statement.kind == "rule":
            _rule(plan, statement)
        else:
            _assignment(plan, statement, known, backward_names, context)
    if not plan.bindings:
        raise GradcheckError("the program has no forward assignment (NAME = EXPR using its inputs): nothing to differentiate",
                             Position(program.lines[0] if program.lines else "", 0, program.name, 1))
    return plan


def _rule(plan: Plan, statement: Statement) -> None:
    program = plan.program
    function = program.functions.get(statement.target)
    if function is None or not function.gate:
        raise program.error(f"a rule for '{statement.target}', which is not a gate defined above "
                            f"(define it first: def {statement.target}(t) = EXPR)", statement.line, statement.column)
    if statement.argument not in function.parameters:
        raise program.error(f"gate '{statement.target}' has no argument '{statement.argument}' "
                            f"(its arguments: {', '.join(function.parameters)})", statement.line, statement.column)
    plan.rules.setdefault(statement.target, {})[statement.argument] = statement.expr


def _assignment(plan: Plan, statement: Statement, known: set[str], backward_names: set[str], context: PointContext) -> None:
    # a name the cell assigned (e = np.exp(x)) shadows the constant of that name, as in Python
    reads = set(statement.expr.variables) | {n.name for n in statement.expr.nodes if n.op == "const" and n.name in known}
    target = statement.target
    if d_target(target, known) is not None or reads & backward_names:
        plan.backward.append(statement)
        backward_names.add(target)
    elif plan.backward:
        plan.notes.append((statement.line, f"after the backward pass (not part of the checked forward pass): skipped: {statement.text[:60]}"))
    elif statement.operator != "=":
        raise plan.program.error(f"'{target} {statement.operator} ...' in the forward pass: write {target} = {target} "
                                 f"{statement.operator[0]} (...) so the new value has a line of its own", statement.line, statement.column)
    elif not reads and target not in known and not _calls_user(statement.expr, plan.program):
        plan.inputs[target] = _constant(plan.program, statement, context)
        known.add(target)
    else:
        known.update(reads)
        known.add(target)
        plan.bindings.append(Binding(target, statement.expr, (statement.line, statement.expr_column)))
        plan.forward.append(statement)


def _calls_user(expr: Expr, program: Program) -> bool:
    return any(n.op in program.functions for n in expr.nodes)


def _constant(program: Program, statement: Statement, context: PointContext) -> np.ndarray:
    text = program.lines[statement.line - 1]
    rhs = statement.text[statement.expr_column - statement.column:]
    try:
        return constant_value(rhs, context)
    except GradcheckError as problem:
        offset = problem.position.offset if problem.position else 0
        raise type(problem)(problem.message, Position(text, statement.expr_column + offset, program.name, statement.line)) from None


def read_overrides(text: str, names: tuple[str, ...], context: PointContext) -> dict[str, np.ndarray]:
    """--at for a program: values for some of its inputs (the rest keep the program's constants)."""
    from .lang.values import parse_items
    from .points import _item_value, _put, read_file

    values: dict[str, np.ndarray] = {}
    for item in parse_items(text, "point", "--at", files=True):
        if item.kind == "seed":
            context.reseed(int(item.value))
        elif not item.name:
            for name, value in read_file(item.value, context, text, item.value_offset, "--at").items():
                _put(values, name, value, names, text, item.value_offset, "--at")
        else:
            _put(values, item.name, _item_value(item, context, text, "--at"), names, text, item.name_offset, "--at")
    return values


def program_claims(plan: Plan, finals: dict[str, np.ndarray], inputs: tuple[str, ...],
                   shapes: dict[str, tuple[int, ...]]) -> dict[str, Claim]:
    """The user's final dINPUT values, judged against the exact gradient like any claim. A value of another shape
    (a transposed dW) is no claim: reshaped into place it would compare shuffled elements; its line says why."""
    return {v: Claim(v, None, value=finals[v]) for v in inputs
            if v in finals and (np.shape(finals[v]) == tuple(shapes[v]) or np.size(finals[v]) == math.prod(shapes[v]) == 1)}


def definitions(program: Program):
    """The user's functions and gates as the oracle inlines them (bodies only, never rules)."""
    from .oracle.lower import Definition

    return {name: Definition(f.parameters, f.result, tuple((s.target, s.expr) for s in f.body))
            for name, f in program.functions.items()}


def inputs_of(graph, plan: Plan, overrides: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The point, in the order the cell assigns its inputs (x = 3 before y = -4), whatever order they are used in."""
    point = {}
    for name in sorted(graph.variables, key=lambda n: list(plan.inputs).index(n) if n in plan.inputs else len(plan.inputs)):
        if name in overrides:
            point[name] = overrides[name]
        elif name in plan.inputs:
            point[name] = plan.inputs[name]
        else:
            first = next((s for s in plan.forward if name in s.expr.variables), plan.forward[0])
            raise PointError(f"input '{name}' has no value: give it with --at {name}=... or assign a constant before "
                             f"line {first.line}", Position(plan.program.lines[first.line - 1], first.expr_column,
                                                             plan.program.name, first.line))
    return point


@dataclass(frozen=True)
class ProgramRun:
    case: CaseResult
    graph: object  # the forward pass as a gate graph (for --graph pictures)
    point: dict[str, np.ndarray]


def check_program(program: Program, context: PointContext, options, at_text: str | None = None,
                  wrt: tuple[str, ...] | None = None) -> CaseResult:
    """The whole check of one program: its lines, then its inputs' gradients."""
    return run_program(program, context, options, at_text, wrt).case


def run_program(program: Program, context: PointContext, options, at_text: str | None = None,
                wrt: tuple[str, ...] | None = None) -> ProgramRun:
    """check_program, with the graph and the point it ran at."""
    from .cases import check_points
    from .lines import judge_lines
    from .ops.user import user_gates

    plan = plan_program(program, context)
    registry = user_gates(program.functions, plan.rules, context.registry)
    inline = {n: f for n, f in program.functions.items() if not (f.gate and n in plan.rules)}
    overrides = read_overrides(at_text, tuple(dict.fromkeys([*plan.inputs, *_read_names(plan)])), context) if at_text else {}
    shapes = {n: np.shape(v) for n, v in {**plan.inputs, **overrides}.items()}
    graph = build_program(plan.bindings, registry, shapes, inline)
    point = inputs_of(graph, plan, overrides)
    checked = tuple(v for v in graph.variables if wrt is None or v in wrt)
    # the d-lines are judged against the truth: gates inlined to their bodies, never through the user's own rules
    truth_graph = build_program(plan.bindings, registry, shapes, dict(program.functions)) if plan.rules else graph
    lines = judge_lines(truth_graph, plan, point, inline, options)
    claims = program_claims(plan, lines.finals, checked, graph.shapes)
    case = check_points(graph, [point], checked, options, claims, program.name, (
        [(b.name, b.expr) for b in plan.bindings], definitions(program)))[0]
    case = _with_audits(lines.attach(case, plan), program, plan, graph, point, registry, options)
    return ProgramRun(replace(case, expr=_shown(program, plan)), graph, point)


def _shown(program: Program, plan: Plan) -> str:
    """How a program case is named in reports: its file and what f is."""
    last = plan.forward[-1]
    return f"{program.name}: {last.target} ={last.text[last.expr_column - last.column:]}"


def _with_audits(case: CaseResult, program: Program, plan: Plan, graph, point, registry, options) -> CaseResult:
    """Every user gate with rules audited on its own; a wrong rule fails the case, named by gate and argument."""
    from .audit import audit, used_points
    from .engine import forward

    if not plan.rules:
        return case
    values = forward(graph, {v: np.asarray(point[v])[None] for v in graph.variables})
    audits = []
    for name, rules in plan.rules.items():
        function = program.functions[name]
        audits += audit(function, rules, registry, options, used_points(graph, values, name, function.parameters),
                        definitions(program))
    extras = {**case.extras, "gates": audits}
    wrong = [a.message for a in audits if a.status != "pass"]
    if not wrong:
        return replace(case, extras=extras)
    status = "error" if case.status == "error" else "mismatch"
    return replace(case, status=status, extras=extras, message="; ".join([*wrong, *filter(None, [case.message])]))


def _read_names(plan: Plan) -> list[str]:
    return [n for s in plan.forward for n in s.expr.variables]
