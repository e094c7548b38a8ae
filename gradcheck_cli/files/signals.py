"""Signals: SIGTERM in the parent takes Ctrl-C's clean path; worker processes die quietly.

A CI timeout sends SIGTERM (then SIGKILL). Python's default for SIGTERM kills the process on the spot — no
report, or a 0-byte one — so for the length of a command SIGTERM raises `Interrupted`, a KeyboardInterrupt:
reports are finished and renamed into place, workers stopped, and the user reads one line,
`gradcheck: interrupted`, exit 2. Handlers are installed and removed around one command or run (no global state).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from ..errors import Interrupted


def _raise_interrupted(signum: int, frame: object) -> None:
    raise Interrupted(signum)


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block SIGTERM raises Interrupted (main thread only: signal handlers live there)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)


def quiet_worker() -> None:
    """In a worker process: Ctrl-C is the parent's to handle, and SIGTERM simply ends the process (no traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


class StopSignals:
    """Ctrl-C and SIGTERM for the length of a batch run: they raise at once (KeyboardInterrupt, Interrupted), except
    while `held`, where they wait for the end of the block — so a case is counted and written to the report together
    or not at all. A flag, not a signal mask: numpy's threads would receive a masked signal instead, and Python runs
    the handler in the main thread at the next bytecode anyway. The flag lives in this object, one per run."""

    def __init__(self) -> None:
        self.holding = False
        self.pending: int | None = None
        self.previous: dict[int, object] = {}

    def __enter__(self) -> "StopSignals":
        if threading.current_thread() is threading.main_thread():
            for number in (signal.SIGINT, signal.SIGTERM):
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, handler in self.previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)

    def _handle(self, number: int, frame: object) -> None:
        if self.holding:
            self.pending = number
            return
        raise Interrupted(number) if number == signal.SIGTERM else KeyboardInterrupt()

    @contextmanager
    def held(self, deliver: bool = True) -> Iterator[None]:
        """Within the block a stop signal is remembered, and raised after it (or dropped: `deliver=False`, for
        finishing a report after a first interrupt, which a second Ctrl-C must not cut short)."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
            number, self.pending = self.pending, None
            if number is not None and deliver:
                raise Interrupted(number) if number == signal.SIGTERM else KeyboardInterrupt()
