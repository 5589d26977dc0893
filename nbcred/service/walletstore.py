"""What the wallet protocols share: secrets stored hashed, the issuer's base URL, the learner's
credential an offer or exchange is for, and the configuration id a credential is offered under."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from nbcred.service.context import ServiceContext
from nbcred.service.errors import Conflict, Unprocessable
from nbcred.service.users import Account
from nbcred.service.wallet import own_credential

#: The configuration offered for an OpenBadgeCredential whose achievement the catalogue no
#: longer describes.
GENERIC_CONFIGURATION = "OpenBadgeCredential"
PATHWAY_PREFIX = "pathway-"


def digest(secret: str) -> str:
    """SHA-256 hex of a random secret (codes, tokens, nonces are kept only this way)."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """A stored time as aware UTC (SQLite gives naive ones back)."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def issuer_url(ctx: ServiceContext) -> str:
    """The credential issuer identifier and base of every published wallet URL (no slash)."""
    return ctx.settings.links_base()


def configuration_id(achievement_id: str) -> str:
    """``…/achievements/<assessment>/<version>`` → ``<assessment>``; ``…/pathways/<id>`` →
    ``pathway-<id>``; anything else the generic configuration."""
    if "/achievements/" in achievement_id:
        return achievement_id.split("/achievements/", 1)[1].split("/", 1)[0]
    if "/pathways/" in achievement_id:
        return PATHWAY_PREFIX + achievement_id.split("/pathways/", 1)[1].split("/", 1)[0]
    return GENERIC_CONFIGURATION


@dataclass(frozen=True)
class Offerable:
    """A learner's credential that may go to a wallet."""

    id: str
    name: str
    achievement_id: str
    document: dict[str, Any]


def offerable(ctx: ServiceContext, account: Account, credential_id: str) -> Offerable:
    """The caller's credential ``credential_id`` (another learner's: not found), if it is an
    active OpenBadgeCredential."""
    summary, document = own_credential(ctx, account, credential_id)
    types = document.get("type")
    if "OpenBadgeCredential" not in (types if isinstance(types, list) else [types]):
        raise Unprocessable(f"{summary.name} is not an Open Badge: only badges go to wallets "
                            "(download the file instead)")
    if summary.status != "active":
        raise Conflict(f"{summary.name} is {summary.status}: it cannot be added to a wallet")
    return Offerable(summary.id, summary.name, summary.achievement, document)
