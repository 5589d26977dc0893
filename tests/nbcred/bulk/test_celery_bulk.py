"""A bulk run signed on Celery workers: a worker SIGKILLed mid-run loses and duplicates nothing.

Needs Redis at ``NBCRED_TEST_REDIS_URL`` (DBs 11 and 12 of that server); skipped when it is
unreachable, except with ``CI=true``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from nbcred.cli import app
from nbcred.issuance import CredentialIssuer
from nbcred.issuance.verification import verify_issued
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import IssuedCredential
from tests.nbcred.bulk.bulk_helpers import roster_rows, write_csv
from tests.workers import redis_ready, start_worker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
REDIS = os.environ.get("NBCRED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]


def test_celery_signing_survives_a_killed_worker(home: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    broker, backend = f"{REDIS}/11", f"{REDIS}/12"
    redis_ready(broker, backend)
    queue = f"nbcred-bulk-{uuid.uuid4().hex[:8]}"
    for name, value in {"NBCRED_BROKER_URL": broker, "NBCRED_RESULT_BACKEND": backend,
                        "NBCRED_CELERY_QUEUE": queue, "NBCRED_CELERY_VISIBILITY_TIMEOUT": "5"}.items():
        monkeypatch.setenv(name, value)
    total = 120
    roster = write_csv(tmp_path / "celery.csv", ["learner", "name", "email", "achievement"],
                       roster_rows(total))
    store = Store.open(Settings().resolved_database_url())
    CredentialIssuer(Settings(), store).identity  # noqa: B018 - the key exists before workers load it
    workers = [start_worker(dict(os.environ), name=f"b{i}", queue=queue) for i in range(2)]
    killed: list[int] = []

    def killer() -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            with store.session() as session:
                stored = session.scalar(select(func.count()).select_from(IssuedCredential)) or 0
            if stored >= 10:
                workers[0].send_signal(signal.SIGKILL)
                killed.append(workers[0].pid)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=killer)
    try:
        thread.start()
        result = CliRunner().invoke(app, ["credential", "issue-bulk", str(roster), "--executor", "celery",
                                          "--batch-size", "10"])
        thread.join()
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    assert killed, "the worker was not killed during the run"
    assert result.exit_code == 0, result.output
    assert f"issued {total}, skipped 0 (already issued), failed 0" in result.output
    with store.session() as session:
        keys = session.execute(select(IssuedCredential.learner_id)).scalars().all()
    assert len(keys) == total == len(set(keys))
    sample = verify_issued(CredentialIssuer(Settings(), store), sample=10)
    assert all(v.result.verified for v in sample)
