"""Delivering the outbox: claim a batch with a lease, send over SMTP, mark each message sent.

A batch is claimed with one conditional UPDATE (only pending messages that are due, or messages
whose sender's lease ran out), so any number of senders — each ``nbcred serve`` process, each
Celery worker, ``nbcred mail flush`` — share the outbox without sending a message twice. A
message is marked sent in its own transaction right after the server accepted it. A sender that
dies between the server's acceptance and that commit leaves the message claimed; once the lease
runs out it is sent again: the only at-least-once window is that one message per sender.

Temporary failures (server down, 4xx replies) wait with growing delays; permanent ones (5xx) and
messages out of tries are marked failed with the reason (``nbcred mail retry`` queues them again).
"""

from __future__ import annotations

import functools
import logging
import smtplib
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import SMTPUTF8 as SMTPUTF8_POLICY
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr
from typing import Any

import idna
from sqlalchemy import Connection, Update, bindparam, null, or_, select, text, update

from nbcred.mail.errors import MailError
from nbcred.mail.outbox import SENT_BODY, Letter, letter_of
from nbcred.mail.smtp import connect
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import MailMessage

log = logging.getLogger(__name__)
BATCH = 200
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP  # readable in the raw message; the header stays as given
FIRST_WAIT_SECONDS = 5
LONGEST_WAIT_SECONDS = 3600


@dataclass
class SendReport:
    """What one pass over the outbox did."""

    sent: int = 0
    failed: int = 0
    deferred: int = 0
    error: str | None = None
    """Why sending stopped early (the server could not be reached), if it did."""


def backoff(tries: int) -> timedelta:
    """The wait after the ``tries``-th failed attempt: 5 s, doubling, at most an hour."""
    return timedelta(seconds=min(FIRST_WAIT_SECONDS * 2 ** max(0, tries - 1), LONGEST_WAIT_SECONDS))


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Extensions:
    """What the SMTP server said it takes (EHLO): 8-bit bodies, UTF-8 addresses and headers."""

    eight_bit: bool = False
    smtputf8: bool = False


PLAIN = Extensions()
_ASCII = Charset("us-ascii")  # 7bit
_UTF8_8BIT = Charset("utf-8")
_UTF8_8BIT.body_encoding = None  # type: ignore[assignment]  # 8bit as it is (BODY=8BITMIME)
SMTP_COMPAT = compat32.clone(linesep="\r\n")
"""How ``email.mime`` messages are written for a server without SMTPUTF8: their headers are
encoded already, so the generator need not parse them again (what the SMTP policy would do)."""
LONGEST_LINE = 998  # RFC 5321: longer lines must be encoded


@functools.cache
def _mark(sent: bool, drop_body: bool, subject: bool) -> Update:
    """The one-row update recording a message's outcome (built once per shape)."""
    values: dict[str, Any] = {"status": bindparam("m_status"), "lease_until": null(),
                              "last_error": bindparam("m_reason")}
    if subject:
        values["subject"] = bindparam("m_subject")
    if sent:
        values["sent_at"] = bindparam("m_sent_at")
    if drop_body:
        values.update(text_body=SENT_BODY, html_body=null(), template_values=null())
    return (update(MailMessage).where(MailMessage.id == bindparam("m_id"),
                                      MailMessage.claimed_by == bindparam("m_claim")).values(**values))


def _charset_for(server: Extensions) -> Callable[[str], Charset]:
    """How to write a body for ``server``: links stay whole in 7-bit and 8-bit bodies."""
    def choose(body: str) -> Charset:
        if max((len(line.encode()) for line in body.splitlines()), default=0) > LONGEST_LINE:
            return _UTF8
        if body.isascii():
            return _ASCII
        return _UTF8_8BIT if server.eight_bit else _UTF8
    return choose


