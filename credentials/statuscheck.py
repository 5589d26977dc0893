"""The verifier's side of Bitstring Status List: what one ``credentialStatus`` entry says.

Results are ``"ok"``, ``"revoked"``, ``"suspended"`` or ``"unknown: <why>"``. Message entries
(``statusSize`` above 1) are read at ``statusListIndex * statusSize`` and explained by the
entry's ``statusMessage``: ``valid`` is ok, ``revoked`` and ``suspended`` are what they say, any
other message is reported as unknown with its text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from credentials.bitstring import MIN_ENTRIES, decode_bitstring, get_value
from credentials.errors import StatusListError
from credentials.statusentry import LIST_CREDENTIAL_TYPE, LIST_TYPE, ParsedEntry, parse_entry

CLOCK_SKEW = timedelta(minutes=5)
"""Tolerance for a status list whose validFrom is slightly in the verifier's future."""

Fetcher = Callable[[str], dict[str, Any]]
"""Takes a status list credential URL and returns the (already verified) credential."""

SINGLE_PURPOSES = {"revocation": "revoked", "suspension": "suspended"}
KNOWN_MESSAGES = {"valid": "ok", "revoked": "revoked", "suspended": "suspended"}


def status_entries(credential: Mapping[str, Any]) -> list[Any]:
    """The credential's ``credentialStatus`` as a list (one object, or the old two-entry form)."""
    status = credential.get("credentialStatus")
    if status is None:
        return []
    return list(status) if isinstance(status, list) else [status]


def check_status(entry: Mapping[str, Any], *, fetch: Fetcher, now: datetime | None = None) -> str:
    """Return "ok", "revoked", "suspended" or "unknown: <why>" for one status entry."""
    try:
        parsed = parse_entry(entry)
    except StatusListError as exc:
        return f"unknown: {exc}"
    if parsed.purpose not in SINGLE_PURPOSES and parsed.purpose != "message":
        return f"unknown: unsupported statusPurpose {parsed.purpose!r}"
    try:
        list_credential = fetch(parsed.url)
    except Exception as exc:
        return f"unknown: could not fetch status list {parsed.url}: {exc}"
    try:
        bits = _list_bits(list_credential, parsed=parsed, now=now)
    except StatusListError as exc:
        return f"unknown: {exc}"
    entries = len(bits) * 8 // parsed.size
    if parsed.index >= entries:
        return f"unknown: statusListIndex {parsed.index} is out of range (list has {entries})"
    value = get_value(bits, parsed.index, parsed.size)
    if parsed.purpose in SINGLE_PURPOSES:
        return "ok" if value == 0 else SINGLE_PURPOSES[parsed.purpose]
    message = parsed.messages.get(value)
    if message is None:
        return "ok" if value == 0 else f"unknown: status {value:#x} has no statusMessage"
    return KNOWN_MESSAGES.get(message.strip().lower(), f"unknown: status message {message!r}")


def check_credential_status(
    credential: Mapping[str, Any], *, fetch: Fetcher, now: datetime | None = None
) -> str:
    """Check every entry of ``credentialStatus``; the worst result wins (no status → "ok")."""
    entries: Iterable[Any] = status_entries(credential)
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


def _list_bits(list_credential: Any, *, parsed: ParsedEntry, now: datetime | None) -> bytes:
    url = parsed.url
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
    if parsed.purpose not in listed_purposes:
        raise StatusListError(
            f"status purpose mismatch: entry says {parsed.purpose!r}, list {url} says {listed!r}"
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
