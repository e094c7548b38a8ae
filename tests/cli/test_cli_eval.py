"""`gradcheck eval` end to end: exit codes, error output, the gradcheck/1 JSON, options, input sources, colour,
lazy imports. Mostly through click's CliRunner; a few real subprocesses where the process itself matters."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys

import pytest

COLOR_SGR = re.compile(r"\x1b\[[0-9;]*(?:3[0-9]|4[0-9]|9[0-7]|10[0-7])(?:;[0-9;]*)?m")


def strict_json(text: str):
    """json.loads that refuses NaN/Infinity tokens and anything after the one object."""
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def run_module(*args: str, input: str | None = None, env: dict | None = None, timeout: float = 120):
    full_env = dict(os.environ, NO_COLOR="1", **(env or {}))
    return subprocess.run([sys.executable, "-m", "gradcheck_cli", *args], input=input, capture_output=True,
                          text=True, env=full_env, timeout=timeout)


# --- exit codes ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("args,status", [
    (["x**2", "--at", "x=3"], "pass"),
    (["relu(x)", "--at", "x=0"], "kink"),
    (["abs(x) + y", "--at", "x=0,y=1"], "kink"),
])
def test_exit_code_0(args, status, cli):
    result = cli("eval", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    assert strict_json(result.stdout)["cases"][0]["status"] == status


@pytest.mark.parametrize("args,status", [
    (["x**2", "--at", "x=3", "--expect", "dx=7"], "mismatch"),
    (["log(x)", "--at", "x=-1"], "error"),
    (["x**2", "--at", "x=3", "--at", "x=-1", "--expect", "dx=6"], "mismatch"),  # one failing point fails the run
])
def test_exit_code_1(args, status, cli):
    result = cli("eval", *args, "--format", "json")
    assert result.exit_code == 1, result.output
    statuses = [c["status"] for c in strict_json(result.stdout)["cases"]]
    assert status in statuses


def test_strict_makes_kinks_fail(cli):
    assert cli("eval", "relu(x)", "--at", "x=0", "--strict").exit_code == 1


@pytest.mark.parametrize("args,fragment,caret_under", [
    (["2x", "--at", "x=1"], "missing operator", "x"),
    (["sigm(x)", "--at", "x=1"], "did you mean 'sigma'", "s"),
    (["x^2", "--at", "x=1"], "'**'", "^"),
    (["(x+1", "--at", "x=1"], "unclosed", "("),
    (["x", "--at", "x=abc"], "not a number", "a"),
    (["x*y", "--at", "x=1"], "no value for 'y'", None),
    (["x", "--at", "x=1,z=2"], "'z' is not a variable", "z"),
    (["x", "--at", "x=1", "--expect", "dq=1"], "dq", "d"),
    (["x", "--at", "x=1e999"], "too large", "1"),
    (["x", "--at", "x=1/0"], "not finite", None),
])
def test_exit_code_2_with_one_line_and_a_caret(args, fragment, caret_under, cli, tool_error):
    err = tool_error(cli("eval", *args), fragment)
    lines = err.rstrip("\n").split("\n")
    assert lines[0].startswith("gradcheck: ")
    assert len(lines) == 3, err
    assert lines[2].strip() == "^"
    if caret_under is not None:
        assert lines[1][lines[2].index("^")] == caret_under, err


@pytest.mark.parametrize("args,fragment", [
    (["x", "--at", "x=1", "--wrt", "z"], "--wrt"),
    (["x"], "--at"),
    (["x", "--at", "x=1", "--h", "-1"], "--h"),
    (["x", "--at", "x=1", "--rtol", "-1"], "--rtol"),
    (["@/nonexistent/expression.gc", "--at", "x=1"], "cannot read"),
])
def test_exit_code_2_for_usage_errors(args, fragment, cli, tool_error):
    err = tool_error(cli("eval", *args), fragment)
    assert err.startswith("gradcheck: ")
    assert len(err.strip().split("\n")) <= 3


@pytest.mark.parametrize("args,fragment", [
    (["x", "--at", "x=1", "--bogus"], "--bogus"),
    (["x", "--at", "x=1", "--format", "xml"], "--format"),
    (["x", "--at", "x=1", "--rtol", "abc"], "--rtol"),
    ([], "EXPRESSION"),
])
def test_exit_code_2_for_bad_options(args, fragment, cli):
    result = cli("eval", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert fragment in result.stderr
    assert len(result.stderr.rstrip("\n").split("\n")) == 1, result.stderr


def test_negative_exact_timeout_is_rejected(cli, tool_error):
    tool_error(cli("eval", "x", "--at", "x=1", "--exact-timeout", "-1"), "--exact-timeout")


@pytest.mark.parametrize("option,value", [("--h", "nan"), ("--h", "inf"), ("--rtol", "nan"), ("--atol", "nan"),
                                          ("--h", "1e-300")])
def test_meaningless_numeric_options_are_tool_errors(option, value, cli, tool_error):
    """A step or tolerance that cannot mean anything is the user's mistake (exit 2), not a verdict or a crash."""
    tool_error(cli("eval", "x**2", "--at", "x=1", option, value), option)


