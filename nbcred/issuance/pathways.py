"""Stacking: a Certificate credential and a CLR when a learner holds every badge of a pathway."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from credentials import pathways as cp
from grader.spec import PathwaySpec
from nbcred.catalogue import PATHWAYS, Catalogue, load_catalogue, load_pathway
from nbcred.issuance import badges
from nbcred.issuance.identity import write_json
from nbcred.issuance.slots import Slot

if TYPE_CHECKING:
    from nbcred.issuance.issuer import CredentialIssuer
from nbcred.issuance.manage import active_documents, learner_clr, learners_with_credentials

PATHWAY_VERSION = "1"


def to_pathway(issuer: CredentialIssuer, catalogue: Catalogue, spec: PathwaySpec) -> cp.Pathway:
    """The credentials-level pathway: requirements by assessment id, labelled with badge names."""
    def label(assessment_id: str) -> str:
        assessment = catalogue.assessments.get(assessment_id)
        badge = assessment.spec.badge if assessment is not None else None
        return badge.name if badge is not None else assessment_id

    base = issuer.settings.public_base_url.rstrip("/")
    image_path = catalogue.root / PATHWAYS / spec.image if spec.image else None
    image = badges.image_spec(issuer.settings, image_path if image_path and image_path.is_file() else None,
                              f"pathways/{spec.id}", spec.name)
    return cp.Pathway(
        id=f"{base}/pathways/{spec.id}", name=spec.name, description=spec.description,
        criteria_narrative=spec.criteria, image=image, version=PATHWAY_VERSION,
        requirements=tuple(cp.Requirement(assessment_id=a, label=label(a)) for a in spec.requires),
    )


def _issue_stacked(
    issuer: CredentialIssuer, learner: str, progress: cp.PathwayProgress
) -> tuple[dict[str, Any], bool]:
    """The learner's stacked credential for a complete pathway and whether it is new."""
    slot = Slot(learner, progress.pathway.id, PATHWAY_VERSION, kind="pathway")
    existing = issuer.find(slot)
    if existing is not None:
        return existing, False

    def build(email: str, status: dict[str, Any]) -> dict[str, Any]:
        return cp.build_stacked_credential(
            progress=progress, issuer=issuer.identity.profile,
            recipient=badges.recipient(issuer.settings, email), credential_status=status,
            valid_from=issuer.clock(),
        )

    return issuer.store_new(slot, build), True


def issue_for_learner(
    issuer: CredentialIssuer, catalogue: Catalogue, learner: str, spec: PathwaySpec
) -> str | None:
    """Issue a complete pathway's certificate and CLR; a line saying what happened, or None."""
    pathway = to_pathway(issuer, catalogue, spec)
    with issuer.store.session() as session:
        email = badges.learner_email(session, issuer.settings, learner)
    held = active_documents(issuer, learner, kind="badge")
    progress = cp.evaluate_pathway(pathway, held, email=email, now=issuer.clock())
    if not progress.complete:
        if not progress.satisfied:
            return None
        missing = ", ".join(r.describe() for r in progress.missing)
        return (f"{learner}: {len(progress.satisfied)} of {len(pathway.requirements)} badges "
                f"toward {pathway.name} (missing: {missing})")
    stacked, new = _issue_stacked(issuer, learner, progress)
    folder = issuer.learner_folder(learner)
    image = catalogue.root / PATHWAYS / spec.image if spec.image else None
    badges.write_credential_files(folder, spec.id, stacked, image if image and image.is_file() else None)
    clr_path = folder / f"{spec.id}-clr.json"
    if new or not clr_path.exists():
        write_json(clr_path, learner_clr(issuer, learner, progress.components, stacked=stacked,
                                         name=f"{pathway.name}: learning record of {learner}"))
    count = len(progress.components)
    verb = "earned" if new else "holds"
    return f"{learner} {verb} {pathway.name} (stacked from {count} badges)"


def stack_after_badge(
    issuer: CredentialIssuer, catalogue: Catalogue, learner: str, assessment_id: str
) -> list[str]:
    """The one place a stacked certificate is issued after a badge: every pathway requiring
    ``assessment_id`` is evaluated for ``learner`` and issued when complete (idempotent)."""
    lines = []
    for spec in catalogue.pathways:
        if assessment_id in spec.requires:
            line = issue_for_learner(issuer, catalogue, learner, spec)
            if line:
                lines.append(line)
    return lines


def pathway_catalogue(root: Path, assessment_id: str) -> Catalogue | None:
    """The catalogue at ``root`` when one of its pathways requires ``assessment_id``, else None.

    Only the pathway files are read to decide; the catalogue itself is loaded once per process.
    """
    folder = root.resolve() / PATHWAYS
    if not folder.is_dir():
        return None
    if not any(assessment_id in load_pathway(p).requires for p in sorted(folder.glob("*.yaml"))):
        return None
    return _loaded_catalogue(root.resolve())


@functools.lru_cache(maxsize=4)
def _loaded_catalogue(root: Path) -> Catalogue:
    return load_catalogue(root)


def issue_pathways_with(issuer: CredentialIssuer, catalogue: Catalogue) -> list[str]:
    """Retry deferred badges, then evaluate every pathway for every learner holding a credential."""
    lines = []
    retried = issuer.retry_pending(catalogue.assessments)
    if retried.issued:
        lines.append(f"issued {len(retried.issued)} credential(s) that had been deferred")
    for grading_id, reason in retried.pending:
        lines.append(f"credential for grading {grading_id} still pending: {reason}")
    for learner in learners_with_credentials(issuer):
        for spec in catalogue.pathways:
            line = issue_for_learner(issuer, catalogue, learner, spec)
            if line:
                lines.append(line)
    return lines
