"""`gradcheck check`: the click command for expression files (only click is imported at module level)."""

from __future__ import annotations

import click


@click.command("check")
@click.argument("paths", nargs=-1, required=True)
def check_command(paths: tuple[str, ...]) -> None:
    """Batch-check expression files (.gc) or directories of them."""
    raise click.UsageError("not implemented yet")
