"""A network of a worker's own: a network namespace joined to this machine by one veth pair (a /30
link the test creates), where the only addresses that answer are the broker's and the database's,
forwarded by this test process to the real services on loopback.

Inside the namespace ``127.0.0.1`` is the namespace's own loopback: the app's port, the real
PostgreSQL and Redis ports, and every other address of this machine are out of reach.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import threading
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit


class NetworkUnavailable(RuntimeError):
    """This machine cannot make a network namespace (not root, no iproute2…)."""


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise NetworkUnavailable(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Forward:
    """Accept on ``listen`` (the host end of the link), connect each client to ``target``."""

    listen: tuple[str, int]
    target: tuple[str, int]
    _server: socket.socket = field(init=False)
    _open: list[socket.socket] = field(default_factory=list)

    def start(self) -> tuple[str, int]:
        self._server = socket.create_server(self.listen)
        threading.Thread(target=self._accept, daemon=True, name="nbcred-test-forward").start()
        address: tuple[str, int] = self._server.getsockname()[:2]
        return address

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._server.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()


@dataclass
class Bridge:
    """One named network namespace and its link to this machine."""

    name: str
    host: str  # this machine's end of the link
    inside: str  # the namespace's end
    forwards: list[Forward] = field(default_factory=list)

    @classmethod
    def create(cls) -> Bridge:
        for _ in range(20):
            tag = f"{random.randrange(1 << 24):06x}"
            third, fourth = random.randrange(256), random.randrange(0, 256, 4)
            host, inside = f"10.213.{third}.{fourth + 1}", f"10.213.{third}.{fourth + 2}"
            if _in_use(host):
                continue
            bridge = cls(f"nbc-{tag}", host, inside)
            try:
                bridge._build(tag)
            except NetworkUnavailable:
                bridge.close()
                raise
            return bridge
        raise NetworkUnavailable("no free 10.213.x.y/30 link")

    def _build(self, tag: str) -> None:
        outer, inner = f"nbc{tag}h", f"nbc{tag}w"
        _ip("netns", "add", self.name)
        _ip("link", "add", outer, "type", "veth", "peer", "name", inner)
        _ip("link", "set", inner, "netns", self.name)
        _ip("addr", "add", f"{self.host}/30", "dev", outer)
        _ip("link", "set", outer, "up")
        _ip("-n", self.name, "addr", "add", f"{self.inside}/30", "dev", inner)
        _ip("-n", self.name, "link", "set", inner, "up")
        _ip("-n", self.name, "link", "set", "lo", "up")

    def expose(self, url: str) -> str:
        """``url`` (a service on this machine's loopback) as the worker reaches it: the host end of
        the link, on a port this test forwards to the service."""
        parts = urlsplit(url)
        target = (parts.hostname or "127.0.0.1", parts.port or _default_port(parts.scheme))
        forward = Forward((self.host, 0), target)
        _, port = forward.start()
        self.forwards.append(forward)
        credentials = parts.netloc.rpartition("@")[0]
        netloc = f"{credentials}@{self.host}:{port}" if credentials else f"{self.host}:{port}"
        return urlunsplit(parts._replace(netloc=netloc))

    def command(self) -> list[str]:
        """The prefix that runs a command inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def close(self) -> None:
        for forward in self.forwards:
            forward.close()
        with contextlib.suppress(NetworkUnavailable):
            _ip("netns", "del", self.name)  # takes the link with it


def _default_port(scheme: str) -> int:
    return 6379 if scheme.startswith("redis") else 5432


def _in_use(address: str) -> bool:
    done = subprocess.run(["ip", "-o", "addr", "show", "to", address], capture_output=True, text=True,
                          timeout=30)
    return bool(done.stdout.strip())
