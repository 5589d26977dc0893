"""Every answer of every route carries the security headers (one middleware, routes discovered).

A strict Content-Security-Policy (scripts only with the response's nonce), ``nosniff``,
``Referrer-Policy`` and ``frame-ancestors 'none'`` (or the configured LMS origins); views of
learner content carry the sandbox policy instead, framed by this site only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nbcred.web.app import create_app
from tests.nbcred.web.conftest import Service, open_context, people, settings_for
from tests.nbcred.web.test_refusals import routes

SANDBOXED = ("/render/", "/feedback", "/notebooks/")


def fill(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: values.get(m.group(1), "x"), path)


def check(response: object, path: str) -> None:
    headers = response.headers  # type: ignore[attr-defined]
    policy = headers.get("content-security-policy", "")
    assert headers.get("x-content-type-options") == "nosniff", path
    assert headers.get("referrer-policy") == "same-origin", path
    assert "default-src 'none'" in policy, (path, policy)
    assert "'unsafe-eval'" not in policy
    if policy.startswith("sandbox"):
        assert "script-src" not in policy and "frame-ancestors 'self'" in policy, path
    else:
        assert "frame-ancestors 'none'" in policy, (path, policy)
        script = re.search(r"script-src ([^;]+)", policy)
        assert script and "'unsafe-inline'" not in script.group(1), (path, policy)


@pytest.mark.parametrize(("method", "path"), sorted({(m, p) for m, p, _ in routes()}))
def test_every_route_answers_with_the_headers(world: tuple[Service, dict[str, str]], method: str,
                                              path: str) -> None:
    service, values = world
    url = fill(path, values)
    callers = [{}, {"Accept": "text/html"}]  # refused answers too; only reads are made signed in
    if method in ("GET", "HEAD"):
        callers += [service.auth("alan"), service.auth("ada")]
    for headers in callers:
        response = service.client.request(method, url, headers=headers, follow_redirects=False)
        check(response, f"{method} {url} -> {response.status_code}")
    if method == "GET" and any(part in path for part in SANDBOXED):
        framed = service.client.request(method, url, headers=service.auth("ada"))
        if framed.status_code == 200:
            assert framed.headers["content-security-policy"].startswith("sandbox;")


def test_static_files_and_unknown_paths_carry_the_headers(world: tuple[Service, dict[str, str]]) -> None:
    service, _ = world
    for url in ("/static/style.css", "/static/status.js", "/no/such/page", "/static/missing.js"):
        check(service.client.get(url), url)


def test_scripts_run_only_with_this_responses_nonce(world: tuple[Service, dict[str, str]]) -> None:
    service, values = world
    url = f"/submissions/{values['submission_id']}"
    first, second = (service.client.get(url, headers=service.auth("ada")) for _ in range(2))
    nonces = []
    for page in (first, second):
        nonce = re.search(r"'nonce-([^']+)'", page.headers["content-security-policy"])
        assert nonce is not None
        assert f'<script src="/static/status.js" nonce="{nonce.group(1)}">' in page.text
        assert page.text.count("<script") == page.text.count(f'nonce="{nonce.group(1)}"')
        nonces.append(nonce.group(1))
    assert nonces[0] != nonces[1]


def test_frame_ancestors_come_from_the_setting(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "home", serve_grading=False,
                            frame_ancestors="https://lms.example.edu https://canvas.example.org/")
    ctx = open_context(settings)
    people(ctx)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        answer = client.get("/signin")
        policy = answer.headers["content-security-policy"]
        assert "frame-ancestors https://lms.example.edu https://canvas.example.org;" in policy + ";"
        assert "x-frame-options" not in answer.headers  # it cannot name origins: CSP decides
        assert client.get("/healthz").headers["x-content-type-options"] == "nosniff"
