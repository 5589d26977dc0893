"""Sign-in slow-down: failures are counted per client and per account, in the database.

Each attempt is charged to its buckets *before* the password is checked (so a burst of parallel
guesses is counted, in every app process), and refunded on success. A bucket's first failures are
free; after that each attempt waits twice as long as the last, up to a bound. The buckets:

=================  ==========  ===========  ===================================================
bucket             free        wait bound   why
=================  ==========  ===========  ===================================================
device + account   3           300 s        a browser that signed in to this account before
address + account  3           300 s        one client guessing one account
address            20          300 s        one client trying many accounts
account            10          60 s         many clients guessing one account (slows only)
=================  ==========  ===========  ===================================================

A browser that signed in to the account before (``known``: its device id, kept in a signed
cookie) is judged only by its own device bucket: no stranger can make it wait. Any other client
is judged by the address buckets and the account bucket; a stranger on another address cannot
lock the account (they fill only their own buckets), and a crowd of addresses can make new
browsers wait at most ``60 s`` between attempts. Failures are forgotten after 15 minutes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from nbcred.service.context import ServiceContext
from nbcred.service.errors import TooManyAttempts
from nbcred.store.models import SignInFailure
from nbcred.store.queries import conflict_insert

FAILURE_MEMORY = timedelta(minutes=15)


@dataclass(frozen=True)
class Rule:
    """A bucket kind: failures allowed before waiting, and the longest wait."""

    kind: str
    free: int
    bound: int  # seconds


DEVICE = Rule("device", 3, 300)
PAIR = Rule("pair", 3, 300)
ADDRESS = Rule("address", 20, 300)
ACCOUNT = Rule("account", 10, 60)


@dataclass(frozen=True)
class Client:
    """Who is trying to sign in: their address and, from a signed cookie, their device and the
    accounts (digests, see :func:`account_digest`) this device signed in to before."""

    address: str | None = None
    device: str | None = None
    known: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Bucket:
    rule: Rule
    key: str


def account_digest(email: str) -> str:
    """A short digest naming an account in a device cookie (never the address itself)."""
    return hashlib.sha256(b"nbcred-account:" + email.strip().lower().encode()).hexdigest()[:32]


def _key(kind: str, *parts: str) -> str:
    return kind + ":" + hashlib.sha256("\0".join(parts).encode()).hexdigest()


def buckets(email: str, client: Client) -> list[Bucket]:
    """The buckets an attempt by ``client`` on ``email`` is charged to and judged by."""
    account = email.strip().lower()
    if client.device and account_digest(account) in client.known:
        return [Bucket(DEVICE, _key("device", client.device, account))]
    address = client.address or "unknown"
    return [Bucket(PAIR, _key("pair", address, account)), Bucket(ADDRESS, _key("address", address)),
            Bucket(ACCOUNT, _key("account", account))]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _wait(row: SignInFailure, rule: Rule, moment: datetime) -> float:
    if row.failures < rule.free:
        return 0.0
    delay = min(2 ** (row.failures - rule.free), rule.bound)
    return (_aware(row.last_failed_at) + timedelta(seconds=delay) - moment).total_seconds()


def charge(ctx: ServiceContext, charged: list[Bucket], moment: datetime) -> None:
    """Count an attempt in every bucket, or refuse it (:class:`TooManyAttempts`) if one must wait."""
    with ctx.store.session() as session:
        rows = _lock(session, [b.key for b in charged], moment)
        wait = max(_wait(rows[b.key], b.rule, moment) for b in charged)
        if wait > 0:
            seconds = max(1, int(wait + 0.999))
            raise TooManyAttempts(f"too many failed sign-ins: try again in {seconds} s",
                                  retry_after=seconds)
        for bucket in charged:
            rows[bucket.key].failures += 1
            rows[bucket.key].last_failed_at = moment


def refund(ctx: ServiceContext, charged: list[Bucket], moment: datetime) -> None:
    """A correct password: the account's buckets are cleared, the address's attempt given back."""
    _forget(ctx, moment)
    with ctx.store.session() as session:
        clear = [b.key for b in charged if b.rule is not ADDRESS]
        if clear:
            session.execute(delete(SignInFailure).where(SignInFailure.key.in_(clear)))
        for bucket in charged:
            if bucket.rule is ADDRESS:
                row = session.get(SignInFailure, bucket.key, with_for_update=True)
                if row is not None and row.failures > 0:
                    row.failures -= 1


def _forget(ctx: ServiceContext, moment: datetime) -> None:
    """Delete buckets whose failures are forgotten (rows another attempt holds are skipped)."""
    with ctx.store.session() as session:
        old = list(session.scalars(
            select(SignInFailure.key).where(SignInFailure.last_failed_at < moment - FAILURE_MEMORY)
            .limit(1000).with_for_update(skip_locked=True)))
        if old:
            session.execute(delete(SignInFailure).where(SignInFailure.key.in_(old)))


def _lock(session: Session, keys: list[str], moment: datetime) -> dict[str, SignInFailure]:
    """The buckets' rows, created if missing and locked until the transaction ends.

    The first statement writes, so SQLite takes its write lock before reading (two processes never
    both read the old count); PostgreSQL locks the rows with ``FOR UPDATE``.
    """
    keys = sorted(set(keys))  # one locking order for every process
    session.execute(conflict_insert(session, SignInFailure).values(
        [{"key": k, "failures": 0, "last_failed_at": moment} for k in keys]
    ).on_conflict_do_nothing(index_elements=["key"]))
    rows = {r.key: r for r in session.scalars(
        select(SignInFailure).where(SignInFailure.key.in_(keys)).order_by(SignInFailure.key)
        .with_for_update())}
    for row in rows.values():
        if _aware(row.last_failed_at) + FAILURE_MEMORY < moment:  # forgotten
            row.failures = 0
    return rows
