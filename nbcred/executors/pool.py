"""A long-lived local worker pool for a server: jobs arrive one by one, workers stay warm.

:class:`LocalExecutor` starts its workers for one batch; a web service instead keeps them (and
their kernel templates) for its whole life so a single submission is graded without start-up
cost. A worker that dies mid-job is replaced and its job gets an error result, as in a batch.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from multiprocessing.connection import wait

from grader.results import GradeResult
from nbcred.executors.local import LocalExecutor, _Worker
from nbcred.pipeline import GradeJob
from nbcred.settings import Settings

log = logging.getLogger(__name__)
Callback = Callable[[GradeJob, GradeResult], None]


class PersistentPool(LocalExecutor):
    """``workers`` processes kept for the pool's life; :meth:`submit` hands one job over."""

    def __init__(self, *, settings: Settings, workers: int | None = None, runner: str = "auto") -> None:
        super().__init__(settings=settings, workers=workers, runner=runner)
        self._pending: queue.Queue[tuple[GradeJob, Callback]] = queue.Queue()
        self._callbacks: dict[int, Callback] = {}
        self._pool: list[_Worker] = []
        self._busy = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the workers and the thread that feeds them."""
        self._pool = [self._start() for _ in range(self.workers)]
        self._thread = threading.Thread(target=self._run, name="nbcred-pool", daemon=True)
        self._thread.start()

    def free(self) -> int:
        """How many more jobs would start right away."""
        with self._lock:
            return max(0, self.workers - self._busy - self._pending.qsize())

    def submit(self, job: GradeJob, callback: Callback) -> None:
        """Grade ``job``; ``callback(job, result)`` is called from the pool's thread."""
        with self._lock:
            self._busy += 1
        self._pending.put((job, callback))
        self._wake.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._assign_pending()
            active = [w for w in self._pool if w.job is not None]
            if not active:
                self._wake.wait(0.2)
                self._wake.clear()
                continue
            ready = wait([w.conn for w in active] + [w.process.sentinel for w in active], timeout=0.2)
            for index, worker in enumerate(self._pool):
                if worker.job is None or not (worker.conn in ready or worker.process.sentinel in ready):
                    continue
                self._collect(index, worker)

    def _assign_pending(self) -> None:
        for worker in self._pool:
            if worker.job is not None:
                continue
            try:
                job, callback = self._pending.get_nowait()
            except queue.Empty:
                return
            worker.job = job
            self._callbacks[id(worker)] = callback
            try:
                worker.conn.send(job)
            except (OSError, ValueError):  # its pipe broke: the next wait reports it dead
                log.warning("could not hand a job to worker %s", worker.process.pid)

    def _collect(self, index: int, worker: _Worker) -> None:
        job = worker.job
        assert job is not None
        callback = self._callbacks.pop(id(worker))
        result = self._receive(worker)
        worker.job = None
        if result is None:
            self._pool[index], code = self._replace(worker)
            result = self._crashed(job, code)
        with self._lock:
            self._busy -= 1
        try:
            callback(job, result)
        except Exception:  # a failing callback must not stop the pool
            log.exception("recording the result of %s failed", job.submission)

    def close(self) -> None:
        """Stop feeding jobs and end the workers."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stop(self._pool)
        self._pool = []
