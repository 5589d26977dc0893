"""The ``nbcred credential sign|verify`` command-line contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from credentials.did import did_web_document
from credentials.keys import KeyPair, load_key_file
from nbcred.cli import app

VECTORS = Path(__file__).parent / "vectors"
KEY = VECTORS / "w3c" / "keyPair.json"
runner = CliRunner()


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _sign(tmp_path: Path, document: dict[str, Any], *extra: str, key: Path = KEY) -> Path:
    unsigned = _write(tmp_path / "unsigned.json", document)
    result = runner.invoke(app, ["credential", "sign", str(unsigned), "--key", str(key), *extra])
    assert result.exit_code == 0, result.output
    signed = tmp_path / f"signed-{len(list(tmp_path.iterdir()))}.json"
    signed.write_text(result.stdout, encoding="utf-8")
    return signed


def _verify(*args: str) -> tuple[int, list[dict[str, Any]]]:
    result = runner.invoke(app, ["credential", "verify", *args, "--format", "json"])
    return result.exit_code, [json.loads(line) for line in result.stdout.splitlines()]


def _ob3() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((VECTORS / "ob3-unsigned.json").read_text())
    return document


@pytest.mark.parametrize("secret_field", ["secretKeyMultibase", "privateKeyMultibase"])
@pytest.mark.parametrize("expanded", [False, True])
def test_sign_then_verify_with_both_key_formats(
    tmp_path: Path, secret_field: str, expanded: bool
) -> None:
    pair = load_key_file(KEY)
    key_file = _write(
        tmp_path / "key.json",
        {
            "publicKeyMultibase": pair.public_key_multibase,
            secret_field: pair.secret_key_multibase(expanded=expanded),
        },
    )
    signed = _sign(tmp_path, _ob3(), "--created", "2024-02-01T00:00:00Z", key=key_file)
    (proof,) = json.loads(signed.read_text())["proof"]
    assert proof["verificationMethod"] == pair.did_key_verification_method
    assert proof["created"] == "2024-02-01T00:00:00Z"
    code, lines = _verify(str(signed))
    assert code == 0
    assert lines == [
        {
            "file": str(signed),
            "verified": True,
            "checks": {"proof": "ok", "dates": "ok", "status": "none", "schema": "ok"},
        }
    ]


def test_sign_reproduces_w3c_vector(tmp_path: Path) -> None:
    signed = json.loads((VECTORS / "w3c" / "signedDataInt.json").read_text())
    proof = signed.pop("proof")
    out = _sign(
        tmp_path,
        signed,
        "--created",
        proof["created"],
        "--verification-method",
        proof["verificationMethod"],
        "--cryptosuite",
        "eddsa-rdfc-2022",
    )
    assert json.loads(out.read_text())["proof"] == [proof]


def test_verify_reports_each_failure(tmp_path: Path) -> None:
    expired = _sign(tmp_path, {**_ob3(), "validUntil": "2020-01-01T00:00:00Z"})
    future = _sign(tmp_path, {**_ob3(), "validFrom": "2999-01-01T00:00:00Z"})
    tampered = _sign(tmp_path, _ob3())
    data = json.loads(tampered.read_text())
    data["name"] = "Forged"
    _write(tampered, data)
    not_json = tmp_path / "notes.txt"
    not_json.write_text("hello")
    code, lines = _verify(str(expired), str(future), str(tampered), str(not_json))
    assert code == 1
    by_file = {line["file"]: line for line in lines}
    assert by_file[str(expired)]["checks"]["dates"] == "expired"
    assert by_file[str(future)]["checks"]["dates"] == "not yet valid"
    assert by_file[str(tampered)]["checks"]["proof"].startswith("failed: signature does not match")
    assert by_file[str(not_json)]["verified"] is False
    assert "not JSON" in by_file[str(not_json)]["checks"]["proof"]
    assert all(set(line) == {"file", "verified", "checks"} for line in lines)


def test_sign_refuses_dropped_properties(tmp_path: Path) -> None:
    document = _ob3()
    document["credentialSubject"]["acheivement"] = "typo"
    unsigned = _write(tmp_path / "bad.json", document)
    result = runner.invoke(app, ["credential", "sign", str(unsigned), "--key", str(KEY)])
    assert result.exit_code == 2  # bad input (a check failing is 1)
    assert "acheivement" in result.output
    assert result.stdout.strip() == "" or "Traceback" not in result.output


def test_unreachable_status_list_is_unknown(tmp_path: Path) -> None:
    status = {
        "id": "https://status.example.org/1#3",
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "3",
        "statusListCredential": "https://status.example.org/1",
    }
    signed = _sign(tmp_path, {**_ob3(), "credentialStatus": status})
    code, lines = _verify(str(signed))
    assert lines[0]["checks"]["status"].startswith("unknown: ")
    assert code == 0
    code, lines = _verify(str(signed), "--require-status")
    assert code == 1 and lines[0]["verified"] is False


def test_did_web_needs_a_document(tmp_path: Path) -> None:
    pair = load_key_file(KEY)
    did = "did:web:issuer.example.org"
    vm = f"{did}#{pair.public_key_multibase}"
    document = _ob3()
    document["issuer"]["id"] = did  # a did:web key binds to a did:web issuer
    signed = _sign(tmp_path, document, "--verification-method", vm)
    code, lines = _verify(str(signed))
    assert code == 1
    assert lines[0]["checks"]["proof"].startswith("failed: cannot resolve did:web")
    did_doc = _write(tmp_path / "did.json", did_web_document(did, [pair, KeyPair.generate()]))
    code, lines = _verify(str(signed), "--did-document", str(did_doc))
    assert code == 0 and lines[0]["checks"]["proof"] == "ok"


def test_text_format_renders(tmp_path: Path) -> None:
    signed = _sign(tmp_path, _ob3())
    result = runner.invoke(app, ["credential", "verify", str(signed)])
    assert result.exit_code == 0
    assert "verified" in result.stdout and "proof" in result.stdout
