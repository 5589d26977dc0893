"""Shared fixtures: gradebook URLs for SQLite and (when reachable, always in CI) PostgreSQL; one
``nbcred demo`` run per session."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.paths import ROOT

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
POSTGRES_URL = os.environ.get(
    "NBCRED_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("NBCRED_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


#: Session fixtures cheap enough to build once per test process.
CHEAP_SESSION_FIXTURES = frozenset({"postgres_url", "course_dir", "manifest", "chromium"})


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``pytest -n N --dist loadgroup`` (``make test``) files that share an expensive session
    fixture (the ``nbcred demo`` run, nbgrader's reference run, a live service…) run in one
    process, so it is built once; a file's tests always stay together (module fixtures)."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            key = parent[key]
        return key

    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        defs = info.name2fixturedefs if info is not None else {}
        file = item.nodeid.split("::")[0]
        for name, fixturedefs in defs.items():
            if name not in CHEAP_SESSION_FIXTURES and any(
                    d.scope == "session" and d.baseid.startswith("tests") for d in fixturedefs):
                parent[find(file)] = find("fixture:" + name)
    for item in items:
        if item.get_closest_marker("xdist_group") is None:
            item.add_marker(pytest.mark.xdist_group(find(item.nodeid.split("::")[0])))


def unavailable(reason: str) -> None:
    """Skip on a machine without the service; in CI a missing service is a failure."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: services must be running)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Debian Chromium per test process (tests/browsing.py: new_page, assert_accessible)."""
    from tests.browsing import launch

    with launch() as browser:
        yield browser


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The live service of tests/site.py (a learner with a credential, two waiting for grading)."""
    from tests.site import build

    with build(tmp_path_factory.mktemp("site")) as built:
        yield built


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    name = f"nbcred_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        unavailable(f"PostgreSQL not reachable at {POSTGRES_URL}: {exc.orig}")
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def empty_public_schema(url: str) -> None:
    """Drop everything earlier tests created in the PostgreSQL database at ``url``."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gradebook.sqlite'}"
    base: str = request.getfixturevalue("postgres_url")
    empty_public_schema(base)  # one schema-clean database per test
    return base


@dataclass(frozen=True)
class DemoRun:
    """One ``nbcred demo`` run: its NBCRED_HOME, environment and output."""

    home: Path
    env: dict[str, str]
    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """``nbcred demo`` run once per session in a fresh NBCRED_HOME (tests that change it copy it)."""
    root = ROOT
    home = tmp_path_factory.mktemp("demo") / "home"
    env = {**os.environ, "NBCRED_HOME": str(home), "COLUMNS": "200"}
    proc = subprocess.run([str(Path(sys.executable).parent / "nbcred"), "demo"], cwd=root, env=env,
                          capture_output=True, text=True, timeout=900)
    return DemoRun(home, env, proc.returncode, proc.stdout, proc.stderr)
