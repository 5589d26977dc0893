"""Managing issued credentials: list, revoke, suspend, unsuspend, export a learner's CLR."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import select

from credentials.pathways import build_clr
from nbcred.errors import IssuanceError
from nbcred.issuance import badges, revocations, statuslists
from nbcred.issuance.identity import write_json
from nbcred.issuance.lifecycle import cascade_to_stacked
from nbcred.issuance.slots import parse_time

if TYPE_CHECKING:
    from nbcred.issuance.issuer import CredentialIssuer
from nbcred.store.models import HolderCopy, IssuedCredential

Action = Literal["revoke", "suspend", "unsuspend"]
_ALLOWED: dict[Action, tuple[set[str], str]] = {
    "revoke": ({"active", "suspended"}, "revoked"),
    "suspend": ({"active"}, "suspended"),
    "unsuspend": ({"suspended"}, "active"),
}


@dataclass(frozen=True)
class CredentialInfo:
    """One issued credential as listed."""

    id: str
    learner: str
    name: str
    achievement_id: str
    version: str
    kind: str
    status: str
    reason: str | None
    issued_at: datetime
    valid_until: datetime | None

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready record."""
        return {
            "id": self.id, "learner": self.learner, "name": self.name,
            "achievement_id": self.achievement_id, "version": self.version, "kind": self.kind,
            "status": self.status, "reason": self.reason, "issued_at": _iso(self.issued_at),
            "valid_until": _iso(self.valid_until),
        }


def _iso(moment: datetime | None) -> str | None:
    aware = parse_time(moment)
    return None if aware is None else aware.isoformat()


def _info(row: IssuedCredential) -> CredentialInfo:
    return CredentialInfo(
        id=row.id, learner=row.learner_id, name=str(row.document.get("name", "")),
        achievement_id=row.achievement_id, version=row.achievement_version, kind=row.kind,
        status=row.status, reason=row.status_reason, issued_at=row.issued_at,
        valid_until=row.valid_until,
    )


def list_credentials(issuer: CredentialIssuer, *, learner: str | None = None) -> list[CredentialInfo]:
    """Every issued credential (of one learner), oldest first."""
    query = select(IssuedCredential).order_by(IssuedCredential.issued_at, IssuedCredential.id)
    if learner is not None:
        query = query.where(IssuedCredential.learner_id == learner)
    with issuer.store.session() as session:
        return [_info(row) for row in session.scalars(query)]


def change_status(
    issuer: CredentialIssuer, credential_id: str, action: Action, reason: str
) -> CredentialInfo:
    """Revoke, suspend or unsuspend: the row, the status list bit, the published list."""
    if not reason.strip():
        raise IssuanceError(f"give a reason to {action} a credential (--reason TEXT)")
    allowed, new_status = _ALLOWED[action]
    with issuer.store.session() as session:
        row = session.get(IssuedCredential, credential_id)
        copy = session.get(HolderCopy, credential_id) if row is None else None
        if copy is not None:  # a wallet's copy shares its original's status entry
            row = session.get(IssuedCredential, copy.credential_id)
        if row is None:
            raise IssuanceError(
                f"no credential {credential_id!r}; list them with `nbcred credential list`"
            )
        if row.status not in allowed:
            raise IssuanceError(
                f"cannot {action} credential {credential_id}: it is {row.status} "
                f"(only {' or '.join(sorted(allowed))} credentials can be)"
            )
        if row.status_index is None:
            raise IssuanceError(f"credential {credential_id} has no status list entry to change")
        if row.status_list is None:
            raise IssuanceError(f"credential {credential_id} has no status list entry to change")
        changed = statuslists.change(session, issuer.settings, row.status_list, row.status_index,
                                     action, reason)
        row.status, row.status_reason = new_status, reason.strip()
        row.status_changed_at = issuer.clock()
        info = _info(row)
    statuslists.publish(issuer.settings, issuer.store, issuer.identity, only=[changed.list_url])
    revocations.publish(issuer.settings, issuer.store, issuer.identity)  # what CLR copies point at
    cascade_to_stacked(issuer, credential_id, action, reason.strip())  # certificates follow badges
    return info


def active_documents(
    issuer: CredentialIssuer, learner: str, *, kind: str | None = None, now: datetime | None = None
) -> list[dict[str, Any]]:
    """The learner's active (not revoked or suspended) and unexpired credential documents."""
    moment = now or issuer.clock()
    query = select(IssuedCredential).where(
        IssuedCredential.learner_id == learner, IssuedCredential.status == "active"
    ).order_by(IssuedCredential.issued_at)
    if kind is not None:
        query = query.where(IssuedCredential.kind == kind)
    with issuer.store.session() as session:
        rows = list(session.scalars(query))
    return [dict(r.document) for r in rows
            if (until := parse_time(r.valid_until)) is None or until > moment]


def learners_with_credentials(issuer: CredentialIssuer) -> list[str]:
    """Learner ids holding at least one credential."""
    with issuer.store.session() as session:
        return sorted(set(session.scalars(select(IssuedCredential.learner_id))))


def learner_clr(
    issuer: CredentialIssuer, learner: str, credentials: list[dict[str, Any]],
    *, stacked: dict[str, Any] | None = None, name: str | None = None,
) -> dict[str, Any]:
    """A signed CLR 2.0 ``ClrCredential`` holding CLR copies of ``credentials`` (and of a stacked
    one): the same credentials, signed again with the 1EdTech revocation list as their status
    (``revocations.clr_copy``), so the CLR matches the CLR 2.0 schema."""
    with issuer.store.session() as session:
        email = badges.learner_email(session, issuer.settings, learner)
    revocations.publish(issuer.settings, issuer.store, issuer.identity, missing_only=True)
    copies = [revocations.clr_copy(issuer.settings, c, issuer.sign) for c in credentials]
    stacked_copy = revocations.clr_copy(issuer.settings, stacked, issuer.sign) if stacked else None
    unsigned = build_clr(
        issuer=issuer.identity.profile, recipient=badges.recipient(issuer.settings, email),
        credentials=copies, stacked=stacked_copy, valid_from=issuer.clock(),
        name=name or f"Comprehensive learner record of {learner}",
    )
    return issuer.sign(unsigned)


def export_clr(issuer: CredentialIssuer, learner: str, output: Path) -> dict[str, Any]:
    """Write a signed CLR of every active, unexpired credential the learner holds."""
    held = active_documents(issuer, learner)
    if not held:
        raise IssuanceError(
            f"learner {learner!r} holds no active credentials; "
            f"see `nbcred credential list --learner {learner}`"
        )
    clr = learner_clr(issuer, learner, held)
    write_json(output, clr)
    return clr
