"""`gradcheck check` under stress: files that are not files, huge runs in bounded memory, reports that survive
interrupts, workers that die, control characters and thousands of variables. Real processes, always with a timeout."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gradcheck_cli.cli.main import main
from gradcheck_cli.expression.check import Options
from gradcheck_cli.files import discovery as files
from gradcheck_cli.files import format as batch
from gradcheck_cli.files import runner
from gradcheck_cli.report import stream as writers

FAST = batch.Settings(Options(exact=False))
POSIX = pytest.mark.skipif(sys.platform == "win32" or not os.path.isdir("/proc"), reason="needs POSIX signals and /proc")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["check", *args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def start(*args: str, env: dict | None = None, stdin=subprocess.DEVNULL) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "gradcheck_cli", "check", *args], stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, NO_COLOR="1", CI="1", **(env or {})))


def wait_for(predicate, timeout: float = 30, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.02)


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def processes_reading(marker: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if marker in Path(f"/proc/{entry}/cmdline").read_bytes().decode("utf-8", "replace"):
                    found.append(int(entry))
            except OSError:
                continue
    return found


def slow_file(tmp_path: Path, lines: int, name: str = "slow.gc") -> Path:
    """Distinct expressions with the exact column: about a millisecond a line, long enough to interrupt."""
    path = tmp_path / name
    path.write_text("".join(f"sigma(x*y) + tanh(x*{k}) @ x={k % 7 + 1}, y=2\n" for k in range(lines)), encoding="utf-8")
    return path


# --- files that are not regular files never block ------------------------------------------------------------

@POSIX
def test_a_fifo_and_a_symlink_to_stdin_in_a_tree_are_skipped_with_a_note_not_read(tmp_path):
    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "a.gc").write_text("x @ x=1\n")
    os.mkfifo(tree / "fifo.gc")
    os.symlink("/dev/stdin", tree / "sub" / "stdin.gc")
    os.symlink("a.gc", tree / "link.gc")  # a symlink to a regular file is followed (here: the same file, once)
    os.symlink("loop.gc", tree / "loop.gc")
    reader = subprocess.Popen(["sleep", "60"], stdout=subprocess.PIPE)  # stdin that never ends: reading it would hang
    try:
        process = start(str(tree), "--no-exact", "--format", "json", stdin=reader.stdout)
        out, err = process.communicate(timeout=60)
    finally:
        reader.kill()
        reader.wait()
        reader.stdout.close()
    cases = json.loads(out)["cases"]
    assert process.returncode == 1 and err == ""
    by_source = {Path(c["source"]).name: c for c in cases}
    assert by_source["a.gc:1"]["status"] == "pass" and len(cases) == 4
    assert "skipped: a FIFO, not a regular file" in by_source["fifo.gc"]["message"]
    assert "skipped: a symlink to a FIFO, not a regular file" in by_source["stdin.gc"]["message"]
    assert "Too many levels of symbolic links" in by_source["loop.gc"]["message"]


@POSIX
def test_an_explicitly_named_fifo_is_refused_not_opened(tmp_path):
    os.mkfifo(tmp_path / "named.gc")
    (tmp_path / "good.gc").write_text("x @ x=1\n")
    process = start(str(tmp_path / "named.gc"), str(tmp_path / "good.gc"), "--no-exact", "--format", "github")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, err
    assert "named.gc: skipped: a FIFO, not a regular file" in out and out.endswith("2 cases: 1 pass, 1 error\n")


def test_a_file_over_the_size_limit_is_an_error_case_and_the_others_run(tmp_path, monkeypatch):
    from gradcheck_cli.files import reading as inputs

    monkeypatch.setattr(files, "MAX_FILE_BYTES", 100)
    monkeypatch.setattr(inputs, "MAX_FILE_BYTES", 100)
    big = tmp_path / "big.gc"
    big.write_text("x @ x=1\n" * 20)
    (tmp_path / "small.gc").write_text("x @ x=1\n")
    code, out, _ = run(str(big), str(tmp_path / "small.gc"), "--no-exact", "--format", "json")
    cases = json.loads(out)["cases"]
    assert code == 1 and [c["status"] for c in cases] == ["error", "pass"]
    assert "larger than the limit of 100 bytes" in cases[0]["message"]


def test_lines_are_read_lazily(tmp_path):
    import itertools
    import tracemalloc

    path = tmp_path / "million.gc"
    path.write_bytes(b"x*y @ x=1, y=2\n" * 1_000_000)  # 15 MB
    tracemalloc.start()
    try:
        first = list(itertools.islice(files.units(files.expand_paths([str(path)])), 1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(first) == 1000 and first[-1].number == 1000
    assert peak < 4_000_000, f"{peak:,} bytes to read 1,000 lines: the file was read whole"


def test_workers_read_ahead_a_bounded_window_only():
    pulled = []

    def lines():
        for n in range(1, 10_000):
            pulled.append(n)
            yield batch.Line("f.gc", n, f"x*{n} @ x=1")

    results = runner.run(lines(), FAST, jobs=2)
    try:
        taken = [next(results) for _ in range(10)]
    finally:
        results.close()
    assert [t.line for t in taken] == list(range(1, 11))
    assert len(pulled) <= 10 + runner.WINDOW_PER_JOB * 2 + 1


# --- a large run in bounded memory ---------------------------------------------------------------------------

_MEASURE = """
import os, subprocess, sys
process = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ, CI="1"))
_, status, usage = os.wait4(process.pid, 0)
error = process.stderr.read().decode(errors="replace")
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss // 1024)
sys.stderr.write(error)
"""


def _peak_rss_kb(args: list[str]) -> int:
    """The peak memory of `gradcheck check ARGS` alone. Started from a small Python process of its own: Linux keeps a
    process's peak across fork and exec, so a child of this (by now large) test worker would report the worker's."""
    command = [sys.executable, "-m", "gradcheck_cli", "check", *args]
    done = subprocess.run([sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    code, peak = (int(word) for word in done.stdout.split())
    assert code == 0, done.stderr
    return peak


@pytest.mark.skipif(not hasattr(os, "wait4"), reason="needs os.wait4")
def test_memory_does_not_grow_with_the_number_of_cases(tmp_path):
    """2·10^4 cases stream through the JSON writer in the memory 2·10^3 take (it was ~15 KB a case: 1.45 GB for
    10^5 one-point lines). Lines of 50 points keep it quick: the cases are what a report used to hold."""
    points = "; ".join(f"x={k}, y=2" for k in range(1, 51))
    sizes = {}
    for lines in (40, 400):
        path = tmp_path / f"{lines}.gc"
        path.write_text(f"x*y @ {points}\n" * lines, encoding="utf-8")
        sizes[lines] = _peak_rss_kb([str(path), "--no-exact", "--format", "json", "--output", str(tmp_path / "out.json")])
    assert json.loads((tmp_path / "out.json").read_text())["summary"]["total"] == 20_000
    assert sizes[400] < 300_000, sizes
    assert sizes[400] - sizes[40] < 30_000, f"peak RSS grew from {sizes[40]:,} KB to {sizes[400]:,} KB"


def test_the_streamed_json_is_the_canonical_document(tmp_path):
    """One case per line, compact: the document json.dumps makes, with a line break before each case."""
    path = tmp_path / "t.gc"
    path.write_text("x*y @ x=1, y=2; x=3, y=\t4\nlog(x) @ x=-1\nsigmoidd(x) @ x=1\n\x1b[2Jx @ x=1\n", encoding="utf-8")
    _, out, _ = run(str(path), "--no-exact", "--format", "json")
    document = json.loads(out)
    cases = [json.dumps(case) for case in document["cases"]]
    assert len(cases) == 5 and out.count("\n") == 7
    assert out == '{"schema": "gradcheck/1", "cases": [\n' + ",\n".join(cases) + f'\n], "summary": {json.dumps(document["summary"])}}}\n'
    assert out.replace(",\n", ", ").replace("\n", "") == json.dumps(document)
    _, empty, _ = run(str(tmp_path), "--no-exact", "--format", "json", "--strict")  # keys and layout with cases too
    assert list(json.loads(empty)) == ["schema", "cases", "summary"]
    (tmp_path / "none.gc").write_text("# nothing\n")
    _, nothing, _ = run(str(tmp_path / "none.gc"), "--format", "json")
    assert nothing == json.dumps({"schema": "gradcheck/1", "cases": [], "summary": writers.Tally(False).counts}) + "\n"


def test_a_long_table_comes_in_aligned_blocks_each_with_its_failures(tmp_path, monkeypatch):
    monkeypatch.setattr(writers, "BLOCK", 3)
    path = tmp_path / "t.gc"
    path.write_text("".join(f"x*{k} @ x=1{' => dx=0' if k == 2 else ''}\n" for k in range(1, 8)), encoding="utf-8")
    code, out, _ = run(str(path), "--no-exact")
    assert code == 1
    assert out.count("gradcheck check") == 1 and out.count("┃ source") == 3  # three blocks, one title
    assert out.index(f"{path}:2\n") < out.index(f"{path}:4 ")  # the failure's details follow its own block
    assert "reproduce: gradcheck eval 'x*2' --at x=1 --expect dx=0" in out
    assert out.rstrip().splitlines()[-4].startswith("7 cases: 6 pass, 1 mismatch in ")
    assert out.rstrip().splitlines()[-3:] == ["1 failing line:", f"  {path}:2  ✗ mismatch",
                                              "    reproduce: gradcheck eval 'x*2' --at x=1 --expect dx=0"]
    rows = [line for line in out.splitlines() if line.startswith(("┃ source", f"│ {path}:"))]
    assert len(rows) == 3 + 7 and len({len(row) for row in rows}) == 1  # every block as wide as the first


# --- reports are never lost ---------------------------------------------------------------------------------

def test_output_naming_an_input_is_refused_and_the_input_kept(tmp_path):
    mine = tmp_path / "dir" / "mine.gc"
    mine.parent.mkdir()
    mine.write_text("x @ x=1\n")
    for paths, output in (([str(mine)], str(mine)), ([str(mine.parent)], str(mine)), ([str(mine)], str(tmp_path / "dir" / "." / "mine.gc"))):
        code, out, err = run(*paths, "--no-exact", "-o", output)
        assert code == 2 and "is one of the input files" in err and out == ""
        assert mine.read_text() == "x @ x=1\n"
    os.symlink(mine, tmp_path / "alias.gc")
    assert run(str(tmp_path / "alias.gc"), "-o", str(mine))[0] == 2


def test_a_failed_run_leaves_the_previous_report_and_no_temporary_file(tmp_path, monkeypatch):
    report = tmp_path / "report.xml"
    report.write_text("previous")
    path = tmp_path / "t.gc"
    path.write_text("x @ x=1\nx @ x=2\n")

    def broken(lines, settings):
        raise RuntimeError("a bug")

    monkeypatch.setattr(runner, "check_lines", broken)
    result = CliRunner().invoke(main, ["check", str(path), "--no-exact", "--format", "junit", "-o", str(report)])
    assert result.exit_code == 2 and "internal error: RuntimeError: a bug" in result.stderr
    assert report.read_text() == "previous" and sorted(os.listdir(tmp_path)) == ["report.xml", "t.gc"]


def test_output_to_a_device_is_written_directly(tmp_path):
    path = tmp_path / "t.gc"
    path.write_text("x @ x=1\n")
    code, out, _ = run(str(path), "--no-exact", "--format", "junit", "-o", os.devnull)
    assert code == 0 and out.startswith("1 case: 1 pass")


@POSIX
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_sigterm_mid_run_finishes_the_report_with_an_interrupted_case(tmp_path, jobs):
    path = slow_file(tmp_path, 30_000, f"sigterm{jobs}.gc")
    report = tmp_path / "report.json"
    report.write_text("previous")
    process = start(str(path), "--format", "json", "-o", str(report), "--jobs", jobs)
    def report_started() -> bool:  # some cases written to the temporary report beside report.json
        return any(p.name.endswith(".gradcheck-tmp") and p.stat().st_size > 20_000 for p in tmp_path.iterdir())

    wait_for(report_started, what="the first cases")
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 2 and err == "gradcheck: interrupted\n", err
    data = json.loads(report.read_text())
    assert data["cases"][-1]["status"] == "error" and "interrupted (SIGTERM)" in data["cases"][-1]["message"]
    assert 0 < data["summary"]["total"] == len(data["cases"]) < 30_001
    statuses = [c["status"] for c in data["cases"]]
    assert all(data["summary"][s] == statuses.count(s) for s in ("pass", "error", "mismatch"))  # counted = written
    assert [c["source"] for c in data["cases"][:3]] == [f"{path}:{n}" for n in (1, 2, 3)]
    assert sorted(os.listdir(tmp_path)) == ["report.json", path.name]  # no temporary file left
    assert "interrupted (SIGTERM)" in out
    wait_for(lambda: not processes_reading(path.name), 10, "the workers to exit")


@POSIX
def test_sigkill_of_the_parent_keeps_the_previous_report_and_the_workers_exit(tmp_path):
    path = slow_file(tmp_path, 30_000, "sigkill.gc")
    report = tmp_path / "report.xml"
    report.write_text("previous")
    process = start(str(path), "--format", "junit", "-o", str(report), "--jobs", "2")
    wait_for(lambda: len(children(process.pid)) == 2, what="two workers")
    process.kill()
    process.communicate(timeout=60)
    assert report.read_text() == "previous"  # the run never got to rename its report over it
    wait_for(lambda: not processes_reading(path.name), 10, "the orphaned workers to notice and exit")


@POSIX
def test_a_worker_killed_by_sigterm_dies_quietly_and_its_lines_are_rerun(tmp_path):
    path = slow_file(tmp_path, 2000, "worker.gc")
    process = start(str(path), "--format", "json", "--jobs", "2")
    wait_for(lambda: len(children(process.pid)) == 2, what="two workers")
    os.kill(children(process.pid)[0], signal.SIGTERM)
    out, err = process.communicate(timeout=120)
    assert "Traceback" not in err and err == ""
    data = json.loads(out)
    assert process.returncode == 0 and data["summary"] == {**data["summary"], "total": 2000, "pass": 2000}
    assert [c["source"] for c in data["cases"]] == [f"{path}:{n}" for n in range(1, 2001)]


@POSIX
def test_a_line_that_kills_its_worker_is_an_error_case_and_the_run_ends(tmp_path):
    lines = [f"x*{k} @ x=1" for k in range(1, 41)] + ["x*y @ x=1, y=666"] + [f"x*{k} @ x=2" for k in range(41, 81)]
    path = tmp_path / "kill.gc"
    path.write_text("\n".join(lines) + "\n")
    started = time.monotonic()
    process = start(str(path), "--no-exact", "--format", "json", "--jobs", "2", env={runner.KILL_ON_ENV: "x*y @ x=1, y=666"})
    out, err = process.communicate(timeout=60)
    assert time.monotonic() - started < 60 and process.returncode == 1 and err == ""
    cases = json.loads(out)["cases"]
    assert [c["source"] for c in cases] == [f"{path}:{n}" for n in range(1, 82)]  # every line once, in order
    assert [c["status"] for c in cases] == ["pass"] * 40 + ["error"] + ["pass"] * 40
    assert "worker process died (signal 9, SIGKILL) while checking this line" in cases[40]["message"]


# --- control characters and huge points --------------------------------------------------------------------

CONTROL = "\x1b[2K\x1b]0;pwned\x07\r\b\x9b\u202e"


def test_control_characters_never_reach_human_readable_output_raw(tmp_path):
    path = tmp_path / f"ev{CONTROL[:4]}il.gc"
    path.write_text(f"x*y @ x=1, y=2 => dx=3  # {CONTROL}\nsig{CONTROL}ma(x) @ x=1\nx @ x=1 => dx=2\n", encoding="utf-8")
    for output_format in ("table", "github", "junit"):
        code, out, err = run(str(path), "--no-exact", "--format", output_format)
        assert code == 1
        for char in "\x1b\r\b\x07\x9b\u202e":
            assert char not in out + err, (output_format, repr(char))
        assert "\\x1b" in out
    report = tmp_path / "r.xml"
    _, summary, _ = run(str(path), "--no-exact", "--format", "junit", "-o", str(report))
    assert "\x1b" not in summary and "\\x1b" in summary and ET.parse(report).getroot().get("errors") == "1"
    _, out, _ = run(str(path), "--no-exact", "--format", "json")
    assert CONTROL[:4] in json.loads(out)["cases"][0]["source"]  # JSON keeps the text (escaped by json.dumps)


@pytest.mark.skipif(sys.platform in ("win32", "darwin"), reason="needs file names that are not UTF-8")
def test_junit_is_well_formed_for_any_file_name(tmp_path):
    for name in ("a]]>b.gc", 'q"uo\'te.gc', "<tag>&amp.gc"):
        (tmp_path / name).write_text("x @ x=1 => dx=2\n")
    with open(os.path.join(os.fsencode(tmp_path), b"caf\xe9.gc"), "w") as handle:
        handle.write("x @ x=1 => dx=2\n")
    code, out, _ = run(str(tmp_path), "--no-exact", "--format", "junit")
    root = ET.fromstring(out)
    assert code == 1 and (root.get("tests"), root.get("failures")) == ("4", "4")
    names = sorted(Path(suite.get("name")).name for suite in root)
    assert names == sorted(["<tag>&amp.gc", "a]]>b.gc", "caf\\xe9.gc", 'q"uo\'te.gc'])
    _, out, _ = run(str(tmp_path), "--no-exact", "--format", "table")
    assert "caf\\xe9.gc" in out


def test_a_case_with_thousands_of_variables_stays_readable(tmp_path):
    names = [f"w{k}" for k in range(1000)]
    line = "+".join(names) + " @ " + ", ".join(f"{n}=1" for n in names) + " => dw0=5\n"
    path = tmp_path / "wide.gc"
    path.write_text(line)
    for output_format in ("table", "github", "junit"):
        code, out, _ = run(str(path), "--no-exact", "--format", output_format)
        assert code == 1 and "… (1,000 values)" in out and len(out) < 20_000, (output_format, len(out))
    code, summary, _ = run(str(path), "--no-exact", "--format", "json", "-o", str(tmp_path / "r.json"))
    assert len(summary) < 1000
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["cases"][0]["point"]) == 1000 and len(data["cases"][0]["gradients"]) == 1000
    _, table, _ = run(str(path), "--no-exact")
    assert "reproduce: (the command would be" in table and "… and 980 more variables that pass" in table


KILLER = "x*y @ x=1, y=666"


@POSIX
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(killers=st.sets(st.integers(0, 29), max_size=4), jobs=st.sampled_from([2, 3]))
def test_every_line_gets_exactly_one_result_in_order_whichever_lines_kill_their_worker(killers, jobs, monkeypatch):
    monkeypatch.setenv(runner.KILL_ON_ENV, KILLER)  # read by the forked workers only
    lines = [batch.Line("f.gc", n + 1, KILLER if n in killers else f"x*{n} @ x=1") for n in range(30)]
    results = list(runner.run(iter(lines), FAST, jobs=jobs))
    assert [r.line for r in results] == list(range(1, 31))
    assert [r.case.status for r in results] == ["error" if n in killers else "pass" for n in range(30)]
    assert all("worker process died (signal 9" in results[n].case.message for n in killers)


def test_the_row_blocks_are_drawn_as_rich_draws_the_table(tmp_path):
    import io

    from rich.table import Table

    from gradcheck_cli.report import stream as formats
    from gradcheck_cli.report import table as report

    items = [c for text in ("x*y @ x=1, y=2; x=-3, y=4.5", "sigmoidd(x) @ x=1", "relu(x) @ x=0", "tanh(x) => dx=2")
             for c in batch.check_line(batch.Line("dir/some file.gc", 7, text), FAST)]
    table = Table(title="gradcheck check", title_justify="left")
    for name, justify in formats.ROW_COLUMNS:
        table.add_column(name, justify=justify, no_wrap=True)
    for item in items:
        table.add_row(*formats.row_cells(item))
    drawn = {}
    for name, renderable in (("rich", table), ("block", formats.rows_block(items, "gradcheck check", [0] * 5))):
        buffer = io.StringIO()
        report.make_console(file=buffer).print(renderable, soft_wrap=name == "block")
        drawn[name] = [line.rstrip() for line in buffer.getvalue().splitlines()]
    assert drawn["block"] == drawn["rich"]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_progress_bar_counts_the_lines_first_and_leaves_the_report_alone(tmp_path, monkeypatch, jobs):
    from gradcheck_cli.cli import check as batch_cli

    totals = []
    monkeypatch.setattr(batch_cli, "_show_progress", lambda lines: totals.append(lines) or True)
    path = tmp_path / "t.gc"
    path.write_text("# a comment\n" + "".join(f"x*{k} @ x=1\n" for k in range(12)))
    report = tmp_path / "r.json"
    code, out, _ = run(str(path), "--no-exact", "--format", "json", "-o", str(report), "--jobs", jobs)
    assert code == 0 and totals[-1] == 12 and out.startswith("12 cases: 12 pass")
    assert json.loads(report.read_text())["summary"]["total"] == 12


def test_a_symlinked_output_is_written_through_and_stays_a_symlink(tmp_path):
    path = tmp_path / "t.gc"
    path.write_text("x @ x=1\n")
    real = tmp_path / "reports" / "latest.json"
    real.parent.mkdir()
    real.write_text("previous")
    link = tmp_path / "report.json"
    os.symlink(real, link)  # also how /dev/stdout and /dev/fd/1 look: renaming over their target would replace it
    code, _, _ = run(str(path), "--no-exact", "--format", "json", "-o", str(link))
    assert code == 0 and link.is_symlink() and json.loads(real.read_text())["summary"]["total"] == 1
