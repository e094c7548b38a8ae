"""check_function and `gradcheck function`: the user's own numpy code, against gradients written out by hand."""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pytest

from gradcheck_cli import check_function

RNG = np.random.default_rng(7)
W0, X0, Y0 = RNG.standard_normal((3, 2)), RNG.standard_normal((5, 3)), RNG.standard_normal((5, 2))


def ridge(W, X, y):
    return np.sum((X @ W - y) ** 2) + 0.1 * np.sum(W ** 2)


def ridge_grad(W, X, y):
    return {"W": 2 * X.T @ (X @ W - y) + 0.2 * W, "X": 2 * (X @ W - y) @ W.T}


def test_a_right_gradient_passes_with_the_complex_step_and_a_quadratic_taylor_remainder():
    report = check_function(ridge, {"W": W0, "X": X0, "y": Y0}, ridge_grad, wrt=("W", "X"))
    assert report.ok
    case = report.cases[0]
    assert [g.best_method for g in case.gradients] and all(np.all(g.best_method == "complex") for g in case.gradients)
    assert 1.9 < case.taylor.slope < 2.1


@pytest.mark.parametrize("factor", [1e-3, 1e-5])
def test_one_wrong_element_is_caught_and_named(factor):
    def wrong(W, X, y):
        g = ridge_grad(W, X, y)
        g["W"][2, 1] *= 1 + factor
        return g

    report = check_function(ridge, {"W": W0, "X": X0, "y": Y0}, wrong, wrt=("W", "X"))
    assert not report.ok
    dW = report.cases[0].gradients[0]
    assert dW.status == "mismatch" and [index for index, *_ in dW.failing] == [(2, 1)]
    assert report.cases[0].gradients[1].status == "pass"
    with pytest.raises(AssertionError, match="mismatch"):
        report.raise_for_status()


def test_a_function_that_refuses_complex_input_falls_back_to_real_differences():
    def loss(W):
        return float(np.sum(np.abs(W) ** 3))  # float() drops an imaginary part

    report = check_function(loss, {"W": W0}, lambda W: 3 * np.abs(W) * W)
    assert report.ok
    g = report.cases[0].gradients[0]
    assert g.complex_step is None and "complex" not in set(np.ravel(g.best_method))


def test_a_kink_is_found_from_one_sided_slopes():
    W = np.array([[0.0, 1.0]])
    report = check_function(lambda W: np.sum(np.maximum(W, 0)), {"W": W}, lambda W: (W > 0).astype(float))
    g = report.cases[0].gradients[0]
    assert list(np.ravel(g.statuses)) == ["kink", "pass"]


def test_a_kink_inside_a_large_input_is_a_kink_not_a_failed_taylor_test():
    W = np.random.default_rng(0).standard_normal((6, 5))
    W[0, 0] = 0.0  # the Taylor expansion along a random direction crosses relu's kink here
    report = check_function(lambda W: np.sum(np.maximum(W, 0) * 1.5), {"W": W}, lambda W: 1.5 * (W > 0))
    assert report.status == "kink" and report.ok
    assert "not counted: f has a kink here" in report.cases[0].message


def test_a_jacobian_of_an_array_output_is_checked_entry_by_entry():
    jacobian = np.einsum("ac,db->abcd", np.eye(5), W0)  # d(XW)[a,b]/dX[c,d] = δ_ac W[d,b]
    assert check_function(lambda X: X @ W0, {"X": X0}, lambda X: jacobian).ok
    broken = jacobian.copy()
    broken[4, 1, 4, 2] += 1e-3
    report = check_function(lambda X: X @ W0, {"X": X0}, lambda X: broken)
    assert [index for index, *_ in report.cases[0].gradients[0].failing] == [(4, 1, 4, 2)]


