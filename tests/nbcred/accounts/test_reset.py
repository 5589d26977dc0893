"""Password reset through the pages, the outbox and a real SMTP server."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from nbcred.mail import Sender
from nbcred.service import ServiceContext
from nbcred.service.users import add_user
from nbcred.settings import Settings
from nbcred.web.app import create_app
from tests.nbcred.mail.conftest import BASE_URL, SmtpServer, link

OLD, NEW = "the old passphrase", "a brand new passphrase"


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def sign_in(client: TestClient, email: str, password: str) -> int:
    token = csrf(client.get("/signin").text)
    return client.post("/signin", data={"csrf_token": token, "email": email, "password": password},
                       follow_redirects=False).status_code


def test_reset_mails_a_known_address_only_and_the_link_works_once(home: Path, db_url: str,
                                                                  smtp: SmtpServer) -> None:
    settings = Settings(database_url=db_url, serve_grading=False, smtp_url=None)
    ctx = ServiceContext.open(settings)
    add_user(ctx, email="reset@example.org", name="Re Set", role="learner", password=OLD)
    sender = Sender(Settings(database_url=db_url), ctx.store)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        page = client.get("/password-reset")
        assert page.status_code == 200 and re.search(r'<input[^>]*type="email"[^>]*name="email"', page.text)
        answers = [client.post("/password-reset", data={"csrf_token": csrf(page.text), "email": email})
                   for email in ("reset@example.org", "nobody@example.org", "not an address")]
        assert {a.status_code for a in answers} == {200}
        assert re.sub(r'value="[^"]+"', "", answers[0].text) == re.sub(r'value="[^"]+"', "", answers[1].text)
        assert sender.send_pending().sent == 1
        [message] = smtp.mailbox.messages
        assert message["To"] == "reset@example.org"
        url = link(message, f"{BASE_URL}/password-reset/")
        path = url.removeprefix(BASE_URL)

        other = TestClient(create_app(settings, ctx=ctx))
        assert sign_in(other, "reset@example.org", OLD) == 303  # a session elsewhere
        assert other.get("/wallet").status_code == 200
        form = client.get(path)
        assert form.status_code == 200 and re.search(r'<input[^>]*type="password"', form.text)
        weak = client.post(path, data={"csrf_token": csrf(form.text), "password": "short"})
        assert weak.status_code == 400 and "too short" in weak.text
        done = client.post(path, data={"csrf_token": csrf(form.text), "password": NEW},
                           follow_redirects=False)
        assert done.status_code == 303 and done.headers["location"].startswith("/signin")
        assert client.get(path).status_code == 404  # once
        assert other.get("/wallet", follow_redirects=False).status_code in (303, 401)  # that session ended
        again = client.post(path, data={"csrf_token": csrf(form.text), "password": "yet another passphrase"})
        assert again.status_code == 404

    with TestClient(create_app(settings, ctx=ctx)) as fresh:
        assert sign_in(fresh, "reset@example.org", OLD) == 401
        assert sign_in(fresh, "reset@example.org", NEW) == 303
        assert fresh.get("/wallet").status_code == 200


def test_a_new_password_ends_every_outstanding_reset_link(home: Path, db_url: str, smtp: SmtpServer) -> None:
    settings = Settings(database_url=db_url, serve_grading=False, smtp_url=None)
    ctx = ServiceContext.open(settings)
    add_user(ctx, email="twice@example.org", name="Twice", role="learner", password=OLD)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        token = csrf(client.get("/password-reset").text)
        for _ in range(2):
            client.post("/password-reset", data={"csrf_token": token, "email": "twice@example.org"})
        assert Sender(Settings(database_url=db_url), ctx.store).send_pending().sent == 2
        first, second = (link(m, f"{BASE_URL}/password-reset/").removeprefix(BASE_URL)
                         for m in smtp.mailbox.messages)
        assert client.post(second, data={"csrf_token": token, "password": NEW},
                           follow_redirects=False).status_code == 303
        assert client.get(first).status_code == 404
