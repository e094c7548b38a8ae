"""Checking lines, in this process (`--jobs 1`) or in worker processes that may die.

Workers get line text in small tasks (two per worker in flight, so none idles while the parent writes the report)
and send back each task's results. A worker that dies (the OOM killer's SIGKILL) costs only the lines it held:
they are re-run one at a time in fresh workers, and a line that kills a worker on its own becomes an `error` case. Results come out in file order, every line exactly once. At
most WINDOW_PER_JOB x jobs lines are in flight or waiting for an earlier one, so memory does not grow with the file.
"""

from __future__ import annotations

import os
import signal
from collections import deque
from itertools import chain, islice
from typing import Callable, Iterable, Iterator

from ..errors import FileError, Position
from ..results import FileCase
from .format import Line, Settings, check_line, check_lines, line_error
from .signals import quiet_worker

Unit = Line | FileCase
KILL_ON_ENV = "GRADCHECK_TEST_KILL_ON"  # test-only: a worker SIGKILLs itself before a line with exactly this text
SMALL_RUN = 64  # with --jobs 0, a worker per this many lines (up to one per CPU): fewer stay in this process
CHUNK = 16  # lines per task (and judged together, as BATCH): fewer round trips, little lost when a worker dies
BATCH = 16  # lines checked together in this process (their quotients and scalar verdicts taken in one go)
TASKS_IN_FLIGHT = 2  # per worker
WINDOW_PER_JOB = 64
MAX_IDLE_DEATHS = 8  # per job: workers that die holding no line mean something is wrong with every worker
_BLOCKED = {signal.SIGINT, signal.SIGTERM}


def check_unit(unit: Unit, settings: Settings) -> list[FileCase]:
    return check_line(unit, settings) if isinstance(unit, Line) else [unit]


def run(units: Iterable[Unit], settings: Settings, jobs: int = 1,
        on_result: Callable[[Unit], None] | None = None) -> Iterator[FileCase]:
    """Results in file order; with jobs > 1 lines are checked in worker processes (fork where available). jobs 0:
    as many as workers_for says."""
    if jobs == 0:
        units, jobs = workers_for(units)
    if settings.options.exact:
        from ..oracle import exact  # noqa: F401  (the oracle's import time is not the first case's; forked workers inherit it)
    if jobs <= 1:
        for batch in _batches(units):
            results = check_lines(batch, settings) if isinstance(batch[0], Line) else [[batch[0]]]
            for unit, cases in zip(batch, results):
                yield from cases
                if on_result:
                    on_result(unit)
        return
    pool = _Pool(settings, jobs)
    try:
        for unit, results in pool.ordered(units):
            yield from results
            if on_result:
                on_result(unit)
        pool.close(graceful=True)
    finally:
        pool.close(graceful=False)  # interrupted, or the consumer stopped early: stop the workers now


