"""Hostile and broken input: every input ends in a result or a clean GradcheckError / exit code 2 with a
one-line message; nothing the user types is ever executed; numeric trouble is an error naming the gate,
in bounded time."""

from __future__ import annotations

import builtins
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from gradcheck_cli.errors import GradcheckError
from gradcheck_cli.lang.expr import parse

# text that looks like the grammar, so the fuzzer reaches deep into the parser, mixed with junk
_TOKENS = st.sampled_from([
    "x", "y", "w0", "_", "e", "pi", "sigma", "sigmoid", "exp", "log", "sqrt", "tanh", "relu", "max", "min", "abs",
    "0", "1", "2.5", ".5", "1e999", "1e-999", "1e308", "9" * 400, "(", ")", "((((", "))))", ",", "+", "-", "*", "/",
    "**", "^", " ", "\t", "\n", "\x00", "é", "λ", "∑", "²", "１", "=", ";", ".", "[", "]", "'", '"', "{", "}",
    "lambda", "__import__", "x.y", ":", "#", "\\", "@", "$", "`",
])
_GRAMMARISH = st.lists(_TOKENS, max_size=40).map("".join)
_ANY_TEXT = st.text(max_size=200)
_INPUTS = st.one_of(_GRAMMARISH, _ANY_TEXT)


def _check_expr_invariants(expr, text: str) -> None:
    assert expr.text == text
    assert expr.nodes
    for index, node in enumerate(expr.nodes):
        assert all(0 <= a < index for a in node.args)
        assert 0 <= node.start <= node.end <= len(text)


@settings(max_examples=800, suppress_health_check=[HealthCheck.too_slow])
@given(_INPUTS)
def test_parse_returns_an_expression_or_raises_a_gradcheck_error(text):
    try:
        expr = parse(text)
    except GradcheckError as error:
        assert error.message and "\n" not in error.message
        rendered = error.render()
        assert "Traceback" not in rendered
        if error.position is not None:
            assert 0 <= error.position.offset <= len(text)
            assert len(rendered.split("\n")) == 3
    else:
        _check_expr_invariants(expr, text)


@pytest.mark.parametrize("text", [
    "(" * 100_000,
    ")" * 100_000,
    "(" * 100_000 + "x",
    "-" * 100_000,
    "x" + "+" * 100_000,
    "sigma(" * 50_000,
    "max(x," * 20_000 + "y" + ")" * 20_000,
    "1e999",
    "9" * 5000,
    "x" * 100_000 + "(",
    "\x00" * 1000,
])
def test_pathological_inputs_are_clean_errors_or_results(text):
    started = time.perf_counter()
    try:
        expr = parse(text)
    except GradcheckError as error:
        assert error.message and "\n" not in error.message
        assert len(error.render().split("\n")) <= 3
        assert len(error.render()) < 1000  # the caret window keeps the message short
    else:
        _check_expr_invariants(expr, text)
    assert time.perf_counter() - started < 20


