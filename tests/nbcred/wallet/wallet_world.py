"""A learner with a badge, and nbcred serving HTTPS for wallets (shared by the wallet tests).

The badge is issued by the real issuance path (a recorded passing grading, ``issuer.issue``),
without running a kernel. ``nbcred serve --ssl-certfile --ssl-keyfile`` runs as a subprocess
with a certificate from ``trustme``; Node trusts its CA through ``NODE_EXTRA_CA_CERTS``.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from grader.results import CellScore, GradeResult
from grader.score import decide, roll_up
from nbcred.service import ServiceContext
from nbcred.service.users import Account, account_for_token, add_user, create_token
from nbcred.settings import Settings
from tests.browsing import free_port

NODE_DIR = Path(__file__).parent / "node"
ASSESSMENT = "pandas-cleaning"


def node_binary() -> str:
    """node, with the wallet libraries installed from package-lock.json (once, under a lock)."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if not node_bin or not npm_bin:
        if os.environ.get("CI") == "true":
            pytest.fail("node and npm are required for the wallet tests in CI")
        pytest.skip("node/npm not installed: cannot run the wallet libraries")
    digest = hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()
    marker = NODE_DIR / "node_modules" / ".installed-from"
    with open(NODE_DIR / ".install.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not (marker.is_file() and marker.read_text() == digest and _imports(node_bin)):
            done = subprocess.run([npm_bin, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                                  capture_output=True, text=True, timeout=300, check=False)
            if done.returncode != 0:
                message = f"npm ci failed: {done.stderr[-2000:]}"
                if os.environ.get("CI") == "true":
                    pytest.fail(message)
                pytest.skip(message)
            marker.write_text(digest)
        if not _imports(node_bin):
            pytest.fail("the wallet libraries do not import after npm ci")
    return node_bin


def _imports(node_bin: str) -> bool:
    done = subprocess.run([node_bin, "--input-type=module", "-e", "await import('./wallet.mjs')"],
                          cwd=NODE_DIR, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "WALLET_PROBE": "1"})
    return "usage:" in done.stderr


def passing_result(ctx: ServiceContext, learner: str, assessment_id: str = ASSESSMENT) -> GradeResult:
    """Full marks on every cell of the assessment (as grading would record them)."""
    assessment = ctx.catalogue.assessments[assessment_id]
    cells = [CellScore(c.notebook, c.grade_id, c.points, c.points, c.kind, False)
             for c in assessment.grade_cells()]
    score = sum(c.score for c in cells)
    competencies = roll_up(assessment.spec, cells)
    result = GradeResult(
        learner=learner, assessment=assessment_id, assessment_version=assessment.spec.version,
        score=score, max_score=score, passed=decide(assessment, score, score, competencies, []),
        cells=cells, competencies=competencies, tampered_cells=[], errors=[],
        content_hash=hashlib.sha256(f"{learner}{assessment_id}".encode()).hexdigest(),
    )
    assert result.passed
    return result


def award(ctx: ServiceContext, account: Account, assessment_id: str = ASSESSMENT) -> str:
    """Record a passing grading and issue its badge; the credential id (urn:uuid:…)."""
    assessment = ctx.catalogue.assessments[assessment_id]
    result = passing_result(ctx, account.learner, assessment_id)
    recorded = ctx.store.record(result, fingerprint=assessment.fingerprint, title=assessment.spec.title)
    credential = ctx.issuer.issue(result, assessment, recorded.grading_id)
    assert credential is not None
    return credential


def learner(ctx: ServiceContext, email: str) -> tuple[Account, str]:
    """A learner account and its API token."""
    add_user(ctx, email=email, name=email.split("@")[0].title(), role="learner")
    token = create_token(ctx, email=email).token
    account = account_for_token(ctx, token)
    assert account is not None
    return account, token


@dataclass
class Tls:
    ca: Path
    cert: Path
    key: Path


def make_tls(folder: Path) -> Tls:
    """A trustme CA and a server certificate for localhost and 127.0.0.1."""
    import trustme

    folder.mkdir(parents=True, exist_ok=True)
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    paths = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    ca.cert_pem.write_to_path(str(paths.ca))
    server.private_key_pem.write_to_path(str(paths.key))
    with open(paths.cert, "wb") as out:
        for blob in server.cert_chain_pems:
            out.write(blob.bytes())
    return paths


@dataclass
class World:
    """The live service and what the tests need around it."""

    base: str
    ctx: ServiceContext
    tls: Tls
    node: str
    tokens: dict[str, str]
    credentials: dict[str, str]

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, verify=str(self.tls.ca), timeout=30)

    def api(self, who: str) -> httpx.Client:
        client = self.client()
        client.headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return client

    def wallet(self, *args: str, ok: bool = True) -> dict[str, Any]:
        """Run wallet.mjs; its one JSON line."""
        done = subprocess.run([self.node, str(NODE_DIR / "wallet.mjs"), *args], capture_output=True,
                              text=True, timeout=120, check=False,
                              env={**os.environ, "NODE_EXTRA_CA_CERTS": str(self.tls.ca)})
        assert (done.returncode == 0) == ok, (done.stdout[-3000:], done.stderr[-3000:])
        line = done.stdout.strip().splitlines()[-1]
        return dict(json.loads(line))


@contextmanager
def running(root: Path, node: str) -> Iterator[World]:
    """Ada (two badges) and Bob (one), nbcred serving HTTPS at https://localhost:<port>."""
    tls = make_tls(root / "tls")
    port = free_port()
    base = f"https://localhost:{port}"
    home = root / "home"
    settings = Settings(home=home, base_url=base, serve_grading=False,
                        workers=1, verify_workers=1)
    ctx = ServiceContext.open(settings)
    tokens, credentials = {}, {}
    for who in ("ada", "bob"):
        account, tokens[who] = learner(ctx, f"{who}@example.org")
        credentials[who] = award(ctx, account)
    credentials["ada-2"] = award(ctx, ctx_account(ctx, tokens["ada"]), "data-visualisation")
    env = {**os.environ, "NBCRED_HOME": str(home), "NBCRED_BASE_URL": base,
           "NBCRED_SERVE_GRADING": "false", "NBCRED_VERIFY_WORKERS": "1",
           "NBCRED_SESSION_SECRET": "wallet-tests-" + "x" * 40}
    env.pop("NBCRED_DATABASE_URL", None)
    env.pop("NBCRED_PUBLIC_BASE_URL", None)  # NBCRED_BASE_URL alone places every URL
    log = open(root / "serve.log", "w")  # noqa: SIM115 - closed below
    server = subprocess.Popen(
        [sys.executable, "-m", "nbcred.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
         "--ssl-certfile", str(tls.cert), "--ssl-keyfile", str(tls.key)],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait(base, tls, server, root / "serve.log")
        yield World(base, ctx, tls, node, tokens, credentials)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


def ctx_account(ctx: ServiceContext, token: str) -> Account:
    account = account_for_token(ctx, token)
    assert account is not None
    return account


def _wait(base: str, tls: Tls, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"nbcred serve stopped: {log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{base}/.well-known/openid-credential-issuer", verify=str(tls.ca),
                         timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"nbcred serve did not answer: {log.read_text()[-3000:]}")
