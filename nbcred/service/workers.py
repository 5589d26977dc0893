"""``nbcred worker``: Celery grading workers on a machine that has only the package and the settings.

One worker process grades one notebook at a time (Celery's solo pool: the sandbox forks its
own children, which a pool process may not). ``--concurrency N`` starts N such processes and
stays in front of them: a signal it gets is passed on to each, and it exits when they have
all stopped. A worker that stops mid-task (killed, machine lost) has not acknowledged its task,
which the broker hands to another worker (see :mod:`nbcred.executors.celery_app`).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

#: Options nbcred sets itself (the rest of the command line goes to ``celery worker``).
BASE = ["worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle"]


def worker_argv(queue: str, name: str, extra: Sequence[str]) -> list[str]:
    """``celery worker`` arguments for one process called ``name``."""
    return [*BASE, f"--queues={queue}", f"--hostname={name}", *extra]


def run_workers(concurrency: int, extra: Sequence[str]) -> int:
    """Run ``concurrency`` worker processes until they stop; the highest exit status."""
    from nbcred.executors.celery_app import app as celery

    queue = str(celery.conf.task_default_queue)
    host = socket.gethostname()
    if concurrency <= 1:
        celery.worker_main(worker_argv(queue, f"nbcred-{os.getpid()}@{host}", extra))
        return 0
    children = [
        subprocess.Popen([sys.executable, "-m", "celery", "-A", "nbcred.executors.celery_app",
                          *worker_argv(queue, f"nbcred-{os.getpid()}-{i}@{host}", extra)])
        for i in range(concurrency)
    ]

    def forward(signum: int, _frame: FrameType | None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT):
        signal.signal(signum, forward)
    return max(child.wait() for child in children)
