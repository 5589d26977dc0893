"""Account tests use the mail tests' fixtures: a real SMTP server, a fresh home, a SQLite URL."""

from __future__ import annotations

from tests.nbcred.mail.conftest import home, smtp, sqlite_url

__all__ = ["home", "smtp", "sqlite_url"]
