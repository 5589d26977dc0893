"""What every store backend offers: content-addressed blobs and names that point at them.

A blob is any byte string, stored once under the SHA-256 of its content (so storing the same
notebook twice costs nothing). A name (``uploads/<assessment>/<hash>``, ``keys/issuer-1.pem``…)
points at one blob; names are what processes on different machines agree on.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from typing import IO, Protocol

from nbcred.storage.errors import StorageError

#: Blobs travel in pieces of this size (a blob is never held whole in memory by the store).
CHUNK = 1024 * 1024
_NAME = re.compile(r"^[A-Za-z0-9_.@:+=-]+(/[A-Za-z0-9_.@:+=-]+)*$")


class Storage(Protocol):
    """A store of blobs and names; safe to share across threads."""

    kind: str
    #: True when another machine reaching the same settings sees the same content.
    shared: bool

    def put(self, source: IO[bytes] | bytes) -> str:
        """Store ``source`` (read in chunks) once; returns its digest."""
        ...

    def has(self, digest: str) -> bool:
        """Whether the blob ``digest`` is stored."""
        ...

    def chunks(self, digest: str) -> Iterator[bytes]:
        """The blob's content piece by piece; :class:`BlobMissing` if it is not stored."""
        ...

    def link(self, name: str, digest: str) -> None:
        """Point ``name`` at the blob ``digest`` (replacing what it pointed at)."""
        ...

    def link_new(self, name: str, digest: str) -> bool:
        """Point ``name`` at ``digest`` only if nothing has that name yet; whether it did."""
        ...

    def resolve(self, name: str) -> str | None:
        """The digest ``name`` points at, or None."""
        ...

    def names(self, prefix: str) -> list[str]:
        """Every name starting with ``prefix``, sorted."""
        ...

    def check(self) -> str:
        """Reach the backend; a short description, or :class:`StoreUnreachable`."""
        ...


def check_name(name: str) -> str:
    """``name`` if it is a safe relative name (no ``..``, no leading slash)."""
    if len(name) > 500 or not _NAME.match(name) or any(p in {".", ".."} for p in name.split("/")):
        raise StorageError(f"{name!r} is not a valid store name")
    return name


def check_digest(digest: str) -> str:
    """``digest`` if it is a lower-case SHA-256 hex digest."""
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise StorageError(f"{digest!r} is not a SHA-256 digest")
    return digest


def spool(source: IO[bytes] | bytes) -> tuple[IO[bytes], str, int]:
    """``source`` in a temporary file (in memory up to :data:`CHUNK`), its digest and size."""
    spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=CHUNK)  # noqa: SIM115
    digest = hashlib.sha256()
    size = 0
    if isinstance(source, bytes):
        spooled.write(source)
        digest.update(source)
        size = len(source)
    else:
        while piece := source.read(CHUNK):
            spooled.write(piece)
            digest.update(piece)
            size += len(piece)
    spooled.seek(0)
    return spooled, digest.hexdigest(), size
