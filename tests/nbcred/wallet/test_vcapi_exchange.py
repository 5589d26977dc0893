"""The VC-API exchange the DCC Learner Credential Wallet speaks, over HTTPS.

The wallet side is the DCC's own signing libraries (``@digitalcredentials/vc``,
``ed25519-signature-2020``; ``eddsa-rdfc-2022`` too): it POSTs ``{}``, answers the DID
authentication request with a presentation signed by a fresh did:key, and receives the badge
bound to that DID, which Digital Bazaar's and DCC's verifiers accept (status included).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.nbcred.wallet.wallet_world import World

pytestmark = pytest.mark.integration


def exchange(world: World, who: str = "ada") -> dict[str, Any]:
    with world.api(who) as api:
        answer = api.post(f"/api/v1/credentials/{quote(world.credentials[who], safe='')}/exchange")
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_exchange_contract(world: World) -> None:
    made = exchange(world)
    assert made["exchange_url"].startswith(world.base + "/")
    link = urlsplit(made["lcw_request"])
    assert (link.scheme, link.netloc, link.path) == ("https", "lcw.app", "/request")
    request = json.loads(parse_qs(link.query)["request"][0])
    assert request["protocols"]["vcapi"] == made["exchange_url"]
    assert request["credentialRequestOrigin"] == world.base
    with world.client() as client:
        first = client.post(made["exchange_url"], json={})
    assert first.status_code == 200
    asked = first.json()["verifiablePresentationRequest"]
    assert asked["query"][0]["type"] == "DIDAuthentication"
    assert asked["challenge"] and asked["domain"] == world.base
    with world.api("bob") as api:
        refused = api.post(f"/api/v1/credentials/{quote(world.credentials['ada'], safe='')}/exchange")
    assert refused.status_code == 404


@pytest.mark.parametrize(("suite", "version"), [("ed2020", "2"), ("ed2020", "1"), ("eddsa", "2")])
def test_the_wallet_receives_the_badge_bound_to_its_did(
        world: World, tmp_path: Path, suite: str, version: str) -> None:
    made = exchange(world)
    got = world.wallet("lcw", made["exchange_url"], suite, version)
    assert got["status"] == 200, got
    proof = got["presented"]["proof"]
    assert proof["type"] == ("Ed25519Signature2020" if suite == "ed2020" else "DataIntegrityProof")
    assert proof["proofPurpose"] == "authentication"
    (credential,) = got["body"]["verifiablePresentation"]["verifiableCredential"]
    assert credential["credentialSubject"]["id"] == got["holder"]
    assert credential["credentialStatus"]["statusListCredential"].startswith(world.base)
    path = tmp_path / "received.json"
    path.write_text(json.dumps(credential))
    checked = world.wallet("verify", str(path))
    assert checked["digitalbazaar"]["verified"] is True, checked
    assert checked["dcc"]["verified"] is True, checked
    (entry,) = checked["digitalbazaar"]["status"]["results"]
    assert entry["status"] is False
    # single use: the same exchange gives nothing more
    again = world.wallet("lcw", made["exchange_url"], suite, version)
    assert again["step"] == "request" and again["status"] == 409


def test_another_challenge_is_refused_and_the_exchange_stays_open(world: World) -> None:
    made = exchange(world)
    refused = world.wallet("lcw", made["exchange_url"], "ed2020", "2", "not-the-challenge")
    assert refused["status"] == 400 and "challenge" in refused["body"]["detail"]
    got = world.wallet("lcw", made["exchange_url"], "ed2020", "2")
    assert got["status"] == 200


def test_tampered_or_unsigned_presentations_are_refused(world: World) -> None:
    made = exchange(world)
    got = world.wallet("lcw", made["exchange_url"], "ed2020", "2", "not-the-challenge")
    presented = got["presented"]
    with world.client() as client:
        asked = client.post(made["exchange_url"], json={}).json()["verifiablePresentationRequest"]
        forged = dict(presented, proof=dict(presented["proof"], challenge=asked["challenge"]))
        altered = client.post(made["exchange_url"], json={"verifiablePresentation": forged})
        unsigned = client.post(made["exchange_url"], json={"verifiablePresentation": {
            k: v for k, v in presented.items() if k != "proof"}})
        other = dict(forged, holder="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
        stolen = client.post(made["exchange_url"], json={"verifiablePresentation": other})
        unknown = client.post(made["exchange_url"] + "x", json={})
    assert altered.status_code == 400 and "signature" in altered.json()["detail"]
    assert unsigned.status_code == 400 and "no proof" in unsigned.json()["detail"]
    assert stolen.status_code == 400 and "holder" in stolen.json()["detail"]
    assert unknown.status_code == 404
