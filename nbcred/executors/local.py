"""Grade on this machine with N worker processes; results stream back as each one finishes.

Each worker loads an assessment once and keeps one runner (and its kernel template). The parent
hands a worker one job at a time, so memory does not grow with the number of submissions and a
slow notebook never holds up the queue. If a worker dies mid-job (killed, out of memory, a bug),
its job still gets a result — with an error saying so — and a fresh worker takes its place.

Workers are forked by multiprocessing's fork server, which imports what a worker needs
(:data:`WORKER_MODULES`: nbgrader, nbclient, the sandbox… ~1.4 core-seconds) once, not once per
worker; a replacement worker starts in milliseconds. :meth:`LocalExecutor.start_workers` starts
them before the batch is known, so ``nbcred grade`` overlaps their start-up (imports, loading the
assessment, the kernel template) with its own (the gradebook, the lookup of what is graded).
This module imports nothing heavy itself: the parent's start-up path goes through it.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext, SpawnContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from grader.results import GradeResult
from nbcred.pipeline import GradeJob

if TYPE_CHECKING:
    from grader.assessment import Assessment
    from grader.sandbox_probe import SandboxReport
    from nbcred.settings import Settings

log = logging.getLogger(__name__)

#: Imported by the fork server before it forks the first worker: everything grading needs (the
#: last two are imported by jupyter_client when it looks up the ``python3`` kernel).
WORKER_MODULES = ("nbcred.executors.local", "nbcred.executors.work", "grader.grade", "grader.sandbox",
                  "grader.forkserver", "IPython.paths", "ipykernel.kernelspec")


def worker_context(method: str = "forkserver") -> ForkServerContext | SpawnContext:
    """The multiprocessing context workers start with: the preloaded fork server, or ``spawn``."""
    if method == "spawn":
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    return context


def stop_fork_server() -> None:
    """End the fork server once every worker has ended (been joined), and reap it.

    For a process done with local workers (``nbcred grade`` at its end): the CPU time of the
    workers and their kernels, reaped by the fork server, then counts among this process's
    children's, as it did when workers were this process's own children. The server is sent
    SIGTERM rather than left to notice it is unused: its interpreter's clean exit, with all it
    preloaded, is slow.
    """
    from multiprocessing import forkserver

    server = forkserver._forkserver  # no public way to stop it; CPython's own tests use _stop
    pid = getattr(server, "_forkserver_pid", None)
    stop = getattr(server, "_stop", None)
    if pid is None or not callable(stop):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    stop()


def worker_main(
    conn: Connection, settings: Settings, runner: str, report: SandboxReport | None = None,
    warm: str | None = None,
) -> None:
    """A worker process: receive a job, send back its result, until told to stop (``None``).

    ``report`` is the sandbox probe done by the parent (without one the worker probes); ``warm``
    is an assessment folder to load, and start the runner for, before the first job arrives.
    """
    from nbcred.executors.work import JobGrader

    grader = JobGrader(settings, runner, report=report)
    try:
        if warm is not None:
            grader.warm(warm)
        while True:
            try:
                job = conn.recv()
            except EOFError:
                return
            if job is None:
                return
            conn.send(grader.grade(job))
    finally:
        grader.close()


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    job: GradeJob | None = None


class LocalExecutor:
    """Grades jobs in ``workers`` local processes (default: one per core)."""

    #: How workers start: forked by the preloaded fork server (``spawn``: each imports everything).
    start_method = "forkserver"

    def __init__(self, *, settings: Settings, workers: int | None = None, runner: str = "auto") -> None:
        self.settings = settings
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.runner = runner
        self._context = worker_context(self.start_method)
        self._assessments: dict[str, Assessment] = {}
        self.pids: list[int] = []
        self._report: SandboxReport | None = None
        self._warm: str | None = None
        self._started: list[_Worker] = []
        self._starting: threading.Thread | None = None

    def start_workers(self, count: int | None = None, *, assessment: str | None = None) -> None:
        """Start ``count`` workers (at most :attr:`workers`) now; :meth:`grade` hands them its jobs.

        Returns at once: the workers are forked in a thread (the first waits for the fork server's
        imports), then load ``assessment`` and start their kernel templates while the caller goes
        on. The sandbox probe runs here, once, and its report goes to every worker; call this
        before the process starts threads of its own (the probe forks). :meth:`close` ends the
        workers no job went to.
        """
        if self._starting is not None or self._started:
            return
        if self.runner != "plain":
            from grader.sandbox_probe import probe

            self._report = probe()
        self._warm = assessment
        wanted = min(self.workers, count or self.workers)
        import multiprocessing.popen_forkserver  # noqa: F401  (here, not while the caller imports)

        self._starting = threading.Thread(target=self._start_many, args=(wanted,),
                                          name="nbcred-start-workers", daemon=True)
        self._starting.start()

    def _start_many(self, count: int) -> None:
        for _ in range(count):
            self._started.append(self._start())

    def grade(
        self, jobs: Sequence[GradeJob], *, on_result: Callable[[GradeJob, GradeResult], None]
    ) -> None:
        """Grade every job, calling ``on_result`` in this process as each result arrives."""
        queue: Iterator[GradeJob] = iter(jobs)
        wanted = min(self.workers, len(jobs))
        pool = self._take_started(wanted)
        pool += [self._start() for _ in range(wanted - len(pool))]
        try:
            busy = sum(self._assign(w, queue) for w in pool)
            while busy:
                ready = wait([w.conn for w in pool if w.job] + [w.process.sentinel for w in pool if w.job])
                for index, worker in enumerate(pool):
                    if worker.job is None or not (worker.conn in ready or worker.process.sentinel in ready):
                        continue
                    job, result = worker.job, self._receive(worker)
                    worker.job = None
                    if result is None:
                        pool[index], code = self._replace(worker)
                        result = self._crashed(job, code)
                    on_result(job, result)
                    busy -= 1
                    busy += self._assign(pool[index], queue)
        finally:
            self._stop(pool)

    def close(self) -> None:
        """End the workers :meth:`start_workers` started that :meth:`grade` did not use."""
        self._cancel(self._take_started(0))

    def _take_started(self, wanted: int) -> list[_Worker]:
        """Up to ``wanted`` of the workers started ahead (once all are up); the rest are ended."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        started, self._started = self._started, []
        self._cancel(started[wanted:])
        return started[:wanted]

    @staticmethod
    def _cancel(workers: list[_Worker]) -> None:
        """End workers that never had a job (still starting, perhaps): nothing to finish."""
        for worker in workers:
            worker.process.terminate()  # its kernel template dies with it
        LocalExecutor._join(workers, timeout=5)

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=worker_main, args=(child, self.settings, self.runner, self._report, self._warm),
            name="nbcred-worker", daemon=True,
        )
        process.start()
        child.close()
        assert process.pid is not None
        self.pids.append(process.pid)
        return _Worker(process, parent)

    @staticmethod
    def _assign(worker: _Worker, queue: Iterator[GradeJob]) -> int:
        job = next(queue, None)
        if job is None:
            return 0
        worker.job = job
        worker.conn.send(job)
        return 1

    @staticmethod
    def _receive(worker: _Worker) -> GradeResult | None:
        try:
            if worker.conn.poll():
                result: Any = worker.conn.recv()
                if isinstance(result, GradeResult):
                    return result
        except (EOFError, OSError):
            pass
        return None

    def _replace(self, worker: _Worker) -> tuple[_Worker, int | None]:
        worker.process.join(timeout=5)
        if worker.process.is_alive():  # its pipe broke but it lives on: end it
            worker.process.kill()
            worker.process.join(timeout=5)
        code = worker.process.exitcode
        log.warning("grading worker %s died (exit code %s); starting another", worker.process.pid, code)
        worker.conn.close()
        return self._start(), code

    def _crashed(self, job: GradeJob, code: int | None) -> GradeResult:
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited ({code})"
        message = (f"the grading worker {how} while grading this submission; it was not graded "
                   "(grade it again; if it recurs, the notebook may crash the grader)")
        from nbcred.executors.work import error_result

        return error_result(job, message, self._assessment(job.assessment))

    def _assessment(self, path: str) -> Assessment | None:
        from grader.assessment import load_assessment
        from grader.errors import GraderError

        try:
            if path not in self._assessments:
                self._assessments[path] = load_assessment(path)
            return self._assessments[path]
        except GraderError:
            return None

    @staticmethod
    def _stop(pool: list[_Worker]) -> None:
        for worker in pool:
            with contextlib.suppress(OSError, ValueError):
                worker.conn.send(None)
        LocalExecutor._join(pool, timeout=10)

    @staticmethod
    def _join(workers: list[_Worker], *, timeout: float) -> None:
        """Wait for workers told to end; kill those still running after ``timeout``."""
        for worker in workers:
            worker.process.join(timeout=timeout)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
