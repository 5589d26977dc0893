"""The outbox's sender against a real SMTP server: down and back, killed mid-batch, inside serve."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from email.message import EmailMessage
from pathlib import Path

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from nbcred.cli import app
from nbcred.mail import Outgoing, Sender, SendReport, enqueue
from nbcred.service import ServiceContext
from nbcred.settings import Settings
from nbcred.store.models import MailMessage
from tests.browsing import free_port
from tests.nbcred.mail.conftest import SmtpServer, body_text

NBCRED = str(Path(sys.executable).parent / "nbcred")


def queue(ctx: ServiceContext, count: int, kind: str = "badge_ready") -> None:
    values = {"name": "L", "achievement": "Data Cleaning with pandas", "image_url": None,
              "link": "https://badges.test/credentials/x"}
    with ctx.store.session() as session:
        enqueue(session, ctx.settings, [Outgoing(kind, f"learner{n}@example.org", values,
                                                 dedupe_key=f"test:{n}") for n in range(count)])


def statuses(ctx: ServiceContext) -> Counter[str]:
    with ctx.store.session() as session:
        return Counter(session.scalars(select(MailMessage.status)))


def test_server_down_messages_wait_then_go_out_once(home: Path, db_url: str, smtp: SmtpServer) -> None:
    ctx = ServiceContext.open(Settings(database_url=db_url))
    queue(ctx, 5)
    smtp.stop()
    report = Sender(ctx.settings, ctx.store).send_pending(due_only=False)
    assert report.sent == 0 and report.deferred == 5 and report.error
    assert "cannot reach the mail server" in report.error
    assert statuses(ctx) == {"pending": 5}
    with ctx.store.session() as session:
        assert all(m.last_error and m.tries == 1 for m in session.scalars(select(MailMessage)))
    assert Sender(ctx.settings, ctx.store).send_pending().sent == 0  # waiting: not due yet
    smtp.start()
    assert Sender(ctx.settings, ctx.store).send_pending(due_only=False).sent == 5
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [f"learner{n}@example.org" for n in range(5)]
    assert statuses(ctx) == {"sent": 5}
    assert Sender(ctx.settings, ctx.store).send_pending(due_only=False).sent == 0


def test_permanent_refusal_is_failed_with_its_reason_and_retry_queues_it(
        home: Path, db_url: str, smtp: SmtpServer) -> None:
    ctx = ServiceContext.open(Settings(database_url=db_url))
    queue(ctx, 3)
    smtp.mailbox.gate = lambda m: "550 5.1.1 no such mailbox" if m["To"] == "learner1@example.org" else None
    report = Sender(ctx.settings, ctx.store).send_pending()
    assert (report.sent, report.failed) == (2, 1)
    with ctx.store.session() as session:
        failed = session.scalars(select(MailMessage).where(MailMessage.status == "failed")).one()
    assert failed.recipient == "learner1@example.org" and "550" in (failed.last_error or "")
    notice = smtp.mailbox.messages[0]
    assert notice["List-Unsubscribe"].startswith("<https://badges.test/unsubscribe/")
    assert notice["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "https://badges.test/credentials/x" in body_text(notice)
    smtp.mailbox.gate = None
    listed = CliRunner().invoke(app, ["mail", "list", "--status", "failed", "--db", db_url])
    assert listed.exit_code == 0 and "550" in listed.output and "failed: 1" in listed.output
    retried = CliRunner().invoke(app, ["mail", "retry", "--db", db_url])
    assert retried.exit_code == 0 and "queued again: 1" in retried.output
    flushed = CliRunner().invoke(app, ["mail", "flush", "--db", db_url])
    assert flushed.exit_code == 0, flushed.output
    assert Counter(m["To"] for m in smtp.mailbox.messages) == {f"learner{n}@example.org": 1 for n in range(3)}


def test_sender_killed_mid_batch_then_restarted_sends_each_message_once(
        home: Path, db_url: str, smtp: SmtpServer) -> None:
    ctx = ServiceContext.open(Settings(database_url=db_url))
    queue(ctx, 40)
    reached, release = threading.Event(), threading.Event()
    seen: list[str] = []

    def gate(message: EmailMessage) -> str | None:
        seen.append(str(message["To"]))
        if len(seen) == 17:  # hold the 17th message's DATA until the sender is killed
            reached.set()
            release.wait(30)
            return "451 4.3.0 try again later"
        return None

    smtp.mailbox.gate = gate
    env = {**os.environ, "NBCRED_DATABASE_URL": db_url, "NBCRED_MAIL_LEASE_SECONDS": "2"}
    first = subprocess.Popen([NBCRED, "mail", "flush"], env=env)
    assert reached.wait(60), "the sender never reached the 17th message"
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    release.set()
    assert len(smtp.mailbox.messages) == 16
    assert statuses(ctx)["sent"] == 16
    time.sleep(2.5)  # the dead sender's lease runs out
    smtp.mailbox.gate = None
    again = subprocess.run([NBCRED, "mail", "flush"], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    arrived = Counter(m["To"] for m in smtp.mailbox.messages)
    assert arrived == {f"learner{n}@example.org": 1 for n in range(40)}
    assert statuses(ctx) == {"sent": 40}


def test_running_serve_sends_pending_mail_within_seconds(home: Path, sqlite_url: str,
                                                        smtp: SmtpServer) -> None:
    db_url = sqlite_url
    port = free_port()
    env = {**os.environ, "NBCRED_DATABASE_URL": db_url, "NBCRED_SERVE_GRADING": "false"}
    server = subprocess.Popen([NBCRED, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        ctx = ServiceContext.open(Settings(database_url=db_url))
        queue(ctx, 3)  # queued by another process (e.g. a bulk run)
        started = time.monotonic()
        smtp.mailbox.wait(3, timeout=10)
        assert time.monotonic() - started < 10
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    assert statuses(ctx) == {"sent": 3}


def test_non_ascii_names_and_an_internationalised_address_arrive(home: Path, sqlite_url: str,
                                                                   smtp: SmtpServer) -> None:
    settings = Settings(database_url=sqlite_url, issuer_name="Académie des Données",
                        mail_from="Académie des Données <badges@example.org>")
    ctx = ServiceContext.open(settings)
    values = {"name": "Zoë", "achievement": "Données propres", "image_url": None, "link": "https://x/c"}
    with ctx.store.session() as session:
        enqueue(session, settings, [Outgoing("badge_ready", "zoë@example.org", values),
                                    Outgoing("badge_ready", "zoe@example.org", values)])
    report = Sender(settings, ctx.store).send_pending()  # aiosmtpd offers SMTPUTF8
    assert (report.sent, report.failed) == (2, 0)
    assert sorted(m["To"] for m in smtp.mailbox.messages) == ["zoe@example.org", "zoë@example.org"]
    for message in smtp.mailbox.messages:
        assert message["Subject"] == "Your badge is ready: Données propres"
        assert str(message["From"]) == "Académie des Données <badges@example.org>"
        assert "Zoë" in body_text(message)
    with ctx.store.session() as session:
        assert {m.subject for m in session.scalars(select(MailMessage))} == {
            "Your badge is ready: Données propres"}


def test_outbox_page_shows_failures_with_reasons_to_staff_only(home: Path, sqlite_url: str,
                                                               smtp: SmtpServer) -> None:
    import re

    from fastapi.testclient import TestClient

    from nbcred.service.users import add_user
    from nbcred.web.app import create_app

    settings = Settings(database_url=sqlite_url, serve_grading=False, smtp_url=None)
    ctx = ServiceContext.open(settings)
    for email, role in (("staff@example.org", "instructor"), ("pupil@example.org", "learner")):
        add_user(ctx, email=email, name=role, role=role, password="a long passphrase")
    queue(ctx, 2)
    smtp.mailbox.gate = lambda m: "550 5.1.1 no such mailbox" if m["To"] == "learner0@example.org" else None
    Sender(Settings(database_url=sqlite_url), ctx.store).send_pending()

    def signed_in(email: str) -> TestClient:
        client = TestClient(create_app(settings, ctx=ctx))
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/signin").text)
        assert token
        client.post("/signin", data={"csrf_token": token.group(1), "email": email,
                                     "password": "a long passphrase"})
        return client

    staff = signed_in("staff@example.org")
    page = staff.get("/admin/mail")
    assert page.status_code == 200
    assert "failed: 1" in page.text and "sent: 1" in page.text and "550 5.1.1 no such mailbox" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    assert staff.post("/admin/mail/retry", data={"csrf_token": token.group(1)},
                      follow_redirects=False).status_code == 303
    assert statuses(ctx) == {"sent": 1, "pending": 1}
    assert signed_in("pupil@example.org").get("/admin/mail").status_code == 403


def test_internationalised_addresses_without_smtputf8_fail_alone_with_the_reason(
        home: Path, sqlite_url: str) -> None:
    plain = SmtpServer(smtputf8=False, decode_data=True)  # neither SMTPUTF8 nor 8BITMIME
    plain.start()
    try:
        settings = Settings(database_url=sqlite_url, smtp_url=plain.url)
        ctx = ServiceContext.open(settings)
        values = {"name": "Zoë", "achievement": "Données propres", "image_url": None,
                  "link": "https://badges.test/credentials/0123456789abcdef0123456789abcdef0123456789"}
        with ctx.store.session() as session:
            enqueue(session, settings, [Outgoing("badge_ready", to, values, dedupe_key=to) for to in (
                "zoë@example.org", "anna@bücher.example", "ann@example.org")])
        report = Sender(settings, ctx.store).send_pending()
        assert (report.sent, report.failed, report.deferred) == (2, 1, 0)
        by_rcpt = {e.rcpt_tos[0]: e for e in plain.mailbox.envelopes}
        assert sorted(by_rcpt) == ["ann@example.org", "anna@xn--bcher-kva.example"]  # IDNA domain
        for envelope in by_rcpt.values():
            assert "SMTPUTF8" not in envelope.mail_options
            raw = envelope.original_content
            assert raw.isascii()  # quoted-printable for the non-ASCII name: no 8BITMIME here
            assert b"Content-Transfer-Encoding: quoted-printable" in raw
        assert "Zoë" in body_text(plain.mailbox.messages[0])
        with ctx.store.session() as session:
            failed = session.scalars(select(MailMessage).where(MailMessage.status == "failed")).one()
        assert failed.recipient == "zoë@example.org" and failed.tries == 1
        assert "does not offer SMTPUTF8" in (failed.last_error or "")
        listed = CliRunner().invoke(app, ["mail", "list", "--status", "failed", "--db", sqlite_url])
        assert "SMTPUTF8" in listed.output
    finally:
        plain.stop()


def test_bodies_are_7_or_8_bit_so_links_stay_whole(home: Path, sqlite_url: str, smtp: SmtpServer) -> None:
    settings = Settings(database_url=sqlite_url)
    ctx = ServiceContext.open(settings)
    long_link = "https://badges.example.org/credentials/" + "a" * 60  # longer than a QP line
    with ctx.store.session() as session:
        enqueue(session, settings, [
            Outgoing("badge_ready", "ascii@example.org", {"name": "Ann", "achievement": "Pandas",
                                                          "image_url": None, "link": long_link}),
            Outgoing("badge_ready", "utf8@example.org", {"name": "Zoë", "achievement": "Pandas",
                                                         "image_url": None, "link": long_link})])
    assert Sender(settings, ctx.store).send_pending().sent == 2
    by_rcpt = {e.rcpt_tos[0]: e for e in smtp.mailbox.envelopes}
    ascii_raw, utf8_raw = (by_rcpt[a].original_content for a in ("ascii@example.org", "utf8@example.org"))
    assert b"Content-Transfer-Encoding: 7bit" in ascii_raw and b"quoted-printable" not in ascii_raw
    assert b"Content-Transfer-Encoding: 8bit" in utf8_raw and "Zoë".encode() in utf8_raw
    assert "BODY=8BITMIME" in by_rcpt["utf8@example.org"].mail_options
    for raw in (ascii_raw, utf8_raw):
        assert long_link.encode() in raw


def test_smtp_server_killed_mid_batch_then_back_every_message_once(home: Path, db_url: str,
                                                                    tmp_path: Path) -> None:
    script = Path(__file__).with_name("smtp_process.py")
    port, log = free_port(), tmp_path / "accepted.txt"
    log.touch()

    def start() -> subprocess.Popen[str]:
        server = subprocess.Popen([sys.executable, str(script), str(port), str(log)],
                                  stdout=subprocess.PIPE, text=True)
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        return server

    settings = Settings(database_url=db_url, smtp_url=f"smtp://127.0.0.1:{port}")
    ctx = ServiceContext.open(settings)
    queue(ctx, 60)
    server = start()
    outcome: list[object] = []
    sending = threading.Thread(target=lambda: outcome.append(
        Sender(settings, ctx.store).send_pending(due_only=False)))
    sending.start()
    try:
        deadline = time.monotonic() + 60
        while len(log.read_text().splitlines()) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()  # the server dies with the batch half sent
        server.wait(10)
        sending.join(60)
        [report] = outcome
        accepted = log.read_text().splitlines()
        assert 10 <= len(accepted) < 60
        assert isinstance(report, SendReport) and report.sent == len(accepted)
        assert report.error and report.deferred == 60 - len(accepted)
        assert statuses(ctx) == {"sent": len(accepted), "pending": 60 - len(accepted)}
        server = start()
        again = Sender(settings, ctx.store).send_pending(due_only=False)
        assert (again.sent, again.failed, again.error) == (60 - len(accepted), 0, None)
    finally:
        server.kill()
        server.wait(10)
    assert Counter(log.read_text().splitlines()) == {f"learner{n}@example.org": 1 for n in range(60)}
    assert statuses(ctx) == {"sent": 60}