def test_input_limit_is_a_clean_error():
    from gradcheck_cli.lang.expr import MAX_INPUT_CHARS

    text = "x+" * (MAX_INPUT_CHARS // 2 + 1) + "x"
    with pytest.raises(GradcheckError) as info:
        parse(text)
    assert "limit" in info.value.message


def test_four_hundred_digit_number_is_too_large():
    with pytest.raises(GradcheckError) as info:
        parse("x + " + "9" * 400)
    assert "too large" in info.value.message
    assert info.value.position.offset == 4


# --- the CLI under fuzzing ------------------------------------------------------------------------------

def _assert_clean_cli_result(result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), result.exit_code
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr
    assert "internal error" not in result.stderr, result.stderr  # the CLI's catch-all: a crash in disguise
    if result.exit_code == 2:
        lines = result.stderr.rstrip("\n").split("\n")
        assert result.stdout == ""
        assert len(lines) in (1, 3), result.stderr  # one line, plus the text and a caret when there is a position
        if len(lines) == 3:
            assert lines[0].startswith("gradcheck: ")
            assert lines[2].strip() == "^"
    else:
        data = json.loads(result.stdout)
        assert data["schema"] == "gradcheck/1"
        assert all(c["status"] in ("pass", "kink", "mismatch", "error", "inconclusive") for c in data["cases"])


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(expression=_INPUTS, at=st.one_of(_GRAMMARISH, st.just("x=1"), st.just("x=1,y=2"), st.just("w0=0,x=-1,y=1e308")))
def test_cli_eval_on_arbitrary_text(expression, at, cli):
    result = cli("eval", "--at", at, "--exact-timeout", "1", "--format", "json", "--", expression)
    _assert_clean_cli_result(result)


_VALIDISH = st.lists(st.sampled_from(["x", "y", "+", "*", "-", "/", "**", "(", ")", "sigma(", "log(", "sqrt(",
                                      "relu(", "max(x,", "2", "0", "1e300", "exp(", "tan("]), min_size=1, max_size=25).map("".join)


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(expression=_VALIDISH, x=st.sampled_from(["0", "1", "-1", "1e-300", "1e300", "pi/2", "-0.0"]),
       y=st.sampled_from(["0", "2", "-3", "1e308"]))
def test_cli_eval_on_nearly_valid_expressions(expression, x, y, cli):
    """Mostly parsable input at awkward points: results (any status) or clean tool errors, never a crash."""
    result = cli("eval", "--at", f"x={x},y={y}", "--wrt", "x", "--exact-timeout", "1", "--format", "json", "--",
                 expression + "+x+y")
    _assert_clean_cli_result(result)


_CONSTANTISH = st.lists(st.sampled_from(["2", "pi", "+", "*", "-", "/", "**", "(", ")", "sigma(", "log(", "max(1,",
                                         "relu(", "0", "1e300", "exp(", "x"]), min_size=1, max_size=12).map("".join)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(expression=_CONSTANTISH, extra=st.sampled_from([[], ["--trace"], ["--samples", "12"], ["--wrt", "x"]]))
def test_cli_table_output_on_nearly_valid_and_constant_expressions(expression, extra, cli):
    """The table renderer too (the other tests read JSON): constant expressions, traces, many-point summaries."""
    result = cli("eval", "--samples", "2", "--exact-timeout", "1", *extra, "--", expression)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), result.exit_code
    assert "Traceback" not in result.output and "internal error" not in result.stderr, result.stderr
    if result.exit_code != 2:
        assert re.search(r"\d+ cases?: ", result.stdout), result.stdout


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(at=_INPUTS, expect=st.one_of(st.none(), _INPUTS))
@example(at="@x\nx", expect=None)  # a file name with a newline: the error's headline stays one line
def test_cli_points_and_claims_on_arbitrary_text(at, expect, cli):
    args = ["eval", "--at", at, "--no-exact", "--format", "json"]
    if expect is not None:
        args += ["--expect", expect]
    _assert_clean_cli_result(cli(*args, "--", "x*y"))


# --- hostile input is never executed -------------------------------------------------------------------

def _hostile(marker: str) -> list[str]:
    touch = f"__import__('os').system('touch {marker}')"
    return [
        touch,
        f'__import__("os").system("touch {marker}")',
        f"open('{marker}','w')",
        f"exec(\"open('{marker}','w')\")",
        f"eval(\"open('{marker}','w')\")",
        "x.__class__",
        "x.__class__.__bases__[0].__subclasses__()",
        "lambda x: x",
        f"(lambda: {touch})()",
        "x[0]",
        f"f'{{{touch}}}'",
        f"[{touch} for _ in 'a']",
        f"x; {touch}",
        "x=1",
        f"x := {touch}",
        f"x if {touch} else y",
        f"sigma({touch})",
        f"x + 0*({touch})",
        f"@{touch}",
        f"`{touch}`",
    ]


def test_hostile_expressions_are_rejected_and_never_run(cli, tmp_path):
    marker = tmp_path / "pwned_expression"
    for text in _hostile(str(marker)):
        result = cli("eval", "--at", "x=1,y=2", "--", text)
        assert result.exit_code == 2, (text, result.output)
        assert "Traceback" not in result.stderr
        assert result.stderr.startswith("gradcheck: "), result.stderr
        assert not marker.exists(), f"{text!r} was executed"


