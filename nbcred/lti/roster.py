"""Names and Role Provisioning: a context's members stored as a cohort.

Members already linked by (issuer, user id) keep their learner; others are matched by e-mail to
a learner, else get a new learner id, so a later launch (or sign-up with the address) finds them.
Members whose status is not Active are left out of the cohort.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nbcred.lti import claims as c
from nbcred.store.models import Cohort, CohortMember, ExternalIdentity, Learner, User


@dataclass(frozen=True)
class RosterMember:
    """One member as the platform listed them."""

    user_id: str
    name: str
    email: str
    instructor: bool
    active: bool


def parse(members: list[dict[str, Any]]) -> list[RosterMember]:
    """The NRPS ``members`` entries (those without a user id are skipped)."""
    found = []
    for m in members:
        user_id = str(m.get("user_id") or "").strip()
        if not user_id:
            continue
        parts = " ".join(str(m.get(k) or "") for k in ("given_name", "family_name"))
        name = str(m.get("name") or parts).strip()
        found.append(RosterMember(user_id, name, str(m.get("email") or "").strip().lower(),
                                  c.is_instructor(m.get("roles")),
                                  str(m.get("status") or "Active") == "Active"))
    return found


def cohort_id(platform_id: int, context_id: str) -> str:
    """The cohort a context's roster is stored as: ``lti-<platform>-<context>``."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", context_id).strip("-")[:80] or "context"
    return f"lti-{platform_id}-{slug}"


def _learner(session: Session, issuer: str, member: RosterMember) -> str:
    linked = session.execute(select(User.learner_id)
                             .join(ExternalIdentity, ExternalIdentity.user_id == User.id)
                             .where(ExternalIdentity.issuer == issuer,
                                    ExternalIdentity.subject == member.user_id)).scalar()
    if linked:
        return str(linked)
    if member.email:
        by_mail = session.scalars(select(Learner.id).where(Learner.email == member.email)).first()
        if by_mail:
            return by_mail
    learner = "lti-" + hashlib.sha256(f"{issuer}\n{member.user_id}".encode()).hexdigest()[:16]
    if session.get(Learner, learner) is None:
        session.add(Learner(id=learner, email=member.email or None, name=member.name or None))
        session.flush()
    return learner


def store(session: Session, *, issuer: str, cohort: str, title: str, members: list[RosterMember]) -> int:
    """Replace ``cohort``'s roster with the active learners of ``members``; how many it holds."""
    if session.get(Cohort, cohort) is None:
        session.add(Cohort(id=cohort, title=title or cohort, created_at=datetime.now(UTC)))
        session.flush()
    session.execute(delete(CohortMember).where(CohortMember.cohort_id == cohort))
    kept: set[str] = set()
    for member in members:
        if not member.active or member.instructor:
            continue
        learner = _learner(session, issuer, member)
        if learner in kept:
            continue
        kept.add(learner)
        session.add(CohortMember(cohort_id=cohort, learner_id=learner, name=member.name or member.user_id,
                                 email=member.email))
    return len(kept)
