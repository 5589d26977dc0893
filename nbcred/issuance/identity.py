"""The issuer's identity: Ed25519 keys in an encrypted key store, as did:key or did:web."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from credentials import ob3
from credentials.did import did_web_document, did_web_document_url, did_web_from_url
from credentials.errors import CredentialError
from credentials.keys import KeyPair, KeyStore
from credentials.proof import sign
from nbcred.errors import IssuanceError
from nbcred.settings import Settings

if TYPE_CHECKING:
    from nbcred.storage import Storage

KEY_PREFIX = "issuer-"


@dataclass(frozen=True)
class IssuerIdentity:
    """Who signs: the issuer DID and profile, the newest key and its verification method."""

    did: str
    profile: ob3.IssuerProfile
    key: KeyPair
    verification_method: str
    did_document: dict[str, Any] | None = None

    def sign(self, document: dict[str, Any], *, created: datetime | None = None) -> dict[str, Any]:
        """Sign ``document`` with the newest key (eddsa-rdfc-2022).

        Canonicalised by the template canonicaliser, byte for byte what the full pyld path gives
        (``tests/nbcred/bulk/test_template_canon.py``) and much faster once an achievement's template
        is built (docs/benchmarks.md): signing is on the path from a graded submission to its result.
        """
        return sign(document, self.key, verification_method=self.verification_method, created=created,
                    canonicalizer="template")


def key_store(settings: Settings) -> KeyStore:
    """The encrypted key store at ``<home>/keys``."""
    return KeyStore(settings.home / "keys")


def _passphrase(settings: Settings) -> str:
    return settings.key_passphrase.get_secret_value()


@contextmanager
def _keys_locked(settings: Settings) -> Iterator[None]:
    """Hold the key store's lock file: one process at a time adds a key."""
    folder = key_store(settings).path
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = (folder / ".lock").open("a")
    except OSError:  # a read-only key store: nobody adds keys to it
        yield
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def rotate_key(settings: Settings) -> str:
    """Add a new signing key (it signs from now on; older keys stay in the DID document)."""
    with _keys_locked(settings):
        _pull_keys(settings)
        key_id = _add_key(settings)
        if not _push_key(settings, key_id):
            raise IssuanceError(f"another process added {key_id} at the same time; rotate again")
        return key_id


KEYS = "keys/"


def _shared(settings: Settings) -> Storage | None:
    from nbcred.storage import open_storage

    storage = open_storage(settings)
    return storage if storage.shared else None


def _pull_keys(settings: Settings) -> None:
    """With a shared store, fetch the keys other processes made (every process signs alike)."""
    storage = _shared(settings)
    if storage is None:
        return
    from nbcred.storage import fetch_file

    folder = key_store(settings).path
    folder.mkdir(parents=True, exist_ok=True)
    names = storage.names(KEYS)
    ready = {n.removesuffix(".json") for n in names if n.endswith(".json")}
    for name in sorted(names, key=lambda n: n.endswith(".json")):  # the metadata (commit) last
        if name.removesuffix(".pem").removesuffix(".json") not in ready:
            continue  # still being published by its maker
        target = folder / name.removeprefix(KEYS)
        digest = storage.resolve(name)
        if digest is not None and not target.is_file():
            fetch_file(storage, digest, target)
            if target.suffix == ".pem":
                target.chmod(0o600)


def _push_key(settings: Settings, key_id: str) -> bool:
    """Publish a key made here to the shared store; False if another process had that id first."""
    storage = _shared(settings)
    if storage is None:
        return True
    from nbcred.storage import put_file

    folder = key_store(settings).path
    pem, meta = folder / f"{key_id}.pem", folder / f"{key_id}.json"
    if not storage.link_new(f"{KEYS}{key_id}.pem", put_file(storage, pem)):
        pem.unlink(missing_ok=True)
        meta.unlink(missing_ok=True)
        return False
    storage.link(f"{KEYS}{key_id}.json", put_file(storage, meta))
    return True


