"""The outbox: messages written in the caller's transaction, listed, retried.

A message exists only if the event that caused it committed (same transaction), and a
``dedupe_key`` (e.g. ``claim:<credential id>``) makes queueing it twice a no-op. Notifications
(``NOTIFICATIONS``) carry ``List-Unsubscribe`` and are not queued for an address that turned them
off; claim links, password resets and confirmations always are. A message is stored as its kind
and its template's values and rendered (:func:`letter_of`) by the sender, so queueing costs one row.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import make_msgid, parseaddr
from pathlib import Path
from typing import Any, cast

from itsdangerous import BadSignature, URLSafeSerializer
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Table, func, select, update
from sqlalchemy.orm import Session

from nbcred.mail.errors import MailError
from nbcred.settings import Settings
from nbcred.store.models import MailMessage, MailPreference
from nbcred.store.queries import among, conflict_insert, copy_rows

TEMPLATES = Path(__file__).parent / "templates"
NOTIFICATIONS = frozenset({"badge_ready", "feedback", "expiring"})
"""Kinds a person may turn off; every other kind (claims, resets, confirmations) is always sent."""
SECRET_KINDS = frozenset({"claim", "reset", "confirm", "email_change", "invite"})
"""Kinds whose body holds a single-use link: the body is dropped once the message is sent."""
SENT_BODY = "(sent; this message held a single-use link and its body is no longer kept)"
KINDS = frozenset(p.stem for p in TEMPLATES.glob("*.txt"))
"""Every kind of message there is a template for."""

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@dataclass(frozen=True)
class Outgoing:
    """A message to queue: its kind (the template), recipient, values and idempotency key."""

    kind: str
    to: str
    values: dict[str, Any] = field(default_factory=dict)
    dedupe_key: str | None = None


@dataclass(frozen=True)
class Letter:
    """A rendered message."""

    subject: str
    text: str
    html: str


def render(kind: str, values: dict[str, Any]) -> Letter:
    """``<kind>.txt`` (first line: the subject) and ``<kind>.html`` rendered with ``values``."""
    text = _env.get_template(f"{kind}.txt").render(**values)
    subject, _, body = text.partition("\n")
    html = _env.get_template(f"{kind}.html").render(subject=subject.strip(), **values)
    return Letter(subject.removeprefix("Subject:").strip(), body.lstrip("\n"), html)


def _unsubscriber(settings: Settings) -> URLSafeSerializer:
    from nbcred.web.secret import session_secret  # the service's one secret (env, or kept in home)

    return URLSafeSerializer(session_secret(settings), salt="nbcred-unsubscribe")


def unsubscribe_url(settings: Settings, email: str) -> str:
    """A link that turns notifications off for ``email`` (signed, so nobody else's can be forged)."""
    return f"{settings.links_base()}/unsubscribe/{_unsubscriber(settings).dumps(email.lower())}"


def unsubscribe_address(settings: Settings, token: str) -> str:
    """The address an unsubscribe token was made for; :class:`MailError` when it is not genuine."""
    try:
        value = _unsubscriber(settings).loads(token)
    except BadSignature as exc:
        raise MailError("this unsubscribe link is not valid") from exc
    if not isinstance(value, str):
        raise MailError("this unsubscribe link is not valid")
    return value


def set_notifications(session: Session, email: str, wanted: bool) -> None:
    """Record whether ``email`` wants notification e-mails."""
    row = session.get(MailPreference, email.lower())
    if row is None:
        session.add(MailPreference(email=email.lower(), notifications=wanted))
    else:
        row.notifications, row.updated_at = wanted, datetime.now(UTC)


def wants_notifications(session: Session, email: str) -> bool:
    """True unless ``email`` turned notifications off."""
    row = session.get(MailPreference, email.lower())
    return row is None or row.notifications


def letter_of(message: MailMessage) -> Letter:
    """What ``message`` says: rendered from its template now, or as it was stored rendered."""
    if message.template_values is not None:
        return render(message.kind, message.template_values)
    return Letter(message.subject, message.text_body, message.html_body or "")


def _row(settings: Settings, item: Outgoing, now: datetime, domain: str,
         unsubscriber: URLSafeSerializer | None) -> dict[str, Any]:
    values = {"issuer_name": settings.issuer_name, "base_url": settings.links_base(), **item.values}
    headers: dict[str, str] = {}
    if unsubscriber is not None and item.kind in NOTIFICATIONS:
        link = f"{settings.links_base()}/unsubscribe/{unsubscriber.dumps(item.to.lower())}"
        values["unsubscribe_url"] = link
        headers = {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return {"kind": item.kind, "dedupe_key": item.dedupe_key, "recipient": item.to,
            "subject": "", "text_body": "", "html_body": None, "template_values": values,
            "headers": headers, "message_id": make_msgid("nbcred", domain=domain), "status": "pending",
            "tries": 0, "next_attempt_at": now, "claimed_by": None, "lease_until": None,
            "last_error": None, "secret": item.kind in SECRET_KINDS, "created_at": now, "sent_at": None}


def enqueue(session: Session, settings: Settings, items: Sequence[Outgoing]) -> int:
    """Queue ``items`` in ``session``'s transaction; returns how many were queued.

    Each message keeps its template's values and is rendered by the sender (a bulk run pays only
    for the row). An item of an unknown kind is refused here; an item whose ``dedupe_key`` is
    already in the outbox, or a notification to an address that turned them off, is left out.
    """
    unknown = {i.kind for i in items} - KINDS
    if unknown:
        raise MailError(f"no e-mail template for {', '.join(sorted(unknown))}")
    now = datetime.now(UTC)
    muted = _muted(session, [i.to for i in items if i.kind in NOTIFICATIONS])
    wanted = [i for i in items if not (i.kind in NOTIFICATIONS and i.to.lower() in muted)]
    if not wanted:
        return 0
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    unsubscriber = _unsubscriber(settings) if any(i.kind in NOTIFICATIONS for i in wanted) else None
    rows = _new_keys_only(session, [_row(settings, item, now, domain, unsubscriber) for item in wanted])
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql" and len(rows) >= COPY_FROM and copy_rows(
            session, "mail_outbox", _COLUMNS, ([json.dumps(v) if isinstance(v, dict) else v
                                                for v in (row[c] for c in _COLUMNS)] for row in rows)):
        return len(rows)
    table = cast(Table, MailMessage.__table__)  # a core insert: one executemany, no ORM bookkeeping
    statement = conflict_insert(session, table).on_conflict_do_nothing(index_elements=["dedupe_key"])
    # no RETURNING, so the driver's own executemany (one prepared statement) rather than a
    # statement with a placeholder per value; a concurrent writer's duplicate is skipped
    session.execute(statement, rows)
    return len(rows)


COPY_FROM = 20
"""From this many messages at once (a bulk run's batch) PostgreSQL gets them with ``COPY``; a
message whose key another writer stored meanwhile sends the batch down the insert path instead."""
_COLUMNS = ("kind", "dedupe_key", "recipient", "subject", "text_body", "html_body", "template_values",
            "headers", "message_id", "status", "tries", "next_attempt_at", "claimed_by", "lease_until",
            "last_error", "secret", "created_at", "sent_at")


def _new_keys_only(session: Session, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` without those whose ``dedupe_key`` is in the outbox or earlier in ``rows``."""
    keys = {r["dedupe_key"] for r in rows if r["dedupe_key"] is not None}
    if not keys:
        return rows
    seen = set(session.scalars(select(MailMessage.dedupe_key).where(among(session, MailMessage.dedupe_key,
                                                                          keys))))
    fresh = []
    for row in rows:
        key = row["dedupe_key"]
        if key is None or key not in seen:
            fresh.append(row)
            if key is not None:
                seen.add(key)
    return fresh


def _muted(session: Session, addresses: list[str]) -> set[str]:
    if not addresses:
        return set()
    lowered = list({a.lower() for a in addresses})
    found = session.scalars(select(MailPreference.email).where(
        among(session, MailPreference.email, lowered), MailPreference.notifications.is_(False)))
    return set(found)


@dataclass(frozen=True)
class MessageInfo:
    """One outbox message as listed (never its body)."""

    id: int
    kind: str
    recipient: str
    subject: str
    status: str
    tries: int
    created_at: datetime
    next_attempt_at: datetime | None
    sent_at: datetime | None
    last_error: str | None


def list_messages(session: Session, *, status: str | None = None, limit: int = 200) -> list[MessageInfo]:
    """The newest messages (optionally of one status)."""
    query = select(MailMessage).order_by(MailMessage.id.desc()).limit(limit)
    if status:
        query = query.where(MailMessage.status == status)
    return [MessageInfo(m.id, m.kind, m.recipient, m.subject or _subject(m), m.status, m.tries,
                        m.created_at, m.next_attempt_at if m.status == "pending" else None, m.sent_at,
                        m.last_error)
            for m in session.scalars(query)]


def _subject(message: MailMessage) -> str:
    """The subject of a message not rendered yet (its kind if it cannot be rendered)."""
    try:
        return letter_of(message).subject
    except Exception:  # shown in a list: the sender records why it cannot be rendered
        return f"({message.kind})"


def counts(session: Session) -> dict[str, int]:
    """How many messages are in each status."""
    rows = session.execute(select(MailMessage.status, func.count()).group_by(MailMessage.status))
    return {status: int(n) for status, n in rows.tuples()}


def retry_failed(session: Session, ids: Sequence[int] = ()) -> int:
    """Queue failed messages (all, or those of ``ids``) again with a fresh count of tries."""
    statement = update(MailMessage).where(MailMessage.status == "failed")
    if ids:
        statement = statement.where(MailMessage.id.in_(list(ids)))
    result = session.execute(statement.values(status="pending", tries=0, next_attempt_at=datetime.now(UTC))
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