def test_hostile_points_and_claims_are_rejected_and_never_run(cli, tmp_path):
    marker = tmp_path / "pwned_point"
    for text in _hostile(str(marker)):
        variants = [["--at", f"x={text}"], ["--at", "x=1", "--expect", f"dx={text}"]]
        if text != "x=1":  # the one hostile expression that is a valid point
            variants.append(["--at", text])
        for args in variants:
            result = cli("eval", *args, "--", "x")
            assert result.exit_code == 2, (args, result.output)
            assert not marker.exists(), f"{args!r} was executed"


def test_hostile_expression_from_a_file_and_stdin(cli, tmp_path):
    marker = tmp_path / "pwned_file"
    path = tmp_path / "evil.gc"
    for text in _hostile(str(marker))[:6]:
        path.write_text(text, encoding="utf-8")
        assert cli("eval", f"@{path}", "--at", "x=1").exit_code == 2
        assert cli("eval", "-", "--at", "x=1", input=text).exit_code == 2
    assert not marker.exists()


def test_hostile_expression_in_a_real_process(tmp_path):
    marker = tmp_path / "pwned_process"
    for text in _hostile(str(marker))[:3]:
        out = subprocess.run([sys.executable, "-m", "gradcheck_cli", "eval", "--at", "x=1", "--", text],
                             capture_output=True, text=True, timeout=60, env=dict(os.environ, NO_COLOR="1"))
        assert out.returncode == 2
        assert "Traceback" not in out.stderr
        assert len(out.stderr.rstrip("\n").split("\n")) == 3
    assert not marker.exists()


def test_user_text_never_reaches_eval_exec_compile_or_sympify(check, monkeypatch):
    """Run a full check (parser, engine, SymPy) while recording every eval/exec/compile/sympify call:
    none may see the user's text (a unique variable name makes it recognisable)."""
    import sympy
    import sympy.parsing.sympy_parser as sympy_parser

    text = "sigma(zq_marker_w*zq_marker_x + 1) + log(1 + zq_marker_x**2)"
    check(text, "zq_marker_w=0.5,zq_marker_x=2")  # warm every lazy import first
    seen: list[str] = []

    def spy(name, original):
        def wrapper(*args, **kwargs):
            if any("zq_marker" in str(a) for a in args if isinstance(a, (str, bytes))):
                seen.append(name)
            return original(*args, **kwargs)
        return wrapper

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, spy(name, getattr(builtins, name)))
    monkeypatch.setattr(sympy, "sympify", spy("sympify", sympy.sympify))
    monkeypatch.setattr(sympy_parser, "parse_expr", spy("parse_expr", sympy_parser.parse_expr))
    case = check(text, "zq_marker_w=0.5,zq_marker_x=2", expect="dzq_marker_x=1")
    assert case.gradients and case.gradients[0].exact is not None
    assert seen == []


# --- numeric trouble: an error naming the gate, quickly -------------------------------------------------

@pytest.mark.parametrize("expression,at,gate", [
    ("x**1e9", "x=2", "pow"),
    ("exp(1000)", None, "exp"),
    ("exp(x)", "x=1000", "exp"),
    ("1/0", None, "div"),
    ("x/0", "x=1", "div"),
    ("log(0)", None, "log"),
    ("log(x)", "x=0", "log"),
    ("sqrt(-1)", None, "sqrt"),
    ("sqrt(x)", "x=-1", "sqrt"),
    ("0*exp(x)", "x=1000", "exp"),
    ("exp(exp(exp(x)))", "x=10", "exp"),
    ("x**-1", "x=0", "pow"),
])
def test_numeric_trouble_is_an_error_naming_the_gate(expression, at, gate, cli):
    args = ["eval", "--format", "json"] + (["--at", at] if at else []) + ["--", expression]
    started = time.perf_counter()
    result = cli(*args)
    assert time.perf_counter() - started < 15
    assert result.exit_code == 1, result.output
    case = json.loads(result.stdout)["cases"][0]
    assert case["status"] == "error"
    assert gate in case["message"]
    assert "column" in case["message"]


