"""`check --shard K/N` covers every case exactly once; `--junit FILE` writes JUnit beside any --format in one run."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

LINES_A = ["x*y @ x=1, y=2", "sin(x) @ x=1 => dx=0.5", "# a comment", "x**2 @ x=3; x=4", "", "exp(x) @ x=0"]
LINES_B = ["tanh(x) @ x=1", "x+y @ x=1, y=2", "log(x) @ x=2 => dx=0.4"]


@pytest.fixture
def corpus(tmp_path):
    (tmp_path / "a.gc").write_text("\n".join(LINES_A) + "\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.gc").write_text("\n".join(LINES_B) + "\n")
    return tmp_path


def junit_cases(path) -> list[tuple[str, str, bool]]:
    """(file, name, failed) of every testcase of a JUnit file."""
    root = ET.parse(path).getroot()
    return [(case.get("file"), case.get("name"), case.find("failure") is not None) for case in root.iter("testcase")]


def test_three_shards_cover_every_case_exactly_once_and_their_junit_adds_up(cli, corpus):
    whole = cli("check", str(corpus), "--junit", str(corpus / "all.xml"))
    assert whole.exit_code == 1
    everything = junit_cases(corpus / "all.xml")
    assert len(everything) == 8  # the two-point line is two cases
    shards, codes = [], []
    for k in (1, 2, 3):
        report = corpus / f"shard{k}.xml"
        result = cli("check", str(corpus), "--shard", f"{k}/3", "--format", "github", "--junit", str(report))
        codes.append(result.exit_code)
        shards.append(junit_cases(report))
    assert sorted(case for shard in shards for case in shard) == sorted(everything)
    assert all(shards), "every shard of 6 lines got some"
    failing = [k for k, shard in enumerate(shards, 1) if any(failed for *_, failed in shard)]
    assert [codes[k - 1] for k in failing] == [1] * len(failing) and sum(failing) > 0
    assert all(code == 0 for k, code in enumerate(codes, 1) if k not in failing)


@settings(max_examples=15)
@given(n=st.integers(1, 9))
def test_any_number_of_shards_partitions_the_lines(n, tmp_path_factory):
    from gradcheck_cli.files import discovery as files

    directory = tmp_path_factory.mktemp("shards")
    (directory / "a.gc").write_text("\n".join(LINES_A) + "\n")
    (directory / "b.gc").write_text("\n".join(LINES_B) + "\n")
    items = files.expand_paths([str(directory)])
    every = [(u.file, u.number) for u in files.units(items)]
    parts = [[(u.file, u.number) for u in files.Shard(k, n).select(files.units(items))] for k in range(1, n + 1)]
    assert sorted(sum(parts, [])) == sorted(every)
    assert max(map(len, parts)) - min(map(len, parts)) <= 1  # balanced to one line


def test_an_empty_shard_passes_and_says_why(cli, corpus):
    result = cli("check", str(corpus / "sub" / "b.gc"), "--shard", "5/5")
    assert result.exit_code == 0
    assert "shard 5/5 holds none of the 3 cases" in result.stderr


def test_no_cases_at_all_is_still_a_tool_error_with_shards(cli, tmp_path):
    (tmp_path / "empty.gc").write_text("# nothing\n")
    result = cli("check", str(tmp_path), "--shard", "1/2")  # the (empty) report is written, then the error
    assert result.exit_code == 2 and "nothing to check: the files hold no cases" in result.stderr


@pytest.mark.parametrize("given_text, fragment", [
    ("0/3", "got 0/3"), ("4/3", "got 4/3"), ("x", "got 'x'"), ("1/0", "got 1/0"), ("-1/2", "two whole numbers"),
    ("1/20000", "N <= 10,000"),
])
def test_bad_shards_are_usage_errors(cli, tool_error, corpus, given_text, fragment):
    tool_error(cli("check", str(corpus), "--shard", given_text), "--shard must be", fragment)


def test_github_annotations_and_junit_come_from_one_run(cli, corpus):
    report = corpus / "report.xml"
    result = cli("check", str(corpus), "--format", "github", "--junit", str(report))
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::error")]
    root = ET.parse(report).getroot()
    assert root.get("tests") == "8" and root.get("failures") == str(len(annotations)) == "2"
    failed_lines = sorted(int(name.split(":")[0].removeprefix("line ")) for _, name, failed in junit_cases(report) if failed)
    assert failed_lines == sorted(int(a.split("line=")[1].split(",")[0]) for a in annotations)


@pytest.mark.parametrize("output_format", ["table", "json", "junit"])
def test_junit_beside_every_format_matches_a_junit_run(cli, corpus, output_format):
    alone = cli("check", str(corpus), "--format", "junit")
    beside = corpus / "beside.xml"
    cli("check", str(corpus), "--format", output_format, "--junit", str(beside))
    alone_cases = [(c.get("name"), c.find("failure") is not None) for c in ET.fromstring(alone.stdout).iter("testcase")]
    assert [(name, failed) for _, name, failed in junit_cases(beside)] == alone_cases


def test_junit_may_not_overwrite_an_input_or_the_other_report(cli, tool_error, corpus):
    tool_error(cli("check", str(corpus / "a.gc"), "--junit", str(corpus / "a.gc")), "--junit", "input files")
    assert (corpus / "a.gc").read_text().startswith("x*y")
    out = str(corpus / "r.xml")
    tool_error(cli("check", str(corpus), "-o", out, "--junit", out), "name the same file")


def test_an_unwritable_junit_file_fails_before_any_work(cli, tool_error, corpus):
    tool_error(cli("check", str(corpus), "--junit", str(corpus / "missing" / "r.xml")), "cannot write --junit")
