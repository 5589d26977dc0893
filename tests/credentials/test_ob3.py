"""Open Badges 3.0 documents: structure, validation, identity hashing, JSON-LD expansion."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
from pyld import jsonld as pyld

from credentials import jsonld, ob3
from credentials.errors import CredentialError, DocumentError
from credentials.statuslist import StatusList

ISSUER = ob3.IssuerProfile(
    id="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
    name="Data Science Academy",
    url="https://academy.example",
)
PANDAS = ob3.ResultDescriptionSpec(
    id="https://academy.example/badges/wrangling#pandas",
    name="Data frames with pandas",
    result_type="Percent",
    required_value=70,
    alignments=(
        ob3.AlignmentSpec(
            target_name="Data wrangling",
            target_url="https://frameworks.example/ds/DW.1",
            target_framework="DS Competency Framework",
            target_code="DW.1",
            target_type="CFItem",
        ),
    ),
)
TESTS = ob3.ResultDescriptionSpec(
    id="https://academy.example/badges/wrangling#tests", name="Unit tests", result_type="Status"
)
PIXEL = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYPgPAAEDAQAI"
    "icLsAAAAAElFTkSuQmCC"
)
BADGE = ob3.AchievementSpec(
    id="https://academy.example/badges/wrangling",
    name="Data Wrangling",
    description="Cleans and reshapes tabular data.",
    criteria_narrative="Score at least 70% on every competency of the wrangling assessment.",
    achievement_type="Competency",
    image=ob3.ImageSpec(id=PIXEL, caption="badge"),
    tags=("pandas", "data"),
    alignments=PANDAS.alignments,
    result_descriptions=(PANDAS, TESTS),
    version="2024.1",
    creator=ISSUER,
    human_code="DW-1",
    assessment_id="wrangling-101",
)
RECIPIENT = ob3.RecipientIdentity(email="Ada@Example.org ", salt="s4lt")
EVIDENCE = ob3.AssessmentEvidence(
    assessment_id="wrangling-101",
    assessment_version="3",
    score=42.5,
    max_score=50,
    competencies_passed=("pandas", "tests"),
    submission_sha256="ab" * 32,
    submission_id="urn:uuid:0b8f9a3c-2e9d-4a5b-8c7d-6e5f4a3b2c1d",
)
WHEN = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)


def credential(**overrides: Any) -> dict[str, Any]:
    status_list = StatusList(url="https://academy.example/status/1", purpose="revocation")
    kwargs: dict[str, Any] = {
        "achievement": BADGE,
        "issuer": ISSUER,
        "recipient": RECIPIENT,
        "results": [
            ob3.ResultSpec(result_description=PANDAS.id, value=85),
            ob3.ResultSpec(result_description=TESTS.id, status="Completed"),
        ],
        "evidence": [EVIDENCE],
        "credential_status": status_list.entry(status_list.allocate()),
        "valid_from": WHEN,
        "expires_after_days": 365,
    }
    kwargs.update(overrides)
    return ob3.build_credential(**kwargs)


def test_credential_structure() -> None:
    doc = credential()
    assert doc["@context"] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json",
    ]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["id"].startswith("urn:uuid:")
    assert doc["issuer"] == {
        "id": ISSUER.id,
        "type": ["Profile"],
        "name": "Data Science Academy",
        "url": "https://academy.example",
    }
    assert doc["validFrom"] == "2024-05-01T12:30:00Z"
    assert doc["validUntil"] == "2025-05-01T12:30:00Z"
    assert doc["credentialSchema"] == [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
            "ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ]
    assert doc["credentialStatus"]["type"] == "BitstringStatusListEntry"
    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    achievement = subject["achievement"]
    assert achievement["achievementType"] == "Competency"
    assert achievement["criteria"] == {"narrative": BADGE.criteria_narrative}
    assert achievement["image"] == {"id": PIXEL, "type": "Image", "caption": "badge"}
    assert achievement["alignment"][0]["type"] == ["Alignment"]
    assert achievement["alignment"][0]["targetCode"] == "DW.1"
    assert achievement["creator"]["id"] == ISSUER.id
    assert achievement["otherIdentifier"][0]["identifier"] == "wrangling-101"
    rd = {r["id"]: r for r in achievement["resultDescription"]}
    assert rd[PANDAS.id]["resultType"] == "Percent"
    assert rd[PANDAS.id]["requiredValue"] == "70"
    assert rd[TESTS.id]["allowedValue"] == ["Completed", "Failed"]
    results = {r["resultDescription"]: r for r in subject["result"]}
    assert results[PANDAS.id] == {"type": ["Result"], "resultDescription": PANDAS.id, "value": "85"}
    assert results[TESTS.id]["status"] == "Completed"


def test_evidence_carries_the_assessment_facts() -> None:
    (evidence,) = credential()["evidence"]
    assert evidence["type"] == ["Evidence"]
    assert evidence["id"] == EVIDENCE.submission_id
    for fact in ("wrangling-101", "version 3", "42.5 of 50", "pandas, tests", "ab" * 32):
        assert fact in evidence["narrative"]
    # A urn cannot be fetched and hashed: no digest is published for it.
    assert "digestMultibase" not in evidence


def test_evidence_digest_always_comes_with_the_id_it_is_a_digest_of() -> None:
    url = "https://academy.example/submissions/42/notebooks.zip"
    fetchable = dataclasses.replace(EVIDENCE, submission_url=url)
    (evidence,) = credential(evidence=[fetchable])["evidence"]
    assert evidence["id"] == url
    multihash = base64.urlsafe_b64decode(evidence["digestMultibase"][1:] + "==")
    assert multihash == bytes([0x12, 0x20]) + bytes.fromhex("ab" * 32)
    without_id = dataclasses.replace(EVIDENCE, submission_id=None)
    assert "id" not in credential(evidence=[without_id])["evidence"][0]
    assert "digestMultibase" not in credential(evidence=[without_id])["evidence"][0]
    with pytest.raises(DocumentError, match="needs the id"):
        ob3.EvidenceSpec(narrative="n", sha256="ab" * 32).to_json()


def test_identity_hash_matches_the_ob3_rule() -> None:
    identity = credential()["credentialSubject"]["identifier"][0]
    expected = "sha256$" + hashlib.sha256(b"ada@example.orgs4lt").hexdigest()
    assert identity == {
        "type": "IdentityObject",
        "identityHash": expected,
        "identityType": "emailAddress",
        "hashed": True,
        "salt": "s4lt",
    }
    assert ob3.hash_identity("ada@example.org", "s4lt") == expected
    assert ob3.identity_matches(identity, "ada@example.org")
    assert ob3.identity_matches(identity, "ADA@example.org")
    assert not ob3.identity_matches(identity, "eve@example.org")
    assert ob3.credential_identifies(credential(), "Ada@Example.org")
    plain = {"identityType": "emailAddress", "hashed": False, "identityHash": "ada@example.org"}
    assert ob3.identity_matches(plain, "ADA@example.org")


def test_default_salt_is_random() -> None:
    a = ob3.RecipientIdentity(email="a@b.org")
    b = ob3.RecipientIdentity(email="a@b.org")
    assert a.salt != b.salt and len(a.salt) >= 16


def _dropped(original: Any, roundtrip: Any, path: str = "$") -> list[str]:
    """Paths of the original document missing after expand + compact with the same context."""
    if isinstance(original, list):
        items = roundtrip if isinstance(roundtrip, list) else [roundtrip]
        if len(items) != len(original):
            return [f"{path}[] ({len(original)} -> {len(items)})"]
        return [
            d
            for i, (o, r) in enumerate(zip(original, items, strict=True))
            for d in _dropped(o, r, f"{path}[{i}]")
        ]
    if isinstance(original, dict):
        if isinstance(roundtrip, list) and len(roundtrip) == 1:
            roundtrip = roundtrip[0]
        if not isinstance(roundtrip, dict):
            return [path]
        return [
            d
            for key, value in original.items()
            if key != "@context"
            for d in (
                [f"{path}.{key}"]
                if key not in roundtrip
                else _dropped(value, roundtrip[key], f"{path}.{key}")
            )
        ]
    return []


def assert_nothing_dropped(doc: dict[str, Any]) -> None:
    jsonld.expand_checked(doc)  # the project's own check: no undefined terms
    options = {"documentLoader": jsonld.document_loader}
    expanded = pyld.expand(doc, options)
    compacted = pyld.compact(expanded, {"@context": doc["@context"]}, options)
    assert _dropped(doc, compacted) == []


def test_credential_survives_json_ld_expansion() -> None:
    assert_nothing_dropped(credential())
    minimal = ob3.build_credential(
        achievement=ob3.AchievementSpec(
            id="https://academy.example/badges/min",
            name="Minimal",
            description="d",
            criteria_narrative="c",
        ),
        issuer=ob3.IssuerProfile(id="did:web:academy.example", name="A"),
        recipient=ob3.RecipientIdentity(email="x@y.org", subject_id="did:example:learner"),
    )
    assert "validUntil" not in minimal and "evidence" not in minimal
    assert minimal["credentialSubject"]["id"] == "did:example:learner"
    assert_nothing_dropped(minimal)


def test_the_dropped_check_would_notice() -> None:
    doc = credential()
    doc["credentialSubject"]["achievement"]["madeUpTerm"] = "x"
    with pytest.raises(CredentialError, match="madeUpTerm"):
        assert_nothing_dropped(doc)
    options = {"documentLoader": jsonld.document_loader}
    compacted = pyld.compact(pyld.expand(doc, options), {"@context": doc["@context"]}, options)
    assert _dropped(doc, compacted) == ["$.credentialSubject.achievement.madeUpTerm"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"results": [ob3.ResultSpec(result_description="https://x.example/nope", value=1)]},
         "unknown resultDescription"),
        ({"results": [ob3.ResultSpec(result_description=PANDAS.id, value=101)]}, "between 0 and 100"),
        ({"results": [ob3.ResultSpec(result_description=PANDAS.id)]}, "needs a value"),
        ({"results": [ob3.ResultSpec(result_description=TESTS.id, status="Great")]}, "status must"),
        ({"results": [ob3.ResultSpec(result_description=PANDAS.id, value=1)] * 2}, "unique"),
        ({"valid_from": datetime(2024, 1, 1)}, "timezone-aware"),
        ({"expires_after_days": 0}, "positive"),
        ({"credential_status": {"type": "BitstringStatusListEntry"}}, "lacks"),
        ({"credential_status": [{"type": "A"}, {"type": "B"}]}, "exactly one credentialStatus"),
        ({"credential_id": "not a uri"}, "absolute URI"),
        ({"recipient": ob3.RecipientIdentity(email="nobody")}, "not an email"),
        ({"issuer": ob3.IssuerProfile(id="Academy", name="A")}, "issuer id"),
        ({"achievement": ob3.AchievementSpec(id="https://a.example/b", name="n", description="d",
                                             criteria_narrative="c", achievement_type="Trophy")},
         "AchievementType"),
        ({"achievement": ob3.AchievementSpec(id="https://a.example/b", name=" ", description="d",
                                             criteria_narrative="c")}, "name"),
        ({"evidence": [ob3.EvidenceSpec(name="only a name")]}, "id \\(URL\\) or a narrative"),
        ({"evidence": [ob3.AssessmentEvidence("a", "1", 60, 50, (), "ab" * 32)]}, "score"),
        ({"evidence": [ob3.EvidenceSpec(id="https://e.example/1", sha256="xyz")]}, "SHA-256"),
    ],
)  # fmt: skip
def test_invalid_inputs_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(DocumentError, match=message):
        credential(**overrides)


def test_extension_achievement_type_and_certificate() -> None:
    for kind in ("ext:Workshop", "Certificate", "Badge"):
        spec = ob3.AchievementSpec(
            id="https://a.example/b", name="n", description="d", criteria_narrative="c",
            achievement_type=kind,
        )  # fmt: skip
        assert ob3.build_achievement(spec)["achievementType"] == kind


def test_issue_sign_verify_revoke_end_to_end() -> None:
    from functools import partial

    from credentials.did import resolve_did_key
    from credentials.keys import KeyPair
    from credentials.proof import sign
    from credentials.statuslist import check_status, revoke
    from credentials.verify import verify_credential

    key = KeyPair.generate()
    issuer = ob3.IssuerProfile(id=key.did_key, name="Academy")
    status_list = StatusList(url="https://academy.example/status/7", purpose="revocation")
    index = status_list.allocate()
    signed = sign(
        credential(issuer=issuer, credential_status=status_list.entry(index), valid_from=None),
        key,
    )

    def fetch(url: str) -> dict[str, Any]:
        assert url == status_list.url
        return status_list.signed_credential(issuer=key.did_key, sign=lambda d: sign(d, key))

    checker = partial(check_status, fetch=fetch)
    result = verify_credential(signed, resolver=resolve_did_key, status_checker=checker)
    assert (result.verified, result.proof, result.status) == (True, "ok", "ok")
    revoke(status_list, index, reason="academic misconduct")
    result = verify_credential(signed, resolver=resolve_did_key, status_checker=checker)
    assert (result.verified, result.status) == (False, "revoked")
