"""Every command's --help: examples, 80 columns without broken words, and the examples themselves run."""

from __future__ import annotations

import shlex

import click
import pytest

from gradcheck_cli.cli.main import main

COMMANDS = ["eval", "check", "function", "sweep"]


def help_text(cli, monkeypatch, *command: str, width: int = 80) -> str:
    monkeypatch.setenv("COLUMNS", str(width))
    result = cli(*command, "--help")
    assert result.exit_code == 0
    return result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_examples_and_fits_80_columns(cli, monkeypatch, command):
    text = help_text(cli, monkeypatch, command)
    assert "Examples:" in text and f"gradcheck {command} " in text.split("Examples:")[1]
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.parametrize("command", COMMANDS)
def test_option_help_is_wrapped_between_words(cli, monkeypatch, command):
    words = set(help_text(cli, monkeypatch, command).split())
    for param in main.commands[command].params:
        if isinstance(param, click.Option) and param.help:
            broken = [w for w in param.help.split() if w not in words and w.rstrip(".,;)") not in words]
            assert not broken, f"{param.opts[0]}: {broken} split across lines"


def test_the_top_level_help_names_the_commands_to_start_with(cli, monkeypatch):
    text = help_text(cli, monkeypatch)
    start = text.split("Start with one of these:")[1].split("\n\n")[0]
    assert [line.split()[1] for line in start.strip().splitlines()] == ["eval", "check", "function"]
    assert max(len(line) for line in text.splitlines()) <= 80


def eval_examples(text: str) -> list[list[str]]:
    """The `gradcheck eval ...` examples of a help text, continuation lines joined."""
    joined = text.split("Examples:")[1].split("\n\n")[0].replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = line.strip()
        if line.startswith("gradcheck eval ") and "@cell.gc.py" not in line:
            commands.append(shlex.split(line)[2:])
    return commands


def test_evals_own_examples_run_and_pass(cli, monkeypatch):
    examples = eval_examples(help_text(cli, monkeypatch, "eval"))
    assert len(examples) == 5  # the fifth: --order 2 with a claim on H
    for args in examples:
        result = cli("eval", *args)
        assert result.exit_code == 0, f"{args}: {result.output}"
