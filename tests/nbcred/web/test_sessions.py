"""Server-side sessions: a cookie saved before sign-out, a password change or an admin's action
no longer signs in; users and admins list and end sessions (API, account page, CLI)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from nbcred.cli import app as cli
from nbcred.service import sessions
from nbcred.service.sessions import set_password
from tests.nbcred.web.conftest import PASSWORD, Service


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def signed_in(service: Service, password: str = PASSWORD) -> TestClient:
    """A new browser (own cookie jar) signed in as Ada."""
    client = TestClient(service.client.app)
    token = csrf(client.get("/signin").text)
    answer = client.post("/signin", data={"email": "ada@example.org", "password": password,
                                          "csrf_token": token}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    assert client.get("/api/v1/me").status_code == 200
    return client


def replay(service: Service, cookie: str) -> int:
    """The status of ``/api/v1/me`` for a browser holding only this saved cookie."""
    other = TestClient(service.client.app)
    other.cookies.set("nbcred_session", cookie)
    return other.get("/api/v1/me").status_code


def test_a_cookie_saved_before_sign_out_no_longer_signs_in(quiet_service: Service) -> None:
    browser = signed_in(quiet_service)
    saved = browser.cookies["nbcred_session"]
    assert replay(quiet_service, saved) == 200  # a copy works while the session is open
    token = csrf(browser.get("/account").text)
    assert browser.post("/signout", data={"csrf_token": token}, follow_redirects=False).status_code == 303
    assert browser.get("/api/v1/me").status_code == 401
    assert replay(quiet_service, saved) == 401
    listed = sessions.list_sessions(quiet_service.ctx, email="ada@example.org", include_ended=True)
    assert [s.ended_reason for s in listed] == [sessions.SIGNED_OUT]


def test_a_password_change_ends_every_session(quiet_service: Service) -> None:
    first, second = signed_in(quiet_service), signed_in(quiet_service)
    saved = [first.cookies["nbcred_session"], second.cookies["nbcred_session"]]
    assert set_password(quiet_service.ctx, email="ada@example.org", password="a new password!") == 2
    assert [replay(quiet_service, c) for c in saved] == [401, 401]
    assert first.get("/account", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303
    signed_in(quiet_service, "a new password!")  # the new password opens a new session


def test_keeping_the_current_session_when_others_end(quiet_service: Service) -> None:
    here, elsewhere = signed_in(quiet_service), signed_in(quiet_service)
    page = here.get("/account").text
    assert "this browser" in page and "Sign out everywhere else" in page
    mine = here.get("/api/v1/sessions").json()
    assert len(mine) == 2 and sum(s["current"] for s in mine) == 1
    ended = here.post("/account/sessions/end-others", data={"csrf_token": csrf(page)}, follow_redirects=False)
    assert ended.status_code == 303
    assert here.get("/api/v1/me").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code == 401
    # one's own session ended by id through the API
    current = here.get("/api/v1/sessions").json()[0]["id"]
    token = csrf(here.get("/account").text)
    assert here.delete(f"/api/v1/sessions/{current}", headers={"X-CSRF-Token": token}).status_code == 204
    assert here.get("/api/v1/me").status_code == 401


def test_an_admin_ends_a_users_sessions(quiet_service: Service) -> None:
    browser = signed_in(quiet_service)
    client, admin = quiet_service.client, quiet_service.auth("alan")
    listed = client.get("/api/v1/users/ada@example.org/sessions", headers=admin).json()
    assert len(listed) == 1 and listed[0]["address"] == "testclient"
    assert client.get("/api/v1/users/ada@example.org/sessions",
                      headers=quiet_service.auth("bob")).status_code == 403
    other_user = client.post("/api/v1/users/bob@example.org/sessions/end", headers=admin,
                             json={"session_id": listed[0]["id"]})
    assert other_user.status_code == 404  # not Bob's session
    assert browser.get("/api/v1/me").status_code == 200
    ended = client.post("/api/v1/users/ada@example.org/sessions/end", headers=admin)
    assert ended.json() == {"ended": 1}
    assert browser.get("/api/v1/me").status_code == 401


def test_the_cli_lists_and_ends_sessions(quiet_service: Service) -> None:
    browser = signed_in(quiet_service)
    db = ["--db", quiet_service.ctx.settings.resolved_database_url()]
    runner = CliRunner()
    listed = runner.invoke(cli, ["user", "sessions", "ada@example.org", *db])
    assert listed.exit_code == 0 and "testclient" in listed.output
    ended = runner.invoke(cli, ["user", "end-sessions", "ada@example.org", *db])
    assert ended.exit_code == 0 and "ended 1 session(s)" in ended.output
    assert browser.get("/api/v1/me").status_code == 401
    missing = runner.invoke(cli, ["user", "end-sessions", "ada@example.org", "--id", "999", *db])
    assert missing.exit_code == 2 and "no session 999" in missing.output


def test_sessions_end_on_either_database(db_url: str, tmp_path: Path) -> None:
    from nbcred.service import ServiceContext
    from nbcred.service.users import add_user
    from tests.nbcred.web.conftest import settings_for

    ctx = ServiceContext.open(settings_for(tmp_path / "home", db_url))
    try:
        ada = add_user(ctx, email="ada@example.org", name="Ada", role="learner")
        first, second = (sessions.open_session(ctx, ada, address="192.0.2.1") for _ in range(2))
        signed = sessions.session_account(ctx, first.token)
        assert signed is not None and signed.account.email == ada.email and signed.session_id == first.id
        assert sessions.end_sessions(ctx, email=ada.email, keep=second.id) == 1
        assert sessions.session_account(ctx, first.token) is None
        assert sessions.session_account(ctx, second.token) is not None
        assert [s.id for s in sessions.list_sessions(ctx, email=ada.email)] == [second.id]
        later = datetime.now(UTC) + sessions.SESSION_LIFETIME + timedelta(seconds=1)
        assert sessions.session_account(ctx, second.token, now=later) is None  # expired
        assert sessions.end_session(ctx, second.token) and not sessions.end_session(ctx, second.token)
    finally:
        ctx.store.engine.dispose()
