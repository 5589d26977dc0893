"""OpenID4VCI 1.0 pre-authorized code flow against real wallet libraries, over HTTPS.

``@digitalbazaar/oid4-client`` 5.10 (both its 1.0 path, via authorization_details and
credential identifiers, and its Draft 13 path) and ``@openid4vc/openid4vci`` 0.4.6 take an offer
made with the learner's API token, prove a did:key or did:jwk (EdDSA, ES256) and receive the
badge bound to that DID; Digital Bazaar's and DCC's verifiers check what they received, the
status included, before and after the original is revoked.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import pytest

from tests.nbcred.wallet.wallet_world import World

pytestmark = pytest.mark.integration


def offer(world: World, who: str = "ada", credential: str | None = None, **body: Any) -> dict[str, Any]:
    cid = credential or world.credentials[who]
    with world.api(who) as api:
        answer = api.post(f"/api/v1/credentials/{quote(cid, safe='')}/offer", json=body or None)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def verify(world: World, credential: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / f"{credential['id'].rsplit(':', 1)[-1]}.json"
    path.write_text(json.dumps(credential))
    return world.wallet("verify", str(path))


def status_bits(checked: dict[str, Any]) -> dict[str, bool]:
    """Whether each verifier found the credential's status bit set (revoked or suspended).

    Digital Bazaar reports the bit (``status``) of the 2-bit "message" entry and leaves the
    verdict to the caller; DCC's library fails the status check (and the credential) on it."""
    (ours,) = checked["digitalbazaar"]["status"]["results"]
    (theirs,) = checked["dcc"]["status"]["results"]
    assert ours["verified"] is True, checked
    assert checked["dcc"]["verified"] is theirs["verified"], checked
    return {"digitalbazaar": bool(ours["status"]), "dcc": not theirs["verified"]}


def test_metadata_names_what_wallets_need(world: World) -> None:
    with world.client() as client:
        issuer = client.get("/.well-known/openid-credential-issuer").json()
        server = client.get("/.well-known/oauth-authorization-server").json()
    assert issuer["credential_issuer"] == world.base == issuer["issuer"] == server["issuer"]
    assert issuer["credential_endpoint"].startswith(world.base + "/")
    assert issuer["nonce_endpoint"].startswith(world.base + "/")
    assert issuer["token_endpoint"] == server["token_endpoint"]
    assert server["pre-authorized_grant_anonymous_access_supported"] is True
    config = issuer["credential_configurations_supported"]["pandas-cleaning"]
    assert config["format"] == "ldp_vc"
    assert "OpenBadgeCredential" in config["credential_definition"]["type"]
    assert config["credential_definition"]["@context"][0] == "https://www.w3.org/ns/credentials/v2"
    assert {"did:key", "did:jwk"} <= set(config["cryptographic_binding_methods_supported"])
    algorithms = config["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"]
    assert {"EdDSA", "ES256"} <= set(algorithms)
    logo = config["credential_metadata"]["display"][0]["logo"]["uri"]
    with world.client() as client:
        image = client.get(logo)
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_offer_contract(world: World) -> None:
    made = offer(world)
    credential_offer = made["credential_offer"]
    assert credential_offer["credential_issuer"] == world.base
    assert credential_offer["credential_configuration_ids"] == ["pandas-cleaning"]
    grant = credential_offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    assert grant["pre-authorized_code"] and "tx_code" not in grant
    scheme, rest = made["offer_uri"].split("://?", 1)
    assert scheme == "openid-credential-offer"
    assert json.loads(parse_qs(rest)["credential_offer"][0]) == credential_offer
    with world.api("bob") as api:  # Ada's credential is not Bob's to offer
        refused = api.post(f"/api/v1/credentials/{quote(world.credentials['ada'], safe='')}/offer")
    assert refused.status_code == 404


@pytest.mark.parametrize(("key", "version", "nonce"), [
    ("ed25519", "detect", "nonce"), ("p256", "draft13", "nonce"), ("ed25519", "draft13", "retry")])
