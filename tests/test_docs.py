"""Every console example in README.md and docs/*.md is re-run here, so the docs cannot drift from the tool.

A ```console block holds commands and what they print. A line starting with `$ ` is a command; a command
ending in `\\` continues on the next line. The lines after a command, up to the next command or the end of
the block, are its expected output: stdout and stderr together, as a terminal shows them (the commands run
with PYTHONUNBUFFERED=1, so the two streams interleave in the order they were written). Commands:

    gradcheck ARGS...     run as `python -m gradcheck_cli ARGS...` with this interpreter
    python FILE ARGS...   this interpreter
    cat FILE              the file's text
    echo $?               the exit code of the command before it (how a block shows an exit code)

The commands of one block run in order, in one fresh temporary directory that holds copies of expressions/
and docs/: paths read as from the repository root, and files a command writes (--output, --junit, --graph)
land in the temporary directory, never in the checkout. Environment: NO_COLOR=1 and COLUMNS=80, so an example
shows what an 80-column terminal shows.

Before comparing, both sides are normalised: a run's timing `in 0.29 s (38 cases/s)` becomes `in T s (R cases/s)`,
a JUnit `time="0.063210"` becomes `time="T"`, trailing whitespace is dropped, and so are trailing blank lines.
Nothing else varies between runs: every random draw is seeded. Every command must also finish without a traceback
or an "internal error".

Test ids are FILE:LINE of the command, so a failure names the example. To rewrite every expected output with
what the commands print now (review the diff before committing):

    python tests/test_docs.py --update [FILE.md ...]
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("expressions", "docs")  # what the examples may read, copied into each block's directory
TIMEOUT = 60  # seconds per command

SETUP = (
    'python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/gradcheck eval "(x+sigma(y))/(sigma(x)+(x+y)**2)" --at x=3,y=-4',
    'python3 -m venv .venv && .venv/bin/pip install ".[test]" && .venv/bin/python -m pytest',
)


def doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


# --- parsing --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    file: str  # relative to the repository root
    line: int  # 1-based line of its `$ `
    text: str  # the command, continuation lines joined
    expected: tuple[str, ...]
    span: int = 1  # source lines of the command (continuations included)


@dataclass(frozen=True)
class Block:
    file: str
    start: int  # line of the opening fence
    end: int  # line of the closing fence
    commands: tuple[Command, ...]
    indent: int = 0  # spaces before the fence (and every line of the block)


def parse_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").split("\n")
    name = str(path.relative_to(ROOT))
    blocks, i = [], 0
    while i < len(lines):
        if lines[i].strip() != "```console":
            i += 1
            continue
        start = i + 1
        indent = len(lines[i]) - len(lines[i].lstrip())  # a block inside a list item is indented
        j = start
        while j < len(lines) and lines[j].strip() != "```":
            j += 1
        if j == len(lines):
            raise ValueError(f"{name}:{start}: a ```console block is never closed")
        body = [line[indent:] if line[:indent].strip() == "" else line for line in lines[start:j]]
        blocks.append(Block(name, start, j + 1, tuple(_commands(name, body, start + 1)), indent))
        i = j + 1
    return blocks


def _commands(name: str, body: list[str], first_line: int) -> list[Command]:
    commands: list[Command] = []
    k = 0
    while k < len(body):
        if not body[k].startswith("$ "):
            if not commands:
                raise ValueError(f"{name}:{first_line + k}: output before the first `$ ` command of a console block")
            k += 1
            continue
        line = first_line + k
        text = body[k][2:]
        while text.endswith("\\") and k + 1 < len(body):
            k += 1
            text = text[:-1].rstrip() + " " + body[k].strip()
        k += 1
        output_start = k
        while k < len(body) and not body[k].startswith("$ "):
            k += 1
        commands.append(Command(name, line, text, tuple(body[output_start:k]), output_start + first_line - line))
    return commands


def all_blocks() -> list[Block]:
    return [block for path in doc_files() for block in parse_blocks(path)]


# --- running --------------------------------------------------------------------------------------------


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADCHECK_") and k not in ("FORCE_COLOR", "CI")}
    env.update(NO_COLOR="1", COLUMNS="80", PYTHONUNBUFFERED="1", PYTHONIOENCODING="utf-8",
               PYTHONPATH=os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]))
    return env


def _prepare(directory: Path) -> None:
    for name in COPIED:
        shutil.copytree(ROOT / name, directory / name, ignore=shutil.ignore_patterns("__pycache__", ".*"))


def run_command(text: str, cwd: Path, previous: int | None) -> tuple[str, int]:
    """(what a terminal shows, exit code) of one documented command."""
    words = shlex.split(text)
    if words == ["echo", "$?"]:
        if previous is None:
            raise ValueError("`echo $?` needs a command before it")
        return f"{previous}\n", 0
    if words[0] == "cat":
        return "".join((cwd / w).read_text(encoding="utf-8") for w in words[1:]), 0
    if words[0] == "gradcheck":
        argv = [sys.executable, "-m", "gradcheck_cli", *words[1:]]
    elif words[0] == "python":
        argv = [sys.executable, *words[1:]]
    else:
        raise ValueError(f"documented commands are gradcheck, python, cat and `echo $?`; got {words[0]!r}")
    done = subprocess.run(argv, cwd=cwd, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=TIMEOUT, encoding="utf-8", errors="replace")
    return done.stdout, done.returncode


def run_block(block: Block) -> dict[int, tuple[str, int]]:
    """Every command of a block, in order, in one fresh directory: line -> (output, exit code)."""
    results: dict[int, tuple[str, int]] = {}
    with tempfile.TemporaryDirectory(prefix="gradcheck-docs-") as directory:
        cwd = Path(directory)
        _prepare(cwd)
        previous = None
        for command in block.commands:
            output, code = run_command(command.text, cwd, previous)
            results[command.line] = (output, code)
            previous = code
    return results


_TIMING = re.compile(r"in \d+(?:\.\d+)? s \(\d[\d,.]* cases?/s\)")
_JUNIT_TIME = re.compile(r'time="[0-9.]+"')


def normalise(text: str) -> list[str]:
    text = _TIMING.sub("in T s (R cases/s)", text)
    text = _JUNIT_TIME.sub('time="T"', text)
    lines = [line.rstrip() for line in text.split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


# --- the tests ------------------------------------------------------------------------------------------

BLOCKS = all_blocks()
COMMANDS = [command for block in BLOCKS for command in block.commands]
BLOCK_OF = {(c.file, c.line): block for block in BLOCKS for c in block.commands}


_RAN: dict[tuple[str, int], tuple[str, int]] = {}  # (file, line) -> (output, exit code), filled a block at a time


@pytest.fixture(scope="session")
def outputs(request) -> dict[tuple[str, int], tuple[str, int]]:
    """The outputs of every block a selected test needs. In one process: all of them at once, two blocks at a time
    (each block in order). Under pytest-xdist (whose workers each collect every test but run only some): a block
    when its first test comes, and the xdist_group mark keeps a block's tests on one worker."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return _RAN
    wanted = {id(block): block for block in (BLOCK_OF[item.callspec.params["command"].file, item.callspec.params["command"].line]
              for item in request.session.items if getattr(item, "callspec", None) and "command" in item.callspec.params
              and item.module.__name__ == __name__)}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for block, done in zip(wanted.values(), pool.map(run_block, wanted.values())):
            _RAN.update({(block.file, line): value for line, value in done.items()})
    return _RAN


