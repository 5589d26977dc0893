"""``nbcred doctor``: what this machine's grader can isolate, and what it cannot and why."""

from __future__ import annotations

from dataclasses import dataclass

from grader.sandbox_probe import probe
from nbcred.settings import Settings


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def doctor_report(settings: Settings) -> list[Check]:
    """Sandbox mechanisms (tried for real), the broker when Celery is configured, the workers."""
    checks = [Check(f"sandbox: {m.name}", m.available, m.reason) for m in probe().mechanisms]
    checks.append(Check("workers", settings.workers >= 1, f"{settings.workers} local grading workers"))
    if settings.executor == "celery":
        checks.append(_broker(settings.broker_url))
    return checks


def _broker(url: str) -> Check:
    if not url.startswith(("redis://", "rediss://")):
        return Check("broker", True, f"{url.split('@')[-1]} (not checked: only Redis is probed)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        return Check("broker", False, f"Redis unreachable: {exc}")
    return Check("broker", True, "Redis answers")
