"""Web service fixtures: a service context over a fresh gradebook, users with tokens, a client."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from nbcred.catalogue import Catalogue, load_catalogue
from nbcred.service import ServiceContext
from nbcred.service.users import add_user, create_token
from nbcred.settings import Settings
from nbcred.web.app import create_app
from tests.paths import ROOT

T = TypeVar("T")
CATALOGUE = ROOT / "assessments"
SAMPLES = ROOT / "notebooks"
BASE_URL = "https://badges.test"
PASSWORD = "correct horse battery"
PEOPLE = {  # key: (email, role)
    "ada": ("ada@example.org", "learner"),
    "bob": ("bob@example.org", "learner"),
    "grace": ("grace@example.org", "instructor"),
    "alan": ("alan@example.org", "admin"),
}


@dataclass
class Service:
    """A running app (in-process client) with one API token per person."""

    ctx: ServiceContext
    client: TestClient
    tokens: dict[str, str]

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def wait(self, submission_id: str, who: str = "ada", timeout: float = 120) -> dict[str, Any]:
        """Poll the API until the submission is graded or failed."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body: dict[str, Any] = self.client.get(f"/api/v1/submissions/{submission_id}",
                                                   headers=self.auth(who)).json()
            if body["status"] in ("graded", "error"):
                return body
            time.sleep(0.1)
        raise AssertionError(f"submission {submission_id} not graded within {timeout} s")


def settings_for(home: Path, database_url: str | None = None, **changes: Any) -> Settings:
    values: dict[str, Any] = {"public_base_url": BASE_URL, **changes}
    return Settings(home=home, catalogue=CATALOGUE, workers=1, database_url=database_url, **values)


def people(ctx: ServiceContext) -> dict[str, str]:
    """The four users, each with an API token; only Ada has a password (argon2 is slow on purpose)."""
    tokens = {}
    for key, (email, role) in PEOPLE.items():
        add_user(ctx, email=email, name=key.title(), role=role, password=PASSWORD if key == "ada" else None)
        tokens[key] = create_token(ctx, email=email).token
    return tokens


@functools.cache
def catalogue() -> Catalogue:
    """The sample catalogue, loaded once per test session."""
    return load_catalogue(CATALOGUE)


def open_context(settings: Settings) -> ServiceContext:
    """A service context sharing the session's loaded catalogue."""
    ctx = ServiceContext.open(settings)
    ctx._catalogue = catalogue()
    return ctx


def quiet(home: Path) -> Iterator[Service]:
    settings = settings_for(home, serve_grading=False)
    ctx = open_context(settings)
    tokens = people(ctx)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        yield Service(ctx, client, tokens)


@pytest.fixture
def quiet_service(tmp_path: Path) -> Iterator[Service]:
    """An app that queues but does not grade (uploads, auth, refusals)."""
    yield from quiet(tmp_path / "home")


@pytest.fixture(scope="module")
def shared_quiet_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One non-grading app for a whole module (tests that change nothing)."""
    yield from quiet(tmp_path_factory.mktemp("quiet") / "home")


def sample(assessment: str, learner: str) -> list[tuple[str, tuple[str, bytes]]]:
    """The multipart ``files`` of a sample submission."""
    folder = SAMPLES / assessment / learner
    return [("files", (p.name, p.read_bytes())) for p in sorted(folder.glob("*.ipynb"))]


def off_loop(function: Callable[..., T], *args: Any) -> T:
    """Run ``function`` in a fresh thread: the browser tests leave an event loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args).result()


def grade_queued(ctx: ServiceContext) -> list[str]:
    """Grade everything queued in this process with a plain kernel, through the queue's own steps.

    Returns each status; an ``error`` status comes with its message (``error: <why>``).
    """
    from nbcred.executors.work import JobGrader
    from nbcred.service.queue import claim, finish

    grader = JobGrader(ctx.settings, "plain")
    statuses = []
    try:
        for claimed in claim(ctx, worker="test", limit=100):
            result = off_loop(grader.grade, claimed.job)
            status = finish(ctx, claimed, result)
            statuses.append(status if status == "graded" else f"{status}: {'; '.join(result.errors)}")
    finally:
        grader.close()
    return statuses


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, dict[str, str]]]:
    """Ada has a graded submission and a credential; Bob, Grace and Alan have nothing."""
    settings = settings_for(tmp_path_factory.mktemp("refusals") / "home", serve_grading=False)
    ctx = open_context(settings)
    tokens = people(ctx)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        service = Service(ctx, client, tokens)
        queued = client.post("/api/v1/submissions", headers=service.auth("ada"),
                             data={"assessment": "pandas-cleaning"}, files=sample("pandas-cleaning", "alice"))
        assert queued.status_code == 202
        assert grade_queued(ctx) == ["graded"]
        credential = client.get("/api/v1/credentials", headers=service.auth("ada")).json()[0]["id"]
        values = {"submission_id": queued.json()["id"], "credential_id": credential,
                  "assessment_id": "pandas-cleaning", "version": "1.0.0", "notebook": "cleaning",
                  "grade_id": "test_fill_missing", "token_id": "1", "purpose": "revocation", "number": "1",
                  "pathway_id": "data-analyst-foundations", "filename": "badge.svg"}
        yield service, values
