"""The user's backward pass, line by line: each d-line judged on its own (every d-name it reads replaced by
the true df/d(that name)), each dNAME's final value against the truth, and the first wrong line named.

A line for NAME is right when its value equals the contribution of some of NAME's uses (one line per
use, as the seeds write `dx = ...; dx += ...`), or all of them. What a wrong line got wrong is said in
words where it can be told: a flipped sign, a factor 2, a missing or extra factor NAME, a missing mask,
the wrong upstream d-name, a transposed matrix, `=` where `+=` was needed, a use left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from .engine import backward, branch_signs, contributions_into, forward
from .errors import GradcheckError
from .ir import Binding, build_program
from .lang.program import Statement
from .programs import Plan, d_target
from .results import CaseResult

SUBSETS = 10  # uses of one name whose every combination is tried (2**10 sums); past that only single uses and all


@dataclass(frozen=True, slots=True)
class LineResult:
    line: int
    text: str
    target: str
    yours: object  # the line's value with your own d-values (None when it cannot be computed)
    true: object  # what it should be, with every d-name it reads replaced by the truth
    status: str  # pass | wrong | kink | error | helper
    diagnosis: str | None
    order: tuple = ()  # a correct backprop's order: nearer the output first


@dataclass
class Lines:
    rows: list[LineResult] = field(default_factory=list)
    finals: dict[str, np.ndarray] = field(default_factory=dict)  # the user's last value of each dNAME, by NAME

    @property
    def first_wrong(self) -> LineResult | None:
        wrong = [r for r in self.rows if r.status in ("wrong", "error")]
        return min(wrong, key=lambda r: r.order) if wrong else None

    def attach(self, case: CaseResult, plan: Plan) -> CaseResult:
        first = self.first_wrong
        extras = {"lines": self.rows, "first_wrong_line": first.line if first else None,
                  "notes": [f"line {n}: {t}" for n, t in plan.notes]}
        if first is None:
            return replace(case, extras=extras)
        status = "error" if first.status == "error" or case.status == "error" else "mismatch"
        message = f"line {first.line} ({first.text.strip()[:60]}) is wrong: {first.diagnosis}"
        return replace(case, status=status, message="; ".join(filter(None, (message, case.message))), extras=extras)


@dataclass
class _State:
    """The program at its point: values of every name, the truth for every d-name, the uses of every name."""

    graph: object
    plan: Plan
    functions: dict
    tolerance: object
    env: dict[str, np.ndarray]  # forward names and inputs
    truth: dict[str, np.ndarray]  # NAME -> df/dNAME
    uses: dict[str, dict[int, np.ndarray]]  # NAME -> line of a use -> that use's contribution
    node: dict[str, int]
    kinked: set[str]  # names whose df/dNAME goes through a piecewise op sitting on its kink


def judge_lines(graph, plan: Plan, point: dict[str, np.ndarray], functions: dict, options) -> Lines:
    if not plan.backward:
        return Lines()
    state = _state(graph, plan, point, functions, options.tolerances)
    lines = Lines()
    user: dict[str, np.ndarray] = {}
    true_env: dict[str, np.ndarray] = {}
    own: dict[str, np.ndarray] = {}  # each dNAME accumulated from its lines judged alone (true inputs)
    per_name: dict[str, list[tuple[Statement, LineResult, tuple]]] = {}
    for statement in plan.backward:
        row, matched = _line(state, statement, user, true_env)
        lines.rows.append(row)
        if row.status != "error" and row.true is not None:
            try:
                _update(own, statement, np.asarray(row.true) if row.status == "helper" else _alone(state, statement, user, true_env))
            except GradcheckError:
                pass
        key = d_target(statement.target, state.truth)
        if key is not None:
            per_name.setdefault(key, []).append((statement, row, matched))
    for key, entries in per_name.items():
        _final(state, key, entries, own, lines)
    lines.finals = _finals(state, per_name, user)
    _unused(plan, lines, state)
    return lines


def _finals(state: _State, per_name: dict, user: dict) -> dict[str, np.ndarray]:
    """Your final dNAME per name; a vector given element by element (dw0, dw1, ...) once every element is given."""
    finals, pieces = {}, {}
    for (name, index), entries in per_name.items():
        target = entries[-1][0].target
        if target not in user:
            continue
        if index is None:
            finals[name] = user[target]
        else:
            pieces.setdefault(name, {})[index] = user[target]
    for name, given in pieces.items():
        shape = np.shape(state.truth[name])
        if shape and sorted(given) == list(range(shape[0])) and all(np.shape(v) == shape[1:] for v in given.values()):
            finals[name] = np.stack([given[k] for k in range(shape[0])])
    return finals


def _truth(state: _State, key) -> np.ndarray:
    name, index = key
    return state.truth[name] if index is None else np.asarray(state.truth[name][index])


def _uses(state: _State, key) -> dict[int, np.ndarray]:
    name, index = key
    uses = state.uses.get(name, {})
    return uses if index is None else {line: np.asarray(u[index]) for line, u in uses.items()}


def _true_names(state: _State) -> dict[str, np.ndarray]:
    """Every d-name the lines may read, bound to the truth: dx, dfdx, and dw0, dw1 for the rows of w."""
    names = {}
    for n, t in state.truth.items():
        names[f"d{n}"] = names[f"dfd{n}"] = t
        if np.ndim(t) >= 1 and np.shape(t)[0] <= 100:
            names.update({f"d{n}{k}": np.asarray(t[k]) for k in range(np.shape(t)[0])})
    return names


def _state(graph, plan: Plan, point, functions, tolerance) -> _State:
    values = forward(graph, {v: np.asarray(point[v])[None] for v in graph.variables})
    env = {name: np.asarray(values[i][0]) for name, i in graph.names.items()}
    env.update({v: np.asarray(point[v]) for v in graph.variables})
    nodes = {**dict(zip(graph.variables, graph.variable_nodes)), **graph.names}
    truth, uses = {}, {}
    if math.prod(graph.nodes[-1].shape) == 1:
        grads = backward(graph, values).node_grads
        for name, index in nodes.items():
            truth[name] = np.asarray(grads[index][0])
            grouped: dict[int, np.ndarray] = {}
            for consumer, share in contributions_into(graph, values, grads, index):
                line = graph.node_lines[consumer] or 0
                grouped[line] = grouped.get(line, 0) + share[0]
            uses[name] = grouped
    else:  # f is not a scalar: only the inputs' d-lines (a Jacobian each) are judged
        from .cases import jacobian

        full = jacobian(graph, values, graph.variables)[0]
        truth = {v: np.asarray(full[v][0]) for v in graph.variables}
    return _State(graph, plan, functions, tolerance, env, truth, uses, nodes, _kinked(graph, values, nodes))


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
        raise GradcheckError(f"'{missing[0]}' is read before it is assigned")
    return np.asarray(forward(graph, {v: np.asarray(env[v])[None] for v in graph.variables})[-1][0])


def _line(state: _State, statement: Statement, user: dict, true_env: dict) -> tuple[LineResult, tuple]:
    key = d_target(statement.target, state.truth)
    sign = -1.0 if statement.operator == "-=" else 1.0
    order = (-(state.node.get(key[0], -1)), statement.line) if key is not None else (1, statement.line)
    base = dict(state.env)
    try:
        yours = sign * evaluate(statement.expr, {**base, **user}, state)
        true_rhs = sign * evaluate(statement.expr, {**base, **true_env, **_true_names(state)}, state)
        _update(user, statement, yours)
    except GradcheckError as problem:
        return LineResult(statement.line, statement.text, statement.target, None, None, "error", problem.message, order), ()
    if key is None:
        _update(true_env, statement, true_rhs)
        return LineResult(statement.line, statement.text, statement.target, yours, true_rhs, "helper",
                          f"your intermediate ({statement.target[1:] or statement.target} is not a forward name): judged through the lines that read it",
                          order), ()
    return _judge(state, statement, key, yours, true_rhs, order)


def _update(env: dict, statement: Statement, value: np.ndarray) -> None:
    target = statement.target
    if statement.operator == "=":
        env[target] = value
        return
    if target not in env:
        raise GradcheckError(f"'{target} {statement.operator} ...' before {target} is assigned (write {target} = ... first)")
    if np.shape(env[target]) != np.shape(value):
        raise GradcheckError(f"adds shape {np.shape(value)} to {target} of shape {np.shape(env[target])}")
    env[target] = env[target] + value


def _close(state: _State, a, b, scale=0.0) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape and not (a.size == b.size == 1):
        return False
    a, b = a.reshape(-1), b.reshape(-1)
    scale = np.broadcast_to(scale, np.shape(scale)).reshape(-1) if np.size(scale) == a.size else np.max(np.abs(scale), initial=0.0)
    tol = state.tolerance
    limit = tol.rtol * np.maximum(np.abs(a), np.abs(b)) + tol.atol + 64 * np.finfo(float).eps * (np.abs(a) + np.abs(b) + scale)
    return bool(np.all(np.abs(a - b) <= limit))


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


def _judge(state: _State, statement: Statement, key, yours, true_rhs, order) -> tuple[LineResult, tuple]:
    truth = _truth(state, key)
    scale = sum((np.abs(u) for u in _uses(state, key).values()), np.zeros(np.shape(truth)))
    candidates = _candidates(state, key)
    for chosen, value in candidates:
        if _close(state, true_rhs, value, scale):
            return LineResult(statement.line, statement.text, statement.target, yours, value, "pass", None, order), chosen
    expected = min(candidates, key=lambda c: _distance(true_rhs, c[1]))[1] if len(candidates) > 1 else candidates[0][1]
    if np.shape(true_rhs) == np.shape(truth) and not _close(state, truth, expected):
        expected = truth if _distance(true_rhs, truth) < _distance(true_rhs, expected) else expected
    from .diagnose import diagnose

    said = diagnose(state, statement, key[0], true_rhs, expected)
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


def _alone(state: _State, statement: Statement, user: dict, true_env: dict) -> np.ndarray:
    """The line's value with every d-name it reads replaced by the truth (what it adds, judged on its own)."""
    sign = -1.0 if statement.operator == "-=" else 1.0
    return sign * evaluate(statement.expr, {**state.env, **true_env, **_true_names(state)}, state)


def _final(state: _State, key, entries, own: dict, lines: Lines) -> None:
    """dNAME after all its lines, each judged alone, against df/dNAME: when every line was right alone but the
    sum is not, say what the lines missed (an error from an earlier wrong line is that line's, not these)."""
    target = entries[-1][0].target
    if target not in own or any(row.status != "pass" for _, row, _ in entries):
        return
    if _close(state, own[target], _truth(state, key)):
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
        return (f"d{name} misses the contribution through line {missing[0]} ({use}), where {key[0]} is used again: "
                f"add it with d{name} += ...", entries[-1][:2])
    return f"d{name} after its last line differs from the true df/d{name}", entries[-1][:2]


def _unused(plan: Plan, lines: Lines, state: _State) -> None:
    """A helper nothing reads and that names no forward value is a typo (dna for dn1): say so."""
    read = {n for s in plan.backward for n in s.expr.variables}
    for k, row in enumerate(lines.rows):
        if row.status == "helper" and row.target not in read:
            lines.rows[k] = replace(row, status="error", diagnosis=(
                f"{row.target} names no forward value or input ({row.target[1:]!r} is not assigned above), and no line reads it: a typo?"))
