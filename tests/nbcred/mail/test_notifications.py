"""A learner who passes through the service gets "your badge is ready"; notifications can be stopped."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select

from nbcred.mail import Outgoing, Sender, enqueue
from nbcred.store.models import MailMessage
from nbcred.web.app import create_app
from tests.nbcred.mail.conftest import BASE_URL, SmtpServer, body_html, body_text
from tests.nbcred.web.conftest import grade_queued, open_context, people, sample, settings_for


def test_passing_submission_mails_badge_ready_and_one_click_unsubscribe_stops_it(
        home: Path, sqlite_url: str, smtp: SmtpServer) -> None:
    settings = settings_for(home, sqlite_url, serve_grading=False, base_url=BASE_URL,
                            smtp_url=None)  # this test sends, not the app
    ctx = open_context(settings)
    tokens = people(ctx)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        queued = client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {tokens['ada']}"},
                             data={"assessment": "pandas-cleaning"}, files=sample("pandas-cleaning", "alice"))
        assert queued.status_code == 202, queued.text
        failing = client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {tokens['bob']}"},
                              data={"assessment": "pandas-cleaning"}, files=sample("pandas-cleaning", "bob"))
        assert failing.status_code == 202, failing.text
        assert grade_queued(ctx) == ["graded", "graded"]
        sender = Sender(settings.model_copy(update={"smtp_url": smtp.url}), ctx.store)
        with ctx.store.session() as session:
            queued = [(m.kind, m.recipient, m.status) for m in session.scalars(select(MailMessage))]
        assert sender.send_pending().sent == 2, queued
        [feedback] = smtp.mailbox.to("bob@example.org")
        assert "Your feedback is ready" in feedback["Subject"] and "not passed yet" in body_text(feedback)
        assert f"{BASE_URL}/submissions/" in body_text(feedback)
        [message] = smtp.mailbox.to("ada@example.org")
        assert message["To"] == "ada@example.org" and "Data Cleaning with pandas" in message["Subject"]
        assert f"{BASE_URL}/credentials/" in body_text(message)
        assert "nbcred Data Skills Academy" in body_html(message)
        unsubscribe = message["List-Unsubscribe"].strip("<>")
        assert unsubscribe.startswith(f"{BASE_URL}/unsubscribe/")
        # RFC 8058 one-click: the mail client posts, without a session
        done = client.post(unsubscribe.removeprefix(BASE_URL), data={"List-Unsubscribe": "One-Click"})
        assert done.status_code == 200 and "no more notifications" in done.text
        forged = client.post("/unsubscribe/not-a-signed-token")
        assert forged.status_code == 404
    with ctx.store.session() as session:
        values = {"name": "Ada", "achievement": "X", "image_url": None, "link": "https://x"}
        assert enqueue(session, settings, [Outgoing("badge_ready", "ada@example.org", values)]) == 0
        assert enqueue(session, settings, [Outgoing("badge_ready", "bob@example.org", values)]) == 1
        kinds = list(session.scalars(select(MailMessage.kind)))
    assert sorted(kinds) == ["badge_ready", "badge_ready", "feedback"]


def test_expiring_badges_are_announced_once_per_credential(home: Path, db_url: str, smtp: SmtpServer,
                                                           tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from typer.testing import CliRunner

    from nbcred.cli import app

    soon = (datetime.now(UTC) + timedelta(days=10)).strftime("%Y-%m-%d")
    roster = tmp_path / "expiring.csv"
    roster.write_text("learner,name,email,achievement,expires_at\n"
                      f"exp1,Ex Piring,exp1@example.org,pandas-cleaning,{soon}\n"
                      "later,Not Soon,later@example.org,pandas-cleaning,2099-01-01\n", encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(app, ["credential", "issue-bulk", str(roster), "--db", db_url]).exit_code == 0
    for _ in range(2):  # a daily job: the second run queues nothing new
        listed = runner.invoke(app, ["credential", "expiring", "--within", "30d", "--notify", "--db", db_url])
        assert listed.exit_code == 0, listed.output
    assert runner.invoke(app, ["mail", "flush", "--db", db_url]).exit_code == 0
    [message] = smtp.mailbox.messages
    assert message["To"] == "exp1@example.org" and soon in message["Subject"]
    assert message["List-Unsubscribe"].startswith(f"<{BASE_URL}/unsubscribe/")
    assert f"{BASE_URL}/credentials/" in body_text(message)
