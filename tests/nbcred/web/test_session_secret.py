"""The session secret is never built in: the one kept in NBCRED_HOME is random, private and reused,
and a cookie signed with the value earlier versions used is not a session."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from pydantic import SecretStr

from nbcred.web.app import create_app
from nbcred.web.secret import SessionSecretError, check_for_host, is_loopback, session_secret
from tests.nbcred.web.conftest import Service, settings_for


def test_the_kept_secret_is_random_private_and_reused(tmp_path: Path) -> None:
    first, other = settings_for(tmp_path / "a"), settings_for(tmp_path / "b")
    secret = session_secret(first)
    kept = tmp_path / "a" / "session-secret"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert session_secret(first) == secret and len(secret) >= 32
    assert session_secret(other) != secret  # made per installation, not built in
    kept.chmod(0o644)
    with pytest.raises(SessionSecretError, match="chmod 600"):
        session_secret(first)
    configured = settings_for(tmp_path / "c", session_secret=SecretStr("x" * 40))
    assert session_secret(configured) == "x" * 40 and not (tmp_path / "c").exists()


def test_loopback_hosts_and_the_refusal() -> None:
    assert all(map(is_loopback, ("127.0.0.1", "localhost", "::1", "[::1]", "127.8.0.1")))
    assert not any(map(is_loopback, ("0.0.0.0", "::", "192.168.1.5", "example.org", "")))
    unset = settings_for(Path("/nonexistent"))
    check_for_host(unset, "127.0.0.1")
    with pytest.raises(SessionSecretError, match="NBCRED_SESSION_SECRET"):
        check_for_host(unset, "0.0.0.0")
    check_for_host(settings_for(Path("/nonexistent"), session_secret=SecretStr("y" * 40)), "0.0.0.0")
    old = SecretStr("nbcred-development-session-secret")
    retired = settings_for(Path("/nonexistent"), session_secret=old)
    with pytest.raises(SessionSecretError, match="published"):
        check_for_host(retired, "0.0.0.0")


def test_a_cookie_signed_with_the_old_built_in_secret_is_refused(quiet_service: Service) -> None:
    with quiet_service.ctx.store.session() as session:
        from nbcred.store.models import User

        admin = session.query(User).filter_by(email="alan@example.org").one().id
    for secret in ("nbcred-development-session-secret", "guessed"):
        forged = URLSafeTimedSerializer(secret, salt="nbcred-session").dumps({"uid": admin, "csrf": "x"})
        client = TestClient(quiet_service.client.app)
        client.cookies.set("nbcred_session", forged)
        assert client.get("/api/v1/me").status_code == 401


def test_two_processes_sharing_a_home_accept_each_others_cookies(quiet_service: Service) -> None:
    settings = quiet_service.ctx.settings
    second = TestClient(create_app(settings, ctx=quiet_service.ctx))
    first = quiet_service.client
    token = first.get("/signin").text.split('name="csrf_token" value="')[1].split('"')[0]
    signed = first.post("/signin", data={"email": "ada@example.org", "password": "correct horse battery",
                                         "csrf_token": token}, follow_redirects=False)
    assert signed.status_code == 303
    second.cookies.set("nbcred_session", first.cookies["nbcred_session"])
    assert second.get("/api/v1/me").json()["email"] == "ada@example.org"
