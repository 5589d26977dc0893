"""What a monitoring system scrapes (``GET /metrics``, Prometheus text format): queue depth,
grading workers alive, and the grading rate.

Everything is read from the shared services, never from this process's memory, so every app
process reports the same figures: submissions by status from the gradebook, tasks waiting in the
broker's queue, workers that beat in the last 30 seconds (``nbcred:worker:<queue>:<name>`` keys each
worker renews in the result backend), and gradings recorded in the last minute and five minutes.
"""

from __future__ import annotations

import hmac
import logging
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Gauge, generate_latest
from sqlalchemy import func, select

from nbcred.service.context import ServiceContext
from nbcred.store.models import Grading, WebSubmission

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
WINDOWS = (60, 300)


def token_allowed(ctx: ServiceContext, token: str) -> bool:
    """Whether ``token`` is the monitoring token of ``NBCRED_METRICS_TOKEN``."""
    expected = ctx.settings.metrics_token
    return expected is not None and bool(token) and hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode())


def render(ctx: ServiceContext) -> bytes:
    """The metrics page."""
    registry = CollectorRegistry()
    submissions = Gauge("nbcred_submissions", "Web submissions by status.", ["status"], registry=registry)
    with ctx.store.session() as session:
        counts = dict(session.execute(
            select(WebSubmission.status, func.count()).group_by(WebSubmission.status)).all())
        now = datetime.now(UTC)
        recent = {seconds: session.scalar(select(func.count()).select_from(Grading).where(
            Grading.graded_at >= now - timedelta(seconds=seconds))) or 0 for seconds in WINDOWS}
        total = session.scalar(select(func.count()).select_from(Grading)) or 0
    for status in ("queued", "running", "graded", "error"):
        submissions.labels(status).set(counts.get(status, 0))
    Gauge("nbcred_queue_depth", "Submissions waiting or being graded (queued + running).",
          registry=registry).set(counts.get("queued", 0) + counts.get("running", 0))
    rate = Gauge("nbcred_grading_rate_per_minute", "Gradings recorded per minute, over a window.",
                 ["window"], registry=registry)
    for seconds, count in recent.items():
        rate.labels(f"{seconds}s").set(count * 60 / seconds)
    Gauge("nbcred_gradings", "Gradings recorded in the gradebook.", registry=registry).set(total)
    if ctx.settings.executor == "celery":
        _celery(ctx, registry)
    return generate_latest(registry)


def _celery(ctx: ServiceContext, registry: CollectorRegistry) -> None:
    import redis

    from nbcred.executors.celery_app import CelerySettings, graded_key, worker_key

    up = Gauge("nbcred_broker_up", "1 when the broker and result backend answered.", registry=registry)
    try:
        backend = redis.Redis.from_url(ctx.settings.result_backend, socket_timeout=2)
        queue = CelerySettings().queue
        workers = sum(1 for _ in backend.scan_iter(match=worker_key(queue) + "*", count=500))
        graded = int(backend.get(graded_key(queue)) or 0)
        waiting = 0
        if ctx.settings.broker_url.startswith(("redis://", "rediss://")):
            broker = redis.Redis.from_url(ctx.settings.broker_url, socket_timeout=2)
            waiting = int(broker.llen(queue))
    except redis.exceptions.RedisError as exc:
        log.warning("metrics: the broker or result backend did not answer: %s", exc)
        up.set(0)
        return
    up.set(1)
    Gauge("nbcred_workers", "Grading workers alive (a beat in the last 30 s).",
          registry=registry).set(workers)
    Gauge("nbcred_broker_queue_depth", "Grading tasks waiting in the broker's queue.",
          registry=registry).set(waiting)
    Gauge("nbcred_worker_gradings", "Submissions graded by workers (result backend counter).",
          registry=registry).set(graded)