def test_duplicate_wrt_is_not_checked_twice(cli):
    result = cli("eval", "x*y", "--at", "x=1,y=2", "--wrt", "x,x", "--format", "json")
    if result.exit_code == 2:  # rejecting the duplicate is fine too
        assert "x" in result.stderr
        return
    assert result.exit_code == 0
    assert [g["var"] for g in strict_json(result.stdout)["cases"][0]["gradients"]] == ["x"]


# --- JSON -----------------------------------------------------------------------------------------------

CASE_KEYS = {"expr", "source", "point", "value", "status", "message", "gradients"}
GRADIENT_KEYS = {"var", "analytic", "forward", "centered", "exact", "exact_expr", "expected", "rel_error", "status"}
SUMMARY_KEYS = {"total", "pass", "mismatch", "kink", "error"}


def test_json_schema(cli):
    result = cli("eval", "(x+sigma(y))/(sigma(x)+(x+y)**2)", "--at", "x=3,y=-4", "--format", "json",
                 "--exact-method", "auto")
    assert result.exit_code == 0
    data = strict_json(result.stdout)
    assert set(data) == {"schema", "cases", "summary"}
    assert data["schema"] == "gradcheck/1"
    case, = data["cases"]
    assert CASE_KEYS <= set(case)
    assert case["expr"] == "(x+sigma(y))/(sigma(x)+(x+y)**2)"
    assert case["source"] is None
    assert case["point"] == {"x": 3.0, "y": -4.0}
    assert case["value"] == pytest.approx(1.5456448841066441, rel=1e-14, abs=0)
    assert case["status"] == "pass" and case["message"] is None
    assert [g["var"] for g in case["gradients"]] == ["x", "y"]
    for g in case["gradients"]:
        assert GRADIENT_KEYS <= set(g)
        assert g["status"] == "pass"
        assert g["expected"] is None
        assert isinstance(g["exact_expr"], str)
        for key in ("analytic", "forward", "centered", "exact", "rel_error"):
            assert isinstance(g[key], float), key
        assert g["analytic"] == pytest.approx(g["exact"], rel=1e-14, abs=0)
    assert SUMMARY_KEYS <= set(data["summary"])
    assert data["summary"]["total"] == 1 and data["summary"]["pass"] == 1
    assert data["summary"]["mismatch"] == data["summary"]["kink"] == data["summary"]["error"] == 0


def test_json_is_exactly_one_object_on_stdout(cli):
    result = cli("eval", "x*y", "--at", "x=1,y=2", "--at", "x=3,y=4", "--format", "json")
    text = result.stdout.strip()
    assert text.startswith("{") and text.endswith("}")
    decoder = json.JSONDecoder()
    obj, end = decoder.raw_decode(text)
    assert end == len(text)
    assert isinstance(obj, dict)
    assert result.stderr == ""


def test_json_summary_counts_each_status(cli):
    result = cli("eval", "relu(x)*y", "--at", "x=0,y=1", "--at", "x=1,y=1", "--at", "x=2,y=2", "--format", "json")
    summary = strict_json(result.stdout)["summary"]
    assert summary["total"] == 3
    assert summary["kink"] == 1 and summary["pass"] == 2


