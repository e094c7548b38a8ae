"""The `gradcheck` command group: one line on stderr and exit 2 for anything that stops a command (a usage error, bad
input, Ctrl-C or SIGTERM, a closed pipe, an unexpected exception), never a traceback. The commands are one module
each (eval.py, sweep.py, check.py, function.py, layer.py): read the options into a record, call the library, hand
the cases to a format of report/formats.py, exit.

Nothing heavy is imported at module level, so `gradcheck --help` loads neither numpy nor SymPy.
"""

from __future__ import annotations

import os
import sys

import click

from ..display import visible
from ..errors import GradcheckError
from ..status import ExitCode
from .options import OptionValueError


def _fail(error: GradcheckError) -> None:
    """The error in one line (and a caret), exit 2."""
    click.echo(visible(f"gradcheck: {error.render()}"), err=True)
    sys.exit(ExitCode.TOOL_ERROR)


def _reader_left() -> None:
    """`gradcheck ... | head`: the reader left before the report was complete. Every command and format exits 2
    (the run could not deliver its report), says nothing more, and flushes nowhere."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(ExitCode.TOOL_ERROR)


class _Group(click.Group):
    """One-line usage errors (exit 2), and the last line of defence: a bug still ends in one line, never a traceback."""

    def main(self, *args, **kwargs):
        from ..files.signals import terminate_as_interrupt

        try:
            with terminate_as_interrupt():  # a CI timeout's SIGTERM takes Ctrl-C's path: reports finished, one line
                return super().main(*args, standalone_mode=False, **kwargs)
        except OptionValueError as error:  # the option, its range, what was given: all in one line
            click.echo(visible(f"gradcheck: {error.format_message()}", newlines=False), err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except click.UsageError as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # bare `gradcheck`: the help itself (click >= 8.2)
                click.echo(error.format_message(), err=True)
                sys.exit(ExitCode.TOOL_ERROR)
            command = error.ctx.command_path if error.ctx else "gradcheck"
            click.echo(visible(f"{command}: {error.format_message()} (see {command} --help)", newlines=False), err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except click.ClickException as error:
            click.echo(visible(f"gradcheck: {error.format_message()}", newlines=False), err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except BrokenPipeError:  # a usage message into a closed pipe
            _reader_left()
        except SystemExit as stop:
            # click's own EPIPE path (--help, --version) exits 1, after wrapping stdout (click 8.5) or from inside
            # its except block (8.4): either sign means the reader left
            wrapped = type(sys.stdout).__name__.lstrip("_") == "PacifyFlushWrapper"
            if wrapped or isinstance(stop.__context__, BrokenPipeError):
                _reader_left()
            raise
        except (click.Abort, KeyboardInterrupt):  # Ctrl-C or SIGTERM while click was still reading the options
            click.echo("gradcheck: interrupted", err=True)
            sys.exit(ExitCode.TOOL_ERROR)

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GradcheckError as error:
            _fail(error)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (errors.Interrupted): one line, exit 2, no traceback
            click.echo("gradcheck: interrupted", err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except BrokenPipeError:
            _reader_left()
        except MemoryError:
            click.echo("gradcheck: out of memory (fewer points, --samples or lines at a time may fit)", err=True)
            sys.exit(ExitCode.TOOL_ERROR)
        except Exception as problem:  # noqa: BLE001
            message = f"gradcheck: internal error: {type(problem).__name__}: {problem} (please report it with the command)"
            click.echo(visible(message, newlines=False), err=True)
            sys.exit(ExitCode.TOOL_ERROR)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="gradcheck", prog_name="gradcheck")
def main() -> None:
    """Check gradients you derived by hand: backprop through a gate graph, finite
    differences, the complex step and SymPy's exact derivative, side by side.

    \b
    Start with one of these:
      gradcheck eval "(x+sigma(y))/(sigma(x)+(x+y)**2)" --at x=3,y=-4
      gradcheck check derivations/          every case in .gc and .gc.py files
      gradcheck function model.py:loss --grad model.py:loss_grad --at @p.npz

    \b
    Exit codes: 0 every check passed (kinks allowed), 1 a check failed
    (mismatch or error), 2 the tool could not run (bad option or input).
    Run `gradcheck COMMAND --help` for a command's options and examples.
    """


from .check import check_command  # noqa: E402  (click only; the heavy work is imported when a command runs)
from .eval import eval_command  # noqa: E402
from .function import function_command  # noqa: E402
from .layer import layer_command  # noqa: E402
from .sweep import sweep_command  # noqa: E402

for command in (eval_command, sweep_command, check_command, function_command, layer_command):
    main.add_command(command)


if __name__ == "__main__":
    main()
