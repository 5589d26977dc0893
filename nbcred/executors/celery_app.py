"""Grade on Celery workers: any number of machines, at-least-once delivery, idempotent grading.

Start a worker (one process per core is usual; each runs one notebook at a time)::

    celery -A nbcred.executors.celery_app worker --pool=solo --queues=nbcred --loglevel=INFO

Reliability: tasks are acknowledged *late* (after grading) and rejected back to the queue if the
worker process is lost; with the Redis broker an unacknowledged message of a worker killed
outright (``kill -9``) is delivered again after the visibility timeout. Every task is keyed by
``<learner>:<assessment fingerprint>:<content hash>`` — the gradebook's unique key — and its
result is stored once under that key (``SET NX``), so a redelivered task returns the stored
result instead of grading again, and the parent receives exactly one result per submission.

Results travel back through the result backend; the parent process records them in the gradebook
(workers never open the database), so workers need only the broker, the assessment and
submission folders (a shared filesystem) and the settings.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import redis
from celery import Celery
from celery.result import AsyncResult, ResultSet
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from grader.grade import content_hash, learner_id
from grader.results import CellScore, CompetencyScore, GradeResult, IntegrityFlag, TestFeedback
from nbcred.executors.work import JobGrader, error_result
from nbcred.pipeline import GradeJob
from nbcred.settings import Settings


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
    return app


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


_graders: dict[int, JobGrader] = {}


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


def _grade_task(self: Any, assessment: str, submission: str, learner: str | None, key: str) -> str:
    """Grade one submission, at most once per key: a stored result is returned as it is."""
    settings: Settings = self.app.conf.nbcred_settings
    extra: CelerySettings = self.app.conf.nbcred_extra
    store = redis.Redis.from_url(settings.result_backend)
    done = f"nbcred:result:{key}"
    stored = store.get(done)
    if isinstance(stored, bytes):
        return stored.decode()
    lock = f"nbcred:grading:{key}"
    if not store.set(lock, self.request.hostname or "worker", nx=True, ex=extra.visibility_timeout):
        raise self.retry(countdown=2)  # another worker is grading this very submission
    try:
        grader = _graders.setdefault(id(self.app), JobGrader(settings, extra.runner))
        result = grader.grade(GradeJob(assessment, submission, learner))
        text = to_json(result)
        if not result.content_hash:  # not graded at all (e.g. missing folder): do not pin it
            return text
        if not store.set(done, text, nx=True, ex=extra.result_ttl):
            again = store.get(done)  # another delivery finished first: its result is the one
            if isinstance(again, bytes):
                text = again.decode()
        return text
    finally:
        store.delete(lock)


class CeleryExecutor:
    """Sends each job to the Celery queue and reports results as workers finish them."""

    def __init__(self, *, settings: Settings, extra: CelerySettings | None = None) -> None:
        self.settings = settings
        self.app = make_app(settings, extra)
        self._grader = JobGrader(settings, "plain")  # loads assessments for keys; never runs kernels

    def key(self, job: GradeJob) -> str:
        """The job's idempotency key: learner, assessment fingerprint, submission content hash."""
        try:
            assessment = self._grader.assessment(job.assessment)
        except Exception:
            return f"{job.learner}:{job.assessment}:{job.submission}".replace("/", "_")
        submission = Path(job.submission)
        learner = job.learner or learner_id(submission, assessment)
        digest = content_hash(submission, assessment) if submission.is_dir() else "missing"
        return f"{learner}:{assessment.fingerprint}:{digest}"

    def grade(
        self, jobs: Sequence[GradeJob], *, on_result: Callable[[GradeJob, GradeResult], None]
    ) -> None:
        """Queue every job, then call ``on_result`` once per job as results arrive."""
        waiting: dict[str, list[GradeJob]] = {}
        for job in jobs:
            key = self.key(job)
            if key not in waiting:
                args = [str(Path(job.assessment).resolve()), str(Path(job.submission).resolve()),
                        job.learner, key]
                self.app.send_task("nbcred.grade", args=args, task_id=key)
            waiting.setdefault(key, []).append(job)

        def arrived(task_id: str, value: Any) -> None:
            for job in waiting.pop(task_id, []):
                result = from_json(value) if isinstance(value, str) else error_result(
                    job, f"the grading task failed: {value!r}")
                on_result(job, result)

        ResultSet([AsyncResult(k, app=self.app) for k in list(waiting)], app=self.app).join_native(
            callback=arrived, propagate=False)


app = make_app(Settings())