def _ascii_domain(address: str) -> str:
    """``address`` with its domain in IDNA (``xn--``) form, so a plain SMTP server takes it."""
    local, at, domain = address.rpartition("@")
    if not at or domain.isascii():
        return address
    return f"{local}@{idna.encode(domain, uts46=True).decode('ascii')}"


def _header_address(address: str, utf8: bool) -> str:
    return address if utf8 else _ascii_domain(address)


def _envelope_addresses(sender: str, recipient: str, server: Extensions) -> tuple[str, str, bool]:
    """(MAIL FROM, RCPT TO, whether SMTPUTF8 is needed); ValueError when ``server`` cannot take them.

    A non-ASCII domain goes as IDNA everywhere; a non-ASCII name before the ``@`` needs a server
    that offers SMTPUTF8 (RFC 6531), and there is no ASCII form of it to fall back to.
    """
    try:
        sender, recipient = _ascii_domain(sender), _ascii_domain(recipient)
    except idna.IDNAError as exc:
        raise ValueError(f"{recipient!r} or {sender!r} has a domain that is not a valid "
                         f"internationalised domain name: {exc}") from exc
    if sender.isascii() and recipient.isascii():
        return sender, recipient, False
    if not server.smtputf8:
        who = recipient if not recipient.isascii() else sender
        raise ValueError(f"the address {who!r} has non-ASCII characters before the @ and the mail "
                         "server does not offer SMTPUTF8 (RFC 6531), so it cannot be sent there; "
                         "use a server that offers SMTPUTF8, or an ASCII address for this person")
    return sender, recipient, True


