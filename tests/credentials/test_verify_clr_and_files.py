"""The verifier misses nothing: a CLR is verified credential by credential, baked badges are
verified directly, and the published JSON Schemas (not a hand-written subset) decide ``schema``."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from credentials import ob3
from credentials import statuslist as sl
from credentials.baking import bake
from credentials.did import Resolver
from credentials.keys import KeyPair
from credentials.pathways import build_clr
from credentials.proof import sign
from credentials.schema import validate
from credentials.verify import list_status_checker, verify_bytes, verify_credential
from tests.paths import ROOT, SHARED

KEY = KeyPair.generate()
ISSUER = ob3.IssuerProfile(id=KEY.did_key, name="Academy", url="https://academy.example")
LIST_URL = "https://academy.example/status/message/1"
DATA = Path(__file__).parent / "data"
SCHEMAS = ROOT / "credentials" / "schemas"


def badge(slug: str, status: sl.StatusList) -> tuple[dict[str, Any], int]:
    index = status.allocate()
    achievement = ob3.AchievementSpec(
        id=f"https://academy.example/badges/{slug}", name=f"Badge {slug}", description="d",
        criteria_narrative="c")
    unsigned = ob3.build_credential(
        achievement=achievement, issuer=ISSUER, recipient=ob3.RecipientIdentity(email="ada@example.org"),
        credential_status=status.entry(index))
    return sign(unsigned, KEY), index


def checker(status: sl.StatusList) -> Any:
    published = status.signed_credential(issuer=KEY.did_key, sign=lambda d: sign(d, KEY))
    return list_status_checker(lists={LIST_URL: published}, resolver=Resolver())


def test_clr_fails_when_an_embedded_credential_is_revoked_or_suspended() -> None:
    status = sl.StatusList(url=LIST_URL, purpose="message")
    (first, _), (second, second_index), (third, third_index) = (badge(s, status) for s in "abc")
    clr = sign(build_clr(issuer=ISSUER, recipient=ob3.RecipientIdentity(email="ada@example.org"),
                         credentials=[first, second, third], name="Ada's record"), KEY)
    clean = verify_credential(clr, resolver=Resolver(), status_checker=checker(status))
    assert clean.verified and [e.verified for e in clean.embedded] == [True] * 3
    assert clean.to_json()["embedded"][0] == {
        "verified": True, "checks": {"proof": "ok", "dates": "ok", "status": "ok", "schema": "ok"}}
    sl.revoke(status, second_index, reason="misconduct")
    sl.suspend(status, third_index, reason="appeal")
    result = verify_credential(clr, resolver=Resolver(), status_checker=checker(status))
    assert result.proof == "ok" and result.status == "none" and result.schema == "ok"
    assert not result.verified
    assert [e.status for e in result.embedded] == ["ok", "revoked", "suspended"]
    assert [e["verified"] for e in result.to_json()["embedded"]] == [True, False, False]
    assert "2 of 3 embedded credential(s) do not verify" in result.warnings


def test_clr_fails_when_an_embedded_credential_was_altered() -> None:
    status = sl.StatusList(url=LIST_URL, purpose="message")
    (first, _), (second, _) = badge("a", status), badge("b", status)
    second["name"] = "Forged"  # altered before the CLR was signed: the CLR's own proof is fine
    clr = sign(build_clr(issuer=ISSUER, recipient=ob3.RecipientIdentity(email="ada@example.org"),
                         credentials=[first, second], name="record"), KEY)
    result = verify_credential(clr, resolver=Resolver(), status_checker=checker(status))
    assert result.proof == "ok" and not result.verified
    assert result.embedded[1].proof.startswith("failed: signature does not match")


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "navy").save(out, format="PNG")
    return out.getvalue()


@pytest.mark.parametrize("image", ["svg", "png"])
def test_baked_badges_verify_directly(image: str) -> None:
    status = sl.StatusList(url=LIST_URL, purpose="message")
    signed, index = badge("a", status)
    picture = (DATA / "badge.svg").read_bytes() if image == "svg" else png_bytes()
    baked = bake(signed, picture)
    result = verify_bytes(baked, resolver=Resolver(), status_checker=checker(status))
    assert result.verified and result.checks["status"] == "ok" and result.checks["schema"] == "ok"
    sl.revoke(status, index, reason="r")
    assert verify_bytes(baked, resolver=Resolver(), status_checker=checker(status)).status == "revoked"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"hello", "not a credential: it is not JSON, nor a PNG or SVG badge image"),
        (b"{broken", "the file is not JSON"),
        (b"[1, 2]", "the JSON is not a credential object"),
        (png_bytes(), "no credential could be read from the badge image"),
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', "no credential could be read"),
    ],
)
def test_unreadable_input_says_why(data: bytes, reason: str) -> None:
    result = verify_bytes(data, resolver=Resolver())
    assert not result.verified and reason in result.proof


def test_bundled_schemas_are_the_published_files() -> None:
    readme = (SCHEMAS / "README.md").read_text()
    for name, digest in re.findall(r"\| `([\w.]+\.json)` \|.*\| `([0-9a-f]{64})` \|", readme):
        assert hashlib.sha256((SCHEMAS / name).read_bytes()).hexdigest() == digest, name
    assert len(re.findall(r"`[0-9a-f]{64}`", readme)) == 2
    shared = SHARED / "schemas"
    for path in shared.glob("*.json"):  # the reference copies, where present
        assert (SCHEMAS / path.name).read_bytes() == path.read_bytes(), path.name


def test_schema_check_uses_the_published_schema() -> None:
    status = sl.StatusList(url=LIST_URL, purpose="message")
    signed, _ = badge("a", status)
    assert validate(signed).problems == ()
    broken = {**signed, "credentialSubject": {**signed["credentialSubject"], "achievement": "x"}}
    broken["proof"] = signed["proof"][0]  # a single proof object is checked as a one-proof set
    problems = validate(broken).problems
    assert not any(p.startswith("credential.proof") for p in problems)
    broken["proof"] = "not a proof"
    assert "credential.proof must be of type array" in validate(broken).problems
    assert "credential.credentialSubject.achievement must be of type object" in problems
    listed = status.signed_credential(issuer=KEY.did_key, sign=lambda d: sign(d, KEY))
    assert validate(listed).summary == "none"  # no published schema for status lists


def test_clr_schema_sets_aside_only_its_two_pre_vc2_rules() -> None:
    status = sl.StatusList(url=LIST_URL, purpose="message")
    signed, _ = badge("a", status)
    clr = sign(build_clr(issuer=ISSUER, recipient=ob3.RecipientIdentity(email="ada@example.org"),
                         credentials=[signed], name="record"), KEY)
    assert validate(clr).summary == "ok"
    del clr["name"]
    clr["credentialStatus"] = signed["credentialStatus"]  # at the CLR's own level it still counts
    clr["credentialSubject"]["verifiableCredential"][0]["credentialSubject"] = "x"
    summary = validate(clr).summary
    assert summary.startswith("failed: does not match the CLR 2.0 ClrCredential schema")
    assert "'name' is a required property" in summary and "issuanceDate" not in summary
    assert "credential.credentialStatus: Additional properties are not allowed" in summary
    assert "verifiableCredential[0].credentialSubject must be of type object" in summary
