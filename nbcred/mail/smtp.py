"""The SMTP connection named by ``NBCRED_SMTP_URL`` (smtplib: plain, STARTTLS or TLS).

``smtp://host:25`` sends in the clear (a local relay), ``smtp+starttls://user@host:587`` upgrades
with STARTTLS, ``smtps://user@host:465`` connects over TLS. A user in the URL logs in with the
password from ``NBCRED_SMTP_PASSWORD``; a password written in the URL is refused.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from nbcred.mail.errors import SmtpSettingsError
from nbcred.settings import Settings

DEFAULT_PORTS = {"smtp": 25, "smtp+starttls": 587, "smtps": 465}
TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to send."""

    scheme: str
    host: str
    port: int
    user: str | None

    def describe(self) -> str:
        """The server without credentials, for messages and logs."""
        who = f"{self.user}@" if self.user else ""
        return f"{self.scheme}://{who}{self.host}:{self.port}"


def parse_smtp_url(url: str) -> SmtpTarget:
    """The parts of an ``NBCRED_SMTP_URL``; a clear error for anything else."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise SmtpSettingsError(
            f"NBCRED_SMTP_URL {url!r}: use smtp://host:25, smtp+starttls://user@host:587 or "
            "smtps://user@host:465")
    if parts.password is not None:
        raise SmtpSettingsError("NBCRED_SMTP_URL holds a password: remove it from the URL and set "
                                "NBCRED_SMTP_PASSWORD instead")
    if not parts.hostname:
        raise SmtpSettingsError(f"NBCRED_SMTP_URL {url!r} names no host")
    try:
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError as exc:
        raise SmtpSettingsError(f"NBCRED_SMTP_URL {url!r}: {exc}") from exc
    user = unquote(parts.username) if parts.username else None
    return SmtpTarget(scheme, parts.hostname, port, user)


def connect(settings: Settings) -> smtplib.SMTP:
    """An open (and logged-in) connection to the configured server."""
    if not settings.smtp_url:
        raise SmtpSettingsError("no mail server: set NBCRED_SMTP_URL (e.g. smtp://127.0.0.1:25)")
    target = parse_smtp_url(settings.smtp_url)
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    if target.user and not password:
        raise SmtpSettingsError(f"NBCRED_SMTP_URL names user {target.user!r}: set NBCRED_SMTP_PASSWORD")
    context = ssl.create_default_context() if target.scheme != "smtp" else None
    client: smtplib.SMTP
    if target.scheme == "smtps":
        client = smtplib.SMTP_SSL(target.host, target.port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        client = smtplib.SMTP(target.host, target.port, timeout=TIMEOUT_SECONDS)
    try:
        client.ehlo()
        if target.scheme == "smtp+starttls":
            client.starttls(context=context)
            client.ehlo()
        if target.user and password:
            client.login(target.user, password)
    except BaseException:
        client.close()
        raise
    return client
