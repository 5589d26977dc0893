"""Blocking work never runs on the event loop (V13): slow sign-ins, submissions, verifications and
credential pages leave ``/healthz`` fast, and a locked database is a clear 503, not a frozen process.

The slow parts are made slow on purpose (a blocking ``time.sleep`` inside the service call a route
makes): on the event loop, four such requests would hold ``/healthz`` for seconds.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from nbcred.service import submissions, users, verify, wallet
from nbcred.web.app import BUSY, create_app
from tests.browsing import serve
from tests.nbcred.web.conftest import PASSWORD, SAMPLES, open_context, people, settings_for

NAP = 3.0
NOTEBOOK = (SAMPLES / "pandas-cleaning" / "alice" / "cleaning.ipynb").read_bytes()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Any]]:
    settings = settings_for(tmp_path_factory.mktemp("loop") / "home", serve_grading=False)
    ctx = open_context(settings)
    tokens = people(ctx)
    with serve(create_app(settings, ctx=ctx)) as base:
        yield base, tokens, ctx


def slowed(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    real: Callable[..., Any] = getattr(module, name)

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(NAP)  # blocking, as argon2, RDF canonicalisation or a locked database are
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, slow)


def healthz_while(base: str, requests: list[Callable[[httpx.Client], object]],
                  probe_path: str = "/healthz") -> list[float]:
    """``probe_path`` round trips (seconds) while ``requests`` run, each in its own client thread."""
    threads = []
    for make in requests:
        def run(make: Callable[[httpx.Client], object] = make) -> None:
            with httpx.Client(base_url=base, timeout=60) as client:
                make(client)
        threads.append(threading.Thread(target=run))
    for thread in threads:
        thread.start()
    time.sleep(0.3)  # the slow requests are inside their service calls now
    timings = []
    with httpx.Client(base_url=base, timeout=30) as probe:
        for _ in range(3):
            start = time.monotonic()
            assert probe.get(probe_path).status_code == 200
            timings.append(time.monotonic() - start)
    for thread in threads:
        thread.join()
    return timings


def test_four_anonymous_clients_on_heavy_routes_leave_healthz_fast(
        live: tuple[str, dict[str, str], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    base, tokens, _ = live
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['ada']}"}) as ada:
        assert ada.post("/api/v1/submissions", data={"assessment": "pandas-cleaning"},
                        files=[("files", ("cleaning.ipynb", NOTEBOOK))]).status_code == 202
    for module, name in ((users, "sign_in"), (verify, "verify_document"), (wallet, "public_credential"),
                         (submissions, "submit")):
        slowed(monkeypatch, module, name)
    document = json.dumps({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["x"]})
    timings = healthz_while(base, [
        lambda c: c.post("/signin", data={"email": "ada@example.org", "password": "wrong"}),
        lambda c: c.post("/api/v1/credentials/verify", content=document,
                         headers={"Content-Type": "application/json"}),
        lambda c: c.get("/credentials/urn:uuid:00000000-0000-0000-0000-000000000000"),
        lambda c: c.post("/api/v1/submissions", data={"assessment": "pandas-cleaning"},
                         files=[("files", ("cleaning.ipynb", NOTEBOOK))],
                         headers={"Authorization": f"Bearer {tokens['bob']}"}),
    ])
    assert max(timings) < NAP / 2, timings  # never waited for a slow request


def test_a_locked_database_is_a_clear_503_and_the_service_keeps_answering(
        live: tuple[str, dict[str, str], Any]) -> None:
    base, tokens, ctx = live
    engine = ctx.store.engine

    def short_wait(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA busy_timeout=1500")

    event.listen(engine, "connect", short_wait)
    engine.dispose()
    database = engine.url.database
    holder = sqlite3.connect(database, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        replies: list[httpx.Response] = []
        timings = healthz_while(base, [lambda c: replies.append(c.post(
            "/api/v1/submissions", data={"assessment": "pandas-cleaning"},
            files=[("files", ("cleaning.ipynb", NOTEBOOK + b" "))],
            headers={"Authorization": f"Bearer {tokens['grace']}"}))], probe_path="/static/style.css")
        assert max(timings) < 1.0, timings  # the process answers (/healthz itself waits for the lock)
        assert replies[0].status_code == 503, replies[0].text
        assert replies[0].json()["detail"] == BUSY and replies[0].headers["retry-after"] == "30"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        event.remove(engine, "connect", short_wait)
        engine.dispose()
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {tokens['grace']}"}) as grace:
        retried = grace.post("/api/v1/submissions", data={"assessment": "pandas-cleaning"},
                             files=[("files", ("cleaning.ipynb", NOTEBOOK + b" "))])
        assert retried.status_code == 202  # nothing was half-stored by the refused attempt
    assert PASSWORD  # Ada's password exists: the slow sign-in above was a real wrong-password check


#: Routes that may be coroutines: they only wait (long poll), render a static page, or hand their
#: work to the threadpool themselves (``run_in_threadpool``).
ASYNC_ALLOWED = {"get_submission", "api_docs", "oauth2_redirect", "credential", "check_recipient",
                 "verify_submit", "token", "exchange", "lti_login"}


def test_routes_are_plain_functions_run_in_the_threadpool() -> None:
    """A coroutine route runs on the event loop: any database call or hash in it stalls everyone."""
    import asyncio

    from fastapi.routing import APIRoute

    from tests.nbcred.web.test_refusals import _walk

    app = create_app(settings_for(Path("/nonexistent"), "sqlite://", serve_grading=False))
    coroutines = {route.endpoint.__name__ for _, route in _walk(app.routes, "")
                  if isinstance(route, APIRoute) and asyncio.iscoroutinefunction(route.endpoint)}
    assert coroutines <= ASYNC_ALLOWED, coroutines - ASYNC_ALLOWED
