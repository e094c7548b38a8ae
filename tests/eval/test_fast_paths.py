"""The fast paths against the general code they stand in for: the column parser and scalar graph builder must
build exactly what the full parser and builder build; the scalar evaluators must agree with the numpy engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcheck_cli.ir import Binding, _Builder, build_graph
from gradcheck_cli.lang.expr import LazyNodes, _Parser, parse
from gradcheck_cli.lang.spelling import SIGNATURES
from gradcheck_cli.ops import default_registry

REGISTRY = default_registry()

_leaf = st.sampled_from(["x", "y", "z", "0.5", "2", "3", "1e-3", ".25", "pi", "e", "1.5e2"])
_UNARY = ("sin({})", "cos({})", "tanh({})", "sigma({})", "sigmoid({})", "exp({})", "log({})", "sqrt({})", "-{}", "+{}",
          "({})", "abs({})", "relu({})", "tan({})", "sign({})", "ln({})", "-({})", "( {} )")
_BINARY = ("{} + {}", "{} - {}", "{}*{}", "{} / {}", "{}**{}", "max({}, {})", "min({},{})", "pow({}, {})", "({}) - -{}",
           "{} ** -{}", "-{}**{}")


def _expressions(depth: int = 6):
    return st.recursive(_leaf, lambda inner: st.one_of(
        st.builds(lambda t, a: t.format(a), st.sampled_from(_UNARY), inner),
        st.builds(lambda t, a, b: t.format(a, b), st.sampled_from(_BINARY), inner, inner)), max_leaves=depth * 3)


def _full(text: str):
    return _Parser(text, SIGNATURES).parse()


@settings(max_examples=300, deadline=None)
@given(_expressions())
def test_column_parser_builds_the_full_parsers_nodes(text):
    fast = parse(text)
    assert isinstance(fast.nodes, LazyNodes)
    assert tuple(fast.nodes) == _full(text).nodes
    assert fast.variables == _full(text).variables


@pytest.mark.parametrize("text", ["x[0]", "x.T", "x > y", "sum(x, axis=0)", "np.exp(x)", "sum(x, 0)", "[x, y]",
                                  "x.sum()", "np.array(x)*2"])
def test_what_the_column_parser_leaves_to_the_full_parser(text):
    assert not isinstance(parse(text).nodes, LazyNodes)
    assert parse(text).nodes == _full(text).nodes


@pytest.mark.parametrize("text", ["tanh x", "2x", "(x", "x)", "max(x)", "max(x,y,z)", "x,y", "f(x)", "x +", "()", "x y",
                                  "sin()", "1e999*x", "x = 1", "(x,)", "pi(x)"])
def test_errors_come_from_the_full_parser(text):
    from gradcheck_cli.errors import ParseError

    with pytest.raises(ParseError) as fast:
        parse(text)
    with pytest.raises(ParseError) as full:
        _full(text)
    assert str(fast.value) == str(full.value)


def _same_graph(text: str) -> None:
    expr = parse(text)
    fast, general = build_graph(expr, REGISTRY), _Builder(REGISTRY, {}, {}).build([Binding(None, expr)])
    assert fast.flat is not None and general.flat is not None
    assert tuple(fast.nodes) == tuple(general.nodes)
    for name in ("variables", "variable_nodes", "dead_after", "names", "origins", "node_lines", "shapes", "scalar_only"):
        assert getattr(fast, name) == getattr(general, name), name
    assert fast.flat.ops == general.flat.ops and fast.flat.inputs == general.flat.inputs


@settings(max_examples=200, deadline=None)
@given(_expressions())
def test_scalar_builder_builds_the_general_builders_graph(text):
    _same_graph(text)


def test_deep_nesting_takes_the_fast_paths():
    n = 10_000
    _same_graph("sin(" * n + "x" + ")" * n)
    _same_graph("tanh(w*" * n + "x" + "+b)" * n)
    _same_graph("(" * n + "x" + ")" * n + "+" + "-" * n + "y")
    assert math.isclose(parse("-" * n + "3").nodes[0].value, 3.0)


# --- the scalar evaluators against the numpy engine ---------------------------------------------------------

def _numpy_engine(graph):
    """The same graph with its columns hidden: the general numpy loops run."""
    import dataclasses

    return dataclasses.replace(graph, flat=None, nodes=tuple(graph.nodes))


def _agree(text: str, point: dict[str, float], ulps: float = 64) -> None:
    from gradcheck_cli.eval.engine import backward, forward, forward_output

    graph = build_graph(parse(text), REGISTRY)
    plain = _numpy_engine(graph)
    inputs = {v: np.array([point[v]]) for v in graph.variables}
    fast_values, plain_values = forward(graph, inputs), forward(plain, inputs)
    # libm and numpy's SIMD may round exp/tanh an ulp apart; a later subtraction (x - tanh(pi)) turns that ulp of
    # the operands into many of the result: the allowance is relative to the largest value computed so far
    scale = 0.0
    for a, b in zip(fast_values, plain_values):
        finite = np.abs(b)[np.isfinite(b)]
        scale = max(scale, float(finite.max(initial=0.0)))
        tol = dict(rtol=ulps * 2.2e-16, atol=max(1e-300, ulps * 2.2e-16 * scale), equal_nan=True)
        assert np.shape(a) == np.shape(b) and np.allclose(a, b, **tol)
    fast_grads, plain_grads = backward(graph, fast_values).node_grads, backward(plain, plain_values).node_grads
    with np.errstate(all="ignore"):
        for a, b in zip(fast_grads, plain_grads):  # fan-out sums may round apart: relative to the gradients' scale
            assert np.shape(a) == np.shape(b)
            assert np.allclose(a, b, rtol=1e-9, atol=1e-12, equal_nan=True) or not np.all(np.isfinite(b))
    rows = {v: np.array([point[v] + k * 1e-3 for k in range(-3, 4)]) for v in graph.variables}
    for dtype in (np.float64, np.complex128):
        shifted = {v: r + (1e-20j if dtype is np.complex128 else 0) for v, r in rows.items()}
        fast_f, _ = forward_output(graph, shifted, dtype)
        plain_f, _ = forward_output(plain, shifted, dtype)
        assert np.array_equal(fast_f, plain_f, equal_nan=True)  # the same op calls: bit for bit


@settings(max_examples=200, deadline=None)
@given(_expressions(), st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 3))
def test_scalar_evaluators_agree_with_the_numpy_engine(text, x, y, z):
    _agree(text, {"x": x, "y": y, "z": z})


@pytest.mark.parametrize("text,point", [
    ("sin(" * 10_000 + "x" + ")" * 10_000, {"x": 0.7}),
    ("tanh(w*" * 10_000 + "x" + "+b)" * 10_000, {"w": 0.9, "x": 0.5, "b": 0.1}),
    ("log(x) + sqrt(y) + 1/z", {"x": 0.0, "y": -1.0, "z": 0.0}),  # math raises: the numpy engine decides
    ("exp(x) * sigma(-x)", {"x": 1000.0}),
    ("relu(x) + abs(y) + max(x, y) + min(x, y) + sign(x) + (x > y) + (x <= y)", {"x": 0.0, "y": 0.0}),
    ("x**2 + x**0.5 + x**-1 + x**0 + 2**x + x**y", {"x": 2.0, "y": 3.0}),
])
def test_scalar_evaluators_on_deep_and_edge_cases(text, point):
    _agree(text, point)


def test_gradients_in_blocks_are_the_engines_bit_for_bit():
    from gradcheck_cli.eval import blocks
    from gradcheck_cli.eval.engine import backward, forward, gradients, variable_gradients

    graph = build_graph(parse("sigma(x*y + b)*tanh(x - y)**2 + log(1 + x**2)/sqrt(1 + y**2) + exp(-b**2)*sin(x*b)"), REGISTRY)
    rng = np.random.default_rng(1)
    size = 2 * blocks.BLOCK + 123
    inputs = {"x": rng.uniform(-2, 2, size), "y": rng.uniform(-2, 2, size), "b": np.array([0.3])}
    whole = variable_gradients(graph, backward(graph, forward(graph, inputs)))
    blocked = gradients(graph, inputs)
    assert all(np.array_equal(np.broadcast_to(whole[v], (size,)), blocked[v]) for v in graph.variables)


# --- the 10^5-gate shortcuts against the plain loops they replace (bit for bit) -----------------------------

def _reference_backward(graph, values, seed=1.0):
    """backward_floats as it was: every gate through its row of partials, in the same order."""
    from gradcheck_cli.eval.fast import _RULES

    flat = graph.flat
    grads = [None] * len(flat.ops)
    grads[-1] = seed
    for index in range(len(flat.ops) - 1, -1, -1):
        upstream, inputs = grads[index], flat.inputs[index]
        if upstream is None or not inputs:
            continue
        args = [values[i] for i in inputs]
        for position, i in enumerate(inputs):
            if flat.varies[i]:
                contribution = upstream * _RULES[flat.ops[index]][1][position](values[index], *args)
                grads[i] = contribution if grads[i] is None else grads[i] + contribution
    return grads


def _reference_dead_after(last_use):
    grouped = [[] for _ in last_use]
    for i, index in enumerate(last_use[:-1]):
        if index != i:
            grouped[index].append(i)
    return tuple(tuple(g) for g in grouped)


@settings(max_examples=150, deadline=None)
@given(_expressions(), st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 3))
def test_point_shortcuts_are_the_plain_loops_bit_for_bit(text, x, y, z):
    from gradcheck_cli.eval import fast
    from gradcheck_cli.eval.engine import _per_point, backward, forward, value_scales

    graph = build_graph(parse(text), REGISTRY)
    general = _Builder(REGISTRY, {}, {}).build([Binding(None, parse(text))])
    assert list(graph.flat.labels) == general.flat.labels  # the labels made when asked for
    point = {"x": x, "y": y, "z": z}
    numbers = fast.forward_floats(graph, point)
    if numbers is None:
        return
    grads = fast.backward_floats(graph, numbers)
    try:
        reference = _reference_backward(graph, numbers)
    except (ValueError, OverflowError, ZeroDivisionError):  # math raises: both give way to the numpy engine
        assert grads is None
        return
    assert grads is not None and [repr(g) for g in grads] == [repr(g) for g in reference]
    values = forward(graph, {v: np.array([point[v]]) for v in graph.variables})
    assert isinstance(values, fast.PointValues)
    with np.errstate(all="ignore"):
        plain_scale = _per_point(list(values), 1, lambda v: np.where(np.isfinite(v), np.abs(v), 0.0), np.maximum)
        assert np.array_equal(value_scales(values), plain_scale)
        node_grads = backward(graph, values).node_grads
    expected = [np.zeros(1) if g is None else np.array([g]) for g in reference]
    assert all(np.array_equal(a, b, equal_nan=True) and np.shape(a) == (1,) for a, b in zip(node_grads, expected))


@pytest.mark.parametrize("last_use", [[0], [1, 1], [2, 2, 2], [5] * 5 + [5], [30] * 30 + [31, 31],
                                      [3, 3, 4, 4, 4], list(range(12)), [11] * 11 + [11]])
def test_dead_after_groups_as_the_plain_loop(last_use):
    from gradcheck_cli.ir import _dead_after

    assert _dead_after(last_use) == _reference_dead_after(last_use)


@settings(max_examples=150, deadline=None)
@given(_expressions(), st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 3))
def test_stencil_rows_and_branch_changes_are_the_numpy_engines(text, x, y, z):
    """The scalar stencil loop (both its loops: with branch changes asked for and without) against the numpy
    engine's, on rows that move every variable across its neighbourhood, kinks included."""
    from gradcheck_cli.eval.engine import branch_signs, forward, forward_output

    graph = build_graph(parse(text), REGISTRY)
    plain = _numpy_engine(graph)
    point = {"x": x, "y": y, "z": z}
    base = {v: np.array([point[v]]) for v in graph.variables}
    signs = branch_signs(plain, forward(plain, base))
    offsets = np.array([0.0, 1e-3, -1e-3, abs(x) + 1e-9, -abs(y) - 1e-9, 2.0, -2.0])
    rows = {v: point[v] + np.roll(offsets, k) for k, v in enumerate(graph.variables)}
    row_point = np.zeros(len(offsets), int)
    for dtype in (np.float64, np.complex128):
        inputs = {v: r + (1e-20j if dtype is np.complex128 else 0) for v, r in rows.items()}
        for asked in (None, signs):
            fast_f, fast_changes = forward_output(graph, inputs, dtype, asked, row_point)
            plain_f, plain_changes = forward_output(plain, inputs, dtype, asked, row_point)
            assert np.array_equal(fast_f, plain_f, equal_nan=True)
            assert fast_changes.keys() == plain_changes.keys()
            assert all(np.array_equal(fast_changes[g][k], plain_changes[g][k]) for g in fast_changes for k in (0, 1))


