"""`gradcheck check`: the click command for expression files (only click is imported at module level)."""

from __future__ import annotations

import os
import sys

import click

from .options import CHECK_SAMPLES_TYPE, JOBS_TYPE, numeric_options

MIN_PROGRESS = 8  # lines: fewer finish before a progress bar would be worth drawing


def _show_progress(lines: int) -> bool:
    """A progress bar only for a person watching: stderr is a terminal, CI is not set, and the run is not tiny."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return lines >= MIN_PROGRESS and sys.stderr.isatty() and not ci


def _run_with_progress(units, settings, jobs: int):
    from . import batch

    if not _show_progress(len(units)):
        return list(batch.run(units, settings, jobs))
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .report import make_console

    columns = (TextColumn("checking"), BarColumn(), MofNCompleteColumn(), TextColumn("lines"), TimeRemainingColumn())
    # no refresh thread: the worker pool is forked inside this block, and forking a threaded process is unsafe
    with Progress(*columns, console=make_console(stderr=True), transient=True, auto_refresh=False) as progress:
        task = progress.add_task("check", total=len(units))

        def advance(unit) -> None:
            progress.advance(task)
            progress.refresh()

        return list(batch.run(units, settings, jobs, on_result=advance))


def _fail(message: str) -> None:
    from .errors import ExitCode

    click.echo(f"gradcheck: {message}", err=True)
    sys.exit(ExitCode.TOOL_ERROR)


def _open_output(path: str | None):
    """Opened before any work, so an unwritable --output fails at once (exit 2), not after a long run."""
    if path is None:
        return None
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as problem:
        _fail(f"cannot write --output {path}: {problem.strerror or problem}")


@click.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@click.option("--format", "output_format", type=click.Choice(["table", "json", "junit", "github"]), default="table", show_default=True, help="Report format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report to this file; the terminal still gets a short summary.")
@click.option("--samples", type=CHECK_SAMPLES_TYPE, default=5, show_default=True,
              help=f"Random points for a line without '@' ({CHECK_SAMPLES_TYPE.range_text()}).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of those random points (with the line's text).")
@click.option("--jobs", "-j", type=JOBS_TYPE, default=1, show_default=True, help=f"Worker processes, {JOBS_TYPE.range_text()}.")
@numeric_options("chain", "chain: SymPy's local derivatives chained at 50 digits (exact value, no formula); "
                 "auto: also SymPy's whole formula for small expressions (in JSON; ~10x slower).", "Skip the SymPy column (much faster).")
@click.option("--strict", is_flag=True, help="Kinks and inconclusive points fail too.")
def check_command(paths: tuple[str, ...], output_format: str, output: str | None, samples: int, seed: int, jobs: int,
                  h: float | None, rtol: float, atol: float, exact_timeout: float, exact_method: str, no_exact: bool, strict: bool) -> None:
    """Check every case in expression files (.gc), or in every .gc file under a directory.

    \b
    One case per line ('#' starts a comment):
      (x+y)*z @ x=-2, y=5, z=-4                   a point (several: separate with ';')
      x*y @ x=-2, y=3 => dx=3, dy=-2, f=-6         claimed gradient (and value)
      sigma(x) => dx = sigma(x)*(1-sigma(x))       a claimed formula: checked at --samples random points
    \b
    Exit codes: 0 all passed (kinks allowed unless --strict), 1 a mismatch or an error case
    (including a malformed line or an unreadable file), 2 nothing could be checked at all.
    """
    import time

    handle = _open_output(output)
    try:
        from . import batch
        from .check import Options
        from .verdict import Tolerances, exit_code

        options = Options(h=h, tolerances=Tolerances(rtol, atol), exact=not no_exact, exact_timeout=exact_timeout,
                          exact_method=exact_method)
        settings = batch.Settings(options, samples, seed)
        started = time.perf_counter()
        units = batch.collect(paths)
        checked = _run_with_progress(units, settings, jobs or os.cpu_count() or 1)
        seconds = time.perf_counter() - started
        _write_report(checked, output_format, handle, strict, seconds)
    except KeyboardInterrupt:
        _fail("interrupted")
        return
    finally:
        if handle is not None:
            handle.close()
    if not any(item.line is not None for item in checked):
        _fail("nothing to check: " + ("; ".join(item.case.message for item in checked) if checked else "the files hold no cases"))
    sys.exit(exit_code([item.case.status for item in checked], strict))


def _write_report(checked, output_format: str, handle, strict: bool, seconds: float) -> None:
    from . import formats
    from .report import make_console

    if output_format == "table":
        formats.print_table(make_console(file=handle) if handle else make_console(), checked, strict,
                            None if handle else seconds)
    elif handle is not None:
        handle.write(formats.formatted(output_format, checked, strict))
    else:
        click.echo(formats.formatted(output_format, checked, strict), nl=False)
    if handle is not None:
        click.echo(formats.short_summary(checked, strict, seconds))
