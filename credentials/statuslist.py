"""W3C Bitstring Status List v1.0: status lists, status entries and the verifier's status check.

A status list is a bitstring of at least 131,072 entries (16 KiB). Index 0 is the most
significant bit of the first byte. The published form (``encodedList``) is the GZIP-compressed
bitstring, base64url-encoded without padding and prefixed with the multibase code ``u``.

Revocation is permanent; suspension can be lifted. Each purpose has its own list. Reasons for a
change are returned as :class:`StatusChange` records for the caller to store; the list itself only
holds bits.
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from credentials.errors import StatusListError

MIN_ENTRIES = 131_072
"""The smallest list the specification allows (16 KiB), which gives group privacy."""

MAX_DECODED_BYTES = 16 * 1024 * 1024
"""Refuse to inflate a published list beyond this size (protects against GZIP bombs)."""

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"

StatusPurpose = Literal["revocation", "suspension"]
PURPOSES: tuple[StatusPurpose, ...] = ("revocation", "suspension")

Signer = Callable[[dict[str, Any]], dict[str, Any]]
"""Takes an unsigned credential and returns it with a proof (e.g. a wrapper of ``proof.sign``)."""

CLOCK_SKEW = timedelta(minutes=5)
"""Tolerance for a status list whose validFrom is slightly in the verifier's future."""

Fetcher = Callable[[str], dict[str, Any]]
"""Takes a status list credential URL and returns the (already verified) credential."""


# --- bitstring primitives ------------------------------------------------------------------------


