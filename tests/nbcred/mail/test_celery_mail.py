"""A Celery worker started with NBCRED_SMTP_URL delivers the outbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from nbcred.mail import Outgoing, enqueue
from nbcred.service import ServiceContext
from nbcred.settings import Settings
from tests.conftest import REDIS_URL, unavailable
from tests.nbcred.mail.conftest import SmtpServer

pytestmark = [pytest.mark.integration]


def test_celery_worker_sends_pending_mail(home: Path, tmp_path: Path, smtp: SmtpServer) -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.ConnectionError as exc:
        unavailable(f"Redis not reachable at {REDIS_URL}: {exc}")
    db_url = f"sqlite:///{tmp_path / 'mail.sqlite'}"
    ctx = ServiceContext.open(Settings(database_url=db_url))
    with ctx.store.session() as session:
        enqueue(session, ctx.settings, [Outgoing("badge_ready", f"w{n}@example.org", {
            "name": "W", "achievement": "A", "image_url": None, "link": "https://x"}) for n in range(3)])
    env = {**os.environ, "NBCRED_DATABASE_URL": db_url, "NBCRED_BROKER_URL": REDIS_URL,
           "NBCRED_RESULT_BACKEND": REDIS_URL, "NBCRED_CELERY_QUEUE": f"nbcred-mail-{os.getpid()}"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "nbcred.executors.celery_app", "worker", "--pool=solo",
         "--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        smtp.mailbox.wait(3, timeout=60)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [f"w{n}@example.org" for n in range(3)]
