"""Regrading a past submission against the catalogue's current version: an explicit instructor
action, previewed first.

A submission keeps the version it was graded with (:mod:`nbcred.service.versions`); nothing
regrades it behind the instructor's back. :func:`preview` says what differs between that version
and the live one (cells, points, competencies, pass rule, the files); :func:`regrade` queues the
same upload again against the live version, as the same attempt, and leaves the old grading as it
was.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import select

from grader.assessment import Assessment
from nbcred.service.context import ServiceContext
from nbcred.service.errors import Conflict, NotFound
from nbcred.service.notify import QUEUED, announce
from nbcred.service.submissions import SubmissionInfo, _info
from nbcred.service.users import Account
from nbcred.service.versions import assessment_for, keep
from nbcred.store.models import WebSubmission


@dataclass(frozen=True)
class RegradePreview:
    """What regrading one submission against the live version would change."""

    submission: str
    assessment: str
    from_version: str
    to_version: str
    up_to_date: bool  # graded with the live version already: nothing to regrade
    changes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, object]:
        return {"submission": self.submission, "assessment": self.assessment,
                "from_version": self.from_version, "to_version": self.to_version,
                "up_to_date": self.up_to_date, "changes": self.changes}


def preview(ctx: ServiceContext, submission_id: str) -> RegradePreview:
    """What differs between the version the submission was graded with and the live one."""
    row, old, new = _versions(ctx, submission_id)
    same = old is not None and old.fingerprint == new.fingerprint
    changes = [] if same else differences(old, new)
    return RegradePreview(row.id, new.id, row.assessment_version, new.spec.version, same, changes)


def regrade(ctx: ServiceContext, account: Account, submission_id: str) -> SubmissionInfo:
    """Queue the submission's upload again against the live version (the same attempt)."""
    row, _old, new = _versions(ctx, submission_id)
    if row.fingerprint == new.fingerprint:
        raise Conflict(f"submission {submission_id} was graded with the live version {new.spec.version}"
                       " already; there is nothing to regrade")
    keep(ctx, new)
    with ctx.store.session() as session:
        done = session.scalars(select(WebSubmission).where(
            WebSubmission.learner_id == row.learner_id, WebSubmission.assessment_id == new.id,
            WebSubmission.fingerprint == new.fingerprint, WebSubmission.content_hash == row.content_hash,
        ).limit(1)).first()
        if done is not None:  # regraded already (or the learner sent it again): that one
            return _info(done)
        fresh = WebSubmission(
            id=uuid.uuid4().hex, user_id=row.user_id, learner_id=row.learner_id,
            assessment_id=new.id, assessment_version=new.spec.version, fingerprint=new.fingerprint,
            content_hash=row.content_hash, upload_path=row.upload_path, status="queued",
            attempt=row.attempt, tries=0,
        )
        session.add(fresh)
        session.flush()
        announce(session, QUEUED)
        return _info(fresh)


def _versions(
    ctx: ServiceContext, submission_id: str
) -> tuple[WebSubmission, Assessment | None, Assessment]:
    with ctx.store.session() as session:
        row = session.get(WebSubmission, submission_id)
        if row is None:
            raise NotFound(f"no submission {submission_id!r}")
        session.expunge(row)
    new = ctx.catalogue.assessments.get(row.assessment_id)
    if new is None:
        raise Conflict(f"assessment {row.assessment_id} is no longer in the catalogue; "
                       "there is no version to regrade against")
    return row, assessment_for(ctx, row.assessment_id, row.fingerprint), new


def differences(old: Assessment | None, new: Assessment) -> list[str]:
    """Plain lines saying what changed from ``old`` to ``new`` (cells, points, rules, files)."""
    if old is None:
        return [f"the version it was graded with is no longer stored; it will be graded with "
                f"version {new.spec.version} as it is now"]
    lines = []
    if old.spec.version != new.spec.version:
        lines.append(f"version {old.spec.version} → {new.spec.version}")
    before = {c.key: c for c in old.grade_cells()}
    after = {c.key: c for c in new.grade_cells()}
    for key in sorted(after.keys() - before.keys()):
        lines.append(f"new graded cell {key} ({after[key].points:g} points)")
    for key in sorted(before.keys() - after.keys()):
        lines.append(f"graded cell {key} removed ({before[key].points:g} points)")
    for key in sorted(before.keys() & after.keys()):
        if before[key].points != after[key].points:
            lines.append(f"{key}: {before[key].points:g} → {after[key].points:g} points")
    old_rule, new_rule = old.spec.pass_rule, new.spec.pass_rule
    if old_rule.threshold != new_rule.threshold:
        lines.append(f"pass threshold {old_rule.threshold:.0%} → {new_rule.threshold:.0%}")
    if old_rule.competency_minimum != new_rule.competency_minimum:
        lines.append(f"competency minimum {old_rule.competency_minimum:.0%} → "
                     f"{new_rule.competency_minimum:.0%}")
    old_comp = {c.id: c.name for c in old.spec.competencies}
    new_comp = {c.id: c.name for c in new.spec.competencies}
    lines += [f"new competency {new_comp[c]}" for c in sorted(new_comp.keys() - old_comp.keys())]
    lines += [f"competency {old_comp[c]} removed" for c in sorted(old_comp.keys() - new_comp.keys())]
    sources = {nb.filename: nb.source for nb in old.notebooks}
    for nb in new.notebooks:
        if nb.filename in sources and sources[nb.filename] != nb.source:
            lines.append(f"{nb.filename}: its cells changed (tests or given code); scores may differ")
    if not lines:
        lines.append("the assessment's files changed (data, configuration or text); scores may differ")
    return lines
