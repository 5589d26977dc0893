"""Automatic issuance: a signed badge for each passing grading, idempotent, with retries."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from credentials import ob3
from grader.assessment import Assessment
from grader.results import GradeResult
from nbcred.errors import IssuanceError
from nbcred.issuance import badges, statuslists
from nbcred.issuance.identity import IssuerIdentity, load_identity
from nbcred.issuance.pathways import pathway_catalogue, stack_after_badge
from nbcred.issuance.slots import Slot, parse_time
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import Grading, IssuedCredential, PendingIssuance
from nbcred.store.store import to_result

if TYPE_CHECKING:
    from nbcred.catalogue import Catalogue

log = logging.getLogger(__name__)

Signer = Callable[[dict[str, Any]], dict[str, Any]]
Clock = Callable[[], datetime]
Builder = Callable[[str, dict[str, Any]], dict[str, Any]]
"""Builds the unsigned credential from the learner's email and its one credentialStatus entry."""
CatalogueSource = Callable[[], "Catalogue | None"]
"""Where the pathways come from: the service's loaded catalogue, or the settings' folder."""


@dataclass
class RetryReport:
    """What a retry of pending issuances did."""

    issued: list[str] = field(default_factory=list)
    pending: list[tuple[int, str]] = field(default_factory=list)


def assessment_prefix(achievement_id: str) -> str:
    """What every version of an achievement's id starts with (``…/achievements/<id>/``)."""
    if "/achievements/" in achievement_id:
        return achievement_id.rsplit("/", 1)[0] + "/"
    return achievement_id


def mark_superseded(session: Session, issued: Iterable[tuple[str, str, str]]) -> int:
    """For each new ``(credential id, learner, achievement id)``, mark the learner's older
    credentials of the same assessment as superseded by it; returns how many were marked."""
    new = list(issued)
    if not new:
        return 0
    new_ids = {cid for cid, _, _ in new}
    learners = {learner for _, learner, _ in new}
    older = session.execute(
        select(IssuedCredential.id, IssuedCredential.learner_id, IssuedCredential.achievement_id)
        .where(IssuedCredential.learner_id.in_(learners), IssuedCredential.superseded_by.is_(None),
               IssuedCredential.id.not_in(new_ids))
    ).all()
    marked = 0
    for credential_id, learner, achievement_id in new:
        prefix = assessment_prefix(achievement_id)
        for old_id, old_learner, old_achievement in older:
            same = old_achievement == achievement_id or (
                prefix.endswith("/") and old_achievement.startswith(prefix))
            if old_learner == learner and same:
                session.execute(update(IssuedCredential).where(IssuedCredential.id == old_id)
                                .values(superseded_by=credential_id))
                marked += 1
    return marked


