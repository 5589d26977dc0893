"""Web sessions kept on the server: open one at sign-in, end one, several or all of a user's.

The browser's cookie carries a random session token (signed, inside the session cookie); only its
SHA-256 is stored. A request is signed in only while its session row is open, unexpired and its user
active, so signing out, changing a password or an administrator's action ends a session at once,
in every app process, even for a copy of the cookie saved earlier.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, NotFound
from nbcred.service.users import Account, account_of, hash_password, user_by_email
from nbcred.store.models import User, WebSession

SESSION_LIFETIME = timedelta(hours=8)
SEEN_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often per session
FORGET_AFTER = timedelta(days=30)  # ended or expired rows are deleted this long after
SIGNED_OUT = "signed out"
PASSWORD_CHANGED = "password changed"
ENDED_BY_USER = "ended by the user"
ENDED_BY_ADMIN = "ended by an administrator"


@dataclass(frozen=True)
class NewSession:
    """A session just opened: ``token`` goes into the cookie and is not kept anywhere else."""

    id: int
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    """The account a session token belongs to, and that session's id."""

    account: Account
    session_id: int


@dataclass(frozen=True)
class SessionInfo:
    """A session as listed (never its token)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str | None
    user_agent: str | None
    ended_at: datetime | None
    ended_reason: str | None

    @property
    def active(self) -> bool:
        """Neither ended nor expired."""
        return self.ended_at is None and _aware(self.expires_at) > datetime.now(UTC)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _info(row: WebSession) -> SessionInfo:
    return SessionInfo(row.id, row.created_at, row.last_seen_at, row.expires_at, row.address,
                       row.user_agent, row.ended_at, row.ended_reason)


def open_session(
    ctx: ServiceContext, account: Account, *, address: str | None = None,
    user_agent: str | None = None, now: datetime | None = None,
) -> NewSession:
    """Record a new session for ``account`` (after its password or another sign-in was checked)."""
    moment = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    with ctx.store.session() as session:
        _forget_old(session, account.id, moment)
        row = WebSession(user_id=account.id, token_hash=_hash(token), created_at=moment,
                         last_seen_at=moment, expires_at=moment + SESSION_LIFETIME,
                         address=(address or None) and address[:64],
                         user_agent=(user_agent or None) and user_agent[:300])
        session.add(row)
        session.flush()
        return NewSession(row.id, token, row.expires_at)


def _forget_old(session: Session, user_id: int, moment: datetime) -> None:
    cutoff = moment - FORGET_AFTER
    session.execute(delete(WebSession).where(
        WebSession.user_id == user_id,
        (WebSession.ended_at < cutoff) | (WebSession.expires_at < cutoff)))


def session_account(ctx: ServiceContext, token: str, *, now: datetime | None = None) -> SignedIn | None:
    """Who an open session token belongs to; None if unknown, ended, expired or the user inactive."""
    moment = now or datetime.now(UTC)
    with ctx.store.session() as session:
        row = session.scalars(select(WebSession).where(WebSession.token_hash == _hash(token))).first()
        if row is None or row.ended_at is not None or _aware(row.expires_at) <= moment:
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if _aware(row.last_seen_at) + SEEN_EVERY < moment:  # not a write per request
            row.last_seen_at = moment
        return SignedIn(account_of(user), row.id)


def end_session(ctx: ServiceContext, token: str, *, reason: str = SIGNED_OUT) -> bool:
    """End the session this token opened (sign-out); False if it was not open."""
    with ctx.store.session() as session:
        ended = session.execute(
            update(WebSession)
            .where(WebSession.token_hash == _hash(token), WebSession.ended_at.is_(None))
            .values(ended_at=datetime.now(UTC), ended_reason=reason))
        return bool(ended.rowcount)  # type: ignore[attr-defined]


def end_user_sessions(
    session: Session, user_id: int, *, reason: str, keep: int | None = None,
) -> int:
    """End every open session of a user except ``keep``, inside the caller's transaction."""
    query = update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(WebSession.id != keep)
    result = session.execute(query.values(ended_at=datetime.now(UTC), ended_reason=reason))
    return int(result.rowcount)  # type: ignore[attr-defined]


def end_sessions(
    ctx: ServiceContext, *, email: str, keep: int | None = None, reason: str = ENDED_BY_ADMIN,
) -> int:
    """End all open sessions of the user with this email except ``keep``; how many were ended."""
    with ctx.store.session() as session:
        user = user_by_email(session, email)
        return end_user_sessions(session, user.id, reason=reason, keep=keep)


def end_session_by_id(
    ctx: ServiceContext, session_id: int, *, email: str | None = None, reason: str = ENDED_BY_ADMIN,
) -> None:
    """End one session by its id; with ``email``, only if it is that user's (else :class:`NotFound`)."""
    with ctx.store.session() as session:
        row = session.get(WebSession, session_id)
        if row is not None and email is not None and row.user_id != user_by_email(session, email).id:
            row = None
        if row is None:
            raise NotFound(f"no session {session_id}" + (f" of {email}" if email else "")
                           + "; see `nbcred user sessions EMAIL`")
        if row.ended_at is None:
            row.ended_at, row.ended_reason = datetime.now(UTC), reason


def list_sessions(ctx: ServiceContext, *, email: str, include_ended: bool = False) -> list[SessionInfo]:
    """A user's sessions, newest first: the open ones (and with ``include_ended``, the rest)."""
    now = datetime.now(UTC)
    with ctx.store.session() as session:
        user = user_by_email(session, email)
        query = select(WebSession).where(WebSession.user_id == user.id).order_by(WebSession.id.desc())
        if not include_ended:
            query = query.where(WebSession.ended_at.is_(None), WebSession.expires_at > now)
        return [_info(row) for row in session.scalars(query)]


def set_password(ctx: ServiceContext, *, email: str, password: str, keep_session: int | None = None) -> int:
    """Set (or replace) a user's password and end their sessions (all but ``keep_session``).

    Returns how many sessions were ended: a cookie saved before the change no longer signs in.
    """
    if len(password) < 8:
        raise BadRequest("the password is too short: use at least 8 characters")
    with ctx.store.session() as session:
        user = user_by_email(session, email)
        user.password_hash = hash_password(password)
        return end_user_sessions(session, user.id, reason=PASSWORD_CHANGED, keep=keep_session)
