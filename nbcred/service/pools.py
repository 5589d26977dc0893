"""Where a web service grades: the local persistent pool (default) or Celery, by settings."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from grader.results import GradeResult
from nbcred.pipeline import GradeJob
from nbcred.service.queue import Pool
from nbcred.settings import Settings

Callback = Callable[[GradeJob, GradeResult], None]


class CeleryPool:
    """Sends each claimed job to the Celery workers and waits for it in a thread of its own."""

    def __init__(self, settings: Settings, *, in_flight: int | None = None) -> None:
        self.settings = settings
        self.in_flight = in_flight or max(4, settings.workers * 4)
        from nbcred.storage import open_storage

        self._shared = open_storage(settings).shared
        self._busy = 0
        self._lock = threading.Lock()

    def start(self) -> None:
        """Nothing to start: the workers run elsewhere (``nbcred worker``)."""

    def free(self) -> int:
        with self._lock:
            return max(0, self.in_flight - self._busy)

    def submit(self, job: GradeJob, callback: Any) -> None:
        with self._lock:
            self._busy += 1

        def run() -> None:
            try:
                from nbcred.executors.celery_app import CeleryExecutor

                # feedback files are fetched when someone first views them (nbcred.service.shared)
                executor = CeleryExecutor(settings=self.settings, pull_feedback=not self._shared)
                executor.grade([job], on_result=callback)
            finally:
                with self._lock:
                    self._busy -= 1

        threading.Thread(target=run, name="nbcred-celery-job", daemon=True).start()

    def close(self) -> None:
        """Jobs in flight keep running on the workers; their leases expire and they are re-queued."""


def make_pool(settings: Settings, *, runner: str = "auto") -> Pool:
    """The pool named by ``settings.executor``: ``local`` (default) or ``celery``."""
    if settings.executor == "celery":
        return CeleryPool(settings)
    from nbcred.executors.pool import PersistentPool

    return PersistentPool(settings=settings, workers=settings.workers, runner=runner)
