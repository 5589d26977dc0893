"""Hostile credentials for the verifier's limits: blank-node cliques and deep or huge documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from credentials.keys import KeyPair, multibase_encode

OB3 = Path(__file__).parent / "vectors" / "ob3-unsigned.json"
LINK = "https://example.org/vocab#linkedTo"


def clique(size: int = 8) -> list[dict[str, Any]]:
    """``size`` blank nodes, each linked to every other one under a full IRI predicate."""
    names = [f"_:n{i}" for i in range(size)]
    return [{"@id": name, LINK: [{"@id": other} for other in names if other != name]} for name in names]


def with_fake_proof(document: dict[str, Any], key: KeyPair | None = None) -> dict[str, Any]:
    """``document`` with a well-formed proof whose signature is random bytes: verifying it still
    canonicalises the whole document, which is where the work is."""
    key = key or KeyPair.generate()
    document = {**document, "issuer": {**document["issuer"], "id": key.did_key}}
    document["proof"] = [{
        "type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-01-01T00:00:00Z", "verificationMethod": key.did_key_verification_method,
        "proofPurpose": "assertionMethod", "proofValue": multibase_encode(bytes(64)),
    }]
    return document


def clique_credential(size: int = 8) -> dict[str, Any]:
    """An OB 3.0 credential carrying a ``size``-node blank-node clique (with a fake proof)."""
    document: dict[str, Any] = json.loads(OB3.read_text())
    document["credentialSubject"][LINK] = clique(size)
    return with_fake_proof(document)


def deep_credential(depth: int) -> dict[str, Any]:
    """An OB 3.0 credential with ``depth`` nested objects under a full IRI property."""
    document: dict[str, Any] = json.loads(OB3.read_text())
    inner: dict[str, Any] = {}
    document["credentialSubject"][LINK] = inner
    for _ in range(depth):
        inner[LINK] = {}
        inner = inner[LINK]
    return with_fake_proof(document)


def wide_credential(count: int) -> dict[str, Any]:
    """An OB 3.0 credential with ``count`` small values under a full IRI property."""
    document: dict[str, Any] = json.loads(OB3.read_text())
    document["credentialSubject"][LINK] = [f"v{i}" for i in range(count)]
    return with_fake_proof(document)
