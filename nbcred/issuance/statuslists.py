"""Status lists kept in the gradebook's ``status_lists`` table and published under ``<home>/public``.

Every new credential gets exactly one ``credentialStatus``: an index in a **message list**
(``<base>/status/message/<n>``) whose 2-bit entries say valid, suspended or revoked. Credentials
issued before message lists carry two entries, the same index in ``<base>/status/revocation/1``
and ``<base>/status/suspension/1``; those lists are still kept and published, so such credentials
keep verifying and can still be revoked, suspended and unsuspended.

A list is found by its URL (the row id). Message lists are numbered: new credentials go to the
lowest-numbered list that is less than :data:`LIST_FILL_LIMIT` full, so when one fills up the next
opens (:func:`allocate_slots` reserves many indexes at once, for bulk runs). Indexes are drawn at
random inside a list, so neighbouring learners of a roster are not neighbours in the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from credentials import statuslist as sl
from nbcred.errors import IssuanceError
from nbcred.issuance.identity import IssuerIdentity, publish_json, refresh_published
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import StatusListRecord

Purpose = Literal["revocation", "suspension", "message"]
LEGACY_PURPOSES: tuple[Purpose, ...] = ("revocation", "suspension")
Action = Literal["revoke", "suspend", "unsuspend"]


@dataclass(frozen=True)
class StatusSlot:
    """Where a new credential's status lives: the list, the index and the entry to embed."""

    list_url: str
    index: int
    entry: dict[str, Any]


def list_url(settings: Settings, purpose: Purpose, number: int = 1) -> str:
    """The public URL of status list ``number`` of a purpose."""
    return f"{settings.public_base_url.rstrip('/')}/status/{purpose}/{number}"


def open_list_url(settings: Settings) -> str:
    """The first message list (new credentials go to the first one with room: allocate_slots)."""
    return list_url(settings, "message", 1)


def published_path(settings: Settings, url: str) -> Path:
    """Where the signed status list credential at ``url`` is written for the web service."""
    base = settings.public_base_url.rstrip("/") + "/"
    if not url.startswith(base):
        raise IssuanceError(f"status list {url} is not under NBCRED_PUBLIC_BASE_URL ({base})")
    relative = Path(url[len(base):])
    if relative.is_absolute() or ".." in relative.parts:
        raise IssuanceError(f"status list URL {url} does not map to a file under <home>/public")
    return settings.home / "public" / relative


def _purpose_of(url: str) -> Purpose:
    for purpose in ("message", "revocation", "suspension"):
        if f"/status/{purpose}/" in url:
            return purpose  # type: ignore[return-value]
    raise IssuanceError(f"{url} is not one of nbcred's status lists (…/status/<purpose>/<n>)")


