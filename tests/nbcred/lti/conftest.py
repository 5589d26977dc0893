"""A real ``nbcred serve`` (subprocess, the local executor grading with real kernels) registered
with a test platform on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.browsing import free_port
from tests.nbcred.lti.platform import TestPlatform, running_platform
from tests.paths import ROOT

NBCRED = str(Path(sys.executable).parent / "nbcred")


@dataclass
class Tool:
    """The running service, its platform and how to run its command line."""

    base: str
    platform: TestPlatform
    env: dict[str, str]
    log: Path

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([NBCRED, *args], env=self.env, capture_output=True, text=True, timeout=120)
        if check:
            assert done.returncode == 0, done.stdout + done.stderr
        return done


def launch_form(page: str) -> tuple[str, dict[str, str]]:
    """The platform's self-posting launch form: its action and fields."""
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    assert action is not None, page
    return action.group(1).replace("&amp;", "&"), fields


def launch(client: httpx.Client, platform: TestPlatform, hint: str, scenario: object) -> httpx.Response:
    """Login initiation → the platform's authorisation → the form post, redirects followed."""
    start = client.get(platform.login_url(hint, scenario), follow_redirects=False)  # type: ignore[arg-type]
    assert start.status_code == 302, start.text
    assert start.headers["location"].startswith(f"{platform.issuer}/authorize?")
    form = client.get(start.headers["location"])
    assert form.status_code == 200, form.text
    action, fields = launch_form(form.text)
    return client.post(action, data=fields, follow_redirects=True)


@pytest.fixture(params=["sqlite", "postgresql"])
def tool(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tool]:
    """``nbcred serve`` with a platform registered by ``nbcred lti add-platform``."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'gradebook.sqlite'}"
    else:
        from tests.conftest import empty_public_schema

        url = request.getfixturevalue("postgres_url")
        empty_public_schema(url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "NBCRED_HOME": str(tmp_path / "home"), "NBCRED_DATABASE_URL": url,
           "NBCRED_CATALOGUE": str(ROOT / "assessments"), "NBCRED_WORKERS": "1",
           "NBCRED_VERIFY_WORKERS": "1", "NBCRED_LTI_POLL_SECONDS": "1"}
    for name in ("NBCRED_PUBLIC_BASE_URL", "NBCRED_BASE_URL", "NBCRED_SESSION_SECRET"):
        env.pop(name, None)
    with running_platform(base) as platform:
        tool = Tool(base, platform, env, tmp_path / "serve.log")
        tool.cli("lti", "add-platform", *platform.cli_args())
        with tool.log.open("w") as log:
            server = subprocess.Popen([NBCRED, "serve", "--port", str(port)], env=env, cwd=tmp_path,
                                      stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(f"{base}/lti/jwks.json", timeout=5).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert server.poll() is None, tool.log.read_text()
                assert time.monotonic() < deadline, tool.log.read_text()
                time.sleep(0.3)
            yield tool
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
