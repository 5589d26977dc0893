"""Bulk issuance with --notify → e-mail through a real SMTP server → claim link → wallet."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from nbcred.cli import app
from nbcred.service import ServiceContext
from nbcred.settings import Settings
from nbcred.store.models import AccountToken, MailMessage
from nbcred.web.app import create_app
from tests.nbcred.mail.conftest import BASE_URL, SmtpServer, body_html, link

runner = CliRunner()
BADGE = "Data Cleaning with pandas"
PASSWORD = "a fresh claim passphrase"


def roster(path: Path, count: int, start: int = 0) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["learner", "name", "email", "achievement"])
        for n in range(start, start + count):
            writer.writerow([f"claimer{n}", f"Claimer {n}", f"claimer{n}@example.org", "pandas-cleaning"])
    return path


def outbox_count(db_url: str) -> int:
    ctx = ServiceContext.open(Settings(database_url=db_url))
    with ctx.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(MailMessage)) or 0)


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def forms(html: str) -> list[str]:
    return re.findall(r"<form\b.*?</form>", html, flags=re.S)


@pytest.fixture
def issued(home: Path, tmp_path: Path, db_url: str, smtp: SmtpServer) -> tuple[str, SmtpServer]:
    """Three learners issued a badge with --notify and the outbox flushed to the SMTP server."""
    path = roster(tmp_path / "roster.csv", 3)
    output = invoke("credential", "issue-bulk", str(path), "--notify", "--db", db_url)
    assert "e-mails queued: 3" in output
    assert outbox_count(db_url) == 3
    invoke("credential", "issue-bulk", str(path), "--notify", "--db", db_url)  # same roster again
    assert outbox_count(db_url) == 3
    invoke("mail", "flush", "--db", db_url)
    smtp.mailbox.wait(3)
    return db_url, smtp


def test_bulk_notify_mails_one_claim_link_per_new_credential(issued: tuple[str, SmtpServer]) -> None:
    db_url, smtp = issued
    assert sorted(m["To"] for m in smtp.mailbox.messages) == [f"claimer{n}@example.org" for n in range(3)]
    for message in smtp.mailbox.messages:
        assert message["From"] == "Badges <badges@test>"
        assert link(message, f"{BASE_URL}/claim/")
        assert BADGE in message["Subject"]
        html = body_html(message)
        assert f"{BASE_URL}/claim/" in html and "nbcred Data Skills Academy" in html and "<img" in html
        assert "List-Unsubscribe" not in message  # claims are never "notifications"
    with ServiceContext.open(Settings(database_url=db_url)).store.session() as session:
        tokens = list(session.scalars(select(AccountToken)))
        sent = list(session.scalars(select(MailMessage)))
    assert len(tokens) == 3 and all(len(t.token_hash) == 64 for t in tokens)
    for message in smtp.mailbox.messages:  # only the hash is stored; the sent body is dropped
        token = link(message, f"{BASE_URL}/claim/").rsplit("/", 1)[1]
        assert all(token not in t.token_hash for t in tokens)
        assert all(token not in m.text_body and token not in (m.html_body or "")
                   and token not in json.dumps(m.template_values) for m in sent)
        assert f"{BASE_URL}/claim/{token}" in message.as_string()  # whole in the raw message
    assert all(m.subject.startswith("nbcred Data Skills Academy issued you a badge") for m in sent)
    assert all(m.status == "sent" for m in sent)
    assert "sent: 3" in invoke("mail", "list", "--db", db_url)


def test_claim_link_signs_in_once_and_the_wallet_lists_the_badge(issued: tuple[str, SmtpServer]) -> None:
    db_url, smtp = issued
    claim = link(smtp.mailbox.to("claimer1@example.org")[0], f"{BASE_URL}/claim/")
    path = claim.removeprefix(BASE_URL)
    settings = Settings(database_url=db_url, serve_grading=False, smtp_url=None)
    with TestClient(create_app(settings)) as client:
        page = client.get(path)
        assert page.status_code == 200
        assert BADGE in page.text
        [form] = forms(page.text)
        assert len(re.findall(r'<input[^>]*type="password"', form)) == 1
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert csrf
        weak = client.post(path, data={"csrf_token": csrf.group(1), "password": "password1"})
        assert weak.status_code == 400 and "common" in weak.text
        done = client.post(path, data={"csrf_token": csrf.group(1), "password": PASSWORD},
                           follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"] == "/wallet"
        wallet = client.get("/wallet")
        assert wallet.status_code == 200 and BADGE in wallet.text and "Claimer 1" in wallet.text
    with TestClient(create_app(settings)) as stranger:
        again = stranger.get(path)
        assert again.status_code == 404 and 'type="password"' not in again.text
        token = stranger.get("/signin")
        csrf2 = re.search(r'name="csrf_token" value="([^"]+)"', token.text)
        assert csrf2
        reused = stranger.post(path, data={"csrf_token": csrf2.group(1), "password": "another long pass"},
                               follow_redirects=False)
        assert reused.status_code == 404
        assert "Claimer" not in stranger.get("/wallet").text  # not signed in: sent to /signin
        signin = stranger.post("/signin", data={"csrf_token": csrf2.group(1), "email": "claimer1@example.org",
                                                "password": PASSWORD}, follow_redirects=False)
        assert signin.status_code == 303


def test_an_address_with_an_account_gets_a_sign_in_link(home: Path, tmp_path: Path, db_url: str,
                                                        smtp: SmtpServer) -> None:
    invoke("user", "add", "claimer7@example.org", "--name", "Seven", "--db", db_url)
    path = roster(tmp_path / "r.csv", 1, start=7)
    invoke("credential", "issue-bulk", str(path), "--notify", "--db", db_url)
    invoke("mail", "flush", "--db", db_url)
    [message] = smtp.mailbox.wait(1)
    assert f"{BASE_URL}/signin?next=/wallet" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert f"{BASE_URL}/claim/" not in message.as_string()
