"""Interoperability with an independent implementation (Digital Bazaar's JavaScript libraries).

nbcred-signed credentials must verify in node, and node-signed credentials in nbcred. Every kind
of credential ``nbcred demo`` issues (badges, stacked certificates, CLRs and the status lists)
verifies with ``@digitalbazaar/vc`` and ``@digitalbazaar/vc-bitstring-status-list``, offline,
and both sides agree on the status after suspend, unsuspend and revoke. The credentials embedded
in a CLR carry the 1EdTech revocation list status, which Digital Bazaar does not implement: their
proofs are checked by Digital Bazaar, the list by a few lines of JavaScript (interop.mjs).
The npm packages are installed from tests/credentials/node/package-lock.json (``npm ci``) on
first use; node_modules is git-ignored. Without node/npm the test skips, except when CI=true.
"""

from __future__ import annotations

import fcntl
import hashlib
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
from tests.paths import ROOT

HERE = Path(__file__).parent
NODE_DIR = HERE / "node"
VECTORS = HERE / "vectors"
KEY = VECTORS / "w3c" / "keyPair.json"

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def node() -> str:
    """Path of the node binary, with the npm packages installed (once, under a lock, and checked)."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if not node_bin or not npm_bin:
        if os.environ.get("CI") == "true":
            pytest.fail("node and npm are required for the interoperability test in CI")
        pytest.skip("node/npm not installed: cannot run the independent verifier")
    lock = NODE_DIR / "package-lock.json"
    marker = NODE_DIR / "node_modules" / ".installed-from"
    digest = hashlib.sha256(lock.read_bytes()).hexdigest()
    with open(NODE_DIR / ".install.lock", "w") as held:  # git-ignored; one installer at a time
        fcntl.flock(held, fcntl.LOCK_EX)
        for _attempt in range(2):
            if not (marker.is_file() and marker.read_text() == digest and _imports(node_bin)):
                _npm_ci(npm_bin)
                marker.write_text(digest)
            if _imports(node_bin):
                break
            marker.unlink(missing_ok=True)
        else:
            pytest.fail("the npm packages do not import after npm ci")
    return node_bin


def _imports(node_bin: str) -> bool:
    """Whether the verifier's packages resolve and load."""
    probe = ("await import('jsonld-signatures'); await import('@digitalbazaar/vc'); "
             "await import('@digitalbazaar/vc-bitstring-status-list');")
    done = subprocess.run([node_bin, "--input-type=module", "-e", probe], cwd=NODE_DIR,
                          capture_output=True, text=True, timeout=60, check=False)
    return done.returncode == 0


