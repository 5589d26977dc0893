"""Instructor operations on the catalogue and on issued credentials.

Reloading reads the catalogue folder again (a broken assessment is reported, the service keeps
the catalogue it had); validating grades an assessment's solution and student version and
reports each cell; credentials can be searched, revoked, suspended, reinstated or reissued, each
with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select

from grader.errors import GraderError
from grader.execute import KernelRunner
from grader.validate import ValidationReport, validate_assessment
from nbcred.catalogue import load_catalogue
from nbcred.errors import ConfigurationError, NbcredError
from nbcred.issuance.manage import CredentialInfo, change_status
from nbcred.pipeline import grade_options
from nbcred.service.context import ServiceContext
from nbcred.service.errors import Conflict, NotFound, Unprocessable
from nbcred.store.models import AssessmentVersion, IssuedCredential, User


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
    except (GraderError, ConfigurationError, OSError) as exc:
        raise Unprocessable(f"the catalogue was not reloaded (the current one stays live): {exc}") from exc
    from nbcred.service.versions import keep_catalogue

    keep_catalogue(ctx, fresh)
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
    """Issued credentials matching ``query``, newest first: in the id, the learner (id, name or
    e-mail) or the achievement (its id, the badge's name or the assessment's or pathway's title)."""
    from nbcred.issuance.manage import _info

    statement = select(IssuedCredential).order_by(IssuedCredential.issued_at.desc()).limit(limit)
    text = query.strip()
    if text:
        like = f"%{text}%"
        people = select(User.learner_id).where(or_(User.name.ilike(like), User.email.ilike(like)))
        conditions = [IssuedCredential.id.ilike(like), IssuedCredential.learner_id.ilike(like),
                      IssuedCredential.achievement_id.ilike(like), IssuedCredential.learner_id.in_(people)]
        conditions += [IssuedCredential.achievement_id.like(f"%/{path}") for path in _named(ctx, text)]
        conditions += [IssuedCredential.achievement_id.like(f"%/{path}/%") for path in _named(ctx, text)]
        statement = statement.where(or_(*conditions))
    with ctx.store.session() as session:
        return [_info(row) for row in session.scalars(statement)]


def _named(ctx: ServiceContext, text: str) -> list[str]:
    """Achievement paths (``achievements/<id>``, ``pathways/<id>``) whose badge or title has ``text``."""
    needle = text.casefold()
    found = []
    for assessment in ctx.catalogue.assessments.values():
        spec = assessment.spec
        names = [spec.title, spec.badge.name if spec.badge else ""]
        if any(needle in name.casefold() for name in names):
            found.append(f"achievements/{spec.id}")
    found += [f"pathways/{p.id}" for p in ctx.catalogue.pathways if needle in p.name.casefold()]
    return found


def learner_names(ctx: ServiceContext, learners: list[str]) -> dict[str, str]:
    """``learner id -> "Name <email>"`` for the learners that have an account."""
    if not learners:
        return {}
    with ctx.store.session() as session:
        rows = session.execute(select(User.learner_id, User.name, User.email)
                               .where(User.learner_id.in_(set(learners))))
        return {learner: f"{name} <{email}>" for learner, name, email in rows}


def set_status(ctx: ServiceContext, credential_id: str, *, action: str, reason: str) -> CredentialInfo:
    """Revoke, suspend, unsuspend (reinstate) or reissue a credential; the status list follows."""
    if action == "reissue":
        return reissue(ctx, credential_id, reason=reason)
    if action not in ("revoke", "suspend", "unsuspend"):
        raise NotFound("action must be revoke, suspend, unsuspend or reissue")
    try:
        return change_status(ctx.issuer, credential_id, action, reason)  # type: ignore[arg-type]
    except NbcredError as exc:
        raise Unprocessable(str(exc)) from exc


def reissue(ctx: ServiceContext, credential_id: str, *, reason: str) -> CredentialInfo:
    """A fresh credential for the same graded attempt; the old one is marked superseded and revoked.

    For a credential that must be replaced (a corrected record, a lost key, one revoked by
    mistake): it is built from the grading that earned the old one, with the next issue key.
    """
    from nbcred.issuance.manage import _info
    from nbcred.store.models import Grading
    from nbcred.store.store import to_result

    if not reason.strip():
        raise Unprocessable("give a reason to reissue a credential")
    with ctx.store.session() as session:
        old = session.get(IssuedCredential, credential_id)
        if old is None:
            raise NotFound(f"no credential {credential_id!r}")
        if old.superseded_by:
            raise Conflict(f"{credential_id} was already replaced by {old.superseded_by}; reissue that one")
        grading = session.get(Grading, old.grading_id) if old.grading_id is not None else None
        if old.kind != "badge" or grading is None:
            raise Unprocessable("only badges earned by a graded attempt can be reissued here")
        result = to_result(grading)
        siblings = session.scalar(select(func.count()).select_from(IssuedCredential).where(
            IssuedCredential.learner_id == old.learner_id,
            IssuedCredential.achievement_id == old.achievement_id,
            IssuedCredential.achievement_version == old.achievement_version))
        version = old.achievement_version
    assessment = ctx.catalogue.assessments.get(result.assessment)
    if assessment is None or assessment.spec.version != version or assessment.spec.badge is None:
        raise Conflict(f"the catalogue no longer has version {version} of {result.assessment} with a badge")
    new_id, still_valid = ctx.issuer.reissue_badge(credential_id, result, assessment,
                                                   issue_key=f"reissue-{siblings}")
    with ctx.store.session() as session:
        row = session.get(IssuedCredential, new_id)
        assert row is not None
        info = _info(row)
    if still_valid:
        change_status(ctx.issuer, credential_id, "revoke", f"reissued as {info.id}: {reason.strip()}")
    return info
