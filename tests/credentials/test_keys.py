"""Multikey key files, did:key / did:web, and the encrypted key store with rotation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from credentials.did import (
    Resolver,
    did_web_document,
    did_web_document_url,
    did_web_from_url,
    resolve_did_key,
)
from credentials.errors import KeyFormatError, KeyStoreError, ResolutionError
from credentials.keys import KeyPair, KeyStore, PublicKey, key_pair_from_multikey, load_key_file

W3C = Path(__file__).parent / "vectors" / "w3c"
PUBLIC = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
SECRET = "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"


def test_w3c_key_pair_round_trips() -> None:
    pair = load_key_file(W3C / "keyPair.json")
    assert pair.public_key_multibase == PUBLIC
    assert pair.secret_key_multibase() == SECRET
    assert pair.did_key_verification_method == f"did:key:{PUBLIC}#{PUBLIC}"


def test_expanded_64_byte_secret_form() -> None:
    pair = load_key_file(W3C / "keyPair.json")
    expanded = pair.secret_key_multibase(expanded=True)
    assert expanded.startswith("zrv")
    again = key_pair_from_multikey({"secretKeyMultibase": expanded, "publicKeyMultibase": PUBLIC})
    assert again.seed == pair.seed


def test_mismatched_public_key_is_refused() -> None:
    other = KeyPair.generate().public_key_multibase
    with pytest.raises(KeyFormatError, match="does not belong"):
        key_pair_from_multikey({"secretKeyMultibase": SECRET, "publicKeyMultibase": other})


@pytest.mark.parametrize(
    "document, message",
    [
        ({"publicKeyMultibase": PUBLIC}, "no secret key"),
        ({"secretKeyMultibase": PUBLIC}, "0x1300"),
        ({"secretKeyMultibase": "u123"}, "base58btc multibase"),
    ],
)
def test_bad_key_files_say_how_to_fix(document: dict[str, Any], message: str) -> None:
    with pytest.raises(KeyFormatError, match=message):
        key_pair_from_multikey(document)


def test_public_key_multibase_rejects_other_codecs() -> None:
    with pytest.raises(KeyFormatError, match="z6Mk"):
        PublicKey.from_multibase("zDnaegE6RR3atJtHKwTRTWHsJ3kNHqFwv7n9YjTgmU7TyfU76")


def test_did_key_resolves_offline() -> None:
    resolved = resolve_did_key(f"did:key:{PUBLIC}#{PUBLIC}")
    assert resolved.public_key.multibase == PUBLIC
    assert "assertionMethod" in resolved.purposes
    with pytest.raises(ResolutionError, match="fragment"):
        resolve_did_key(f"did:key:{PUBLIC}#other")


def test_did_web_names_and_urls() -> None:
    assert did_web_from_url("https://example.org") == "did:web:example.org"
    assert did_web_from_url("https://example.org:8443/issuers/1") == (
        "did:web:example.org%3A8443:issuers:1"
    )
    assert did_web_document_url("did:web:example.org") == (
        "https://example.org/.well-known/did.json"
    )
    assert did_web_document_url("did:web:example.org%3A8443:issuers:1") == (
        "https://example.org:8443/issuers/1/did.json"
    )


def test_did_web_resolution_uses_injected_fetch_only() -> None:
    pair = KeyPair.generate()
    did = "did:web:example.org"
    document = did_web_document(did, [pair])
    fetched: list[str] = []

    def fetch(url: str) -> dict[str, Any]:
        fetched.append(url)
        return document

    resolved = Resolver(fetch=fetch)(f"{did}#{pair.public_key_multibase}")
    assert resolved.public_key == pair.public
    assert fetched == ["https://example.org/.well-known/did.json"]
    with pytest.raises(ResolutionError, match="cannot resolve did:web"):
        Resolver()(f"{did}#{pair.public_key_multibase}")


def test_key_store_encrypts_and_rotates(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.create(key_id="2024-01", passphrase="correct horse")
    second = store.create(key_id="2025-01", passphrase="correct horse")
    pem = (tmp_path / "keys" / "2024-01.pem").read_text()
    assert "ENCRYPTED PRIVATE KEY" in pem
    ring = store.keyring(passphrase="correct horse")
    assert ring.newest.seed == second.seed
    assert [k.seed for k in ring.keys] == [first.seed, second.seed]
    assert store.public_keys() == [first.public, second.public]
    with pytest.raises(KeyStoreError, match="wrong passphrase"):
        store.load("2024-01", passphrase="wrong")
    with pytest.raises(KeyStoreError, match="already exists"):
        store.add(first, key_id="2024-01", passphrase="x")


def test_did_web_document_lists_all_keys_for_rotation() -> None:
    keys = [KeyPair.generate(), KeyPair.generate()]
    document = did_web_document("did:web:example.org", keys)
    assert len(document["verificationMethod"]) == 2
    assert document["assertionMethod"] == [m["id"] for m in document["verificationMethod"]]
    json.dumps(document)
