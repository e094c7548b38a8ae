"""The oracle's time limit: a deadline checked between nodes, and SIGALRM as the backstop for work it cannot see."""

from __future__ import annotations

import signal
import threading
import time


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


def _on_alarm(signum: int, frame: object) -> None:
    raise BudgetExceeded()


class time_budget:  # noqa: N801  (a context manager used as a function: `with time_budget(s) as alarm`)
    """Raise BudgetExceeded inside whatever runs longer than `seconds` (SIGALRM; main thread only: SymPy's own
    loops are not ours to check, so this is the backstop; elsewhere Deadline.check does the work). `alarm.reset(s)`
    sets how long from now it rings (a nested budget disarms it on exit: SymPy's own) without installing the
    handler again. A class, not @contextmanager: it runs once per case, where a generator costs more than a point."""

    __slots__ = ("seconds", "armed", "previous")

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = 0 < seconds < 1e6 and threading.current_thread() is threading.main_thread()
        self.previous = None

    def __enter__(self) -> "time_budget":
        if self.armed:
            self.previous = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)
        return self

    def reset(self, seconds: float) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, seconds if 0 < seconds < 1e6 else 0)

    def __exit__(self, *exc: object) -> None:
        if self.armed:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)
