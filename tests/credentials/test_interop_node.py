"""Interoperability with an independent implementation (Digital Bazaar's JavaScript libraries).

nbcred-signed credentials must verify in node, and node-signed credentials in nbcred. The npm
packages are installed from tests/credentials/node/package-lock.json (``npm ci``) on first use;
node_modules is git-ignored. Without node/npm the test skips, except when CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from credentials.did import Resolver
from credentials.keys import load_key_file
from credentials.proof import sign
from credentials.verify import verify_credential

HERE = Path(__file__).parent
NODE_DIR = HERE / "node"
VECTORS = HERE / "vectors"
KEY = VECTORS / "w3c" / "keyPair.json"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node() -> str:
    """Path of the node binary, with the npm packages installed."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if not node_bin or not npm_bin:
        if os.environ.get("CI") == "true":
            pytest.fail("node and npm are required for the interoperability test in CI")
        pytest.skip("node/npm not installed: cannot run the independent verifier")
    if not (NODE_DIR / "node_modules" / "jsonld-signatures").is_dir():
        install = subprocess.run(
            [npm_bin, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if install.returncode != 0:
            message = f"npm ci failed: {install.stderr[-2000:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
    return node_bin


def _run(node: str, *args: str) -> str:
    result = subprocess.run(
        [node, str(NODE_DIR / "interop.mjs"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def _documents() -> list[dict[str, Any]]:
    ob3 = json.loads((VECTORS / "ob3-unsigned.json").read_text())
    tricky = json.loads((VECTORS / "ob3-unsigned.json").read_text())
    tricky["name"] = 'Tab\there, bell\x07, DEL\x7f, "quotes", back\\slash, \b\f\r\n é 😀'
    tricky["credentialSubject"]["achievement"]["criteria"] = {"narrative": "line1\nline2\x01"}
    w3c = json.loads((VECTORS / "w3c" / "signedDataInt.json").read_text())
    w3c.pop("proof")
    return [ob3, tricky, w3c]


def test_nbcred_signed_credentials_verify_in_node(node: str, tmp_path: Path) -> None:
    pair = load_key_file(KEY)
    files = []
    for index, document in enumerate(_documents()):
        for canonicalizer in ("pyld", "oxigraph"):
            path = tmp_path / f"{index}-{canonicalizer}.json"
            path.write_text(json.dumps(sign(document, pair, canonicalizer=canonicalizer)))
            files.append(str(path))
    lines = [json.loads(line) for line in _run(node, "verify", *files).splitlines()]
    assert [line["file"] for line in lines] == files
    failures = [line for line in lines if not line["verified"]]
    assert not failures, failures


def test_node_signed_credentials_verify_in_nbcred(node: str, tmp_path: Path) -> None:
    for index, document in enumerate(_documents()):
        unsigned = tmp_path / f"unsigned-{index}.json"
        unsigned.write_text(json.dumps(document))
        signed = json.loads(_run(node, "sign", str(unsigned), str(KEY), "2024-03-01T10:00:00Z"))
        assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
        for canonicalizer in ("pyld", "oxigraph"):
            result = verify_credential(signed, resolver=Resolver(), canonicalizer=canonicalizer)
            assert result.proof == "ok", (index, canonicalizer, result.proof)
        # Ed25519 is deterministic: nbcred produces the very same proofValue.
        again = sign(
            document,
            load_key_file(KEY),
            created="2024-03-01T10:00:00Z",
            verification_method=signed["proof"]["verificationMethod"],
        )
        assert again["proof"][0]["proofValue"] == signed["proof"]["proofValue"]


def test_node_rejects_tampered_nbcred_credential(node: str, tmp_path: Path) -> None:
    signed = sign(_documents()[0], load_key_file(KEY))
    signed["name"] = "Forged"
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(signed))
    (line,) = [json.loads(x) for x in _run(node, "verify", str(path)).splitlines()]
    assert line["verified"] is False
