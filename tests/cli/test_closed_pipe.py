"""`gradcheck ... | head -1`: when the reader has left, every command and format exits 2, silently.

The pipe's read end is closed before gradcheck starts, so the very first write fails (with `head`, whether
a write fails depends on how much fits in the pipe first). Real processes: the behaviour under test is the
interpreter's, at exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

CHECK_FILE = "\n".join(f"x*y*sin(x) @ x={i}, y=2" for i in range(1, 40)) + "\nx*y @ x=1, y=2 => dx=5\n"

COMMANDS = {
    "eval table": ["eval", "x*y", "--at", "x=1,y=2"],
    "eval json": ["eval", "x*y", "--at", "x=1,y=2", "--format", "json"],
    "eval program": ["eval", "q = x*y\ndq = 1", "--at", "x=1,y=2"],
    "sweep table": ["sweep", "exp(x)", "--at", "x=1"],
    "sweep json": ["sweep", "exp(x)", "--at", "x=1", "--format", "json"],
    "check table": ["check", "cases.gc", "--no-exact"],
    "check json": ["check", "cases.gc", "--no-exact", "--format", "json"],
    "check junit": ["check", "cases.gc", "--no-exact", "--format", "junit"],
    "check github": ["check", "cases.gc", "--no-exact", "--format", "github"],
    "function": ["function", "model.py:f", "--grad", "model.py:g", "--at", "x=2"],
    "function json": ["function", "model.py:f", "--grad", "model.py:g", "--at", "x=2", "--format", "json"],
    "help": ["--help"],
    "command help": ["check", "--help"],
    "version": ["--version"],
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pipe")
    (directory / "cases.gc").write_text(CHECK_FILE)
    (directory / "model.py").write_text(textwrap.dedent("""\
        def f(x):
            return x ** 3

        def g(x):
            return 3 * x ** 2
        """))
    return directory


@pytest.mark.parametrize("name", list(COMMANDS))
def test_a_closed_pipe_exits_2_for_every_command_and_format(workdir, name):
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        finished = subprocess.run([sys.executable, "-m", "gradcheck_cli", *COMMANDS[name]], stdout=write_end,
                                  stderr=subprocess.PIPE, cwd=workdir, timeout=120, env={**os.environ, "NO_COLOR": "1"})
    finally:
        os.close(write_end)
    assert finished.returncode == 2
    assert finished.stderr == b"", finished.stderr.decode()  # no traceback, no "Exception ignored"
