"""The gradebook on SQLite and PostgreSQL: migrations, idempotent records, attempts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import inspect

from grader.results import CellScore, CompetencyScore, GradeResult
from nbcred.errors import StoreError
from nbcred.store import Store
from nbcred.store.models import Grading, Submission


def result(content: str = "a" * 64, *, errors: list[str] | None = None, score: float = 2.0) -> GradeResult:
    return GradeResult(
        learner="alice", assessment="squares", assessment_version="1.0", score=score, max_score=4.0,
        passed=score >= 2, cells=[CellScore("p", "t", score, 4.0, "autograded", False)],
        competencies=[CompetencyScore("c", "C", score, 4.0, 0.5, score >= 2)],
        tampered_cells=["p/t"], errors=errors or [], content_hash=content,
    )


def test_migrations_create_every_table(db_url: str) -> None:
    store = Store.open(db_url)
    tables = set(inspect(store.engine).get_table_names())
    assert {"learners", "assessment_versions", "submissions", "gradings", "cell_grades",
            "competency_results", "credentials", "status_lists", "alembic_version"} <= tables
    Store.open(db_url)  # migrating again is a no-op


def test_same_content_is_recorded_once(db_url: str) -> None:
    store = Store.open(db_url)
    first = store.record(result(), fingerprint="f" * 64, title="Squares")
    again = store.record(result(), fingerprint="f" * 64, title="Squares")
    assert first.created and not again.created
    assert again.grading_id == first.grading_id and again.attempt == 1
    assert store.count(Grading) == 1
    stored = store.find_graded(learner="alice", assessment_id="squares", fingerprint="f" * 64,
                               content_hash="a" * 64)
    assert stored is not None and stored[0] == first.grading_id
    found = stored[1]
    assert found.score == 2.0 and found.tampered_cells == ["p/t"]
    assert found.cells[0].cell == "t" and found.competencies[0].passed


def test_new_content_is_a_new_attempt(db_url: str) -> None:
    store = Store.open(db_url)
    store.record(result("a" * 64), fingerprint="f" * 64, title="Squares")
    second = store.record(result("b" * 64, score=3.0), fingerprint="f" * 64, title="Squares")
    assert second.created and second.attempt == 2
    assert [r.score for r in store.results(assessment_id="squares")] == [2.0, 3.0]


def test_errored_grading_is_kept_and_regrading_adds_a_row(db_url: str) -> None:
    store = Store.open(db_url)
    failed = store.record(result(errors=["kernel died"]), fingerprint="f" * 64, title="Squares")
    assert store.find_graded(learner="alice", assessment_id="squares", fingerprint="f" * 64,
                             content_hash="a" * 64) is None
    fixed = store.record(result(), fingerprint="f" * 64, title="Squares")
    assert fixed.created and fixed.grading_id != failed.grading_id and fixed.attempt == failed.attempt
    assert store.count(Grading) == 2 and store.count(Submission) == 1


def test_changed_assessment_grades_again(db_url: str) -> None:
    store = Store.open(db_url)
    store.record(result(), fingerprint="f" * 64, title="Squares")
    changed = store.record(replace(result(), assessment_version="1.1"), fingerprint="e" * 64, title="S")
    assert changed.created


def test_unreachable_database_is_a_clear_error() -> None:
    with pytest.raises(StoreError, match=r"(?s)cannot open the gradebook.*NBCRED_DATABASE_URL"):
        Store.open("postgresql+psycopg://nobody:secret@127.0.0.1:1/none?connect_timeout=2")
