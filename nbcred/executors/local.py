"""Grade on this machine with N worker processes; results stream back as each one finishes.

Each worker loads an assessment once and keeps one runner (and its kernel template). The parent
hands a worker one job at a time, so memory does not grow with the number of submissions and a
slow notebook never holds up the queue. If a worker dies mid-job (killed, out of memory, a bug),
its job still gets a result — with an error saying so — and a fresh worker takes its place.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any

from grader.assessment import Assessment, load_assessment
from grader.errors import GraderError
from grader.results import GradeResult
from nbcred.executors.work import JobGrader, error_result
from nbcred.pipeline import GradeJob
from nbcred.settings import Settings

log = logging.getLogger(__name__)


def worker_main(conn: Connection, settings: Settings, runner: str) -> None:
    """A worker process: receive a job, send back its result, until told to stop (``None``)."""
    grader = JobGrader(settings, runner)
    try:
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

    def __init__(self, *, settings: Settings, workers: int | None = None, runner: str = "auto") -> None:
        self.settings = settings
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.runner = runner
        self._context = multiprocessing.get_context("spawn")
        self._assessments: dict[str, Assessment] = {}
        self.pids: list[int] = []

    def grade(
        self, jobs: Sequence[GradeJob], *, on_result: Callable[[GradeJob, GradeResult], None]
    ) -> None:
        """Grade every job, calling ``on_result`` in this process as each result arrives."""
        queue: Iterator[GradeJob] = iter(jobs)
        pool = [self._start() for _ in range(min(self.workers, len(jobs)))]
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

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=worker_main, args=(child, self.settings, self.runner),
                                        name="nbcred-worker", daemon=True)
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
        return error_result(job, message, self._assessment(job.assessment))

    def _assessment(self, path: str) -> Assessment | None:
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
        for worker in pool:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(timeout=5)
            worker.conn.close()
