"""verify_credential reports proof, dates, status and schema separately."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from credentials.did import Resolver
from credentials.keys import KeyPair
from credentials.proof import sign
from credentials.verify import verify_credential

OB3 = Path(__file__).parent / "vectors" / "ob3-unsigned.json"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
STATUS = {
    "id": "https://example.org/status/1#7",
    "type": "BitstringStatusListEntry",
    "statusPurpose": "revocation",
    "statusListIndex": "7",
    "statusListCredential": "https://example.org/status/1",
}


def _credential(**changes: Any) -> dict[str, Any]:
    document = json.loads(OB3.read_text())
    document.update(changes)
    key = KeyPair.generate()
    document["issuer"]["id"] = key.did_key  # the key must be the issuer's
    return sign(document, key, created="2024-01-01T00:00:00Z")


def test_valid_credential_passes_every_check() -> None:
    result = verify_credential(_credential(), resolver=Resolver(), now=NOW)
    assert result.verified
    assert result.checks == {"proof": "ok", "dates": "ok", "status": "none", "schema": "ok"}


@pytest.mark.parametrize(
    "changes, dates",
    [
        ({"validUntil": "2025-01-01T00:00:00Z"}, "expired"),
        ({"validFrom": "2030-01-01T00:00:00Z"}, "not yet valid"),
    ],
)
def test_dates(changes: dict[str, str], dates: str) -> None:
    result = verify_credential(_credential(**changes), resolver=Resolver(), now=NOW)
    assert result.dates == dates
    assert result.proof == "ok"
    assert not result.verified


@pytest.mark.parametrize(
    "status, require, verified",
    [
        ("ok", False, True),
        ("revoked", False, False),
        ("suspended", False, False),
        ("unknown: offline", False, True),
        ("unknown: offline", True, False),
    ],
)
def test_injected_status_checker(status: str, require: bool, verified: bool) -> None:
    seen: list[dict[str, Any]] = []

    def checker(entry: dict[str, Any]) -> str:
        seen.append(entry)
        return status

    result = verify_credential(
        _credential(credentialStatus=STATUS),
        resolver=Resolver(),
        status_checker=checker,
        now=NOW,
        require_status=require,
    )
    assert seen == [STATUS]
    assert result.status == status
    assert result.verified is verified


def test_status_without_checker_is_unknown() -> None:
    result = verify_credential(_credential(credentialStatus=STATUS), resolver=Resolver(), now=NOW)
    assert result.status.startswith("unknown:")
    assert result.verified


def test_schema_failures_are_named_and_fail_verification() -> None:
    document = json.loads(OB3.read_text())
    del document["credentialSubject"]["achievement"]["criteria"]
    key = KeyPair.generate()
    document["issuer"] = key.did_key
    signed = sign(document, key)
    result = verify_credential(signed, resolver=Resolver(), now=NOW)
    assert result.schema.startswith("failed: does not match the Open Badges 3.0")
    assert "credential.credentialSubject.achievement: 'criteria' is a required property" in result.schema
    assert result.proof == "ok" and not result.verified
    strict = verify_credential(signed, resolver=Resolver(), now=NOW, require_schema=True)
    assert not strict.verified


def test_tampered_credential_fails_proof() -> None:
    credential = _credential()
    credential["credentialSubject"]["achievement"]["name"] = "Something else"
    result = verify_credential(credential, resolver=Resolver(), now=NOW)
    assert result.proof.startswith("failed: signature does not match")
    assert not result.verified


def test_non_credentials_do_not_raise() -> None:
    assert not verify_credential([1, 2], resolver=Resolver()).verified
    result = verify_credential({"hello": "world"}, resolver=Resolver())
    assert result.proof == "failed: the credential has no proof"
    assert result.schema == "none"
