"""Attempt numbers from the ledger (:class:`~nbcred.store.models.Attempt`), taken inside a transaction.

A content seen before keeps its number (it costs nothing); a new content takes the next number,
unless that passes the limit. Two processes taking the same number at once: the second one's
flush raises ``IntegrityError`` (or, on SQLite, "database is locked") and it must try again in a
new transaction, where it sees the first one's number.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nbcred.store.models import Attempt


class AttemptsUsed(Exception):
    """Every attempt allowed is taken."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"all {limit} attempt(s) are used")
        self.limit = limit


def take_attempt(
    session: Session, *, learner: str, assessment_id: str, content_hash: str, limit: int | None = None,
    record: bool = True,
) -> int:
    """The attempt number of this content: its earlier one, or the next (``AttemptsUsed`` past ``limit``).

    ``record=False`` only looks (a check before work whose result the real taking confirms).
    """
    earlier = session.scalar(select(Attempt.attempt).where(
        Attempt.learner_id == learner, Attempt.assessment_id == assessment_id,
        Attempt.content_hash == content_hash))
    if earlier is not None:
        return int(earlier)
    number = int(session.scalar(select(func.max(Attempt.attempt)).where(
        Attempt.learner_id == learner, Attempt.assessment_id == assessment_id)) or 0) + 1
    if limit is not None and number > limit:
        raise AttemptsUsed(limit)
    if not record:
        return number
    session.add(Attempt(learner_id=learner, assessment_id=assessment_id, attempt=number,
                        content_hash=content_hash))
    session.flush()
    return number


def used_attempts(session: Session, *, learner: str, assessment_id: str) -> int:
    """How many attempts the learner has taken."""
    return int(session.scalar(select(func.count(Attempt.id)).where(
        Attempt.learner_id == learner, Attempt.assessment_id == assessment_id)) or 0)
