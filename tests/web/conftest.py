"""Web service fixtures: a service context over a fresh gradebook, users with tokens, a client."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nbcred.service import ServiceContext
from nbcred.service.users import add_user, create_token
from nbcred.settings import Settings
from nbcred.web.app import create_app

ROOT = Path(__file__).parents[2]
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
    return Settings(home=home, catalogue=CATALOGUE, workers=1, database_url=database_url,
                    public_base_url=BASE_URL, **changes)


def people(ctx: ServiceContext) -> dict[str, str]:
    tokens = {}
    for key, (email, role) in PEOPLE.items():
        add_user(ctx, email=email, name=key.title(), role=role, password=PASSWORD)
        tokens[key] = create_token(ctx, email=email).token
    return tokens


@pytest.fixture
def quiet_service(tmp_path: Path) -> Iterator[Service]:
    """An app that queues but does not grade (uploads, auth, refusals)."""
    settings = settings_for(tmp_path / "home", serve_grading=False)
    ctx = ServiceContext.open(settings)
    tokens = people(ctx)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        yield Service(ctx, client, tokens)


def sample(assessment: str, learner: str) -> list[tuple[str, tuple[str, bytes]]]:
    """The multipart ``files`` of a sample submission."""
    folder = SAMPLES / assessment / learner
    return [("files", (p.name, p.read_bytes())) for p in sorted(folder.glob("*.ipynb"))]