@settings(max_examples=80, deadline=None)
@given(_expressions(), st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 3), st.booleans())
def test_one_points_stencil_rows_are_the_general_ones_bit_for_bit(text, x, y, z, complex_rows):
    """numeric/differences: scalar variables at one point (every .gc line) get their stencil rows made in one array;
    the same rows as the general loop's, which a case of two points takes (its first point is this one)."""
    from gradcheck_cli.numeric.differences import _OFFSETS, _Layout, _stencil_inputs, centered_steps

    graph = build_graph(parse(text), REGISTRY)
    wrt = graph.variables
    if not wrt:
        return
    point = {"x": x, "y": y, "z": z}
    base = {v: np.array([point[v], point[v] + 1.0]) for v in graph.variables}
    layout = _Layout.of(graph, wrt)
    xs = np.array([[point[v] for v in wrt]])
    steps = centered_steps(xs)[..., None] * np.array(_OFFSETS)
    steps = 1j * steps if complex_rows else steps
    dtype = np.complex128 if complex_rows else np.float64
    elements = np.arange(len(wrt))
    one = _stencil_inputs(graph, base, layout, np.zeros(len(wrt), int), elements, steps[0], dtype)
    two = _stencil_inputs(graph, base, layout, np.array([0] * len(wrt) + [1]), np.append(elements, 0),
                          np.concatenate([steps[0], steps[0][:1]]), dtype)
    rows = len(wrt) * len(_OFFSETS)
    for v in graph.variables:
        general = np.broadcast_to(two[v], (rows + len(_OFFSETS),))[:rows]
        assert one[v].dtype == two[v].dtype
        assert np.array_equal(np.broadcast_to(one[v], (rows,)), general)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(_expressions(4), st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 3)), min_size=1, max_size=5))
