"""The Redis-backed Celery worker the tests start: one real ``celery worker`` process per call."""

from __future__ import annotations

import signal
import subprocess
import sys

from tests.conftest import unavailable


def redis_ready(*urls: str, flush: bool = True) -> None:
    """Each Redis database reachable (and emptied unless ``flush=False``); else skip, or fail in CI."""
    import redis

    for url in urls:
        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2)
            client.flushdb() if flush else client.ping()
        except redis.exceptions.ConnectionError as exc:
            unavailable(f"Redis not reachable at {url}: {exc}")


def start_worker(env: dict[str, str], *, name: str | None = None,
                 queue: str | None = None) -> subprocess.Popen[bytes]:
    """``celery worker`` (solo pool) on nbcred's Celery app, configured by ``env`` (NBCRED_BROKER_URL…)."""
    command = [sys.executable, "-m", "celery", "-A", "nbcred.executors.celery_app", "worker", "--pool=solo"]
    if queue is not None:
        command.append(f"--queues={queue}")
    if name is not None:
        command.append(f"--hostname={name}@%h")
    command += ["--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_worker(worker: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """A warm shutdown (SIGTERM), killed when it takes longer than ``timeout`` seconds."""
    if worker.poll() is not None:
        return
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
