"""eddsa-rdfc-2022 proofs: the W3C vectors reproduce byte for byte; tampering is detected."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from credentials.did import Resolver, did_web_document
from credentials.errors import DroppedTermsError, ProofError
from credentials.keys import KeyPair, KeyStore, load_key_file
from credentials.proof import hash_proof, sign, verify_proof

W3C = Path(__file__).parent / "vectors" / "w3c"
OB3 = Path(__file__).parent / "vectors" / "ob3-unsigned.json"
CANONICALIZERS = ["pyld", "oxigraph"]


def _signed_vector() -> dict[str, Any]:
    return json.loads((W3C / "signedDataInt.json").read_text())


def _unsigned_vector() -> dict[str, Any]:
    document = _signed_vector()
    document.pop("proof")
    return document


def _vector_resolver() -> Resolver:
    signed = _signed_vector()
    pair = load_key_file(W3C / "keyPair.json")
    return Resolver(keys={signed["proof"]["verificationMethod"]: pair.public})


@pytest.mark.parametrize("canonicalizer", CANONICALIZERS)
def test_w3c_vector_intermediate_values(canonicalizer: str) -> None:
    signed = _signed_vector()
    config = json.loads((W3C / "proofConfigDataInt.json").read_text())
    hashed = hash_proof(_unsigned_vector(), config, canonicalizer=canonicalizer)
    assert hashed.canonical_proof_config == (W3C / "proofCanonDataInt.txt").read_text()
    assert hashed.proof_config_hash.hex() == (W3C / "proofHashDataInt.txt").read_text()
    assert hashed.hash_data.hex() == (W3C / "combinedHashDataInt.txt").read_text()
    pair = load_key_file(W3C / "keyPair.json")
    assert pair.sign(hashed.hash_data).hex() == (W3C / "sigHexDataInt.txt").read_text()
    assert signed["proof"]["proofValue"] == (W3C / "sigBTC58DataInt.txt").read_text()


@pytest.mark.parametrize("canonicalizer", CANONICALIZERS)
def test_w3c_vector_signature_reproduces_exactly(canonicalizer: str) -> None:
    signed = _signed_vector()
    result = sign(
        _unsigned_vector(),
        load_key_file(W3C / "keyPair.json"),
        verification_method=signed["proof"]["verificationMethod"],
        created="2023-02-24T23:36:38Z",
        canonicalizer=canonicalizer,
        as_set=False,
    )
    assert json.dumps(result, indent=2) == json.dumps(signed, indent=2)


@pytest.mark.parametrize("canonicalizer", CANONICALIZERS)
def test_w3c_vector_verifies(canonicalizer: str) -> None:
    check = verify_proof(_signed_vector(), resolver=_vector_resolver(), canonicalizer=canonicalizer)
    assert check.ok, check.reason


@pytest.mark.parametrize(
    "mutate",
    [
        lambda d: d.__setitem__("name", "Forged"),
        lambda d: d["credentialSubject"].__setitem__("alumniOf", "Elsewhere"),
        lambda d: d["proof"].__setitem__("created", "2024-01-01T00:00:00Z"),
        lambda d: d["proof"].__setitem__("proofValue", d["proof"]["proofValue"][:-2] + "11"),
    ],
)
def test_tampering_is_detected(mutate: Any) -> None:
    document = _signed_vector()
    mutate(document)
    check = verify_proof(document, resolver=_vector_resolver())
    assert not check.ok
    assert check.reason


def test_default_verification_method_is_did_key_and_created_is_now() -> None:
    pair = KeyPair.generate()
    before = datetime.now(UTC).replace(microsecond=0)
    signed = sign(json.loads(OB3.read_text()), pair)
    assert isinstance(signed["proof"], list) and len(signed["proof"]) == 1
    (proof,) = signed["proof"]
    assert proof["verificationMethod"] == pair.did_key_verification_method
    assert proof["proofPurpose"] == "assertionMethod"
    assert datetime.fromisoformat(proof["created"].replace("Z", "+00:00")) >= before
    assert verify_proof(signed, resolver=Resolver()).ok


def test_created_accepts_datetime_and_rejects_garbage() -> None:
    pair = KeyPair.generate()
    document = json.loads(OB3.read_text())
    signed = sign(document, pair, created=datetime(2024, 5, 1, 12, tzinfo=UTC))
    assert signed["proof"][0]["created"] == "2024-05-01T12:00:00Z"
    with pytest.raises(ProofError, match="ISO 8601"):
        sign(document, pair, created="yesterday")


def test_signing_refuses_dropped_terms_and_verification_fails_them() -> None:
    pair = KeyPair.generate()
    document = json.loads(OB3.read_text())
    document["credentialSubject"]["acheivement"] = "typo"
    with pytest.raises(DroppedTermsError, match="acheivement"):
        sign(document, pair)
    signed = sign(json.loads(OB3.read_text()), pair)
    signed["credentialSubject"]["acheivement"] = "added after signing"
    check = verify_proof(signed, resolver=Resolver())
    assert not check.ok and "acheivement" in check.reason


def test_proof_sets_and_unresolvable_keys() -> None:
    first, second = KeyPair.generate(), KeyPair.generate()
    signed = sign(sign(json.loads(OB3.read_text()), first), second)
    assert isinstance(signed["proof"], list) and len(signed["proof"]) == 2
    assert verify_proof(signed, resolver=Resolver()).ok
    web = sign(json.loads(OB3.read_text()), first, verification_method="did:web:x.org#k")
    assert "cannot resolve did:web" in verify_proof(web, resolver=Resolver()).reason


def test_rotation_old_credentials_still_verify(tmp_path: Path) -> None:
    store = KeyStore(tmp_path)
    did = "did:web:example.org"
    old = store.create(key_id="old", passphrase="pw")
    old_credential = sign(
        json.loads(OB3.read_text()), old, verification_method=f"{did}#{old.public_key_multibase}"
    )
    store.create(key_id="new", passphrase="pw")
    newest = store.keyring(passphrase="pw").newest
    new_credential = sign(
        json.loads(OB3.read_text()),
        newest,
        verification_method=f"{did}#{newest.public_key_multibase}",
    )
    resolver = Resolver(documents={did: did_web_document(did, store.public_keys())})
    assert verify_proof(old_credential, resolver=resolver).ok
    assert verify_proof(new_credential, resolver=resolver).ok
    stale = Resolver(documents={did: did_web_document(did, [old])})
    assert not verify_proof(new_credential, resolver=stale).ok
