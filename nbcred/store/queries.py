"""Gradebook queries that more than one part of the application asks, written once."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Select, String, any_, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from nbcred.store.models import AssessmentVersion, Grading, Submission


def latest_gradings(assessment_id: str, *, learners: Collection[str] | None = None) -> Select[Any]:
    """Each submission's latest grading (a manual grading included) for every version of
    ``assessment_id``, oldest first; only ``learners``' when given.

    The instructor's gradebook reads every learner's attempts from it; the LMS exports take each
    learner's most recent one.
    """
    latest = select(func.max(Grading.id)).group_by(Grading.submission_id).scalar_subquery()
    query = (select(Grading).join(Submission).join(AssessmentVersion)
             .where(Grading.id.in_(latest), AssessmentVersion.assessment_id == assessment_id))
    if learners is not None:
        query = query.where(Submission.learner_id.in_(learners))
    return query.order_by(Grading.id)


def conflict_insert(bind: Session | Engine | Connection, table: Any) -> postgresql.Insert | sqlite.Insert:
    """An INSERT into ``table`` that can say what to do on a conflict (``ON CONFLICT … DO NOTHING``
    or ``DO UPDATE``), in the dialect of ``bind``: the gradebook is PostgreSQL or SQLite."""
    dialect = (bind.get_bind() if isinstance(bind, Session) else bind).dialect.name
    return postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)


def among(session: Session, column: Any, values: Collection[str]) -> Any:
    """``column IN values``; one array parameter on PostgreSQL, so the statement stays short (and
    cheap for the driver to prepare) however many values there are."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(cast(list(values), postgresql.ARRAY(String)))
    return column.in_(list(values))


def copy_rows(session: Session, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> bool:
    """Write ``rows`` into ``table`` with PostgreSQL's ``COPY`` in ``session``'s transaction (inside
    a savepoint); False, with nothing written, when a row meets a unique key already taken.

    For large batches of new rows: no statement with a placeholder per value to build and parse.
    Values are adapted by psycopg (``dict`` and ``list`` values must be JSON text already).
    """
    import psycopg

    raw = session.connection().connection.driver_connection
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    try:
        with raw.transaction(), raw.cursor() as cursor, cursor.copy(statement) as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
    except psycopg.errors.UniqueViolation:
        return False
    return True