def _output(command: Command, outputs: dict) -> tuple[str, int]:
    if (command.file, command.line) not in outputs:
        block = BLOCK_OF[command.file, command.line]
        outputs.update({(block.file, line): value for line, value in run_block(block).items()})
    return outputs[command.file, command.line]


@pytest.mark.parametrize("command", [pytest.param(c, marks=pytest.mark.xdist_group(f"docs:{BLOCK_OF[c.file, c.line].file}:"
                                                                                    f"{BLOCK_OF[c.file, c.line].start}"))
                                     for c in COMMANDS], ids=[f"{c.file}:{c.line}" for c in COMMANDS])
def test_console_example(command: Command, outputs) -> None:
    output, code = _output(command, outputs)
    assert "Traceback" not in output and "internal error" not in output, f"{command.file}:{command.line}: {command.text}\n{output}"
    expected, actual = normalise("\n".join(command.expected)), normalise(output)
    if expected != actual:
        import difflib

        diff = "\n".join(difflib.unified_diff(expected, actual, "documented", "printed now", lineterm=""))
        pytest.fail(f"{command.file}:{command.line}: the output of `{command.text}` drifted "
                    f"(exit code {code}):\n{diff}", pytrace=False)


def test_every_document_has_examples() -> None:
    assert COMMANDS, "no ```console examples found"
    files = {c.file for c in COMMANDS}
    assert "README.md" in files


def test_readme_opens_with_the_two_setup_commands() -> None:
    """CI (.ci/run) runs these two commands; README must give them exactly, in the first ```bash block."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    first = re.search(r"```bash\n(.*?)```", text, re.S)
    assert first is not None, "README.md has no ```bash block"
    assert first.group(1).rstrip("\n").split("\n") == list(SETUP)
    assert text.index("```bash") < text.index("```console"), "the set-up commands come before the first example"


_LINK = re.compile(r"\]\(([^)#\s]*)(?:#([^)\s]*))?\)")


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a markdown file (lower case, punctuation dropped, spaces to '-')."""
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    headings = re.findall(r"^#+ +(.+?) *$", text, re.M)
    return {re.sub(r"[^\w\- ]", "", h.lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("path", doc_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_local_links_point_at_files(path: Path) -> None:
    """Relative links in the docs (pages, images, example files, #anchors of pages) name things that exist."""
    missing = []
    for target, anchor in _LINK.findall(path.read_text(encoding="utf-8")):
        if "://" in target or target.startswith("mailto:"):
            continue
        linked = (path.parent / target) if target else path
        if not linked.exists():
            missing.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            missing.append(f"{target}#{anchor}")
    assert not missing, f"{path.relative_to(ROOT)} links to missing files or headings: {missing}"


# --- update mode ----------------------------------------------------------------------------------------


def update(path: Path) -> int:
    """Rewrite the expected output of every command in `path` with what it prints now; returns commands run."""
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks = parse_blocks(path)
    for block in reversed(blocks):  # bottom up, so earlier line numbers stay valid
        results = run_block(block)
        body: list[str] = []
        for command in block.commands:
            output, _ = results[command.line]
            kept = lines[command.line - 1:command.line - 1 + command.span]
            shown = [line.rstrip() for line in output.split("\n")]
            while shown and not shown[-1]:
                shown.pop()
            body += kept + [" " * block.indent + line if line else line for line in shown]
        lines[block.start:block.end - 1] = body
    path.write_text("\n".join(lines), encoding="utf-8")
    return sum(len(b.commands) for b in blocks)


if __name__ == "__main__":
    if "--update" not in sys.argv[1:]:
        sys.exit("usage: python tests/test_docs.py --update [FILE.md ...]")
    chosen = [Path(p).resolve() for p in sys.argv[1:] if p != "--update"] or doc_files()
    for chosen_path in chosen:
        count = update(chosen_path)
        print(f"{chosen_path.relative_to(ROOT)}: {count} commands re-run")