@pytest.mark.parametrize("complex_ok", [True, False])
def test_past_ten_thousand_elements_random_directions_and_bisection_name_the_wrong_element(complex_ok):
    W = np.random.default_rng(1).standard_normal((200, 100))

    def loss(W):
        value = np.sum(np.tanh(W) ** 2)
        return value if complex_ok else float(value)

    def grad(W):
        t = np.tanh(W)
        return 2 * t * (1 - t ** 2)

    assert check_function(loss, {"W": W}, grad).ok

    def wrong(W):
        g = grad(W)
        g[150, 99] *= 1.001
        return g

    report = check_function(loss, {"W": W}, wrong)
    g = report.cases[0].gradients[0]
    assert g.mode == "directions" and g.status == "mismatch"
    assert [index for index, *_ in g.failing] == [(150, 99)]


def test_the_taylor_test_alone_tells_a_wrong_gradient_from_a_right_one():
    from gradcheck_cli.function.taylor import taylor_test
    from gradcheck_cli.function.user_code import UserCode

    inputs = {"W": W0}
    f0 = np.asarray(ridge(W0, X0, Y0))
    code, exact = UserCode(lambda W: ridge(W, X0, Y0), None, "f", "grad"), (2.0 ** -52, 2.0 ** -52)
    right = taylor_test(code, inputs, {"W": ridge_grad(W0, X0, Y0)["W"]}, f0, *exact)
    wrong = taylor_test(code, inputs, {"W": 1.01 * ridge_grad(W0, X0, Y0)["W"]}, f0, *exact)
    assert right.verdict == "pass" and abs(right.slope - 2) < 0.1
    assert wrong.verdict == "mismatch" and abs(wrong.slope - 1) < 0.25


@pytest.mark.parametrize("grad, message", [
    (lambda W, X, y: 2 * W, "grad returned one array, but f has 3 inputs"),
    (lambda W, X, y: {"W": W}, "grad returned no gradient for X, y"),
    (lambda W, X, y: (W, X), "grad returned 2 gradients for 3 inputs"),
    (lambda W, X, y: {"W": W.T, "X": X, "y": y}, "grad returned shape (2, 3) for W, whose gradient has shape (3, 2)"),
])
def test_a_grad_of_the_wrong_form_says_what_was_expected(grad, message):
    # the user's gradient is wrong: a failed check (exit 1), with the message naming grad
    case = check_function(ridge, {"W": W0, "X": X0, "y": Y0}, grad).cases[0]
    assert case.status == "error"
    assert message.replace("grad returned", "<lambda> returned") in case.message


# --- gradcheck function ------------------------------------------------------------------------------

MODULE = textwrap.dedent("""\
    import numpy as np
    print("imported")  # a module that prints must not spoil --format json

    def loss(W, X, y):
        return np.sum((X @ W - y) ** 2) + 0.1 * np.sum(W ** 2)

    def loss_grad(W, X, y):
        return 2 * X.T @ (X @ W - y) + 0.2 * W

    def loss_grad_wrong(W, X, y):
        return 2 * X.T @ (X @ W - y) + 0.1 * W

    def broken(W, X, y):
        return W + undefined_name
    """)


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "model.py").write_text(MODULE)
    np.savez(tmp_path / "params.npz", W=W0, X=X0, y=Y0)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_function_command_passes_a_right_gradient_and_fails_a_wrong_one(cli, project):
    right = cli("function", "model.py:loss", "--grad", "model.py:loss_grad", "--at", "@params.npz", "--wrt", "W")
    assert right.exit_code == 0, right.output
    assert "✓ pass" in right.stdout and "Taylor test: the remainder shrinks like h**2.00" in right.stdout
    assert "imported" in right.stderr and "imported" not in right.stdout
    wrong = cli("function", "model.py:loss", "--grad", "model.py:loss_grad_wrong", "--at", "@params.npz", "--wrt", "W",
                "--format", "json")
    assert wrong.exit_code == 1
    data = json.loads(wrong.stdout)  # the module's print went to stderr
    assert data["cases"][0]["status"] == "mismatch"


