"""The tool's own key pairs (RSA 2048, RS256, as every LMS expects), kept in the gradebook.

The newest unretired key signs (client assertions, deep-linking responses); every unretired key is
published at ``/lti/jwks.json`` so a platform that cached the previous one still verifies during a
rotation. Private keys are stored encrypted with ``NBCRED_KEY_PASSPHRASE``.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from nbcred.store.models import LtiKey

ALGORITHM = "RS256"


@functools.lru_cache(maxsize=8)
def _private(pem: bytes, passphrase: str) -> RSAKey:
    return RSAKey.import_key(pem, password=passphrase)


def _new_key(session: Session, passphrase: str) -> LtiKey:
    key = RSAKey.generate_key(2048)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "alg": ALGORITHM, "use": "sig"}
    row = LtiKey(kid=kid, private_pem=key.as_pem(private=True, password=passphrase), public_jwk=public)
    session.add(row)
    session.flush()
    return row


def ensure(engine: Engine, passphrase: str) -> None:
    """Make the first key unless there is one, in a transaction of its own that holds the table's
    write lock: app processes and commands starting together make one key, not one each (a key
    signed with but not yet published would fail at the platform)."""
    unretired = select(LtiKey.id).where(LtiKey.retired_at.is_(None)).limit(1)
    with engine.connect() as probe:
        if probe.execute(unretired).first() is not None:
            return
    with Session(engine) as session, session.begin():
        if engine.dialect.name == "postgresql":
            session.execute(text("LOCK TABLE lti_keys IN EXCLUSIVE MODE"))
        else:  # SQLite: a write statement takes the database's write lock until commit
            session.execute(text("UPDATE lti_keys SET kid = kid WHERE 0 = 1"))
        if session.execute(unretired).first() is None:
            _new_key(session, passphrase)


def _unretired(session: Session) -> list[LtiKey]:
    rows = list(session.scalars(select(LtiKey).where(LtiKey.retired_at.is_(None)).order_by(LtiKey.id)))
    if not rows:
        raise LookupError("the tool has no key yet: call nbcred.lti.keys.ensure first")
    return rows


def signing_key(session: Session, passphrase: str) -> tuple[str, RSAKey]:
    """The newest unretired key as (kid, key)."""
    row = _unretired(session)[-1]
    return row.kid, _private(bytes(row.private_pem), passphrase)


def published(session: Session) -> dict[str, list[dict[str, Any]]]:
    """The JWKS document: every unretired public key."""
    return {"keys": [dict(row.public_jwk) for row in _unretired(session)]}


def rotate(session: Session, passphrase: str) -> str:
    """Make a new signing key; keys older than the previous one are retired (no longer published)."""
    current = list(session.scalars(select(LtiKey).where(LtiKey.retired_at.is_(None))
                                   .order_by(LtiKey.id.desc())))
    now = datetime.now(UTC)
    for old in current[1:]:
        old.retired_at = now
    return _new_key(session, passphrase).kid


def sign(session: Session, passphrase: str, claims: dict[str, Any]) -> str:
    """``claims`` as a compact JWT signed with the current key (its ``kid`` in the header)."""
    kid, key = signing_key(session, passphrase)
    return jwt.encode({"alg": ALGORITHM, "kid": kid, "typ": "JWT"}, claims, key)
