"""Bounded canonicalisation: a blank-node clique, a deep or huge document is refused in seconds."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from credentials.canonical import canonicalize
from credentials.did import Resolver
from credentials.errors import LimitExceeded
from credentials.keys import KeyPair
from credentials.limits import LIMITS
from credentials.proof import sign
from credentials.verify import verify_bytes, verify_credential
from tests.credentials.poison import OB3, clique_credential, deep_credential, wide_credential


def _unsecured(document: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in document.items() if k != "proof"}


@pytest.mark.parametrize("canonicalizer", ["pyld", "oxigraph"])
def test_an_eight_node_clique_is_refused_quickly(canonicalizer: str) -> None:
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="exponential"):
        canonicalize(_unsecured(clique_credential(8)), canonicalizer=canonicalizer)
    assert time.monotonic() - started < 10


def test_a_small_clique_still_canonicalises_the_same_with_both() -> None:
    document = _unsecured(clique_credential(3))
    assert canonicalize(document, canonicalizer="pyld") == canonicalize(document, canonicalizer="oxigraph")


def test_verification_reports_the_refusal_as_a_failed_proof() -> None:
    result = verify_credential(clique_credential(8), resolver=Resolver())
    assert result.verified is False
    assert result.proof.startswith("failed:") and "exponential" in result.proof


@pytest.mark.parametrize("document, words", [
    (deep_credential(LIMITS.max_depth + 5), "nested more than"),
    (wide_credential(LIMITS.max_values + 1), "JSON values"),
])
def test_deep_and_huge_documents_are_refused(document: dict[str, object], words: str) -> None:
    result = verify_credential(document, resolver=Resolver())
    assert result.verified is False and words in result.proof


def test_oversized_and_overdeep_files_are_refused_before_parsing() -> None:
    big = verify_bytes(b"{" + b" " * LIMITS.max_bytes + b"}", resolver=Resolver())
    assert not big.verified and "larger than" in big.proof
    deep = verify_bytes(b"[" * 100_000 + b"]" * 100_000, resolver=Resolver())
    assert not deep.verified and "nested" in deep.proof


def test_ordinary_credentials_are_within_every_limit() -> None:
    key = KeyPair.generate()
    document = json.loads(Path(OB3).read_text())
    document["issuer"]["id"] = key.did_key
    assert verify_credential(sign(document, key), resolver=Resolver()).verified
