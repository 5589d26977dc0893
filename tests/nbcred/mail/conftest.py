"""Mail fixtures: a real SMTP server (aiosmtpd) that keeps what it accepted, and a fresh home
(the account tests in tests/nbcred/accounts use them too)."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.browsing import free_port
from tests.paths import ROOT

CATALOGUE = ROOT / "assessments"
BASE_URL = "https://badges.test"


@dataclass
class Mailbox:
    """What the SMTP server accepted, as parsed messages; ``gate`` may hold or refuse DATA."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[Any] = field(default_factory=list)
    """aiosmtpd's envelopes of the accepted messages (MAIL FROM, RCPT TO, options, raw bytes)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    gate: Callable[[EmailMessage], str | None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if self.gate is not None:
            answer = self.gate(message)
            if answer is not None:
                return answer
        with self.lock:
            self.messages.append(message)
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["To"] == address]

    def wait(self, count: int, timeout: float = 20) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"{len(self.messages)} message(s) arrived, expected {count}")


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def body_html(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def link(message: EmailMessage, prefix: str) -> str:
    found = re.search(re.escape(prefix) + r"[A-Za-z0-9_\-]+", body_text(message))
    assert found, f"no link beginning {prefix} in:\n{body_text(message)}"
    return found.group(0)


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self, *, smtputf8: bool = True, decode_data: bool = False) -> None:
        self.port = free_port()
        self.mailbox = Mailbox()
        self.controller: Controller | None = None
        self.options = {"enable_SMTPUTF8": smtputf8, "decode_data": decode_data}
        """aiosmtpd's defaults offer SMTPUTF8 and 8BITMIME; ``decode_data`` withdraws 8BITMIME."""

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port, **self.options)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer) -> Path:
    """NBCRED_* for a fresh home, the sample catalogue and the test SMTP server."""
    folder = tmp_path / "home"
    for name, value in {"HOME": str(folder), "CATALOGUE": str(CATALOGUE), "PUBLIC_BASE_URL": BASE_URL,
                        "BASE_URL": BASE_URL, "SMTP_URL": smtp.url, "MAIL_FROM": "Badges <badges@test>",
                        "WORKERS": "1"}.items():
        monkeypatch.setenv(f"NBCRED_{name}", value)
    monkeypatch.delenv("NBCRED_DATABASE_URL", raising=False)
    return folder


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """For tests whose database work is covered on both databases elsewhere (they start processes)."""
    return f"sqlite:///{tmp_path / 'gradebook.sqlite'}"
