"""Instructor operations on the catalogue and on issued credentials.

Reloading reads the catalogue folder again (a broken assessment is reported, the service keeps
the catalogue it had); validating grades an assessment's solution and student version and
reports each cell; credentials can be searched, revoked, suspended or reinstated with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select

from grader.errors import GraderError
from grader.execute import KernelRunner
from grader.validate import ValidationReport, validate_assessment
from nbcred.catalogue import load_catalogue
from nbcred.errors import NbcredError
from nbcred.issuance.manage import CredentialInfo, change_status
from nbcred.pipeline import grade_options
from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound, Unprocessable
from nbcred.store.models import AssessmentVersion, IssuedCredential


@dataclass(frozen=True)
class VersionInfo:
    """One version of an assessment the gradebook has seen; ``live`` is the catalogue's current one."""

    version: str
    fingerprint: str
    first_graded: datetime | None
    live: bool


@dataclass(frozen=True)
class CatalogueEntry:
    id: str
    title: str
    version: str
    fingerprint: str
    has_badge: bool
    manual_cells: int
    versions: list[VersionInfo]


def catalogue_entries(ctx: ServiceContext) -> list[CatalogueEntry]:
    """Every assessment of the catalogue with the versions the gradebook holds."""
    with ctx.store.session() as session:
        seen = session.scalars(select(AssessmentVersion).order_by(AssessmentVersion.pk)).all()
        graded = [(v.assessment_id, v.version, v.fingerprint, v.created_at) for v in seen]
    entries = []
    for aid, assessment in sorted(ctx.catalogue.assessments.items()):
        versions = [VersionInfo(version, fp, at, fp == assessment.fingerprint)
                    for other, version, fp, at in graded if other == aid]
        if not any(v.live for v in versions):
            versions.append(VersionInfo(assessment.spec.version, assessment.fingerprint, None, True))
        entries.append(CatalogueEntry(
            aid, assessment.spec.title, assessment.spec.version, assessment.fingerprint,
            assessment.spec.badge is not None,
            sum(1 for c in assessment.grade_cells() if c.kind != "autograded" and c.points > 0), versions))
    return entries


def reload_catalogue(ctx: ServiceContext) -> list[CatalogueEntry]:
    """Load the catalogue folder again; on an error keep the current one and say what is wrong."""
    try:
        fresh = load_catalogue(ctx.settings.catalogue)
    except (GraderError, OSError) as exc:
        raise Unprocessable(f"the catalogue was not reloaded (the current one stays live): {exc}") from exc
    with ctx._lock:
        ctx._catalogue = fresh
    return catalogue_entries(ctx)


def validate(ctx: ServiceContext, assessment_id: str) -> ValidationReport:
    """``nbcred validate`` for one catalogue assessment: the solution and student version, per cell."""
    assessment = ctx.catalogue.assessments.get(assessment_id)
    if assessment is None:
        raise NotFound(f"assessment {assessment_id!r} is not in the catalogue")
    return validate_assessment(assessment, options=grade_options(ctx.settings, KernelRunner()))


def search_credentials(ctx: ServiceContext, query: str = "", *, limit: int = 200) -> list[CredentialInfo]:
    """Issued credentials whose id, learner or achievement contains ``query``, newest first."""
    from nbcred.issuance.manage import _info

    statement = select(IssuedCredential).order_by(IssuedCredential.issued_at.desc()).limit(limit)
    text = query.strip()
    if text:
        like = f"%{text}%"
        statement = statement.where(or_(IssuedCredential.id.ilike(like),
                                        IssuedCredential.learner_id.ilike(like),
                                        IssuedCredential.achievement_id.ilike(like)))
    with ctx.store.session() as session:
        return [_info(row) for row in session.scalars(statement)]


def set_status(ctx: ServiceContext, credential_id: str, *, action: str, reason: str) -> CredentialInfo:
    """Revoke, suspend or unsuspend (reinstate) a credential; the published status list follows."""
    if action not in ("revoke", "suspend", "unsuspend"):
        raise Unprocessable("action must be revoke, suspend or unsuspend")
    try:
        return change_status(ctx.issuer, credential_id, action, reason)  # type: ignore[arg-type]
    except NbcredError as exc:
        raise Unprocessable(str(exc)) from exc