@pytest.mark.parametrize("expr,at,value", [
    ("exp(x)", "x=1000", "inf"),
    ("-exp(x)", "x=1000", "-inf"),
    ("log(x)", "x=-1", "nan"),
])
def test_json_non_finite_numbers_are_strings(expr, at, value, cli):
    result = cli("eval", "--at", at, "--format", "json", "--", expr)
    assert result.exit_code == 1
    case = strict_json(result.stdout)["cases"][0]
    assert case["status"] == "error"
    assert case["value"] == value
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout


def test_json_error_case_names_the_gate(cli):
    case = strict_json(cli("eval", "x + log(y)", "--at", "x=1,y=-1", "--format", "json").stdout)["cases"][0]
    assert case["status"] == "error"
    assert "log" in case["message"]
    assert case["gradients"] == []


def test_json_claims(cli):
    result = cli("eval", "sigma(x)", "--at", "x=0.5", "--expect", "dx=sigma(x)*(1-sigma(x))", "--format", "json")
    assert result.exit_code == 0
    g = strict_json(result.stdout)["cases"][0]["gradients"][0]
    s = 1 / (1 + math.exp(-0.5))
    assert g["expected"] == pytest.approx(s * (1 - s), rel=1e-15, abs=0)
    assert g["status"] == "pass"


def test_json_mismatch_message(cli):
    result = cli("eval", "x**3", "--at", "x=2", "--expect", "dx=11.99", "--format", "json")
    assert result.exit_code == 1
    case = strict_json(result.stdout)["cases"][0]
    assert case["status"] == "mismatch"
    assert "dx" in case["message"]
    assert case["gradients"][0]["expected"] == 11.99
    assert case["gradients"][0]["analytic"] == 12.0


# --- options ------------------------------------------------------------------------------------------

def test_multiple_points(cli):
    result = cli("eval", "x*y", "--at", "x=1,y=2", "--at", "x=pi,y=-1", "--format", "json")
    assert result.exit_code == 0
    cases = strict_json(result.stdout)["cases"]
    assert [c["point"] for c in cases] == [{"x": 1.0, "y": 2.0}, {"x": math.pi, "y": -1.0}]
    assert [[g["analytic"] for g in c["gradients"]] for c in cases] == [[2.0, 1.0], [-1.0, math.pi]]


def test_point_values_may_be_constant_expressions(cli):
    result = cli("eval", "sin(x)", "--at", "x=pi/4", "--format", "json")
    case = strict_json(result.stdout)["cases"][0]
    assert case["point"]["x"] == math.pi / 4
    assert case["gradients"][0]["analytic"] == pytest.approx(math.cos(math.pi / 4), rel=1e-15, abs=0)


def test_wrt(cli):
    result = cli("eval", "x*y*z", "--at", "x=1,y=2,z=3", "--wrt", "z,x", "--format", "json")
    gradients = strict_json(result.stdout)["cases"][0]["gradients"]
    assert [(g["var"], g["analytic"]) for g in gradients] == [("z", 2.0), ("x", 6.0)]


def test_no_exact(cli):
    result = cli("eval", "sin(x)", "--at", "x=1", "--no-exact", "--format", "json")
    assert result.exit_code == 0
    g = strict_json(result.stdout)["cases"][0]["gradients"][0]
    assert g["exact"] is None and g["exact_expr"] is None
    assert g["status"] == "pass"
    assert g["centered"] == pytest.approx(math.cos(1), rel=1e-8, abs=0)


def test_trace_rows_in_the_table(cli):
    result = cli("eval", "(x+y)*z", "--at", "x=-2,y=5,z=-4", "--trace")
    assert result.exit_code == 0
    out = result.stdout
    assert "staged computation" in out
    lines = [line for line in out.splitlines() if "│" in line]
    trace = [line for line in lines if "(x+y)" in line]
    assert trace and "3" in trace[0] and "-4" in trace[0]  # q = x+y = 3, df/dq = z = -4


