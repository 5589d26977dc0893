"""Scores to LMS gradebooks: queued in the grading's transaction, posted by a background poster.

A grading of a learner who launched an assessment from a resource link with the AGS score scope
queues one score per such link. The attempt policy (latest or best graded attempt, per
assessment) picks the grading whose score is posted; a score equal to the last one queued for that
link and learner is not queued again, and the ``dedupe_key`` (link, learner, grading) makes the
same grading queue at most once, so regrading the same content posts nothing new.

The poster claims due rows with one conditional UPDATE and a lease (any number of app processes
share the queue), creates the line item when the link has none (found by ``resourceId`` first, so
never twice), posts, and marks the row posted in its own transaction. A platform that is down or
answers 5xx/429 is tried again later (5 s, doubling, at most an hour); a refusal that trying again
cannot cure (4xx) is marked failed with the platform's answer, for an instructor to post again.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from nbcred.lti import claims as c
from nbcred.lti import keys, services
from nbcred.lti.errors import PlatformCallFailed
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import (
    AssessmentVersion,
    CompetencyResult,
    Grading,
    IssuedCredential,
    LtiDeployment,
    LtiLink,
    LtiLinkUser,
    LtiPlatform,
    LtiScore,
    Submission,
    User,
)
from nbcred.store.queries import conflict_insert

log = logging.getLogger(__name__)
BATCH = 50
FIRST_WAIT_SECONDS = 5
LONGEST_WAIT_SECONDS = 3600
COMPARED = ("scoreGiven", "scoreMaximum", "gradingProgress", "activityProgress", "comment")


def backoff(tries: int) -> timedelta:
    """The wait after the ``tries``-th failed attempt: 5 s, doubling, at most an hour."""
    return timedelta(seconds=min(FIRST_WAIT_SECONDS * 2 ** max(0, tries - 1), LONGEST_WAIT_SECONDS))


def _now() -> datetime:
    return datetime.now(UTC)


def chosen_grading(session: Session, learner_id: str, assessment_id: str, policy: str) -> Grading | None:
    """The grading whose score goes to the LMS: the latest graded attempt, or the best one."""
    rows = session.execute(
        select(Grading, Submission.attempt).join(Submission, Grading.submission_id == Submission.id)
        .join(AssessmentVersion, Submission.assessment_pk == AssessmentVersion.pk)
        .where(Submission.learner_id == learner_id, AssessmentVersion.assessment_id == assessment_id)
        .order_by(Grading.id)).tuples().all()
    current: dict[int, tuple[Grading, int]] = {}
    for grading, attempt in rows:  # a submission's newest grading counts (manual grades amend)
        current[grading.submission_id] = (grading, attempt)
    graded = [(g, a) for g, a in current.values() if g.status == "graded" and not g.errors]
    if not graded:
        return None
    if policy == "best":
        return max(graded, key=lambda ga: (ga[0].score / ga[0].max_score if ga[0].max_score else 0.0,
                                           ga[1], ga[0].id))[0]
    return max(graded, key=lambda ga: (ga[1], ga[0].id))[0]


def _comment(session: Session, grading: Grading, base_url: str) -> str:
    parts = [f"{r.name}: {r.score:g}/{r.max_score:g} {'passed' if r.passed else 'not yet'}"
             for r in session.scalars(select(CompetencyResult)
                                      .where(CompetencyResult.grading_id == grading.id))]
    based = [grading.id] + ([grading.based_on] if grading.based_on else [])
    credential = session.scalars(select(IssuedCredential.id).where(
        IssuedCredential.grading_id.in_(based), IssuedCredential.status == "active")).first()
    if credential:
        parts.append(f"Badge: {base_url}/credentials/{credential}")
    return "; ".join(parts)[:1000]


def score_payload(session: Session, grading: Grading, subject: str, base_url: str) -> dict[str, Any]:
    """The AGS 2.0 Score (application/vnd.ims.lis.v1.score+json) for ``grading``."""
    return {
        "userId": subject,
        "scoreGiven": round(float(grading.score), 4),
        "scoreMaximum": round(float(grading.max_score), 4),
        "activityProgress": "Completed",
        "gradingProgress": "PendingManual" if grading.needs_manual else "FullyGraded",
        "timestamp": _now().isoformat(timespec="milliseconds"),
        "comment": _comment(session, grading, base_url),
    }


def queue_for(session: Session, settings: Settings, *, learner_id: str, assessment_id: str) -> int:
    """Queue the score of ``learner_id`` on ``assessment_id`` for every link they launched it from."""
    users = list(session.scalars(select(User.id).where(User.learner_id == learner_id)))
    if not users:
        return 0
    targets = session.execute(
        select(LtiLink, LtiLinkUser).join(LtiLinkUser, LtiLinkUser.link_id == LtiLink.id)
        .where(LtiLink.assessment_id == assessment_id, LtiLinkUser.user_id.in_(users))).tuples().all()
    targets = [(link, member) for link, member in targets if c.SCOPE_SCORE in (link.scopes or [])
               and (link.lineitem or link.lineitems)]
    if not targets:
        return 0
    grading = chosen_grading(session, learner_id, assessment_id, settings.score_policy(assessment_id))
    if grading is None:
        return 0
    queued = 0
    for link, member in targets:
        payload = score_payload(session, grading, member.subject, settings.public_base_url.rstrip("/"))
        last = session.scalars(select(LtiScore.payload).where(
            LtiScore.link_id == link.id, LtiScore.user_id == member.user_id)
            .order_by(LtiScore.id.desc()).limit(1)).first()
        if last is not None and all(last.get(k) == payload.get(k) for k in COMPARED):
            continue
        queued += _insert(session, link.id, member.user_id, grading.id, payload)
    return queued


def _insert(session: Session, link_id: int, user_id: int, grading_id: int, payload: dict[str, Any]) -> int:
    now = _now()
    row = {"link_id": link_id, "user_id": user_id, "grading_id": grading_id,
           "dedupe_key": f"{link_id}:{user_id}:{grading_id}", "payload": payload, "status": "pending",
           "tries": 0, "next_attempt_at": now, "created_at": now}
    statement = conflict_insert(session, LtiScore).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = session.execute(statement.returning(LtiScore.id), [row])
    return len(result.all())


@dataclass
class PostReport:
    """What one pass over the queue did."""

    posted: int = 0
    failed: int = 0
    deferred: int = 0


class ScorePoster:
    """Posts what the score queue holds (``post_pending``), sharing it with other processes."""

    def __init__(self, settings: Settings, store: Store, *, tokens: services.Tokens | None = None,
                 worker: str | None = None) -> None:
        self.settings = settings
        self.store = store
        self.tokens = tokens or services.Tokens()
        self.worker = worker or f"lti-{uuid.uuid4().hex[:12]}"

    def sign(self, payload: dict[str, Any]) -> str:
        """``payload`` signed with the tool's current key."""
        passphrase = self.settings.key_passphrase.get_secret_value()
        keys.ensure(self.store.engine, passphrase)
        with self.store.session() as session:
            return keys.sign(session, passphrase, payload)

    def claim(self, *, due_only: bool = True) -> list[int]:
        now = _now()
        claimable = or_(LtiScore.status == "pending",
                        and_(LtiScore.status == "posting", LtiScore.lease_until < now))
        due = and_(claimable, LtiScore.next_attempt_at <= now) if due_only else claimable
        tag = f"{self.worker}:{uuid.uuid4().hex[:8]}"
        with self.store.session() as session:
            chosen = list(session.scalars(select(LtiScore.id).where(due).order_by(LtiScore.id).limit(BATCH)))
            if not chosen:
                return []
            session.execute(update(LtiScore).where(LtiScore.id.in_(chosen), claimable).values(
                status="posting", claimed_by=tag, tries=LtiScore.tries + 1,
                lease_until=now + timedelta(seconds=self.settings.lti_lease_seconds))
                .execution_options(synchronize_session=False))
        with self.store.session() as session:
            return list(session.scalars(select(LtiScore.id).where(
                LtiScore.claimed_by == tag, LtiScore.status == "posting").order_by(LtiScore.id)))

    def post_pending(self, *, due_only: bool = True) -> PostReport:
        """Post claimed batches until none is left; never raises for a platform's failure."""
        report = PostReport()
        while batch := self.claim(due_only=due_only):
            for score_id in batch:
                self._post_one(score_id, report)
        return report

    def _target(self, score_id: int) -> tuple[LtiScore, LtiLink, services.Registration]:
        with self.store.session() as session:
            row = session.get(LtiScore, score_id)
            link = session.get(LtiLink, row.link_id) if row else None
            deployment = session.get(LtiDeployment, link.deployment_pk) if link else None
            platform = session.get(LtiPlatform, deployment.platform_id) if deployment else None
            if row is None or link is None or platform is None:
                raise LookupError(score_id)
            session.expunge_all()
            return row, link, services.Registration(platform.issuer, platform.client_id,
                                                    platform.auth_token_url, platform.token_audience)

    def _post_one(self, score_id: int, report: PostReport) -> None:
        try:
            row, link, registration = self._target(score_id)
        except LookupError:
            return
        try:
            lineitem = link.lineitem or self._create_lineitem(
                link, registration, float(row.payload.get("scoreMaximum") or 100.0))
            services.post_score(self.tokens, registration, self.sign, lineitem, dict(row.payload))
        except PlatformCallFailed as exc:
            self._defer(row, str(exc), retry=exc.retry, report=report)
            return
        self._finish(row, "posted", None)
        report.posted += 1

    def _create_lineitem(self, link: LtiLink, registration: services.Registration,
                         score_maximum: float) -> str:
        assert link.lineitems is not None
        with self.store.session() as session:
            title = session.scalars(select(AssessmentVersion.title).where(
                AssessmentVersion.assessment_id == link.assessment_id)
                .order_by(AssessmentVersion.pk.desc()).limit(1)).first()
        url = services.find_or_create_lineitem(
            self.tokens, registration, self.sign, link.lineitems, resource_link_id=link.resource_link_id,
            resource_id=f"nbcred:{link.assessment_id}", label=title or link.title or link.assessment_id,
            score_maximum=score_maximum)
        with self.store.session() as session:
            session.execute(update(LtiLink).where(LtiLink.id == link.id, LtiLink.lineitem.is_(None))
                            .values(lineitem=url).execution_options(synchronize_session=False))
        return url

    def _finish(self, row: LtiScore, status: str, reason: str | None) -> None:
        values: dict[str, Any] = {"status": status, "lease_until": None, "last_error": reason}
        if status == "posted":
            values["posted_at"] = _now()
        with self.store.session() as session:
            mine = (LtiScore.id == row.id) & (LtiScore.claimed_by == row.claimed_by)
            session.execute(update(LtiScore).where(mine)
                            .values(**values).execution_options(synchronize_session=False))

    def _defer(self, row: LtiScore, reason: str, *, retry: bool, report: PostReport) -> None:
        give_up = not retry or row.tries >= self.settings.lti_max_tries
        with self.store.session() as session:
            mine = (LtiScore.id == row.id) & (LtiScore.claimed_by == row.claimed_by)
            session.execute(update(LtiScore).where(mine)
                            .values(status="failed" if give_up else "pending", lease_until=None,
                                    last_error=reason[:2000], next_attempt_at=_now() + backoff(row.tries))
                            .execution_options(synchronize_session=False))
        if give_up:
            report.failed += 1
        else:
            report.deferred += 1
        log.warning("posting score %d to the LMS %s: %s", row.id, "failed" if give_up else "deferred", reason)


def retry(session: Session, ids: list[int] | None = None) -> int:
    """Queue failed scores (all, or those of ``ids``) again with a fresh count of tries."""
    statement = update(LtiScore).where(LtiScore.status == "failed")
    if ids:
        statement = statement.where(LtiScore.id.in_(ids))
    result = session.execute(statement.values(status="pending", tries=0, next_attempt_at=_now())
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


class PosterThread:
    """Posts due scores every ``lti_poll_seconds`` in a background thread (``nbcred serve``)."""

    def __init__(self, settings: Settings, store: Store, *, tokens: services.Tokens | None = None) -> None:
        self.poster = ScorePoster(settings, store, tokens=tokens)
        self.poll = settings.lti_poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nbcred-lti-scores", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A score was queued: look now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poster.post_pending()
            except Exception:  # a database hiccup: try again at the next poll
                log.exception("the LTI score poster failed; retrying")
            self._wake.wait(self.poll)
            self._wake.clear()

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
