"""Sign-in with argon2 passwords, signed session cookies, CSRF on forms, slow-down, tokens."""

from __future__ import annotations

import contextlib
import re
from datetime import UTC, datetime, timedelta

from nbcred.service.errors import NotAuthenticated, TooManyAttempts
from nbcred.service.signin import Client, buckets
from nbcred.service.users import sign_in
from nbcred.store.models import SignInFailure, User
from tests.nbcred.web.conftest import PASSWORD, Service


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def test_passwords_are_stored_as_argon2_hashes(quiet_service: Service) -> None:
    with quiet_service.ctx.store.session() as session:
        user = session.query(User).filter_by(email="ada@example.org").one()
        assert user.password_hash is not None and user.password_hash.startswith("$argon2id$")
        assert PASSWORD not in user.password_hash


def test_sign_in_sets_a_session_and_needs_the_csrf_token(quiet_service: Service) -> None:
    client = quiet_service.client
    assert client.get("/", headers={"Accept": "text/html"}, follow_redirects=False).status_code == 303
    token = csrf(client.get("/signin").text)
    forged = client.post("/signin", data={"email": "ada@example.org", "password": PASSWORD},
                         follow_redirects=False)
    assert forged.status_code == 403 and "CSRF" in forged.text
    wrong = client.post("/signin", data={"email": "ada@example.org", "password": "nope-nope",
                                         "csrf_token": token}, follow_redirects=False)
    assert wrong.status_code == 401 and "wrong email or password" in wrong.text
    signed = client.post("/signin", data={"email": "ada@example.org", "password": PASSWORD,
                                          "csrf_token": token, "next": "/wallet"}, follow_redirects=False)
    assert signed.status_code == 303 and signed.headers["location"] == "/wallet"
    cookie = signed.headers["set-cookie"]
    assert "nbcred_session=" in cookie and "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
    assert client.get("/wallet").status_code == 200
    me = client.get("/api/v1/me").json()
    assert me["email"] == "ada@example.org"
    # a cookie-authenticated API write needs the CSRF header too
    page_token = csrf(client.get("/account").text)
    assert page_token != token  # a new session after sign-in
    refused = client.post("/api/v1/tokens", json={"label": "x"})
    assert refused.status_code == 403
    made = client.post("/api/v1/tokens", json={"label": "x"}, headers={"X-CSRF-Token": page_token})
    assert made.status_code == 201 and made.json()["token"].startswith("nbc_")
    out = client.post("/signout", data={"csrf_token": page_token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_a_tampered_session_cookie_is_ignored(quiet_service: Service) -> None:
    client = quiet_service.client
    client.cookies.set("nbcred_session", "eyJ1aWQiOjF9.forged.signature")
    assert client.get("/api/v1/me").status_code == 401


def test_next_cannot_leave_the_site(quiet_service: Service) -> None:
    client = quiet_service.client
    token = csrf(client.get("/signin").text)
    response = client.post("/signin", data={"email": "ada@example.org", "password": PASSWORD,
                                            "csrf_token": token, "next": "//evil.example/x"},
                           follow_redirects=False)
    assert response.headers["location"] == "/"


def test_repeated_failures_slow_sign_in_down(quiet_service: Service) -> None:
    ctx = quiet_service.ctx
    start = datetime(2030, 1, 1, tzinfo=UTC)
    for n in range(3):
        with contextlib.suppress(NotAuthenticated):
            sign_in(ctx, email="ada@example.org", password="wrong", now=start + timedelta(seconds=n))
    waits = []
    for password in ("wrong", PASSWORD):  # even the right password waits
        try:
            sign_in(ctx, email="ada@example.org", password=password, now=start + timedelta(seconds=2.5))
        except TooManyAttempts as exc:
            waits.append(exc.retry_after)
    assert waits == [1, 1]
    with contextlib.suppress(NotAuthenticated):
        sign_in(ctx, email="ada@example.org", password="wrong", now=start + timedelta(seconds=4))
    try:
        sign_in(ctx, email="ada@example.org", password=PASSWORD, now=start + timedelta(seconds=4.5))
        raise AssertionError("the fourth failure must make the next attempt wait")
    except TooManyAttempts as exc:
        assert exc.retry_after == 2  # doubles
    account = sign_in(ctx, email="ada@example.org", password=PASSWORD, now=start + timedelta(seconds=7))
    assert account.email == "ada@example.org"
    # unknown emails are slowed down the same way (no hint which emails exist)
    for n in range(3):
        with contextlib.suppress(NotAuthenticated):
            sign_in(ctx, email="ghost@example.org", password="x", now=start + timedelta(seconds=n))
    try:
        sign_in(ctx, email="ghost@example.org", password="x", now=start + timedelta(seconds=2.1))
        raise AssertionError("unknown emails must be slowed down too")
    except TooManyAttempts:
        pass


def test_the_sign_in_page_says_when_to_try_again(quiet_service: Service) -> None:
    client = quiet_service.client
    token = csrf(client.get("/signin").text)
    form = {"email": "bob@example.org", "password": "x" * 9, "csrf_token": token}
    first = client.post("/signin", data=form)
    assert first.status_code == 401
    key = buckets("bob@example.org", Client("testclient"))[0].key  # this address, this account
    with quiet_service.ctx.store.session() as session:  # as after ten failures in a row
        failure = session.get(SignInFailure, key)
        assert failure is not None and failure.failures == 1
        failure.failures, failure.last_failed_at = 10, datetime.now(UTC)
    last = client.post("/signin", data=form)
    assert last.status_code == 429 and "try again in" in last.text
    assert 100 <= int(last.headers["retry-after"]) <= 128


def test_revoked_token_is_refused(quiet_service: Service) -> None:
    from nbcred.service.users import revoke_tokens

    headers = quiet_service.auth("bob")
    assert quiet_service.client.get("/api/v1/me", headers=headers).status_code == 200
    assert revoke_tokens(quiet_service.ctx, email="bob@example.org") == 1
    refused = quiet_service.client.get("/api/v1/me", headers=headers)
    assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