def test_trace_rows_in_json(cli):
    result = cli("eval", "(x+y)*z", "--at", "x=-2,y=5,z=-4", "--trace", "--format", "json")
    trace = strict_json(result.stdout)["cases"][0]["trace"]
    by_source = {row["source"]: row for row in trace}
    assert by_source["(x+y)"]["value"] == 3.0 and by_source["(x+y)"]["grad"] == -4.0
    assert by_source["(x+y)*z"]["value"] == -12.0 and by_source["(x+y)*z"]["grad"] == 1.0
    assert by_source["z"]["grad"] == 3.0


def test_table_shows_the_verdict_and_summary(cli):
    result = cli("eval", "x**2", "--at", "x=3", "--expect", "dx=7")
    assert result.exit_code == 1
    assert "mismatch" in result.stdout
    assert "1 case" in result.stdout


def test_expression_starting_with_minus_after_double_dash(cli):
    result = cli("eval", "--at", "x=3", "--format", "json", "--", "-x**2")
    assert result.exit_code == 0, result.output
    assert strict_json(result.stdout)["cases"][0]["gradients"][0]["analytic"] == -6.0


# --- input sources ------------------------------------------------------------------------------------

def test_expression_from_stdin(cli):
    result = cli("eval", "-", "--at", "x=2", "--format", "json", input="x**3\n")
    assert result.exit_code == 0, result.output
    case = strict_json(result.stdout)["cases"][0]
    assert case["expr"] == "x**3"
    assert case["gradients"][0]["analytic"] == 12.0


def test_expression_from_file(cli, tmp_path):
    path = tmp_path / "expr.txt"
    path.write_text("sigma(x*w0+w1)\n", encoding="utf-8")
    result = cli("eval", f"@{path}", "--at", "x=2,w0=3,w1=-4", "--format", "json")
    assert result.exit_code == 0, result.output
    gradients = strict_json(result.stdout)["cases"][0]["gradients"]
    assert gradients[0]["analytic"] == pytest.approx(0.3149807562105195, rel=1e-14, abs=0)


def test_a_file_written_over_several_lines_with_a_byte_order_mark(cli, tmp_path):
    path = tmp_path / "loss.txt"
    path.write_text("\ufeff\n  x**2 +\n\tsin(x)\n", encoding="utf-8")
    result = cli("eval", f"@{path}", "--at", "x=1", "--no-exact")
    assert result.exit_code == 0, result.output
    assert "f = x**2 + sin(x)  at  x=1" in result.stdout  # shown on one line


@pytest.mark.parametrize("text,line,column,shown", [
    ("\n\n  x**2 +\n  sin(x)\n  x\n", 5, 3, "  x"),  # lines and columns of the file, not of the joined text
    ("x +\n", 1, 4, "x +"),
    ("sin(x\n", 1, 4, "sin(x"),
])
def test_a_syntax_error_in_a_file_or_stdin_points_at_line_and_column(text, line, column, shown, cli, tool_error, tmp_path):
    path = tmp_path / "expr.txt"
    path.write_text(text, encoding="utf-8")
    for source, name, given in ((f"@{path}", str(path), None), ("-", "<stdin>", text)):
        err = tool_error(cli("eval", source, "--at", "x=1", input=given), f"{name}:{line}:{column}: ")
        first, text_line, caret = err.rstrip("\n").split("\n")
        assert text_line == "  " + shown and caret.index("^") == 2 + column - 1


@pytest.mark.parametrize("given", ["", "  \n\t\n"])
def test_empty_input_is_an_empty_expression(given, cli, tool_error):
    tool_error(cli("eval", "-", "--at", "x=1", input=given), "<stdin>:1:1: empty expression")


def test_long_expression_from_file(cli, tmp_path):
    terms = 2000
    path = tmp_path / "long.gc"
    path.write_text("+".join(f"{k}*x" for k in range(1, terms + 1)), encoding="utf-8")
    result = cli("eval", f"@{path}", "--at", "x=1", "--no-exact", "--format", "json")
    assert result.exit_code == 0
    assert strict_json(result.stdout)["cases"][0]["gradients"][0]["analytic"] == terms * (terms + 1) / 2


