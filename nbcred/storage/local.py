"""Blobs and names as files under ``<home>/storage`` (the embedded default; one machine)."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from nbcred.storage.base import CHUNK, check_digest, check_name, spool
from nbcred.storage.errors import BlobMissing, StoreUnreachable


class LocalStorage:
    """``<root>/blobs/<ab>/<digest>`` and ``<root>/names/<name>`` (a file holding the digest)."""

    kind = "local"
    shared = False

    def __init__(self, root: Path) -> None:
        self.root = root

    def _blob(self, digest: str) -> Path:
        check_digest(digest)
        return self.root / "blobs" / digest[:2] / digest

    def _name(self, name: str) -> Path:
        return self.root / "names" / check_name(name)

    def put(self, source: IO[bytes] | bytes) -> str:
        spooled, digest, _size = spool(source)
        with spooled:
            target = self._blob(digest)
            if target.is_file():
                return digest
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
                shutil.copyfileobj(spooled, out, CHUNK)
            os.replace(out.name, target)
        return digest

    def has(self, digest: str) -> bool:
        return self._blob(digest).is_file()

    def chunks(self, digest: str) -> Iterator[bytes]:
        try:
            handle = self._blob(digest).open("rb")
        except FileNotFoundError:
            raise BlobMissing(f"no blob {digest} in {self.root}") from None
        with handle:
            while piece := handle.read(CHUNK):
                yield piece

    def link(self, name: str, digest: str) -> None:
        check_digest(digest)
        target = self._name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        temporary.write_text(digest)
        os.replace(temporary, target)

    def link_new(self, name: str, digest: str) -> bool:
        check_digest(digest)
        target = self._name(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w") as out:
            out.write(digest)
        return True

    def resolve(self, name: str) -> str | None:
        with contextlib.suppress(FileNotFoundError):
            found = self._name(name).read_text().strip()
            return found or None
        return None

    def names(self, prefix: str) -> list[str]:
        root = self.root / "names"
        if not root.is_dir():
            return []
        found = (str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()
                 and not p.name.startswith("."))
        return sorted(n for n in found if n.startswith(prefix))

    def check(self) -> str:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.put(b"nbcred storage probe")
        except OSError as exc:
            raise StoreUnreachable(f"cannot write under {self.root}: {exc}") from exc
        return f"folder {self.root} (blob {probe[:12]} written and found)"
