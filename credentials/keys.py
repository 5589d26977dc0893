"""Ed25519 keys: Multikey encoding, key files, and an encrypted key store with rotation.

Multikey encodings (W3C Controlled Identifiers / vc-di-eddsa):

* public key: ``publicKeyMultibase`` = ``"z"`` + base58btc(0xed 0x01 + 32-byte key), ``z6Mk…``;
* secret key: ``secretKeyMultibase`` (or the older ``privateKeyMultibase``) = ``"z"`` +
  base58btc(0x80 0x26 + key), where key is the 32-byte seed (``z3u2…``) or the 64-byte
  seed‖public form (``zrv…``).

Key stores keep each key as an encrypted PKCS#8 PEM file (passphrase-protected) plus a small
JSON metadata file; a :class:`Keyring` signs with the newest key and still knows the old ones.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from credentials.errors import KeyFormatError, KeyStoreError

ED25519_PUB_PREFIX = b"\xed\x01"
"""Multicodec ``ed25519-pub`` (0xed) as an unsigned varint."""
ED25519_PRIV_PREFIX = b"\x80\x26"
"""Multicodec ``ed25519-priv`` (0x1300) as an unsigned varint."""


def multibase_encode(data: bytes) -> str:
    """Encode bytes as base58btc multibase (``z`` prefix)."""
    return "z" + base58.b58encode(data).decode("ascii")


def multibase_decode(value: str) -> bytes:
    """Decode a base58btc multibase string (``z`` prefix)."""
    if not isinstance(value, str) or not value.startswith("z"):
        raise KeyFormatError(f"expected a base58btc multibase value starting with 'z', got {value!r}")
    try:
        return base58.b58decode(value[1:])
    except ValueError as error:
        raise KeyFormatError(f"{value!r} is not valid base58btc: {error}") from error


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key."""

    raw: bytes

    def __post_init__(self) -> None:
        if len(self.raw) != 32:
            raise KeyFormatError(f"an Ed25519 public key is 32 bytes, got {len(self.raw)}")

    @classmethod
    def from_multibase(cls, value: str) -> PublicKey:
        """Parse a ``publicKeyMultibase`` value (``z6Mk…``)."""
        data = multibase_decode(value)
        if not data.startswith(ED25519_PUB_PREFIX) or len(data) != 34:
            raise KeyFormatError(
                f"{value!r} is not an Ed25519 Multikey: expected multicodec 0xed01 followed by "
                "32 bytes (a value starting with 'z6Mk')"
            )
        return cls(raw=data[2:])

    @property
    def multibase(self) -> str:
        """The ``publicKeyMultibase`` form (``z6Mk…``)."""
        return multibase_encode(ED25519_PUB_PREFIX + self.raw)

    @property
    def did_key(self) -> str:
        """The ``did:key`` DID of this key."""
        return f"did:key:{self.multibase}"

    def verify(self, signature: bytes, data: bytes) -> bool:
        """Return whether ``signature`` is a valid Ed25519 signature of ``data``."""
        try:
            Ed25519PublicKey.from_public_bytes(self.raw).verify(signature, data)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class KeyPair:
    """An Ed25519 key pair, optionally bound to a verification method id and creation time."""

    seed: bytes = field(repr=False)
    verification_method: str | None = None
    created: datetime | None = None

    def __post_init__(self) -> None:
        if len(self.seed) != 32:
            raise KeyFormatError(f"an Ed25519 secret key seed is 32 bytes, got {len(self.seed)}")

    @classmethod
    def generate(cls, *, verification_method: str | None = None) -> KeyPair:
        """Generate a new random key pair."""
        secret = Ed25519PrivateKey.generate()
        seed = secret.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        return cls(seed=seed, verification_method=verification_method, created=datetime.now(UTC))

    @property
    def _private(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def public(self) -> PublicKey:
        """The public half."""
        return PublicKey(raw=_raw_public(self._private.public_key()))

    @property
    def public_key_multibase(self) -> str:
        """``publicKeyMultibase`` (``z6Mk…``)."""
        return self.public.multibase

    @property
    def did_key(self) -> str:
        """The key's ``did:key`` DID."""
        return self.public.did_key

    @property
    def did_key_verification_method(self) -> str:
        """The did:key verification method URL (``did:key:z6Mk…#z6Mk…``)."""
        return f"{self.did_key}#{self.public_key_multibase}"

    @property
    def default_verification_method(self) -> str:
        """The bound verification method, else the did:key one."""
        return self.verification_method or self.did_key_verification_method

    def sign(self, data: bytes) -> bytes:
        """Sign bytes with Ed25519."""
        return self._private.sign(data)

    def secret_key_multibase(self, *, expanded: bool = False) -> str:
        """The ``secretKeyMultibase``: seed form (``z3u2…``) or seed‖public form (``zrv…``)."""
        body = self.seed + self.public.raw if expanded else self.seed
        return multibase_encode(ED25519_PRIV_PREFIX + body)

    def to_multikey(self, *, include_secret: bool = True) -> dict[str, Any]:
        """Serialise as a Multikey JSON object (the key-file format)."""
        document: dict[str, Any] = {"type": "Multikey"}
        if self.verification_method:
            document["id"] = self.verification_method
            document["controller"] = self.verification_method.split("#", 1)[0]
        document["publicKeyMultibase"] = self.public_key_multibase
        if include_secret:
            document["secretKeyMultibase"] = self.secret_key_multibase()
        return document


def parse_secret_multibase(value: str) -> bytes:
    """Return the 32-byte seed from a ``secretKeyMultibase``/``privateKeyMultibase`` value."""
    data = multibase_decode(value)
    if not data.startswith(ED25519_PRIV_PREFIX) or len(data) not in (34, 66):
        raise KeyFormatError(
            "the secret key is not an Ed25519 Multikey secret: expected multicodec 0x1300 "
            "(bytes 0x80 0x26) followed by a 32-byte seed ('z3u2…') or a 64-byte seed+public "
            "key ('zrv…')"
        )
    seed = data[2:34]
    if len(data) == 66:
        derived = _raw_public(Ed25519PrivateKey.from_private_bytes(seed).public_key())
        if derived != data[34:]:
            raise KeyFormatError(
                "the 64-byte secret key's public half does not match its seed; the key file is corrupt"
            )
    return seed


def key_pair_from_multikey(document: dict[str, Any]) -> KeyPair:
    """Build a :class:`KeyPair` from a Multikey JSON object with a secret key."""
    if not isinstance(document, dict):
        raise KeyFormatError("a Multikey key file must contain a JSON object")
    secret = document.get("secretKeyMultibase") or document.get("privateKeyMultibase")
    if not isinstance(secret, str):
        raise KeyFormatError(
            "the key file has no secret key: add 'secretKeyMultibase' (or "
            "'privateKeyMultibase') holding the Ed25519 secret key in multibase"
        )
    pair = KeyPair(seed=parse_secret_multibase(secret))
    public = document.get("publicKeyMultibase")
    if public is not None and PublicKey.from_multibase(public) != pair.public:
        raise KeyFormatError(
            "publicKeyMultibase does not belong to the secret key in this key file; remove it or fix the file"
        )
    vm = document.get("id")
    if isinstance(vm, str) and "#" not in vm and isinstance(document.get("controller"), str):
        vm = None
    return KeyPair(seed=pair.seed, verification_method=vm if isinstance(vm, str) else None)


def load_key_file(path: str | Path) -> KeyPair:
    """Load a Multikey JSON key file (``secretKeyMultibase`` or ``privateKeyMultibase``)."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as error:
        raise KeyFormatError(f"cannot read key file {str(path)!r}: {error.strerror}") from error
    except json.JSONDecodeError as error:
        raise KeyFormatError(f"key file {str(path)!r} is not JSON: {error}") from error
    return key_pair_from_multikey(document)


_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Keyring:
    """Several key pairs, oldest first; new credentials are signed with the newest."""

    keys: tuple[KeyPair, ...]

    @property
    def newest(self) -> KeyPair:
        """The key to sign new credentials with."""
        if not self.keys:
            raise KeyStoreError("the keyring is empty; create a key first")
        return self.keys[-1]

    def public_keys(self) -> list[PublicKey]:
        """Every public key, oldest first (old credentials still verify against them)."""
        return [pair.public for pair in self.keys]


class KeyStore:
    """A folder of passphrase-encrypted Ed25519 keys (PKCS#8, best available encryption)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _pem(self, key_id: str) -> Path:
        return self.path / f"{key_id}.pem"

    def _meta(self, key_id: str) -> Path:
        return self.path / f"{key_id}.json"

    def key_ids(self) -> list[str]:
        """Ids of the stored keys, oldest first."""
        metas = [json.loads(p.read_text(encoding="utf-8")) for p in self.path.glob("*.json")]
        metas.sort(key=lambda meta: (meta["created"], meta["id"]))
        return [meta["id"] for meta in metas]

    def add(self, pair: KeyPair, *, key_id: str, passphrase: str) -> None:
        """Store a key pair encrypted with ``passphrase``."""
        if not _KEY_ID.match(key_id):
            raise KeyStoreError(f"key id {key_id!r} may only use letters, digits, '.', '_', '-'")
        if not passphrase:
            raise KeyStoreError("a non-empty passphrase is required to store a key")
        if self._pem(key_id).exists():
            raise KeyStoreError(f"key {key_id!r} already exists in {self.path}; pick another id")
        self.path.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.from_private_bytes(pair.seed).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase.encode("utf-8")),
        )
        self._pem(key_id).write_bytes(pem)
        self._pem(key_id).chmod(0o600)
        created = (pair.created or datetime.now(UTC)).isoformat()
        meta = {
            "id": key_id,
            "created": created,
            "publicKeyMultibase": pair.public_key_multibase,
            "verificationMethod": pair.verification_method,
        }
        self._meta(key_id).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    def create(self, *, key_id: str, passphrase: str, verification_method: str | None = None) -> KeyPair:
        """Generate, store and return a new key pair (key rotation: it becomes the newest)."""
        pair = KeyPair.generate(verification_method=verification_method)
        self.add(pair, key_id=key_id, passphrase=passphrase)
        return pair

    def load(self, key_id: str, *, passphrase: str) -> KeyPair:
        """Decrypt and return one key pair."""
        try:
            pem = self._pem(key_id).read_bytes()
            meta = json.loads(self._meta(key_id).read_text(encoding="utf-8"))
        except OSError as error:
            raise KeyStoreError(f"no key {key_id!r} in {self.path}: {error.strerror}") from error
        try:
            secret = serialization.load_pem_private_key(pem, password=passphrase.encode("utf-8"))
        except (ValueError, TypeError) as error:
            raise KeyStoreError(
                f"cannot decrypt key {key_id!r}: wrong passphrase or corrupt key file"
            ) from error
        if not isinstance(secret, Ed25519PrivateKey):
            raise KeyStoreError(f"key {key_id!r} is not an Ed25519 key")
        seed = secret.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return KeyPair(
            seed=seed,
            verification_method=meta.get("verificationMethod"),
            created=datetime.fromisoformat(meta["created"]),
        )

    def retire(self, key_id: str) -> Path:
        """Move a key out of the ring into ``retired/`` (kept, never used or published again)."""
        if key_id not in self.key_ids():
            raise KeyStoreError(f"no key {key_id!r} in {self.path}")
        folder = self.path / "retired"
        folder.mkdir(exist_ok=True)
        for source in (self._pem(key_id), self._meta(key_id)):
            source.replace(folder / source.name)
        return folder

    def keyring(self, *, passphrase: str) -> Keyring:
        """Decrypt every key into a :class:`Keyring` (oldest first)."""
        return Keyring(keys=tuple(self.load(k, passphrase=passphrase) for k in self.key_ids()))

    def public_keys(self) -> list[PublicKey]:
        """The stored public keys, oldest first, without needing the passphrase."""
        keys = []
        for key_id in self.key_ids():
            meta = json.loads(self._meta(key_id).read_text(encoding="utf-8"))
            keys.append(PublicKey.from_multibase(meta["publicKeyMultibase"]))
        return keys
