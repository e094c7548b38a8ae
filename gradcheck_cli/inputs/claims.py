"""The user's claims: `dx=2*x`, `dW=[[15, 11]]`, `f=23`, and `dW1 ~= [[-0.00936392, ...]]` (to the printed digits).

A claim with `=` is judged to --rtol against the exact value; `~=` takes printed numbers and accepts
each one to half a unit of its last printed digit (as a notebook rounds), or --rtol, whichever is looser.
Second derivatives: `H=[[2*y, 2*x], [2*x, 0]]` (the whole Hessian over the variables of --wrt, flattened, in
order), `d2x=...` and `dxdy=...` (one block, shape x's + y's); they ask for the second-order check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import GradcheckError, ParseError, PointError, Position, ShapeError
from ..lang.expr import Expr, parse
from ..lang.values import parse_items

VALUE_CLAIM = "f"  # `f=VALUE` claims the value of the expression itself
SECOND_ORDER = "H:"  # the key of a claim on second derivatives starts so (never a variable's name): H:, H:x,y


@dataclass(frozen=True, slots=True)
class Claim:
    """What the user claims a gradient (or f) is: a formula, printed numbers or a value."""

    var: str  # the variable whose gradient is claimed, or VALUE_CLAIM
    expr: Expr | None  # a formula or printed numbers; None when `value` is given (a program's own result)
    approximate: bool = False
    offset: int = 0  # where its value starts in the claims text (for messages)
    text: str = field(default="", repr=False)  # the whole claims text
    source_name: str | None = None
    value: np.ndarray | None = field(default=None, repr=False)  # a value computed elsewhere (a program's dNAME)
    second: tuple[str, ...] | None = None  # a claim on second derivatives: () all of H, (x, y) the block d2f/dxdy

    def position(self, at: int = 0) -> Position:
        return Position(self.text, self.offset + at, source_name=self.source_name)

    def tolerance(self) -> np.ndarray:
        """Per element: half a unit of the last printed digit (`~=`), else 0."""
        if not self.approximate:
            return np.zeros(())
        values = [_half_unit(self.expr.source(i)) for i, n in enumerate(self.expr.nodes) if n.op == "num"]
        shaped = _literal_shape(self.expr)
        return np.array(values, dtype=np.float64).reshape(shaped)


def _half_unit(literal: str) -> float:
    """`-0.00936392` → 5e-9; `15` → 0.5; `1.5e-3` → 5e-5: half a unit of the last digit written."""
    text = literal.strip().lstrip("+-").lower()
    mantissa, _, exponent = text.partition("e")
    decimals = len(mantissa.partition(".")[2])
    return 0.5 * 10.0 ** (int(exponent or 0) - decimals)


def _literal_shape(expr: Expr) -> tuple[int, ...]:
    """The shape of a (nested) list of numbers, checked to be nothing else."""
    shapes: list[tuple[int, ...]] = []
    for node in expr.nodes:
        if node.op == "num":
            shapes.append(())
        elif node.op == "stack":
            inner = shapes[-len(node.args):]
            del shapes[-len(node.args):]
            shapes.append((len(node.args), *inner[0]))
        else:
            raise ParseError("'~=' takes printed numbers (a number or a nested list of numbers), not a formula; "
                             "use '=' for a formula", Position(expr.text, node.start))
    return shapes[-1]


def parse_claims(text: str, variables: tuple[str, ...], source_name: str | None = "--expect",
                 functions=None) -> dict[str, Claim]:
    """`dx=0.25, dy=sigma(x)*(1-sigma(x)), f=3` → a Claim per variable (and one for f)."""
    claims: dict[str, Claim] = {}
    for item in parse_items(text, "claims", source_name):
        where = Position(text, item.name_offset, source_name=source_name)
        second = second_order(item.name, variables)
        var = SECOND_ORDER + ",".join(second) if second is not None else _claimed(item.name, variables, where)
        if var in claims:
            raise PointError(f"'{item.name}' is claimed twice", where)
        try:
            expr = parse(item.value, functions) if functions is not None else parse(item.value)
        except GradcheckError as problem:
            p = problem.position
            raise type(problem)(problem.message, Position(text, item.value_offset + (p.offset if p else 0),
                                                         source_name=source_name)) from None
        for node in expr.nodes:
            if node.op == "var" and node.name not in variables:
                raise PointError(f"claim for '{item.name}' uses '{node.name}', which is not a variable of the expression",
                                 Position(text, item.value_offset + node.start, source_name=source_name))
        claim = Claim(var, expr, item.approximate, item.value_offset, text, source_name, second=second)
        if claim.approximate:
            try:
                claim.tolerance()
            except ParseError as problem:
                raise ParseError(problem.message, claim.position(problem.position.offset)) from None
        claims[var] = claim
    return claims


def second_order(name: str, variables: tuple[str, ...]) -> tuple[str, ...] | None:
    """`H` → () (all of H), `d2x` → (x, x), `dxdy` → (x, y): a claim on second derivatives; None for any other name
    (a gradient claim comes first: `dxdy` is the gradient of a variable named xdy, where there is one)."""
    if name == "H":
        return ()
    if name == VALUE_CLAIM or any(name.startswith(prefix) and name[len(prefix):] in variables for prefix in ("dfd", "d")):
        return None
    if name.startswith("d2") and name[2:] in variables:
        return (name[2:], name[2:])
    for cut in range(2, len(name) - 1):
        if name[0] == "d" and name[cut] == "d" and name[1:cut] in variables and name[cut + 1:] in variables:
            return (name[1:cut], name[cut + 1:])
    return None


def _claimed(name: str, variables: tuple[str, ...], where: Position) -> str:
    if name == VALUE_CLAIM and VALUE_CLAIM not in variables:
        return VALUE_CLAIM
    for prefix in ("dfd", "d"):
        if name.startswith(prefix) and name[len(prefix):] in variables:
            return name[len(prefix):]
    hint = f"'d{name}'" if name in variables else "d<variable>"
    known = f"write {hint}; variables: {', '.join(variables)}" if variables else "the expression has no variables"
    raise PointError(f"claim '{name}' names no variable of the expression ({known})", where)


def claim_values(claim: Claim, registry, shapes: dict[str, tuple[int, ...]], inputs: dict[str, np.ndarray],
                 expected_shape: tuple[int, ...], size: int) -> np.ndarray:
    """The claim at every point, shape (P, *expected_shape); a claim of another shape is a ShapeError."""
    from ..eval.engine import forward
    from ..ir import build_graph

    if claim.value is not None:
        value = np.asarray(claim.value, dtype=np.float64)
        _same_shape(claim, value.shape, expected_shape)  # never reshape a transposed claim into place
        return np.broadcast_to(value.reshape(expected_shape), (size, *expected_shape))
    try:
        graph = build_graph(claim.expr, registry, shapes)
    except GradcheckError as problem:
        raise type(problem)(problem.message, claim.position(problem.position.offset if problem.position else 0)) from None
    shape = graph.nodes[-1].shape
    _same_shape(claim, shape, expected_shape)
    values = forward(graph, {v: inputs[v] for v in graph.variables})[-1]
    return np.broadcast_to(values, (size, *shape)).reshape((size, *expected_shape))


def _same_shape(claim: Claim, shape: tuple[int, ...], expected: tuple[int, ...]) -> None:
    """The claim's shape is the gradient's, or the gradient's without its axes of length 1 ([1, 2, 3] for a (1, 3)
    gradient, a number for a (1, 1) one) — never a transpose, even of a vector."""
    shape, expected = tuple(shape), tuple(expected)
    if shape == expected or shape == tuple(n for n in expected if n != 1) or math.prod(shape) == math.prod(expected) == 1:
        return
    what = "f" if claim.var == VALUE_CLAIM else f"d{claim.var}"
    hint = " (transposed?)" if shape == expected[::-1] else ""
    raise ShapeError(f"claim {what} has shape {shape}, but {'f' if claim.var == VALUE_CLAIM else 'the gradient'} "
                     f"has shape {expected}{hint}", claim.position())
