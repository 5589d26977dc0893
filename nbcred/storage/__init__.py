"""The shared store: where uploads, assessment versions, executed notebooks and published files
live so that any app process or grading worker, on any machine, reaches them by name.

``NBCRED_STORAGE`` picks the backend: ``local`` (files under ``NBCRED_HOME/storage``, the
default), ``database`` (the gradebook's database, PostgreSQL in production) or
``s3://bucket[/prefix]`` (an S3-compatible object store). Built on request, never at import.
"""

from __future__ import annotations

import threading

from nbcred.settings import Settings
from nbcred.storage.base import CHUNK, Storage
from nbcred.storage.errors import BlobMissing, StorageError, StoreUnreachable
from nbcred.storage.files import (
    fetch_file,
    fetch_tree,
    folder_files,
    manifest,
    merge_tree,
    put_file,
    put_tree,
    read_name,
    write_name,
)

__all__ = [
    "CHUNK", "BlobMissing", "Storage", "StorageError", "StoreUnreachable", "fetch_file", "fetch_tree",
    "folder_files", "manifest", "merge_tree", "open_storage", "put_file", "put_tree", "read_name",
    "write_name",
]

_opened: dict[tuple[str, str, str], Storage] = {}
_lock = threading.Lock()


def open_storage(settings: Settings) -> Storage:
    """The store ``settings.storage`` names (one per process and configuration)."""
    key = (settings.storage, str(settings.home.expanduser().resolve()),
           settings.resolved_database_url() if settings.storage == "database" else "")
    with _lock:
        if key not in _opened:
            _opened[key] = _build(settings)
        return _opened[key]


def _build(settings: Settings) -> Storage:
    if settings.storage == "local":
        from nbcred.storage.local import LocalStorage

        return LocalStorage(settings.home.expanduser().resolve() / "storage")
    if settings.storage == "database":
        from nbcred.storage.database import DatabaseStorage
        from nbcred.store import Store

        return DatabaseStorage(Store.open(settings.resolved_database_url()).engine)
    from nbcred.storage.s3 import S3Storage

    return S3Storage(settings.storage, endpoint_url=settings.s3_endpoint_url, region=settings.s3_region)
