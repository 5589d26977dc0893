"""Pathways: completeness, the stacked Certificate credential and the CLR 2.0 export."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from credentials import jsonld, ob3
from credentials.errors import PathwayError
from credentials.keys import KeyPair
from credentials.pathways import (
    Pathway,
    Requirement,
    build_clr,
    build_stacked_credential,
    evaluate_pathway,
)
from credentials.proof import sign

NOW = datetime(2024, 6, 1, tzinfo=UTC)
ISSUER = ob3.IssuerProfile(id="did:web:academy.example", name="Academy", url="https://a.example")
LEARNER = ob3.RecipientIdentity(email="ada@example.org", salt="pepper")


def badge(slug: str, *, assessment: str | None = None) -> ob3.AchievementSpec:
    return ob3.AchievementSpec(
        id=f"https://a.example/badges/{slug}",
        name=slug.title(),
        description=f"{slug} skills",
        criteria_narrative="Pass the assessment.",
        achievement_type="Competency",
        assessment_id=assessment,
    )


def held(slug: str, *, days: int | None = 365, email: str = "ada@example.org", **kw: Any) -> dict:
    return ob3.build_credential(
        achievement=badge(slug, **kw),
        issuer=ISSUER,
        recipient=ob3.RecipientIdentity(email=email, salt="pepper"),
        valid_from=NOW - timedelta(days=30),
        expires_after_days=days,
    )


PATHWAY = Pathway(
    id="https://a.example/pathways/data-analyst",
    name="Data Analyst",
    description="Wrangling, visualisation and statistics.",
    criteria_narrative="Earn the three component badges.",
    requirements=(
        Requirement(achievement_id="https://a.example/badges/wrangling", label="Wrangling"),
        Requirement(achievement_id="https://a.example/badges/plotting"),
        Requirement(assessment_id="stats-101", label="Statistics"),
    ),
)


def test_incomplete_pathway_lists_what_is_missing() -> None:
    progress = evaluate_pathway(PATHWAY, [held("wrangling")], now=NOW)
    assert not progress.complete
    assert [r.describe() for r in progress.missing] == [
        "https://a.example/badges/plotting",
        "Statistics",
    ]
    with pytest.raises(PathwayError, match=re.escape("still missing: https://a.example/badges/plotting")):
        build_stacked_credential(progress=progress, issuer=ISSUER, recipient=LEARNER)


def test_expired_foreign_and_rejected_credentials_do_not_count() -> None:
    expired = held("plotting", days=10)
    someone_else = held("plotting", email="eve@example.org")
    revoked = held("stats", assessment="stats-101")
    progress = evaluate_pathway(
        PATHWAY,
        [held("wrangling"), expired, someone_else, revoked],
        email="ada@example.org",
        now=NOW,
        check=lambda c: "revoked" if c["id"] == revoked["id"] else None,
    )
    assert not progress.complete
    reasons = dict(progress.ignored)
    assert reasons[expired["id"]].startswith("expired at")
    assert reasons[someone_else["id"]] == "issued to someone else"
    assert reasons[revoked["id"]] == "revoked"


def test_assessment_id_requirement_and_complete_pathway() -> None:
    components = [held("wrangling"), held("plotting", days=100), held("stats", assessment="stats-101")]
    progress = evaluate_pathway(PATHWAY, components, email="ADA@example.org", now=NOW)
    assert progress.complete and not progress.ignored
    assert len(progress.components) == 3
    stacked = build_stacked_credential(
        progress=progress, issuer=ISSUER, recipient=LEARNER, valid_from=NOW, expires_after_days=730
    )
    achievement = stacked["credentialSubject"]["achievement"]
    assert achievement["achievementType"] == "Certificate"
    assert achievement["id"] == PATHWAY.id
    assert "Required: Wrangling;" in achievement["criteria"]["narrative"]
    evidence = stacked["evidence"]
    assert [e["id"] for e in evidence] == [c["id"] for c in components]
    assert all(e["type"] == ["Evidence"] and e["narrative"] and e["name"] for e in evidence)
    assert "Plotting" in evidence[1]["narrative"]
    # expires with its earliest component (plotting: 100 days from NOW - 30)
    assert stacked["validUntil"] == components[1]["validUntil"]
    jsonld.expand_checked(stacked)


def test_requirement_and_pathway_validation() -> None:
    with pytest.raises(PathwayError, match="exactly one"):
        Requirement()
    with pytest.raises(PathwayError, match="exactly one"):
        Requirement(achievement_id="https://x.example/a", assessment_id="b")
    with pytest.raises(PathwayError, match="no requirements"):
        Pathway(id="https://x.example/p", name="n", description="d", criteria_narrative="c",
                requirements=())  # fmt: skip
    with pytest.raises(PathwayError, match="twice"):
        Pathway(id="https://x.example/p", name="n", description="d", criteria_narrative="c",
                requirements=(Requirement(assessment_id="a"), Requirement(assessment_id="a")))  # fmt: skip


@pytest.fixture(scope="module")
def signed_bundle() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    key = KeyPair.generate()
    issuer = ob3.IssuerProfile(id=key.did_key, name="Academy")
    components = [
        sign(held("wrangling"), key),
        sign(held("plotting"), key),
        sign(held("stats", assessment="stats-101"), key),
    ]
    progress = evaluate_pathway(PATHWAY, components, now=NOW)
    stacked = sign(build_stacked_credential(progress=progress, issuer=issuer, recipient=LEARNER), key)
    return components, stacked


def test_clr_structure(signed_bundle: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    components, stacked = signed_bundle
    clr = build_clr(
        issuer=ISSUER, recipient=LEARNER, credentials=components, stacked=stacked,
        name="Ada's learning record", valid_from=NOW,
    )  # fmt: skip
    assert clr["@context"][:3] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    assert clr["credentialSchema"][0]["id"].endswith("clr_v2p0_clrcredential_schema.json")
    subject = clr["credentialSubject"]
    assert subject["type"] == ["ClrSubject"]
    assert subject["verifiableCredential"] == [*components, stacked]
    assert all("proof" in c for c in subject["verifiableCredential"])
    assert [a["id"] for a in subject["achievement"]] == [
        "https://a.example/badges/wrangling",
        "https://a.example/badges/plotting",
        "https://a.example/badges/stats",
        PATHWAY.id,
    ]
    assert subject["association"] == [
        {"type": "Association", "associationType": "isPartOf",
         "sourceId": f"https://a.example/badges/{slug}", "targetId": PATHWAY.id}
        for slug in ("wrangling", "plotting", "stats")
    ]  # fmt: skip
    assert subject["identifier"][0]["identityHash"] == ob3.hash_identity("ada@example.org", "pepper")


def test_clr_survives_expansion_and_can_be_signed(
    signed_bundle: tuple[list[dict[str, Any]], dict[str, Any]],
) -> None:
    components, stacked = signed_bundle
    clr = build_clr(
        issuer=ISSUER, recipient=LEARNER, credentials=components, stacked=stacked, name="CLR",
        partial=False,
    )  # fmt: skip
    expanded = jsonld.expand_checked(clr)
    clr_vocab = "https://purl.imsglobal.org/spec/vc/clr/vocab.html#"
    subject = expanded[0]["https://www.w3.org/2018/credentials#credentialSubject"][0]
    assert len(subject[clr_vocab + "verifiableCredential"]) == 4
    assert len(subject[clr_vocab + "achievement"]) == 4
    assert len(subject[clr_vocab + "association"]) == 3
    signed = sign(clr, KeyPair.generate())
    assert signed["proof"][0]["type"] == "DataIntegrityProof"


def test_clr_needs_credentials() -> None:
    with pytest.raises(PathwayError, match="at least one"):
        build_clr(issuer=ISSUER, recipient=LEARNER, credentials=[], name="x")
