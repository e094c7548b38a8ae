"""The user's backward pass, line by line: each d-line judged on its own (every d-name it reads replaced by
the true df/d(that name)), each dNAME's final value against the truth, and the first wrong line named.

A line for NAME is right when its value equals the contribution of some of NAME's uses (one line per
use, as the seeds write `dx = ...; dx += ...`), or all of them. What a wrong line got wrong is said in
words where it can be told (diagnose.py), and here: `=` where `+=` was needed, a use left out.

A forward name assigned more than once (`h = w*x`, then `h = np.tanh(h)`) has one version per
assignment, and `dh` follows the backward pass through them as a person writes it: it starts as the
gradient of the last version; a line `dh = <expression reading dh>` (or `dh *= ...`) is the gradient of
the version before, and the versions it reads are the ones before the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import GradcheckError
from ..eval.engine import backward, branch_signs, contributions_into, forward
from ..ir import Binding, Graph, build_program
from ..lang.program import Function, Statement
from ..results import CaseResult, LineResult
from ..verdict import Tolerances, agree
from ..report.text import values_text
from .diagnose import close_enough, diagnose
from .plan import Plan, d_names, d_target, notes_text, typo_of

SUBSETS = 10  # uses of one name whose every combination is tried (2**10 sums); past that only single uses and all


@dataclass
class Lines:
    """A program's judged backward lines, and the user's final value of each gradient."""

    rows: list[LineResult] = field(default_factory=list)
    finals: dict[str, np.ndarray] = field(default_factory=dict)  # the user's last value of each dNAME, by NAME

    @property
    def first_wrong(self) -> LineResult | None:
        """The cause: a wrong line or one that raised, the nearest f first; a consequence only when nothing else is wrong."""
        wrong = [r for r in self.rows if r.status in ("wrong", "error")]
        return min(wrong, key=lambda r: (r.consequence, r.order)) if wrong else None

    def attach(self, case: CaseResult, plan: Plan) -> CaseResult:
        first = self.first_wrong
        case = replace(case, lines=tuple(self.rows), first_wrong_line=first.line if first else None,
                       notes=tuple(notes_text(plan)))
        if first is None:
            return case
        status = "error" if first.status == "error" or case.status == "error" else "mismatch"
        unjudged = first.status == "error" and first.true is not None and not np.all(np.isfinite(first.true))
        message = f"line {first.line} ({first.text.strip()[:60]}) {'could not be judged' if unjudged else 'is wrong'}: {first.diagnosis}"
        return replace(case, status=status, message="; ".join(filter(None, (message, case.message))))


class _Unassigned(GradcheckError):
    """A line reads a name no line before it assigned."""


@dataclass
class _State:
    """The program at its point: values of every name, the truth for every version of every name, their uses."""

    graph: Graph
    plan: Plan
    functions: dict[str, Function]  # the user's functions the truth inlines
    tolerance: Tolerances
    env: dict[str, np.ndarray]  # forward names (their last values), inputs, made constants
    truth: dict[str, np.ndarray]  # version key -> df/d(that version)
    uses: dict[str, dict[int, np.ndarray]]  # version key -> line of a use -> that use's contribution
    node: dict[str, int]  # version key -> its node
    kinked: set[str]  # version keys whose df/d(it) goes through a piecewise op sitting on its kink
    versions: dict[str, list[str]] = field(default_factory=dict)  # name -> its version keys, oldest first
    labels: dict[str, str] = field(default_factory=dict)  # version key -> how messages name it
    assigned: set[str] = field(default_factory=set)  # every name some statement of the cell assigns
    failed: dict[str, int] = field(default_factory=dict)  # d-names whose line could not be computed -> that line

    def label(self, key: str) -> str:
        return self.labels.get(key, key)


def judge_lines(graph, plan: Plan, point: dict[str, np.ndarray], functions: dict, options) -> Lines:
    if not plan.backward:
        return Lines()
    state = _state(graph, plan, point, functions, options.tolerances)
    lines = Lines()
    user: dict[str, np.ndarray] = {}
    true_env: dict[str, np.ndarray] = {}
    own: dict[tuple, np.ndarray] = {}  # each version's d-value accumulated from its lines judged alone (true inputs)
    per_key: dict[tuple, list[tuple[Statement, LineResult, tuple]]] = {}
    cursor = {name: len(keys) - 1 for name, keys in state.versions.items()}
    judged: list[tuple[Statement, dict, object]] = []  # per row: its statement, the truths it read, its key
    steps: dict[tuple, np.ndarray] = {}  # per key, its last line's value with true inputs (the steps so far)
    for statement in plan.backward:
        truths = _true_names(state, cursor, true_env)
        key = _key(state, statement, cursor, user)
        step = _is_step(statement, key, per_key, steps)
        if step:  # dscores /= N after dscores = probs - y: it reads the steps so far, not the truth
            truths = {**truths, statement.target: steps[key]}
        row, matched = _line(state, statement, key, user, true_env, truths)
        alone = None  # the line's value with true inputs: what it adds, and where a further step of it starts
        if key is not None and row.status != "error":
            try:
                alone = _alone(state, statement, truths)
            except GradcheckError:
                pass
        if step:
            row = _last_step(lines, per_key[key], row, statement)
        lines.rows.append(row)
        judged.append((statement, truths, key))
        if row.status == "error" and statement.target not in user:
            state.failed[statement.target] = statement.line
        if alone is None:
            steps.pop(key, None)
        else:
            steps[key] = alone
            if step:
                own[key] = alone  # the steps together are the line for NAME
            elif row.true is not None:
                _accumulate(own, key, statement, alone)
        if key is not None:
            per_key.setdefault(key, []).append((statement, row, matched))
            name = key[0].split("@")[0]
            if name in cursor:
                cursor[name] = state.versions[name].index(key[0])
    rescued = _blame_helpers(state, lines, judged)
    for key, entries in per_key.items():
        if key not in rescued:
            _final(state, key, entries, own, lines)
    lines.finals = _finals(state, per_key, user, lines)
    _unused(plan, lines, state)
    return lines


def _is_step(statement: Statement, key, per_key: dict, steps: dict) -> bool:
    """Whether the line takes a further step of the one before it (dscores = probs - y, then dscores /= N): it reads
    its own d-name where no earlier version of the name is left to step back to, so the same gradient is built in
    steps. Not so for dh = dh * (1 - h**2) (the version before) or dx += ... (another use)."""
    if key is None or statement.operator != "=" or statement.target not in statement.expr.variables:
        return False
    entries = per_key.get(key)
    return bool(entries) and entries[-1][0].target == statement.target and key in steps


def _last_step(lines: Lines, entries: list, row: LineResult, statement: Statement) -> LineResult:
    """The steps so far become parts of this line, which is judged for them all: a wrong result is said of the steps
    together (which one is off cannot be told from the values)."""
    first = entries[0][0].line
    said = f"a step of {statement.target}, judged with line {statement.line}"
    for k, (earlier, previous, matched) in enumerate(entries):
        index = lines.rows.index(previous)
        lines.rows[index] = replace(previous, status="helper", diagnosis=said)
        entries[k] = (earlier, lines.rows[index], matched)
    if row.status in ("wrong", "kink") and row.diagnosis:
        return replace(row, diagnosis=f"{statement.target} after its steps (lines {first}-{statement.line}): {row.diagnosis}")
    return row


def _blame_helpers(state: _State, lines: Lines, judged: list) -> set:
    """A wrong line that reads helpers of your own (dW = dW1 + dW2) may be right and a helper wrong: when one helper,
    replaced by a contribution of some use of a forward name (or that name's whole gradient), makes the line right,
    the helper's line is the wrong one and says how. Returns the keys of the lines found right that way."""
    rescued = set()
    helpers = {}  # helper name -> index of the row that last assigned it
    for k, (statement, truths, key) in enumerate(judged):
        row = lines.rows[k]
        if key is None and row.status == "helper":
            helpers[statement.target] = k
            continue
        if key is None or row.status != "wrong":
            continue
        sign = -1.0 if statement.operator == "-=" else 1.0
        reads = [n for n in statement.expr.variables if n in helpers]
        found = next(filter(None, (_helper_truth(state, statement, truths, name, target, sign) for target in
                                   (_truth(state, key), row.true) for name in reads)), None)  # the whole gradient first
        if found is not None:
            name, version, value, got = found
            h = helpers[name]
            if lines.rows[h].status != "wrong":  # blamed once, by the first line that reads it (its true is now the fix)
                said = diagnose(state, judged[h][0], version, lines.rows[h].true, value, judged[h][1], evaluate)
                lines.rows[h] = replace(lines.rows[h], status="wrong", true=value, diagnosis=said,
                                        order=row.order[:1] + (judged[h][0].line,))
            lines.rows[k] = replace(row, status="pass", diagnosis=None, true=got)
            rescued.add(key)
    return rescued


def _helper_truth(state: _State, statement: Statement, truths: dict, name: str, expected, sign: float):
    """(name, version key, value, what the line then gives) of a use's contribution (or a whole gradient) that, given to helper `name`, makes the line
    reading it right; None when none does."""
    shape = np.shape(truths[name])
    for version, uses in state.uses.items():
        if np.shape(state.truth[version]) != shape:
            continue
        for value in [*uses.values(), state.truth[version]]:
            try:
                got = sign * evaluate(statement.expr, {**state.env, **truths, name: np.asarray(value)}, state)
            except GradcheckError:
                continue
            if np.shape(got) == np.shape(expected) and close_enough(state, got, expected):
                return name, version, np.asarray(value), got
    return None


def _key(state: _State, statement: Statement, cursor: dict[str, int], user: dict) -> tuple[str, int | None] | None:
    """(version key, element) the line is for, or None for a helper of the user's own. dw0 is element 0 of w only
    when w is a vector with an element 0 and the line's value is a number; dW1 = <an array> is a helper."""
    target = d_target(statement.target, state.versions, state.plan.spellings)
    if target is None:
        return None
    name, index = target
    keys = state.versions[name]
    if index is not None:
        value = state.env.get(name)
        if np.ndim(value) != 1 or index >= np.shape(value)[0] or not _scalar_line(state, statement, user):
            return None
        return keys[cursor[name]], index
    step = statement.operator == "=" and statement.target in user and statement.target in statement.expr.variables
    return keys[cursor[name] - 1 if step and cursor[name] > 0 else cursor[name]], None


def _scalar_line(state: _State, statement: Statement, user: dict) -> bool:
    try:
        return np.size(evaluate(statement.expr, {**state.env, **user}, state)) == 1
    except GradcheckError:
        return True  # the line's own error is said when it is judged


def _finals(state: _State, per_key: dict, user: dict, lines: Lines) -> dict[str, np.ndarray]:
    """Your final dNAME per input; a vector given element by element (dw0, dw1, ...) once every element is given.
    A reassigned input whose d-lines stop at a later version is said on its last line."""
    finals, pieces = {}, {}
    for (key, index), entries in per_key.items():
        target = entries[-1][0].target
        name = key.split("@")[0]
        if target not in user or name not in state.graph.variables:
            continue
        if index is None:
            finals[name] = user[target]
        else:
            pieces.setdefault(name, {})[index] = user[target]
    for name, given in pieces.items():
        shape = np.shape(state.truth[state.versions[name][0]])
        if shape and sorted(given) == list(range(shape[0])) and all(np.shape(v) == shape[1:] for v in given.values()):
            finals[name] = np.stack([given[k] for k in range(shape[0])])
    for name in finals:
        first = state.versions[name][0]
        reached = [k for k, _ in per_key if k.split("@")[0] == name]
        if first not in reached:
            _stops_early(state, name, per_key, lines)
    return finals


def _stops_early(state: _State, name: str, per_key: dict, lines: Lines) -> None:
    """The input `name` is reassigned and the d-lines stop at a later version: the last of them says what is missing."""
    last_key = min((k for k in per_key if k[0].split("@")[0] == name), key=lambda k: state.versions[name].index(k[0]))
    statement, row, _ = per_key[last_key][-1]
    k = lines.rows.index(row)
    if row.status != "pass":
        return
    after = state.versions[name][state.versions[name].index(last_key[0]) - 1]
    lines.rows[k] = replace(row, status="wrong", diagnosis=(
        f"right for d{state.label(last_key[0])}, but the backward pass stops there: d{state.label(after)} needs one "
        f"more step back (d{name} = d{name} * ...)"))


def _truth(state: _State, key) -> np.ndarray:
    name, index = key
    return state.truth[name] if index is None else np.asarray(state.truth[name][index])


def _uses(state: _State, key) -> dict[int, np.ndarray]:
    name, index = key
    uses = state.uses.get(name, {})
    return uses if index is None else {line: np.asarray(u[index]) for line, u in uses.items()}


def _true_names(state: _State, cursor: dict[str, int], true_env: dict) -> dict[str, np.ndarray]:
    """Every d-name a line may read, bound to the truth at this point of the backward pass: dx and its other
    spellings (plan.d_names; the version the cursor is at), dw0, dw1 for the elements of a vector w, and your helpers'
    values with true inputs."""
    names: dict[str, np.ndarray] = {}
    for name, keys in state.versions.items():
        t = state.truth.get(keys[cursor[name]])
        if t is not None and np.ndim(t) == 1 and np.shape(t)[0] <= 100:
            names.update({f"d{name}{k}": np.asarray(t[k]) for k in range(np.shape(t)[0])})
    names.update(true_env)
    for name, keys in state.versions.items():
        t = state.truth.get(keys[cursor[name]])
        if t is not None:
            names.update(dict.fromkeys(d_names(name, state.plan.spellings), t))
    return names


def _state(graph, plan: Plan, point, functions, tolerance) -> _State:
    values = forward(graph, {v: np.asarray(point[v])[None] for v in graph.variables})
    env = {name: np.asarray(values[i][0]) for name, i in graph.names.items()}
    env.update({v: np.asarray(point[v]) for v in graph.variables if v not in env})  # a reassigned input: its last value
    env.update({n: np.asarray(v) for n, v in plan.hidden.items()})
    # a constant f never reads (c = 3.0 that only a d-line uses) is no variable of the graph: its value is the cell's
    env.update({n: np.asarray(v) for n, v in plan.inputs.items() if n not in env})
    nodes, versions, labels = _versions(graph, plan)
    truth, uses = {}, {}
    if math.prod(graph.nodes[-1].shape) == 1:
        grads = backward(graph, values).node_grads
        for key, index in nodes.items():
            truth[key] = np.asarray(grads[index][0])
            grouped: dict[int, np.ndarray] = {}
            for consumer, share in contributions_into(graph, values, grads, index):
                line = graph.node_lines[consumer] or 0
                with np.errstate(all="ignore"):  # an overflowing sum is inf, which the line's verdict says
                    grouped[line] = grouped.get(line, 0) + share[0]
            uses[key] = grouped
    else:  # f is not a scalar: only the inputs' d-lines (a Jacobian each) are judged
        from ..eval.jacobian import jacobian

        full = jacobian(graph, values, graph.variables)[0]
        truth = {versions[v][0]: np.asarray(full[v][0]) for v in graph.variables}
    assigned = {s.target for s in plan.program.statements if s.target} | set(plan.inputs)
    return _State(graph, plan, functions, tolerance, env, truth, uses, nodes, _kinked(graph, values, nodes),
                  versions, labels, assigned)


def _versions(graph, plan: Plan) -> tuple[dict[str, int], dict[str, list[str]], dict[str, str]]:
    """(version key -> node, name -> version keys oldest first, version key -> label). The last version of a name is
    keyed by the name; an earlier one by NAME@LINE (NAME@input for the input's own value)."""
    nodes: dict[str, int] = {}
    versions: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    roots: dict[int, int] = {}  # binding index -> its node
    previous = -1
    for k, binding in enumerate(plan.bindings):
        line = binding.origin[0]
        found = next((i for i in range(previous + 1, len(graph.nodes)) if graph.nodes[i].label == binding.name
                      and graph.nodes[i].op != "var" and graph.node_lines[i] == line), None)
        if found is not None:
            roots[k] = previous = found
    names = dict.fromkeys([*graph.variables, *(b.name for b in plan.bindings)])
    for name in names:
        found: list[tuple[str, int, str]] = []
        if name in graph.variables:
            found.append(("input", graph.variable_nodes[graph.variables.index(name)], f"{name} (the input)"))
        for k, binding in enumerate(plan.bindings):
            if binding.name == name and k in roots:
                found.append((str(binding.origin[0]), roots[k], f"{name} (line {binding.origin[0]})"))
        if not found:
            continue
        keys = [f"{name}@{tag}" for tag, _, _ in found[:-1]] + [name]
        versions[name] = keys
        for key, (_, index, label) in zip(keys, found):
            nodes[key] = index
            labels[key] = label if len(found) > 1 else name
    return nodes, versions, labels


def _kinked(graph, values, nodes: dict[str, int]) -> set[str]:
    tied = [g for g, sign in branch_signs(graph, values).items() if np.any(sign == 0)]
    if not tied:
        return set()
    names = set()
    for name, index in nodes.items():
        reach = {index}
        for k in range(index + 1, len(graph.nodes)):
            if any(i in reach for i in graph.nodes[k].inputs):
                reach.add(k)
        if any(t in reach for t in tied):
            names.add(name)
    return names


def evaluate(expr, env: dict[str, np.ndarray], state: _State) -> np.ndarray:
    """A d-line's right-hand side with the names in `env` (forward values, inputs, d-names)."""
    shapes = {n: np.shape(v) for n, v in env.items()}
    graph = build_program([Binding(None, expr)], state.graph.registry, shapes, state.functions)
    missing = [v for v in graph.variables if v not in env]
    if missing:
        raise _unassigned(state, missing[0])
    return np.asarray(forward(graph, {v: np.asarray(env[v])[None] for v in graph.variables})[-1][0])


def _unassigned(state: _State, name: str) -> GradcheckError:
    """A name read before any line gives it a value: a consequence when the cell means to assign it (a d-name of a
    forward value, or a name some other line assigns), else the cause."""
    target = d_target(name, state.versions, state.plan.spellings)
    if name in state.failed:
        return _Unassigned(f"'{name}' has no value: line {state.failed[name]}, which assigns it, could not be computed")
    if name in state.assigned:
        return _Unassigned(f"'{name}' is read before the line that assigns it: move that line above this one")
    if target is not None and target[1] is None:
        return _Unassigned(f"'{name}' is read, but no line assigns it: add the line for it (the gradient of "
                           f"{state.label(target[0])}) above this one")
    return GradcheckError(f"'{name}' is not assigned anywhere in the cell")


def _line(state: _State, statement: Statement, key, user: dict, true_env: dict, truths: dict) -> tuple[LineResult, tuple]:
    sign = -1.0 if statement.operator == "-=" else 1.0
    order = (-(state.node.get(key[0], -1)), statement.line) if key is not None else (1, statement.line)
    base = dict(state.env)
    try:
        yours = sign * evaluate(statement.expr, {**base, **user}, state)
        true_rhs = sign * evaluate(statement.expr, {**base, **truths}, state)
        _update(user, statement, yours)
    except GradcheckError as problem:
        return LineResult(statement.line, statement.text, statement.target, None, None, "error", problem.message, order,
                          isinstance(problem, _Unassigned)), ()
    if key is None:
        _update(true_env, statement, true_rhs)
        said = (f"your intermediate ({statement.target[1:]} is not a forward name): judged through the lines that read it"
                if statement.target.startswith("d") else "a value your d-lines read: judged through them")
        return LineResult(statement.line, statement.text, statement.target, yours, true_rhs, "helper", said, order), ()
    return _judge(state, statement, key, yours, true_rhs, order, truths)


def _update(env: dict, statement: Statement, value: np.ndarray) -> None:
    target = statement.target
    if statement.operator == "=":
        env[target] = value
        return
    if target not in env:
        raise GradcheckError(f"'{target} {statement.operator} ...' before {target} is assigned (write {target} = ... first)")
    if np.shape(env[target]) != np.shape(value) and np.size(value) != 1:
        raise GradcheckError(f"adds shape {np.shape(value)} to {target} of shape {np.shape(env[target])}")
    env[target] = env[target] + value


def _accumulate(own: dict, key, statement: Statement, value: np.ndarray) -> None:
    if statement.operator == "=" or key not in own:
        own[key] = value
    elif np.shape(own[key]) == np.shape(value) or np.size(value) == 1:
        own[key] = own[key] + value


def _candidates(state: _State, key) -> list[tuple[tuple[int, ...], np.ndarray]]:
    """(the lines of some uses, their contributions summed): what a right line for NAME can equal."""
    truth = _truth(state, key)
    if key[0] == state.plan.output:
        return [((), np.ones(np.shape(truth)))]
    uses = _uses(state, key)
    lines = sorted(uses)
    if not lines:
        return [((), truth)]
    if len(lines) > SUBSETS:
        return [(tuple(lines), truth)] + [((line,), uses[line]) for line in lines]
    result = []
    for mask in range(1, 2 ** len(lines)):
        chosen = tuple(line for k, line in enumerate(lines) if mask >> k & 1)
        result.append((chosen, sum(uses[line] for line in chosen)))
    return sorted(result, key=lambda c: -len(c[0]))  # all uses first: a single line for NAME is the common case


def _judge(state: _State, statement: Statement, key, yours, true_rhs, order, truths: dict) -> tuple[LineResult, tuple]:
    truth = _truth(state, key)
    if statement.operator == "=" and not np.any(true_rhs) and not np.any(yours):  # dW = np.zeros_like(W), then dW += ...
        return LineResult(statement.line, statement.text, statement.target, yours, true_rhs, "pass", None, order), ()
    scale = sum((np.abs(u) for u in _uses(state, key).values()), np.zeros(np.shape(truth)))
    candidates = _candidates(state, key)
    if all(np.shape(value) == np.shape(candidates[0][1]) for _, value in candidates):  # judged at once
        passing = np.flatnonzero(agree(true_rhs, np.stack([value for _, value in candidates]), state.tolerance, scale))
    else:
        passing = [k for k, (_, value) in enumerate(candidates) if close_enough(state, true_rhs, value, scale)]
    if len(passing):
        chosen, value = candidates[int(passing[0])]
        return LineResult(statement.line, statement.text, statement.target, yours, value, "pass", None, order), chosen
    expected = min(candidates, key=lambda c: _distance(true_rhs, c[1]))[1] if len(candidates) > 1 else candidates[0][1]
    only = statement.operator == "=" and sum(1 for s in state.plan.backward if s.target == statement.target) == 1
    if np.shape(true_rhs) == np.shape(truth) and not close_enough(state, truth, expected):
        # the one line for a name must give its whole gradient; one of several, the nearest part of it
        expected = truth if only or _distance(true_rhs, truth) < _distance(true_rhs, expected) else expected
    if not np.all(np.isfinite(expected)):  # inf - inf: no comparison says anything, and the line is not "wrong"
        said = (f"its true value is not finite here ({values_text(expected)}): f overflows, divides by zero or has an "
                "infinite slope at this point, so the line cannot be judged; give a point where it is finite (--at)")
        return LineResult(statement.line, statement.text, statement.target, yours, expected, "error", said, order), ()
    said = diagnose(state, statement, key[0], true_rhs, expected, truths, evaluate)
    called = [f"{n.op} (line {state.plan.program.functions[n.op].defined})" for n in statement.expr.nodes
              if n.op in state.plan.program.functions]
    if called:  # the mistake may be inside the function the line calls
        said += f"; the line calls {', '.join(dict.fromkeys(called))}: the mistake may be there"
    status = "kink" if key[0] in state.kinked else "wrong"
    if status == "kink":
        said = f"at a kink of f (a piecewise op sits exactly on its kink), the true value is a convention; {said}"
    return LineResult(statement.line, statement.text, statement.target, yours, expected, status, said, order), ()


def _distance(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    with np.errstate(all="ignore"):
        return float(np.nan_to_num(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-300)), nan=math.inf))