def _load(session: Session, url: str) -> tuple[StatusListRecord, sl.StatusList]:
    """The list's row (locked for update on PostgreSQL; created if new) and its state."""
    record = session.scalars(
        select(StatusListRecord).where(StatusListRecord.id == url).with_for_update()
    ).first()
    if record is None:
        state = sl.StatusList(url=url, purpose=_purpose_of(url))
        record = StatusListRecord(id=url, purpose=state.purpose, size=state.length,
                                  bits=bytes(state.bits), allocated=0,
                                  allocation=bytes(state.allocated))
        session.add(record)
        session.flush()
        return record, state
    purpose = _purpose_of(url)
    allocation = record.allocation or bytes(record.size // 8)
    return record, sl.StatusList(url=url, purpose=purpose, bits=bytearray(record.bits),
                                 allocated=bytearray(allocation))


def _save(record: StatusListRecord, state: sl.StatusList) -> None:
    record.bits = bytes(state.bits)
    record.allocation = bytes(state.allocated)
    record.allocated = state.used
    record.updated_at = datetime.now(UTC)


LIST_FILL_LIMIT = 0.75
"""A message list takes new credentials until this fraction of its indexes is handed out; then the
next list opens. Random indexes stay quick to draw and every list keeps a large crowd."""


def _list_number(url: str) -> int:
    tail = url.rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def _first_open_number(session: Session, settings: Settings) -> int:
    """The lowest-numbered message list with room (the next number when all are full)."""
    prefix = list_url(settings, "message", 1).rsplit("/", 1)[0] + "/"
    rows = session.execute(
        select(StatusListRecord.id, StatusListRecord.allocated, StatusListRecord.size)
        .where(StatusListRecord.id.startswith(prefix))
    ).all()
    numbers = {_list_number(url): (used, size) for url, used, size in rows}
    usable = sl.StatusList(url=prefix + "0", purpose="message")
    share = usable.capacity / usable.length  # message lists hand out part of their indexes
    for number in sorted(n for n in numbers if n > 0):
        used, size = numbers[number]
        if used < int(size * share * LIST_FILL_LIMIT):
            return number
    return max(numbers, default=0) + 1


def allocate_slots(session: Session, settings: Settings, count: int) -> list[StatusSlot]:
    """Reserve ``count`` fresh indexes in the open message lists, opening new lists as they fill."""
    slots: list[StatusSlot] = []
    number = _first_open_number(session, settings)
    while len(slots) < count:
        record, state = _load(session, list_url(settings, "message", number))
        room = int(state.capacity * LIST_FILL_LIMIT) - state.used
        for _ in range(max(0, min(room, count - len(slots)))):
            index = state.allocate()
            slots.append(StatusSlot(state.url, index, state.entry(index)))
        _save(record, state)
        number += 1
    return slots


def allocate_slot(session: Session, settings: Settings) -> StatusSlot:
    """Reserve a fresh index in the open message list and return its ``credentialStatus``."""
    return allocate_slots(session, settings, 1)[0]


def is_legacy(settings: Settings, url: str) -> bool:
    """True for a credential allocated in the old revocation + suspension pair of lists."""
    return url == list_url(settings, "revocation")


def change(
    session: Session, settings: Settings, url: str, index: int, action: Action, reason: str
) -> sl.StatusChange:
    """Revoke, suspend or unsuspend the entry ``index`` of the credential's list ``url``."""
    operation = {"revoke": sl.revoke, "suspend": sl.suspend, "unsuspend": sl.unsuspend}[action]
    if is_legacy(settings, url):
        url = list_url(settings, "revocation" if action == "revoke" else "suspension")
    record, state = _load(session, url)
    result = operation(state, index, reason=reason)
    _save(record, state)
    return result


def change_many(
    session: Session, settings: Settings, entries: list[tuple[str, int]], action: Action, reason: str
) -> list[sl.StatusChange]:
    """:func:`change` for many ``(list url, index)`` entries, loading and saving each list once."""
    operation = {"revoke": sl.revoke, "suspend": sl.suspend, "unsuspend": sl.unsuspend}[action]
    by_list: dict[str, list[int]] = {}
    for url, index in entries:
        if is_legacy(settings, url):
            url = list_url(settings, "revocation" if action == "revoke" else "suspension")
        by_list.setdefault(url, []).append(index)
    changes: list[sl.StatusChange] = []
    for url, indexes in sorted(by_list.items()):
        record, state = _load(session, url)
        changes.extend(operation(state, index, reason=reason) for index in indexes)
        _save(record, state)
    return changes


def record_urls(store: Store) -> list[str]:
    """URLs of every status list in the gradebook."""
    with store.session() as session:
        return sorted(session.scalars(select(StatusListRecord.id)))


def publish(
    settings: Settings,
    store: Store,
    identity: IssuerIdentity,
    *,
    missing_only: bool = False,
    only: list[str] | None = None,
) -> list[Path]:
    """Sign status list credentials (all, or ``only`` these URLs) and write them under ``public``."""
    written = []
    for url in only if only is not None else record_urls(store):
        path = published_path(settings, url)
        if missing_only and path.exists():
            continue
        with store.session() as session:
            _record, state = _load(session, url)
        signed = state.signed_credential(issuer=identity.did, sign=identity.sign)
        publish_json(settings, path, signed)
        written.append(path)
    return written


def served_names(settings: Settings, store: Store) -> list[str]:
    """``<purpose>/<n>`` of every list this deployment serves (the open one even before use)."""
    base = settings.public_base_url.rstrip("/") + "/status/"
    urls = set(record_urls(store)) | {open_list_url(settings)}
    return sorted(u.removeprefix(base) for u in urls if u.startswith(base))


def published_list(
    settings: Settings, store: Store, identity: IssuerIdentity, purpose: str, number: str
) -> Path | None:
    """The published file of list ``<purpose>/<number>`` (signed now if missing); None if unknown."""
    if f"{purpose}/{number}" not in served_names(settings, store):
        return None
    url = f"{settings.public_base_url.rstrip('/')}/status/{purpose}/{number}"
    path = published_path(settings, url)
    refresh_published(settings, path)  # another app process may have signed it anew
    if not path.is_file():
        if url not in record_urls(store):  # the open list before any credential: create it empty
            with store.session() as session:
                _load(session, url)
        publish(settings, store, identity, missing_only=True, only=[url])
    return path