@pytest.mark.parametrize("expression,at,fragments", [
    # f is finite (e^706 ~ 1e306), the gradient e^(e^x) * e^x is not: no rule is broken, the product overflows
    ("exp(exp(x))", "x=6.56", ["the gradient overflows at column 5 ('exp(x)')", "df/d(exp1) = 5.369", "(706.27", "float range"]),
    # sqrt'(0) itself is infinite: that is the rule's domain, not an overflow
    ("sqrt(x)", "x=0", ["the derivative of sqrt is not finite at 0", "sqrt needs an argument >= 0"]),
])
def test_a_gradient_that_overflows_is_told_apart_from_a_derivative_outside_its_domain(expression, at, fragments, cli):
    case = json.loads(cli("eval", expression, "--at", at, "--format", "json").stdout)["cases"][0]
    assert case["status"] == "error" and all(f in case["message"] for f in fragments), case["message"]


def test_huge_but_finite_values_are_checked(check):
    case = check("x*y", "x=1e300,y=1e-300")
    assert case.status == "pass"
    assert [g.analytic for g in case.gradients] == [1e-300, 1e300]


def test_overflow_inside_the_stencil_is_not_a_crash(check):
    case = check("exp(x)", "x=709.7")  # f is finite, f(x+h) overflows
    assert case.status in ("pass", "inconclusive")
    assert case.gradients[0].analytic == case.gradients[0].exact


@pytest.mark.parametrize("at", ["x=1e200", "x=-1e300", "x=1.7976931348623157e308", "x=5e-324", "x=-0.0"])
def test_extreme_points(at, check):
    case = check("x", at)
    assert case.status == "pass", case.message
    assert case.gradients[0].analytic == 1.0


# --- input is read with its limit enforced while reading ------------------------------------------------

def _run_with_stdin(args: list[str], stdin, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gradcheck_cli", *args], stdin=stdin, capture_output=True, text=True,
                          timeout=timeout, env=dict(os.environ, NO_COLOR="1"))


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_an_endless_expression_file_ends_in_a_limit_error():
    done = _run_with_stdin(["eval", "@/dev/zero", "--at", "x=1"], subprocess.DEVNULL)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == "gradcheck: expression file '/dev/zero': the expression is longer than the limit of 20,000,000 characters\n"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pipe writer that never stops")
def test_an_endless_standard_input_ends_in_a_limit_error():
    writer = subprocess.Popen([sys.executable, "-c", "import sys\nwhile True: sys.stdout.write('x+' * 65536)"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        done = _run_with_stdin(["eval", "-", "--at", "x=1"], writer.stdout)
    finally:
        writer.kill()
        writer.wait()
        writer.stdout.close()
    assert done.returncode == 2 and "<stdin>: the expression is longer than the limit of 20,000,000 characters" in done.stderr
    assert "Traceback" not in done.stderr


def test_an_expression_file_is_read_up_to_the_limit(cli, monkeypatch, tmp_path):
    from gradcheck_cli.files import reading as inputs

    monkeypatch.setattr(inputs, "MAX_EXPRESSION_CHARS", 1000)
    path = tmp_path / "long.txt"
    path.write_text("x+" * 600 + "x", encoding="utf-8")
    result = cli("eval", f"@{path}", "--at", "x=1")
    assert result.exit_code == 2 and "longer than the limit of 1,000 characters" in result.stderr
    path.write_text("x+" * 400 + "x", encoding="utf-8")
    assert cli("eval", f"@{path}", "--at", "x=1", "--no-exact").exit_code == 0


@pytest.mark.parametrize("data, fragment", [(b"x+\xff", "invalid UTF-8 at byte 3"), (b"\xef\xbb\xbfx", None)])
def test_standard_input_is_decoded_strictly(data, fragment, cli):
    result = cli("eval", "-", "--at", "x=1", "--no-exact", input=data)
    if fragment is None:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 2 and fragment in result.stderr and "Traceback" not in result.stderr


@pytest.mark.skipif(sys.platform == "win32" or not os.path.isdir("/proc"), reason="needs SIGTERM and /proc")
def test_sigterm_takes_the_clean_path_of_ctrl_c():
    process = subprocess.Popen([sys.executable, "-m", "gradcheck_cli", "eval", "-", "--at", "x=1"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:  # blocked reading standard input that never ends: as a CI job stuck on a step
        deadline = time.monotonic() + 30
        while "pipe" not in Path(f"/proc/{process.pid}/wchan").read_text() and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(__import__("signal").SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 2 and out == "" and err == "gradcheck: interrupted\n"
