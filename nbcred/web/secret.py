"""The secret that signs session cookies and CSRF tokens: never one built into the code.

``NBCRED_SESSION_SECRET`` when set (every app process must share it). Unset, a service on a loopback
address uses a random secret made on first run and kept in ``<NBCRED_HOME>/session-secret`` (mode
0600), the same on later runs; a service reachable from other machines refuses to start without it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
import threading
from pathlib import Path

from nbcred.errors import NbcredError
from nbcred.settings import Settings

SECRET_FILE = "session-secret"
SHORTEST = 32  # characters; shorter secrets are accepted with a warning
#: The value earlier versions used when none was set: public, so never accepted.
RETIRED = frozenset({"nbcred-development-session-secret"})
HOW_TO_SET = ("set NBCRED_SESSION_SECRET to a long random value, the same in every app process, e.g. "
              "export NBCRED_SESSION_SECRET=\"$(python3 -c "
              "'import secrets; print(secrets.token_urlsafe(48))')\"")


class SessionSecretError(NbcredError):
    """No usable session secret: the message says how to set one."""


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1); any other host is not."""
    name = host.strip().strip("[]").lower()
    if name in ("localhost", "localhost.", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_for_host(settings: Settings, host: str) -> None:
    """Refuse to serve on a non-loopback ``host`` without ``NBCRED_SESSION_SECRET``."""
    if _configured(settings) is None and not is_loopback(host):
        raise SessionSecretError(
            f"NBCRED_SESSION_SECRET is not set, and {host} is reachable from other machines: "
            f"{HOW_TO_SET}. (On 127.0.0.1 a random secret is made and kept in NBCRED_HOME.)")


def _configured(settings: Settings) -> str | None:
    value = settings.session_secret.get_secret_value() if settings.session_secret else ""
    if not value:
        return None
    if value in RETIRED:
        raise SessionSecretError(f"NBCRED_SESSION_SECRET is a published example value: {HOW_TO_SET}")
    return value


def session_secret(settings: Settings) -> str:
    """The configured secret, else the one kept in ``NBCRED_HOME`` (made on first use)."""
    configured = _configured(settings)
    if configured is not None:
        return configured
    return _kept_secret(settings.home / SECRET_FILE)


def is_short(settings: Settings) -> bool:
    """The configured secret is shorter than advised."""
    configured = _configured(settings)
    return configured is not None and len(configured) < SHORTEST


def _kept_secret(path: Path) -> str:
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)  # atomic: the first process to get here wins, others read its file
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
        return _read(path)
    except OSError as exc:
        raise SessionSecretError(f"cannot keep a session secret in {path}: {exc}; {HOW_TO_SET}") from exc


def _read(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SessionSecretError(
            f"{path} can be read by other users (mode {stat.S_IMODE(mode):o}): "
            f"chmod 600 {path}, or delete it to make a new one (everyone is signed out)")
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < SHORTEST:
        raise SessionSecretError(f"{path} holds no usable secret: delete it to make a new one")
    return value


class LazySecret:
    """The session secret, found on first use (an app built but never asked needs no ``NBCRED_HOME``)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._value: str | None = None
        self._lock = threading.Lock()

    def get(self) -> str:
        with self._lock:
            if self._value is None:
                self._value = session_secret(self._settings)
            return self._value
