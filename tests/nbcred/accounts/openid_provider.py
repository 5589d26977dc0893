"""A real OpenID Provider for the tests: panva's oidc-provider (OpenID Certified) run by Node.

The npm package is installed from tests/nbcred/accounts/node/package-lock.json (``npm ci``) on first use,
under a file lock; without node/npm the tests skip, except under CI=true.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.conftest import unavailable

NODE_DIR = Path(__file__).parent / "node"
CLIENT_ID, CLIENT_SECRET = "nbcred-test", "op-client-secret"


def node() -> str:
    """The node binary, with oidc-provider installed (once, under a lock, and checked)."""
    node_bin, npm_bin = shutil.which("node"), shutil.which("npm")
    if not node_bin or not npm_bin:
        unavailable("node and npm are needed to run the OpenID Provider")
    assert node_bin and npm_bin
    marker = NODE_DIR / ".installed"
    digest = hashlib.sha256((NODE_DIR / "package-lock.json").read_bytes()).hexdigest()
    with open(NODE_DIR / ".install.lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        if not (marker.exists() and marker.read_text() == digest and _imports(node_bin)):
            done = subprocess.run([npm_bin, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR,
                                  capture_output=True, text=True, timeout=600)
            if done.returncode != 0 or not _imports(node_bin):
                unavailable(f"npm ci failed for the OpenID Provider: {done.stderr[-1500:]}")
            marker.write_text(digest)
    return node_bin


def _imports(node_bin: str) -> bool:
    probe = subprocess.run([node_bin, "-e", "import('oidc-provider').then(() => process.exit(0))"],
                           cwd=NODE_DIR, capture_output=True, timeout=60)
    return probe.returncode == 0


@contextmanager
def provider(port: int, redirects: list[str]) -> Iterator[str]:
    """The provider on 127.0.0.1:``port`` accepting ``redirects``; yields its issuer URL."""
    process = subprocess.Popen([node(), "op.mjs", str(port), CLIENT_ID, CLIENT_SECRET, *redirects],
                               cwd=NODE_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield issuer
    finally:
        process.terminate()
        process.wait(10)


def log_in(authorization_url: str, login: str) -> str:
    """Go through the provider's login and consent forms as ``login``; the redirect back (with code)."""
    client = httpx.Client(follow_redirects=False, timeout=10)
    answer = client.get(authorization_url)
    for _ in range(10):
        location = answer.headers.get("location", "")
        if answer.status_code in (302, 303) and "/interaction/" not in location and "/auth/" not in location:
            return location
        if answer.status_code in (302, 303):
            answer = client.get(httpx.URL(authorization_url).join(location))
            continue
        action = re.search(r'action="([^"]+)"', answer.text)
        prompt = re.search(r'name="prompt" value="([^"]+)"', answer.text)
        assert action and prompt, answer.text[:500]
        form = {"prompt": prompt.group(1), "login": login, "password": "any"}
        answer = client.post(action.group(1), data=form)
    raise AssertionError("the provider never redirected back")