def new_bitstring(length: int = MIN_ENTRIES) -> bytearray:
    """Return an all-zero bitstring of ``length`` entries (a multiple of 8, at least 131,072)."""
    if length < MIN_ENTRIES or length % 8:
        raise StatusListError(
            f"a status list needs at least {MIN_ENTRIES} entries and a multiple of 8; "
            f"got {length}: pass length={MIN_ENTRIES} or a larger multiple of 8"
        )
    return bytearray(length // 8)


def get_bit(bits: bytes | bytearray, index: int) -> bool:
    """Return the entry at ``index`` (index 0 is the most significant bit of byte 0)."""
    _check_index(bits, index)
    return bool(bits[index >> 3] & (0x80 >> (index & 7)))


def set_bit(bits: bytearray, index: int, value: bool) -> None:
    """Set or clear the entry at ``index`` in place (MSB-first bit order)."""
    _check_index(bits, index)
    mask = 0x80 >> (index & 7)
    if value:
        bits[index >> 3] |= mask
    else:
        bits[index >> 3] &= ~mask & 0xFF


def _check_index(bits: bytes | bytearray, index: int) -> None:
    if not 0 <= index < len(bits) * 8:
        raise StatusListError(
            f"status list index {index} is outside the list (0..{len(bits) * 8 - 1}); "
            "use an index returned by StatusList.allocate()"
        )


def encode_bitstring(bits: bytes | bytearray) -> str:
    """Return the ``encodedList`` form: multibase base64url (no padding) of the GZIP'd bits."""
    if len(bits) * 8 < MIN_ENTRIES:
        raise StatusListError(
            f"refusing to encode {len(bits) * 8} entries: the minimum is {MIN_ENTRIES}"
        )
    compressor = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    gz = compressor.compress(bytes(bits)) + compressor.flush()
    return "u" + base64.urlsafe_b64encode(gz).rstrip(b"=").decode("ascii")


_B64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def decode_bitstring(encoded: str) -> bytes:
    """Decode an ``encodedList`` back to the raw bitstring; errors say what is wrong."""
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise StatusListError("encodedList must be a multibase base64url string starting with 'u'")
    body = encoded[1:]
    if not _B64URL.match(body) or len(body) % 4 == 1:
        raise StatusListError("encodedList is not valid base64url (no padding) after the 'u'")
    try:
        gz = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as exc:
        raise StatusListError(f"encodedList is not valid base64url: {exc}") from exc
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        raw = inflater.decompress(gz, MAX_DECODED_BYTES + 1)
    except zlib.error as exc:
        raise StatusListError(f"encodedList is not GZIP data: {exc}") from exc
    if len(raw) > MAX_DECODED_BYTES:
        raise StatusListError(f"encodedList inflates beyond {MAX_DECODED_BYTES} bytes; refusing")
    if not inflater.eof:
        raise StatusListError("encodedList GZIP stream is truncated")
    return raw


# --- the issuer's list ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusChange:
    """A record of one status change, for the caller to keep (with its reason) in its store."""

    list_url: str
    purpose: StatusPurpose
    index: int
    action: Literal["revoke", "suspend", "unsuspend"]
    reason: str
    at: datetime


@dataclass
class StatusList:
    """One issuer-side status list: its bits, which indexes were handed out, and its URL."""

    url: str
    purpose: StatusPurpose
    bits: bytearray = field(default_factory=new_bitstring)
    allocated: bytearray = field(default_factory=new_bitstring)

    def __post_init__(self) -> None:
        _require_url(self.url, "status list URL")
        if self.purpose not in PURPOSES:
            raise StatusListError(f"statusPurpose must be one of {PURPOSES}, got {self.purpose!r}")
        if len(self.bits) * 8 < MIN_ENTRIES or len(self.bits) != len(self.allocated):
            raise StatusListError(
                f"bits and allocated must both hold the same number (>= {MIN_ENTRIES}) of entries"
            )

    @property
    def length(self) -> int:
        """Number of entries in the list."""
        return len(self.bits) * 8

    @property
    def encoded_list(self) -> str:
        """The ``encodedList`` to publish."""
        return encode_bitstring(self.bits)

    def allocate(self) -> int:
        """Hand out a random, never-used index (it stays reserved even after revocation)."""
        for _ in range(64):
            index = secrets.randbelow(self.length)
            if not get_bit(self.allocated, index):
                set_bit(self.allocated, index, True)
                return index
        free = [i for i in range(self.length) if not get_bit(self.allocated, i)]
        if not free:
            raise StatusListError(
                f"status list {self.url} is full ({self.length} entries); open a new list"
            )
        index = free[secrets.randbelow(len(free))]
        set_bit(self.allocated, index, True)
        return index

    def entry(self, index: int, *, entry_id: str | None = None) -> dict[str, Any]:
        """Return the ``credentialStatus`` entry pointing at ``index`` of this list."""
        if not get_bit(self.allocated, index):
            raise StatusListError(
                f"index {index} was never allocated in {self.url}; call allocate() first"
            )
        return build_entry(list_url=self.url, index=index, purpose=self.purpose, entry_id=entry_id)

    def is_set(self, index: int) -> bool:
        """True if the entry at ``index`` is revoked/suspended (per this list's purpose)."""
        return get_bit(self.bits, index)

    def to_dict(self) -> dict[str, Any]:
        """Serialise the list state (bits and allocations) for the caller's store."""
        return {
            "url": self.url,
            "purpose": self.purpose,
            "encodedList": encode_bitstring(self.bits),
            "allocated": encode_bitstring(self.allocated),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StatusList:
        """Restore a list saved with :meth:`to_dict`."""
        try:
            return cls(
                url=data["url"],
                purpose=data["purpose"],
                bits=bytearray(decode_bitstring(data["encodedList"])),
                allocated=bytearray(decode_bitstring(data["allocated"])),
            )
        except KeyError as exc:
            raise StatusListError(f"saved status list lacks {exc}; save it with to_dict()") from exc

    def credential(
        self,
        *,
        issuer: str | Mapping[str, Any],
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
        ttl_ms: int | None = None,
    ) -> dict[str, Any]:
        """Return the unsigned BitstringStatusListCredential publishing this list."""
        return build_status_list_credential(
            list_url=self.url,
            purpose=self.purpose,
            encoded_list=self.encoded_list,
            issuer=issuer,
            valid_from=valid_from,
            valid_until=valid_until,
            ttl_ms=ttl_ms,
        )

    def signed_credential(
        self,
        *,
        issuer: str | Mapping[str, Any],
        sign: Signer,
        valid_from: datetime | None = None,
        valid_until: datetime | None = None,
    ) -> dict[str, Any]:
        """Return the status list credential signed by ``sign`` (e.g. a ``proof.sign`` wrapper)."""
        unsigned = self.credential(issuer=issuer, valid_from=valid_from, valid_until=valid_until)
        signed = sign(unsigned)
        if not isinstance(signed, dict) or "proof" not in signed:
            raise StatusListError("the signer must return the credential with a 'proof'")
        return signed


def revoke(status_list: StatusList, index: int, *, reason: str) -> StatusChange:
    """Revoke the credential at ``index`` (permanent) and return the change record."""
    return _change(status_list, index, "revoke", "revocation", True, reason)


def suspend(status_list: StatusList, index: int, *, reason: str) -> StatusChange:
    """Suspend the credential at ``index`` and return the change record."""
    return _change(status_list, index, "suspend", "suspension", True, reason)


def unsuspend(status_list: StatusList, index: int, *, reason: str) -> StatusChange:
    """Lift a suspension at ``index`` and return the change record."""
    return _change(status_list, index, "unsuspend", "suspension", False, reason)


def _change(
    status_list: StatusList,
    index: int,
    action: Literal["revoke", "suspend", "unsuspend"],
    purpose: StatusPurpose,
    value: bool,
    reason: str,
) -> StatusChange:
    if status_list.purpose != purpose:
        raise StatusListError(
            f"cannot {action} in a {status_list.purpose} list ({status_list.url}); "
            f"use the {purpose} list"
        )
    if not reason or not reason.strip():
        raise StatusListError(f"give a reason to {action} a credential")
    if not get_bit(status_list.allocated, index):
        raise StatusListError(f"index {index} was never allocated in {status_list.url}")
    set_bit(status_list.bits, index, value)
    return StatusChange(
        list_url=status_list.url,
        purpose=purpose,
        index=index,
        action=action,
        reason=reason.strip(),
        at=datetime.now(UTC),
    )


# --- documents -----------------------------------------------------------------------------------


def build_entry(
    *, list_url: str, index: int, purpose: StatusPurpose, entry_id: str | None = None
) -> dict[str, Any]:
    """Return a BitstringStatusListEntry (``statusListIndex`` as a decimal string)."""
    _require_url(list_url, "statusListCredential")
    if purpose not in PURPOSES:
        raise StatusListError(f"statusPurpose must be one of {PURPOSES}, got {purpose!r}")
    if index < 0:
        raise StatusListError(f"statusListIndex must be >= 0, got {index}")
    return {
        "id": entry_id or f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def build_status_list_credential(
    *,
    list_url: str,
    purpose: StatusPurpose,
    encoded_list: str,
    issuer: str | Mapping[str, Any],
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    ttl_ms: int | None = None,
) -> dict[str, Any]:
    """Return an unsigned BitstringStatusListCredential for ``encoded_list``."""
    _require_url(list_url, "status list URL")
    decode_bitstring(encoded_list)  # refuse to publish something verifiers cannot read
    subject: dict[str, Any] = {
        "id": f"{list_url}#list",
        "type": LIST_TYPE,
        "statusPurpose": purpose,
        "encodedList": encoded_list,
    }
    if ttl_ms is not None:
        subject["ttl"] = ttl_ms
    credential: dict[str, Any] = {
        "@context": [VC_V2_CONTEXT],
        "id": list_url,
        "type": ["VerifiableCredential", LIST_CREDENTIAL_TYPE],
        "issuer": dict(issuer) if isinstance(issuer, Mapping) else issuer,
        "validFrom": _xsd(valid_from or datetime.now(UTC)),
        "credentialSubject": subject,
    }
    if valid_until is not None:
        credential["validUntil"] = _xsd(valid_until)
    return credential


def _xsd(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise StatusListError("datetimes must be timezone-aware (e.g. datetime.now(UTC))")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _require_url(value: str, what: str) -> None:
    if not isinstance(value, str) or not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", value):
        raise StatusListError(f"{what} must be an absolute URL, got {value!r}")


# --- verification --------------------------------------------------------------------------------


def check_status(entry: Mapping[str, Any], *, fetch: Fetcher, now: datetime | None = None) -> str:
    """Return "ok", "revoked", "suspended" or "unknown: <why>" for one status entry."""
    try:
        purpose, index, url = _parse_entry(entry)
    except StatusListError as exc:
        return f"unknown: {exc}"
    try:
        list_credential = fetch(url)
    except Exception as exc:
        return f"unknown: could not fetch status list {url}: {exc}"
    try:
        bits = _list_bits(list_credential, url=url, purpose=purpose, now=now)
    except StatusListError as exc:
        return f"unknown: {exc}"
    if index >= len(bits) * 8:
        return f"unknown: statusListIndex {index} is out of range (list has {len(bits) * 8})"
    if not get_bit(bits, index):
        return "ok"
    return "revoked" if purpose == "revocation" else "suspended"


def check_credential_status(
    credential: Mapping[str, Any], *, fetch: Fetcher, now: datetime | None = None
) -> str:
    """Check every entry of ``credentialStatus``; the worst result wins (no status → "ok")."""
    status = credential.get("credentialStatus")
    if status is None:
        return "ok"
    entries: Iterable[Any] = status if isinstance(status, list) else [status]
    cache: dict[str, dict[str, Any]] = {}

    def cached_fetch(url: str) -> dict[str, Any]:
        if url not in cache:
            cache[url] = fetch(url)
        return cache[url]

    results = [
        check_status(e, fetch=cached_fetch, now=now)
        if isinstance(e, Mapping)
        else "unknown: credentialStatus entry is not an object"
        for e in entries
    ]
    return worst_status(results)


def worst_status(results: Sequence[str]) -> str:
    """Combine results: revoked > suspended > unknown > ok."""
    for wanted in ("revoked", "suspended"):
        if wanted in results:
            return wanted
    for result in results:
        if result.startswith("unknown"):
            return result
    return "ok"


def _parse_entry(entry: Mapping[str, Any]) -> tuple[StatusPurpose, int, str]:
    types = entry.get("type")
    if types != ENTRY_TYPE and not (isinstance(types, list) and ENTRY_TYPE in types):
        raise StatusListError(f"status entry type is {types!r}, not {ENTRY_TYPE}")
    purpose = entry.get("statusPurpose")
    if purpose not in PURPOSES:
        raise StatusListError(f"unsupported statusPurpose {purpose!r}")
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str) or not raw_index.isdigit():
        raise StatusListError(f"statusListIndex must be a decimal string, got {raw_index!r}")
    url = entry.get("statusListCredential")
    if not isinstance(url, str) or not url:
        raise StatusListError("status entry has no statusListCredential URL")
    return purpose, int(raw_index), url


def _list_bits(
    list_credential: Any, *, url: str, purpose: StatusPurpose, now: datetime | None
) -> bytes:
    if not isinstance(list_credential, Mapping):
        raise StatusListError(f"status list {url} was not found (fetch returned no document)")
    types = list_credential.get("type") or []
    if LIST_CREDENTIAL_TYPE not in types:
        raise StatusListError(f"{url} is not a {LIST_CREDENTIAL_TYPE}")
    subject = list_credential.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != LIST_TYPE:
        raise StatusListError(f"{url} has no {LIST_TYPE} credentialSubject")
    listed = subject.get("statusPurpose")
    listed_purposes = listed if isinstance(listed, list) else [listed]
    if purpose not in listed_purposes:
        raise StatusListError(
            f"status purpose mismatch: entry says {purpose!r}, list {url} says {listed!r}"
        )
    _check_validity(list_credential, url=url, now=now or datetime.now(UTC))
    bits = decode_bitstring(subject.get("encodedList", ""))
    if len(bits) * 8 < MIN_ENTRIES:
        raise StatusListError(
            f"status list {url} holds {len(bits) * 8} entries, fewer than {MIN_ENTRIES}"
        )
    return bits


def _check_validity(list_credential: Mapping[str, Any], *, url: str, now: datetime) -> None:
    for key, expired in (("validFrom", False), ("validUntil", True)):
        value = list_credential.get(key)
        if value is None:
            continue
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise StatusListError(f"status list {url} has an invalid {key} {value!r}") from exc
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        if expired and moment < now:
            raise StatusListError(f"status list {url} expired at {value}")
        if not expired and moment > now + CLOCK_SKEW:
            raise StatusListError(f"status list {url} is not valid before {value}")
