"""Submissions through the service: submit an upload, follow its status, read its result and feedback."""

from __future__ import annotations

import functools
import hashlib
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from grader.assessment import Assessment
from nbcred.service.context import ServiceContext
from nbcred.service.errors import Conflict, NotFound, Unprocessable
from nbcred.service.notebook_view import ViewCache
from nbcred.service.notify import QUEUED, announce
from nbcred.service.paths import scrub
from nbcred.service.uploads import UploadedFile, check_upload, store_upload
from nbcred.service.users import Account
from nbcred.store.attempts import AttemptsUsed, take_attempt
from nbcred.store.models import Grading, WebSubmission
from nbcred.store.store import to_result

STATUSES = ("queued", "running", "graded", "error")
RACE_RETRIES = 8


@dataclass(frozen=True)
class SubmissionInfo:
    """A web submission as listed: ``{"id","assessment","learner","status","submitted_at","attempt"}``."""

    id: str
    assessment: str
    learner: str
    status: str
    submitted_at: datetime
    attempt: int
    duplicate: bool = False  # the same content again: this is the earlier submission

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "assessment": self.assessment, "learner": self.learner,
                "status": self.status, "submitted_at": _iso(self.submitted_at), "attempt": self.attempt}


@dataclass(frozen=True)
class SubmissionDetail:
    """A submission with its result (the ``nbcred grade --format json`` object) once graded."""

    info: SubmissionInfo
    result: dict[str, Any] | None
    error: str | None
    feedback_path: str | None
    credential: str | None

    def as_json(self) -> dict[str, Any]:
        body = {"id": self.info.id, "status": self.info.status, "result": self.result}
        body.update({k: v for k, v in self.info.as_json().items() if k not in body})
        if self.error:
            body["error"] = self.error
        return body


def _iso(moment: datetime) -> str:
    from nbcred.issuance.slots import parse_time

    aware = parse_time(moment)
    return aware.isoformat() if aware is not None else ""


def find_assessment(ctx: ServiceContext, assessment_id: str) -> Assessment:
    """The catalogue's assessment with this id, or a 422 naming the ones there are."""
    assessment = ctx.catalogue.assessments.get(assessment_id.strip())
    if assessment is None:
        known = ", ".join(sorted(ctx.catalogue.assessments)) or "none"
        raise Unprocessable(f"assessment {assessment_id!r} is not in the catalogue (available: {known})")
    return assessment


def memory_hash(assessment: Assessment, notebooks: dict[str, bytes]) -> str:
    """The same SHA-256 :func:`grader.grade.content_hash` gives the stored folder."""
    digest = hashlib.sha256(assessment.id.encode())
    for nb in assessment.notebooks:
        digest.update(nb.filename.encode())
        digest.update(notebooks.get(nb.filename, b"\0missing\0"))
    return digest.hexdigest()


def submit(
    ctx: ServiceContext, account: Account, *, assessment_id: str, files: Sequence[UploadedFile]
) -> SubmissionInfo:
    """Check, store and queue an upload; a new content takes the next of the assessment's attempts.

    The same content again (same learner, assessment version and content hash) is answered with the
    earlier submission, graded or on its way (``duplicate``): it is not graded again, queues nothing
    and costs no attempt. The attempt is taken from the ledger in the transaction that queues the
    submission, so app processes racing each other never exceed the limit or share a number.
    """
    assessment = find_assessment(ctx, assessment_id)
    notebooks = check_upload(ctx.settings, assessment, files)
    digest = memory_hash(assessment, notebooks)
    with ctx.store.session() as session:
        earlier = _same_content(session, account, assessment, digest)
        if earlier is None:  # refused before anything is stored (confirmed when it is queued)
            _take(session, account, assessment, digest, record=False)
    if earlier is not None:
        return earlier
    stored = store_upload(ctx.settings, assessment, notebooks)
    from nbcred.service.shared import share_upload
    from nbcred.service.versions import keep

    share_upload(ctx, assessment, stored.path, stored.content_hash)  # other app processes see it

    keep(ctx, assessment)  # the version this attempt is graded with stays available
    for tries in range(1, RACE_RETRIES + 1):
        try:
            return _queue(ctx, account, assessment, stored.content_hash, str(stored.path))
        except (IntegrityError, OperationalError):  # another process took the number (or lock) first
            if tries == RACE_RETRIES:
                raise
            time.sleep(0.01 * tries)
    raise AssertionError("unreachable")


