"""Extensions: an instructor grants one learner extra attempts at an assessment, a later due date,
or both (learners who used every attempt, or missed the due date, are told to ask for one).

One row per learner and assessment holds the total granted; each grant adds attempts and may move
the due date. :func:`allowance` is what :func:`nbcred.service.submissions.submit` enforces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from grader.assessment import Assessment
from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound, Unprocessable
from nbcred.service.users import Account
from nbcred.store.models import Extension, Learner, User

MAX_EXTRA = 100


@dataclass(frozen=True)
class Allowance:
    """What one learner may still do: the attempt limit (None: unlimited) and the due date."""

    attempts: int | None
    extra_attempts: int
    due: datetime | None
    extended: bool  # the due date is the learner's own

    def past_due(self, now: datetime | None = None) -> bool:
        return self.due is not None and (now or datetime.now(UTC)) > _aware(self.due)


@dataclass(frozen=True)
class Granted:
    """An extension as listed."""

    learner: str
    name: str
    assessment: str
    extra_attempts: int
    due_until: datetime | None
    reason: str
    granted_by: str
    granted_at: datetime

    def as_json(self) -> dict[str, object]:
        return {"learner": self.learner, "name": self.name, "assessment": self.assessment,
                "extra_attempts": self.extra_attempts,
                "due_until": _aware(self.due_until).isoformat() if self.due_until else None,
                "reason": self.reason, "granted_by": self.granted_by,
                "granted_at": _aware(self.granted_at).isoformat()}


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def allowance(session: Session, learner: str, assessment: Assessment) -> Allowance:
    """The assessment's limits for ``learner``, with their extension applied."""
    row = session.scalar(select(Extension).where(Extension.learner_id == learner,
                                                 Extension.assessment_id == assessment.id))
    extra = row.extra_attempts if row is not None else 0
    limit = assessment.spec.attempts + extra if assessment.spec.attempts is not None else None
    own = row.due_until if row is not None else None
    due = own if own is not None else assessment.spec.due
    return Allowance(limit, extra, _aware(due) if due else None, own is not None)


def learner_allowance(ctx: ServiceContext, learner: str, assessment_id: str) -> Allowance:
    assessment = ctx.catalogue.assessments.get(assessment_id)
    if assessment is None:
        raise NotFound(f"assessment {assessment_id!r} is not in the catalogue")
    with ctx.store.session() as session:
        return allowance(session, learner, assessment)


def grant(ctx: ServiceContext, staff: Account, *, assessment_id: str, learner: str,
          extra_attempts: int = 0, due_until: datetime | None = None, reason: str = "") -> Granted:
    """Give ``learner`` (learner id or e-mail) ``extra_attempts`` more and/or a due date."""
    if assessment_id not in ctx.catalogue.assessments:
        raise NotFound(f"assessment {assessment_id!r} is not in the catalogue")
    if not 0 <= extra_attempts <= MAX_EXTRA:
        raise Unprocessable(f"extra_attempts must be between 0 and {MAX_EXTRA}")
    if extra_attempts == 0 and due_until is None:
        raise Unprocessable("grant at least one extra attempt or a due date")
    with ctx.store.session() as session:
        learner_id = _learner(session, learner)
        row = session.scalar(select(Extension).where(Extension.learner_id == learner_id,
                                                     Extension.assessment_id == assessment_id))
        if row is None:
            row = Extension(learner_id=learner_id, assessment_id=assessment_id, extra_attempts=0, reason="")
            session.add(row)
        row.extra_attempts = (row.extra_attempts or 0) + extra_attempts
        if due_until is not None:
            row.due_until = _aware(due_until)
        row.reason = reason.strip()[:2000]
        row.granted_by = staff.email
        row.granted_at = datetime.now(UTC)
        session.flush()
        return _granted(session, row)


def _learner(session: Session, who: str) -> str:
    text = who.strip()
    found = session.scalar(select(User.learner_id).where(User.email == text.lower()))
    if found is None and session.get(Learner, text) is not None:
        found = text
    if found is None:
        raise NotFound(f"no learner {who!r} (give a learner id or an account's e-mail)")
    return found


def _granted(session: Session, row: Extension) -> Granted:
    name = session.scalar(select(User.name).where(User.learner_id == row.learner_id)) or row.learner_id
    return Granted(row.learner_id, name, row.assessment_id, row.extra_attempts, row.due_until, row.reason,
                   row.granted_by, row.granted_at)


def list_extensions(ctx: ServiceContext, assessment_id: str, query: str = "") -> list[Granted]:
    """Every extension of ``assessment_id`` (learner id, name or e-mail containing ``query``)."""
    statement = select(Extension).where(Extension.assessment_id == assessment_id).order_by(Extension.id)
    if query.strip():
        like = f"%{query.strip()}%"
        people = select(User.learner_id).where(or_(User.name.ilike(like), User.email.ilike(like)))
        statement = statement.where(or_(Extension.learner_id.ilike(like), Extension.learner_id.in_(people)))
    with ctx.store.session() as session:
        return [_granted(session, row) for row in session.scalars(statement)]
