"""A program checked: its plan, the forward graph (user gates with their own rules), its d-lines judged line by line
(judge.py; where all hold at the cell's values, at a few random draws too: probe.py), its inputs' gradients checked
as in `eval` with the user's final dNAME as claims, and each user gate audited on its own (audit.py)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import GradcheckError, Position
from ..inputs.points import PointContext, read_overrides
from ..ir import Graph, build_program
from ..lang.program import Program
from ..results import CaseResult
from .plan import Plan, d_target, definitions, inputs_of, plan_program, program_claims, read_names


@dataclass(frozen=True)
class ProgramRun:
    """A checked program: its case, its forward pass as a graph and the point it ran at."""

    case: CaseResult
    graph: Graph  # the forward pass as a gate graph (for --graph pictures)
    point: dict[str, np.ndarray]


def check_program(program: Program, context: PointContext, options, at_text: str | None = None,
                  wrt: tuple[str, ...] | None = None, draws: bool | None = None) -> CaseResult:
    """The whole check of one program: its lines, then its inputs' gradients."""
    return run_program(program, context, options, at_text, wrt, draws).case


def run_program(program: Program, context: PointContext, options, at_text: str | None = None,
                wrt: tuple[str, ...] | None = None, draws: bool | None = None) -> ProgramRun:
    """check_program, with the graph and the point it ran at. `draws`: whether random draws of the inputs are judged
    when every d-line holds (probe.py); None: at the cell's own values yes, at a point given with `at_text` no (the
    notebook's values are the cell's own: it says True with them)."""
    from ..eval.user_gates import user_gates
    from ..expression.check import check_points
    from .judge import judge_lines
    from .probe import first_failing

    plan = plan_program(program, context)
    registry = user_gates(program.functions, plan.rules, context.registry)
    inline = {n: f for n, f in program.functions.items() if not (f.gate and n in plan.rules)}
    overrides = read_overrides(at_text, tuple(dict.fromkeys([*plan.inputs, *read_names(plan)])), context) if at_text else {}
    shapes = {n: np.shape(v) for n, v in {**plan.inputs, **plan.hidden, **overrides}.items()}
    try:
        graph = build_program(plan.bindings, registry, shapes, inline)
    except GradcheckError as problem:
        raise _located(plan, problem) from None
    point = inputs_of(graph, plan, overrides)
    unused = _unused_inputs(graph, plan) if wrt is None else set()
    checked = tuple(v for v in graph.variables if (wrt is None or v in wrt) and v not in plan.hidden and v not in unused)
    # the d-lines are judged against the truth: gates inlined to their bodies, never through the user's own rules
    truth_graph = build_program(plan.bindings, registry, shapes, dict(program.functions)) if plan.rules else graph
    lines = judge_lines(truth_graph, plan, point, inline, options)
    probe = None
    if (draws if draws is not None else at_text is None) and lines.first_wrong is None:  # right at random draws too?
        probe = first_failing(truth_graph, plan, point, inline, options, checked, context.seed)
        if probe is not None:
            point, lines = probe.point, probe.lines
            plan.notes.append(probe.note)
    claims = program_claims(plan, lines.finals, checked, graph.shapes, graph.nodes[-1].shape)
    case = check_points(graph, [point], checked, options, claims, program.name, (
        [(b.name, b.expr) for b in plan.bindings], definitions(program)))[0]
    case = _with_audits(lines.attach(case, plan), program, plan, graph, point, registry, options)
    if probe is not None:
        case = replace(case, message=f"{probe.said}: {case.message}")
    case = replace(case, expr=_shown(program, plan), point={k: v for k, v in case.point.items() if k not in plan.hidden})
    return ProgramRun(case, graph, point)


def _unused_inputs(graph, plan: Plan) -> set[str]:
    """Inputs f does not depend on and no d-line is for (h = 0.0001 of the notebook's own finite differences): not
    checked, with a note."""
    reach = {len(graph.nodes) - 1}
    for index in range(len(graph.nodes) - 1, -1, -1):
        if index in reach:
            reach.update(graph.nodes[index].inputs)
    unused = {v for v, node in zip(graph.variables, graph.variable_nodes) if node not in reach and v not in plan.hidden
              and not any(d_target(s.target, {v}, plan.spellings) for s in plan.backward)}
    if unused:
        names = [v for v in graph.variables if v in unused]
        plan.notes.append((min(plan.input_lines.get(v, plan.forward[0].line) for v in names),
                           f"f does not depend on {', '.join(names)}: {'they are' if len(names) > 1 else 'it is'} not checked"))
    return unused


def _located(plan: Plan, problem: GradcheckError) -> GradcheckError:
    """An error from building the forward graph (a shape that does not fit, a function that calls itself), placed at
    its line and column of the cell: the error knows only the text of the expression it came from."""
    p = problem.position
    if p is not None and p.file is not None:
        return problem
    program = plan.program
    places = [(b.expr.text, b.origin) for b in plan.bindings]
    for function in program.functions.values():
        places += [(s.expr.text, (s.line, s.expr_column)) for s in function.body]
        places.append((function.result.text, (function.line, function.result_column)))
    origin = next((o for text, o in places if p is not None and text == p.text), None)
    if origin is None:
        called = next((f for name, f in program.functions.items() if f"'{name}'" in problem.message), None)
        origin, offset = ((called.defined, 0), 0) if called else (plan.bindings[-1].origin, 0)
    else:
        offset = p.offset
    line, column = origin
    return type(problem)(problem.message, Position(program.lines[line - 1], column + offset, program.name, line))


def _shown(program: Program, plan: Plan) -> str:
    """How a program case is named in reports: its file and what f is."""
    last = plan.forward[-1]
    return f"{program.name}: {last.target} = {last.expr.text.strip()}" if last.expr_column > last.column \
        else f"{program.name}: {last.text}"


def _with_audits(case: CaseResult, program: Program, plan: Plan, graph, point, registry, options) -> CaseResult:
    """Every user gate with rules audited on its own; a wrong rule fails the case, named by gate and argument."""
    from ..eval.engine import forward
    from .audit import audit, used_points

    if not plan.rules:
        return case
    values = forward(graph, {v: np.asarray(point[v])[None] for v in graph.variables})
    audits = []
    for name, rules in plan.rules.items():
        function = program.functions[name]
        audits += audit(function, rules, registry, options, used_points(graph, values, name, function.parameters),
                        definitions(program))
    case = replace(case, gates=tuple(audits))
    wrong = [a.message for a in audits if a.status != "pass"]
    if not wrong:
        return case
    status = "error" if case.status == "error" else "mismatch"
    return replace(case, status=status, message="; ".join([*wrong, *filter(None, [case.message])]))