def _same_content(
    session: Session, account: Account, assessment: Assessment, digest: str
) -> SubmissionInfo | None:
    row = session.scalars(
        select(WebSubmission).where(
            WebSubmission.learner_id == account.learner, WebSubmission.assessment_id == assessment.id,
            WebSubmission.fingerprint == assessment.fingerprint, WebSubmission.content_hash == digest)
        .order_by(WebSubmission.submitted_at, WebSubmission.id).limit(1)).first()
    return None if row is None else replace(_info(row), duplicate=True)


def _take(session: Session, account: Account, assessment: Assessment, digest: str, *,
          record: bool = True) -> int:
    from nbcred.service.extensions import allowance

    allowed = allowance(session, account.learner, assessment)
    if allowed.past_due() and allowed.due is not None:
        raise Conflict(f"{assessment.id} was due {allowed.due:%Y-%m-%d %H:%M} UTC; ask your instructor "
                       "for an extension if you need more time")
    try:
        return take_attempt(session, learner=account.learner, assessment_id=assessment.id,
                            content_hash=digest, limit=allowed.attempts, record=record)
    except AttemptsUsed as exc:
        raise Conflict(f"you have used all {exc.limit} attempt(s) of {assessment.id}; "
                       "ask your instructor for another attempt if you need one") from None


def _queue(
    ctx: ServiceContext, account: Account, assessment: Assessment, digest: str, path: str
) -> SubmissionInfo:
    with ctx.store.session() as session:
        attempt = _take(session, account, assessment, digest)
        # after the ledger: a content it holds was queued in the same transaction as its number
        earlier = _same_content(session, account, assessment, digest)
        if earlier is not None:
            return earlier
        row = WebSubmission(
            id=uuid.uuid4().hex, user_id=account.id, learner_id=account.learner,
            assessment_id=assessment.id, assessment_version=assessment.spec.version,
            fingerprint=assessment.fingerprint, content_hash=digest,
            upload_path=path, status="queued", attempt=attempt, tries=0,
        )
        session.add(row)
        session.flush()
        announce(session, QUEUED)  # other app processes' dispatchers claim it now
        return _info(row)


def _info(row: WebSubmission) -> SubmissionInfo:
    return SubmissionInfo(row.id, row.assessment_id, row.learner_id, row.status, row.submitted_at,
                          row.attempt)


def _visible(session: Session, account: Account, submission_id: str) -> WebSubmission:
    row = session.get(WebSubmission, submission_id)
    if row is None or (not account.is_staff and row.learner_id != account.learner):
        raise NotFound(f"no submission {submission_id!r} (see GET /api/v1/submissions for yours)")
    return row


def list_submissions(
    ctx: ServiceContext, account: Account, *, assessment: str | None = None
) -> list[SubmissionInfo]:
    """The caller's submissions, newest first (instructors and admins: everyone's)."""
    query = select(WebSubmission).order_by(WebSubmission.submitted_at.desc(), WebSubmission.id)
    if not account.is_staff:
        query = query.where(WebSubmission.learner_id == account.learner)
    if assessment:
        query = query.where(WebSubmission.assessment_id == assessment)
    with ctx.store.session() as session:
        return [_info(row) for row in session.scalars(query)]


def get_submission(ctx: ServiceContext, account: Account, submission_id: str) -> SubmissionDetail:
    """One submission and, once graded, its result; another learner's is "not found"."""
    with ctx.store.session() as session:
        row = _visible(session, account, submission_id)
        result: dict[str, Any] | None = None
        feedback = None
        if row.grading_id is not None:
            grading = session.get(Grading, row.grading_id)
            if grading is not None:
                graded = to_result(grading)
                graded.credential = row.credential_id
                result = _learner_facing(ctx, graded.as_json(), row.id)
                feedback = grading.feedback_path
        error = scrub(row.error, ctx.settings) if row.error else row.error
        return SubmissionDetail(_info(row), result, error, feedback, row.credential_id)