def workers_for(units: Iterable[Unit]) -> tuple[Iterator[Unit], int]:
    """(the same units, the jobs --jobs 0 means for them): a worker per SMALL_RUN units read ahead, up to one per CPU;
    a run of at most SMALL_RUN stays in this process (forking costs more than it saves there), and 65 lines on a
    64-core machine start 2 workers, not 64."""
    units = iter(units)
    cpus = os.cpu_count() or 1
    ahead = list(islice(units, SMALL_RUN * cpus + 1))
    return chain(ahead, units), max(1, min(cpus, -(-len(ahead) // SMALL_RUN)))


def _batches(units: Iterable[Unit]) -> Iterator[list[Unit]]:
    """Runs of up to BATCH consecutive lines; a unit that is already a result comes alone."""
    batch: list[Unit] = []
    for unit in units:
        if not isinstance(unit, Line):
            if batch:
                yield batch
                batch = []
            yield [unit]
            continue
        batch.append(unit)
        if len(batch) == BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _worker_main(conn, settings: Settings, inherited: list[int]) -> None:
    """A worker: tasks of (seq, line) in, (seq, results) out per line; ends on EOF (the parent is gone)."""
    quiet_worker()  # Ctrl-C is the parent's to handle; SIGTERM ends a worker at once, no traceback
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _BLOCKED)  # blocked around the fork; handlers are safe now
    for fd in inherited:  # the parent's pipe ends (fork copies them): holding one would hide the parent's death
        try:
            os.close(fd)
        except OSError:
            pass
    kill_on = os.environ.get(KILL_ON_ENV)
    try:
        while True:
            task = conn.recv()
            if task is None:
                break
            if kill_on is not None and any(line.text == kill_on for _, line in task):
                os.kill(os.getpid(), signal.SIGKILL)
            results = list(zip((seq for seq, _ in task), check_lines([line for _, line in task], settings)))
            try:
                conn.send(results)
            except (OSError, EOFError):
                raise
            except Exception as problem:  # results that cannot be sent (pickling): each line still gets one
                conn.send([(seq, [_internal(line, problem)]) for seq, line in task])
    except (OSError, EOFError, KeyboardInterrupt):
        pass
    finally:
        os._exit(0)  # no atexit, no flush of buffers inherited from the parent (they would duplicate its output)


def _internal(line: Line, problem: BaseException) -> FileCase:
    return line_error(line, FileError(f"internal error in a worker, please report: {type(problem).__name__}: {problem}",
                                      Position(line.text, 0, line.file, line.number, 0)))


def _died(line: Line, how: str) -> FileCase:
    return line_error(line, FileError(f"worker process died ({how}) while checking this line "
                                      "(out of memory? the other lines still ran)", Position(line.text, 0, line.file, line.number, 0)))


class _Worker:
    def __init__(self, context, settings: Settings, siblings: list[_Worker], fork: bool):
        self.conn, child = context.Pipe()
        # the parent's pipe ends, this worker's own included: only then does the worker see EOF when the parent dies
        inherited = [w.conn.fileno() for w in [*siblings, self]] if fork else []
        self.process = context.Process(target=_worker_main, args=(child, settings, inherited), daemon=True)
        blocked = hasattr(signal, "pthread_sigmask")
        if blocked:  # a SIGTERM between fork and the worker's own handlers would run the parent's handler there
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
        try:
            self.process.start()
        finally:
            if blocked:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
            child.close()
        self.tasks: deque[list[int]] = deque()  # the seqs of each task sent and not answered, oldest first
        self.solo = False  # its one task is one line that already lost a worker

    @property
    def inflight(self) -> list[int]:
        return [seq for task in self.tasks for seq in task]

    def how_it_ended(self) -> str:
        self.process.join(5)
        code = self.process.exitcode
        if code is None:
            return "unknown cause"
        if code < 0:
            try:
                return f"signal {-code}, {signal.Signals(-code).name}"
            except ValueError:
                return f"signal {-code}"
        return f"exit status {code}"


class _Pool:
    """Workers started as they are needed, replaced when they die; `ordered` yields (unit, results) in file order."""

    def __init__(self, settings: Settings, jobs: int):
        import multiprocessing

        methods = multiprocessing.get_all_start_methods()
        self.context = multiprocessing.get_context("fork" if "fork" in methods else None)
        self.fork = self.context.get_start_method() == "fork"
        self.settings, self.jobs = settings, jobs
        self.workers: list[_Worker] = []
        self.idle_deaths = 0

    def ordered(self, units: Iterable[Unit]) -> Iterator[tuple[Unit, list[FileCase]]]:
        source = enumerate(units)
        waiting: dict[int, Unit] = {}  # every seq read and not yet yielded
        done: dict[int, list[FileCase]] = {}
        queue: deque[int] = deque()  # lines not sent yet
        retry: deque[int] = deque()  # lines whose worker died: one at a time now
        next_out, exhausted = 0, False
        while True:
            while not exhausted and len(waiting) < WINDOW_PER_JOB * self.jobs:
                item = next(source, None)
                if item is None:
                    exhausted = True
                    break
                waiting[item[0]] = item[1]
                if isinstance(item[1], Line):
                    queue.append(item[0])
                else:
                    done[item[0]] = [item[1]]
            while next_out in done:
                yield waiting.pop(next_out), done.pop(next_out)
                next_out += 1
            if exhausted and not waiting:
                return
            self._dispatch(queue, retry, waiting)
            self._collect(done, retry, waiting)

    def _free_worker(self, alone: bool) -> _Worker | None:
        """A worker that can take a task (`alone`: one with no other task, for a line re-run on its own)."""
        idle = next((w for w in self.workers if not w.tasks), None)
        if idle is None and len(self.workers) < self.jobs:
            idle = _Worker(self.context, self.settings, self.workers, self.fork)
            self.workers.append(idle)
        if idle is not None or alone:
            return idle
        return next((w for w in self.workers if not w.solo and len(w.tasks) < TASKS_IN_FLIGHT), None)

    def _dispatch(self, queue: deque[int], retry: deque[int], waiting: dict[int, Unit]) -> None:
        while queue or retry:
            worker = self._free_worker(alone=bool(retry))
            if worker is None:
                return
            if retry:
                task, worker.solo = [retry.popleft()], True
            else:
                size = max(1, min(CHUNK, len(queue) // (self.jobs * TASKS_IN_FLIGHT)))
                task, worker.solo = [queue.popleft() for _ in range(size)], False
            worker.tasks.append(task)
            try:
                worker.conn.send([(seq, waiting[seq]) for seq in task])
            except (OSError, EOFError):
                pass  # it died: _collect sees its sentinel and re-runs these lines

    def _collect(self, done: dict[int, list[FileCase]], retry: deque[int], waiting: dict[int, Unit]) -> None:
        from multiprocessing.connection import wait

        busy = [w for w in self.workers if w.inflight]
        if not busy:
            return
        ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy]))
        for worker in busy:
            if worker.conn not in ready and worker.process.sentinel not in ready:
                continue
            dead = worker.process.sentinel in ready
            try:
                while worker.tasks and worker.conn.poll():
                    for seq, results in worker.conn.recv():
                        done[seq] = results
                    worker.tasks.popleft()
            except (OSError, EOFError):
                dead = True
            if dead:
                self._bury(worker, done, retry, waiting)

    def _bury(self, worker: _Worker, done: dict[int, list[FileCase]], retry: deque[int], waiting: dict[int, Unit]) -> None:
        """A worker is gone: the line it held alone is blamed, lines it held together are re-run one by one."""
        how = worker.how_it_ended()
        self.workers.remove(worker)
        worker.conn.close()
        held = worker.inflight
        if worker.solo and len(held) == 1:
            done[held[0]] = [_died(waiting[held[0]], how)]
        elif held:
            retry.extend(sorted(held))
        else:
            self.idle_deaths += 1
            if self.idle_deaths > MAX_IDLE_DEATHS * self.jobs:
                raise RuntimeError(f"worker processes keep dying ({how}) before checking any line")

    def close(self, graceful: bool) -> None:
        """Graceful: ask each worker to stop and wait; otherwise (interrupted) SIGTERM them, SIGKILL stragglers."""
        workers, self.workers = self.workers, []
        for worker in workers:
            try:
                if graceful:
                    worker.conn.send(None)
                worker.conn.close()
            except (OSError, EOFError):
                pass
            if not graceful and worker.process.is_alive():
                worker.process.terminate()
        for worker in workers:
            worker.process.join(2)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(2)
