"""Tensors: every op against a numpy formula written by hand, VJPs against the oracle and finite differences,
the seeds' matrix exercises with their printed numbers, Jacobians, shape errors with their columns."""

from __future__ import annotations

import numpy as np
import pytest

from gradcheck_cli.errors import GradcheckError, ShapeError
from gradcheck_cli.eval.engine import backward, forward
from gradcheck_cli.expression.check import Options
from gradcheck_cli.ir import build_graph
from gradcheck_cli.lang.expr import parse
from gradcheck_cli.ops import default_registry
from gradcheck_cli.session import check_text

R = default_registry()
RNG = np.random.default_rng(7)
A = RNG.uniform(-2, 2, (3, 4))
B = RNG.uniform(-2, 2, (3, 4))
M = RNG.uniform(-2, 2, (4, 2))
v = RNG.uniform(-2, 2, 4)
u = RNG.uniform(-2, 2, 3)
S = RNG.uniform(-2, 2, (4, 4))


def value(text: str, **inputs) -> np.ndarray:
    graph = build_graph(parse(text), R, {k: np.shape(x) for k, x in inputs.items()})
    return forward(graph, {k: np.asarray(x, dtype=float)[None] for k, x in inputs.items()})[-1][0]


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# every tensor op's forward against numpy itself (the formula a user would write)
FORWARDS = [
    ("A @ M", dict(A=A, M=M), lambda: A @ M),
    ("v @ v", dict(v=v), lambda: v @ v),
    ("A @ v", dict(A=A, v=v), lambda: A @ v),
    ("u @ A", dict(u=u, A=A), lambda: u @ A),
    ("np.dot(A, M)", dict(A=A, M=M), lambda: np.dot(A, M)),
    ("dot(v, v)", dict(v=v), lambda: np.dot(v, v)),
    ("A.dot(M)", dict(A=A, M=M), lambda: A.dot(M)),
    ("sum(A)", dict(A=A), lambda: A.sum()),
    ("sum(A, 0)", dict(A=A), lambda: A.sum(0)),
    ("np.sum(A, axis=1, keepdims=True)", dict(A=A), lambda: A.sum(axis=1, keepdims=True)),
    ("mean(A, -1)", dict(A=A), lambda: A.mean(-1)),
    ("A.mean()", dict(A=A), lambda: A.mean()),
    ("A.T", dict(A=A), lambda: A.T),
    ("transpose(A)", dict(A=A), lambda: A.T),
    ("softmax(A)", dict(A=A), lambda: _softmax(A)),
    ("softmax(A, axis=0)", dict(A=A), lambda: _softmax(A, 0)),
    ("log_softmax(A)", dict(A=A), lambda: np.log(_softmax(A))),
    ("logsumexp(A)", dict(A=A), lambda: np.log(np.exp(A).sum(-1))),
    ("outer(u, v)", dict(u=u, v=v), lambda: np.outer(u, v)),
    ("diag(v)", dict(v=v), lambda: np.diag(v)),
    ("diag(S)", dict(S=S), lambda: np.diag(S)),
    ("np.diagflat(v)", dict(v=v), lambda: np.diagflat(v)),
    ("A.reshape(-1, 2)", dict(A=A), lambda: A.reshape(-1, 2)),
    ("A[1]", dict(A=A), lambda: A[1]),
    ("A[1, 2]", dict(A=A), lambda: A[1, 2]),
    ("A[:, -1]", dict(A=A), lambda: A[:, -1]),
    ("A[::2, 1:3]", dict(A=A), lambda: A[::2, 1:3]),
    ("[u[0], u[1] * 2]", dict(u=u), lambda: np.array([u[0], u[1] * 2])),
    ("A > 0", dict(A=A), lambda: (A > 0).astype(float)),
    ("A <= B", dict(A=A, B=B), lambda: (A <= B).astype(float)),
    ("np.sign(A)", dict(A=A), lambda: np.sign(A)),
    ("np.maximum(A, 0)", dict(A=A), lambda: np.maximum(A, 0)),
    ("np.minimum(A, B)", dict(A=A, B=B), lambda: np.minimum(A, B)),
    ("A * v", dict(A=A, v=v), lambda: A * v),
    ("A + u.reshape(3, 1)", dict(A=A, u=u), lambda: A + u.reshape(3, 1)),
    ("np.exp(A) / np.sum(np.exp(A), axis=1, keepdims=True)", dict(A=A), lambda: _softmax(A)),
]


