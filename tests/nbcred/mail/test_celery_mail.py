"""A Celery worker started with NBCRED_SMTP_URL delivers the outbox."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nbcred.mail import Outgoing, enqueue
from nbcred.service import ServiceContext
from nbcred.settings import Settings
from tests.conftest import REDIS_URL
from tests.nbcred.mail.conftest import SmtpServer
from tests.workers import redis_ready, start_worker, stop_worker

pytestmark = [pytest.mark.integration]


def test_celery_worker_sends_pending_mail(home: Path, tmp_path: Path, smtp: SmtpServer) -> None:
    redis_ready(REDIS_URL, flush=False)
    db_url = f"sqlite:///{tmp_path / 'mail.sqlite'}"
    ctx = ServiceContext.open(Settings(database_url=db_url))
    with ctx.store.session() as session:
        enqueue(session, ctx.settings, [Outgoing("badge_ready", f"w{n}@example.org", {
            "name": "W", "achievement": "A", "image_url": None, "link": "https://x"}) for n in range(3)])
    env = {**os.environ, "NBCRED_DATABASE_URL": db_url, "NBCRED_BROKER_URL": REDIS_URL,
           "NBCRED_RESULT_BACKEND": REDIS_URL, "NBCRED_CELERY_QUEUE": f"nbcred-mail-{os.getpid()}"}
    worker = start_worker(env)
    try:
        smtp.mailbox.wait(3, timeout=60)
    finally:
        stop_worker(worker)
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [f"w{n}@example.org" for n in range(3)]
