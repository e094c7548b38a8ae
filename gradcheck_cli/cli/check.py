"""`gradcheck check`: every case of expression and program files, streamed into reports (click only at module level).

A run streams: files are read lazily (files/discovery.py), lines checked in order (files/runner.py), each result
handed to the report writer (report/stream.py, chosen in report/formats.py) and forgotten. `--output FILE` is
written beside FILE and renamed into place; Ctrl-C or SIGTERM ends the report with an `interrupted` case, puts it in
place and exits 2.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import closing, nullcontext
from dataclasses import dataclass

import click

from ..report.formats import STREAMED
from .options import CHECK_SAMPLES_TYPE, JOBS_TYPE, SHARD_TYPE, NumericOptions, numeric_options

MIN_PROGRESS = 8  # lines: fewer finish before a progress bar would be worth drawing
REDRAW = 0.1  # seconds between two drawings of the progress bar


@dataclass(frozen=True, slots=True)
class CheckRequest:
    """check's options as click read them (the numeric ones in `numeric`)."""

    paths: tuple[str, ...]
    output_format: str
    output: str | None
    junit: str | None
    shard: tuple[int, int] | None
    samples: int
    seed: int
    jobs: int
    numeric: NumericOptions
    strict: bool


def _show_progress(lines: int) -> bool:
    """A progress bar only for a person watching: stderr is a terminal, CI is not set, and the run is not tiny."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return lines >= MIN_PROGRESS and sys.stderr.isatty() and not ci


def _progress(make_units, no_bar: bool):
    """(a context that draws a progress bar or nothing, the callback that advances it). No bar when the report itself
    is the progress (it streams to the terminal) or when standard input is read (it cannot be counted first); counting
    the lines costs a first pass over the files."""
    if no_bar or not _show_progress(MIN_PROGRESS):
        return nullcontext(), None
    total = sum(1 for _ in make_units())
    if not _show_progress(total):
        return nullcontext(), None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..report.table import make_console

    columns = (TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"), TimeRemainingColumn())
    # no refresh thread: worker processes are forked inside this block, and forking a threaded process is unsafe
    progress = Progress(*columns, console=make_console(stderr=True), transient=True, auto_refresh=False)
    task = progress.add_task("check", total=total)
    done, shown = 0, 0.0  # lines checked; when the bar was last drawn

    def advance(unit) -> None:  # drawn at most every REDRAW seconds: drawing it per line doubled a run's time
        nonlocal done, shown
        done += 1
        now = time.monotonic()
        if now - shown >= REDRAW or done == total:
            shown = now
            progress.update(task, completed=done)
            progress.refresh()

    return progress, advance


def _fail(message: str) -> None:
    from ..display import visible
    from ..status import ExitCode

    click.echo(visible(f"gradcheck: {message}"), err=True)
    sys.exit(ExitCode.TOOL_ERROR)


@click.command("check", short_help="Check every case in .gc and .gc.py files; exit 1 on a mismatch.")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(STREAMED), default="table", show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to this file; the terminal still gets a short summary.")
@click.option("--junit", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write a JUnit XML report to FILE, from the same run (e.g. with --format github).")
@click.option("--shard", type=SHARD_TYPE, metavar="K/N",
              help="Check only the K-th of N shares of the cases (deterministic by file and line; N runs cover each case once).")
@click.option("--samples", type=CHECK_SAMPLES_TYPE, default=5, show_default=True,
              help=f"Random points for a line without '@' ({CHECK_SAMPLES_TYPE.range_text()}).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of those random points (with the line's text).")
@click.option("--jobs", "-j", type=JOBS_TYPE, default=0, show_default=True,
              help=f"Worker processes, {JOBS_TYPE.range_text()}; 1 checks in this process.")
@numeric_options("chain", "chain: each gate's local derivatives chained at 50 digits (exact value, no formula); "
                 "auto: also SymPy's whole formula for small expressions (in JSON; ~10x slower).", "Skip the exact column (faster).")
@click.option("--strict", is_flag=True, help="Kinks and inconclusive points fail too.")
def check_command(**given) -> None:
    """Check every case in expression files (.gc) and program files (.gc.py),
    or in every such file under a directory.

    \b
    One case per line of a .gc file ('#' starts a comment):
      (x+y)*z @ x=-2, y=5, z=-4          a point (several: separate with ';')
      x*y @ x=-2, y=3 => dx=3, dy=-2     claimed gradient (and f=VALUE)
      sigma(x) => dx = sigma(x)*(1-sigma(x))   checked at --samples points

    \b
    Examples:
      gradcheck check derivations/
      gradcheck check derivations/ --format github --junit report.xml
      gradcheck check derivations/ --shard 2/4 -j 0
      python make_cases.py | gradcheck check -      (- is standard input)

    \b
    Exit codes: 0 all passed (kinks allowed unless --strict), 1 a mismatch
    or an error case (a malformed line, an unreadable file), 2 nothing
    could be checked at all.
    """
    numeric = NumericOptions.take(given)
    run_check(CheckRequest(numeric=numeric, **given))


def run_check(request: CheckRequest) -> None:
    """Every case of the files into the reports, as they are checked; the exit code from the tally."""

    from ..files import discovery as files
    from ..files.format import Settings
    from ..files.reading import ReportFile

    items = files.expand_paths(request.paths)  # names only, so --output can be compared with every input first
    output, junit, shard = request.output, request.junit, request.shard
    _refuse_overwriting(items, {"--output": output, "--junit": junit})
    _refuse_nothing(items, request.strict)
    settings = Settings(request.numeric.case_options(), request.samples, request.seed)
    report_file = ReportFile(output) if output is not None else None  # fails here, before any work, if unwritable
    junit_file = ReportFile(junit, "--junit") if junit is not None else None
    shares = files.Shard(*shard) if shard is not None else None

    def make_units():
        return files.units(items) if shard is None else files.Shard(*shard).select(files.units(items))

    started = time.perf_counter()
    try:
        units = files.units(items) if shares is None else shares.select(files.units(items))
        tally, interrupted = _run(request, units, make_units, settings, (report_file, junit_file), started)
    except BrokenPipeError:
        raise  # the reader of stdout left: the group exits quietly
    except OSError as problem:  # a full disk, a failed fork: one line, and --output's previous report is intact
        _fail(f"could not finish the run: {problem.strerror or problem}")
        return
    if report_file is not None:
        click.echo(tally.short_summary(time.perf_counter() - started))
    _finish(tally, interrupted, shares, shard)


def _finish(tally, interrupted: bool, shares, shard) -> None:
    """The exit: 2 when interrupted or when nothing could be checked (an empty shard of real work passes)."""
    if interrupted:
        _fail("interrupted")
    problem = tally.nothing_checked()
    if problem is not None and shares is not None and shares.skipped and not tally.counts["total"]:
        click.echo(f"gradcheck: shard {shard[0]}/{shard[1]} holds none of the {shares.skipped:,} cases", err=True)
    elif problem is not None:
        _fail(problem)
    sys.exit(tally.exit_code())


def _refuse_nothing(items, strict: bool) -> None:
    """Every path missing, or a directory without .gc files: said once, on stderr, before any report is begun (a
    report of nothing but that message, then the same message again, told the user twice)."""
    from ..report.stream import Tally

    if any(isinstance(item, str) for item in items):
        return
    tally = Tally(strict)
    for problem in items:
        tally.add(problem)
    _fail(tally.nothing_checked())


def _refuse_overwriting(items, reports: dict[str, str | None]) -> None:
    """A report file must not be one of the inputs (`check mine.gc -o mine.gc` would destroy it), nor the other report."""
    from ..files.reading import input_named_by

    inputs = [item for item in items if isinstance(item, str)]
    named = {option: path for option, path in reports.items() if path is not None}
    for option, path in named.items():
        clash = input_named_by(path, inputs)
        if clash is not None:
            _fail(f"{option} {path} is one of the input files ({clash}); it would be overwritten: write the report elsewhere")
    if len(named) == 2 and os.path.abspath(named["--output"]) == os.path.abspath(named["--junit"]):
        _fail(f"--output and --junit name the same file ({named['--junit']}): give each report its own file")


def _run(request: CheckRequest, units, make_units, settings, report_files, started: float):
    """Check every unit and stream the results into the reports; (tally, whether the run was interrupted).
    On Ctrl-C or SIGTERM the reports still end properly: the cases so far, then an `interrupted` error case."""

    from ..files import runner
    from ..files.discovery import STDIN
    from ..files.signals import StopSignals
    from ..report import stream
    from ..report.formats import make_writer

    report_file, junit_file = report_files
    strict, jobs = request.strict, request.jobs
    files_made = [f for f in report_files if f is not None]
    tally = stream.Tally(strict)
    writer = None
    try:
        writer = make_writer(request.output_format, report_file.handle if report_file else None, strict)
        if junit_file is not None:
            writer = stream.Both(writer, make_writer("junit", junit_file.handle, strict))
        interrupted = None
        with StopSignals() as stops:
            try:
                bar, advance = _progress(make_units, report_file is None and sys.stdout.isatty() or STDIN in request.paths)
                with bar, closing(runner.run(units, settings, jobs, on_result=advance)) as results:
                    for item in results:
                        with stops.held():  # counted and written together, or not at all
                            tally.add(item)
                            writer.add(item)
            except KeyboardInterrupt as stop:
                interrupted = stop
            with stops.held(deliver=False):  # a second Ctrl-C must not cut the report short
                if interrupted is not None:
                    marker = stream.interrupted_case(tally, getattr(interrupted, "signal_number", None))
                    tally.add(marker)
                    writer.add(marker)
                writer.close(tally, time.perf_counter() - started)
                for done in files_made:
                    done.commit()
    except BaseException:
        if hasattr(writer, "discard"):
            writer.discard()
        for unfinished in files_made:
            unfinished.discard()  # the previous report stays, and no temporary file is left behind
        raise
    return tally, interrupted is not None