@pytest.mark.parametrize("text,inputs,expected", FORWARDS, ids=[f[0] for f in FORWARDS])
def test_forward_matches_numpy(text, inputs, expected):
    np.testing.assert_allclose(value(text, **inputs), expected(), rtol=1e-14, atol=1e-15)


# every differentiable tensor op inside a scalar loss, checked end to end: analytic (the VJP), the
# complex step, the centered difference and the oracle's 50-digit lowering must all agree
LOSSES = [
    ("sum(tanh(A @ M))", dict(A=A, M=M)),
    ("sum(v @ S)", dict(v=v, S=S)),
    ("v @ v", dict(v=v)),
    ("sum(dot(A, M) ** 2)", dict(A=A, M=M)),
    ("dot(v, S @ v)", dict(v=v, S=S)),
    ("sum(sum(A, 0) * v)", dict(A=A, v=v)),
    ("sum(mean(A, 1, keepdims=True) * A)", dict(A=A)),
    ("sum(A.T @ u)", dict(A=A, u=u)),
    ("sum(softmax(A) * B)", dict(A=A, B=B)),
    ("sum(log_softmax(A, axis=0) * B)", dict(A=A, B=B)),
    ("sum(logsumexp(A) * u)", dict(A=A, u=u)),
    ("sum(outer(u, v) * A)", dict(u=u, v=v, A=A)),
    ("sum(diag(v) * S)", dict(v=v, S=S)),
    ("sum(diag(S) * v)", dict(S=S, v=v)),
    ("sum(diagflat(v) * S)", dict(v=v, S=S)),
    ("sum(A.reshape(4, 3) @ u)", dict(A=A, u=u)),
    ("A[1] @ v + A[0, 2] * A[2, 3]", dict(A=A, v=v)),
    ("sum([v[0] * v[1], sin(v[2])] * [2, 3])", dict(v=v)),
    ("sum(sigma(A) * (A > 0.1))", dict(A=A)),
    ("sum(abs(A - B) + relu(A) * np.sign(B))", dict(A=A, B=B)),
    ("sum(np.maximum(A, B) * np.minimum(A, 0.3))", dict(A=A, B=B)),
    ("sum((A * v) ** 2) / mean(exp(u))", dict(A=A, v=v, u=u)),
]


@pytest.mark.parametrize("text,inputs", LOSSES, ids=[t for t, _ in LOSSES])
def test_every_column_agrees_on_tensor_losses(text, inputs):
    case = check_text(text, inputs, options=Options(exact_timeout=20))
    assert case.status == "pass", case.message
    for g in case.gradients:
        assert g.shape == np.shape(inputs[g.var])
        np.testing.assert_allclose(g.analytic, g.exact, rtol=1e-12, atol=1e-14, err_msg=g.var)
        np.testing.assert_allclose(g.complex_step, g.exact, rtol=1e-12, atol=1e-14, err_msg=g.var)
        np.testing.assert_allclose(g.centered, g.exact, rtol=1e-6, atol=1e-7, err_msg=g.var)


def test_matmul_vjps_are_the_cs231n_formulas():
    # dW = dD.dot(X.T), dX = W.T.dot(dD): written by hand, with dD the upstream gradient
    W, X, dD = RNG.standard_normal((5, 10)), RNG.standard_normal((10, 3)), RNG.standard_normal((5, 3))
    graph = build_graph(parse("W.dot(X)"), R, {"W": (5, 10), "X": (10, 3)})
    values = forward(graph, {"W": W[None], "X": X[None]})
    grads = backward(graph, values, seed=dD[None]).node_grads
    np.testing.assert_allclose(grads[graph.variable_nodes[0]][0], dD.dot(X.T), rtol=1e-14)
    np.testing.assert_allclose(grads[graph.variable_nodes[1]][0], W.T.dot(dD), rtol=1e-14)
    case = check_text("sum(W.dot(X) * dD)", {"W": W, "X": X, "dD": dD}, wrt=("W", "X"), expect="dW=dD.dot(X.T), dX=W.T.dot(dD)")
    assert case.status == "pass", case.message