def _first_key(settings: Settings) -> None:
    """Make the issuer's first key unless one exists here or (shared store) anywhere."""
    store = key_store(settings)
    for _ in range(50):
        _pull_keys(settings)
        if store.key_ids():
            return
        if _push_key(settings, _add_key(settings)):
            return
        time.sleep(0.1)  # another process is publishing its first key: fetch it
    raise IssuanceError("the issuer's first key is being made by another process that does not "
                        "finish; check the shared store (NBCRED_STORAGE)")


def _add_key(settings: Settings) -> str:
    store = key_store(settings)
    ids = store.key_ids()
    number = 1 + max((int(i.removeprefix(KEY_PREFIX)) for i in ids if _numbered(i)), default=0)
    key_id = f"{KEY_PREFIX}{number}"
    try:
        store.create(key_id=key_id, passphrase=_passphrase(settings))
    except CredentialError as exc:
        raise IssuanceError(f"cannot create signing key {key_id} in {store.path}: {exc}") from exc
    return key_id


def _numbered(key_id: str) -> bool:
    return key_id.startswith(KEY_PREFIX) and key_id.removeprefix(KEY_PREFIX).isdigit()


def load_identity(settings: Settings) -> IssuerIdentity:
    """Load the issuer's keys (creating the first on first use) and publish the did:web document."""
    store = key_store(settings)
    with _keys_locked(settings):  # processes starting together make one key, and see it whole
        _first_key(settings)
    try:
        ring = store.keyring(passphrase=_passphrase(settings))
    except CredentialError as exc:
        raise IssuanceError(
            f"cannot unlock the issuer keys in {store.path}: {exc}. Set NBCRED_KEY_PASSPHRASE to "
            "the passphrase they were created with."
        ) from exc
    key = ring.newest
    document = None
    if settings.issuer_did_web:
        did = did_web_from_url("https://" + settings.issuer_did_web.removeprefix("https://").strip("/"))
        document = did_web_document(did, ring.public_keys())
        publish_json(settings, did_document_path(settings, did), document)
        method = f"{did}#{key.public_key_multibase}"
    else:
        did, method = key.did_key, key.did_key_verification_method
    profile = ob3.IssuerProfile(id=did, name=settings.issuer_name, url=settings.issuer_url)
    return IssuerIdentity(did, profile, key, method, document)


def did_document_path(settings: Settings, did: str) -> Path:
    """Where the web service serves the did:web document from (under ``<home>/public``)."""
    path = urlsplit(did_web_document_url(did)).path.lstrip("/")
    return settings.home / "public" / path


def write_json(path: Path, document: Any) -> None:
    """Write JSON atomically (readers never see half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)


def _public_name(settings: Settings, path: Path) -> str | None:
    """``public/<relative path>`` for a file under ``<home>/public``; None for any other path."""
    root = (settings.home / "public").resolve()
    resolved = path.resolve()
    return f"public/{resolved.relative_to(root).as_posix()}" if resolved.is_relative_to(root) else None


def publish_json(settings: Settings, path: Path, document: Any) -> None:
    """Write a published JSON file here and, with a shared store, there too (every app process
    serves the newest)."""
    write_json(path, document)
    storage = _shared(settings)
    name = _public_name(settings, path)
    if storage is not None and name is not None:
        from nbcred.storage import put_file

        storage.link(name, put_file(storage, path))


def refresh_published(settings: Settings, path: Path) -> bool:
    """With a shared store, bring the published file at ``path`` up to the store's copy; whether
    the store has one."""
    storage = _shared(settings)
    name = _public_name(settings, path)
    if storage is None or name is None:
        return False
    digest = storage.resolve(name)
    if digest is None:
        return False
    import hashlib

    if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
        return True
    from nbcred.storage import fetch_file

    fetch_file(storage, digest, path)
    return True
