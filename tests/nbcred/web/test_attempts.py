"""Attempt limits hold across app processes, and the same content again is answered, not re-graded.

Two service contexts (each its own engine and connections, as two app processes have) submit at
once on SQLite and PostgreSQL: never more accepted submissions than allowed, never one attempt
number twice. Identical resubmissions return the earlier submission, queue nothing, cost nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nbcred.service import ServiceContext
from nbcred.service.errors import Conflict
from nbcred.service.submissions import SubmissionInfo, submit
from nbcred.service.uploads import UploadedFile
from nbcred.service.users import Account, add_user
from nbcred.store.models import Attempt, Grading, WebSubmission
from tests.nbcred.web.conftest import SAMPLES, Service, grade_queued, open_context, settings_for

NOTEBOOK = json.loads((SAMPLES / "pandas-cleaning" / "alice" / "cleaning.ipynb").read_bytes())
LIMIT = 3  # pandas-cleaning allows three attempts
Processes = tuple[ServiceContext, ServiceContext, Account]


def content(variant: int) -> list[UploadedFile]:
    document = {**NOTEBOOK, "metadata": {**NOTEBOOK["metadata"], "variant": variant}}
    return [UploadedFile("cleaning.ipynb", json.dumps(document).encode())]


@pytest.fixture
def processes(db_url: str, tmp_path: Path) -> Iterator[Processes]:
    settings = settings_for(tmp_path / "home", db_url, serve_grading=False)
    first, second = open_context(settings), open_context(settings)
    ada = add_user(first, email="ada@example.org", name="Ada", role="learner")
    yield first, second, ada
    first.store.engine.dispose()
    second.store.engine.dispose()


def race(contexts: tuple[ServiceContext, ...], ada: Account, variants: list[int]) -> list[object]:
    """Submit every variant at once, alternating between the contexts."""
    start = threading.Barrier(len(variants))

    def one(n: int) -> object:
        start.wait()
        try:
            return submit(contexts[n % len(contexts)], ada, assessment_id="pandas-cleaning",
                          files=content(variants[n]))
        except Conflict:
            return "refused"

    with ThreadPoolExecutor(len(variants)) as pool:
        return list(pool.map(one, range(len(variants))))


def test_racing_processes_never_exceed_the_limit(processes: Processes) -> None:
    first, second, ada = processes
    results = race((first, second), ada, list(range(8)))  # eight different contents at once
    accepted = [r for r in results if isinstance(r, SubmissionInfo)]
    assert len(accepted) == LIMIT and results.count("refused") == 8 - LIMIT
    assert sorted(r.attempt for r in accepted) == [1, 2, 3]
    with first.store.session() as session:
        rows = session.execute(select(WebSubmission.attempt)).scalars().all()
        assert sorted(rows) == [1, 2, 3]
        assert session.scalar(select(func.count()).select_from(Attempt)) == LIMIT


def test_racing_identical_submissions_make_one(processes: Processes) -> None:
    first, second, ada = processes
    results = race((first, second), ada, [7] * 6)  # six copies of one notebook at once
    assert all(isinstance(r, SubmissionInfo) for r in results)
    assert len({r.id for r in results if isinstance(r, SubmissionInfo)}) == 1
    assert sum(r.duplicate for r in results if isinstance(r, SubmissionInfo)) == 5
    with first.store.session() as session:
        assert session.scalar(select(func.count()).select_from(WebSubmission)) == 1


def test_the_same_content_is_answered_from_the_earlier_result(quiet_service: Service) -> None:
    client, ada = quiet_service.client, quiet_service.auth("ada")
    files = [("files", ("cleaning.ipynb", json.dumps(NOTEBOOK).encode()))]
    answers = [client.post("/api/v1/submissions", headers=ada, data={"assessment": "pandas-cleaning"},
                           files=files).json() for _ in range(6)]
    assert len({a["id"] for a in answers}) == 1
    assert [a["duplicate"] for a in answers] == [False] + [True] * 5
    assert {a["attempt"] for a in answers} == {1}
    assert grade_queued(quiet_service.ctx) == ["graded"]  # one job, not six
    again = client.post("/api/v1/submissions", headers=ada, data={"assessment": "pandas-cleaning"},
                        files=files)
    assert again.status_code == 202
    assert again.json() == {"id": answers[0]["id"], "status": "graded", "attempt": 1, "duplicate": True}
    assert grade_queued(quiet_service.ctx) == []  # nothing queued, nothing re-graded
    with quiet_service.ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Grading)) == 1
    changed = [("files", ("cleaning.ipynb", json.dumps({**NOTEBOOK, "nbformat_minor": 4}).encode()))]
    second = client.post("/api/v1/submissions", headers=ada, data={"assessment": "pandas-cleaning"},
                         files=changed).json()
    assert second["attempt"] == 2 and not second["duplicate"]  # the copies cost no attempt


def test_the_ledger_numbers_existing_submissions(tmp_path: Path) -> None:
    from importlib import resources

    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / 'old.sqlite'}")
    config = Config()
    config.set_main_option("script_location", str(resources.files("nbcred.store") / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0011")
        connection.execute(text("INSERT INTO learners (id, created_at) VALUES ('ada', '2030-01-01')"))
        connection.execute(text("INSERT INTO users (id, email, name, role, learner_id, active, created_at) "
                                "VALUES (1, 'ada@x.org', 'Ada', 'learner', 'ada', 1, '2030-01-01')"))
        for n, (digest, day) in enumerate([("b", 2), ("a", 1), ("b", 3), ("c", 4)]):  # as the race left it
            connection.execute(text(
                "INSERT INTO web_submissions (id, user_id, learner_id, assessment_id, assessment_version, "
                "fingerprint, content_hash, upload_path, status, attempt, submitted_at, tries) VALUES "
                f"('s{n}', 1, 'ada', 'quiz', '1', 'f', '{digest}', '/x', 'graded', 1, '2030-01-0{day}', 0)"))
        command.upgrade(config, "head")
        rows = connection.execute(text("SELECT content_hash, attempt FROM attempts ORDER BY attempt")).all()
    assert [tuple(r) for r in rows] == [("a", 1), ("b", 2), ("c", 3)]
