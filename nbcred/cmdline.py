"""Keeping secrets off command lines, where every process on the machine can read them.

A process's arguments are world-readable in ``/proc/<pid>/cmdline``. Database and broker URLs
with a password therefore come from settings (``NBCRED_DATABASE_URL``, ``NBCRED_BROKER_URL``,
``NBCRED_RESULT_BACKEND``) or a password file (PostgreSQL: ``~/.pgpass`` / ``PGPASSFILE``),
never from an option; nbcred passes them to its workers through settings, never in an argv.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

#: ``scheme://user:password@host`` (also ``redis://:password@host``).
_WITH_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][\w+.-]*)://(?P<user>[^/\s:@]*):(?P<pw>[^@\s/]+)@")


def has_password(text: str) -> bool:
    """Whether ``text`` holds a URL with a password in it."""
    return _WITH_PASSWORD.search(text) is not None


def redact(text: str) -> str:
    """``text`` with the password of every URL in it replaced by ``***``."""
    return _WITH_PASSWORD.sub(lambda m: f"{m['scheme']}://{m['user']}:***@", text)


def refuse_password(
    value: str | None, *, option: str = "--db", setting: str = "NBCRED_DATABASE_URL"
) -> str | None:
    """Raise ``ValueError`` saying how to pass the URL instead, if ``value`` carries a password."""
    if value and has_password(value):
        raise ValueError(
            f"{option} {redact(value)}: the URL holds a password, and a command line is readable by "
            f"every process on this machine; set it in the environment instead ({setting}=...) or "
            f"pass {option} without the password and keep it in a password file (PostgreSQL: "
            "~/.pgpass or PGPASSFILE)"
        )
    return value


def db_option(value: str | None) -> str | None:
    """Typer callback of every ``--db`` option: a URL with a password is refused (exit 2)."""
    import typer

    try:
        return refuse_password(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


@dataclass(frozen=True)
class Exposed:
    """A running process whose command line holds a URL with a password."""

    pid: int
    command: str  # redacted


def exposed_secrets(proc: Path = Path("/proc")) -> list[Exposed]:
    """Every visible process with a password in its command line (shown redacted)."""
    found = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        command = raw.replace(b"\0", b" ").decode(errors="replace").strip()
        if has_password(command):
            found.append(Exposed(int(entry.name), redact(command)[:200]))
    return sorted(found, key=lambda e: e.pid)
