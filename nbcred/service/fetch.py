"""Fetch a credential from a link given by anyone, without letting the link reach inward.

* The host name is resolved once per connection; every address it resolves to is checked
  (:func:`forbidden`: loopback, private, link-local, CGNAT, NAT64, 6to4, Teredo, IPv4-mapped,
  unique-local, multicast, documentation, reserved, unspecified, the cloud metadata address),
  and the connection goes to the address that was checked, never to a second lookup. TLS still
  names the host (SNI, certificate check) and so does the ``Host`` header.
* Redirects are followed by hand, at most :data:`MAX_REDIRECTS`, each hop checked the same way.
* One deadline covers everything (resolution, connecting, TLS, every read, every hop): each
  blocking step gets only the time that is left, so a server that drips a byte at a time is cut
  off when the deadline passes. The body is capped at ``max_bytes``; compressed bodies are refused.
* Errors say what happened in general terms, never which address or port answered.

The caller runs this off the event loop (``verify_link`` runs in a worker thread).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from nbcred.service.errors import BadRequest, TooLarge

MAX_REDIRECTS = 3
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolve = Callable[[str, int, float], list[str]]
"""``(host, port, timeout) -> addresses`` (IP literals as strings)."""

_BLOCKED = [ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "198.51.100.0/24", "203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "::ffff:0:0/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64",
    "2001::/23", "2001:db8::/32", "2002::/16", "fc00::/7", "fe80::/10", "fec0::/10", "ff00::/8",
)]

REFUSED = "that link points to a private address or a local network; links must point to a public web site"
UNREACHABLE = ("could not fetch a credential from that link (the site did not answer in time or the "
               "connection failed)")


class LinkRefused(BadRequest):
    """The link (or a redirect) leads to an address this service does not fetch from."""


def forbidden(address: IPAddress) -> bool:
    """True for every address a fetched link must not reach (see the module docstring)."""
    if any(address in network for network in _BLOCKED if network.version == address.version):
        return True
    return not address.is_global or address.is_multicast


def system_resolve(host: str, port: int, timeout: float) -> list[str]:
    """``getaddrinfo`` in a helper thread, given up after ``timeout`` seconds."""
    found: list[str] = []
    failure: list[BaseException] = []

    def lookup() -> None:
        try:
            found.extend(str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except OSError as error:
            failure.append(error)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(max(timeout, 0))
    if thread.is_alive() or failure or not found:
        raise httpcore.ConnectError("name resolution failed")
    return found


class _Clock:
    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def left(self, wanted: float | None = None) -> float:
        """The time left (at most ``wanted``); raises once the deadline has passed."""
        remaining = self.ends - time.monotonic()
        if remaining <= 0:
            raise httpcore.ReadTimeout("deadline passed")
        return remaining if wanted is None else min(wanted, remaining)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every blocking step gets at most the time left on the clock."""

    def __init__(self, inner: httpcore.NetworkStream, clock: _Clock) -> None:
        self.inner, self.clock = inner, clock

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, timeout=self.clock.left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, timeout=self.clock.left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self.inner.start_tls(ssl_context, server_hostname, timeout=self.clock.left(timeout))
        return _DeadlineStream(tls, self.clock)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Resolves once, refuses if any address is forbidden, connects to a checked address."""

    def __init__(self, clock: _Clock, resolve: Resolve, is_forbidden: Callable[[IPAddress], bool]) -> None:
        self.clock, self.resolve, self.is_forbidden = clock, resolve, is_forbidden
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        found = self.resolve(host, port, self.clock.left())
        addresses = [ipaddress.ip_address(a.split("%", 1)[0]) for a in found]
        if any(self.is_forbidden(a) for a in addresses):
            raise LinkRefused(REFUSED)
        last: Exception | None = None
        for address in addresses:
            try:
                stream = self.inner.connect_tcp(str(address), port, timeout=self.clock.left(timeout),
                                                socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                last = error
                continue
            return _DeadlineStream(stream, self.clock)
        raise httpcore.ConnectError("no address answered") from last


class _Transport(httpx.BaseTransport):
    """httpx over an httpcore pool that uses :class:`_PinnedBackend` for every connection."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self.pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(),
                                            network_backend=backend, retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=request.url.raw_scheme, host=request.url.raw_host,
                             port=request.url.port, target=request.url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        response = self.pool.handle_request(core)
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_Body(response), extensions=response.extensions)

    def close(self) -> None:
        self.pool.close()


class _Body(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response) -> None:
        self.response = response

    def __iter__(self) -> Iterator[bytes]:
        stream = self.response.stream
        assert isinstance(stream, Iterable)
        yield from stream

    def close(self) -> None:
        self.response.close()


def fetch_public(link: str, *, deadline: float, max_bytes: int, resolve: Resolve | None = None,
                 is_forbidden: Callable[[IPAddress], bool] | None = None) -> bytes:
    """The body of ``link`` (http or https), fetched within ``deadline`` seconds in total.

    Raises :class:`LinkRefused` for a link or redirect into a forbidden address,
    :class:`TooLarge` past ``max_bytes``, :class:`BadRequest` for anything else (generic words).
    """
    clock = _Clock(deadline)
    backend = _PinnedBackend(clock, resolve or system_resolve, is_forbidden or forbidden)
    client = httpx.Client(transport=_Transport(backend),
                          follow_redirects=False, trust_env=False)
    try:
        with client:
            return _follow(client, link, clock, max_bytes)
    except (LinkRefused, TooLarge):
        raise
    except (httpx.HTTPError, httpcore.ConnectError, httpcore.TimeoutException, httpcore.NetworkError,
            httpcore.ProtocolError, OSError, ssl.SSLError):
        raise BadRequest(UNREACHABLE) from None


def _follow(client: httpx.Client, link: str, clock: _Clock, max_bytes: int) -> bytes:
    url = link
    for _hop in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in ("http", "https"):
            raise BadRequest("the link redirects to something other than an http(s) address")
        headers = {"Accept": "application/ld+json, application/json, image/png, image/svg+xml",
                   "Accept-Encoding": "identity"}
        with client.stream("GET", url, headers=headers) as response:
            if response.is_redirect and "location" in response.headers:
                url = urljoin(url, response.headers["location"])
                continue
            if response.status_code != 200:
                raise BadRequest(f"the link did not return a credential (HTTP {response.status_code})")
            if response.headers.get("content-encoding", "identity").lower() != "identity":
                raise BadRequest("the link returned a compressed body; only plain files are read")
            return _read(response, clock, max_bytes)
    raise BadRequest(f"the link redirects more than {MAX_REDIRECTS} times")


def _read(response: httpx.Response, clock: _Clock, max_bytes: int) -> bytes:
    body = bytearray()
    for chunk in response.iter_raw():
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(f"the link returned more than {max_bytes // (1024 * 1024)} MiB")
        clock.left()
    return bytes(body)