def _npm_ci(npm_bin: str) -> None:
    install = subprocess.run([npm_bin, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                             capture_output=True, text=True, timeout=300, check=False)
    if install.returncode != 0:
        message = f"npm ci failed: {install.stderr[-2000:]}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


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
    w3c["issuer"] = ob3["issuer"]["id"]  # the vector's key is the issuer's (a proof must be the issuer's)
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


def _verify_vc(node: str, home: Path, files: list[Path], tmp_path: Path) -> dict[str, dict[str, Any]]:
    """Digital Bazaar's verifyCredential + checkStatus on each file, lists from ``home``."""
    lists = {}
    for path in (home / "public" / "status").rglob("*"):
        if path.is_file():
            lists[json.loads(path.read_text())["id"]] = str(path)
    lists_file = tmp_path / "lists.json"
    lists_file.write_text(json.dumps(lists))
    out = _run(node, "verify-vc", str(lists_file), *map(str, files))
    return {line["file"]: line for line in map(json.loads, out.splitlines())}


def _copy_of_demo(demo_run: Any, tmp_path: Path) -> tuple[Path, Any, Any]:
    from nbcred.issuance import CredentialIssuer
    from nbcred.settings import Settings
    from nbcred.store import Store

    assert demo_run.returncode == 0, demo_run.stderr[-3000:]
    home = tmp_path / "home"
    shutil.copytree(demo_run.home, home)
    settings = Settings(home=home)
    return home, settings, CredentialIssuer(settings, Store.open(settings.resolved_database_url()))


@pytest.mark.slow
def test_digital_bazaar_verifies_every_credential_the_demo_issues(
    node: str, demo_run: Any, tmp_path: Path
) -> None:
    home, _settings, _issuer = _copy_of_demo(demo_run, tmp_path)
    files = sorted((home / "credentials").rglob("*.json"))
    files += sorted(p for p in (home / "public" / "status").rglob("*")
                    if p.is_file() and p.name != "revocations")  # a plain JSON list, no credential
    results = _verify_vc(node, home, files, tmp_path)
    kinds = set()
    for file in files:
        line = results[str(file)]
        assert line["verified"] is True, line
        document = json.loads(file.read_text())
        kinds.add(document["type"][-1])
        if "credentialStatus" in document:
            assert line["statusVerified"] is True
            assert line["status"] == [{"purpose": "message", "index": int(
                document["credentialStatus"]["statusListIndex"]), "bit": False, "value": 0,
                "message": "valid"}], line
        for inner in line.get("embedded", []):  # CLR copies: 1EdTech revocation list status
            assert inner["verified"] is True and inner["revocation"] is None, inner
    assert kinds == {"OpenBadgeCredential", "ClrCredential", "BitstringStatusListCredential"}
    assert any("embedded" in line for line in results.values())


@pytest.mark.slow
def test_digital_bazaar_and_nbcred_agree_on_status_changes(
    node: str, demo_run: Any, tmp_path: Path
) -> None:
    from nbcred.issuance import change_status, list_credentials
    from nbcred.service.verify_files import verify_files

    home, settings, issuer = _copy_of_demo(demo_run, tmp_path)
    held = {c.achievement_id.split("/")[-2]: c for c in list_credentials(issuer, learner="alice")}
    folder = home / "credentials" / "alice"
    first = folder / "data-visualisation-v1.0.0.json"
    second = folder / "pandas-cleaning-v1.0.0.json"
    clr = next(folder.glob("*-clr.json"))

    def both(path: Path) -> tuple[str, tuple[bool, int, str]]:
        ours = verify_files(settings, [path])[0].result
        theirs = _verify_vc(node, home, [path], tmp_path)[str(path)]
        (entry,) = theirs["status"]
        assert theirs["statusVerified"] is True
        return ours.status, (entry["bit"], entry["value"], entry["message"])

    assert both(first) == ("ok", (False, 0, "valid"))
    change_status(issuer, held["data-visualisation"].id, "suspend", "appeal pending")
    assert both(first) == ("suspended", (True, 1, "suspended"))
    assert both(second) == ("ok", (False, 0, "valid"))
    change_status(issuer, held["data-visualisation"].id, "unsuspend", "appeal upheld")
    assert both(first) == ("ok", (False, 0, "valid"))
    change_status(issuer, held["pandas-cleaning"].id, "revoke", "plagiarism")
    assert both(second) == ("revoked", (True, 2, "revoked"))
    assert both(first) == ("ok", (False, 0, "valid"))
    # the CLR that embeds the revoked badge: nbcred fails it, and says which one
    ours = verify_files(settings, [clr])[0].result
    theirs = _verify_vc(node, home, [clr], tmp_path)[str(clr)]
    revoked_id = json.loads(second.read_text())["id"]
    embedded = json.loads(clr.read_text())["credentialSubject"]["verifiableCredential"]
    position = [e["id"] for e in embedded].index(revoked_id)
    assert not ours.verified and ours.embedded[position].status == "revoked"
    # the stacked certificate (embedded last) follows its revoked badge; the other badges are fine
    assert ours.embedded[-1].status == "revoked" and position != len(embedded) - 1
    others = [i for i in range(len(embedded) - 1) if i != position]
    assert [ours.embedded[i].status for i in others] == ["ok"] * len(others)
    assert theirs["verified"] is True  # the CLR's own proof; the revoked copy fails inside it
    assert theirs["embedded"][position]["verified"] is False
    assert theirs["embedded"][position]["proofVerified"] is True
    assert theirs["embedded"][position]["revocation"] == "revoked"
    assert theirs["embedded"][-1]["revocation"] == "revoked"
    assert [theirs["embedded"][i]["revocation"] for i in others] == [None] * len(others)


def _old_form_credential(settings: Any, issuer: Any, learner: str) -> tuple[str, dict[str, Any]]:
    """A badge as nbcred issued it before message lists: two one-bit entries, one proof object."""
    from datetime import UTC, datetime

    from credentials import ob3
    from grader.assessment import load_assessment
    from nbcred.issuance import badges, statuslists
    from nbcred.store.models import IssuedCredential

    assessment = load_assessment(ROOT / "assessments" / "pandas-cleaning")
    achievement = badges.achievement_spec(settings, assessment)
    urls = [statuslists.list_url(settings, p) for p in ("revocation", "suspension")]
    with issuer.store.session() as session:
        (rev_row, revocations), (sus_row, suspensions) = (statuslists._load(session, u) for u in urls)
        index = revocations.allocate()
        suspensions.reserve(index)
        statuslists._save(rev_row, revocations)
        statuslists._save(sus_row, suspensions)
        document = ob3.build_credential(
            achievement=achievement, issuer=issuer.identity.profile,
            recipient=ob3.RecipientIdentity(email=f"{learner}@example.org"),
            credential_status=revocations.entry(index))
        document["credentialStatus"] = [revocations.entry(index), suspensions.entry(index)]
        signed = issuer.identity.sign(document)
        signed["proof"] = signed["proof"][0]
        session.add(IssuedCredential(
            id=signed["id"], learner_id=learner, achievement_id=achievement.id + "/old",
            achievement_version="old", kind="badge", status="active", status_list=urls[0],
            status_index=index, document=signed, issued_at=datetime.now(UTC)))
    statuslists.publish(settings, issuer.store, issuer.identity)
    return str(signed["id"]), signed


@pytest.mark.slow
def test_old_form_credentials_still_agree_after_status_changes(
    node: str, demo_run: Any, tmp_path: Path
) -> None:
    from nbcred.issuance import change_status
    from nbcred.service.verify_files import verify_files

    home, settings, issuer = _copy_of_demo(demo_run, tmp_path)
    credential_id, document = _old_form_credential(settings, issuer, "alice")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))

    def both() -> tuple[str, list[tuple[str, bool]]]:
        ours = verify_files(settings, [path])[0].result
        theirs = _verify_vc(node, home, [path], tmp_path)[str(path)]
        assert theirs["verified"] is True and theirs["statusVerified"] is True
        return ours.status, [(s["purpose"], s["bit"]) for s in theirs["status"]]

    assert both() == ("ok", [("revocation", False), ("suspension", False)])
    change_status(issuer, credential_id, "suspend", "appeal pending")
    assert both() == ("suspended", [("revocation", False), ("suspension", True)])
    change_status(issuer, credential_id, "unsuspend", "appeal upheld")
    assert both() == ("ok", [("revocation", False), ("suspension", False)])
    change_status(issuer, credential_id, "revoke", "plagiarism")
    assert both() == ("revoked", [("revocation", True), ("suspension", False)])
