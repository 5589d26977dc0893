"""Verify-by-link cannot be turned inward (V6): every resolved address is checked and the
connection goes to the checked one, redirects are checked hop by hop, one deadline covers the
whole fetch, and errors say nothing about the connection. DNS is faked at the edge
(``socket.getaddrinfo``); the servers are real, on loopback."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from nbcred.service import verify
from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, ServiceError, TooLarge
from tests.nbcred.web.conftest import open_context, settings_for
from tests.paths import VECTORS

OB3 = VECTORS / "ob3-unsigned.json"
DEADLINE = 2.0


class _Handler(BaseHTTPRequestHandler):
    seen: list[str]
    inner: str = ""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.seen.append(self.path)
        if self.path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(0.3)
        elif self.path == "/inward":
            self._redirect(self.inner + "/secret")
        elif self.path == "/loop":
            self._redirect("/loop")
        elif self.path == "/big":
            self._send(b"{" + b" " * (3 * 1024 * 1024) + b"}")
        else:
            self._send(OB3.read_bytes())

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _server(host: str, seen: list[str], inner: str = "") -> ThreadingHTTPServer:
    handler = type("Handler", (_Handler,), {"seen": seen, "inner": inner})
    server = ThreadingHTTPServer((host, 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def servers() -> Iterator[tuple[int, int, list[str], list[str]]]:
    """A "public" server on 127.0.0.2 and an inner one on 127.0.0.1 (ports, requests seen)."""
    inner_seen: list[str] = []
    outer_seen: list[str] = []
    inner = _server("127.0.0.1", inner_seen)
    outer = _server("127.0.0.2", outer_seen, inner=f"http://127.0.0.1:{inner.server_address[1]}")
    yield outer.server_address[1], inner.server_address[1], outer_seen, inner_seen
    inner.shutdown()
    outer.shutdown()


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> ServiceContext:
    return open_context(settings_for(tmp_path_factory.mktemp("links") / "home", serve_grading=False,
                                     verify_link_deadline_seconds=DEADLINE))


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> list[str]:
    """``getaddrinfo`` answers ``answers[host]`` in turn (the last one repeats); others are real."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in answers:
            return real(host, port, *args, **kwargs)
        asked.append(host)
        queue = answers[host]
        address = queue.pop(0) if len(queue) > 1 else queue[0]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port or 80, 0, 0) if family == socket.AF_INET6 else (address, port or 80)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


def _treat_as_public(monkeypatch: pytest.MonkeyPatch, *public: str) -> None:
    """The test's "public internet" is these loopback addresses; every other address is judged
    by the real rule."""
    from nbcred.service import fetch

    real = fetch.forbidden
    allowed = {ipaddress.ip_address(a) for a in public}
    monkeypatch.setattr(fetch, "forbidden", lambda address: address not in allowed and real(address))


@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "224.0.0.1", "255.255.255.255", "198.18.0.1", "::1", "::", "fe80::1", "fd12:3456::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",
    "2002:7f00:1::1", "2001:db8::1", "ff02::1",
])
def test_links_into_private_ranges_are_refused_without_connecting(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    _fake_dns(monkeypatch, {"inward.example": [address]})
    connects: list[Any] = []
    real_connect = socket.create_connection
    monkeypatch.setattr(socket, "create_connection",
                        lambda *a, **k: connects.append(a) or real_connect(*a, **k))
    with pytest.raises(BadRequest, match="private address"):
        verify.verify_link(ctx, "http://inward.example/credential.json")
    assert connects == []


def test_a_name_that_resolves_public_then_private_never_reaches_inside(
        ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch,
        servers: tuple[int, int, list[str], list[str]]) -> None:
    _outer, inner_port, _seen, inner_seen = servers
    asked = _fake_dns(monkeypatch, {"rebind.example": ["93.184.216.34", "127.0.0.1"]})
    started = time.monotonic()
    with pytest.raises(ServiceError) as refused:
        verify.verify_link(ctx, f"http://rebind.example:{inner_port}/credential.json")
    assert inner_seen == [] and asked == ["rebind.example"]  # resolved once, never reached
    assert "127.0.0.1" not in str(refused.value) and str(inner_port) not in str(refused.value)
    assert "93.184.216.34" not in str(refused.value)
    assert time.monotonic() - started < DEADLINE + 2


def test_a_redirect_inward_is_refused(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch,
                                      servers: tuple[int, int, list[str], list[str]]) -> None:
    outer_port, _inner, outer_seen, inner_seen = servers
    _fake_dns(monkeypatch, {"public.example": ["127.0.0.2"]})
    _treat_as_public(monkeypatch, "127.0.0.2")
    report = verify.verify_link(ctx, f"http://public.example:{outer_port}/credential.json")
    assert report.result.checks["proof"].startswith("failed:")  # fetched and checked (unsigned)
    with pytest.raises(BadRequest, match="private address"):
        verify.verify_link(ctx, f"http://public.example:{outer_port}/inward")
    assert outer_seen == ["/credential.json", "/inward"] and inner_seen == []
    with pytest.raises(BadRequest, match="redirects more than"):
        verify.verify_link(ctx, f"http://public.example:{outer_port}/loop")


def test_one_deadline_covers_a_dripping_server(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch,
                                               servers: tuple[int, int, list[str], list[str]]) -> None:
    outer_port, _inner, outer_seen, _inner_seen = servers
    _fake_dns(monkeypatch, {"slow.example": ["127.0.0.2"]})
    _treat_as_public(monkeypatch, "127.0.0.2")
    started = time.monotonic()
    with pytest.raises(BadRequest) as refused:
        verify.verify_link(ctx, f"http://slow.example:{outer_port}/drip")
    elapsed = time.monotonic() - started
    assert outer_seen == ["/drip"]  # it connected: the deadline is what stopped it
    assert elapsed < DEADLINE + 1.5, elapsed
    assert "127.0.0" not in str(refused.value) and str(outer_port) not in str(refused.value)


def test_a_body_past_the_size_cap_is_refused(ctx: ServiceContext, monkeypatch: pytest.MonkeyPatch,
                                             servers: tuple[int, int, list[str], list[str]]) -> None:
    outer_port, _inner, _outer_seen, _inner_seen = servers
    _fake_dns(monkeypatch, {"big.example": ["127.0.0.2"]})
    _treat_as_public(monkeypatch, "127.0.0.2")
    with pytest.raises(TooLarge):
        verify.verify_link(ctx, f"http://big.example:{outer_port}/big")


