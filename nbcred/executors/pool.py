"""A long-lived local worker pool for a server: jobs arrive one by one, workers stay warm.

:class:`LocalExecutor` starts its workers for one batch; a web service instead keeps them (and
their kernel templates) for its whole life so a single submission is graded without start-up
cost. A worker that dies mid-job is replaced and its job gets an error result, as in a batch.
"""

from __future__ import annotations

import contextlib
import logging
import os
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

    start_method = "spawn"  # started once per server: start() returns without waiting for imports

    def __init__(self, *, settings: Settings, workers: int | None = None, runner: str = "auto") -> None:
        super().__init__(settings=settings, workers=workers, runner=runner)
        self._pending: queue.Queue[tuple[GradeJob, Callback]] = queue.Queue()
        self._callbacks: dict[int, Callback] = {}
        self._pool: list[_Worker] = []
        self._busy = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        # submit() writes a byte here so a pool thread waiting on busy workers hands the job out
        # at once instead of at its next 0.2 s timeout
        self._wakeup_r, self._wakeup_w = os.pipe()
        os.set_blocking(self._wakeup_r, False)
        os.set_blocking(self._wakeup_w, False)
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the workers and the thread that feeds them."""
        self._pool = [self._start() for _ in range(self.workers)]
        self._thread = threading.Thread(target=self._run, name="nbcred-pool", daemon=True)
        self._thread.start()

    def free(self) -> int:
        """How many more jobs it takes: one running and one waiting per worker, so a worker that
        finishes starts its next job without waiting for the caller to hand one over."""
        with self._lock:
            return max(0, 2 * self.workers - self._busy)

    def submit(self, job: GradeJob, callback: Callback) -> None:
        """Grade ``job``; ``callback(job, result)`` is called from the pool's thread."""
        with self._lock:
            self._busy += 1
        self._pending.put((job, callback))
        self._wake.set()
        with contextlib.suppress(OSError):  # full (the thread is behind anyway) or closed
            os.write(self._wakeup_w, b"\0")

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._assign_pending()
            active = [w for w in self._pool if w.job is not None]
            if not active:
                self._wake.wait(0.2)
                self._wake.clear()
                continue
            ready = wait([w.conn for w in active] + [w.process.sentinel for w in active]
                         + [self._wakeup_r], timeout=0.2)
            if self._wakeup_r in ready:
                self._drain_wakeups()
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

    def _drain_wakeups(self) -> None:
        with contextlib.suppress(OSError):  # BlockingIOError: drained
            while os.read(self._wakeup_r, 4096):
                pass

    def close(self) -> None:
        """Stop feeding jobs and end the workers."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._stop(self._pool)
        self._pool = []
        for fd in (self._wakeup_r, self._wakeup_w):
            with contextlib.suppress(OSError):
                os.close(fd)