def test_quotients_of_many_cases_together_are_each_cases_own(cases):
    """numeric/differences.differences_together (a .gc file's lines' quotients in one call of _formulas) against
    differences_of case by case: every field of every variable, bit for bit; a two-point case is taken alone."""
    from gradcheck_cli.eval.engine import branch_signs, forward, value_scales
    from gradcheck_cli.numeric.differences import Differences, differences_of, differences_together, stencil_rows

    many = []
    for k, (text, x, y, z) in enumerate(cases):
        graph = build_graph(parse(text), REGISTRY)
        point = {"x": x, "y": y, "z": z}
        n = 2 if k == 1 else 1
        base = {v: np.array([point[v]] * n) for v in graph.variables}
        values = forward(graph, base)
        f0 = np.broadcast_to(np.asarray(values[-1], dtype=np.float64), (n,)).copy()
        many.append(stencil_rows(graph, base, graph.variables, value_scales(values), f0, branch_signs(graph, values)))
    together = differences_together(many)
    for rows, joined in zip(many, together):
        alone = differences_of(rows)
        assert joined.keys() == alone.keys()
        for v in alone:
            for name in Differences.__slots__:
                a, b = getattr(alone[v], name), getattr(joined[v], name)
                if name == "crossed":
                    assert a.keys() == b.keys() and all(np.array_equal(a[g][i], b[g][i]) for g in a for i in (0, 1))
                else:
                    assert a.shape == b.shape and np.array_equal(a, b, equal_nan=True), (name, a, b)


