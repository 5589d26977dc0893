"""``nbcred serve --sample-accounts`` (what ``make serve`` runs) starts, says where to sign in, serves."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.nbcred.web.conftest import CATALOGUE

NBCRED = str(Path(sys.executable).parent / "nbcred")


def _env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "NBCRED_HOME": str(tmp_path / "home"), "NBCRED_CATALOGUE": str(CATALOGUE),
           "NBCRED_SERVE_GRADING": "false"}
    env.pop("NBCRED_SESSION_SECRET", None)
    return env


def test_serve_on_a_public_address_needs_a_session_secret(tmp_path: Path) -> None:
    for host in ("0.0.0.0", "::"):
        started = time.monotonic()
        try:
            done = subprocess.run([NBCRED, "serve", "--host", host, "--port", "0"], env=_env(tmp_path),
                                  capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(f"nbcred serve --host {host} started without a session secret") from exc
        assert done.returncode == 2, done.stderr
        assert "NBCRED_SESSION_SECRET" in done.stderr and "export NBCRED_SESSION_SECRET=" in done.stderr
        assert time.monotonic() - started < 30
    assert not (tmp_path / "home" / "gradebook.sqlite").exists()  # refused before anything else


def test_serve_outside_the_checkout_without_a_catalogue_names_the_setting(tmp_path: Path) -> None:
    env = {**_env(tmp_path), "NBCRED_CATALOGUE": "no-such-folder"}
    done = subprocess.run([NBCRED, "serve", "--port", "0"], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "NBCRED_CATALOGUE" in done.stderr and str(tmp_path / "no-such-folder") in done.stderr
    assert "No such file or directory" not in done.stderr


def test_serve_prints_where_to_sign_in_and_serves(tmp_path: Path) -> None:
    """Started outside the checkout, with no catalogue setting: the sample catalogue is found, and
    the placeholder issuer URL is announced loudly."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = _env(tmp_path)
    for name in ("NBCRED_CATALOGUE", "NBCRED_ISSUER_URL"):
        env.pop(name, None)
    server = subprocess.Popen([NBCRED, "serve", "--sample-accounts", "--port", str(port)], env=env,
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        assert server.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Started server process" in line:
                break
        text = "".join(lines)
        assert "WARNING: NBCRED_ISSUER_URL is the placeholder https://nbcred.example.org" in text, text
        assert f"sign in at http://127.0.0.1:{port}/signin" in text, text
        assert "learner@example.org" in text and "password: learner-password" in text
        assert "4 assessment(s)" in text
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        signin = httpx.get(f"{base}/signin", timeout=5)
        assert signin.status_code == 200 and 'name="csrf_token"' in signin.text
        token = signin.text.split('name="csrf_token" value="')[1].split('"')[0]
        session = httpx.Client(base_url=base, cookies=signin.cookies, timeout=10)
        signed = session.post("/signin", data={"email": "learner@example.org", "password": "learner-password",
                                               "csrf_token": token})
        assert signed.status_code == 303 and signed.headers["location"] == "/"
        kept = tmp_path / "home" / "session-secret"  # no secret set: a random one, kept privately
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600 and len(kept.read_text().strip()) >= 32
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
