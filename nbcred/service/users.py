"""Accounts: users and roles, argon2 passwords, hashed revocable API tokens, sign-in slow-down."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, Conflict, NotAuthenticated, NotFound
from nbcred.service.signin import Client, buckets, charge, refund
from nbcred.store.models import ApiToken, Learner, User

Role = Literal["learner", "instructor", "admin"]
ROLES: tuple[Role, ...] = ("learner", "instructor", "admin")
TOKEN_PREFIX = "nbc_"

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("nbcred-no-such-user")


@dataclass(frozen=True)
class Account:
    """Who is asking: the user, their role and the learner id their submissions are recorded under."""

    id: int
    email: str
    name: str
    role: Role
    learner: str

    @property
    def is_staff(self) -> bool:
        """Instructors and admins see every learner's submissions."""
        return self.role in ("instructor", "admin")


@dataclass(frozen=True)
class TokenInfo:
    """An API token as listed (never the token itself)."""

    id: int
    label: str
    created_at: datetime
    last_used_at: datetime | None
    revoked: bool


@dataclass(frozen=True)
class NewToken:
    """A freshly created token: shown once, only its hash is kept."""

    id: int
    token: str


def normalise_email(email: str) -> str:
    """Trimmed, lower-cased; refused unless it looks like an address."""
    cleaned = email.strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or "." not in domain or any(c.isspace() for c in cleaned):
        raise BadRequest(f"{email!r} is not an email address (expected name@example.org)")
    return cleaned


def account_of(user: User) -> Account:
    return Account(user.id, user.email, user.name, cast(Role, user.role), user.learner_id)


def add_user(
    ctx: ServiceContext, *, email: str, name: str, role: str, password: str | None = None
) -> Account:
    """Create a user (and the learner record their submissions go to)."""
    address = normalise_email(email)
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; choose one of: {', '.join(ROLES)}")
    if password is not None and len(password) < 8:
        raise BadRequest("the password is too short: use at least 8 characters")
    digest = _hasher.hash(password) if password else None
    try:
        with ctx.store.session() as session:
            if session.scalars(select(User).where(User.email == address)).first() is not None:
                raise Conflict(f"a user with email {address} already exists")
            learner = session.get(Learner, address)
            if learner is None:
                session.add(Learner(id=address, email=address))
            elif learner.email is None:
                learner.email = address
            user = User(email=address, name=name.strip() or address, role=role,
                        password_hash=digest, learner_id=address, active=True)
            session.add(user)
            session.flush()
            return account_of(user)
    except IntegrityError as exc:
        raise Conflict(f"a user with email {address} already exists") from exc


def user_by_email(session: Session, email: str) -> User:
    user = session.scalars(select(User).where(User.email == normalise_email(email))).first()
    if user is None:
        raise NotFound(f"no user {email.strip().lower()}; add one with `nbcred user add`")
    return user


def get_user(ctx: ServiceContext, *, email: str) -> Account:
    """The account with this email."""
    with ctx.store.session() as session:
        return account_of(user_by_email(session, email))


def account_by_id(ctx: ServiceContext, user_id: int) -> Account | None:
    """The active account with this id (sessions carry it)."""
    with ctx.store.session() as session:
        user = session.get(User, user_id)
        return account_of(user) if user is not None and user.active else None


def list_users(ctx: ServiceContext) -> list[Account]:
    """Every user, by email."""
    with ctx.store.session() as session:
        return [account_of(u) for u in session.scalars(select(User).order_by(User.email))]


def sign_in(
    ctx: ServiceContext, *, email: str, password: str, now: datetime | None = None,
    client: Client | None = None,
) -> Account:
    """Check a password; repeated failures make the next attempts wait (see :mod:`.signin`)."""
    moment = now or datetime.now(UTC)
    key = email.strip().lower()
    charged = buckets(key, client or Client())
    charge(ctx, charged, moment)  # raises TooManyAttempts
    with ctx.store.session() as session:
        user = session.scalars(select(User).where(User.email == key)).first()
        stored = user.password_hash if user is not None and user.active else None
        ok = _verify(stored or _DUMMY_HASH, password) and stored is not None
        if ok and user is not None and _hasher.check_needs_rehash(stored or ""):
            user.password_hash = _hasher.hash(password)
        account = account_of(user) if ok and user is not None else None
    if account is None:
        raise NotAuthenticated("wrong email or password")
    refund(ctx, charged, moment)
    return account


def _verify(digest: str, password: str) -> bool:
    try:
        return _hasher.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return False


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(ctx: ServiceContext, *, email: str, label: str = "") -> NewToken:
    """A new API token for the user; only its SHA-256 is stored, so show it now."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with ctx.store.session() as session:
        user = user_by_email(session, email)
        row = ApiToken(user_id=user.id, token_hash=_token_hash(token), label=label)
        session.add(row)
        session.flush()
        return NewToken(row.id, token)


def list_tokens(ctx: ServiceContext, *, email: str) -> list[TokenInfo]:
    """The user's tokens (ids and dates, never the secret)."""
    with ctx.store.session() as session:
        user = user_by_email(session, email)
        rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id))
        return [TokenInfo(r.id, r.label, r.created_at, r.last_used_at, r.revoked_at is not None)
                for r in rows]


def revoke_tokens(ctx: ServiceContext, *, email: str, token_id: int | None = None) -> int:
    """Revoke one token of the user (by id) or all of them; returns how many were revoked."""
    now = datetime.now(UTC)
    with ctx.store.session() as session:
        user = user_by_email(session, email)
        query = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        if token_id is not None:
            query = query.where(ApiToken.id == token_id)
        rows = list(session.scalars(query))
        if token_id is not None and not rows:
            raise NotFound(f"{user.email} has no active token {token_id}; see `nbcred user tokens`")
        for row in rows:
            row.revoked_at = now
        return len(rows)


def account_for_token(ctx: ServiceContext, token: str) -> Account | None:
    """The active user an unrevoked token belongs to, else None."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with ctx.store.session() as session:
        row = session.scalars(select(ApiToken).where(ApiToken.token_hash == _token_hash(token))).first()
        if row is None or row.revoked_at is not None:
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        now = datetime.now(UTC)
        last = row.last_used_at
        if last is None or _aware(last) + timedelta(minutes=1) < now:  # avoid a write per request
            row.last_used_at = now
        return account_of(user)


def hash_password(password: str) -> str:
    """The argon2 hash stored for ``password`` (check it with :mod:`nbcred.service.passwords` first)."""
    return _hasher.hash(password)


def new_account(session: Session, *, email: str, name: str, role: Role, password_hash: str | None,
                learner: str) -> Account:
    """Create a user in ``session``'s transaction, linked to ``learner`` (created if missing)."""
    address = normalise_email(email)
    record = session.get(Learner, learner)
    if record is None:
        session.add(Learner(id=learner, email=address, name=name or None))
    elif record.email is None:
        record.email = address
    user = User(email=address, name=name.strip() or address, role=role, password_hash=password_hash,
                learner_id=learner, active=True)
    session.add(user)
    session.flush()
    return account_of(user)
