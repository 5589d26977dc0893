"""A credential's life after issuance, at program scale: expiry, re-certification, bulk status.

* :func:`expiring` lists active credentials whose ``validUntil`` falls within a window.
* Re-certification: a new credential for the same learner and the same assessment (a newer
  version, or the same version under a new issue key) *supersedes* the older ones: the issuer's
  :func:`~nbcred.issuance.issuer.mark_superseded` records the newer credential's id on them.
  Nothing is revoked; both keep verifying, each with its own dates.
* :func:`change_status_bulk` revokes, suspends or unsuspends many credentials at once (by id
  list, or by query: achievement, cohort, issue date range) and publishes each affected status
  list once.

**Stacked certificates follow their components.** Revoking a badge revokes every stacked
certificate whose evidence lists it; suspending a badge suspends them; unsuspending a badge
unsuspends a certificate only when none of its other components is still revoked or suspended
(a revoked certificate stays revoked). The same rules apply to ``nbcred credential revoke``.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from nbcred.errors import IssuanceError
from nbcred.issuance import revocations, statuslists
from nbcred.issuance.slots import parse_time

if TYPE_CHECKING:
    from nbcred.issuance.issuer import CredentialIssuer
from nbcred.store.models import CohortMember, IssuedCredential

Action = Literal["revoke", "suspend", "unsuspend"]
_ALLOWED: dict[str, tuple[set[str], str]] = {
    "revoke": ({"active", "suspended"}, "revoked"),
    "suspend": ({"active"}, "suspended"),
    "unsuspend": ({"suspended"}, "active"),
}
_WINDOW = re.compile(r"^\s*(\d+)\s*([dhw])\s*$")


@dataclass(frozen=True)
class ExpiringCredential:
    """An active credential that expires within the window."""

    id: str
    learner: str
    name: str
    achievement_id: str
    version: str
    valid_until: datetime


@dataclass
class StatusReport:
    """What a bulk status change did."""

    changed: list[str] = field(default_factory=list)
    cascaded: list[str] = field(default_factory=list)
    """Stacked certificates changed because a component was."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)


def parse_window(text: str) -> timedelta:
    """``30d``, ``12h`` or ``2w`` as a timedelta."""
    match = _WINDOW.match(text)
    if match is None:
        raise IssuanceError(f"--within {text!r}: use a number of days, hours or weeks, e.g. 30d, 12h, 2w")
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "w": timedelta(weeks=amount)}[unit]


def expiring(issuer: CredentialIssuer, *, within: timedelta, now: datetime | None = None,
             include_superseded: bool = False) -> list[ExpiringCredential]:
    """Active credentials whose validity ends between now and now + ``within``, soonest first."""
    moment = now or issuer.clock()
    query = (select(IssuedCredential)
             .where(IssuedCredential.status == "active", IssuedCredential.valid_until.is_not(None),
                    IssuedCredential.valid_until > moment, IssuedCredential.valid_until <= moment + within)
             .order_by(IssuedCredential.valid_until, IssuedCredential.learner_id))
    if not include_superseded:
        query = query.where(IssuedCredential.superseded_by.is_(None))
    with issuer.store.session() as session:
        return [ExpiringCredential(r.id, r.learner_id, str(r.document.get("name", "")), r.achievement_id,
                                   r.achievement_version, parse_time(r.valid_until) or moment)
                for r in session.scalars(query)]


def select_credentials(
    issuer: CredentialIssuer, *, ids: Iterable[str] = (), achievement: str | None = None,
    cohort: str | None = None, issued_from: datetime | None = None, issued_to: datetime | None = None,
) -> list[str]:
    """Credential ids named, or matching every given criterion (achievement = assessment or pathway id)."""
    wanted = list(ids)
    if not (wanted or achievement or cohort or issued_from or issued_to):
        raise IssuanceError("say which credentials: --csv FILE, or --achievement, --cohort, "
                            "--issued-from / --issued-to")
    query = select(IssuedCredential.id).where(IssuedCredential.kind.in_(("badge", "pathway")))
    if wanted:
        query = query.where(IssuedCredential.id.in_(wanted))
    if achievement:
        base = issuer.settings.public_base_url.rstrip("/")
        query = query.where(IssuedCredential.achievement_id.startswith(f"{base}/achievements/{achievement}/")
                            | (IssuedCredential.achievement_id == f"{base}/pathways/{achievement}"))
    if cohort:
        members = select(CohortMember.learner_id).where(CohortMember.cohort_id == cohort)
        query = query.where(IssuedCredential.learner_id.in_(members))
    if issued_from:
        query = query.where(IssuedCredential.issued_at >= issued_from)
    if issued_to:
        query = query.where(IssuedCredential.issued_at < issued_to)
    with issuer.store.session() as session:
        return list(session.scalars(query.order_by(IssuedCredential.id)))


