"""The submission queue lives in the database: any app process claims, grades and records.

A queued row is claimed with one conditional UPDATE (only one process can win it), so several app
processes behind one database share the work. A claim is a lease that its process renews while
grading; a row whose lease ran out (the process died or was restarted) is claimed again. The
result is recorded in the gradebook idempotently (same content, same grading), so a job graded
twice is still recorded once.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from grader.results import GradeResult
from nbcred.pipeline import GradeJob
from nbcred.service.context import ServiceContext
from nbcred.service.notify import QUEUED, STATUS, announce
from nbcred.store.models import IssuedCredential, User, WebSubmission

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Claim:
    """A submission this process is grading."""

    id: str
    assessment: str
    job: GradeJob
    upload: tuple[str, str, str] = ("", "", "")  # assessment id, content hash, recorded path


def worker_name() -> str:
    """An id for this process's claims: host, pid and a random suffix."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _now() -> datetime:
    return datetime.now(UTC)


def claim(ctx: ServiceContext, *, worker: str, limit: int) -> list[Claim]:
    """Claim up to ``limit`` queued (or abandoned) submissions, oldest first."""
    if limit <= 0:
        return []
    now = _now()
    claimable = or_(
        WebSubmission.status == "queued",
        (WebSubmission.status == "running") & (WebSubmission.lease_until < now),
    )
    with ctx.store.session() as session:
        candidates = list(session.scalars(
            select(WebSubmission.id).where(claimable)
            .order_by(WebSubmission.submitted_at, WebSubmission.id).limit(limit * 2)
        ))
    claims: list[Claim] = []
    lease = now + timedelta(seconds=ctx.settings.queue_lease_seconds)
    for submission_id in candidates:
        if len(claims) >= limit:
            break
        with ctx.store.session() as session:
            won = session.execute(  # type: ignore[attr-defined]
                update(WebSubmission).where(WebSubmission.id == submission_id, claimable)
                .values(status="running", claimed_by=worker, lease_until=lease, started_at=now,
                        tries=WebSubmission.tries + 1)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1:
                continue
            announce(session, STATUS, submission_id)
            row = session.get(WebSubmission, submission_id)
            assert row is not None
            assessment = ctx.catalogue.assessments.get(row.assessment_id)
            if assessment is None:
                row.status, row.error, row.finished_at = "error", (
                    f"assessment {row.assessment_id} is no longer in the catalogue"), now
                continue
            where = (row.assessment_id, row.content_hash, row.upload_path)
            claims.append(Claim(row.id, row.assessment_id, GradeJob(
                str(assessment.root), row.upload_path, row.learner_id), where))
    return claims


def renew(ctx: ServiceContext, *, worker: str, ids: list[str]) -> None:
    """Extend the leases of the submissions this process is still grading."""
    if not ids:
        return
    lease = _now() + timedelta(seconds=ctx.settings.queue_lease_seconds)
    with ctx.store.session() as session:
        session.execute(
            update(WebSubmission)
            .where(WebSubmission.id.in_(ids), WebSubmission.claimed_by == worker,
                   WebSubmission.status == "running")
            .values(lease_until=lease).execution_options(synchronize_session=False)
        )


def finish(ctx: ServiceContext, claimed: Claim, result: GradeResult) -> str:
    """Record the result in the gradebook, issue a credential when it passed; returns the status."""
    assessment = ctx.catalogue.assessments[claimed.assessment]
    recorded = ctx.store.record(result, fingerprint=assessment.fingerprint, title=assessment.spec.title)
    result = replace(result, attempt=recorded.attempt)
    credential = None
    if result.passed and not result.errors:
        try:
            credential = ctx.issuer(result, assessment, recorded.grading_id)
        except Exception:  # the grade is recorded; issuance is retried later
            log.exception("issuing a credential for %s failed", claimed.id)
    status = "error" if result.errors else "graded"
    with ctx.store.session() as session:
        row = session.get(WebSubmission, claimed.id)
        if row is not None:
            row.status, row.grading_id, row.credential_id = status, recorded.grading_id, credential
            row.finished_at, row.lease_until = _now(), None
            row.error = "; ".join(result.errors) or None
            announce(session, STATUS, claimed.id)
            if credential is not None:
                _badge_ready(ctx, session, row.user_id, credential)
            elif status == "graded":
                _feedback_ready(ctx, session, row, passed=result.passed)
            if status == "graded":  # the LMS gradebooks of the links this learner launched it from
                from nbcred.service.lti import grading_recorded

                grading_recorded(ctx, session, learner_id=row.learner_id, assessment_id=row.assessment_id)
    return status


def _feedback_ready(ctx: ServiceContext, session: Session, row: WebSubmission, *, passed: bool) -> None:
    """Queue "your feedback is ready" (a notification) with the submission's status."""
    from nbcred.mail import Outgoing, enqueue

    user = session.get(User, row.user_id)
    if user is None:
        return
    assessment = ctx.catalogue.assessments.get(row.assessment_id)
    title = assessment.spec.title if assessment is not None else row.assessment_id
    verdict = "passed" if passed else "not passed yet"
    enqueue(session, ctx.settings, [Outgoing("feedback", user.email, {
        "name": user.name, "assessment": title, "attempt": row.attempt, "verdict": verdict,
        "link": f"{ctx.settings.links_base()}/submissions/{row.id}"}, dedupe_key=f"feedback:{row.id}")])


def _badge_ready(ctx: ServiceContext, session: Session, user_id: int, credential_id: str) -> None:
    """Queue "your badge is ready" (public link) with the submission's status, same transaction."""
    from nbcred.service.claims import badge_ready

    user = session.get(User, user_id)
    issued = session.get(IssuedCredential, credential_id)
    if user is not None and issued is not None:
        badge_ready(session, ctx.settings, email=user.email, name=user.name, credential_id=issued.id,
                    document=dict(issued.document))


def fail(ctx: ServiceContext, claimed: Claim, message: str) -> None:
    """Mark a claimed submission as failed without a result (e.g. its upload vanished)."""
    with ctx.store.session() as session:
        row = session.get(WebSubmission, claimed.id)
        if row is not None:
            row.status, row.error, row.finished_at, row.lease_until = "error", message, _now(), None
            announce(session, STATUS, claimed.id)


class Pool(Protocol):
    """Where claimed jobs run: the local persistent pool, or a Celery dispatcher."""

    def start(self) -> None: ...
    def free(self) -> int: ...
    def submit(self, job: GradeJob, callback: Callable[[GradeJob, GradeResult], None]) -> None: ...
    def close(self) -> None: ...


class Dispatcher:
    """One per app process: claims queued submissions, hands them to a pool, records results."""

    def __init__(self, ctx: ServiceContext, pool: Pool, *, poll_seconds: float = 0.5,
                 on_change: Callable[[str], None] | None = None) -> None:
        self.ctx = ctx
        self.pool = pool
        # told a submission's id once its new status is committed (claimed; graded or failed)
        self.on_change = on_change or (lambda submission_id: None)
        self.worker = worker_name()
        self.poll_seconds = poll_seconds
        self._running: dict[str, Claim] = {}
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # results are recorded by a thread of their own: the pool's thread, which calls back,
        # goes straight on to hand the worker its next job
        self._results: queue.Queue[tuple[Claim, GradeResult] | None] = queue.Queue()
        self._recorder: threading.Thread | None = None

    def start(self) -> None:
        """Start the pool, the claiming thread and the recording thread."""
        self.pool.start()
        self._recorder = threading.Thread(target=self._record, name="nbcred-recorder", daemon=True)
        self._recorder.start()
        self._thread = threading.Thread(target=self._loop, name="nbcred-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Something was queued: claim now rather than at the next poll."""
        self._wake.set()

    def _loop(self) -> None:
        last_renew = _now()
        while not self._stop.is_set():
            try:
                self._claim_some()
                if (_now() - last_renew).total_seconds() > self.ctx.settings.queue_lease_seconds / 3:
                    with self._lock:
                        ids = list(self._running)
                    renew(self.ctx, worker=self.worker, ids=ids)
                    last_renew = _now()
            except Exception:  # a database hiccup: log and try again at the next poll
                log.exception("the submission dispatcher failed; retrying")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()

    def _claim_some(self) -> None:
        for claimed in claim(self.ctx, worker=self.worker, limit=self.pool.free()):
            if not Path(claimed.job.submission).is_dir() and claimed.upload[0]:
                from nbcred.service.shared import upload_folder  # stored by another app process

                folder = upload_folder(self.ctx, *claimed.upload)
                claimed = replace(claimed, job=replace(claimed.job, submission=str(folder)))
            if not Path(claimed.job.submission).is_dir():
                fail(self.ctx, claimed, "the uploaded files are missing on this server and in the shared "
                     "store (set the same NBCRED_STORAGE=database or s3://… in every app process); "
                     "submit again")
                self.on_change(claimed.id)
                continue
            with self._lock:
                self._running[claimed.id] = claimed
            self.pool.submit(claimed.job, self._callback(claimed))
            self.on_change(claimed.id)

    def _callback(self, claimed: Claim):  # type: ignore[no-untyped-def]
        def done(job: GradeJob, result: GradeResult) -> None:
            self._results.put((claimed, result))
        return done

    def _record(self) -> None:
        """Record results in arrival order until :meth:`close` sends the end marker."""
        while (item := self._results.get()) is not None:
            claimed, result = item
            try:
                finish(self.ctx, claimed, result)
                self.on_change(claimed.id)
            except Exception:  # its lease runs out and it is graded again; log why
                log.exception("recording the result of %s failed", claimed.id)
            finally:
                with self._lock:
                    self._running.pop(claimed.id, None)
                self._wake.set()

    def close(self) -> None:
        """Stop claiming and stop the pool; unfinished claims are re-queued when their lease ends."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.pool.close()
        self._results.put(None)  # record what the pool finished before it stopped
        if self._recorder is not None:
            self._recorder.join(timeout=30)
        release(self.ctx, worker=self.worker)


def release(ctx: ServiceContext, *, worker: str) -> int:
    """Queue again what ``worker`` claimed but did not finish (on shutdown)."""
    with ctx.store.session() as session:
        count = session.execute(  # type: ignore[attr-defined]
            update(WebSubmission)
            .where(WebSubmission.claimed_by == worker, WebSubmission.status == "running")
            .values(status="queued", lease_until=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        ).rowcount
        if count:
            announce(session, QUEUED)
    return int(count or 0)
