"""Public pages: the credential page, the verify page (paste, upload, link), issuer, did:web, achievements."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.testclient import TestClient

from nbcred.web.app import create_app
from tests.nbcred.web.conftest import BASE_URL, Service, open_context, settings_for


def _csrf(client: TestClient, path: str = "/verify") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


def _checks(page: str) -> dict[str, str]:
    rows = re.findall(r'<tr class="(ok|bad|unknown)" data-check="(\w+)">', page)
    return {name: state for state, name in rows}


def test_verify_page_takes_a_link_a_file_and_pasted_json(world: tuple[Service, dict[str, str]]) -> None:
    service, values = world
    client = TestClient(service.client.app)  # anonymous: verifying needs no account
    url = f"{BASE_URL}/credentials/{values['credential_id'].removeprefix('urn:uuid:')}"
    by_link = client.post("/verify", data={"link": url, "csrf_token": _csrf(client)})
    assert by_link.status_code == 200 and "Valid: this credential was issued by" in by_link.text
    assert _checks(by_link.text) == {"signature": "ok", "issuer": "ok", "dates": "ok", "status": "ok",
                                     "schema": "ok"}
    document = client.get(url, headers={"Accept": "application/ld+json"}).json()
    by_file = client.post("/verify", data={"csrf_token": _csrf(client)},
                          files={"file": ("badge.json", json.dumps(document).encode())})
    assert "Valid:" in by_file.text
    expired = {**document, "validUntil": "2001-01-01T00:00:00Z"}
    pasted = client.post("/verify", data={"credential_json": json.dumps(expired),
                                          "csrf_token": _csrf(client)})
    assert "Not valid:" in pasted.text and _checks(pasted.text)["signature"] == "bad"
    garbage = client.post("/verify", data={"credential_json": "{nope", "csrf_token": _csrf(client)})
    assert garbage.status_code == 400 and "that is not JSON" in garbage.text
    not_a_badge = client.post("/verify", data={"csrf_token": _csrf(client)},
                              files={"file": ("x.png", b"\x89PNG\r\n\x1a\nnot really")})
    assert not_a_badge.status_code == 400
    private = client.post("/verify", data={"link": "http://127.0.0.1:9/x", "csrf_token": _csrf(client)})
    assert private.status_code == 400 and "private address" in private.text
    forged = client.post("/verify", data={"link": url})
    assert forged.status_code == 403  # the form needs its CSRF token


def test_credential_page_and_issuer(world: tuple[Service, dict[str, str]]) -> None:
    service, values = world
    client = TestClient(service.client.app)
    page = client.get(f"/credentials/{values['credential_id']}", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "Data Cleaning with pandas" in page.text and ">VALID<" in page.text
    assert "ada@example.org" not in page.text  # the public page does not reveal the email
    assert client.get("/credentials/urn:uuid:00000000-0000-0000-0000-000000000000").status_code == 404
    issuer = client.get("/issuer", headers={"Accept": "application/json"}).json()
    assert issuer["type"] == ["Profile"] and issuer["id"].startswith("did:key:")
    assert "did:key:" in client.get("/issuer", headers={"Accept": "text/html"}).text
    assert client.get("/.well-known/did.json").status_code == 404  # a did:key issuer has none
    achievement = client.get("/achievements/pandas-cleaning/1.0.0", headers={"Accept": "application/json"})
    assert achievement.json()["id"] == f"{BASE_URL}/achievements/pandas-cleaning/1.0.0"
    revocations = client.get("/status/revocations").json()  # what CLR copies point at
    assert revocations["id"] == f"{BASE_URL}/status/revocations"
    assert revocations["issuer"] == issuer["id"] and isinstance(revocations["revokedCredentials"], list)


def test_did_web_issuer_publishes_its_document(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "home", serve_grading=False, issuer_did_web="badges.test")
    with TestClient(create_app(settings, ctx=open_context(settings))) as client:
        document = client.get("/.well-known/did.json").json()
        assert document["id"] == "did:web:badges.test" and document["verificationMethod"]
        profile = client.get("/issuer", headers={"Accept": "application/json"}).json()
        assert profile["id"] == "did:web:badges.test"
