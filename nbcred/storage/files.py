"""Files and folders through a store: one file is a blob, a folder is a manifest of its files.

A manifest is a small JSON blob ``{"relative/path": "<digest>", …}``; a name points at it. So a
submission, an assessment version or a graded submission's feedback moves between machines as
one name, and each file in it is stored once however often it is uploaded.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path, PurePosixPath

from nbcred.storage.base import Storage, check_digest
from nbcred.storage.errors import BlobMissing, StorageError

COMPLETE = ".complete"


def put_file(storage: Storage, path: Path) -> str:
    """Store the file at ``path`` (streamed); its digest."""
    with path.open("rb") as handle:
        return storage.put(handle)


def fetch_file(storage: Storage, digest: str, target: Path) -> Path:
    """Write blob ``digest`` to ``target`` atomically (readers never see half a file)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=f".{target.name}.", delete=False) as out:
        try:
            for piece in storage.chunks(digest):
                out.write(piece)
        except BaseException:
            out.close()
            os.unlink(out.name)
            raise
    os.replace(out.name, target)
    return target


def read_blob(storage: Storage, digest: str) -> bytes:
    """A (small) blob's bytes."""
    return b"".join(storage.chunks(digest))


def read_name(storage: Storage, name: str) -> bytes | None:
    """The bytes ``name`` points at, or None (small things: manifests, keys, published JSON)."""
    digest = storage.resolve(name)
    return None if digest is None else read_blob(storage, digest)


def write_name(storage: Storage, name: str, data: bytes, *, new: bool = False) -> bool:
    """Store ``data`` and point ``name`` at it (only if ``name`` is new, with ``new``)."""
    digest = storage.put(data)
    if new:
        return storage.link_new(name, digest)
    storage.link(name, digest)
    return True


def put_tree(storage: Storage, name: str, files: dict[str, Path]) -> str:
    """Store ``files`` (relative path → local file) and point ``name`` at their manifest."""
    manifest = {rel: put_file(storage, path) for rel, path in sorted(files.items())}
    digest = storage.put(json.dumps(manifest, sort_keys=True).encode())
    storage.link(name, digest)
    return digest


def folder_files(folder: Path) -> dict[str, Path]:
    """Every file under ``folder`` by its relative POSIX path (hidden files left out)."""
    return {str(PurePosixPath(*p.relative_to(folder).parts)): p for p in sorted(folder.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)}


def manifest(storage: Storage, name: str) -> dict[str, str] | None:
    """The manifest ``name`` points at (relative path → digest), or None."""
    data = read_name(storage, name)
    if data is None:
        return None
    try:
        found = json.loads(data)
    except ValueError as exc:
        raise StorageError(f"{name} does not point at a folder manifest: {exc}") from exc
    if not isinstance(found, dict):
        raise StorageError(f"{name} does not point at a folder manifest")
    return {_safe(rel): check_digest(str(d)) for rel, d in found.items()}


def _safe(rel: str) -> str:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise StorageError(f"manifest entry {rel!r} points outside its folder")
    return rel


def fetch_tree(storage: Storage, name: str, folder: Path) -> Path:
    """The folder ``name`` names, unpacked into ``folder`` once (marked complete when whole)."""
    if (folder / COMPLETE).is_file():
        return folder
    found = manifest(storage, name)
    if found is None:
        raise BlobMissing(f"nothing named {name} in the {storage.kind} store")
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=_parent(folder)))
    try:
        for rel, digest in found.items():
            fetch_file(storage, digest, staging / rel)
        (staging / COMPLETE).write_text("")
        try:
            os.rename(staging, folder)
        except OSError:  # fetched concurrently (or a partial folder is in the way)
            if not (folder / COMPLETE).is_file():
                shutil.rmtree(folder, ignore_errors=True)
                os.rename(staging, folder)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return folder


def merge_tree(storage: Storage, name: str, root: Path) -> list[Path]:
    """Write the files of manifest ``name`` under ``root`` (beside what is there); their paths."""
    found = manifest(storage, name)
    if found is None:
        raise BlobMissing(f"nothing named {name} in the {storage.kind} store")
    written = []
    for rel, digest in found.items():
        target = root / rel
        if not target.is_file():
            fetch_file(storage, digest, target)
        written.append(target)
    return written


def _parent(folder: Path) -> Path:
    folder.parent.mkdir(parents=True, exist_ok=True)
    return folder.parent