@settings(max_examples=100, deadline=None)
@given(_expressions(), st.floats(-3, 3), st.floats(-3, 3), st.floats(-3, 3))
def test_nonfinite_points_reads_one_points_floats_as_the_arrays(text, x, y, z):
    """engine.nonfinite_points at one point reads the forward pass's floats at once (PointValues); the same answer
    as the node-by-node arrays, NaN and inf included (log, sqrt and division of anything)."""
    from gradcheck_cli.eval import fast
    from gradcheck_cli.eval.engine import forward, nonfinite_points

    graph = build_graph(parse(text), REGISTRY)
    point = {"x": x, "y": y, "z": z}
    values = forward(graph, {v: np.array([point[v]]) for v in graph.variables})
    extra = [np.array([np.inf if x > 2 else 1.0])]
    for arrays in ([], extra):
        assert np.array_equal(nonfinite_points(values, arrays, 1), nonfinite_points(list(values), arrays, 1))
    if isinstance(values, fast.PointValues):
        assert bool(nonfinite_points(values, [], 1)[0]) == (not np.all(np.isfinite(values.numbers)))


@settings(max_examples=80, deadline=None)
@given(_expressions(), st.floats(-3, 3), st.floats(-3, 3), st.floats(0.1, 3), st.booleans())
def test_one_points_pass_is_the_chunked_loops_bit_for_bit(text, x, y, z, complex_rows):
    """numeric/differences._run at one point whose rows fit one pass (a .gc line) skips the chunk bookkeeping: the
    same f at every row and the same kinks crossed as the chunked loop, which two points take."""
    from gradcheck_cli.eval.engine import branch_signs, forward
    from gradcheck_cli.numeric.differences import _OFFSETS, _Layout, _run, centered_steps

    graph = build_graph(parse(text), REGISTRY)
    if not graph.variables:
        return
    point = {"x": x, "y": y, "z": z}
    one = {v: np.array([point[v]]) for v in graph.variables}
    two = {v: np.array([point[v], point[v]]) for v in graph.variables}
    layout = _Layout.of(graph, graph.variables)
    xs = np.array([[point[v] for v in graph.variables]])
    steps = centered_steps(xs)[..., None] * np.array([*_OFFSETS, 0.01])
    dtype = np.complex128 if complex_rows else np.float64
    steps = 1j * steps[..., :1] if complex_rows else steps
    f1, crossed1 = _run(graph, one, layout, steps, dtype, None if complex_rows else branch_signs(graph, forward(graph, one)))
    f2, crossed2 = _run(graph, two, layout, np.concatenate([steps, steps]), dtype,
                        None if complex_rows else branch_signs(graph, forward(graph, two)))
    assert f1.dtype == f2.dtype and f1.shape == f2[:1].shape and np.array_equal(f1, f2[:1], equal_nan=True)
    assert crossed1.keys() == crossed2.keys()
    for g in crossed1:
        assert all(crossed1[g][i].dtype == crossed2[g][i].dtype and np.array_equal(crossed1[g][i], crossed2[g][i][:1])
                   for i in (0, 1))


