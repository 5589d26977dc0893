"""The ``credentialStatus`` entry of a Bitstring Status List: vocabulary, building, parsing."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from credentials.errors import StatusListError

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
ENTRY_TYPE = "BitstringStatusListEntry"
LIST_CREDENTIAL_TYPE = "BitstringStatusListCredential"
LIST_TYPE = "BitstringStatusList"

StatusPurpose = Literal["revocation", "suspension", "message"]
PURPOSES: tuple[StatusPurpose, ...] = ("revocation", "suspension", "message")

MESSAGE_STATUS_SIZE = 2
SUSPENDED_FLAG = 0x1
REVOKED_FLAG = 0x2
STATUS_MESSAGES: tuple[dict[str, str], ...] = (
    {"status": "0x0", "message": "valid"},
    {"status": "0x1", "message": "suspended"},
    {"status": "0x2", "message": "revoked"},
    {"status": "0x3", "message": "revoked"},
)
"""The ``statusMessage`` of nbcred's message entries: the high bit revokes, the low suspends."""

MAX_STATUS_SIZE = 8


@dataclass(frozen=True)
class ParsedEntry:
    """A checked BitstringStatusListEntry."""

    purpose: str
    index: int
    url: str
    size: int
    messages: dict[int, str]


def build_entry(
    *, list_url: str, index: int, purpose: StatusPurpose, entry_id: str | None = None
) -> dict[str, Any]:
    """Return a BitstringStatusListEntry (``statusListIndex`` as a decimal string).

    ``message`` entries carry ``statusSize`` 2 and nbcred's :data:`STATUS_MESSAGES`.
    """
    require_url(list_url, "statusListCredential")
    if purpose not in PURPOSES:
        raise StatusListError(f"statusPurpose must be one of {PURPOSES}, got {purpose!r}")
    if index < 0:
        raise StatusListError(f"statusListIndex must be >= 0, got {index}")
    entry: dict[str, Any] = {
        "id": entry_id or f"{list_url}#{index}",
        "type": ENTRY_TYPE,
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }
    if purpose == "message":
        entry["statusSize"] = MESSAGE_STATUS_SIZE
        entry["statusMessage"] = [dict(m) for m in STATUS_MESSAGES]
    return entry


def parse_entry(entry: Mapping[str, Any]) -> ParsedEntry:
    """Check an entry's fields; the error says which one is wrong."""
    types = entry.get("type")
    if types != ENTRY_TYPE and not (isinstance(types, list) and ENTRY_TYPE in types):
        raise StatusListError(f"status entry type is {types!r}, not {ENTRY_TYPE}")
    purpose = entry.get("statusPurpose")
    if not isinstance(purpose, str) or not purpose:
        raise StatusListError("status entry has no statusPurpose")
    raw_index = entry.get("statusListIndex")
    if not isinstance(raw_index, str) or not raw_index.isdigit():
        raise StatusListError(f"statusListIndex must be a decimal string, got {raw_index!r}")
    url = entry.get("statusListCredential")
    if not isinstance(url, str) or not url:
        raise StatusListError("status entry has no statusListCredential URL")
    size = entry.get("statusSize", 1)
    if isinstance(size, str) and size.isdigit():
        size = int(size)
    if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= MAX_STATUS_SIZE:
        raise StatusListError(f"statusSize must be an integer from 1 to {MAX_STATUS_SIZE}, got {size!r}")
    return ParsedEntry(purpose, int(raw_index), url, size, _messages(entry.get("statusMessage"), size))


def _messages(raw: Any, size: int) -> dict[int, str]:
    if raw is None:
        if size > 1:
            raise StatusListError("an entry with statusSize above 1 must have a statusMessage")
        return {}
    if not isinstance(raw, list):
        raise StatusListError("statusMessage must be a list of {status, message} objects")
    messages: dict[int, str] = {}
    for item in raw:
        status = item.get("status") if isinstance(item, Mapping) else None
        message = item.get("message") if isinstance(item, Mapping) else None
        if not (isinstance(status, str) and re.fullmatch(r"0x[0-9a-fA-F]+", status)
                and isinstance(message, str)):
            raise StatusListError(f"statusMessage item {item!r} needs a hex status ('0x1') and a message")
        messages[int(status, 16)] = message
    return messages


def require_url(value: str, what: str) -> None:
    """Refuse anything but an absolute URL."""
    if not isinstance(value, str) or not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:\S+$", value):
        raise StatusListError(f"{what} must be an absolute URL, got {value!r}")
