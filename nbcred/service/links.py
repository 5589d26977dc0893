"""Single-use links sent by e-mail (claim, reset, confirm, e-mail change, invitation).

The token is 32 random bytes shown once, in the link; only its SHA-256 is stored. A link is used
with one conditional UPDATE (unused and unexpired), so two clicks at once still use it once.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, insert, update
from sqlalchemy.orm import Session

from nbcred.service.errors import NotFound
from nbcred.store.models import AccountToken
from nbcred.store.queries import copy_rows

INVALID = ("this link is not valid any more: it was already used, it expired, or it was replaced "
           "by a newer one")


@dataclass(frozen=True)
class Link:
    """A link's stored facts (never the token)."""

    purpose: str
    email: str
    user_id: int | None
    data: dict[str, Any]
    expires_at: datetime


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_token(session: Session, *, purpose: str, email: str, lifetime: timedelta,
              user_id: int | None = None, data: dict[str, Any] | None = None) -> tuple[str, datetime]:
    """A fresh token stored (hashed) in ``session``'s transaction; returns it and its expiry."""
    token = secrets.token_urlsafe(32)
    expires = datetime.now(UTC) + lifetime
    session.add(AccountToken(token_hash=digest(token), purpose=purpose, email=email, user_id=user_id,
                             data=data or {}, expires_at=expires))
    return token, expires


@dataclass(frozen=True)
class NewLink:
    """A link to make with :func:`new_tokens`."""

    email: str
    data: dict[str, Any]


def new_tokens(session: Session, *, purpose: str, lifetime: timedelta,
               wanted: list[NewLink]) -> tuple[list[str], datetime]:
    """Fresh tokens for ``wanted`` (in order), stored hashed with one bulk insert; and their expiry."""
    if not wanted:
        return [], datetime.now(UTC) + lifetime
    now = datetime.now(UTC)
    expires = now + lifetime
    tokens = [secrets.token_urlsafe(32) for _ in wanted]
    if session.get_bind().dialect.name == "postgresql":
        rows = ((digest(token), purpose, link.email, json.dumps(link.data), now, expires)
                for token, link in zip(tokens, wanted, strict=True))
        if copy_rows(session, "account_tokens", _COPIED, rows):
            return tokens, expires
        raise RuntimeError("a fresh random link token met an existing one")  # 256 random bits
    session.execute(insert(cast(Table, AccountToken.__table__)), [
        {"token_hash": digest(token), "purpose": purpose, "email": link.email, "user_id": None,
         "data": link.data, "created_at": now, "expires_at": expires, "used_at": None}
        for token, link in zip(tokens, wanted, strict=True)])
    return tokens, expires


_COPIED = ("token_hash", "purpose", "email", "data", "created_at", "expires_at")


def peek(session: Session, token: str, purpose: str) -> Link:
    """The link's facts if it is usable now; :class:`NotFound` otherwise."""
    row = session.get(AccountToken, digest(token)) if token else None
    if (row is None or row.purpose != purpose or row.used_at is not None
            or _aware(row.expires_at) <= datetime.now(UTC)):
        raise NotFound(INVALID)
    return Link(row.purpose, row.email, row.user_id, dict(row.data or {}), _aware(row.expires_at))


def use(session: Session, token: str, purpose: str) -> Link:
    """Use the link (once, in ``session``'s transaction); :class:`NotFound` if it cannot be."""
    link = peek(session, token, purpose)
    now = datetime.now(UTC)
    won = session.execute(
        update(AccountToken)
        .where(AccountToken.token_hash == digest(token), AccountToken.used_at.is_(None),
               AccountToken.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if won != 1:
        raise NotFound(INVALID)
    return link


def end_links(session: Session, *, user_id: int, purposes: tuple[str, ...]) -> int:
    """Mark every outstanding link of the user for ``purposes`` used; returns how many."""
    result = session.execute(
        update(AccountToken)
        .where(AccountToken.user_id == user_id, AccountToken.purpose.in_(purposes),
               AccountToken.used_at.is_(None))
        .values(used_at=datetime.now(UTC)).execution_options(synchronize_session=False))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