def test_broadcast_inputs_get_gradients_of_their_own_shape():
    # unbroadcast: b (3,1) added to (3,4) receives the row sums of the upstream gradient
    b = RNG.standard_normal((3, 1))
    case = check_text("sum(A + b)", {"A": A, "b": b})
    assert case.status == "pass", case.message
    np.testing.assert_array_equal({g.var: g for g in case.gradients}["b"].analytic, np.full((3, 1), 4.0))


# --- the seeds' exercises, with the numbers they print ---------------------------------------------------

TASK2 = "np.sum((X.dot(W) - Y) ** 2) + lam * np.sum(np.abs(W))"


@pytest.mark.parametrize("at,loss,dW", [
    ("W=[[1, 1]], X=[[0], [-2], [1]], Y=[[0, 1], [1, -1], [0, -2]], lam=1", 23, [[15, 11]]),
    ("X=[[-2, -3], [-3, -4], [1, 0]], W=[[2], [1]], Y=[[-4], [2], [-3]], lam=-2", 172, [[92], [112]]),
])
def test_task2_cells(at, loss, dW):
    case = check_text(TASK2, at, wrt="W", expect=f"dW={dW}, f={loss}")
    assert case.status == "pass", case.message
    assert case.value == loss
    np.testing.assert_array_equal(case.gradients[0].analytic, dW)
    assert case.gradients[0].exact is not None


def test_task2_analytic_formula_claim_and_a_wrong_element_is_named():
    at = "W=[[1, 1]], X=[[0], [-2], [1]], Y=[[0, 1], [1, -1], [0, -2]], lam=1"
    assert check_text(TASK2, at, wrt="W", expect="dW=2*X.T@(X@W - Y) + lam*sign(W)").status == "pass"
    case = check_text(TASK2, at, wrt="W", expect="dW=[[15, 12]]")
    assert case.status == "mismatch"
    assert case.gradients[0].diagnosis == "element [0, 1]: claimed dW = 12 but exact is 11"


TASK3 = ("-(y * np.log(sigmoid(np.dot(W2, np.maximum(np.dot(W1, x) + b1, 0)) + b2))"
         " + (1 - y) * np.log(1 - sigmoid(np.dot(W2, np.maximum(np.dot(W1, x) + b1, 0)) + b2)))")
TASK3_AT = "W1=rand(2,2), b1=rand(2,1), W2=rand(1,2), b2=rand(1,1), x=rand(2,1), y=1"


def test_task3_seed_42_reproduces_the_notebook():
    case = check_text(TASK3, TASK3_AT, seed=42, wrt=("W1", "b1", "W2", "b2"), expect=(
        "f ~= [[0.25835725]], dW1 ~= [[-0.00936392, -0.00027222], [-0.13964014, -0.0040595]], "
        "db1 ~= [[-0.01322452], [-0.19721162]], dW2 ~= [[-0.10035944, -0.1563307]], db2 ~= [[-0.22768073]]"))
    assert case.status == "pass", case.message
    np.testing.assert_allclose(case.point["x"], [[0.70807258], [0.02058449]], atol=5e-9)
    assert case.value.shape == (1, 1)  # a (1, 1) loss counts as a scalar: gradients have the parameters' shapes
    assert {g.var: g.shape for g in case.gradients} == {"W1": (2, 2), "b1": (2, 1), "W2": (1, 2), "b2": (1, 1)}


def test_printed_digits_claims_fail_past_their_last_digit():
    # ~= accepts half a unit of the last printed digit: -0.0093640 is off by more than that
    case = check_text(TASK3, TASK3_AT, seed=42, wrt="W1", expect="dW1 ~= [[-0.0093640, -0.00027222], [-0.13964014, -0.0040595]]")
    assert case.status == "mismatch"
    assert "element [0, 0]" in case.gradients[0].diagnosis
    # three printed digits: right to their last digit (~=), but not to --rtol 1e-6 (=)
    short = "[[-0.00936, -0.000272], [-0.140, -0.00406]]"
    assert check_text(TASK3, TASK3_AT, seed=42, wrt="W1", expect=f"dW1 ~= {short}").status == "pass"
    assert check_text(TASK3, TASK3_AT, seed=42, wrt="W1", expect=f"dW1 = {short}").status == "mismatch"


