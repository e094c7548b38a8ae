"""A program (a pasted forward/backward cell) → its forward graph, the user's d-lines, and a checked case.

The forward assignments become one graph (names are its nodes; a name assigned again is a new version
of it, as in Python); constants assigned before use are inputs with that value (--at overrides); the
last forward assignment is f. numpy's makers inside a line (`np.ones(3)`, `np.random.randn(2, 2)`) are
made once, in the cell's order, as hidden constants; `np.zeros_like(x)` is read as `0*x`. The d-lines
are judged line by line (judge.py); the inputs' gradients are checked as in `eval`, with the user's
final dNAME as claims.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from ..display import shorten_text
from ..errors import GradcheckError, PointError, Position
from ..inputs.claims import Claim
from ..inputs.points import PointContext, constant_value
from ..ir import Binding
from ..lang.expr import Expr
from ..lang.program import Program, Statement, block_error
from ..lang.tree import Node

_MADE = ("zeros", "ones", "full", "eye", "arange", "rand", "randn", "random", "randint", "uniform", "normal")
_LIKE = {"zeros_like": None, "ones_like": 1.0, "full_like": "fill_value"}


# how people spell the gradient of x: dx (cs231n, Karpathy) and dfdx, or as other courses and codebases do
D_SPELLINGS = (("d", ""), ("dfd", ""))
SPELLINGS = (*D_SPELLINGS, ("grad_", ""), ("", "_grad"), ("d_", ""), ("dL_d", ""), ("dLd", ""), ("dloss_d", ""),
             ("dlossd", ""))


@dataclass
class Plan:
    """What each statement of a program is."""

    program: Program
    bindings: list[Binding] = field(default_factory=list)  # forward lines, in order
    forward: list[Statement] = field(default_factory=list)  # the statement of each binding
    inputs: dict[str, np.ndarray] = field(default_factory=dict)  # constants assigned before use
    input_lines: dict[str, int] = field(default_factory=dict)  # where each input's value is assigned
    hidden: dict[str, np.ndarray] = field(default_factory=dict)  # what numpy's makers made inside lines, by their text
    backward: list[Statement] = field(default_factory=list)  # d-lines and their helpers, in order
    rules: dict[str, dict[str, Expr]] = field(default_factory=dict)  # gate -> argument -> rule
    notes: list[tuple[int, str]] = field(default_factory=list)  # (line, what is said about it)
    skipped: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # why -> (line, text): said once per why
    unseeded: bool = False  # random values were drawn before any np.random.seed of the cell (said once)
    spellings: tuple = D_SPELLINGS  # how the cell spells its d-lines (spellings_of)

    @property
    def output(self) -> str:
        return self.bindings[-1].name

    def versions(self, name: str) -> list[int]:
        """The lines that give `name` a value in the forward pass, in order (0 first for an input)."""
        lines = [b.origin[0] for b in self.bindings if b.name == name]
        return [0, *lines] if name in self.inputs else lines


def d_names(name: str, spellings: tuple = D_SPELLINGS) -> tuple[str, ...]:
    """Every spelling of the gradient of `name` that d_target reads as a d-line for it (dx, dfdx; grad_x, x_grad, ...
    in a cell that spells its gradients so)."""
    return tuple(f"{prefix}{name}{suffix}" for prefix, suffix in spellings)


def spellings_of(statements) -> tuple:
    """How the cell spells gradients: d-names (dx, dfdx) when any of its assignments is one of a name it assigns,
    else every spelling of SPELLINGS (grad_x, x_grad, d_x, dL_dx, ...). A cell of d-lines may name other things so
    (seed 004's numerical check `a_grad = (f(a+h) - f(a))/h`, before its forward pass)."""
    assigned = {s.target for s in statements if s.kind == "assign"}
    if any(d_target(s.target, assigned) for s in statements if s.kind == "assign"):
        return D_SPELLINGS
    return SPELLINGS


def d_target(name: str, known, spellings: tuple = D_SPELLINGS) -> tuple[str, int | None] | None:
    """What a d-line may be for: dx, dfdx, grad_x, x_grad, d_x, dL_dx, dLdx, dloss_dx, dlossdx → (x, None), and dw0
    → (w, 0) (the seeds' name for d w[0]) when x or w is a forward name or input; None for anything else (the
    user's own intermediate). Whether dw0 is an element of w or a helper of the user's own (dW1 = ... of shape W's)
    is decided by its value (judge.py)."""
    for prefix, suffix in spellings:
        if not (name.startswith(prefix) and name.endswith(suffix)) or len(name) <= len(prefix) + len(suffix):
            continue
        rest = name[len(prefix):len(name) - len(suffix)]
        if rest in known:
            return rest, None
        stem = rest.rstrip("0123456789")
        if prefix == "d" and stem and stem != rest and stem in known and len(rest) - len(stem) <= 2:
            return stem, int(rest[len(stem):])
    return None


def _reads(statement: Statement, known) -> set[str]:
    expr = statement.whole if statement.whole is not None else statement.expr
    # a name the cell assigned (e = np.exp(x)) shadows the constant of that name, as in Python
    return set(expr.variables) | {n.name for n in expr.nodes if n.op == "const" and n.name in known}


def plan_program(program: Program, context: PointContext) -> Plan:
    plan = Plan(program, spellings=spellings_of(program.statements))
    known: set[str] = set()
    read: set[str] = set()  # names the forward pass has read so far
    backward_names: set[str] = set()
    deferred: list[tuple[int, Statement]] = []  # unread statements and blocks, decided once the whole cell is planned
    started = None  # index of the first d-line
    for k, statement in enumerate(program.statements):
        if statement.kind == "skip":
            plan.skipped.setdefault(statement.note, []).append((statement.line, statement.text))
        elif statement.kind == "seed":
            context.reseed(statement.seed, "np.random.seed")
        elif statement.kind == "rule":
            _rule(plan, statement)
        elif statement.kind in ("unread", "block"):
            deferred.append((k, statement))
        elif started is None and not _starts_backward(program.statements, k, known, plan.spellings):
            _forward(plan, statement, known, read, context)
        else:
            started = k if started is None else started
            _backward(plan, statement, known, backward_names, context)
    _prune_backward(plan, known)
    _decide_deferred(plan, deferred, started)
    if not plan.bindings:
        constants = f" (every assignment is a constant: {', '.join(plan.inputs)})" if plan.inputs else ""
        raise GradcheckError(f"the program has no forward assignment (NAME = EXPR using its inputs): nothing to "
                             f"differentiate{constants}", Position(program.lines[0] if program.lines else "", 0, program.name, 1))
    _refuse_unreadable_calls(plan)
    plan.notes.sort(key=lambda note: note[0])
    return plan


def notes_text(plan: Plan) -> list[str]:
    """The notes as printed: `line N: ...`; lines skipped for the same reason are said once (`lines 8, 17, 30: a
    print: skipped`), with the statement itself when there is one."""
    said = [(line, f"line {line}: {text}") for line, text in plan.notes]
    for why, items in plan.skipped.items():
        items = sorted(items)
        if len(items) == 1:
            said.append((items[0][0], f"line {items[0][0]}: {why}: {shorten_text(' '.join(items[0][1].split()), 60)}"))
        else:
            said.append((items[0][0], f"lines {', '.join(str(line) for line, _ in items)}: {why}"))
    return [text for _, text in sorted(said, key=lambda item: item[0])]


def _starts_backward(statements, k: int, known: set[str], spellings: tuple) -> bool:
    """The first d-line: dNAME of a forward name, or a d-name close to one (dqq for dq, a typo) when no forward
    assignment (a name not starting with d) follows it."""
    target = statements[k].target
    if d_target(target, known, spellings) is not None:
        return True
    return typo_of(target, known, set()) is not None and not any(
        s.kind == "assign" and not s.target.startswith("d") for s in statements[k + 1:])


def _forward(plan: Plan, statement: Statement, known: set[str], read: set[str], context: PointContext) -> None:
    target = statement.target
    reads = _reads(statement, known)
    if statement.operator == "=" and not reads and not _calls_user(statement.expr, plan.program) \
            and (target not in known or (target in plan.inputs and target not in read)):
        plan.inputs[target] = _constant(plan, statement, context)  # a constant assigned again before use: the last one
        plan.input_lines[target] = statement.line
        known.add(target)
        return
    expr = statement.whole if statement.operator != "=" else statement.expr
    column = statement.column if statement.operator != "=" else statement.expr_column
    expr = _made(plan, expr, statement, context)
    read.update(reads)
    known.update(reads)
    known.add(target)
    plan.bindings.append(Binding(target, expr, (statement.line, column)))
    plan.forward.append(replace(statement, expr=expr, expr_column=column, operator="=", whole=None))


def _backward(plan: Plan, statement: Statement, known: set[str], backward_names: set[str], context: PointContext) -> None:
    """After the first d-line: d-lines and the helpers they read; a forward-looking line there is kept for now and
    dropped by _prune_backward when no d-line reads it. A constant given again to a forward name or input starts
    another forward pass (two notebook cells pasted as one): refused, saying where to cut."""
    if statement.operator == "=" and statement.target in known and d_target(statement.target, known, plan.spellings) is None \
            and not _reads(statement, known) and not _calls_user(statement.expr, plan.program):
        first = plan.backward[0].line if plan.backward else statement.line
        raise plan.program.error(f"'{statement.target} = ...' after the backward pass (from line {first}) starts another "
                                 f"forward pass: gradcheck checks one forward and backward pass at a time; check lines "
                                 f"1-{statement.line - 1} and the lines from {statement.line} on as two cells",
                                 statement.line, statement.column)
    statement = _accumulation(statement)
    plan.backward.append(replace(statement, expr=_made(plan, statement.expr, statement, context)))
    if d_target(statement.target, known, plan.spellings) is not None or _reads(statement, known) & backward_names:
        backward_names.add(statement.target)


def _accumulation(statement: Statement) -> Statement:
    """`dx = dx + e` is `dx += e` (and `dx = e + dx`, `dx = dx - e`): one more contribution, not a step back."""
    expr = statement.expr
    nodes = expr.nodes
    root = nodes[-1] if statement.operator == "=" and len(nodes) > 2 else None
    if root is None or root.op not in ("add", "sub"):
        return statement
    left, right = root.args
    for mine, other, operator in ((left, right, "+=" if root.op == "add" else "-="), (right, left, "+=")):
        if nodes[mine].op == "var" and nodes[mine].name == statement.target and (operator != "+=" or root.op == "add" or mine == left):
            first = other
            while nodes[first].args:  # post-order: a subtree is the run of nodes ending at its root
                first = nodes[first].args[0]
            part = tuple(Node(n.op, tuple(a - first for a in n.args), n.start, n.end, n.name, n.value, n.params, n.at)
                         for n in nodes[first:other + 1])
            return replace(statement, operator=operator, expr=Expr(expr.text, part))
    return statement


def _prune_backward(plan: Plan, known: set[str]) -> None:
    """Lines after the backward pass began that no d-line needs (a recomputation for a print, a numerical check the
    notebook does by hand) are skipped with a note; a d-named helper nothing reads that looks like a forward name
    with no line of its own is kept: judge.py calls it a typo."""
    needed: set[str] = set()
    kept: list[Statement] = []
    targets = {s.target for s in plan.backward}
    for statement in reversed(plan.backward):
        key = d_target(statement.target, known, plan.spellings)
        if key is not None or statement.target in needed or typo_of(statement.target, known, targets) is not None:
            kept.append(statement)
            needed.update(_reads(statement, known))
            continue
        what = "not a d-line (d + no forward name), and no d-line reads it" if statement.target.startswith("d") \
            else "after the backward pass began, and no d-line reads it"
        plan.skipped.setdefault(f"{what}: skipped", []).append((statement.line, statement.text))
    plan.backward = kept[::-1]


def typo_of(target: str, known: set[str], targets: set[str]) -> str | None:
    """The forward name a d-helper's name is a typo of (dna for dn1), when that name has no d-line of its own."""
    import difflib

    if not target.startswith("d") or len(target) < 2:
        return None
    close = difflib.get_close_matches(target[1:], sorted(known), n=5, cutoff=0.5)
    return next((c for c in close if f"d{c}" not in targets and f"dfd{c}" not in targets), None)


def _decide_deferred(plan: Plan, deferred: list[tuple[int, Statement]], started: int | None) -> None:
    """A line gradcheck cannot read is skipped with a note when nothing depends on it, else an error saying what to write."""
    program = plan.program
    statements = program.statements
    last_backward = max((s.line for s in plan.backward), default=0)
    for k, statement in deferred:
        if statement.kind == "block":
            if started is not None and statement.line > last_backward:
                plan.notes.append((statement.line, f"a '{statement.target}' block after the backward pass: skipped "
                                                   f"(lines {statement.line}-{statement.end_line})"))
                continue
            raise block_error(program, statement)
        reader = next(filter(None, (_first_use(program, statements[k + 1:], t) for t in statement.targets)), None)
        last_forward = (started is None or k < started) and not any(b.origin[0] > statement.line for b in plan.bindings)
        if reader is None and not last_forward:
            later = [s for s in statements[k + 1:] if s.kind != "skip"]
            draws = "; its random draws are not made, so the later draws differ from the notebook's" \
                if re.search(r"\brandom\b", statement.text) and any(re.search(r"\brandom\b", s.text) for s in later) else ""
            again = next((s.line for s in later if s.kind == "assign" and s.target in statement.targets), None)
            plan.notes.append((statement.line, f"{statement.note}; nothing uses {', '.join(statement.targets)} before "
                                               f"{f'line {again} assigns it again' if again else 'the end'}: skipped{draws}"))
            continue
        used = f" ({statement.target} is used on line {reader.line})" if reader else ""
        raise program.error(f"{statement.note}{used}", statement.line, statement.expr_column)


def _first_use(program: Program, statements, name: str) -> Statement | None:
    """The first statement that reads `name` (by its text, so unread lines and blocks count), or None when an
    assignment that does not read it comes first, or nothing mentions it."""
    word = re.compile(rf"(?<![\w.]){re.escape(name)}\b")
    for statement in statements:
        if statement.kind in ("skip", "seed"):
            continue
        text = "\n".join(program.lines[statement.line - 1:statement.end_line]) if statement.kind == "block" else statement.text
        if statement.kind in ("assign", "unread") and name in (statement.targets or (statement.target,)):
            rhs = text[text.index("=") + 1:] if "=" in text else ""
            if word.search(rhs) is None and statement.operator == "=":
                return None
            return statement
        if word.search(text):
            return statement
    return None


def _refuse_unreadable_calls(plan: Plan) -> None:
    program = plan.program
    for statement in [*plan.forward, *plan.backward]:
        for node in statement.expr.nodes:
            if node.op in program.unreadable:
                problem = program.unreadable[node.op]
                p = problem.position
                raise GradcheckError(f"function '{node.op}' (called on line {statement.line}) cannot be inlined: "
                                     f"{problem.message}; or check it with `gradcheck function FILE.py:{node.op} "
                                     "--grad FILE.py:GRAD`", p)


def _made(plan: Plan, expr: Expr, statement: Statement, context: PointContext) -> Expr:
    """The expression with each of numpy's makers made once (a hidden constant named by its text, drawn in the cell's
    order) and `np.zeros_like(a)` as `0*a` (`ones_like` as `0*a + 1`)."""
    if not any(n.op in _MADE or n.op in _LIKE for n in expr.nodes):
        return expr
    nodes: list[Node] = []
    where: list[int] = []  # old index -> new index
    for node in expr.nodes:
        args = tuple(where[a] for a in node.args)
        if node.op in _MADE:
            name = _hidden(plan, expr.text[node.start:node.end], statement, context)
            nodes.append(Node("var", (), node.start, node.end, name))
        elif node.op in _LIKE:
            fill = _LIKE[node.op]
            fill = float(dict(node.params).get("fill_value", 0.0)) if fill == "fill_value" else fill
            nodes.append(Node("num", (), node.start, node.end, "", 0.0))
            nodes.append(Node("mul", (len(nodes) - 1, args[0]), node.start, node.end, at=node.at))
            if fill:
                nodes.append(Node("num", (), node.start, node.end, "", float(fill)))
                nodes.append(Node("add", (len(nodes) - 2, len(nodes) - 1), node.start, node.end, at=node.at))
        else:
            nodes.append(Node(node.op, args, node.start, node.end, node.name, node.value, node.params, node.at))
        where.append(len(nodes) - 1)
    return Expr(expr.text, tuple(nodes))


def _hidden(plan: Plan, text: str, statement: Statement, context: PointContext) -> str:
    name, k = text, 1
    while name in plan.hidden:
        k += 1
        name = f"{text} #{k}"
    drawn = context.draws
    try:
        plan.hidden[name] = constant_value(text, context, literals=dict(statement.integers))
    except GradcheckError as problem:
        line = plan.program.lines[statement.line - 1]
        offset = line.find(text) + (problem.position.offset if problem.position else 0)
        raise type(problem)(problem.message, Position(line, max(0, offset), plan.program.name, statement.line)) from None
    _note_draws(plan, drawn, statement, context)
    return name


def _note_draws(plan: Plan, before: int, statement: Statement, context: PointContext) -> None:
    """Random values the cell drew without its own np.random.seed: said once, with the seed that was used."""
    if context.draws == before or context.seeded != "--seed" or plan.unseeded:
        return
    plan.unseeded = True
    plan.notes.append((statement.line, f"np.random drew with seed {context.seed} (the cell sets no np.random.seed "
                                       f"before this line; --seed is {context.seed}): the values differ from the "
                                       "notebook's; put np.random.seed(N) in the cell or pass --seed N"))


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


def _calls_user(expr: Expr, program: Program) -> bool:
    return any(n.op in program.functions or n.op in program.unreadable for n in expr.nodes)


def _constant(plan: Plan, statement: Statement, context: PointContext) -> np.ndarray:
    program = plan.program
    text = program.lines[statement.line - 1]
    rhs = statement.expr.text
    drawn = context.draws
    try:
        value = constant_value(rhs, context, literals=dict(statement.integers))
    except GradcheckError as problem:
        offset = problem.position.offset if problem.position else 0
        raise type(problem)(problem.message, Position(text, statement.expr_column + offset, program.name, statement.line)) from None
    _note_draws(plan, drawn, statement, context)
    if value.size == 0:
        raise PointError(f"{statement.target} is empty (shape {value.shape}): give it at least one element",
                         Position(text, statement.expr_column, program.name, statement.line))
    return value


def program_claims(plan: Plan, finals: dict[str, np.ndarray], inputs: tuple[str, ...],
                   shapes: dict[str, tuple[int, ...]], output: tuple[int, ...] = ()) -> dict[str, Claim]:
    """The user's final dINPUT values, judged against the exact gradient like any claim (a Jacobian, output indices
    first, when f is not a scalar). A value of another shape (a transposed dW) is no claim: reshaped into place it
    would compare shuffled elements; its line says why."""
    out = tuple(output) if math.prod(output) != 1 else ()
    return {v: Claim(v, None, value=finals[v]) for v in inputs
            if v in finals and (np.shape(finals[v]) == out + tuple(shapes[v]) or np.size(finals[v]) == math.prod(shapes[v]) == 1)}


def definitions(program: Program):
    """The user's functions and gates as the oracle inlines them (bodies only, never rules)."""
    from ..oracle.lower import Definition

    return {name: Definition(f.parameters, f.result, tuple((s.target, s.expr) for s in f.body))
            for name, f in program.functions.items()}


def inputs_of(graph, plan: Plan, overrides: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The point, in the order the cell assigns its inputs (x = 3 before y = -4), whatever order they are used in;
    made values (np.ones(3) inside a line) last. Every input without a value is named in one message."""
    order = [*plan.inputs, *plan.hidden]
    point = {}
    missing = []
    for name in sorted(graph.variables, key=lambda n: order.index(n) if n in order else len(order)):
        if name in overrides:
            point[name] = overrides[name]
        elif name in plan.inputs:
            point[name] = plan.inputs[name]
        elif name in plan.hidden:
            point[name] = plan.hidden[name]
        else:
            missing.append(name)
    if missing:
        first, column = _first_reader(plan, set(missing))
        names = ", ".join(f"'{m}'" for m in missing)
        many = len(missing) > 1
        raise PointError(f"{'inputs' if many else 'input'} {names} {'have' if many else 'has'} no value: assign "
                         f"{'them' if many else 'it'} before line {first.line} ({missing[0]} = ...) or give "
                         f"--at \"{', '.join(f'{m}=...' for m in missing)}\"",
                         Position(plan.program.lines[first.line - 1], column, plan.program.name, first.line))
    return point


def _first_reader(plan: Plan, names: set[str]) -> tuple[Statement, int]:
    """The first forward line that reads one of `names`, itself or through a function it calls; where in it."""
    functions = plan.program.functions
    for statement in plan.forward:
        for node in statement.expr.nodes:
            if node.op == "var" and node.name in names:
                return statement, statement.expr_column + node.start
            called = functions.get(node.op)
            if called is not None and names & {n for e in (called.result, *(s.expr for s in called.body)) for n in e.variables}:
                return statement, statement.expr_column + node.start
    return plan.forward[0], plan.forward[0].expr_column


def read_names(plan: Plan) -> list[str]:
    """Names the forward pass reads, directly or as globals of the functions it calls (softmax's EPS)."""
    functions = plan.program.functions
    names = []
    for statement in plan.forward:
        for node in statement.expr.nodes:
            if node.op == "var" and node.name not in plan.hidden:
                names.append(node.name)
            called = functions.get(node.op)
            if called is not None:
                local = {*called.parameters, *(s.target for s in called.body)}
                names += [n for e in (*(s.expr for s in called.body), called.result) for n in e.variables if n not in local]
    return names
