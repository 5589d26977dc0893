"""Grade on Celery workers: any number of machines, at-least-once delivery, idempotent grading.

Start a worker (one process per core is usual; each runs one notebook at a time)::

    celery -A nbcred.executors.celery_app worker --pool=solo --queues=nbcred --loglevel=INFO

Reliability: tasks are acknowledged *late* (after grading) and rejected back to the queue if the
worker process is lost; with the Redis broker an unacknowledged message of a worker killed
outright (``kill -9``) is delivered again after the visibility timeout. Every task is keyed by
``<learner>:<assessment fingerprint>:<content hash>`` — the gradebook's unique key — and its
result is stored once under that key (``SET NX``), so a redelivered task returns the stored
result instead of grading again, and the parent receives exactly one result per submission.

Tasks carry identifiers, never paths (:mod:`nbcred.executors.shipping`): the assessment's
fingerprint and the submission's content hash, whose bytes the sender put in the shared store
(``NBCRED_STORAGE``). A worker fetches each assessment version once, grades, and ships the
feedback page and executed notebooks back through the store; the result itself travels through
the result backend and the sending process records it in the gradebook. So a worker needs only
the package and the settings: the broker, the result backend and the store (with
``NBCRED_STORAGE=database``, the database) — no checkout, no catalogue, no shared folder.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.result import AsyncResult, ResultSet
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from grader.grade import learner_id
from grader.results import CellScore, CompetencyScore, GradeResult, IntegrityFlag, TestFeedback
from nbcred.executors.shipping import (
    AssessmentCache,
    Ticket,
    fetch_submission,
    receive_feedback,
    ship_assessment,
    ship_feedback,
    ship_submission,
)
from nbcred.executors.work import JobGrader, error_result
from nbcred.pipeline import GradeJob
from nbcred.settings import Settings
from nbcred.storage import open_storage


class CelerySettings(BaseSettings):
    """Celery-only settings (``NBCRED_CELERY_*``)."""

    model_config = SettingsConfigDict(env_prefix="NBCRED_CELERY_", extra="ignore")

    queue: str = Field("nbcred", description="Queue the grading tasks go to.")
    visibility_timeout: int = Field(3600, description="Seconds before an unacknowledged task is redelivered "
                                    "(Redis broker); longer than the slowest submission.")
    result_ttl: int = Field(7 * 24 * 3600, description="Seconds results are kept under their key.")
    runner: str = Field("auto", description="auto, inprocess, forked, sandboxed or plain (see get_executor).")


def make_app(settings: Settings, extra: CelerySettings | None = None) -> Celery:
    """The Celery application for ``settings``."""
    extra = extra or CelerySettings()
    app = Celery("nbcred", broker=settings.broker_url, backend=settings.result_backend)
    app.conf.update(
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        task_default_queue=extra.queue, task_serializer="json", result_serializer="json",
        accept_content=["json"], result_expires=extra.result_ttl, task_track_started=True,
        broker_transport_options={"visibility_timeout": extra.visibility_timeout},
        result_backend_transport_options={"visibility_timeout": extra.visibility_timeout},
        broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
    )
    app.conf.nbcred_settings = settings
    app.conf.nbcred_extra = extra
    app.task(name="nbcred.grade", bind=True, max_retries=None)(_grade_task)
    from nbcred.bulk.celery_signing import TASK, bulk_sign_task

    app.task(name=TASK, bind=True)(bulk_sign_task)
    _mail_on_workers(settings)
    _heartbeat_on_workers(settings, extra.queue)
    return app


HEARTBEAT_SECONDS = 10
WORKER_KEY = "nbcred:worker:"


def worker_key(queue: str) -> str:
    """Where the workers of ``queue`` beat: ``nbcred:worker:<queue>:<name>`` (two deployments
    sharing one Redis each count only their own workers)."""
    return f"{WORKER_KEY}{queue}:"


def graded_key(queue: str) -> str:
    """The counter of submissions the workers of ``queue`` graded."""
    return f"nbcred:metrics:graded:{queue}"


def _heartbeat_on_workers(settings: Settings, queue: str) -> None:
    """Each worker process says it is alive in the result backend (``nbcred:worker:<queue>:<name>``,
    expiring after three missed beats): ``/metrics`` counts them."""
    import threading

    from celery import signals

    def started(sender: Any = None, **_: Any) -> None:
        name = worker_key(queue) + str(getattr(sender, "hostname", None) or "worker")
        client = redis.Redis.from_url(settings.result_backend)

        def beat() -> None:
            while True:
                with contextlib.suppress(redis.exceptions.RedisError):
                    client.set(name, "1", ex=3 * HEARTBEAT_SECONDS)
                time.sleep(HEARTBEAT_SECONDS)

        threading.Thread(target=beat, name="nbcred-heartbeat", daemon=True).start()

    signals.worker_ready.connect(started, weak=False)


_mailers: list[Any] = []


def _mail_on_workers(settings: Settings) -> None:
    """With ``NBCRED_SMTP_URL`` set, each worker process also delivers the outbox (it then needs
    ``NBCRED_DATABASE_URL``, the only time a worker opens the gradebook)."""
    if not settings.smtp_url:
        return
    from celery import signals

    def started(**_: Any) -> None:
        from nbcred.mail import SenderThread
        from nbcred.store import Store

        mailer = SenderThread(settings, Store.open(settings.resolved_database_url()))
        mailer.start()
        _mailers.append(mailer)

    def stopping(**_: Any) -> None:
        while _mailers:
            _mailers.pop().close()

    signals.worker_ready.connect(started, weak=False)
    signals.worker_shutdown.connect(stopping, weak=False)


_graders: dict[int, WorkerGrader] = {}


def to_json(result: GradeResult) -> str:
    """A GradeResult as JSON text (every field)."""
    return json.dumps(dataclasses.asdict(result))


def from_json(text: str | bytes) -> GradeResult:
    """The GradeResult :func:`to_json` wrote."""
    data = json.loads(text)
    data["cells"] = [CellScore(**c) for c in data["cells"]]
    data["competencies"] = [CompetencyScore(**c) for c in data["competencies"]]
    data["tests"] = [TestFeedback(**t) for t in data["tests"]]
    data["integrity"] = [IntegrityFlag(**f) for f in data.get("integrity", [])]
    return GradeResult(**data)


class WorkerGrader:
    """What one worker process keeps between tasks: the store, assessment versions by fingerprint
    (fetched once), and the job grader (its runner, built once)."""

    def __init__(self, settings: Settings, runner: str) -> None:
        self.settings = settings
        self.storage = open_storage(settings)
        self.cache = (settings.home.expanduser() / "cache").resolve()
        self.assessments = AssessmentCache(self.storage, self.cache)
        self.jobs = JobGrader(settings, runner)

    def grade(self, ticket: Ticket) -> GradeResult:
        """Fetch, grade, ship the feedback back; every failure becomes an error in the result."""
        try:
            assessment = self.assessments.get(ticket.fingerprint, ticket.assessment)
            folder = fetch_submission(self.storage, ticket.assessment, ticket.submission, self.cache)
        except Exception as exc:  # nothing to grade: say what is missing, do not pin the result
            return GradeResult(
                learner=ticket.learner, assessment=ticket.assessment, assessment_version="", score=0.0,
                max_score=0.0, passed=False, cells=[], competencies=[], tampered_cells=[],
                errors=[f"the worker could not fetch the job's content: {exc}" + self._hint()],
                content_hash="")
        self.jobs.adopt(assessment)
        result = self.jobs.grade(GradeJob(str(assessment.root), str(folder), ticket.learner))
        feedback_root = (self.settings.home.expanduser() / "feedback").resolve()
        return ship_feedback(self.storage, feedback_root, result)


    def _hint(self) -> str:
        if self.storage.shared:
            return ""
        return (f" (NBCRED_STORAGE={self.settings.storage}: a worker sees only what a sender with the same "
                "NBCRED_HOME stored; on other machines set NBCRED_STORAGE=database or s3://… on both)")


def _grade_task(self: Any, ticket: dict[str, Any]) -> str:
    """Grade one submission, at most once per key: a stored result is returned as it is."""
    settings: Settings = self.app.conf.nbcred_settings
    extra: CelerySettings = self.app.conf.nbcred_extra
    job = Ticket.from_json(ticket)
    store = redis.Redis.from_url(settings.result_backend)
    # keyed by queue too: two deployments (or a stray worker of another) sharing one Redis never
    # answer each other's submissions with a result whose files live in another store
    done = f"nbcred:result:{extra.queue}:{job.key}"
    stored = store.get(done)
    if isinstance(stored, bytes):
        return stored.decode()
    lock = f"nbcred:grading:{extra.queue}:{job.key}"
    if not store.set(lock, self.request.hostname or "worker", nx=True, ex=extra.visibility_timeout):
        raise self.retry(countdown=2)  # another worker is grading this very submission
    try:
        grader = _graders.get(id(self.app))
        if grader is None:
            grader = _graders[id(self.app)] = WorkerGrader(settings, extra.runner)
        result = grader.grade(job)
        text = to_json(result)
        if not result.content_hash:  # not graded at all (e.g. content missing): do not pin it
            return text
        if not store.set(done, text, nx=True, ex=extra.result_ttl):
            again = store.get(done)  # another delivery finished first: its result is the one
            if isinstance(again, bytes):
                text = again.decode()
        store.incr(graded_key(extra.queue))
        return text
    finally:
        store.delete(lock)


class CeleryExecutor:
    """Ships each job's content to the shared store, queues a ticket naming it, and reports
    results as workers finish them (their feedback files pulled into this process's home)."""

    def __init__(self, *, settings: Settings, extra: CelerySettings | None = None,
                 pull_feedback: bool = True) -> None:
        self.settings = settings
        self.pull_feedback = pull_feedback  # False: fetched on first view (the web service does)
        self.app = make_app(settings, extra)
        self.storage = open_storage(settings)
        self._grader = JobGrader(settings, "plain")  # loads assessments for keys; never runs kernels

    def ticket(self, job: GradeJob) -> Ticket | None:
        """The job as a ticket, its content shipped; None if it cannot be graded at all."""
        try:
            assessment = self._grader.assessment(job.assessment)
        except Exception:
            return None
        submission = Path(job.submission)
        if not submission.is_dir():
            return None
        learner = job.learner or learner_id(submission, assessment)
        ship_assessment(self.storage, assessment)
        digest = ship_submission(self.storage, assessment, submission)
        return Ticket(assessment.id, assessment.fingerprint, digest, learner,
                      f"{learner}:{assessment.fingerprint}:{digest}")

    def grade(
        self, jobs: Sequence[GradeJob], *, on_result: Callable[[GradeJob, GradeResult], None]
    ) -> None:
        """Queue every job, then call ``on_result`` once per job as results arrive."""
        waiting: dict[str, list[GradeJob]] = {}
        for job in jobs:
            ticket = self.ticket(job)
            if ticket is None:
                on_result(job, self._grader.grade(job))  # reports why (missing folder, bad assessment)
                continue
            # the task id names the queue: two deployments sharing one result backend never read
            # each other's results for the same learner, assessment version and notebooks
            task_id = f"{self.app.conf.nbcred_extra.queue}:{ticket.key}"
            if task_id not in waiting:
                # a result left under this id by an earlier run (an error, say) is not this run's
                AsyncResult(task_id, app=self.app).forget()
                self.app.send_task("nbcred.grade", args=[ticket.as_json()], task_id=task_id)
            waiting.setdefault(task_id, []).append(job)
        feedback_root = (self.settings.home.expanduser() / "feedback").resolve()

        def arrived(task_id: str, value: Any) -> None:
            for job in waiting.pop(task_id, []):
                if isinstance(value, str):
                    result = receive_feedback(self.storage, feedback_root, from_json(value),
                                              fetch=self.pull_feedback)
                else:
                    result = error_result(job, f"the grading task failed: {value!r}")
                on_result(job, result)

        if waiting:
            ResultSet([AsyncResult(k, app=self.app) for k in list(waiting)], app=self.app).join_native(
                callback=arrived, propagate=False)


app = make_app(Settings())
