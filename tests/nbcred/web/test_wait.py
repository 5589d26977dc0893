"""``GET /api/v1/submissions/{id}?wait=``: the answer comes when the dispatcher changes the status,
not at the next poll, and the route's contract and refusals are those of the plain GET."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from grader.results import GradeResult
from nbcred.executors.work import error_result
from nbcred.pipeline import GradeJob
from nbcred.service import watch
from nbcred.service.notify import Listener
from nbcred.service.queue import Dispatcher
from nbcred.web.app import create_app
from tests.conftest import empty_public_schema
from tests.nbcred.web.conftest import Service, open_context, people, sample, settings_for

Callback = Callable[[GradeJob, GradeResult], None]


class HeldPool:
    """A pool that keeps its jobs until the test finishes them."""

    def __init__(self) -> None:
        self.jobs: list[tuple[GradeJob, Callback]] = []

    def start(self) -> None: ...
    def free(self) -> int: return 1 - len(self.jobs)
    def submit(self, job: GradeJob, callback: Callback) -> None: self.jobs.append((job, callback))
    def close(self) -> None: ...


def later(seconds: float, action: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()))
    thread.start()
    return thread


def timed_get(service: Service, url: str, who: str = "ada") -> tuple[float, dict[str, object]]:
    started = time.monotonic()
    response = service.client.get(url, headers=service.auth(who))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return time.monotonic() - started, body


def finish_when_claimed(pool: HeldPool, service: Service) -> threading.Thread:
    """Once the dispatcher has handed the job to the pool, wait 0.3 s and give it a result."""
    def run() -> None:
        deadline = time.monotonic() + 20
        while not pool.jobs and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)
        job, callback = pool.jobs[0]
        callback(job, error_result(job, "held", service.ctx.catalogue.assessments["pandas-cleaning"]))
    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_wait_answers_when_the_dispatcher_records_the_result(
    quiet_service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch, "RECHECK_SECONDS", 60.0)  # only the dispatcher's signal can wake it
    response = quiet_service.client.post("/api/v1/submissions", headers=quiet_service.auth("ada"),
                                         data={"assessment": "pandas-cleaning"},
                                         files=sample("pandas-cleaning", "alice"))
    sid = response.json()["id"]
    url = f"/api/v1/submissions/{sid}?wait=20"
    pool = HeldPool()
    dispatcher = Dispatcher(quiet_service.ctx, pool, poll_seconds=60,
                            on_change=quiet_service.client.app.state.watch.changed)  # type: ignore[attr-defined]
    try:
        starting = later(0.3, dispatcher.start)
        finishing = finish_when_claimed(pool, quiet_service)
        seconds, body = timed_get(quiet_service, url)
        starting.join()
        finishing.join()
        assert body["status"] == "error" and body["error"] == "held" and 0.5 < seconds < 10
        assert timed_get(quiet_service, url)[0] < 2  # final: answered at once
    finally:
        dispatcher.close()


def test_wait_gives_up_after_its_seconds_and_keeps_the_refusals(quiet_service: Service) -> None:
    response = quiet_service.client.post("/api/v1/submissions", headers=quiet_service.auth("ada"),
                                         data={"assessment": "pandas-cleaning"},
                                         files=sample("pandas-cleaning", "bob"))
    sid = response.json()["id"]
    seconds, body = timed_get(quiet_service, f"/api/v1/submissions/{sid}?wait=0.4")
    assert body["status"] == "queued" and 0.35 < seconds < 5
    assert body.keys() == quiet_service.client.get(
        f"/api/v1/submissions/{sid}", headers=quiet_service.auth("ada")).json().keys()
    client, url = quiet_service.client, f"/api/v1/submissions/{sid}"
    assert client.get(f"{url}?wait=5", headers=quiet_service.auth("bob")).status_code == 404
    assert client.get(f"{url}?wait=5").status_code == 401
    assert client.get(f"{url}?wait=31", headers=quiet_service.auth("ada")).status_code == 422
    assert client.get(f"{url}?wait=-1", headers=quiet_service.auth("ada")).status_code == 422


def test_other_processes_are_woken_through_postgresql(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A web-only process takes the upload; a grading process (its own engine, polling only every
    60 s) claims it at once, and the web process's waiting request sees the result at once."""
    monkeypatch.setattr(watch, "RECHECK_SECONDS", 60.0)
    empty_public_schema(postgres_url)
    web = settings_for(tmp_path / "home", postgres_url, serve_grading=False)
    ctx = open_context(web)
    tokens = people(ctx)
    grading = open_context(settings_for(tmp_path / "home", postgres_url))
    pool = HeldPool()
    dispatcher = Dispatcher(grading, pool, poll_seconds=60)
    listener = Listener(grading.store.engine, queued=dispatcher.wake, status=lambda _: None)
    with TestClient(create_app(web, ctx=ctx)) as client:
        service = Service(ctx, client, tokens)
        try:
            dispatcher.start()
            assert listener.start()
            for ready in (listener.listening, client.app.state.listener.listening):  # type: ignore[attr-defined]
                assert ready.wait(30)
            sid = client.post("/api/v1/submissions", headers=service.auth("ada"),
                              data={"assessment": "pandas-cleaning"},
                              files=sample("pandas-cleaning", "alice")).json()["id"]
            finishing = finish_when_claimed(pool, service)  # claimed only if NOTIFY woke it
            seconds, body = timed_get(service, f"/api/v1/submissions/{sid}?wait=20")
            finishing.join()
            assert body["status"] == "error" and seconds < 10  # answered only if NOTIFY woke it
        finally:
            listener.close()
            dispatcher.close()
            grading.store.engine.dispose()
