"""W3C Bitstring Status List v1.0: status lists, status entries and the verifier's status check.

A credential carries exactly one ``credentialStatus`` (Open Badges 3.0 allows at most one). To
keep both revocation and suspension in that one entry, nbcred issues **message lists**: entries
of ``statusSize`` 2 with ``statusPurpose`` ``"message"`` whose values are explained by the
entry's ``statusMessage``:

====== ============= ===================================================
value  message       meaning
====== ============= ===================================================
0x0    ``valid``     neither revoked nor suspended
0x1    ``suspended`` suspended (reversible)
0x2    ``revoked``   revoked (permanent)
0x3    ``revoked``   revoked while it was suspended
====== ============= ===================================================

The high bit is the revocation flag and the low bit the suspension flag. Some verifiers (for
instance Digital Bazaar's ``vc-bitstring-status-list`` 2.0) ignore ``statusSize`` and read the
single bit at ``statusListIndex``. A message list keeps that bit meaningful too: it hands out
indexes only from the upper half of its entries, so bit ``i`` of the bitstring is never part
of an entry in use, and it keeps that bit set exactly when entry ``i`` is revoked or suspended.
A spec-conformant reader and a one-bit reader therefore agree on "valid" versus "not valid".

Single-purpose lists (``revocation`` or ``suspension``, one bit per entry) are still read and
written: credentials issued before message lists carry two entries pointing at them.

Reasons for a change are returned as :class:`StatusChange` records for the caller to store; the
list itself only holds bits.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from credentials.bitstring import (
    MAX_DECODED_BYTES,
    MIN_ENTRIES,
    count_set,
    decode_bitstring,
    encode_bitstring,
    get_bit,
    get_value,
    new_bitstring,
    set_bit,
    set_value,
)
from credentials.errors import StatusListError, StatusListFullError
from credentials.statuscheck import (
    CLOCK_SKEW,
    Fetcher,
    check_credential_status,
    check_status,
    status_entries,
    worst_status,
)
from credentials.statusentry import (
    ENTRY_TYPE,
    LIST_CREDENTIAL_TYPE,
    LIST_TYPE,
    MESSAGE_STATUS_SIZE,
    PURPOSES,
    REVOKED_FLAG,
    STATUS_MESSAGES,
    SUSPENDED_FLAG,
    VC_V2_CONTEXT,
    StatusPurpose,
    build_entry,
    require_url,
)

__all__ = [
    "CLOCK_SKEW", "ENTRY_TYPE", "LIST_CREDENTIAL_TYPE", "LIST_TYPE", "MAX_DECODED_BYTES",
    "MESSAGE_LIST_ENTRIES", "MESSAGE_STATUS_SIZE", "MIN_ENTRIES", "PURPOSES", "STATUS_MESSAGES",
    "VC_V2_CONTEXT", "Fetcher", "Signer", "StatusChange", "StatusList", "StatusPurpose",
    "build_entry", "build_status_list_credential", "check_credential_status", "check_status",
    "decode_bitstring", "encode_bitstring", "get_bit", "get_value", "new_bitstring", "revoke",
    "set_bit", "set_value", "status_entries", "suspend", "unsuspend", "worst_status",
]  # fmt: skip

Signer = Callable[[dict[str, Any]], dict[str, Any]]
"""Takes an unsigned credential and returns it with a proof (e.g. a wrapper of ``proof.sign``)."""

MESSAGE_LIST_ENTRIES = 2 * MIN_ENTRIES
"""Entries of a message list: the upper half (131,072 indexes) is handed out."""

Action = Literal["revoke", "suspend", "unsuspend"]


@dataclass(frozen=True)
class StatusChange:
    """A record of one status change, for the caller to keep (with its reason) in its store."""

    list_url: str
    purpose: StatusPurpose
    index: int
    action: Action
    reason: str
    at: datetime


@dataclass
class StatusList:
    """One issuer-side status list: its bits, which indexes were handed out, and its URL.

    ``purpose="message"`` lists hold 2-bit entries (revocation and suspension in one entry);
    ``revocation`` and ``suspension`` lists hold one bit per entry. ``bits`` and ``allocated``
    default to an empty list of the usual size for the purpose.
    """

    url: str
    purpose: StatusPurpose
    bits: bytearray = field(default_factory=bytearray)
    allocated: bytearray = field(default_factory=bytearray)

    def __post_init__(self) -> None:
        require_url(self.url, "status list URL")
        if self.purpose not in PURPOSES:
            raise StatusListError(f"statusPurpose must be one of {PURPOSES}, got {self.purpose!r}")
        if not self.allocated and not self.bits:
            entries = MESSAGE_LIST_ENTRIES if self.purpose == "message" else MIN_ENTRIES
            self.allocated = new_bitstring(entries)
            self.bits = bytearray(entries * self.status_size // 8)
        if len(self.allocated) * 8 < MIN_ENTRIES or len(self.bits) != len(self.allocated) * self.status_size:
            raise StatusListError(
                f"a {self.purpose} list needs {self.status_size} bit(s) per entry and at least "
                f"{MIN_ENTRIES} entries; bits and allocated do not match"
            )

    @property
    def status_size(self) -> int:
        """Bits per entry: 2 for message lists, 1 otherwise."""
        return MESSAGE_STATUS_SIZE if self.purpose == "message" else 1

    @property
    def length(self) -> int:
        """Number of entries in the list."""
        return len(self.allocated) * 8

    @property
    def first_index(self) -> int:
        """The lowest index handed out (message lists use their upper half only)."""
        return self.length // 2 if self.status_size > 1 else 0

    @property
    def capacity(self) -> int:
        """How many indexes this list can hand out in total."""
        return self.length - self.first_index

    @property
    def used(self) -> int:
        """How many indexes have been handed out."""
        return count_set(self.allocated)

    @property
    def encoded_list(self) -> str:
        """The ``encodedList`` to publish."""
        return encode_bitstring(self.bits)

    def allocate(self) -> int:
        """Hand out a random, never-used index (it stays reserved even after revocation).

        Raises :class:`StatusListFullError` when every index is taken.
        """
        low = self.first_index
        for _ in range(64):
            index = low + secrets.randbelow(self.length - low)
            if not get_bit(self.allocated, index):
                set_bit(self.allocated, index, True)
                return index
        free = [i for i in range(low, self.length) if not get_bit(self.allocated, i)]
        if not free:
            raise StatusListFullError(
                f"status list {self.url} is full ({self.capacity} indexes); open a new list"
            )
        index = free[secrets.randbelow(len(free))]
        set_bit(self.allocated, index, True)
        return index

    def reserve(self, index: int) -> None:
        """Mark ``index`` as handed out (used to keep two single-purpose lists in step)."""
        set_bit(self.allocated, index, True)

    def entry(self, index: int, *, entry_id: str | None = None) -> dict[str, Any]:
        """Return the ``credentialStatus`` entry pointing at ``index`` of this list."""
        self._require_allocated(index)
        return build_entry(list_url=self.url, index=index, purpose=self.purpose, entry_id=entry_id)

    def value(self, index: int) -> int:
        """The entry's value (message lists: 0 valid, 1 suspended, 2 or 3 revoked)."""
        return get_value(self.bits, index, self.status_size)

    def set_entry(self, index: int, value: int) -> None:
        """Write an entry's value; message lists also keep the one-bit reader's bit in step."""
        set_value(self.bits, index, self.status_size, value)
        if self.status_size > 1:
            set_bit(self.bits, index, value != 0)

    def is_set(self, index: int) -> bool:
        """True if the entry at ``index`` is revoked or suspended."""
        return self.value(index) != 0

    def is_revoked(self, index: int) -> bool:
        """True if the entry at ``index`` is revoked (message or revocation list)."""
        if self.purpose == "message":
            return bool(self.value(index) & REVOKED_FLAG)
        return self.purpose == "revocation" and self.is_set(index)

    def is_suspended(self, index: int) -> bool:
        """True if the entry at ``index`` is suspended and not revoked."""
        if self.purpose == "message":
            return self.value(index) == SUSPENDED_FLAG
        return self.purpose == "suspension" and self.is_set(index)

    def _require_allocated(self, index: int) -> None:
        if not 0 <= index < self.length or not get_bit(self.allocated, index):
            raise StatusListError(
                f"index {index} was never allocated in {self.url}; call allocate() first"
            )

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
    return _change(status_list, index, "revoke", reason)


