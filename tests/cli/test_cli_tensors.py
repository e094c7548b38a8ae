"""The command line with tensors, programs and gates: what a user types, what comes back (JSON parsed back,
exit codes, carets), and `check` over files that mix expression lines, matrices and program files."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

HERE = os.path.dirname(__file__)
TASK2_AT = "W=[[1, 1]], X=[[0], [-2], [1]], Y=[[0, 1], [1, -1], [0, -2]], lam=1"
TASK2 = "np.sum((X.dot(W) - Y) ** 2) + lam * np.sum(np.abs(W))"


def as_json(result) -> dict:
    return json.loads(result.stdout)


def test_tensor_gradients_are_nested_lists_with_their_shape(cli):
    result = cli("eval", TASK2, "--at", TASK2_AT, "--wrt", "W", "--expect", "dW=[[15, 11]]", "--format", "json")
    assert result.exit_code == 0, result.output
    g = as_json(result)["cases"][0]["gradients"][0]
    assert g["var"] == "W" and g["shape"] == [1, 2] and g["analytic"] == [[15.0, 11.0]] and g["exact"] == [[15.0, 11.0]]
    assert g["expected"] == [[15.0, 11.0]] and g["statuses"] == [["pass", "pass"]]
    assert as_json(result)["cases"][0]["point"]["X"] == [[0.0], [-2.0], [1.0]]


def test_a_jacobian_is_output_shape_then_input_shape(cli):
    result = cli("eval", "softmax(x)", "--at", "x=[1, 2]", "--format", "json")
    case = as_json(result)["cases"][0]
    assert case["value"] == pytest.approx([0.2689414213699951, 0.7310585786300049])
    assert case["gradients"][0]["shape"] == [2, 2]
    assert case["gradients"][0]["analytic"][0][1] == pytest.approx(-0.19661193324148185)


def test_a_wrong_tensor_claim_names_the_element_and_fails(cli):
    result = cli("eval", TASK2, "--at", TASK2_AT, "--wrt", "W", "--expect", "dW=[[15, 12]]")
    assert result.exit_code == 1
    assert "element [0, 1]: claimed dW = 12 but exact is 11" in result.stdout


def test_shape_errors_have_a_caret_under_the_operator(cli, tool_error):
    err = tool_error(cli("eval", "X @ W", "--at", "X=[[1,2],[3,4]], W=[[1],[2],[3]]"), "column 3: shapes (2, 2) and (3, 1) do not align for @")
    assert err.splitlines()[2].index("^") == 2 + 2  # under the '@'


def test_random_values_follow_the_seed(cli):
    result = cli("eval", "sum(W)", "--at", "W=rand(2, 2)", "--seed", "42", "--format", "json")
    expected = np.random.RandomState(42).rand(2, 2)
    np.testing.assert_allclose(as_json(result)["cases"][0]["point"]["W"], expected, rtol=1e-15)


def test_points_from_npz_files(cli, tmp_path):
    np.savez(tmp_path / "p.npz", W=np.array([[1.0, 1.0]]), X=np.array([[0.0], [-2.0], [1.0]]),
             Y=np.array([[0.0, 1.0], [1.0, -1.0], [0.0, -2.0]]), lam=np.array(1.0))
    result = cli("eval", TASK2, "--at", f"@{tmp_path / 'p.npz'}", "--wrt", "W", "--expect", "dW=[[15, 11]]")
    assert result.exit_code == 0, result.output


def test_float32_is_judged_with_float32_rounding(cli):
    result = cli("eval", "sum(tanh(W @ x))", "--at", "W=[[0.3, -1.2], [0.7, 0.4]], x=[1.5, -0.25]", "--dtype", "float32",
                 "--format", "json")
    assert result.exit_code == 0, result.output
    g = as_json(result)["cases"][0]["gradients"][0]
    assert 1e-10 < g["rel_errors"][0][0] < 1e-5  # float32's own rounding, accepted


# --- programs ------------------------------------------------------------------------------------------

STAGED = os.path.join(HERE, "..", "..", "expressions", "programs", "cs231n_staged.gc.py")


def test_a_program_file_is_checked_line_by_line(cli):
    result = cli("eval", f"@{STAGED}", "--format", "json")
    assert result.exit_code == 0, result.output
    case = as_json(result)["cases"][0]
    assert case["first_wrong_line"] is None
    assert [row["status"] for row in case["lines"]] == ["pass"] * 12
    assert case["lines"][0] == {"line": 18, "text": "dnum = invden", "target": "dnum", "yours": pytest.approx(0.5121444488396316),
                                "true": pytest.approx(0.5121444488396316), "status": "pass", "diagnosis": None}


def test_a_wrong_line_fails_with_its_number_and_diagnosis(cli):
    with open(STAGED, encoding="utf-8") as handle:
        text = handle.read().replace("dden = (-1.0 / (den**2)) * dinvden", "dden = (1.0 / (den**2)) * dinvden")
    result = cli("eval", "-", "--format", "json", input=text)
    assert result.exit_code == 1
    case = as_json(result)["cases"][0]
    assert case["first_wrong_line"] == 22
    wrong = [row for row in case["lines"] if row["status"] == "wrong"]
    assert [row["line"] for row in wrong] == [22] and wrong[0]["diagnosis"] == "the sign is flipped"
    table = cli("eval", "-", input=text)
    assert "line 22 (the first wrong line): the sign is flipped" in table.stdout


def test_program_errors_say_file_line_and_column(cli, tmp_path, tool_error):
    cell = tmp_path / "cell.py"
    cell.write_text("x = 1\nf = x ^ 2\n")
    err = tool_error(cli("eval", f"@{cell}"), f"{cell}:2:7", "use '**'")
    assert err.splitlines()[1].strip() == "f = x ^ 2"


def test_programs_take_one_at_and_no_samples(cli, tool_error):
    tool_error(cli("eval", f"@{STAGED}", "--samples", "3"), "--samples checks expressions")
    result = cli("eval", f"@{STAGED}", "--at", "x=2, y=1", "--format", "json")
    assert as_json(result)["cases"][0]["point"] == {"x": 2.0, "y": 1.0}


def test_check_runs_program_files_and_matrix_lines(cli):
    result = cli("check", os.path.join(HERE, "..", "..", "expressions"), "--strict", "--format", "json")
    assert result.exit_code == 0, result.output
    sources = {case["source"] for case in as_json(result)["cases"]}
    assert any(s.endswith("cs231n_staged.gc.py") for s in sources)
    assert any("matrices.gc:" in s for s in sources)


def test_a_broken_program_file_fails_check_at_its_line(cli, tmp_path):
    with open(STAGED, encoding="utf-8") as handle:
        (tmp_path / "staged.gc.py").write_text(handle.read().replace("dxpy = (2 * xpy)", "dxpy = (xpy)"))
    result = cli("check", str(tmp_path), "--format", "github")
    assert result.exit_code == 1
    assert "line=29" in result.stdout and "a factor 2 is missing" in result.stdout


# --- the point '@' and matrix multiplication in files; gates in files -----------------------------------

@pytest.mark.parametrize("line,points", [
    ("sum(A @ B) @ A=[[1, 2]], B=[[3], [4]]", 1),
    ("sum(A@B) @A=[[1, 2]], B=[[3], [4]]; A=[[0, 1]], B=[[1], [1]]", 2),
    ("sum(A @ B @ C) @ A=[[1]], B=[[2]], C=[[3]] => dA = B @ C", 1),
])
def test_the_point_at_sign_is_told_apart_from_matmul(line, points, cli, tmp_path):
    (tmp_path / "m.gc").write_text(line + "\n")
    result = cli("check", str(tmp_path / "m.gc"), "--format", "json")
    assert result.exit_code == 0, result.output
    assert len(as_json(result)["cases"]) == points


def test_gates_defined_in_a_file_are_used_and_audited(cli, tmp_path):
    (tmp_path / "g.gc").write_text(
        "def softplus(t) = log(1 + exp(t))\n"
        "d softplus/dt = sigma(t)\n"
        "softplus(w * x) * x @ w=1.3, x=0.7\n"
        "def bad(t) = t * t\n"
        "d bad/dt = 3 * t\n"
        "bad(x) + x @ x=0.5\n")
    result = cli("check", str(tmp_path / "g.gc"), "--format", "json")
    cases = as_json(result)["cases"]
    assert [c["status"] for c in cases] == ["pass", "mismatch"]
    assert result.exit_code == 1


def test_graph_pictures(cli, tmp_path):
    target = tmp_path / "g.dot"
    result = cli("eval", "(x+sigma(y))/(sigma(x)+(x+y)**2)", "--at", "x=3,y=-4", "--graph", str(target))
    assert result.exit_code == 0
    assert target.read_text().startswith("digraph gradcheck {") and "the gate graph is in" in result.stderr
