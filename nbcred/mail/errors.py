"""Errors of the mail package.

    NbcredError
    └── MailError              base: mail cannot be queued or sent
        └── SmtpSettingsError  NBCRED_SMTP_URL / NBCRED_SMTP_PASSWORD are unusable
"""

from __future__ import annotations

from nbcred.errors import NbcredError


class MailError(NbcredError):
    """Mail cannot be queued or sent; the message says what to do."""


class SmtpSettingsError(MailError):
    """The SMTP settings are unusable (bad URL, password missing or in the URL)."""
