"""A poisoned credential cannot stall the service: verification runs in worker processes with a
deadline and bounded canonicalisation, and the service keeps answering meanwhile (V4)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from nbcred.service.verify_worker import DeadlineExceeded, workers
from nbcred.web.app import create_app
from tests.browsing import serve
from tests.credentials.poison import clique_credential
from tests.nbcred.web.conftest import open_context, settings_for


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    settings = settings_for(tmp_path_factory.mktemp("bounds") / "home", serve_grading=False)
    with serve(create_app(settings, ctx=open_context(settings))) as base:
        yield base


def _health_while(busy: threading.Event, base: str) -> list[float]:
    """GET /healthz every 0.2 s until ``busy`` is cleared; each answer's time."""
    times = []
    with httpx.Client(base_url=base, timeout=30) as client:
        while busy.is_set():
            started = time.monotonic()
            assert client.get("/healthz").status_code == 200
            times.append(time.monotonic() - started)
            time.sleep(0.2)
    return times


def _under_load(base: str, request: object) -> tuple[httpx.Response, float, list[float]]:
    busy = threading.Event()
    busy.set()
    with ThreadPoolExecutor(2) as pool:
        health = pool.submit(_health_while, busy, base)
        started = time.monotonic()
        try:
            response = request()  # type: ignore[operator]
        finally:
            elapsed = time.monotonic() - started
            busy.clear()
        return response, elapsed, health.result()


def test_api_refuses_a_blank_node_clique_in_seconds_and_health_answers(live: str) -> None:
    with httpx.Client(base_url=live, timeout=60) as client:
        response, elapsed, health = _under_load(
            live, lambda: client.post("/api/v1/credentials/verify", json=clique_credential(8)))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is False and body["checks"]["proof"].startswith("failed:")
    assert elapsed < 15, elapsed
    assert health and max(health) < 2, health


def test_verify_page_refuses_a_blank_node_clique_and_health_answers(live: str) -> None:
    import json

    with httpx.Client(base_url=live, timeout=60) as client:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/verify").text)
        assert token
        form = {"credential_json": json.dumps(clique_credential(8)), "csrf_token": token.group(1)}
        response, elapsed, health = _under_load(live, lambda: client.post("/verify", data=form))
    assert response.status_code == 200 and "Not valid" in response.text
    assert elapsed < 15, elapsed
    assert health and max(health) < 2, health


def test_a_task_past_its_deadline_is_stopped_and_the_pool_recovers() -> None:
    pool = workers(2)
    pool.wait_ready()  # a fresh pool first starts its processes
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        pool.run(time.sleep, 60, deadline=2)
    assert time.monotonic() - started < 5
    assert pool.run(sum, [1, 2], deadline=60) == 3


def test_settings_name_the_deadline(tmp_path: Path) -> None:
    assert settings_for(tmp_path).verify_deadline_seconds == 10
