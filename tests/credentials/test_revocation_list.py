"""The 1EdTech Revocation List status method that the credentials embedded in a CLR carry: the
list document, the verifier's lookup (revoked, suspended, lifted, wrong list) and a CLR of such
copies failing when one of them is revoked, passing again when a suspension is lifted."""

from __future__ import annotations

from typing import Any

from credentials import ob3
from credentials import revocationlist as rl
from credentials.did import Resolver
from credentials.keys import KeyPair
from credentials.pathways import build_clr
from credentials.proof import sign
from credentials.verify import list_status_checker, verify_credential

KEY = KeyPair.generate()
ISSUER = ob3.IssuerProfile(id=KEY.did_key, name="Academy", url="https://academy.example")
URL = "https://academy.example/status/revocations"


def copy(slug: str) -> dict[str, Any]:
    achievement = ob3.AchievementSpec(
        id=f"https://academy.example/badges/{slug}", name=f"Badge {slug}", description="d",
        criteria_narrative="c")
    unsigned = ob3.build_credential(
        achievement=achievement, issuer=ISSUER, recipient=ob3.RecipientIdentity(email="ada@example.org"))
    unsigned["credentialStatus"] = rl.entry(URL)  # as nbcred's CLR copies carry it
    return sign(unsigned, KEY)


def status(credential: dict[str, Any], listing: dict[str, Any]) -> str:
    checker = list_status_checker(lists={URL: listing}, resolver=Resolver())
    return verify_credential(credential, resolver=Resolver(), status_checker=checker).status


def test_the_list_document_and_the_lookup() -> None:
    first, second = copy("a"), copy("b")
    assert first["credentialStatus"] == {"id": URL, "type": "1EdTechRevocationList"}
    listing = rl.build_list(url=URL, issuer=KEY.did_key,
                            statuses={first["id"]: "revoked", second["id"]: "suspended"})
    assert listing["id"] == URL and listing["issuer"] == KEY.did_key
    reasons = {e["id"]: e["revocationReason"] for e in listing["revokedCredentials"]}
    assert reasons[first["id"]] == "revoked" and reasons[second["id"]].startswith("suspended")
    assert status(first, listing) == "revoked"
    assert status(second, listing) == "suspended"
    lifted = rl.build_list(url=URL, issuer=KEY.did_key, statuses={first["id"]: "revoked"})
    assert status(second, lifted) == "ok"


def test_a_list_that_is_not_the_issuers_is_not_trusted() -> None:
    credential = copy("a")
    other = rl.build_list(url=URL, issuer="did:key:z6MkOther", statuses={})
    assert status(credential, other).startswith("unknown: the revocation list at")
    moved = {**rl.build_list(url=URL, issuer=KEY.did_key, statuses={}), "id": URL + "/2"}
    assert "says its id is" in status(credential, moved)
    missing = list_status_checker(lists={}, resolver=Resolver())
    result = verify_credential(credential, resolver=Resolver(), status_checker=missing)
    assert result.status.startswith("unknown: could not fetch revocation list")
    assert not verify_credential(credential, resolver=Resolver(), status_checker=missing,
                                 require_status=True).verified


def test_a_clr_of_copies_fails_naming_the_revoked_one_and_passes_once_lifted() -> None:
    first, second = copy("a"), copy("b")
    clr = sign(build_clr(issuer=ISSUER, recipient=ob3.RecipientIdentity(email="ada@example.org"),
                         credentials=[first, second], name="Ada's record"), KEY)

    def check(statuses: dict[str, str]) -> Any:
        listing = rl.build_list(url=URL, issuer=KEY.did_key, statuses=statuses)
        checker = list_status_checker(lists={URL: listing}, resolver=Resolver())
        return verify_credential(clr, resolver=Resolver(), status_checker=checker)

    clean = check({})
    assert clean.verified and clean.schema == "ok" and [e.status for e in clean.embedded] == ["ok", "ok"]
    revoked = check({second["id"]: "revoked"})
    assert not revoked.verified and [e.status for e in revoked.embedded] == ["ok", "revoked"]
    assert revoked.embedded[1].credential_id == second["id"]
    assert any(second["id"] in w and "status revoked" in w for w in revoked.warnings)
    suspended = check({first["id"]: "suspended"})
    assert not suspended.verified and suspended.embedded[0].status == "suspended"
    assert check({}).verified  # unsuspended: the entry is gone from the list