def suspend(status_list: StatusList, index: int, *, reason: str) -> StatusChange:
    """Suspend the credential at ``index`` and return the change record."""
    return _change(status_list, index, "suspend", reason)


def unsuspend(status_list: StatusList, index: int, *, reason: str) -> StatusChange:
    """Lift a suspension at ``index`` and return the change record."""
    return _change(status_list, index, "unsuspend", reason)


_SINGLE_PURPOSE: dict[Action, StatusPurpose] = {
    "revoke": "revocation", "suspend": "suspension", "unsuspend": "suspension",
}  # fmt: skip


def _change(status_list: StatusList, index: int, action: Action, reason: str) -> StatusChange:
    if status_list.purpose != "message" and status_list.purpose != _SINGLE_PURPOSE[action]:
        wanted = _SINGLE_PURPOSE[action]
        raise StatusListError(
            f"cannot {action} in a {status_list.purpose} list ({status_list.url}); "
            f"use the {wanted} list or a message list"
        )
    if not reason or not reason.strip():
        raise StatusListError(f"give a reason to {action} a credential")
    status_list._require_allocated(index)
    if status_list.purpose == "message":
        current = status_list.value(index)
        if action == "revoke":
            new = current | REVOKED_FLAG
        elif action == "suspend":
            new = current | SUSPENDED_FLAG
        else:
            new = current & ~SUSPENDED_FLAG
        status_list.set_entry(index, new)
    else:
        status_list.set_entry(index, 0 if action == "unsuspend" else 1)
    return StatusChange(
        list_url=status_list.url,
        purpose=status_list.purpose,
        index=index,
        action=action,
        reason=reason.strip(),
        at=datetime.now(UTC),
    )


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
    require_url(list_url, "status list URL")
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