class CredentialIssuer:
    """Issues, stores and publishes credentials; called by the pipeline for passing results."""

    def __init__(
        self, settings: Settings, store: Store, *, signer: Signer | None = None, clock: Clock | None = None,
        catalogue: CatalogueSource | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self._catalogue = catalogue
        self.clock: Clock = clock or (lambda: datetime.now(UTC))
        self._signer = signer
        self._identity: IssuerIdentity | None = None
        self._assessments: dict[str, Assessment] = {}
        self._retried: set[str] = set()
        self.stacked: deque[str] = deque(maxlen=1000)
        """The latest certificates :meth:`stack` issued ("<learner> earned <pathway> …"), for reports."""

    @property
    def identity(self) -> IssuerIdentity:
        """The issuer identity, loaded (and the first key created) on first use."""
        if self._identity is None:
            self._identity = load_identity(self.settings)
        return self._identity

    def reload_identity(self) -> IssuerIdentity:
        """Load the keys again (after a rotation or retirement) and republish the did:web document."""
        self._identity = load_identity(self.settings)
        return self._identity

    def sign(self, document: dict[str, Any]) -> dict[str, Any]:
        """Sign with the injected signer, else the newest issuer key."""
        if self._signer is not None:
            return self._signer(document)
        return self.identity.sign(document, created=self.clock())

    def __call__(self, result: GradeResult, assessment: Assessment, grading_id: int) -> str | None:
        """Pipeline hook: retry this assessment's pending issuances once, then issue for ``result``."""
        self._assessments[assessment.id] = assessment
        if assessment.id not in self._retried:
            self._retried.add(assessment.id)
            try:
                self.retry_pending({assessment.id: assessment})
            except Exception:  # retried again on the next run; never block grading
                log.exception("retrying pending credentials for %s failed", assessment.id)
        return self.issue(result, assessment, grading_id)

    def issue(self, result: GradeResult, assessment: Assessment, grading_id: int) -> str | None:
        """The credential id for a passing result (existing or new); None if failed or deferred."""
        if assessment.spec.badge is None or not result.passed or result.errors:
            return None
        try:
            credential_id = self._issue_badge(result, assessment, grading_id)
        except Exception as exc:  # the grade is recorded; keep the issuance for a retry
            self._defer(grading_id, exc)
            return None
        self._clear_pending(grading_id)
        self.stack(result.learner, assessment.id)
        return credential_id

    def stack(self, learner: str, assessment_id: str) -> list[str]:
        """Issue every pathway certificate (and CLR) this learner's new badge completes.

        Called for every badge, whichever way its result was reached; a failure is logged and
        the certificate is issued on the learner's next badge or by ``nbcred cohort``/bulk runs.
        """
        try:
            catalogue = self._catalogue() if self._catalogue is not None else pathway_catalogue(
                self.settings.catalogue, assessment_id)
            if catalogue is None:
                return []
            lines = stack_after_badge(self, catalogue, learner, assessment_id)
        except Exception:  # the badge is issued; never block grading on the certificate
            log.exception("pathway certificates for %s after %s failed", learner, assessment_id)
            return []
        for line in lines:
            log.info("%s", line)
        self.stacked.extend(line for line in lines if " earned " in line)
        return lines

    def _badge_builder(self, result: GradeResult, assessment: Assessment) -> tuple[str, Builder]:
        """The achievement id of ``assessment``'s badge and how to build its credential for ``result``."""
        achievement = badges.achievement_spec(self.settings, assessment)
        badge = assessment.spec.badge

        def build(email: str, status: dict[str, Any]) -> dict[str, Any]:
            return ob3.build_credential(
                achievement=achievement, issuer=self.identity.profile,
                recipient=badges.recipient(self.settings, email),
                results=badges.results(result, achievement), evidence=[badges.evidence(result)],
                credential_status=status, valid_from=self.clock(),
                expires_after_days=badge.expires_after_days if badge else None,
            )

        return achievement.id, build

    def _issue_badge(self, result: GradeResult, assessment: Assessment, grading_id: int) -> str:
        achievement_id, build = self._badge_builder(result, assessment)
        slot = Slot(result.learner, achievement_id, assessment.spec.version, "badge", grading_id)
        document = self.store_new(slot, build)
        badges.write_credential_files(self.learner_folder(result.learner),
                                      f"{assessment.id}-v{assessment.spec.version}", document,
                                      badges.image_file(assessment))
        return str(document["id"])

    def reissue_badge(self, replaces: str, result: GradeResult, assessment: Assessment, *,
                      issue_key: str) -> tuple[str, bool]:
        """A new badge for the graded attempt that earned credential ``replaces`` (its learner,
        achievement and grading), which is marked superseded by it; returns the new id and whether
        the old one still needs revoking."""
        _, build = self._badge_builder(result, assessment)
        with self.store.session() as session:
            previous = session.get(IssuedCredential, replaces)
            if previous is None:
                raise IssuanceError(f"no credential {replaces!r} to replace")
            learner, version = previous.learner_id, previous.achievement_version
            email = badges.learner_email(session, self.settings, learner)
            place = statuslists.allocate_slot(session, self.settings)
            signed = self.sign(build(email, place.entry))
            session.add(IssuedCredential(
                id=signed["id"], learner_id=learner, achievement_id=previous.achievement_id,
                achievement_version=version, kind="badge", grading_id=previous.grading_id,
                status="active", status_list=place.list_url, status_index=place.index, document=signed,
                issued_at=self.clock(), issue_key=issue_key, valid_until=parse_time(signed.get("validUntil")),
            ))
            session.flush()
            previous.superseded_by = signed["id"]
            still_valid = previous.status != "revoked"
        statuslists.publish(self.settings, self.store, self.identity, missing_only=True,
                            only=[place.list_url])
        badges.write_credential_files(self.learner_folder(learner), f"{assessment.id}-v{version}", signed,
                                      badges.image_file(assessment))
        return str(signed["id"]), still_valid

    def learner_folder(self, learner: str) -> Path:
        """``<home>/credentials/<learner>``."""
        return self.settings.home / "credentials" / learner

    def store_new(self, slot: Slot, build: Builder) -> dict[str, Any]:
        """The slot's credential document: the stored one, else built, signed, stored, published."""
        existing = self.find(slot)
        if existing is not None:
            return existing
        try:
            with self.store.session() as session:
                email = badges.learner_email(session, self.settings, slot.learner)
                place = statuslists.allocate_slot(session, self.settings)
                signed = self.sign(build(email, place.entry))
                session.add(IssuedCredential(
                    id=signed["id"], learner_id=slot.learner, achievement_id=slot.achievement_id,
                    achievement_version=slot.version, kind=slot.kind, grading_id=slot.grading_id,
                    status="active", status_list=place.list_url, status_index=place.index, document=signed,
                    issued_at=self.clock(), valid_until=parse_time(signed.get("validUntil")),
                ))

                mark_superseded(session, [(signed["id"], slot.learner, slot.achievement_id)])
        except IntegrityError:  # issued concurrently by another worker: use theirs
            existing = self.find(slot)
            if existing is None:
                raise
            return existing
        statuslists.publish(self.settings, self.store, self.identity, missing_only=True,
                            only=[place.list_url])
        return signed

    def find(self, slot: Slot) -> dict[str, Any] | None:
        """The document already issued for this learner, achievement and version, if any."""
        with self.store.session() as session:
            row = session.scalars(select(IssuedCredential).where(
                IssuedCredential.learner_id == slot.learner,
                IssuedCredential.achievement_id == slot.achievement_id,
                IssuedCredential.achievement_version == slot.version,
            )).first()
            return None if row is None else dict(row.document)

    def _defer(self, grading_id: int, exc: Exception) -> None:
        reason = f"{type(exc).__name__}: {exc}"[:2000]
        log.warning("credential for grading %s deferred: %s", grading_id, reason)
        try:
            with self.store.session() as session:
                row = session.get(PendingIssuance, grading_id)
                if row is None:
                    session.add(PendingIssuance(grading_id=grading_id, reason=reason, tries=1,
                                                updated_at=self.clock()))
                else:
                    row.reason, row.tries, row.updated_at = reason, row.tries + 1, self.clock()
        except Exception:  # the grade is safe; the next grading of this content retries
            log.exception("could not record pending issuance for grading %s", grading_id)

    def _clear_pending(self, grading_id: int) -> None:
        with self.store.session() as session:
            row = session.get(PendingIssuance, grading_id)
            if row is not None:
                session.delete(row)

    def retry_pending(self, assessments: Mapping[str, Assessment]) -> RetryReport:
        """Issue the deferred credentials of these assessments (same version as graded)."""
        report = RetryReport()
        for grading_id, result in self.pending_results():
            assessment = assessments.get(result.assessment)
            if assessment is None or assessment.spec.version != result.assessment_version:
                continue
            credential_id = self.issue(result, assessment, grading_id)
            if credential_id is None:
                report.pending.append((grading_id, self.pending_reason(grading_id)))
            else:
                report.issued.append(credential_id)
        return report

    def pending_results(self) -> list[tuple[int, GradeResult]]:
        """Every deferred issuance with its recorded grading."""
        with self.store.session() as session:
            rows = session.scalars(select(PendingIssuance).order_by(PendingIssuance.grading_id)).all()
            out = []
            for row in rows:
                grading = session.get(Grading, row.grading_id)
                if grading is not None:
                    out.append((row.grading_id, to_result(grading)))
            return out

    def pending_reason(self, grading_id: int) -> str:
        """Why an issuance is pending ("" if it is not)."""
        with self.store.session() as session:
            row = session.get(PendingIssuance, grading_id)
            return "" if row is None else row.reason
