"""The service client turns every failure into a message the learner can act on, within a short timeout."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Callable

import httpx
import pytest

from nbcred.jupyter.client import ServiceClient, Upload
from nbcred.jupyter.errors import NotConfigured, ServiceFailed, ServiceRefused, ServiceUnreachable

URL = "http://nbcred.test"


def client_for(handler: Callable[[httpx.Request], httpx.Response], **kwargs: float) -> ServiceClient:
    return ServiceClient(url=URL + "/", token="nbc_secret", transport=httpx.MockTransport(handler), **kwargs)


def test_requests_carry_the_token_and_parse_the_catalogue() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"id": "ps1", "title": "Problem set 1", "version": "1",
                                          "notebooks": ["problem1", "problem2"], "attempts_allowed": 3,
                                          "has_badge": True}])

    with client_for(handler) as client:
        [entry] = client.assessments()
    assert entry.id == "ps1" and entry.notebooks == ("problem1", "problem2")
    assert entry.attempts_allowed == 3 and entry.has_badge
    assert seen[0].headers["Authorization"] == "Bearer nbc_secret"
    assert str(seen[0].url) == "http://nbcred.test/api/v1/assessments"


def test_upload_is_multipart_with_the_assessment_field() -> None:
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        return httpx.Response(202, json={"id": "s-1", "status": "queued", "attempt": 2})

    with client_for(handler) as client:
        receipt = client.submit(assessment_id="ps1", files=[Upload("problem1.ipynb", b'{"cells": []}')])
    assert (receipt.id, receipt.status, receipt.attempt) == ("s-1", "queued", 2)
    assert b'name="assessment"' in bodies[0] and b"ps1" in bodies[0]
    assert b'filename="problem1.ipynb"' in bodies[0] and b'{"cells": []}' in bodies[0]


@pytest.mark.parametrize(
    ("status", "body", "kind", "fragment"),
    [
        (409, {"detail": "you have used all 3 attempt(s) of ps1"}, ServiceRefused, "used all 3 attempt(s)"),
        (422, {"detail": "problem1.ipynb is not a notebook"}, ServiceRefused, "is not a notebook"),
        (413, {"detail": "larger than the 20 MiB allowed"}, ServiceRefused, "refused as too large"),
        (401, {"detail": "invalid token"}, ServiceRefused, "set NBCRED_TOKEN"),
        (500, {"detail": "boom"}, ServiceFailed, "failed (HTTP 500"),
        (422, {"detail": [{"msg": "Field required"}]}, ServiceRefused, "Field required"),
    ],
)
def test_refusals_carry_the_services_reason(
    status: int, body: object, kind: type[Exception], fragment: str
) -> None:
    with client_for(lambda request: httpx.Response(status, json=body)) as client, \
            pytest.raises(kind, match=re.escape(fragment)) as caught:
        client.submit(assessment_id="ps1", files=[Upload("a.ipynb", b"{}")])
    if isinstance(caught.value, ServiceRefused):
        assert caught.value.status == status


def test_an_answer_that_is_not_json_is_reported() -> None:
    with client_for(lambda request: httpx.Response(200, text="<html>proxy login</html>")) as client, \
            pytest.raises(ServiceFailed, match="not JSON"):
        client.assessments()


def test_a_refused_connection_names_the_url() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with ServiceClient(url=f"http://127.0.0.1:{port}", token="t", timeout=2) as client, \
            pytest.raises(ServiceUnreachable, match=f"cannot reach the nbcred service at http://127.0.0.1:{port}"):
        client.assessments()


def test_a_service_that_does_not_answer_times_out_quickly(silent_server: int) -> None:
    started = time.monotonic()
    with ServiceClient(url=f"http://127.0.0.1:{silent_server}", token="t", timeout=0.5) as client, \
            pytest.raises(ServiceUnreachable, match=r"did not answer within 0\.5 s"):
        client.assessments()
    assert time.monotonic() - started < 3


@pytest.mark.parametrize(("url", "token", "fragment"), [
    ("", "t", "NBCRED_URL is not set"),
    ("ftp://x", "t", "is not an http"),
    ("http://x", " ", "NBCRED_TOKEN is not set"),
])
def test_missing_settings_say_what_to_set(url: str, token: str, fragment: str) -> None:
    with pytest.raises(NotConfigured, match=fragment):
        ServiceClient(url=url, token=token)
