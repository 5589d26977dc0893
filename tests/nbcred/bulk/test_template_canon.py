"""The template canonicaliser gives byte for byte the full JSON-LD → RDF → RDFC-1.0 output."""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from credentials import ob3
from credentials import statuslist as sl
from credentials.canonical import canonicalize
from credentials.keys import load_key_file
from credentials.proof import sign
from credentials.template_canon import TemplateCanonicalizer
from tests.paths import SHARED, VECTORS

CORPORA = SHARED / "corpora"
W3C = VECTORS / "w3c"


def _without_proof(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    document.pop("proof", None)
    return document


def _vector_documents() -> list[tuple[str, dict[str, Any]]]:
    files = [W3C / "signedDataInt.json", W3C / "proofConfigDataInt.json",
             CORPORA / "vc-di-eddsa" / "unsigned.json", CORPORA / "ob3-spec" / "unsigned.json",
             *sorted((CORPORA / "dcc-ob3").glob("*.json"))]
    return [(path.name, _without_proof(path)) for path in files if path.is_file()]


def test_w3c_vectors_give_the_published_canonical_form() -> None:
    canonicalizer = TemplateCanonicalizer()
    for folder in (W3C, CORPORA / "vc-di-eddsa" / "eddsa-rdfc-2022"):
        config = json.loads((folder / "proofConfigDataInt.json").read_text())
        config["@context"] = _without_proof(folder / "signedDataInt.json")["@context"]
        assert canonicalizer.canonicalize(config) == (folder / "proofCanonDataInt.txt").read_text()
        if (folder / "canonDocDataInt.txt").is_file():
            expected = (folder / "canonDocDataInt.txt").read_text()
            assert canonicalizer.canonicalize(_without_proof(folder / "signedDataInt.json")) == expected


@pytest.mark.parametrize("name,document", _vector_documents(), ids=lambda v: v if isinstance(v, str) else "")
def test_corpus_documents_match_both_full_canonicalisers(name: str, document: dict[str, Any]) -> None:
    canonicalizer = TemplateCanonicalizer()
    expected = canonicalize(document, canonicalizer="pyld")
    assert canonicalize(document, canonicalizer="oxigraph") == expected
    assert canonicalizer.canonicalize(document) == expected
    built = canonicalizer.misses
    assert canonicalizer.canonicalize(copy.deepcopy(document)) == expected
    assert canonicalizer.misses == built  # the second time comes from the template


_ALPHABET = "abcXYZ019 \"'\\\n\t\r\x01\x7f\u00e9\u4e2d\U0001f393<>{}&#:/@$"


def _text(rng: random.Random, length: int = 12) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(1, length)))


def _roster_credential(rng: random.Random, achievement: ob3.AchievementSpec,
                       status: sl.StatusList) -> dict[str, Any]:
    email = f"{rng.choice(['ada', 'Grace.H', 'alan+x'])}{rng.randrange(10**6)}@example.org"
    results = [ob3.ResultSpec(result_description=d.id, value=round(rng.uniform(0, 100), 2))
               for d in achievement.result_descriptions]
    evidence = ob3.EvidenceSpec(id=f"urn:uuid:{rng.randrange(16**8):08x}-0000-4000-8000-000000000000",
                                name=_text(rng), narrative=_text(rng, 40))
    return ob3.build_credential(
        achievement=achievement,
        issuer=ob3.IssuerProfile(id="did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2",
                                 name="Academy", url="https://academy.example"),
        recipient=ob3.RecipientIdentity(email=email, salt=_text(rng, 20)),
        results=results, evidence=[evidence], credential_status=status.entry(status.allocate()),
        valid_from=datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8)),
        expires_after_days=rng.choice([None, 30, 365]), name=rng.choice([None, _text(rng)]),
    )


def _achievement(rng: random.Random) -> ob3.AchievementSpec:
    base = "https://academy.example/achievements/wrangling"
    return ob3.AchievementSpec(
        id=base, name="Data Wrangling", description=_text(rng, 60), criteria_narrative="Score 70%.",
        achievement_type=rng.choice(["Badge", "Competency", "Certificate"]),
        alignments=(ob3.AlignmentSpec(target_name="DW", target_url="https://frameworks.example/DW.1"),
                    ob3.AlignmentSpec(target_name="DW2", target_url="https://frameworks.example/DW.2")),
        result_descriptions=tuple(
            ob3.ResultDescriptionSpec(id=f"{base}#c{i}", name=f"competency {i}", required_value=50)
            for i in range(3)),
        version="1", assessment_id="wrangling",
    )


def test_random_rosters_are_byte_identical_and_sign_identically() -> None:
    rng = random.Random(11)
    status = sl.StatusList(url="https://academy.example/status/1", purpose="revocation")
    key = load_key_file(W3C / "keyPair.json")
    canonicalizer = TemplateCanonicalizer()
    achievements = [_achievement(rng) for _ in range(3)]
    for number in range(40):
        document = _roster_credential(rng, achievements[number % 3], status)
        assert canonicalizer.canonicalize(document) == canonicalize(document, canonicalizer="pyld")
        if number % 8 == 0:
            created = "2025-06-01T10:00:00Z"
            fast = sign(document, key, created=created, canonicalizer="template")
            assert fast == sign(document, key, created=created, canonicalizer="pyld")
    assert canonicalizer.hits > canonicalizer.misses  # documents of one shape share a template


def test_tied_blank_nodes_fall_back_to_full_rdfc() -> None:
    canonicalizer = TemplateCanonicalizer()
    twins = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"], "issuer": "did:example:issuer",
        "credentialSubject": {"name": "x", "knows": [{"name": "same"}, {"name": "same2"}]},
    }
    document = json.loads(json.dumps(twins).replace('"knows"', '"alumniOf"'))
    document["credentialSubject"]["alumniOf"] = [{"name": "A"}, {"name": "A"}]
    document["@context"].append({"alumniOf": "https://schema.org/alumniOf",
                                 "name": "https://schema.org/name"})
    document["credentialSubject"]["alumniOf"][1]["name"] = "B"
    assert canonicalizer.canonicalize(document) == canonicalize(document, canonicalizer="pyld")
    document["credentialSubject"]["alumniOf"][1]["name"] = "A"  # now two indistinguishable nodes
    assert canonicalizer.canonicalize(document) == canonicalize(document, canonicalizer="pyld")
    assert canonicalizer.fallbacks == 1


def test_values_that_change_the_mapping_are_pinned_not_substituted() -> None:
    canonicalizer = TemplateCanonicalizer()
    document = {"@context": ["https://www.w3.org/ns/credentials/v2",
                             {"kind": {"@id": "https://example.org/kind", "@type": "@vocab"},
                              "Gold": "https://example.org/Gold", "ex": "https://example.org/"}],
                "type": ["VerifiableCredential"], "issuer": "did:example:1",
                "credentialSubject": {"id": "did:example:2", "kind": "Gold"}}
    for value in ("Gold", "https://other.example/Silver", "ex:Bronze", "urn:x:1"):
        document["credentialSubject"]["kind"] = value
        assert canonicalizer.canonicalize(document) == canonicalize(document, canonicalizer="pyld")