def _learner_facing(ctx: ServiceContext, result: dict[str, Any], submission_id: str) -> dict[str, Any]:
    """The grading record without server paths: ``feedback`` is the feedback page's URL."""
    if result.get("feedback"):
        result["feedback"] = f"/api/v1/submissions/{submission_id}/feedback"
    result["errors"] = [scrub(str(e), ctx.settings) for e in result.get("errors") or []]
    for cell in result.get("cells") or []:
        told = cell.get("feedback")
        if isinstance(told, dict):
            cell["feedback"] = {k: scrub(v, ctx.settings) if isinstance(v, str) else v
                                for k, v in told.items()}
    return result


def feedback_html(ctx: ServiceContext, account: Account, submission_id: str) -> str:
    """The learner feedback page written when the submission was graded."""
    detail = get_submission(ctx, account, submission_id)
    if detail.info.status in ("queued", "running"):
        raise NotFound(f"submission {submission_id} is {detail.info.status}: "
                       "the feedback comes once it is graded")
    from nbcred.service.shared import feedback_here

    page = feedback_here(ctx, detail.feedback_path, detail.info.assessment, detail.info.learner,
                         detail.result.get("content_hash", "") if detail.result else "")
    if page is None:
        raise NotFound(f"submission {submission_id} has no feedback page"
                       + (f": {detail.error}" if detail.error else ""))
    return scrub(page.read_text(encoding="utf-8"), ctx.settings)


def executed_notebooks(ctx: ServiceContext, account: Account, submission_id: str) -> dict[str, Path]:
    """The graded notebooks as the learner may see them (hidden tests removed), by notebook name."""
    from nbcred.service.shared import executed_here

    with ctx.store.session() as session:
        row = _visible(session, account, submission_id)
        assessment_id, learner, digest = row.assessment_id, row.learner_id, row.content_hash
        done = row.status in ("graded", "error")
    if not done:
        return {}
    folder = executed_here(ctx, assessment_id, learner, digest)
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.ipynb"))}


def executed_notebook_html(ctx: ServiceContext, account: Account, submission_id: str, notebook: str) -> str:
    """One executed notebook as a script-free page (serve it sandboxed: its outputs are the learner's)."""
    return executed_notebook_page(ctx, account, submission_id, notebook)[0]


def executed_notebook_page(
    ctx: ServiceContext, account: Account, submission_id: str, notebook: str
) -> tuple[str, str]:
    """The executed notebook's page and its cache key (rendered once per content)."""
    found = executed_notebooks(ctx, account, submission_id).get(notebook)
    if found is None:
        raise NotFound(f"submission {submission_id} has no executed notebook {notebook!r} "
                       "(it appears once the submission is graded)")
    return view_cache(ctx).page(found, f"{notebook}.ipynb as graded")


def uploaded_notebooks(ctx: ServiceContext, account: Account, submission_id: str) -> dict[str, Path]:
    """The notebooks as the learner uploaded them, by notebook name (owner and staff)."""
    from nbcred.service.shared import upload_folder

    with ctx.store.session() as session:
        row = _visible(session, account, submission_id)
        where = (row.assessment_id, row.content_hash, row.upload_path)
    folder = upload_folder(ctx, *where)
    if not folder.is_dir():
        return {}
    return {path.stem: path for path in sorted(folder.glob("*.ipynb"))}


def uploaded_notebook_page(
    ctx: ServiceContext, account: Account, submission_id: str, notebook: str
) -> tuple[str, str]:
    """An uploaded notebook's page and its cache key (rendered once per content)."""
    found = uploaded_notebooks(ctx, account, submission_id).get(notebook)
    if found is None:
        raise NotFound(f"submission {submission_id} has no uploaded notebook {notebook!r}")
    return view_cache(ctx).page(found, f"{notebook}.ipynb as submitted")


def view_cache(ctx: ServiceContext) -> ViewCache:
    """The process's cache of rendered notebook pages (under ``<home>/cache/views``)."""
    return _view_cache((ctx.settings.home / "cache" / "views").resolve())


@functools.cache
def _view_cache(folder: Path) -> ViewCache:
    return ViewCache(folder)
