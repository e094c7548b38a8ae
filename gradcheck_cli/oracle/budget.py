"""The oracle's time limit: a deadline checked between nodes, and SIGALRM as the backstop for work it cannot see."""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator


class BudgetExceeded(Exception):
    pass


class Deadline:
    """A time limit checked between nodes: works off the main thread, where SIGALRM cannot."""

    def __init__(self, seconds: float):
        self.end = time.perf_counter() + seconds if seconds > 0 else float("inf")

    def check(self) -> None:
        if time.perf_counter() > self.end:
            raise BudgetExceeded()

    def left(self) -> float:
        return self.end - time.perf_counter()


class Alarm:
    """The armed SIGALRM of a time_budget: `reset` sets how long from now it rings (a nested budget disarms it on
    exit: SymPy's own), without installing the handler again."""

    def __init__(self, armed: bool):
        self.armed = armed

    def reset(self, seconds: float) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, seconds if 0 < seconds < 1e6 else 0)


@contextmanager
def time_budget(seconds: float) -> Iterator[Alarm]:
    """Raise BudgetExceeded inside whatever runs longer than `seconds` (SIGALRM; main thread only: SymPy's own
    loops are not ours to check, so this is the backstop; elsewhere Deadline.check does the work)."""
    if not 0 < seconds < 1e6 or threading.current_thread() is not threading.main_thread():
        yield Alarm(False)
        return

    def on_alarm(signum: int, frame: object) -> None:
        raise BudgetExceeded()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield Alarm(True)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