def _alone(state: _State, statement: Statement, truths: dict) -> np.ndarray:
    """The line's value with every d-name it reads replaced by the truth (what it adds, judged on its own)."""
    sign = -1.0 if statement.operator == "-=" else 1.0
    return sign * evaluate(statement.expr, {**state.env, **truths}, state)


def _final(state: _State, key, entries, own: dict, lines: Lines) -> None:
    """dNAME after all its lines, each judged alone, against df/dNAME: when every line was right alone but the
    sum is not, say what the lines missed (an error from an earlier wrong line is that line's, not these)."""
    if key not in own or any(row.status != "pass" for _, row, _ in entries):
        return
    if close_enough(state, own[key], _truth(state, key)):
        return
    said, blamed = _what_is_missing(state, key, entries)
    index = lines.rows.index(blamed[1])
    row = lines.rows[index]
    lines.rows[index] = replace(row, status="kink" if key[0] in state.kinked else "wrong", diagnosis=said,
                                true=_truth(state, key) if row is entries[-1][1] else row.true)


def _what_is_missing(state: _State, key, entries):
    name = entries[-1][0].target[1:]
    lines = {s.line: s.text for s in state.plan.forward}
    for k, (statement, row, chosen) in enumerate(entries):
        if k and statement.operator == "=":
            earlier = entries[k - 1][0].line
            return (f"'=' where '+=' was needed: d{name} from line {earlier} is overwritten here, so its contribution is lost",
                    (statement, row))
    covered: list[int] = [line for _, _, chosen in entries for line in chosen]
    uses = sorted(_uses(state, key))
    twice = sorted({line for line in covered if covered.count(line) > 1})
    if twice:
        return (f"the contribution through line {twice[0]} ({lines.get(twice[0], '')[:50]}) is added twice", entries[-1][:2])
    missing = [line for line in uses if line not in covered]
    if missing:
        use = lines.get(missing[0], "an expression")[:60]
        return (f"d{name} misses the contribution through line {missing[0]} ({use}), where {state.label(key[0])} is used "
                f"again: add it with d{name} += ...", entries[-1][:2])
    return f"d{name} after its last line differs from the true df/d{name}", entries[-1][:2]