def test_task4_softmax_jacobian_output_indices_first():
    case = check_text("softmax(x)", "x=[1, 2]", expect="dx=diag(softmax(x)) - outer(softmax(x), softmax(x))")
    assert case.status == "pass", case.message
    s = _softmax(np.array([1.0, 2.0]))
    g = case.gradients[0]
    assert g.shape == (2, 2)
    np.testing.assert_allclose(g.analytic, np.diag(s) - np.outer(s, s), rtol=1e-15, atol=1e-16)
    np.testing.assert_allclose(case.value, s, rtol=1e-15)


def test_task4_notebook_jacobian_is_off_in_the_seventh_digit():
    # the notebook's softmax adds EPS to the denominator: its printed Jacobian is not softmax's
    case = check_text("softmax(x)", "x=[1, 2]", expect="dx ~= [[0.19661181, -0.19661154], [-0.19661154, 0.19661227]]")
    assert case.status == "mismatch"


def test_jacobian_of_a_matrix_output_has_output_shape_then_input_shape():
    case = check_text("A @ M", {"A": A, "M": M}, wrt="M")
    g = case.gradients[0]
    assert g.shape == (3, 2, 4, 2)
    expected = np.einsum("ik,jl->ijkl", A, np.eye(2))  # d(AM)[i,j]/dM[k,l] = A[i,k] δ(j,l)
    np.testing.assert_allclose(g.analytic, expected, rtol=1e-15)
    assert case.status == "pass", case.message


# --- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,at,fragment,column", [
    ("X @ W", "X=[[1,2],[3,4]], W=[[1],[2],[3]]", "do not align for @", 3),
    ("sum(A, 2)", "A=[[1,2]]", "axis 2 is out of bounds", 1),
    ("A + b", "A=[[1,2,3]], b=[1,2]", "do not broadcast for +", 3),
    ("w[3]", "w=[1,2,3]", "out of bounds", 2),
    ("softmax(x)", "x=2", "softmax needs an array", 1),
    ("[a, w]", "a=1, w=[1,2]", "different shapes", 1),
])
def test_shape_errors_say_shapes_and_column(text, at, fragment, column):
    with pytest.raises(ShapeError) as info:
        check_text(text, at)
    assert fragment in info.value.message
    assert info.value.position.column == column


@pytest.mark.parametrize("at,fragment", [
    ("W=[[1, 2], [3]]", "different shapes"),
    ("W=[[1, 2], 3]", "different shapes"),
    ("W=zeros(100000, 100000)", "the limit is"),
    ("W=[1, 2, inf]", "'inf'"),
])
def test_bad_values_are_errors_with_a_position(at, fragment):
    with pytest.raises(GradcheckError) as info:
        check_text("sum(W)", at)
    assert fragment in info.value.message or fragment in info.value.render()
    assert info.value.position is not None


def test_claim_of_the_wrong_shape_is_an_error():
    with pytest.raises(ShapeError, match=r"claim dW has shape \(2, 1\), but the gradient has shape \(1, 2\)"):
        check_text("sum(W)", "W=[[1, 2]]", expect="dW=[[1], [1]]")


def test_points_keep_a_batch_axis_apart_from_shapes():
    # a length-4 vector at one point is one case with a (4,) gradient, not four points
    cases = check_text("sum(w**2)", ["w=[1, 2, 3, 4]", "w=[0.5, 1, 1, 1]"])
    assert [c.status for c in cases] == ["pass", "pass"]
    np.testing.assert_array_equal(cases[0].gradients[0].analytic, [2, 4, 6, 8])
    np.testing.assert_array_equal(cases[1].gradients[0].analytic, [1, 2, 2, 2])