def test_parse_error_in_a_file_points_into_the_file_text(cli, tmp_path):
    path = tmp_path / "bad.gc"
    path.write_text("x + 2y\n", encoding="utf-8")
    err = cli("eval", f"@{path}", "--at", "x=1").stderr
    assert "missing operator" in err
    lines = err.rstrip("\n").split("\n")
    assert lines[1][lines[2].index("^")] == "y"


def test_undecodable_file_is_a_tool_error(cli, tmp_path, tool_error):
    path = tmp_path / "binary.gc"
    path.write_bytes(b"\xff\xfe\x00x")
    tool_error(cli("eval", f"@{path}", "--at", "x=1"), "cannot read")


# --- colour -------------------------------------------------------------------------------------------

def test_no_ansi_escapes_when_piped(cli):
    for args in (["x**2", "--at", "x=3", "--expect", "dx=7", "--trace"], ["2x", "--at", "x=1"], ["log(x)", "--at", "x=-1"]):
        result = cli("eval", *args)
        assert "\x1b[" not in result.stdout and "\x1b[" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_no_color_on_a_terminal():
    """On a real terminal colour is on by default; NO_COLOR turns every escape sequence off."""
    pty = pytest.importorskip("pty")

    def run(no_color: bool) -> bytes:
        master, slave = pty.openpty()
        env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
        env["TERM"] = "xterm-256color"
        if no_color:
            env["NO_COLOR"] = "1"
        process = subprocess.Popen([sys.executable, "-m", "gradcheck_cli", "eval", "x**2", "--at", "x=3", "--expect", "dx=7"],
                                   stdout=slave, stderr=slave, env=env)
        os.close(slave)
        out = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        process.wait(timeout=120)
        os.close(master)
        assert process.returncode == 1, out
        return out

    coloured = run(no_color=False).decode("utf-8", "replace")
    assert COLOR_SGR.search(coloured), "the check itself is broken: no colour even without NO_COLOR"
    plain = run(no_color=True).decode("utf-8", "replace")
    assert "mismatch" in plain
    assert not COLOR_SGR.search(plain)
    assert "\x1b[" not in plain, "NO_COLOR: no ANSI escapes at all (bold too)"


# --- real processes -----------------------------------------------------------------------------------

def test_subprocess_pass_and_json():
    out = run_module("eval", "(x+y)*z", "--at", "x=-2,y=5,z=-4", "--format", "json")
    assert out.returncode == 0, out.stderr
    data = strict_json(out.stdout)
    assert [g["analytic"] for g in data["cases"][0]["gradients"]] == [-4.0, -4.0, 3.0]
    assert data["cases"][0]["value"] == -12.0


def test_subprocess_tool_error_is_one_line_and_a_caret():
    out = run_module("eval", "sigm(x)", "--at", "x=1")
    assert out.returncode == 2
    assert out.stdout == ""
    assert "Traceback" not in out.stderr
    lines = out.stderr.rstrip("\n").split("\n")
    assert len(lines) == 3
    assert lines[0].startswith("gradcheck: ") and "did you mean 'sigma'" in lines[0]
    assert lines[2].index("^") == lines[1].index("sigm")


def test_subprocess_stdin():
    out = run_module("eval", "-", "--at", "x=3", "--format", "json", input="sigma(x)")
    assert out.returncode == 0, out.stderr
    want = math.exp(-3) / (1 + math.exp(-3)) ** 2  # sigma'(3), without the cancellation in 1-sigma
    assert strict_json(out.stdout)["cases"][0]["gradients"][0]["analytic"] == pytest.approx(want, rel=1e-14, abs=0)


def test_subprocess_mismatch_exit_code():
    out = run_module("eval", "x**2", "--at", "x=3", "--expect", "dx=5")
    assert out.returncode == 1
    assert "mismatch" in out.stdout