def _unused(plan: Plan, lines: Lines, state: _State) -> None:
    """A helper nothing reads whose name is close to a forward name with no d-line of its own is a typo (dna for dn1)."""
    read = {n for s in plan.backward for n in s.expr.variables}
    targets = {s.target for s in plan.backward}
    for k, row in enumerate(lines.rows):
        if row.status == "helper" and row.target not in read and row.target.startswith("d"):
            meant = typo_of(row.target, set(state.versions), targets)
            element = d_target(row.target, state.versions, state.plan.spellings)
            said = (f"{row.target} is read as a helper of your own ({_not_element(state, *element)}), and no line "
                    f"reads it: write d{element[0]} = ... for the whole gradient" if element is not None else
                    f"{row.target} names no forward value or input ({row.target[1:]!r} is not assigned above), and no "
                    f"line reads it: a typo{f' of d{meant}' if meant else ''}?")
            lines.rows[k] = replace(row, status="error", diagnosis=said)


def _not_element(state: _State, name: str, index: int) -> str:
    shape = np.shape(state.env.get(name))
    if len(shape) != 1:
        return f"d{name}{index} is element {index} of {name} only when {name} is a vector; {name} has shape {shape}"
    if index >= shape[0]:
        return f"{name} has no element {index}: its shape is {shape}"
    return f"d{name}{index} is element {index} of {name} only when the line's value is a number"


# --- what a wrong line got wrong, in words: tried in turn, the first explanation that reproduces the truth wins