def test_function_command_takes_points_written_out(cli, project):
    result = cli("function", "model.py:loss", "--grad", "model.py:loss_grad", "--wrt", "W",
                 "--at", "W=randn(3, 2), X=randn(5, 3), y=randn(5, 2)", "--seed", "3")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("args, fragment", [
    (["model.py:broken", "--grad", "model.py:loss_grad", "--at", "@params.npz", "--wrt", "W"],
     "calling model.py:broken raised NameError: name 'undefined_name' is not defined (model.py:14)"),
    (["model.py:nothing", "--grad", "model.py:loss_grad", "--at", "@params.npz"], "model.py has no 'nothing' (its functions: broken, loss"),
    (["model.py", "--grad", "model.py:loss_grad", "--at", "@params.npz"], "must be FILE.py:NAME or MODULE:NAME"),
    (["missing.py:f", "--grad", "model.py:loss_grad", "--at", "@params.npz"], "no file 'missing.py'"),
    (["model.py:loss", "--grad", "model.py:loss_grad", "--at", "@params.npz", "--wrt", "Q"], "--wrt names Q, which is not a parameter"),
    (["model.py:loss", "--grad", "model.py:loss_grad", "--at", "W=[1,2]"], "no value for 'X', 'y'"),
])
def test_function_command_errors_are_one_line(cli, tool_error, project, args, fragment):
    tool_error(cli("function", *args), fragment)


def test_a_sys_exit_in_the_users_code_cannot_end_the_run_as_a_pass(cli, tool_error, project):
    (project / "exits.py").write_text("import sys\n\ndef f(x):\n    sys.exit(0)\n\ndef g(x):\n    return 1.0\n")
    tool_error(cli("function", "exits.py:f", "--grad", "exits.py:g", "--at", "x=1"), "sys.exit(0) ended the call (exits.py:4)")
    (project / "quits.py").write_text("import sys\nsys.exit(0)\n")
    tool_error(cli("function", "quits.py:f", "--grad", "exits.py:g", "--at", "x=1"), "importing quits.py raised SystemExit")


def test_a_module_with_a_syntax_error_is_named_with_its_line(cli, tool_error, project):
    (project / "bad.py").write_text("def loss(W):\n    return W +\n")
    tool_error(cli("function", "bad.py:loss", "--grad", "model.py:loss_grad", "--at", "W=1"), "bad.py:2:")


def test_the_api_works_off_the_main_thread_with_its_exact_column():
    import threading

    from gradcheck_cli import check

    results = []
    worker = threading.Thread(target=lambda: results.append(check("(x+sigma(y))/(sigma(x)+(x+y)**2)", at={"x": 3, "y": -4})))
    worker.start()
    worker.join(60)
    assert results and results[0].ok
    assert results[0].cases[0].gradients[0].exact == pytest.approx(2.059569795572, rel=1e-12)  # cs231n's value


def test_api_arguments_mean_what_they_say():
    from gradcheck_cli import check

    # a variable whose name starts with d is a variable, not an already-prefixed claim
    assert check("delta*x", at={"delta": 2, "x": 3}, expect={"delta": 3, "x": 2}).ok
    assert not check("delta*x", at={"delta": 2, "x": 3}, expect={"delta": 4}).ok
    assert check("x*y", at={"x": 2, "y": 3}, expect={"dx": 3}).ok  # "dx" keys work too
    # wrt as a string names inputs, never characters
    two = check_function(lambda W1, b: np.sum(W1 ** 2) + b, {"W1": np.ones(2), "b": 1.0}, lambda W1, b: 2 * W1, wrt="W1")
    assert two.ok and [g.var for g in two.cases[0].gradients] == ["W1"]
    with pytest.raises(ValueError, match="in a program, its d-lines"):
        check("q = x*y\ndq = 1", at="x=1, y=2", expect={"x": 1})
    with pytest.raises(ValueError, match=r"h must be in \[1e-300, 1000\]"):
        check("x", at={"x": 1}, h=1e-301)


def test_a_gradient_of_the_wrong_form_is_a_failed_check_naming_grad(cli, project):
    # the user's code is wrong, not the tool's run: exit 1, and the message names the gradient function
    result = cli("function", "model.py:loss", "--grad", "model.py:loss_grad", "--at", "@params.npz")
    assert result.exit_code == 1, result.output
    assert "model.py:loss_grad returned one array, but f has 3 inputs" in result.stdout


