"""Production identity: a did:web issuer rotates its key with ``nbcred credential rotate-key``;
did.json lists both keys, so a badge signed before the rotation keeps verifying beside one signed
after it, until ``nbcred credential retire-key`` takes the old key out of did.json. A did:key
issuer is refused (its identifier is its key)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from credentials.did import Resolver
from credentials.verify import verify_credential
from nbcred.service import ServiceContext
from nbcred.service.wallet import public_credential
from nbcred.settings import Settings
from tests.nbcred.wallet.wallet_world import award, learner

DOMAIN = "badges.example.org"


def cli(home: Path, *args: str, did_web: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NBCRED_HOME": str(home), "NBCRED_PUBLIC_BASE_URL": f"https://{DOMAIN}"}
    env.pop("NBCRED_DATABASE_URL", None)
    env.pop("NBCRED_ISSUER_DID_WEB", None)
    if did_web:
        env["NBCRED_ISSUER_DID_WEB"] = DOMAIN
    return subprocess.run([sys.executable, "-m", "nbcred.cli", "credential", *args], env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def proof_of(ctx: ServiceContext, credential_id: str, did_json: Path) -> str:
    document = public_credential(ctx, credential_id)[1]
    resolver = Resolver(documents={f"did:web:{DOMAIN}": json.loads(did_json.read_text())})
    return verify_credential(document, resolver=resolver).proof


def test_rotation_keeps_old_badges_verifying_until_the_old_key_is_retired(tmp_path: Path) -> None:
    home = tmp_path / "home"
    settings = Settings(home=home, public_base_url=f"https://{DOMAIN}", issuer_did_web=DOMAIN,
                        serve_grading=False, workers=1)
    ctx = ServiceContext.open(settings)
    account, _token = learner(ctx, "ada@example.org")
    before = award(ctx, account)
    did_json = home / "public" / ".well-known" / "did.json"
    assert len(json.loads(did_json.read_text())["verificationMethod"]) == 1
    rotated = cli(home, "rotate-key")
    assert rotated.returncode == 0, rotated.stderr
    lines = [line.split("\t") for line in rotated.stdout.splitlines()]
    assert [(k, use) for k, _m, use in lines] == [("issuer-1", "verifies only"), ("issuer-2", "signing")]
    methods = [m["id"] for m in json.loads(did_json.read_text())["verificationMethod"]]
    assert methods == [method for _k, method, _u in lines]
    ctx.issuer.reload_identity()  # an app process picks the new key up when it restarts
    after = award(ctx, account, "data-visualisation")
    signed_by = {cid: public_credential(ctx, cid)[1]["proof"][0]["verificationMethod"]
                 for cid in (before, after)}
    assert signed_by == {before: methods[0], after: methods[1]}
    assert proof_of(ctx, before, did_json) == "ok" and proof_of(ctx, after, did_json) == "ok"
    refused = cli(home, "retire-key", "issuer-2")
    assert refused.returncode == 2 and "signing key" in refused.stderr
    retired = cli(home, "retire-key", "issuer-1")
    assert retired.returncode == 0, retired.stderr
    assert [m["id"] for m in json.loads(did_json.read_text())["verificationMethod"]] == methods[1:]
    assert (home / "keys" / "retired" / "issuer-1.pem").is_file()
    assert proof_of(ctx, before, did_json) != "ok"
    assert proof_of(ctx, after, did_json) == "ok"
    did_key = cli(home, "rotate-key", did_web=False)
    assert did_key.returncode == 2 and "did:web" in did_key.stderr
