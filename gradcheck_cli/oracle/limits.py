"""The oracle's size limit, importable without SymPy (so a case past it never pays SymPy's import)."""

from __future__ import annotations

SIZE_LIMIT = 200_000  # scalar operations of a lowered case (~10 us each at two precisions); past this "skipped: size"


def skipped_for_size(wrt: tuple[str, ...]):
    from .result import ExactResult

    return ExactResult({n: None for n in wrt}, {n: None for n in wrt}, "skipped",
                       f"skipped: size (more than {SIZE_LIMIT:,} input elements)")
