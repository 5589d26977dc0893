"""Bundled contexts, the offline loader and RDFC-1.0 canonicalisation."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest

from credentials import errors
from credentials.canonical import canonicalize
from credentials.jsonld import (
    CONTEXT_FILES,
    document_loader,
    escape_literal,
    load_context,
)

VECTORS = Path(__file__).parent / "vectors"
W3C = VECTORS / "w3c"
V2 = "https://www.w3.org/ns/credentials/v2"


def _unsigned() -> dict[str, Any]:
    signed = json.loads((W3C / "signedDataInt.json").read_text())
    signed.pop("proof")
    return signed


@pytest.mark.parametrize("url", sorted(CONTEXT_FILES))
def test_every_bundled_context_loads_via_importlib_resources(url: str) -> None:
    document = load_context(url)
    assert "@context" in document
    assert document_loader(url)["documentUrl"] == url


def test_unknown_context_is_refused_with_url_and_supported_list() -> None:
    with pytest.raises(errors.ContextError) as caught:
        canonicalize({"@context": ["https://example.com/nope"], "name": "x"})
    message = str(caught.value)
    assert "https://example.com/nope" in message
    assert V2 in message
    assert caught.value.url == "https://example.com/nope"


def test_loaded_context_is_a_fresh_copy() -> None:
    load_context(V2)["@context"]["mutated"] = True
    assert "mutated" not in load_context(V2)["@context"]


@pytest.mark.parametrize("canonicalizer", ["pyld", "oxigraph"])
def test_w3c_proof_config_canonical_form_is_byte_identical(canonicalizer: str) -> None:
    config = json.loads((W3C / "proofConfigDataInt.json").read_text())
    expected = (W3C / "proofCanonDataInt.txt").read_text()
    assert canonicalize(config, canonicalizer=canonicalizer) == expected


@pytest.mark.parametrize(
    "path", [W3C / "signedDataInt.json", VECTORS / "ob3-unsigned.json"], ids=["w3c", "ob3"]
)
def test_both_canonicalisers_agree(path: Path) -> None:
    document = json.loads(path.read_text())
    assert canonicalize(document, canonicalizer="pyld") == canonicalize(
        document, canonicalizer="oxigraph"
    )


def test_unknown_canonicaliser_is_refused() -> None:
    with pytest.raises(errors.CanonicalizationError, match="pyld, oxigraph"):
        canonicalize(_unsigned(), canonicalizer="rdflib")


def test_undefined_terms_and_types_are_refused_and_named() -> None:
    document = {
        "@context": [V2],
        "id": "urn:uuid:1",
        "type": ["VerifiableCredential", "Undefinedtype"],
        "issuer": "did:example:1",
        "credentialSubject": {"id": "did:example:2", "acheivement": "typo"},
        "nmae": "typo",
    }
    with pytest.raises(errors.DroppedTermsError) as caught:
        canonicalize(document)
    assert caught.value.terms == ["Undefinedtype (type)", "acheivement", "nmae"]
    assert "acheivement" in str(caught.value)


def test_relative_ids_are_refused() -> None:
    document = {"@context": [V2], "id": "credential-1", "type": ["VerifiableCredential"]}
    with pytest.raises(errors.DroppedTermsError, match="credential-1"):
        canonicalize(document)


def test_document_vocab_keeps_terms() -> None:
    # The examples context declares @vocab, so its undefined terms are kept, not dropped.
    assert "alumniOf" in canonicalize(_unsigned())


def test_missing_context_is_a_clear_error() -> None:
    with pytest.raises(errors.CanonicalizationError, match="no @context"):
        canonicalize({"name": "x"})


def test_escape_literal_follows_rdfc_canonical_nquads() -> None:
    assert escape_literal('a"b\\c') == 'a\\"b\\\\c'
    assert escape_literal("\b\t\n\f\r") == "\\b\\t\\n\\f\\r"
    assert escape_literal("\x00\x01\x0b\x1f\x7f") == "\\u0000\\u0001\\u000B\\u001F\\u007F"
    assert escape_literal("é ü 😀") == "é ü 😀"


@pytest.mark.parametrize("canonicalizer", ["pyld", "oxigraph"])
def test_control_characters_are_escaped_identically(canonicalizer: str) -> None:
    document = _unsigned()
    document["name"] = "tab\there\bbell\x07del\x7fquote\"back\\slash\nnl"
    line = next(
        line
        for line in canonicalize(document, canonicalizer=canonicalizer).splitlines()
        if "schema.org/name" in line
    )
    assert '"tab\\there\\bbell\\u0007del\\u007Fquote\\"back\\\\slash\\nnl"' in line


def test_blank_node_hashing_uses_the_same_escaping() -> None:
    document = {
        "@context": [V2, "https://www.w3.org/ns/credentials/examples/v2"],
        "type": ["VerifiableCredential"],
        "credentialSubject": [{"name": "a\x01"}, {"name": "a\x02"}],
    }
    assert canonicalize(document) == canonicalize(document, canonicalizer="oxigraph")


@pytest.mark.parametrize(
    "error",
    [
        errors.CredentialError("plain"),
        errors.ContextError("https://x", ["https://y"]),
        errors.DroppedTermsError(["b", "a"]),
        errors.KeyStoreError("bad passphrase"),
        errors.ResolutionError("nope"),
        errors.StatusListError("bad list"),
    ],
)
def test_errors_pickle_round_trip(error: errors.CredentialError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__
    assert isinstance(copy, errors.CredentialError)