def test_digital_bazaar_client_receives_a_badge_bound_to_its_did(
        world: World, tmp_path: Path, key: str, version: str, nonce: str) -> None:
    got = world.wallet("db", offer(world)["offer_uri"], key, version, nonce)
    credential = got["credential"]
    assert credential["credentialSubject"]["id"] == got["holder"]
    assert got["holder"].startswith("did:key:z")
    assert "OpenBadgeCredential" in credential["type"]
    original = world.ctx.store.session
    with original() as session:
        from nbcred.store.models import HolderCopy, IssuedCredential

        copy = session.get(HolderCopy, credential["id"])
        assert copy is not None and copy.credential_id == world.credentials["ada"]
        source = session.get(IssuedCredential, copy.credential_id)
        assert credential["credentialStatus"] == source.document["credentialStatus"]
    checked = verify(world, credential, tmp_path)
    assert checked["digitalbazaar"]["verified"] is True, checked
    assert checked["dcc"]["verified"] is True, checked
    assert status_bits(checked) == {"digitalbazaar": False, "dcc": False}
    if version == "detect":  # the 1.0 path: authorization_details answered with identifiers
        assert got["tokenRequestedDetails"][0]["credential_identifiers"] == [world.credentials["ada"]]


@pytest.mark.parametrize(("key", "method"), [("ed25519", "key"), ("p256", "jwk"), ("ed25519", "jwk")])
def test_openid4vc_client_receives_a_badge_bound_to_its_did(
        world: World, tmp_path: Path, key: str, method: str) -> None:
    got = world.wallet("ts", offer(world)["offer_uri"], key, method)
    assert got["version"] == "V1"  # 1.0 final metadata (credential_metadata)
    credential = got["credential"]
    assert credential["credentialSubject"]["id"] == got["holder"]
    assert got["holder"].startswith(f"did:{method}:")
    checked = verify(world, credential, tmp_path)
    assert checked["digitalbazaar"]["verified"] is True, checked
    assert checked["dcc"]["verified"] is True, checked
    assert status_bits(checked) == {"digitalbazaar": False, "dcc": False}


def test_transaction_code(world: World) -> None:
    made = offer(world, tx_code=True)
    grant = made["credential_offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    assert grant["tx_code"]["length"] == len(made["tx_code"]) == 6
    wrong = "000000" if made["tx_code"] != "000000" else "111111"
    refused = world.wallet("ts", made["offer_uri"], "ed25519", "key", wrong, ok=False)
    assert "invalid_grant" in json.dumps(refused)
    got = world.wallet("ts", made["offer_uri"], "ed25519", "key", made["tx_code"])
    assert got["credential"]["credentialSubject"]["id"] == got["holder"]
    assert urlsplit(made["offer_uri"]).scheme == "openid-credential-offer"


def test_revoking_the_wallet_copy_revokes_both(world: World, tmp_path: Path) -> None:
    from nbcred.service.courseware import set_status

    original_id = world.credentials["ada-2"]
    got = world.wallet("db", offer(world, credential=original_id)["offer_uri"], "ed25519", "detect", "nonce")
    credential = got["credential"]
    assert credential["credentialSubject"]["id"] == got["holder"]
    before = verify(world, credential, tmp_path)
    assert before["digitalbazaar"]["verified"] is True and before["dcc"]["verified"] is True, before
    assert not before["digitalbazaar"]["errors"] and not before["dcc"]["errors"]
    set_status(world.ctx, credential["id"], action="revoke", reason="wallet copy revoked in a test")
    with world.ctx.store.session() as session:
        from nbcred.store.models import IssuedCredential

        assert session.get(IssuedCredential, original_id).status == "revoked"
        original = dict(session.get(IssuedCredential, original_id).document)
    assert status_bits(before) == {"digitalbazaar": False, "dcc": False}
    for document in (credential, original):  # one status entry: both read "revoked" now
        after = verify(world, document, tmp_path)
        assert status_bits(after) == {"digitalbazaar": True, "dcc": True}, after
    with world.api("ada") as api:  # a revoked badge is offered to no wallet
        refused = api.post(f"/api/v1/credentials/{quote(original_id, safe='')}/offer")
    assert refused.status_code == 409, refused.text
