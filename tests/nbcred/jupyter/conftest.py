"""A live nbcred service on loopback (uvicorn in a thread, grading with its own pool) and learners'
Jupyter folders configured with ``nbcred jupyter setup``'s lines."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbcred.service import ServiceContext
from nbcred.service.jupyter_setup import write_config
from nbcred.service.users import add_user, create_token
from nbcred.settings import Settings
from nbcred.web.app import create_app
from tests.browsing import LiveServer, free_port, start_server
from tests.conftest import POSTGRES_URL, unavailable
from tests.paths import ROOT

ASSESSMENT = "pandas-cleaning"
PASSING = ROOT / "notebooks" / ASSESSMENT / "alice" / "cleaning.ipynb"
LEARNERS = ("ada", "bob", "carol", "dan")
INSTRUCTOR = "grace"
NBGRADER = Path(sys.executable).parent / "nbgrader"


@dataclass
class LiveService:
    """The running service, its context and one API token per learner."""

    url: str
    ctx: ServiceContext
    tokens: dict[str, str]

    def wait_graded(self, learner: str, *, count: int = 1, timeout: float = 120) -> list[dict[str, Any]]:
        """The learner's submissions once ``count`` of them are graded (or failed)."""
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {self.tokens[learner]}"}
        while time.monotonic() < deadline:
            rows: list[dict[str, Any]] = httpx.get(f"{self.url}/api/v1/submissions", headers=headers).json()
            if sum(r["status"] in ("graded", "error") for r in rows) >= count:
                return rows
            time.sleep(0.2)
        raise AssertionError(f"{learner}'s submissions not graded within {timeout} s")


def catalogue_copy(folder: Path) -> Path:
    """One sample assessment, allowed a single attempt (so the limit is reached quickly)."""
    target = folder / ASSESSMENT
    shutil.copytree(ROOT / "assessments" / ASSESSMENT, target)
    spec = target / "assessment.yaml"
    text = spec.read_text()
    assert "attempts: 3" in text
    spec.write_text(text.replace("attempts: 3", "attempts: 1"))
    return folder


def start_service(home: Path, database_url: str | None) -> tuple[LiveService, LiveServer]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    settings = Settings(home=home, catalogue=catalogue_copy(home / "catalogue"), workers=1,
                        database_url=database_url, public_base_url=url)
    ctx = ServiceContext.open(settings)
    tokens = {}
    for name in (*LEARNERS, INSTRUCTOR):
        role = "instructor" if name == INSTRUCTOR else "learner"
        add_user(ctx, email=f"{name}@example.org", name=name.title(), role=role, password=None)
        tokens[name] = create_token(ctx, email=f"{name}@example.org").token
    live = start_server(create_app(settings, ctx=ctx), port=port, lifespan="on")
    return LiveService(url, ctx, tokens), live


@pytest.fixture(scope="session")
def sqlite_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveService]:
    service, live = start_service(tmp_path_factory.mktemp("live-sqlite"), None)
    yield service
    live.stop()


@pytest.fixture(scope="session")
def service_database() -> Iterator[str]:
    """A PostgreSQL database of the live service's own (other tests reset the shared test database
    while this session's service is still running), dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"nbcred_jupyter_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        unavailable(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    try:
        yield f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_service(
    tmp_path_factory: pytest.TempPathFactory, service_database: str
) -> Iterator[LiveService]:
    service, live = start_service(tmp_path_factory.mktemp("live-postgres"), service_database)
    yield service
    live.stop()


@dataclass
class Learner:
    """A learner's Jupyter root folder (with the nbgrader_config.py of docs/jupyterlab.md) and environment."""

    name: str
    root: Path
    env: dict[str, str]

    def nbgrader(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run nbgrader's own command in the learner's folder."""
        return subprocess.run([str(NBGRADER), *args], cwd=self.root, env=self.env, capture_output=True,
                              text=True, timeout=timeout, check=False)


def learner_folder(tmp: Path, service: LiveService, name: str) -> Learner:
    root = tmp / name
    root.mkdir()
    write_config(directory=root)
    jupyter = tmp / f".jupyter-{name}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBCRED_", "JUPYTER"))}
    env.update(NBCRED_URL=service.url, NBCRED_TOKEN=service.tokens[name],
               JUPYTER_CONFIG_DIR=str(jupyter / "config"), JUPYTER_DATA_DIR=str(jupyter / "data"),
               JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"), JUPYTER_PLATFORM_DIRS="1")
    return Learner(name, root, env)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()