# --- one point of scalar variables: the stencil and complex-step passes built from floats -----------------------------

def _passes(text: str, point: dict[str, float], h: float | None, general: bool):
    """stencil_rows and complex_step at the point, by the scalar path or (general) the layouts' path."""
    from gradcheck_cli.eval.engine import branch_signs, forward, value_scales
    from gradcheck_cli.numeric import differences

    graph = build_graph(parse(text), REGISTRY)
    inputs = {v: np.array([point[v]]) for v in graph.variables}
    values = forward(graph, inputs)
    f0 = np.asarray(values[-1], dtype=np.float64)
    scalar_point = differences._scalar_point
    if general:
        differences._scalar_point = lambda *args: False
    try:
        with np.errstate(all="ignore"):
            return (differences.stencil_rows(graph, inputs, graph.variables, value_scales(values), f0,
                                             branch_signs(graph, values), h),
                    differences.complex_step(graph, inputs, graph.variables))
    finally:
        differences._scalar_point = scalar_point


def _bits(a) -> bytes:
    return np.ascontiguousarray(np.asarray(a)).tobytes() + str(np.asarray(a).dtype).encode() + str(np.shape(a)).encode()


_values = st.one_of(st.floats(-3, 3), st.sampled_from([0.0, -0.0, 1.0, 1e-300, -1e8, 1.7e308, 5e-324]))


@settings(max_examples=150, deadline=None)
@given(_expressions(), st.fixed_dictionaries({v: _values for v in "xyz"}), st.sampled_from([None, 1e-4]))
def test_the_scalar_point_passes_give_the_general_paths_bits(text, point, h):
    """Every row, step, kink and complex slope of a one-point scalar case, bit for bit (signed zeros included), as
    the general path (layouts, per-element steps, chunks) makes them."""
    if not build_graph(parse(text), REGISTRY).variables:
        return
    fast, complex_fast = _passes(text, point, h, general=False)
    slow, complex_slow = _passes(text, point, h, general=True)
    for name in ("f", "f0", "hc", "hf", "scales"):
        assert _bits(getattr(fast, name)) == _bits(getattr(slow, name)), name
    assert (fast.shapes, fast.out_ndim, fast.layout.starts) == (slow.shapes, slow.out_ndim, slow.layout.starts)
    assert _bits(fast.layout.owner) == _bits(slow.layout.owner) and _bits(fast.layout.local) == _bits(slow.layout.local)
    assert fast.crossed.keys() == slow.crossed.keys()
    for g in fast.crossed:
        assert [_bits(a) for a in fast.crossed[g]] == [_bits(a) for a in slow.crossed[g]]
    assert {v: _bits(c) for v, c in complex_fast.items()} == {v: _bits(c) for v, c in complex_slow.items()}
