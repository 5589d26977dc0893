"""Celery workers against the machine's Redis: a worker killed with SIGKILL mid-batch loses nothing.

Needs Redis at ``NBCRED_TEST_REDIS_URL`` (default redis://127.0.0.1:6379/0; this test uses DBs 9
and 10 of that server). Skipped when Redis is unreachable, except with ``CI=true``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import psutil
import pytest

from grader.results import GradeResult
from nbcred.executors import GradeJob
from nbcred.executors.celery_app import CeleryExecutor, CelerySettings
from nbcred.settings import Settings
from tests.workers import redis_ready, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REDIS = os.environ.get("NBCRED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]


@pytest.fixture()
def redis_urls() -> tuple[str, str]:
    broker, backend = f"{REDIS}/9", f"{REDIS}/10"
    redis_ready(broker, backend)
    return broker, backend


def _busy(worker: subprocess.Popen[bytes]) -> bool:
    """A worker is grading when its kernel template has a forked kernel."""
    try:
        return any(c.children() for c in psutil.Process(worker.pid).children())
    except psutil.NoSuchProcess:
        return False


def test_sigkill_mid_batch_loses_and_duplicates_nothing(
    tmp_path: Path, redis_urls: tuple[str, str], slow_assessment: tuple[Path, list[Path]]
) -> None:
    broker, backend = redis_urls
    queue = f"nbcred-test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "NBCRED_BROKER_URL": broker, "NBCRED_RESULT_BACKEND": backend,
           "NBCRED_HOME": str(tmp_path / "home"), "NBCRED_CELERY_QUEUE": queue,
           "NBCRED_CELERY_VISIBILITY_TIMEOUT": "10"}
    root, subs = slow_assessment
    workers = [start_worker(env, name=f"w{i}", queue=queue) for i in range(2)]
    settings = Settings(broker_url=broker, result_backend=backend, home=tmp_path / "home")
    executor = CeleryExecutor(settings=settings, extra=CelerySettings(queue=queue, visibility_timeout=10))
    jobs = [GradeJob(str(root), str(s), s.name) for s in subs] * 1
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            for worker in workers:
                if _busy(worker):
                    worker.send_signal(signal.SIGKILL)
                    killed.append(worker.pid)
                    return
            time.sleep(0.05)

    import threading

    thread = threading.Thread(target=killer)
    results: list[tuple[GradeJob, GradeResult]] = []
    try:
        thread.start()
        executor.grade(jobs, on_result=lambda job, result: results.append((job, result)))
        thread.join()
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert killed, "no worker was caught grading"
    counts = Counter(job.learner for job, _ in results)
    assert counts == Counter(j.learner for j in jobs), "every submission gets exactly one result"
    assert all(r.score == 1.0 and not r.errors for _, r in results), [r.errors for _, r in results]
