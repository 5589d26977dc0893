"""The manual-grading queue: submissions whose latest grading still needs a person, oldest first.

Counted per assessment for the instructor's catalogue, listed for the queue page, and walked with
previous/next from a submission's grading page. A submission uploaded twice with the same content
shares one grading: it is listed once (its first upload).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from nbcred.service.context import ServiceContext
from nbcred.store.models import Grading, User, WebSubmission


@dataclass(frozen=True)
class Waiting:
    """One submission waiting for manual grading."""

    submission: str  # the web submission id
    assessment: str
    learner: str
    name: str  # the learner's name (their id when they have no account)
    attempt: int
    submitted_at: datetime


@dataclass(frozen=True)
class Neighbours:
    """Where a submission sits in its assessment's queue."""

    previous: str | None
    next: str | None
    position: int | None  # 1-based; None when this submission is not waiting
    total: int


def waiting(ctx: ServiceContext, assessment: str | None = None) -> list[Waiting]:
    """Submissions (of ``assessment``, or all) whose latest grading needs manual grading."""
    query = (select(WebSubmission, User.name).join(Grading, Grading.id == WebSubmission.grading_id)
             .outerjoin(User, User.id == WebSubmission.user_id)
             .where(Grading.needs_manual.is_(True), WebSubmission.status == "graded")
             .order_by(WebSubmission.submitted_at, WebSubmission.id))
    if assessment:
        query = query.where(WebSubmission.assessment_id == assessment)
    seen: set[int | None] = set()
    out = []
    with ctx.store.session() as session:
        for row, name in session.execute(query):
            if row.grading_id in seen:
                continue
            seen.add(row.grading_id)
            out.append(Waiting(row.id, row.assessment_id, row.learner_id, name or row.learner_id,
                               row.attempt, row.submitted_at))
    return out


def counts(ctx: ServiceContext) -> dict[str, int]:
    """How many submissions of each assessment need manual grading."""
    found: dict[str, int] = {}
    for item in waiting(ctx):
        found[item.assessment] = found.get(item.assessment, 0) + 1
    return found


def neighbours(ctx: ServiceContext, submission_id: str, assessment: str) -> Neighbours:
    """The submissions waiting before and after ``submission_id`` in its assessment's queue.

    A submission that is not waiting (graded already) sits where its upload time puts it, so "next"
    after saving a grade is the following submission still waiting.
    """
    queue = waiting(ctx, assessment)
    ids = [w.submission for w in queue]
    if submission_id in ids:
        index = ids.index(submission_id)
        return Neighbours(ids[index - 1] if index else None,
                          ids[index + 1] if index + 1 < len(ids) else None, index + 1, len(ids))
    with ctx.store.session() as session:
        row = session.get(WebSubmission, submission_id)
        moment = row.submitted_at if row is not None else None
    if moment is None:
        return Neighbours(None, ids[0] if ids else None, None, len(ids))
    key = (_naive(moment), submission_id)
    before = [w.submission for w in queue if (_naive(w.submitted_at), w.submission) < key]
    after = [w.submission for w in queue if (_naive(w.submitted_at), w.submission) > key]
    return Neighbours(before[-1] if before else None, after[0] if after else (ids[0] if ids else None),
                      None, len(ids))


def _naive(moment: datetime) -> datetime:
    """Comparable across SQLite (naive) and PostgreSQL (aware) values: UTC without a zone."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