class Sender:
    """Sends what the outbox holds; ``lease_seconds`` bounds how long a dead sender's claim lasts."""

    def __init__(self, settings: Settings, store: Store, *, worker: str | None = None,
                 lease_seconds: float | None = None, batch: int = BATCH) -> None:
        self.settings = settings
        self.store = store
        self.worker = worker or f"mail-{uuid.uuid4().hex[:12]}"
        self.lease_seconds = lease_seconds or settings.mail_lease_seconds
        self.batch = batch
        display, address = parseaddr(settings.mail_from)
        self._sender_address = address or settings.mail_from
        self._from_header = formataddr((display, _ascii_domain(self._sender_address)), "utf-8")
        self._from_utf8 = formataddr((display, self._sender_address)) if display else self._sender_address
        self._marks: Connection | None = None
        """The database connection a batch's outcomes are recorded on (one per batch)."""
        self.stopping = threading.Event()
        """Set to stop after the message being sent; the rest of the batch is released."""

    def claim(self, *, due_only: bool = True) -> list[MailMessage]:
        """Claim up to a batch of messages for this sender, oldest first."""
        now = _now()
        claimable = or_(MailMessage.status == "pending",
                        (MailMessage.status == "sending") & (MailMessage.lease_until < now))
        due = claimable & (MailMessage.next_attempt_at <= now) if due_only else claimable
        tag = f"{self.worker}:{uuid.uuid4().hex[:8]}"
        lease = now + timedelta(seconds=self.lease_seconds)
        with self.store.session() as session:
            ids = select(MailMessage.id).where(due).order_by(MailMessage.id).limit(self.batch)
            chosen = list(session.scalars(ids))
            if not chosen:
                return []
            session.execute(
                update(MailMessage).where(MailMessage.id.in_(chosen), claimable)
                .values(status="sending", claimed_by=tag, lease_until=lease, tries=MailMessage.tries + 1)
                .execution_options(synchronize_session=False))
        with self.store.session() as session:
            rows = list(session.scalars(select(MailMessage).where(
                MailMessage.claimed_by == tag, MailMessage.status == "sending").order_by(MailMessage.id)))
            session.expunge_all()
            return rows

    def envelope(self, message: MailMessage, letter: Letter | None = None, *,
                 server: Extensions = PLAIN) -> bytes:
        """The message as sent: text and HTML alternatives, its stable Message-ID and extra headers
        (``email.mime``: built once, sent as bytes). A body is 7-bit when it is ASCII, 8-bit UTF-8
        when the server takes 8BITMIME, else quoted-printable; headers are UTF-8 only for a server
        that takes SMTPUTF8 (otherwise an internationalised address cannot be written: ValueError)."""
        letter = letter or letter_of(message)
        charset = _charset_for(server)
        mail = (MIMEMultipart("alternative") if letter.html
                else MIMEText(letter.text, "plain", charset(letter.text)))  # type: ignore[arg-type]
        utf8 = server.smtputf8
        mail["From"] = self._from_header if not utf8 else self._from_utf8
        mail["To"] = _header_address(message.recipient, utf8)
        subject = letter.subject
        mail["Subject"] = subject if subject.isascii() or utf8 else Header(subject, "utf-8").encode()
        mail["Message-ID"] = message.message_id
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        for name, value in (message.headers or {}).items():
            mail[name] = value
        if letter.html:
            # a Charset is accepted (quoted-printable bodies); the stubs say only str
            mail.attach(MIMEText(letter.text, "plain", charset(letter.text)))  # type: ignore[arg-type]
            mail.attach(MIMEText(letter.html, "html", charset(letter.html)))  # type: ignore[arg-type]
        return mail.as_bytes(policy=SMTPUTF8_POLICY if utf8 else SMTP_COMPAT)

    def send_pending(self, *, due_only: bool = True, until_empty: bool = True) -> SendReport:
        """Send claimed batches until none is left (or the server fails); never raises for SMTP."""
        report = SendReport()
        while True:
            batch = self.claim(due_only=due_only)
            if not batch:
                return report
            self._send_batch(batch, report)
            if report.error is not None or not until_empty:
                return report

    def _send_batch(self, batch: list[MailMessage], report: SendReport) -> None:
        with self.store.engine.connect() as marks:
            postgres = marks.dialect.name == "postgresql"
            if postgres:
                # marks commit without waiting for the WAL flush: a database crash in the next
                # ~0.2 s could forget one and that message would go out again, never be lost
                marks.execute(text("SET synchronous_commit TO OFF"))
                marks.commit()
            self._marks = marks
            try:
                self._send_on_one_connection(batch, report)
            finally:
                self._marks = None
                if postgres and not marks.invalidated:
                    marks.rollback()
                    marks.execute(text("RESET synchronous_commit"))
                    marks.commit()

    def _send_on_one_connection(self, batch: list[MailMessage], report: SendReport) -> None:
        try:
            client = connect(self.settings)
        except MailError as exc:
            self._defer(batch, str(exc), report)
            return
        except (OSError, smtplib.SMTPException) as exc:
            self._defer(batch, f"cannot reach the mail server: {exc}", report)
            return
        try:
            for position, message in enumerate(batch):
                if self.stopping.is_set():
                    self._release(batch[position:])
                    return
                outcome = self._send_one(client, message, report)
                if outcome == "sent":
                    report.sent += 1
                elif outcome == "failed":
                    report.failed += 1
                elif outcome == "deferred":
                    continue
                else:  # the connection is gone: this and the rest of the batch wait
                    self._defer(batch[position:], outcome, report)
                    return
        finally:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def _send_one(self, client: smtplib.SMTP, message: MailMessage, report: SendReport) -> str:
        """"sent", "failed" (permanent, recorded) or the reason the connection broke."""
        server = Extensions(eight_bit=client.has_extn("8bitmime"), smtputf8=client.has_extn("smtputf8"))
        try:
            letter = letter_of(message)
        except Exception as exc:  # a template or its values are wrong: retrying cannot help
            self._finish(message, "failed", f"the message cannot be rendered: {type(exc).__name__}: {exc}")
            return "failed"
        try:
            sender, recipient, utf8 = _envelope_addresses(self._sender_address, message.recipient, server)
            envelope = self.envelope(message, letter, server=server)
        except (UnicodeError, ValueError, TypeError) as exc:  # never retried: it cannot be written
            self._finish(message, "failed", f"the message cannot be encoded for SMTP: {exc}")
            return "failed"
        options = (["SMTPUTF8"] if utf8 else []) + (["BODY=8BITMIME"] if server.eight_bit else [])
        try:
            refused = client.sendmail(sender, [recipient], envelope, mail_options=options)
        except smtplib.SMTPRecipientsRefused as exc:
            return self._refused(message, exc.recipients, report)
        except smtplib.SMTPResponseException as exc:
            reason = f"{exc.smtp_code} {_text(exc.smtp_error)}"
            if 500 <= exc.smtp_code < 600:
                self._finish(message, "failed", reason)
                return "failed"
            return f"the mail server answered {reason}"
        except (OSError, smtplib.SMTPException) as exc:
            return f"sending failed: {exc}"
        if refused:
            return self._refused(message, refused, report)
        self._finish(message, "sent", None, subject=letter.subject)
        return "sent"

    def _refused(self, message: MailMessage, refused: dict, report: SendReport) -> str:  # type: ignore[type-arg]
        code, text = next(iter(refused.values()))
        reason = f"recipient refused: {code} {_text(text)}"
        if 500 <= int(code) < 600:
            self._finish(message, "failed", reason)
            return "failed"
        self._defer([message], reason, report)
        return "deferred"

    def _finish(self, message: MailMessage, status: str, reason: str | None, *, subject: str = "") -> None:
        """Record the outcome in its own transaction (on the batch's connection when there is one)."""
        sent = status == "sent"
        statement = _mark(sent, sent and message.secret, bool(subject) and subject != message.subject)
        params = {"m_id": message.id, "m_claim": message.claimed_by, "m_status": status,
                  "m_reason": reason, "m_subject": subject[:500], "m_sent_at": _now() if sent else None}
        if self._marks is not None:
            with self._marks.begin():
                self._marks.execute(statement, params)
            return
        with self.store.engine.begin() as connection:
            connection.execute(statement, params)

    def _release(self, messages: list[MailMessage]) -> None:
        """Give claimed, unsent messages back untouched (this sender is stopping)."""
        with self.store.session() as session:
            for message in messages:
                session.execute(
                    update(MailMessage)
                    .where(MailMessage.id == message.id, MailMessage.claimed_by == message.claimed_by)
                    .values(status="pending", lease_until=None, claimed_by=None, tries=MailMessage.tries - 1)
                    .execution_options(synchronize_session=False))

    def _defer(self, messages: list[MailMessage], reason: str, report: SendReport) -> None:
        """Back to pending after a wait, or failed when out of tries."""
        report.error = reason
        now = _now()
        with self.store.session() as session:
            for message in messages:
                give_up = message.tries >= self.settings.mail_max_tries
                session.execute(
                    update(MailMessage)
                    .where(MailMessage.id == message.id, MailMessage.claimed_by == message.claimed_by)
                    .values(status="failed" if give_up else "pending", lease_until=None, last_error=reason,
                            next_attempt_at=now + backoff(message.tries))
                    .execution_options(synchronize_session=False))
                if give_up:
                    report.failed += 1
                else:
                    report.deferred += 1
        log.warning("mail delivery deferred for %d message(s): %s", len(messages), reason)


class SenderThread:
    """Sends due mail every ``mail_poll_seconds`` in a background thread (serve, Celery workers)."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.sender = Sender(settings, store)
        self.poll = settings.mail_poll_seconds
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="nbcred-mail", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Mail was queued: look now rather than at the next poll."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.sender.send_pending()
            except Exception:  # a database hiccup: try again at the next poll
                log.exception("the mail sender failed; retrying")
            self._wake.wait(self.poll)
            self._wake.clear()

    def close(self) -> None:
        """Stop after the message being sent (a claimed batch's rest waits for its lease)."""
        self._stop.set()
        self.sender.stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
