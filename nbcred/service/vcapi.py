"""VC-API exchanges, as the DCC Learner Credential Wallet speaks them.

A learner opens an exchange for one of their badges: its URL holds a random secret (stored
hashed) and it lasts ``NBCRED_WALLET_OFFER_MINUTES``. The wallet POSTs ``{}`` and is asked for
a DID authentication (a ``verifiablePresentationRequest`` with a challenge and this service's
domain); it POSTs a presentation signed by its DID (``Ed25519Signature2020`` or
``eddsa-rdfc-2022``, ``proofPurpose`` authentication) and receives the badge signed afresh for
that DID, once.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import select, update

from credentials.errors import HolderProofError
from credentials.presentation import verify_authentication
from nbcred.errors import IssuanceError
from nbcred.issuance.holders import issue_holder_copy
from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, Conflict, NotFound
from nbcred.service.users import Account
from nbcred.service.walletstore import aware, digest, issuer_url, now, offerable
from nbcred.store.models import WalletExchange

EXCHANGE_PATH = "/exchanges"
LCW_REQUEST = "https://lcw.app/request"
VC_V2 = "https://www.w3.org/ns/credentials/v2"


@dataclass(frozen=True)
class WalletExchangeLinks:
    """An exchange opened for a learner: its URL and the wallet deep link that carries it."""

    exchange_url: str
    lcw_request: str
    expires_at: datetime

    def as_json(self) -> dict[str, Any]:
        """``{"exchange_url", "lcw_request", "expires_at"}``."""
        return {"exchange_url": self.exchange_url, "lcw_request": self.lcw_request,
                "expires_at": self.expires_at.isoformat()}


def domain(ctx: ServiceContext) -> str:
    """The ``domain`` a presentation must be signed for: this service's base URL."""
    return issuer_url(ctx)


def open_exchange(ctx: ServiceContext, account: Account, credential_id: str) -> WalletExchangeLinks:
    """A single-use exchange handing one of the caller's active badges to a wallet."""
    credential = offerable(ctx, account, credential_id)
    handle = secrets.token_urlsafe(32)
    created = now()
    expires = created + timedelta(minutes=ctx.settings.wallet_offer_minutes)
    with ctx.store.session() as session:
        session.add(WalletExchange(handle_hash=digest(handle), credential_id=credential.id,
                                   learner_id=account.learner, challenge=secrets.token_urlsafe(24),
                                   created_at=created, expires_at=expires))
    base = issuer_url(ctx)
    url = f"{base}{EXCHANGE_PATH}/{handle}"
    request = {"credentialRequestOrigin": base, "protocols": {"vcapi": url}}
    link = f"{LCW_REQUEST}?request={quote(json.dumps(request, separators=(',', ':')), safe='')}"
    return WalletExchangeLinks(url, link, expires)


def _open(ctx: ServiceContext, handle: str) -> WalletExchange:
    with ctx.store.session() as session:
        row = session.scalars(select(WalletExchange)
                              .where(WalletExchange.handle_hash == digest(handle))).first()
        if row is not None:
            session.expunge(row)
    if row is None:
        raise NotFound("no such exchange: open a new one from your wallet page")
    if row.completed_at is not None:
        raise Conflict("this exchange is complete: the credential was already handed to a wallet")
    if aware(row.expires_at) <= now():
        raise NotFound("this exchange has expired: open a new one from your wallet page")
    return row


def _request(ctx: ServiceContext, row: WalletExchange, url: str) -> dict[str, Any]:
    return {"verifiablePresentationRequest": {
        "query": [{"type": "DIDAuthentication",
                   "acceptedMethods": [{"method": "key"}],
                   "acceptedCryptosuites": [{"cryptosuite": "Ed25519Signature2020"},
                                            {"cryptosuite": "eddsa-rdfc-2022"}]}],
        "challenge": row.challenge,
        "domain": domain(ctx),
        "interact": {"service": [{"type": "UnmediatedPresentationService2021", "serviceEndpoint": url}]},
    }}


def exchange_step(ctx: ServiceContext, handle: str, body: Any) -> dict[str, Any]:
    """One step of the exchange: ``{}`` → the DID authentication request; a signed
    presentation → the credential, bound to the presentation's holder."""
    row = _open(ctx, handle)
    if not isinstance(body, dict):
        raise BadRequest("POST a JSON object: {} to start, then {\"verifiablePresentation\": …}")
    url = f"{issuer_url(ctx)}{EXCHANGE_PATH}/{handle}"
    presentation = body.get("verifiablePresentation")
    if presentation is None:
        return _request(ctx, row, url)
    try:
        holder = verify_authentication(presentation, challenge=row.challenge, domain=domain(ctx))
    except HolderProofError as exc:
        raise BadRequest(f"DID authentication failed: {exc}") from None
    with ctx.store.session() as session:
        claimed = session.execute(
            update(WalletExchange).where(WalletExchange.id == row.id, WalletExchange.completed_at.is_(None))
            .values(completed_at=now()))
    if getattr(claimed, "rowcount", 0) != 1:
        raise Conflict("this exchange is complete: the credential was already handed to a wallet")
    try:
        signed = issue_holder_copy(ctx.issuer, row.credential_id, holder=holder, protocol="vcapi")
    except IssuanceError as exc:
        raise Conflict(str(exc)) from None
    except Exception:
        with ctx.store.session() as session:  # nothing issued: the wallet may try again
            session.execute(update(WalletExchange).where(WalletExchange.id == row.id)
                            .values(completed_at=None))
        raise
    return {"verifiablePresentation": {"@context": [VC_V2], "type": ["VerifiablePresentation"],
                                       "verifiableCredential": [signed]}}
