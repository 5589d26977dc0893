"""Limits at the door: notebook size, cells and outputs (V7), sign-in before an upload's body is read
and bodies capped while they stream (V12), JSON depth (V15), no server paths in answers (V16).
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nbcred.service import notebook_view
from nbcred.service.paths import scrub
from nbcred.store.models import WebSubmission
from nbcred.web.app import create_app
from tests.browsing import serve
from tests.nbcred.web.conftest import SAMPLES, Service, open_context, people, settings_for

NOTEBOOK = json.loads((SAMPLES / "pandas-cleaning" / "alice" / "cleaning.ipynb").read_text())
MIB = 1024 * 1024


def notebook_with(cells: list[dict[str, object]]) -> bytes:
    return json.dumps({**NOTEBOOK, "cells": NOTEBOOK["cells"] + cells}).encode()


def upload(service: Service, data: bytes, who: str = "ada") -> object:
    return service.client.post("/api/v1/submissions", headers=service.auth(who),
                               data={"assessment": "pandas-cleaning"},
                               files=[("files", ("cleaning.ipynb", data))])


def rows(service: Service) -> int:
    with service.ctx.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(WebSubmission)) or 0)


# V7 ----------------------------------------------------------------------------------------------

def test_a_hundred_thousand_cells_are_refused_clearly(quiet_service: Service) -> None:
    many = [{"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [], "execution_count": None}]
    answer = upload(quiet_service, notebook_with(many * 100_000))
    assert answer.status_code == 413, answer.text  # type: ignore[attr-defined]
    detail = answer.json()["detail"]  # type: ignore[attr-defined]
    assert "cleaning.ipynb has 100,026 cells, more than the 2,000 allowed" in detail
    assert rows(quiet_service) == 0 and not (quiet_service.ctx.settings.home / "uploads").exists()


def test_saved_outputs_beyond_the_cap_are_refused(quiet_service: Service) -> None:
    heavy = [{"cell_type": "code", "metadata": {}, "source": "print(x)", "execution_count": 1,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": "y" * (3 * MIB)}]}] * 3
    answer = upload(quiet_service, notebook_with(heavy))
    assert answer.status_code == 413  # type: ignore[attr-defined]
    assert "of saved outputs, more than the 8.0 MiB allowed" in answer.json()["detail"]  # type: ignore[attr-defined]
    assert rows(quiet_service) == 0


def test_a_notebook_view_is_rendered_once(quiet_service: Service, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = notebook_view.render_notebook

    def counted(raw: bytes, title: str) -> str:
        calls.append(title)
        return real(raw, title)

    monkeypatch.setattr(notebook_view, "render_notebook", counted)
    sid = upload(quiet_service, notebook_with([])).json()["id"]  # type: ignore[attr-defined]
    url = f"/render/submissions/{sid}/uploads/cleaning"
    pages = [quiet_service.client.get(url, headers=quiet_service.auth(who)) for who in ("ada", "grace") * 5]
    assert {p.status_code for p in pages} == {200} and len({p.text for p in pages}) == 1
    assert calls == ["cleaning.ipynb as submitted"]  # ten requests, one rendering
    assert quiet_service.client.get(url, headers=quiet_service.auth("bob")).status_code == 404


# V12 ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    settings = settings_for(tmp_path_factory.mktemp("door") / "home", serve_grading=False,
                            upload_max_bytes=MIB)
    ctx = open_context(settings)
    tokens = people(ctx)
    with serve(create_app(settings, ctx=ctx)) as base:
        yield base, tokens


def raw_post(base: str, path: str, headers: dict[str, str], body: bytes, *, declared: int | None = None,
             chunked: bool = False, wait: float = 10.0) -> tuple[int, float, int]:
    """POST over a socket, sending ``body`` of a body declared larger; (status, seconds, bytes sent)."""
    host, port = base.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}",
             "Content-Type: multipart/form-data; boundary=b0undary", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared or len(body)}")
    sent = 0
    start = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.setblocking(False)
        answer = b""
        for offset in range(0, len(body), 64 * 1024):
            piece = body[offset:offset + 64 * 1024]
            try:
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece)
                sent += len(piece)
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break  # the server stopped reading: it answered already
            try:
                answer += sock.recv(65536)
                if answer:
                    break
            except BlockingIOError:
                pass
        sock.settimeout(wait)
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, time.monotonic() - start, sent


@pytest.mark.parametrize("path", ["/api/v1/submissions", "/assessments/pandas-cleaning/submit"])
def test_an_anonymous_upload_is_refused_before_its_body_is_read(live: tuple[str, dict[str, str]],
                                                               path: str) -> None:
    base, _ = live
    status, seconds, sent = raw_post(base, path, {"Accept": "application/json"}, b"x" * (256 * 1024),
                                     declared=200 * MIB)
    assert status == 401 and seconds < 5, (status, seconds)
    assert sent <= 256 * 1024  # not 200 MiB: answered without waiting for the body


def test_a_declared_oversize_upload_is_refused_at_once(live: tuple[str, dict[str, str]]) -> None:
    base, tokens = live
    status, seconds, _ = raw_post(base, "/api/v1/submissions", {"Authorization": f"Bearer {tokens['ada']}"},
                                  b"x" * 1024, declared=200 * MIB)
    assert status == 413 and seconds < 5


def test_a_chunked_upload_is_cut_at_the_cap(live: tuple[str, dict[str, str]]) -> None:
    base, tokens = live
    part = (b'--b0undary\r\nContent-Disposition: form-data; name="files"; filename="cleaning.ipynb"\r\n'
            b"Content-Type: application/octet-stream\r\n\r\n")
    status, _, sent = raw_post(base, "/api/v1/submissions", {"Authorization": f"Bearer {tokens['ada']}"},
                               part + b"x" * (8 * MIB), chunked=True)
    assert status == 413
    assert sent < 8 * MIB


def test_the_verify_page_takes_a_badge_without_sign_in_but_small(live: tuple[str, dict[str, str]]) -> None:
    base, _ = live
    status, _, _ = raw_post(base, "/verify", {}, b"x" * 1024, declared=100 * MIB)
    assert status == 413


# V15 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("depth", [100, 100_000])
def test_deeply_nested_json_is_a_clear_400(shared_quiet_service: Service, depth: int) -> None:
    service = shared_quiet_service
    body = "[" * depth + "]" * depth
    for path, headers in (("/api/v1/credentials/verify", {}), ("/api/v1/users", service.auth("alan")),
                          ("/api/v1/tokens", service.auth("ada"))):
        answer = service.client.post(path, content=body,
                                     headers={**headers, "Content-Type": "application/json"})
        assert answer.status_code == 400, (path, answer.status_code, answer.text[:200])
        assert f"nested {depth} levels deep, more than the 64 allowed" in answer.json()["detail"]
    page = service.client.post("/verify", data={"credential_json": body, "csrf_token": "x"},
                               headers={"Accept": "text/html"})
    assert page.status_code in (400, 403) and page.status_code != 500


def test_ordinary_json_still_passes(shared_quiet_service: Service) -> None:
    service = shared_quiet_service
    answer = service.client.post("/api/v1/tokens", json={"label": "[[[{{"}, headers=service.auth("ada"))
    assert answer.status_code == 201


# V16 ---------------------------------------------------------------------------------------------

def test_answers_carry_no_server_paths(world: tuple[Service, dict[str, str]]) -> None:
    service, values = world
    sid = values["submission_id"]
    body = service.client.get(f"/api/v1/submissions/{sid}", headers=service.auth("ada")).json()
    assert body["result"]["feedback"] == f"/api/v1/submissions/{sid}/feedback"
    text = json.dumps(body)
    home = str(service.ctx.settings.home.resolve())
    assert home not in text and str(Path.home()) + "/" not in text and "/tmp/" not in text
    listed = service.client.get("/api/v1/submissions", headers=service.auth("ada")).text
    assert home not in listed


def test_error_messages_lose_their_server_paths(world: tuple[Service, dict[str, str]]) -> None:
    service, values = world
    settings = service.ctx.settings
    home = settings.home.resolve()
    message = (f"papermill could not read {home}/uploads/pandas-cleaning/ab12/cleaning.ipynb: "
               "see /tmp/nbcred-run-1/cleaning.ipynb (line 3), https://example.org/tmp/x")
    cleaned = scrub(message, settings)
    assert cleaned == ("papermill could not read cleaning.ipynb: see cleaning.ipynb (line 3), "
                       "https://example.org/tmp/x")
    with service.ctx.store.session() as session:
        row = session.get(WebSubmission, values["submission_id"])
        assert row is not None
        before, row.error = row.error, message
    try:
        body = service.client.get(f"/api/v1/submissions/{values['submission_id']}",
                                  headers=service.auth("ada")).json()
        assert body["error"] == cleaned
    finally:
        with service.ctx.store.session() as session:
            row = session.get(WebSubmission, values["submission_id"])
            assert row is not None
            row.error = before