def ids_from_csv(path: Path) -> list[str]:
    """Credential ids from a CSV with a ``credential_id`` (or ``id``) column, e.g. a bulk result file."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            names = [c for c in reader.fieldnames or [] if c.strip().lower() in ("credential_id", "id")]
            column = names[0] if names else None
            if column is None:
                raise IssuanceError(f"{path} has no credential_id column")
            return [row[column].strip() for row in reader if (row.get(column) or "").strip()]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise IssuanceError(f"cannot read {path}: {exc}") from exc


def _stacked_on(session: Session, components: dict[str, str]) -> dict[str, list[str]]:
    """Stacked certificates (kind pathway) of these components' learners, with their component ids."""
    if not components:
        return {}
    rows = session.scalars(select(IssuedCredential).where(
        IssuedCredential.kind == "pathway", IssuedCredential.learner_id.in_(set(components.values()))))
    found: dict[str, list[str]] = {}
    for row in rows:
        evidence = row.document.get("evidence") or []
        used = [e.get("id") for e in evidence if isinstance(e, dict) and e.get("id") in components]
        if used:
            found[row.id] = [str(u) for u in used]
    return found


def change_status_bulk(issuer: CredentialIssuer, ids: list[str], action: Action, reason: str) -> StatusReport:
    """Change many credentials (and the stacked certificates built on them) in one update."""
    if not reason.strip():
        raise IssuanceError(f"give a reason to {action} credentials (--reason TEXT)")
    report = StatusReport()
    allowed, new_status = _ALLOWED[action]
    with issuer.store.session() as session:
        found = session.scalars(select(IssuedCredential).where(IssuedCredential.id.in_(ids)))
        rows = {r.id: r for r in found}
        for missing in sorted(set(ids) - set(rows)):
            report.skipped.append((missing, "no such credential"))
        targets = []
        for cid in ids:
            row = rows.get(cid)
            if row is None:
                continue
            if row.status not in allowed or row.status_list is None or row.status_index is None:
                report.skipped.append((cid, f"it is {row.status}"))
                continue
            targets.append(row)
        stacked = _stacked_on(session, {r.id: r.learner_id for r in targets if r.kind == "badge"})
        cascade = []
        for stacked_id, components in stacked.items():
            row = session.get(IssuedCredential, stacked_id)
            if row is None or row in targets or row.status not in allowed or row.status_list is None:
                continue
            if action == "unsuspend" and _other_component_blocks(session, components, row, set(ids)):
                continue
            cascade.append(row)
        everything = [*targets, *cascade]
        changes = statuslists.change_many(
            session, issuer.settings, [(str(r.status_list), int(r.status_index or 0)) for r in everything],
            action, reason.strip())
        for row in everything:
            row.status, row.status_reason = new_status, reason.strip()
            row.status_changed_at = issuer.clock()
        report.changed = [r.id for r in targets]
        report.cascaded = [r.id for r in cascade]
        report.lists = sorted({c.list_url for c in changes})
    if report.lists:
        statuslists.publish(issuer.settings, issuer.store, issuer.identity, only=report.lists)
        revocations.publish(issuer.settings, issuer.store, issuer.identity)
    return report


def _other_component_blocks(session: Session, components: list[str], stacked: IssuedCredential,
                            unsuspended: set[str]) -> bool:
    """True when another component of a stacked certificate is still revoked or suspended."""
    for evidence in stacked.document.get("evidence") or []:
        cid = evidence.get("id") if isinstance(evidence, dict) else None
        if not cid or cid in components or cid in unsuspended:
            continue
        other = session.get(IssuedCredential, cid)
        if other is not None and other.status != "active":
            return True
    return False


def cascade_to_stacked(issuer: CredentialIssuer, component_id: str, action: Action, reason: str) -> list[str]:
    """Apply a component badge's status change to the stacked certificates built on it."""
    allowed, _new = _ALLOWED[action]
    with issuer.store.session() as session:
        row = session.get(IssuedCredential, component_id)
        if row is None or row.kind != "badge":
            return []
        stacked = _stacked_on(session, {row.id: row.learner_id})
        ids = []
        for stacked_id, components in stacked.items():
            certificate = session.get(IssuedCredential, stacked_id)
            if certificate is None or certificate.status not in allowed:
                continue
            if action == "unsuspend" and _other_component_blocks(session, components, certificate, set()):
                continue
            ids.append(stacked_id)
    if not ids:
        return []
    return change_status_bulk(issuer, ids, action, f"{reason} (component {component_id})").changed
