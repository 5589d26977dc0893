"""Revocation and suspension lists kept in the gradebook's ``status_lists`` table and published.

Every credential gets one slot: the same index in the revocation and the suspension list.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from credentials import statuslist as sl
from nbcred.issuance.identity import IssuerIdentity, write_json
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import StatusListRecord

Purpose = Literal["revocation", "suspension"]
PURPOSES: tuple[Purpose, ...] = ("revocation", "suspension")
Action = Literal["revoke", "suspend", "unsuspend"]


def list_url(settings: Settings, purpose: Purpose) -> str:
    """The public URL of a status list credential."""
    return f"{settings.public_base_url.rstrip('/')}/status/{purpose}/1"


def published_path(settings: Settings, purpose: Purpose) -> Path:
    """Where the signed status list credential is written for the web service."""
    return settings.home / "public" / "status" / purpose / "1"


def _load(session: Session, settings: Settings, purpose: Purpose) -> tuple[StatusListRecord, sl.StatusList]:
    """The list's row (locked for update on PostgreSQL; created if new) and its state."""
    url = list_url(settings, purpose)
    record = session.scalars(
        select(StatusListRecord).where(StatusListRecord.id == url).with_for_update()
    ).first()
    if record is None:
        state = sl.StatusList(url=url, purpose=purpose)
        record = StatusListRecord(id=url, purpose=purpose, size=state.length, bits=bytes(state.bits),
                                  allocated=0, allocation=bytes(state.allocated))
        session.add(record)
        session.flush()
        return record, state
    allocation = record.allocation or bytes(len(record.bits))
    return record, sl.StatusList(url=url, purpose=purpose, bits=bytearray(record.bits),
                                 allocated=bytearray(allocation))


def _save(record: StatusListRecord, state: sl.StatusList) -> None:
    record.bits = bytes(state.bits)
    record.allocation = bytes(state.allocated)
    record.allocated = sum(bin(byte).count("1") for byte in state.allocated)
    record.updated_at = datetime.now(UTC)


def allocate_slot(session: Session, settings: Settings) -> tuple[str, int, list[dict[str, Any]]]:
    """Reserve a fresh index in both lists: (revocation list URL, index, credentialStatus entries)."""
    revocation_record, revocations = _load(session, settings, "revocation")
    suspension_record, suspensions = _load(session, settings, "suspension")
    index = revocations.allocate()
    sl.set_bit(suspensions.allocated, index, True)
    _save(revocation_record, revocations)
    _save(suspension_record, suspensions)
    return revocations.url, index, [revocations.entry(index), suspensions.entry(index)]


def change(session: Session, settings: Settings, index: int, action: Action, reason: str) -> sl.StatusChange:
    """Set or clear the bit of ``index`` in the list the action belongs to."""
    purpose: Purpose = "revocation" if action == "revoke" else "suspension"
    record, state = _load(session, settings, purpose)
    operation = {"revoke": sl.revoke, "suspend": sl.suspend, "unsuspend": sl.unsuspend}[action]
    result = operation(state, index, reason=reason)
    _save(record, state)
    return result


def publish(
    settings: Settings, store: Store, identity: IssuerIdentity, *, missing_only: bool = False
) -> list[Path]:
    """Sign both status list credentials and write them under ``<home>/public/status``."""
    written = []
    for purpose in PURPOSES:
        path = published_path(settings, purpose)
        if missing_only and path.exists():
            continue
        with store.session() as session:
            _record, state = _load(session, settings, purpose)
        signed = state.signed_credential(issuer=identity.did, sign=identity.sign)
        write_json(path, signed)
        written.append(path)
    return written
