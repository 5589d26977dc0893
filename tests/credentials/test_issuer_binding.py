"""A proof only counts when its key belongs to the credential's issuer (did:key equal, did:web
listed under ``assertionMethod``); a schema failure fails verification; the CLI shows every
check and warning."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from credentials import ob3
from credentials.did import Resolver, did_web_document
from credentials.keys import KeyPair
from credentials.pathways import build_clr
from credentials.proof import sign
from credentials.verify import verify_credential
from nbcred.cli import app
from nbcred.issuance.identity import load_identity
from nbcred.settings import Settings

OB3 = Path(__file__).parent / "vectors" / "ob3-unsigned.json"
NOW = datetime(2025, 6, 1, tzinfo=UTC)
WEB = "did:web:badges.example.org"


def _unsigned(issuer: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(OB3.read_text())
    document["issuer"] = {**document["issuer"], "id": issuer}
    return document


def test_did_key_issuer_must_be_the_signing_key() -> None:
    ours, theirs = KeyPair.generate(), KeyPair.generate()
    genuine = sign(_unsigned(ours.did_key), ours)
    assert verify_credential(genuine, resolver=Resolver(), now=NOW).verified
    forged = sign(_unsigned(ours.did_key), theirs)  # a correct signature, by someone else
    result = verify_credential(forged, resolver=Resolver(), now=NOW)
    assert result.verified is False
    assert result.proof.startswith("failed:") and theirs.did_key in result.proof
    assert ours.did_key in result.proof


def test_did_web_issuer_must_list_the_key_under_assertion_method() -> None:
    ours, theirs, outside = KeyPair.generate(), KeyPair.generate(), KeyPair.generate()
    document = did_web_document(WEB, [ours])
    document["verificationMethod"].append({"id": outside.did_key_verification_method, "type": "Multikey",
                                           "controller": outside.did_key,
                                           "publicKeyMultibase": outside.public_key_multibase})
    document["assertionMethod"].append(outside.did_key_verification_method)
    resolver = Resolver(documents={WEB: document})
    genuine = sign(_unsigned(WEB), ours, verification_method=f"{WEB}#{ours.public_key_multibase}")
    assert verify_credential(genuine, resolver=resolver, now=NOW).verified
    listed_elsewhere = sign(_unsigned(WEB), outside)  # did:key method the issuer lists
    assert verify_credential(listed_elsewhere, resolver=resolver, now=NOW).verified
    for forged in (sign(_unsigned(WEB), theirs),
                   sign(_unsigned(WEB), theirs, verification_method=f"{WEB}#{theirs.public_key_multibase}")):
        result = verify_credential(forged, resolver=resolver, now=NOW)
        assert result.verified is False and result.proof.startswith("failed:"), result


def test_authentication_only_key_does_not_bind() -> None:
    ours = KeyPair.generate()
    document = did_web_document(WEB, [ours])
    document["assertionMethod"] = []
    resolver = Resolver(documents={WEB: document})
    signed = sign(_unsigned(WEB), ours, verification_method=f"{WEB}#{ours.public_key_multibase}")
    result = verify_credential(signed, resolver=resolver, now=NOW)
    assert result.verified is False and result.proof.startswith("failed:")


def test_issuer_that_cannot_be_bound_fails() -> None:
    key = KeyPair.generate()
    for issuer in ("did:example:12345", "urn:uuid:0f2c"):
        result = verify_credential(sign(_unsigned(issuer), key), resolver=Resolver(), now=NOW)
        assert result.verified is False and result.proof.startswith("failed:"), issuer
    unnamed = _unsigned(key.did_key)
    del unnamed["issuer"]
    assert not verify_credential(sign(unnamed, key), resolver=Resolver(), now=NOW).verified


def test_schema_failure_fails_verification() -> None:
    key = KeyPair.generate()
    document = _unsigned(key.did_key)
    del document["credentialSubject"]["achievement"]["criteria"]
    result = verify_credential(sign(document, key), resolver=Resolver(), now=NOW)
    assert result.proof == "ok" and result.schema.startswith("failed:")
    assert result.verified is False


runner = CliRunner()


def _cli_verify(path: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setenv("NBCRED_HOME", str(home))
    result = runner.invoke(app, ["credential", "verify", str(path), "--format", "json"])
    (line,) = result.stdout.splitlines()
    verdict: dict[str, Any] = json.loads(line)
    assert result.exit_code == (0 if verdict["verified"] else 1)
    return verdict


@pytest.mark.parametrize("did_web", [None, "badges.example.org"])
def test_cli_refuses_a_credential_forged_in_this_services_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, did_web: str | None
) -> None:
    home = tmp_path / "home"
    if did_web:
        monkeypatch.setenv("NBCRED_ISSUER_DID_WEB", did_web)
    identity = load_identity(Settings(home=home))
    unsigned = _unsigned(identity.did)
    genuine = tmp_path / "genuine.json"
    genuine.write_text(json.dumps(identity.sign(unsigned)))
    verdict = _cli_verify(genuine, home, monkeypatch)
    assert verdict["verified"] is True and verdict["checks"]["proof"] == "ok"
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps(sign(unsigned, KeyPair.generate())))
    verdict = _cli_verify(forged, home, monkeypatch)
    assert verdict["verified"] is False
    failing = {name: value for name, value in verdict["checks"].items() if value != "ok"}
    assert "proof" in failing or "issuer" in failing, verdict


def test_cli_json_shows_warnings_and_schema_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = KeyPair.generate()
    document = _unsigned(key.did_key)
    del document["credentialSubject"]["achievement"]["criteria"]
    path = tmp_path / "no-criteria.json"
    path.write_text(json.dumps(sign(document, key)))
    verdict = _cli_verify(path, tmp_path / "home", monkeypatch)
    assert verdict["verified"] is False and verdict["checks"]["schema"].startswith("failed:")
    inner = sign(ob3.build_credential(
        achievement=ob3.AchievementSpec(id="https://academy.example/badges/a", name="A", description="d",
                                        criteria_narrative="c"),
        issuer=ob3.IssuerProfile(id=key.did_key, name="Academy", url="https://academy.example"),
        recipient=ob3.RecipientIdentity(email="ada@example.org")), key)
    inner["name"] = "Altered after signing"
    clr = sign(build_clr(issuer=ob3.IssuerProfile(id=key.did_key, name="Academy", url="https://academy.example"),
                         recipient=ob3.RecipientIdentity(email="ada@example.org"), credentials=[inner],
                         name="Ada's record"), key)
    path.write_text(json.dumps(clr))
    verdict = _cli_verify(path, tmp_path / "home", monkeypatch)
    assert verdict["verified"] is False
    assert "1 of 1 embedded credential(s) do not verify" in verdict["warnings"]
