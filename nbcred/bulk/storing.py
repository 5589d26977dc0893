"""Writing a signed batch: every row at once, only those still new, in the caller's transaction.

The unique keys of the ``credentials`` table (one per learner × achievement × version × issue
key, one per status list slot) decide what is new: rows that meet an existing one are left out
("on conflict do nothing") and the ids of the rows written come back. On PostgreSQL the batch is
copied (``COPY``) straight into the table inside a savepoint; when a row meets an existing one
(another run stored it meanwhile) the savepoint is rolled back and the batch is copied into a
temporary table and inserted from there with "on conflict do nothing". SQLite gets one multi-row
insert. Documents are written compressed with lz4 where the server has it (pglz otherwise):
readers decompress either.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import DateTime, String, cast, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from nbcred.store.models import IssuedCredential, Learner
from nbcred.store.queries import among, conflict_insert

COLUMNS = ("id", "learner_id", "achievement_id", "achievement_version", "kind", "grading_id", "status",
           "status_reason", "status_list", "status_index", "document", "issued_at", "valid_until",
           "issue_key", "superseded_by")
"""The columns a bulk row fills, in this order; ``document`` is the credential's JSON text."""

_STAGING = "nbcred_bulk_staging"
_LZ4 = ("SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings "
        "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)")


def insert_new(session: Session, rows: Sequence[tuple[Any, ...]]) -> set[str]:
    """Insert the rows (values in :data:`COLUMNS` order) that are still new; their ids."""
    if not rows:
        return set()
    if session.get_bind().dialect.name == "postgresql":
        return _copy_insert(session, rows)
    return _insert(session, rows)


def _copy_insert(session: Session, rows: Sequence[tuple[Any, ...]]) -> set[str]:
    import psycopg

    columns = ", ".join(COLUMNS)
    raw = session.connection().connection.driver_connection
    with raw.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(_LZ4)
        try:
            with raw.transaction(), cursor.copy(f"COPY credentials ({columns}) FROM STDIN") as copy:  # type: ignore[union-attr]
                for row in rows:
                    copy.write_row(row)
            return {str(row[0]) for row in rows}
        except psycopg.errors.UniqueViolation:
            pass  # some rows exist already: only the others go in
        cursor.execute(f"CREATE TEMPORARY TABLE {_STAGING} (LIKE credentials INCLUDING DEFAULTS) "
                       "ON COMMIT DROP")
        with cursor.copy(f"COPY {_STAGING} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(f"INSERT INTO credentials ({columns}) SELECT {columns} FROM {_STAGING} "
                       "ON CONFLICT DO NOTHING RETURNING id")
        inserted = {str(found[0]) for found in cursor.fetchall()}
        cursor.execute(f"DROP TABLE {_STAGING}")
    return inserted


Key = tuple[str, str, str, str]
"""A credential's unique key: learner, achievement id, achievement version, issue key."""


def issued(session: Session, keys: set[Key]) -> dict[Key, str]:
    """The credentials already stored under ``keys``: their ids by key."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for learner, achievement, version, issue_key in keys:
        groups.setdefault((achievement, version, issue_key), []).append(learner)
    found: dict[Key, str] = {}
    for (achievement, version, issue_key), learners in groups.items():
        rows = session.execute(
            select(IssuedCredential.learner_id, IssuedCredential.id).where(
                IssuedCredential.achievement_id == achievement,
                IssuedCredential.achievement_version == version,
                IssuedCredential.issue_key == issue_key,
                among(session, IssuedCredential.learner_id, learners)))
        found.update({(learner, achievement, version, issue_key): str(credential)
                      for learner, credential in rows})
    return found


def holding_others(session: Session, learners: set[str], new_ids: set[str]) -> set[str]:
    """The learners among ``learners`` who hold a credential not in ``new_ids`` and not superseded."""
    if not learners:
        return set()
    rows = session.scalars(
        select(IssuedCredential.learner_id).distinct().where(
            among(session, IssuedCredential.learner_id, sorted(learners)),
            IssuedCredential.superseded_by.is_(None),
            ~among(session, IssuedCredential.id, sorted(new_ids))))
    return set(rows)


def upsert_learners(session: Session, learners: list[dict[str, Any]]) -> None:
    """Add the roster's learners; a learner already known gets the roster's e-mail and name."""
    if not learners:
        return
    table: Any = Learner.__table__
    if session.get_bind().dialect.name == "postgresql":
        source = select(func.unnest(_array([row["id"] for row in learners])),
                        func.unnest(_array([row["email"] for row in learners])),
                        func.unnest(_array([row["name"] for row in learners])),
                        func.unnest(cast([row["created_at"] for row in learners],
                                         postgresql.ARRAY(DateTime(timezone=True)))))
        statement: Any = conflict_insert(session, table).from_select(
            ["id", "email", "name", "created_at"], source)
    else:
        statement = conflict_insert(session, table)
    statement = statement.on_conflict_do_update(
        index_elements=["id"], set_={"email": statement.excluded.email, "name": statement.excluded.name})
    if session.get_bind().dialect.name == "postgresql":
        session.execute(statement)
    else:
        session.execute(statement, learners)


def _array(values: list[str]) -> Any:
    return cast(values, postgresql.ARRAY(String))


def _insert(session: Session, rows: Sequence[tuple[Any, ...]]) -> set[str]:
    document = COLUMNS.index("document")
    values = [{**dict(zip(COLUMNS, row, strict=True)), "document": json.loads(row[document])} for row in rows]
    table: Any = IssuedCredential.__table__
    statement = conflict_insert(session, table)
    return set(session.scalars(statement.on_conflict_do_nothing().returning(table.c.id), values))
