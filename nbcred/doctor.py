"""``nbcred doctor``: what this machine's grader can isolate, and what it cannot and why."""

from __future__ import annotations

from dataclasses import dataclass

from grader.sandbox_probe import probe
from nbcred.cmdline import exposed_secrets, redact
from nbcred.settings import Settings


@dataclass(frozen=True)
class DoctorCheck:
    """One line of the doctor's report."""

    name: str
    ok: bool
    detail: str


def doctor_report(settings: Settings) -> list[DoctorCheck]:
    """Sandbox mechanisms (tried for real), the broker when Celery is configured, the workers."""
    checks = [DoctorCheck(f"sandbox: {m.name}", m.available, m.reason) for m in probe().mechanisms]
    checks.append(_command_lines())
    checks.append(DoctorCheck("workers", settings.workers >= 1, f"{settings.workers} local grading workers"))
    if settings.executor == "celery":
        checks.append(_broker(settings.broker_url))
    return checks


def _command_lines() -> DoctorCheck:
    exposed = exposed_secrets()
    if not exposed:
        return DoctorCheck("secrets: command lines", True, "no visible process has a URL with a password "
                     "in its command line (nbcred takes them from settings / the environment)")
    shown = "; ".join(f"pid {e.pid}: {e.command}" for e in exposed[:3])
    return DoctorCheck("secrets: command lines", False, f"{len(exposed)} process(es) show a password to "
                 f"every user: {shown} (move it to NBCRED_DATABASE_URL / NBCRED_BROKER_URL or a "
                 "password file)")


def _broker(url: str) -> DoctorCheck:
    if not url.startswith(("redis://", "rediss://")):
        return DoctorCheck("broker", True, f"{redact(url)} (not checked: only Redis is probed)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        return DoctorCheck("broker", False, f"Redis unreachable: {exc}")
    return DoctorCheck("broker", True, "Redis answers")
