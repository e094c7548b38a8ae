"""Signals: SIGTERM in the parent takes Ctrl-C's clean path; worker processes die quietly.

A CI timeout sends SIGTERM (then SIGKILL). Python's default for SIGTERM kills the process on the spot — no
report, or a 0-byte one — so for the length of a command SIGTERM raises `Interrupted`, a KeyboardInterrupt:
reports are finished and renamed into place, workers stopped, and the user reads one line,
`gradcheck: interrupted`, exit 2. The handler is installed and removed around one run (no global state).
"""

from __future__ import annotations

import signal
import threading
from contextlib import contextmanager
from typing import Iterator

from .errors import Interrupted


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


@contextmanager
def signals_ignored() -> Iterator[None]:
    """While a report is being finished after an interrupt, a second Ctrl-C or SIGTERM must not cut it short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            if handler is not None:  # None: a handler set outside Python, which cannot be put back
                signal.signal(s, handler)


def quiet_worker() -> None:
    """In a worker process: Ctrl-C is the parent's to handle, and SIGTERM simply ends the process (no traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}


@contextmanager
def deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done (they are blocked, then delivered): a case is counted and
    written to the report together or not at all, and never half-written."""
    if not hasattr(signal, "pthread_sigmask") or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
