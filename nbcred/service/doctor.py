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
        checks.append(_broker(settings.result_backend, "result backend"))
    if settings.executor == "celery" or settings.storage != "local":
        checks.append(_database(settings))
        checks.append(_storage(settings))
    return checks


def _database(settings: Settings) -> DoctorCheck:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    url = settings.resolved_database_url()
    try:
        engine = create_engine(url)
        try:
            with engine.connect() as connection:
                connection.execute(text("select 1"))
        finally:
            engine.dispose()
    except SQLAlchemyError as exc:
        return DoctorCheck("database", False, f"{redact(url)} unreachable: {exc.__class__.__name__}: "
                           f"{str(exc).splitlines()[0]} (check NBCRED_DATABASE_URL)")
    shared = not url.startswith("sqlite")
    return DoctorCheck("database", True, f"{redact(url)} answers" + (
        "" if shared else " (SQLite: this machine only)"))


def _storage(settings: Settings) -> DoctorCheck:
    from nbcred.storage import open_storage

    try:
        storage = open_storage(settings)
        detail = storage.check()
    except Exception as exc:  # any failure (a driver's, boto3's) is the report
        return DoctorCheck("store", False, f"NBCRED_STORAGE={settings.storage}: {exc}")
    if settings.executor == "celery" and not storage.shared:
        return DoctorCheck("store", True, f"{detail}; workers on other machines cannot reach it: "
                           "set NBCRED_STORAGE=database or s3://… on the app and every worker")
    return DoctorCheck("store", True, detail)


def _command_lines() -> DoctorCheck:
    exposed = exposed_secrets()
    if not exposed:
        return DoctorCheck("secrets: command lines", True, "no visible process has a URL with a password "
                     "in its command line (nbcred takes them from settings / the environment)")
    shown = "; ".join(f"pid {e.pid}: {e.command}" for e in exposed[:3])
    return DoctorCheck("secrets: command lines", False, f"{len(exposed)} process(es) show a password to "
                 f"every user: {shown} (move it to NBCRED_DATABASE_URL / NBCRED_BROKER_URL or a "
                 "password file)")


def _broker(url: str, what: str = "broker") -> DoctorCheck:
    if not url.startswith(("redis://", "rediss://")):
        return DoctorCheck(what, True, f"{redact(url)} (not checked: only Redis is probed)")
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError as exc:
        return DoctorCheck(what, False, f"Redis at {redact(url)} unreachable: {exc}")
    return DoctorCheck(what, True, f"Redis at {redact(url)} answers")
