"""The verify API and page refuse a credential forged in this service's name (V2) and never
call a stranger "this service" because of the name it claims (V3)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from credentials.keys import KeyPair
from credentials.proof import sign
from nbcred.web.app import create_app
from tests.nbcred.web.conftest import Service, open_context, people, settings_for
from tests.paths import VECTORS

OB3 = VECTORS / "ob3-unsigned.json"


@pytest.fixture(scope="module", params=["did:key", "did:web"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    extra = {"issuer_did_web": "badges.test"} if request.param == "did:web" else {}
    settings = settings_for(tmp_path_factory.mktemp("forgery") / "home", serve_grading=False, **extra)
    ctx = open_context(settings)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        yield Service(ctx, client, people(ctx))


def _unsigned(issuer_id: str, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OB3.read_text())
    document["issuer"] = {**document["issuer"], "id": issuer_id, "name": name}
    return document


def _ours(service: Service) -> tuple[str, str]:
    identity = service.ctx.issuer.identity
    return identity.did, identity.profile.name


def _csrf(client: TestClient) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/verify").text)
    assert found
    return found.group(1)


def test_api_refuses_a_credential_signed_by_another_key(service: Service) -> None:
    did, name = _ours(service)
    genuine = service.ctx.issuer.identity.sign(_unsigned(did, name))
    verdict = service.client.post("/api/v1/credentials/verify", json=genuine).json()
    assert verdict["verified"] is True and verdict["checks"]["proof"] == "ok", verdict
    attacker = KeyPair.generate()
    for method in (None, f"{did}#{attacker.public_key_multibase}"):
        forged = sign(_unsigned(did, name), attacker, verification_method=method)
        verdict = service.client.post("/api/v1/credentials/verify", json=forged).json()
        assert verdict["verified"] is False, verdict
        assert verdict["checks"]["proof"] != "ok", verdict


def test_verify_page_names_a_forged_credential_not_valid(service: Service) -> None:
    did, name = _ours(service)
    client = TestClient(service.client.app)
    forged = sign(_unsigned(did, name), KeyPair.generate())
    page = client.post("/verify", data={"credential_json": json.dumps(forged), "csrf_token": _csrf(client)})
    assert "Not valid" in page.text and "Valid: this credential was issued by" not in page.text
    assert f"issued by {name}" not in page.text
def test_verify_page_does_not_recognise_a_stranger_using_this_services_name(service: Service) -> None:
    did, name = _ours(service)
    client = TestClient(service.client.app)
    stranger = KeyPair.generate()
    self_signed = sign(_unsigned(stranger.did_key, name), stranger)
    api = client.post("/api/v1/credentials/verify", json=self_signed).json()
    assert api["verified"] is True  # a genuine credential, just not ours
    page = client.post("/verify", data={"credential_json": json.dumps(self_signed),
                                        "csrf_token": _csrf(client)}).text
    assert "issuer not recognised" in page.lower()
    assert stranger.did_key in page
    assert f"issued by {name}" not in page
    genuine = service.ctx.issuer.identity.sign(_unsigned(did, name))
    ours = client.post("/verify", data={"credential_json": json.dumps(genuine),
                                        "csrf_token": _csrf(client)}).text
    assert "issuer not recognised" not in ours.lower() and did in ours
