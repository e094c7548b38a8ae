"""Command-line robustness: expressions that start with '-', every numeric option's range on every command,
points and claims that name no checked variable, and user text that looks like rich markup."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck_cli.cli import options

FUZZ = settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def strict_json(text: str):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


# --- 1. an expression that starts with '-' always reaches the parser ----------------------------------------

_TAILS = ["x", "tanh(x)", "x**2", "sigma(x)*3", "(x+1)*x", "1 + x", "abs(x) - 2", "exp(-x)", "x*x*x", "max(x, 0.1)"]
_MINUS_EXPRESSIONS = st.builds(lambda n, tail: "-" * n + tail, st.integers(1, 3), st.sampled_from(_TAILS))


def _arrange(expression: str, groups: list[list[str]], position: int) -> list[str]:
    groups = list(groups)
    groups.insert(position % (len(groups) + 1), [expression])
    return [token for group in groups for token in group]


@FUZZ
@given(expression=_MINUS_EXPRESSIONS, order=st.permutations(range(4)), position=st.integers(0, 4),
       output_format=st.sampled_from(["json", "table"]), equals=st.booleans())
def test_eval_reads_an_expression_starting_with_minus_in_any_option_order(expression, order, position, output_format, equals, cli):
    groups = [["--at=x=0.5"] if equals else ["--at", "x=0.5"], ["--format", output_format], ["--no-exact"],
              ["--expect", "dx=1e9"]]
    result = cli("eval", *_arrange(expression, [groups[k] for k in order], position))
    assert result.exit_code == 1, result.output  # the claim 1e9 is wrong for every tail: checked, not the help
    assert "Usage:" not in result.output and "Traceback" not in result.output
    if output_format == "json":
        (case,) = strict_json(result.stdout)["cases"]
        assert case["expr"] == expression and case["status"] == "mismatch"
    else:
        assert "1 case: 1 mismatch" in result.stdout and expression in result.stdout


@FUZZ
@given(expression=_MINUS_EXPRESSIONS, order=st.permutations(range(2)), position=st.integers(0, 2),
       output_format=st.sampled_from(["json", "table"]))
def test_sweep_reads_an_expression_starting_with_minus_in_any_option_order(expression, order, position, output_format, cli):
    groups = [["--at", "x=0.5"], ["--format", output_format]]
    result = cli("sweep", *_arrange(expression, [groups[k] for k in order], position))
    assert result.exit_code == 0, result.output
    if output_format == "json":
        assert strict_json(result.stdout)["var"] == "x"
    else:
        assert f"of {expression} at x=0.5" in result.stdout


@pytest.mark.parametrize("args, expected", [
    (["eval", "-tanh(x)", "--at", "x=1", "--expect", "dx=999"], 1),  # the example: it printed the help, exit 0
    (["eval", "-1", "--no-exact"], 0),
    (["eval", "--at", "x=3", "--", "-x**2"], 0),  # an explicit `--` still works
    (["eval", "-x", "--at", "x=3", "--", "--no-exact"], 2),  # after `--` everything is literal: an extra argument
])
def test_minus_expressions_exit_codes(args, expected, cli):
    result = cli(*args)
    assert result.exit_code == expected, result.output
    assert "Usage:" not in result.stdout


def test_dash_h_alone_is_still_the_help_and_dash_alone_is_stdin(cli):
    assert "Check the gradient of EXPRESSION" in cli("eval", "-h").stdout
    result = cli("eval", "-", "--at", "x=2", "--format", "json", input="-x**3")
    assert result.exit_code == 0 and strict_json(result.stdout)["cases"][0]["expr"] == "-x**3"


def test_expression_last_leaves_unambiguous_arguments_alone():
    import click

    params = [click.Option(["--at"], multiple=True), click.Option(["--trace"], is_flag=True), click.Option(["-h", "--help"], is_flag=True)]
    assert options.expression_last(["x", "--at", "x=1"], params) == ["x", "--at", "x=1"]
    assert options.expression_last(["--at", "-1", "-x"], params) == ["--at", "-1", "--", "-x"]
    assert options.expression_last(["--trace", "-x", "--at", "x=1"], params) == ["--trace", "--at", "x=1", "--", "-x"]
    assert options.expression_last(["-x", "--", "extra"], params) == ["--", "-x", "extra"]
    assert options.expression_last(["-h"], params) == ["-h"]


# --- 3. numeric options: one range each, checked on every command --------------------------------------------

RANGES = {  # option: (commands that have it, a value inside the range, the docs' wording of the range)
    "--rtol": (["eval", "check"], "0", "[0, 1)"),
    "--atol": (["eval", "check"], "0", "[0, 1e6]"),
    "--h": (["eval", "check"], "1e-3", "[1e-300, 1000]"),
    "--exact-timeout": (["eval", "check"], "0", "[0, 3600]"),
    "--samples": (["eval", "check"], "1", None),
    "--jobs": (["check"], "0", "0..256"),
}
BAD = {"nan": "nan", "inf": "inf", "-inf": "-inf", "-1": "-1", "huge": "1e300"}
BAD_INT = {"nan": "nan", "inf": "inf", "-inf": "-inf", "-1": "-1", "huge": "100000000000000000000000000000"}


def _command(command: str, tmp_path, option: str, value: str) -> list[str]:
    if command == "eval":
        return ["eval", "x**2", "--at", "x=1", option, value]
    path = tmp_path / "t.gc"
    path.write_text("x**2 @ x=1\n", encoding="utf-8")
    return ["check", str(path), option, value]


@pytest.mark.parametrize("option", sorted(RANGES))
@pytest.mark.parametrize("kind", sorted(BAD))
@pytest.mark.parametrize("command", ["eval", "check", "sweep"])
def test_every_numeric_option_rejects_nan_inf_negative_and_huge_on_every_command(option, kind, command, cli, tmp_path):
    commands, _, _ = RANGES[option]
    value = (BAD_INT if option in ("--samples", "--jobs") else BAD)[kind]
    if command not in commands:  # sweep has none of these options: that too is a one-line usage error
        result = cli(command, "x**2", "--at", "x=1", option, value)
        assert result.exit_code == 2 and "No such option" in result.stderr and "Traceback" not in result.stderr
        return
    result = cli(*_command(command, tmp_path, option, value))
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"gradcheck: {option} must be a ") and " in " in line, line


@pytest.mark.parametrize("option", sorted(RANGES))
def test_each_range_includes_its_boundary_and_is_documented(option, cli, tmp_path):
    commands, good, wording = RANGES[option]
    for command in commands:
        result = cli(*_command(command, tmp_path, option, good), "--no-exact")
        assert result.exit_code == 0, (command, result.output)
    root = __import__("pathlib").Path(__file__).resolve().parents[2]
    docs = "\n".join(p.read_text(encoding="utf-8") for p in [root / "README.md", *sorted((root / "docs").glob("*.md"))])
    if wording:
        assert re.search(re.escape(option) + r"[^\n]*" + re.escape(wording), docs), f"the docs do not give {option} {wording}"


def test_samples_ranges_differ_per_command_and_are_documented(cli, tmp_path):
    assert cli("eval", "x", "--samples", "10000", "--no-exact", "--format", "json").exit_code == 0
    assert cli("eval", "x", "--samples", "10001").exit_code == 2
    result = cli(*_command("check", tmp_path, "--samples", "1001"))
    assert result.exit_code == 2 and "1..1,000" in result.stderr


def test_a_large_h_never_writes_non_standard_json(cli, tmp_path):
    result = cli(*_command("check", tmp_path, "--h", "1000"), "--format", "json", "--no-exact")
    strict_json(result.stdout)  # an inf --h wrote `Infinity`
    assert result.exit_code in (0, 1)


def test_samples_are_bounded_by_the_size_of_the_expression(cli, tool_error):
    text = "+".join(f"sin({k}*x)" for k in range(1, 4001))  # ~16,000 nodes: 10,000 points would be 1.6e8 cells
    tool_error(cli("eval", text, "--samples", "10000", "--no-exact"), "--samples 10,000 is too many")


# --- 2. points and claims that name no checked variable -------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["2", "--at", "x=1", "--at", "y=5"], "'x' is not a variable of the expression (its variables: none)"),  # was IndexError
    (["1+2", "--at", "x=1"], "'x' is not a variable"),
    (["x*y", "--at", "x=1,y=2", "--wrt", "x", "--expect", "dy=5"], "--expect claims dy, but --wrt leaves y out"),
    (["x*y*z", "--at", "x=1,y=2,z=3", "--wrt", "x", "--expect", "dy=5,dz=1"], "leaves y, z out"),
])
def test_names_that_are_not_checked_variables_are_usage_errors(args, fragment, cli, tool_error):
    tool_error(cli("eval", *args), fragment)


def test_a_constant_expression_still_runs_without_a_point_and_with_samples(cli):
    for extra in ([], ["--samples", "3"]):
        data = strict_json(cli("eval", "1+2", *extra, "--format", "json").stdout)
        assert [c["value"] for c in data["cases"]] == [3.0]


def test_a_claim_on_a_checked_variable_with_wrt_still_works(cli):
    result = cli("eval", "x*y", "--at", "x=1,y=2", "--wrt", "y", "--expect", "dy=1", "--format", "json")
    assert result.exit_code == 0 and [g["var"] for g in strict_json(result.stdout)["cases"][0]["gradients"]] == ["y"]


@pytest.mark.parametrize("argument, good, bad", [("rtol", 0.0, 1.0), ("atol", 1e6, 1.5e6), ("h", 1e3, 1.01e3),
                                                 ("exact_timeout", 3600.0, 3601.0)])
def test_the_api_takes_the_command_lines_ranges(argument, good, bad):
    """check() accepts each range's boundary and refuses just past it, as the command line does (cli/options.py)."""
    from gradcheck_cli import check

    assert len(check("x*x", at="x=1", exact=False, **{argument: good}).cases) == 1
    with pytest.raises(ValueError, match=rf"^{argument} must be in \["):
        check("x*x", at="x=1", exact=False, **{argument: bad})



def test_the_api_and_the_command_line_share_one_range_per_option():
    assert options.RTOL_TYPE.allowed is options.RTOL and options.ATOL_TYPE.allowed is options.ATOL
    assert options.H_TYPE.allowed is options.H and options.EXACT_TIMEOUT_TYPE.allowed is options.EXACT_TIMEOUT
    assert options.DIRECTIONS_TYPE.allowed is options.DIRECTIONS
