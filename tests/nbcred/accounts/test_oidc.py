"""Institutional sign-in against a real OpenID Provider (oidc-provider on Node): sign-in, linking by
(issuer, subject), roles from a claim, and every refusal with a clear page."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy import func, select

from nbcred.service import ServiceContext, oidc
from nbcred.settings import OidcProvider, Settings
from nbcred.store.models import ExternalIdentity, User
from nbcred.web.app import create_app
from tests.browsing import free_port
from tests.nbcred.accounts.openid_provider import CLIENT_ID, CLIENT_SECRET, log_in, provider

pytestmark = pytest.mark.integration
APP = "http://testserver"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with provider(free_port(), [f"{APP}/signin/oidc/uni/callback"]) as url:
        yield url


def settings(db_url: str, issuer: str, **changes: Any) -> Settings:
    entry = OidcProvider(name="uni", title="Example University", client_id=CLIENT_ID,
                         discovery_url=f"{issuer}/.well-known/openid-configuration",
                         roles_claim="roles", role_values={"staff": "instructor"})
    return Settings(database_url=db_url, serve_grading=False, base_url=APP, oidc_providers=[entry],
                    oidc_client_secrets={"uni": CLIENT_SECRET}, **changes)


def sign_in_with_institution(client: TestClient, login: str) -> httpx.Response:
    start = client.get("/signin/oidc/uni?next=/account", follow_redirects=False)
    assert start.status_code == 303
    back = log_in(start.headers["location"], login)
    assert back.startswith(f"{APP}/signin/oidc/uni/callback?")
    return client.get(back.removeprefix(APP), follow_redirects=False)


def test_sign_in_links_by_issuer_and_subject_with_roles_from_a_claim(home: Path, db_url: str,
                                                                    issuer: str) -> None:
    config = settings(db_url, issuer)
    ctx = ServiceContext.open(config)
    with TestClient(create_app(config, ctx=ctx)) as client:
        page = client.get("/signin")
        assert 'href="/signin/oidc/uni?next=' in page.text and "Sign in with Example University" in page.text
        done = sign_in_with_institution(client, "staff7")
        assert done.status_code == 303 and done.headers["location"] == "/account"
        me = client.get("/api/v1/me").json()
        assert me["email"] == "staff7@example.edu" and me["role"] == "instructor"
    with TestClient(create_app(config, ctx=ctx)) as again:
        assert sign_in_with_institution(again, "staff7").status_code == 303
        assert sign_in_with_institution(again, "ada").status_code == 303
        assert again.get("/api/v1/me").json()["role"] == "learner"
    with ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 2
        links = session.execute(select(ExternalIdentity.issuer, ExternalIdentity.subject)).tuples().all()
    assert sorted(links) == [(issuer, "ada"), (issuer, "staff7")]


def test_refusals_are_clear_pages(home: Path, sqlite_url: str, issuer: str) -> None:
    config = settings(sqlite_url, issuer)
    with TestClient(create_app(config)) as client:
        unknown = client.get("/signin/oidc/elsewhere")
        assert unknown.status_code == 404
        assert "no identity provider" in unknown.text and "elsewhere" in unknown.text
        start = client.get("/signin/oidc/uni", follow_redirects=False)
        back = log_in(start.headers["location"], "mallory").removeprefix(APP)
        forged = client.get(back.replace("state=", "state=x"))
        assert forged.status_code == 401 and "state mismatch" in forged.text
        replay = client.get(back)  # the pending sign-in was used up by the forged answer
        assert replay.status_code == 401 and "no sign-in was started" in replay.text
        error = client.get("/signin/oidc/uni/callback?error=access_denied&error_description=nope")
        assert error.status_code == 401 and "access_denied" in error.text
        assert client.get("/api/v1/me").status_code == 401


def _real_id_token(issuer: str, nonce: str) -> str:
    meta = oidc.discover(OidcProvider(name="uni", title="U", client_id=CLIENT_ID,
                                      discovery_url=f"{issuer}/.well-known/openid-configuration"))
    verifier = "v" * 60
    callback = f"{APP}/signin/oidc/uni/callback"
    query = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": callback,
             "scope": "openid email profile", "state": "s", "nonce": nonce,
             "code_challenge": oidc.create_s256_code_challenge(verifier), "code_challenge_method": "S256"}
    back = log_in(f"{meta.authorization_endpoint}?{httpx.QueryParams(query)}", "eve")
    code = httpx.URL(back).params["code"]
    answer = httpx.post(meta.token_endpoint, auth=(CLIENT_ID, CLIENT_SECRET), data={
        "grant_type": "authorization_code", "code": code, "code_verifier": verifier,
        "redirect_uri": f"{APP}/signin/oidc/uni/callback"})
    return str(answer.json()["id_token"])


def test_id_token_checks_refuse_signature_audience_issuer_nonce_expiry_and_replay(
        home: Path, db_url: str, issuer: str) -> None:
    token = _real_id_token(issuer, "n-1")
    meta = oidc.discover(settings(db_url, issuer).oidc_providers[0])
    keys = oidc._keys(meta)
    good = {"keys": keys, "issuer": issuer, "client_id": CLIENT_ID, "nonce": "n-1"}
    claims = oidc.check_id_token(token, **good)  # type: ignore[arg-type]
    assert claims["sub"] == "eve"
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=="))
    forged_body = base64.urlsafe_b64encode(json.dumps({**payload, "sub": "admin"}).encode()).rstrip(b"=")
    cases = {
        "signature does not verify": ({"id_token": f"{head}.{forged_body.decode()}.{signature}"}, {}),
        "another client": ({}, {"client_id": "someone-else"}),
        "unknown issuer": ({}, {"issuer": "https://idp.elsewhere.example"}),
        "nonce does not match": ({}, {"nonce": "n-2"}),
        "expired": ({}, {"now": int(payload["exp"]) + 3600}),
    }
    header = json.loads(base64.urlsafe_b64decode(head + "=="))
    unsigned = base64.urlsafe_b64encode(json.dumps({**header, "alg": "none"}).encode()).rstrip(b"=").decode()
    cases["cannot be read"] = ({"id_token": f"{unsigned}.{body}."}, {})  # alg "none"
    stranger = RSAKey.generate_key(2048, parameters={"kid": header.get("kid", "k")})
    cases["signature does not verify with"] = (
        {"id_token": jwt.encode({"alg": "RS256", "kid": header.get("kid", "k")}, payload, stranger)}, {})
    confused = jwt.encode({"alg": "HS256", "kid": header.get("kid", "k")}, payload,
                          OctKey.import_key(json.dumps(keys.as_dict()).encode()))
    cases["cannot be read|signature does not verify"] = ({"id_token": confused}, {})  # alg confusion
    for reason, (token_change, check_change) in cases.items():
        with pytest.raises(oidc.SignInRefused, match=reason):
            oidc.check_id_token(token_change.get("id_token", token), **{**good, **check_change})  # type: ignore[arg-type]
    ctx = ServiceContext.open(settings(db_url, issuer))
    oidc._spend_nonce(ctx, "n-1", int(payload["exp"]))
    with pytest.raises(oidc.SignInRefused, match="replayed nonce"):
        oidc._spend_nonce(ctx, "n-1", int(payload["exp"]))