# --- random draws of the inputs (function/draws.py) -------------------------------------------------------------------

def _relu_layer():
    rng = np.random.RandomState(0)
    W, x = rng.rand(3, 4), rng.rand(4, 2)  # all positive: every pre-activation positive, relu's mask all ones

    def f(W, x):
        return float(np.sum(np.maximum(0, W @ x) ** 2))

    def grad(W, x):
        z = W @ x
        return {"W": (2 * z * (z > 0)) @ x.T, "x": W.T @ (2 * z * (z > 0))}

    def grad_without_mask(W, x):
        z = W @ x
        return {"W": (2 * z) @ x.T, "x": W.T @ (2 * z)}

    return f, grad, grad_without_mask, {"W": W, "x": x}


def test_a_gradient_right_only_at_the_given_inputs_is_found_at_a_random_draw():
    f, grad, wrong, inputs = _relu_layer()
    right = check_function(f, inputs, grad)
    assert right.ok and not right.cases[0].function_notes
    report = check_function(f, inputs, wrong)
    case = report.cases[0]
    assert not report.ok and case.status == "mismatch"
    assert case.message.startswith("at a random draw of W, x (the given inputs pass): ")
    assert case.function_notes[0].startswith("every gradient agrees at the given inputs, but not at a random draw of W, x")
    assert np.any(np.asarray(case.point["W"]) < 0)  # the case is shown at the draw
    np.testing.assert_array_equal(inputs["W"], np.random.RandomState(0).rand(3, 4))  # the caller's arrays untouched
    assert "note: every gradient agrees at the given inputs" in report.text(width=200)


def test_draws_can_be_turned_off_and_are_not_made_for_float32_or_a_failing_domain():

    f, _, wrong, inputs = _relu_layer()
    assert check_function(f, inputs, wrong, draws=False).ok
    with pytest.raises(ValueError, match="draws must be True or False"):
        check_function(f, inputs, wrong, draws="no")
    as32 = {k: v.astype(np.float32) for k, v in inputs.items()}
    assert check_function(lambda W, x: np.float32(f(W, x)), as32, lambda W, x: {k: v.astype(np.float32) for k, v in wrong(W, x).items()}).ok

    def log_f(x):  # log of a negative draw is nan: no draw is a finding, the case passes as at its inputs
        return float(np.sum(np.log(x)))

    assert check_function(log_f, {"x": np.array([1.0, 2.0, 3.0])}, lambda x: 1 / x).ok


def test_function_command_finds_a_gradient_right_only_at_the_given_inputs_unless_no_draws(cli, tmp_path, monkeypatch):
    (tmp_path / "relu.py").write_text(textwrap.dedent("""
        import numpy as np

        def loss(W, x):
            return float(np.sum(np.maximum(0, W @ x) ** 2))

        def loss_grad(W, x):  # relu's mask left out: right wherever W @ x > 0
            return 2 * (W @ x) @ x.T
        """))
    monkeypatch.chdir(tmp_path)
    args = ("function", "relu.py:loss", "--grad", "relu.py:loss_grad", "--at", "W=rand(3,4), x=rand(4,2)", "--wrt", "W")
    found = cli(*args)
    assert found.exit_code == 1, found.output
    assert "note every gradient agrees at the given inputs, but not at a random draw of W" in " ".join(found.stdout.split())
    assert cli(*args, "--no-draws").exit_code == 0


def test_a_python_int_that_wrt_does_not_name_reaches_f_as_an_int():
    """A count or a stride f uses as an index: made a float array it would break x[:n] in the user's code."""
    seen = []

    def f(x, n):
        seen.append(type(n))
        return float(np.sum(x[:n] ** 2))

    report = check_function(f, {"x": np.arange(4.0) + 1, "n": 2}, lambda x, n: np.r_[2 * x[:n], np.zeros(len(x) - n)],
                            wrt=["x"])
    assert report.ok, report.text()
    assert set(seen) == {int}
    assert [g.var for g in check_function(lambda x, y: x * y, {"x": 3, "y": 4}, lambda x, y: (y, x)).cases[0].gradients] == ["x", "y"]
