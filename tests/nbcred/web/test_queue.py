"""The database is the queue: nothing queued is lost on restart, and each submission is claimed once
even when several app processes share the database."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from grader.results import GradeResult
from nbcred.service import ServiceContext
from nbcred.service.queue import Claim, claim, finish, release
from nbcred.store.models import Grading, Learner, User, WebSubmission
from nbcred.web.app import create_app
from tests.conftest import empty_public_schema
from tests.nbcred.web.conftest import Service, off_loop, open_context, people, sample, settings_for


def test_queued_submission_survives_a_restart(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = settings_for(home, serve_grading=False)
    ctx = open_context(settings)
    tokens = people(ctx)
    with TestClient(create_app(settings, ctx=ctx)) as client:  # a process that only queues, then stops
        service = Service(ctx, client, tokens)
        queued = client.post("/api/v1/submissions", headers=service.auth("ada"),
                             data={"assessment": "pandas-cleaning"}, files=sample("pandas-cleaning", "alice"))
        assert queued.status_code == 202
    ctx.store.engine.dispose()

    restarted = settings_for(home)  # a new process with grading on, same database and home
    ctx2 = open_context(restarted)
    with TestClient(create_app(restarted, ctx=ctx2)) as client:
        body = Service(ctx2, client, tokens).wait(queued.json()["id"])
    assert body["status"] == "graded" and body["result"]["passed"] is True


def test_an_abandoned_claim_is_taken_over_and_recorded_once(quiet_service: Service) -> None:
    ctx = quiet_service.ctx
    response = quiet_service.client.post(
        "/api/v1/submissions", headers=quiet_service.auth("ada"),
        data={"assessment": "pandas-cleaning"}, files=sample("pandas-cleaning", "bob"))
    assert response.status_code == 202
    dead = claim(ctx, worker="crashed-process", limit=5)
    assert [c.id for c in dead] == [response.json()["id"]]
    assert claim(ctx, worker="other", limit=5) == []  # leased: nobody else takes it
    with ctx.store.session() as session:  # the crashed process never renews its lease
        row = session.get(WebSubmission, dead[0].id)
        assert row is not None and row.status == "running"
        row.lease_until = datetime.now(UTC) - timedelta(seconds=1)
    taken = claim(ctx, worker="other", limit=5)
    assert [c.id for c in taken] == [dead[0].id]
    result = _grade(ctx, taken[0])
    assert finish(ctx, taken[0], result) == "graded"
    finish(ctx, dead[0], result)  # the first process wakes up and finishes too
    with ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Grading)) == 1
        row = session.get(WebSubmission, dead[0].id)
        assert row is not None and row.status == "graded" and row.tries == 2


def _grade(ctx: ServiceContext, claimed: Claim) -> GradeResult:
    from nbcred.executors.work import JobGrader

    grader = JobGrader(ctx.settings, "plain")
    try:
        return off_loop(grader.grade, claimed.job)
    finally:
        grader.close()


def test_release_queues_unfinished_claims_again(quiet_service: Service) -> None:
    ctx = quiet_service.ctx
    quiet_service.client.post("/api/v1/submissions", headers=quiet_service.auth("ada"),
                              data={"assessment": "pandas-cleaning"},
                              files=sample("pandas-cleaning", "carol"))
    assert len(claim(ctx, worker="stopping", limit=5)) == 1
    assert release(ctx, worker="stopping") == 1
    assert len(claim(ctx, worker="next", limit=5)) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_concurrent_processes_claim_each_submission_once(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = f"sqlite:///{tmp_path / 'queue.sqlite'}"
    if backend == "postgresql":
        url = request.getfixturevalue("postgres_url")
        empty_public_schema(url)
    settings = settings_for(tmp_path / "home", url, serve_grading=False)
    seed = open_context(settings)
    ids = _queue_rows(seed, 40)
    processes = [open_context(settings) for _ in range(4)]  # one engine each, like separate processes
    claimed: list[str] = []
    lock = threading.Lock()

    def work(ctx: ServiceContext, name: str) -> None:
        while True:
            got = claim(ctx, worker=name, limit=3)
            if not got:
                return
            with lock:
                claimed.extend(c.id for c in got)

    threads = [threading.Thread(target=work, args=(ctx, f"p{n}")) for n, ctx in enumerate(processes)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert sorted(claimed) == sorted(ids)  # every one claimed, none twice


def _queue_rows(ctx: ServiceContext, count: int) -> list[str]:
    with ctx.store.session() as session:
        session.add(Learner(id="ada@example.org", email="ada@example.org"))
        session.flush()
        user = User(email="ada@example.org", name="Ada", role="learner", learner_id="ada@example.org",
                    active=True)
        session.add(user)
        session.flush()
        ids = []
        for n in range(count):
            row = WebSubmission(id=uuid.uuid4().hex, user_id=user.id, learner_id=user.learner_id,
                                assessment_id="pandas-cleaning", assessment_version="1.0.0",
                                fingerprint="f" * 64, content_hash=f"{n:064d}", upload_path="/nowhere",
                                status="queued", attempt=1, tries=0)
            session.add(row)
            ids.append(row.id)
    return ids