def test_random_values_follow_numpy_legacy_seeding():
    state = np.random.RandomState(3)
    expected = state.rand(2, 3), state.randn(4)
    case = check_text("sum(W) + sum(v)", "W=rand(2, 3), v=randn(4)", seed=3)
    np.testing.assert_array_equal(case.point["W"], expected[0])
    np.testing.assert_array_equal(case.point["v"], expected[1])


def test_values_from_npz_and_json_files(tmp_path):
    np.savez(tmp_path / "p.npz", W=np.array([[1.0, 1.0]]), X=np.array([[0.0], [-2.0], [1.0]]))
    (tmp_path / "y.json").write_text('{"Y": [[0, 1], [1, -1], [0, -2]], "lam": 1}')
    np.save(tmp_path / "w.npy", np.array([[1.0, 1.0]]))
    at = f"@{tmp_path / 'p.npz'}, @{tmp_path / 'y.json'}"
    assert check_text(TASK2, at, wrt="W", expect="dW=[[15, 11]]").status == "pass"
    at = f"W=@{tmp_path / 'w.npy'}, X=[[0], [-2], [1]], @{tmp_path / 'y.json'}"
    assert check_text(TASK2, at, wrt="W", expect="dW=[[15, 11]]").status == "pass"


def test_kink_inside_a_tensor_names_gate_and_element():
    # a relu pre-activation exactly 0 inside a network: a kink, naming the gate and the element
    case = check_text("sum(relu(W @ x))", "W=[[1, -1], [2, 1]], x=[1, 1]", wrt="W")
    assert case.status == "kink"
    assert "relu at column 5" in case.gradients[0].diagnosis and "element [0]" in case.gradients[0].diagnosis


def test_float32_runs_the_graph_in_float32_and_judges_with_float32_rounding():
    case = check_text("sum(tanh(A @ M))", {"A": A, "M": M}, options=Options(dtype="float32"))
    assert case.status == "pass", case.message
    g = {g.var: g for g in case.gradients}["M"]
    assert np.max(np.abs(g.analytic - g.exact) / np.abs(g.exact)) > 1e-9  # float32's error is there
    assert np.max(np.abs(g.analytic - g.exact) / np.abs(g.exact)) < 1e-5


# --- perturbed copies evaluated where they differ (delta.py) ----------------------------------------------

@pytest.mark.parametrize("text,inputs", LOSSES, ids=[t for t, _ in LOSSES])
def test_sparse_rows_agree_with_dense_rows(text, inputs, monkeypatch):
    from gradcheck_cli.eval import delta

    sparse = check_text(text, inputs, options=Options(exact=False))
    monkeypatch.setattr(delta, "worthwhile", lambda graph, elements: False)
    dense = check_text(text, inputs, options=Options(exact=False))
    for s, d in zip(sparse.gradients, dense.gradients):
        np.testing.assert_allclose(s.complex_step, d.complex_step, rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(s.centered, d.centered, rtol=1e-6, atol=1e-9)
        assert s.status == d.status


def test_directions_past_the_limit_name_the_faulty_elements():
    rng = np.random.default_rng(3)
    X, W = rng.standard_normal((4, 30)), rng.standard_normal((30, 30)) * 0.2
    options = Options(exact=False, direction_limit=100)
    case = check_text("sum(tanh(X @ W) ** 2)", {"X": X, "W": W}, wrt="W", options=options)
    assert case.status == "pass" and case.gradients[0].mode == "directions"
    assert all(s.agrees for s in case.gradients[0].directions)
    # a tanh rule wrong only where its argument exceeds 1.5: exactly the elements that feed such a unit are wrong
    bad = R.replace_op("tanh", partials=(lambda ans, a: np.where(a.real > 1.5, 1.01, 1.0) / np.cosh(a) ** 2,))
    case = check_text("sum(tanh(X @ W) ** 2)", {"X": X, "W": W}, wrt="W", options=options, registry=bad)
    g = case.gradients[0]
    assert case.status == "mismatch" and "bisecting the direction names" in g.diagnosis
    hot_columns = set(np.flatnonzero(((X @ W) > 1.5).any(axis=0)))
    assert g.failing and all(index[1] in hot_columns for index, _, _ in g.failing)