def _python_output(code: str) -> str:
    """Run `code` in a fresh interpreter (so sys.modules starts empty) and return what it printed."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_importing_the_cli_loads_neither_sympy_nor_numpy():
    assert _python_output(
        "import sys, gradcheck_cli.cli.main\n"
        "print(','.join(sorted(m for m in ('sympy', 'numpy', 'mpmath') if m in sys.modules)))\n"
    ) == ""


def test_help_loads_neither_sympy_nor_numpy():
    assert _python_output(
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from gradcheck_cli.cli.main import main\n"
        "r = CliRunner().invoke(main, ['eval', '--help'])\n"
        "assert r.exit_code == 0 and '--at' in r.output, r.output\n"
        "print(','.join(m for m in ('sympy', 'numpy') if m in sys.modules))\n"
    ) == ""


def test_no_exact_never_imports_sympy():
    assert _python_output(
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from gradcheck_cli.cli.main import main\n"
        "r = CliRunner().invoke(main, ['eval', 'sigma(x)', '--at', 'x=1', '--no-exact'])\n"
        "assert r.exit_code == 0, r.output\n"
        "print('sympy' in sys.modules)\n"
    ) == "False"


def test_exact_method_chain_gives_the_same_exact_value_without_a_formula(cli):
    auto = json.loads(cli("eval", "sigma(x)*tanh(y)", "--at", "x=0.3,y=-1.2", "--format", "json",
                          "--exact-method", "auto").stdout)["cases"][0]
    chain = json.loads(cli("eval", "sigma(x)*tanh(y)", "--at", "x=0.3,y=-1.2", "--format", "json").stdout)["cases"][0]
    assert (auto["exact_method"], chain["exact_method"]) == ("sympy", "chain")
    assert [g["exact"] for g in chain["gradients"]] == [g["exact"] for g in auto["gradients"]]
    assert all(g["exact_expr"] is None for g in chain["gradients"])


# --- constant expressions -----------------------------------------------------------------------------

@pytest.mark.parametrize("extra", [[], ["--samples", "3"]])
def test_a_constant_expression_shows_its_value_and_passes(extra, cli):
    result = cli("eval", "2*pi + sin(1)**2", *extra)
    assert result.exit_code == 0, result.output
    assert "no variables: nothing to differentiate" in result.output
    case = strict_json(cli("eval", "2*pi + sin(1)**2", *extra, "--format", "json").stdout)["cases"]
    assert len(case) == 1 and case[0]["point"] == {} and case[0]["gradients"] == []
    assert case[0]["value"] == pytest.approx(2 * math.pi + math.sin(1) ** 2, rel=1e-15)


def test_a_claim_on_a_constant_expression_says_there_are_no_variables(cli, tool_error):
    tool_error(cli("eval", "2*pi", "--expect", "dx=1"), "claim 'dx' names no variable", "the expression has no variables")


def test_a_long_expression_is_shortened_in_the_table_but_whole_in_json(cli):
    text = " + ".join(f"sin({k}*x)" for k in range(1, 2001))  # ~25,000 characters
    table = cli("eval", text, "--at", "x=0.5", "--no-exact")
    assert table.exit_code == 0, table.output
    shown = "".join(table.stdout.split())  # rich wraps the title: compare without whitespace
    assert f"…({len(text):,}characters)" in shown and "".join(text.split()) not in shown
    assert len(table.stdout) < 5_000
    data = strict_json(cli("eval", text, "--at", "x=0.5", "--no-exact", "--format", "json").stdout)
    assert data["cases"][0]["expr"] == text


@pytest.mark.parametrize("methods,shown,hidden", [
    ("complex,richardson", ["complex", "richardson"], ["forward", "centered", "best"]),
    ("forward", ["forward"], ["centered", "complex", "richardson", "best"]),
    (None, ["forward", "centered", "best"], ["richardson", "complex"]),
])
def test_methods_chooses_the_numerical_columns(methods, shown, hidden, cli):
    result = cli("eval", "sin(x)*y", "--at", "x=1,y=2", *(["--methods", methods] if methods else []))
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "analytic" in line)
    columns = [c.strip() for c in re.split(r"[┃│]", header) if c.strip()]
    assert all(m in columns for m in shown) and not any(m in columns for m in hidden), columns
    assert columns.index("analytic") < min(columns.index(m) for m in shown) < columns.index("exact")


def test_methods_rejects_an_unknown_name(cli, tool_error):
    tool_error(cli("eval", "x", "--at", "x=1", "--methods", "centered,secant"), "unknown method 'secant'")
