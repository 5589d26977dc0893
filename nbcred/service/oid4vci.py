"""OpenID4VCI 1.0, pre-authorized code flow: offers, the token, nonce and credential endpoints.

A learner asks for an offer for one of their badges; the offer's pre-authorized code (and an
optional transaction code) is stored hashed, valid ``NBCRED_WALLET_OFFER_MINUTES`` and spent by
the first token request. The access token it gives (hashed too) buys one credential: a fresh
signing of the badge bound to the DID whose key signed the request's proof, whose ``nonce`` must
be an unused ``c_nonce`` from the nonce endpoint. Errors carry the codes the specification
names (``invalid_grant``, ``invalid_nonce``, ``invalid_proof``…) as :class:`OAuthError`.

Besides strict 1.0 requests (``credential_configuration_id`` or ``credential_identifier``, and
``proofs``), Draft 13 requests (``format`` + ``credential_definition``, and ``proof``) are
answered, as wallets in use send them.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

from sqlalchemy import delete, select, update

from credentials.errors import HolderProofError
from credentials.holder import verify_key_proof
from nbcred.errors import IssuanceError
from nbcred.issuance.holders import issue_holder_copy
from nbcred.service.context import ServiceContext
from nbcred.service.errors import OAuthError
from nbcred.service.oid4vci_metadata import PRE_AUTHORIZED, configurations
from nbcred.service.users import Account
from nbcred.service.walletstore import (
    GENERIC_CONFIGURATION,
    aware,
    configuration_id,
    digest,
    issuer_url,
    now,
    offerable,
)
from nbcred.store.models import IssuedCredential, WalletNonce, WalletOffer

TOKEN_SECONDS = 300
NONCE_SECONDS = 300
TX_CODE_TRIES = 5
TX_CODE_LENGTH = 6
OFFER_SCHEME = "openid-credential-offer://"


@dataclass(frozen=True)
class CredentialOffer:
    """An offer made for a learner: the offer object, its ``openid-credential-offer://`` URI,
    the transaction code to show (if asked for) and when the offer expires."""

    credential_offer: dict[str, Any]
    offer_uri: str
    tx_code: str | None
    expires_at: datetime

    def as_json(self) -> dict[str, Any]:
        """``{"credential_offer", "offer_uri"}`` plus ``tx_code`` and ``expires_at``."""
        out: dict[str, Any] = {"credential_offer": self.credential_offer, "offer_uri": self.offer_uri,
                               "expires_at": self.expires_at.isoformat()}
        if self.tx_code is not None:
            out["tx_code"] = self.tx_code
        return out


def _offered_configuration(ctx: ServiceContext, achievement_id: str) -> str:
    key = configuration_id(achievement_id)
    return key if key in configurations(ctx) else GENERIC_CONFIGURATION


def _configuration_of(ctx: ServiceContext, credential_id: str) -> str:
    with ctx.store.session() as session:
        original = session.get(IssuedCredential, credential_id)
        return _offered_configuration(ctx, original.achievement_id if original else "")


def _tx_digest(code: str, pin: str) -> str:
    return digest(f"{code}\n{pin}")


def make_offer(ctx: ServiceContext, account: Account, credential_id: str, *,
               tx_code: bool = False) -> CredentialOffer:
    """A single-use, short-lived credential offer for one of the caller's active badges."""
    credential = offerable(ctx, account, credential_id)
    code = secrets.token_urlsafe(32)
    pin = "".join(secrets.choice("0123456789") for _ in range(TX_CODE_LENGTH)) if tx_code else None
    created = now()
    expires = created + timedelta(minutes=ctx.settings.wallet_offer_minutes)
    with ctx.store.session() as session:
        session.add(WalletOffer(
            credential_id=credential.id, learner_id=account.learner, code_hash=digest(code),
            tx_code_hash=_tx_digest(code, pin) if pin else None, tx_failures=0, created_at=created,
            expires_at=expires))
    grant: dict[str, Any] = {"pre-authorized_code": code}
    if pin is not None:
        grant["tx_code"] = {"input_mode": "numeric", "length": TX_CODE_LENGTH,
                            "description": "The code shown next to the QR code on your wallet page"}
    offer = {"credential_issuer": issuer_url(ctx),
             "credential_configuration_ids": [_offered_configuration(ctx, credential.achievement_id)],
             "grants": {PRE_AUTHORIZED: grant}}
    uri = f"{OFFER_SCHEME}?credential_offer={quote(json.dumps(offer, separators=(',', ':')), safe='')}"
    return CredentialOffer(offer, uri, pin, expires)


def _authorization_details(raw: str | None, offer: WalletOffer, config: str) -> list[dict[str, Any]] | None:
    """The token response's ``authorization_details``: the offered configuration's identifier."""
    if not raw:
        return None
    try:
        asked = json.loads(raw)
    except ValueError:
        raise OAuthError("invalid_authorization_details", "authorization_details is not JSON") from None
    if not isinstance(asked, list) or not all(isinstance(a, dict) for a in asked):
        raise OAuthError("invalid_authorization_details", "authorization_details must be a JSON array")
    granted = [{"type": "openid_credential", "credential_configuration_id": config,
                "credential_identifiers": [offer.credential_id]}
               for a in asked if a.get("type") == "openid_credential"
               and a.get("credential_configuration_id") == config]
    if not granted:
        raise OAuthError("invalid_authorization_details",
                         f"this offer is for credential configuration {config!r} only")
    return granted[:1]


def _check_tx_code(ctx: ServiceContext, offer: WalletOffer, code: str, pin: str | None) -> None:
    if offer.tx_code_hash is None:
        if pin:
            raise OAuthError("invalid_request", "this offer has no transaction code: send none")
        return
    if not pin:
        raise OAuthError("invalid_request", "this offer needs the transaction code shown with it (tx_code)")
    if secrets.compare_digest(offer.tx_code_hash, _tx_digest(code, pin)):
        return
    with ctx.store.session() as session:  # counted even though the request fails
        failures = offer.tx_failures + 1
        values: dict[str, Any] = {"tx_failures": failures}
        if failures >= TX_CODE_TRIES:
            values["redeemed_at"] = now()
        session.execute(update(WalletOffer).where(WalletOffer.id == offer.id).values(**values))
    left = TX_CODE_TRIES - failures
    raise OAuthError("invalid_grant", "wrong transaction code" + (
        f"; {left} tries left" if left > 0 else ": the offer is cancelled, ask for a new one"))


def token(ctx: ServiceContext, form: Mapping[str, str]) -> dict[str, Any]:
    """The token endpoint: a pre-authorized code (once) for an access token."""
    grant_type = form.get("grant_type")
    if grant_type != PRE_AUTHORIZED:
        raise OAuthError("unsupported_grant_type", f"only the {PRE_AUTHORIZED} grant is supported")
    code = form.get("pre-authorized_code")
    if not code:
        raise OAuthError("invalid_request", "pre-authorized_code is missing")
    moment = now()
    with ctx.store.session() as session:
        offer = session.scalars(select(WalletOffer).where(WalletOffer.code_hash == digest(code))).first()
        if offer is not None:
            session.expunge(offer)
    if offer is None:
        raise OAuthError("invalid_grant", "unknown pre-authorized code")
    if offer.redeemed_at is not None:
        raise OAuthError("invalid_grant", "this pre-authorized code was already used")
    if aware(offer.expires_at) <= moment:
        raise OAuthError("invalid_grant", "this pre-authorized code has expired: make a new offer")
    _check_tx_code(ctx, offer, code, form.get("tx_code") or form.get("user_pin"))
    details = _authorization_details(form.get("authorization_details"), offer,
                                     _configuration_of(ctx, offer.credential_id))
    access = secrets.token_urlsafe(32)
    with ctx.store.session() as session:
        spent = session.execute(
            update(WalletOffer).where(WalletOffer.id == offer.id, WalletOffer.redeemed_at.is_(None))
            .values(redeemed_at=moment, token_hash=digest(access),
                    token_expires_at=moment + timedelta(seconds=TOKEN_SECONDS)))
    if getattr(spent, "rowcount", 0) != 1:
        raise OAuthError("invalid_grant", "this pre-authorized code was already used")
    answer: dict[str, Any] = {"access_token": access, "token_type": "bearer", "expires_in": TOKEN_SECONDS}
    if details is not None:
        answer["authorization_details"] = details
    return answer


def new_nonce(ctx: ServiceContext) -> dict[str, Any]:
    """The nonce endpoint: a fresh single-use ``c_nonce`` (expired ones are cleared)."""
    value = secrets.token_urlsafe(24)
    moment = now()
    with ctx.store.session() as session:
        session.execute(delete(WalletNonce).where(WalletNonce.expires_at < moment - timedelta(hours=1)))
        session.add(WalletNonce(nonce_hash=digest(value),
                                expires_at=moment + timedelta(seconds=NONCE_SECONDS)))
    return {"c_nonce": value}


def _spend_nonce(ctx: ServiceContext, value: str | None) -> bool:
    if not value:
        return False
    moment = now()
    with ctx.store.session() as session:
        done = session.execute(
            update(WalletNonce).where(WalletNonce.nonce_hash == digest(value),
                                      WalletNonce.used_at.is_(None), WalletNonce.expires_at > moment)
            .values(used_at=moment))
    return getattr(done, "rowcount", 0) == 1


def _bearer(authorization: str | None) -> str:
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise OAuthError("invalid_token", "send the access token: Authorization: Bearer <token>", status=401)
    return value.strip()


def _granted_offer(ctx: ServiceContext, access: str) -> WalletOffer:
    with ctx.store.session() as session:
        offer = session.scalars(select(WalletOffer).where(WalletOffer.token_hash == digest(access))).first()
        if offer is not None:
            session.expunge(offer)
    if offer is None or offer.token_expires_at is None or aware(offer.token_expires_at) <= now():
        raise OAuthError("invalid_token", "the access token is unknown or expired", status=401)
    if offer.delivered_at is not None:
        raise OAuthError("invalid_token", "this access token was already spent on its credential",
                         status=401)
    return offer


def _proof_jwts(request: dict[str, Any]) -> list[str]:
    proofs = request.get("proofs")
    if isinstance(proofs, dict):
        others = set(proofs) - {"jwt", "proof_type"}
        if others:
            raise OAuthError("invalid_proof", f"unsupported proof types {sorted(others)}: send jwt proofs")
        jwts = proofs.get("jwt")
        listed = jwts if isinstance(jwts, list) else [jwts] if jwts is not None else []
    elif isinstance(request.get("proof"), dict):
        proof = request["proof"]
        if proof.get("proof_type") != "jwt":
            raise OAuthError("invalid_proof", "only proof_type jwt is supported")
        listed = [proof.get("jwt")]
    elif proofs is not None or "proof" in request:
        raise OAuthError("invalid_credential_request", "proofs must be an object {\"jwt\": [...]}")
    else:
        listed = []
    if not all(isinstance(j, str) for j in listed):
        raise OAuthError("invalid_proof", "each jwt proof must be a compact JWT string")
    if len(listed) > 1:
        raise OAuthError("invalid_credential_request", "one proof per request: this issuer's batch size is 1")
    return [str(j) for j in listed]


def _check_requested(request: dict[str, Any], offer: WalletOffer, config: str) -> bool:
    """Whether the request names the offer's credential; True for the Draft 13 shape."""
    if "credential_identifier" in request:
        if request["credential_identifier"] != offer.credential_id:
            raise OAuthError("unknown_credential_identifier", "the access token is for another credential")
        return False
    if "credential_configuration_id" in request:
        if request["credential_configuration_id"] != config:
            raise OAuthError("unknown_credential_configuration",
                             f"the access token is for credential configuration {config!r}")
        return False
    if "format" in request:
        if request["format"] != "ldp_vc":
            raise OAuthError("unsupported_credential_format", "this issuer issues ldp_vc credentials only")
        definition = request.get("credential_definition")
        types = definition.get("type") if isinstance(definition, dict) else None
        if not isinstance(types, list) or "OpenBadgeCredential" not in types:
            raise OAuthError("unsupported_credential_type",
                             "credential_definition.type must include OpenBadgeCredential")
        return True
    raise OAuthError("invalid_credential_request",
                     "name the credential: credential_configuration_id or credential_identifier")


def _retry(ctx: ServiceContext, error: str, description: str) -> OAuthError:
    return OAuthError(error, description, extra={"c_nonce": new_nonce(ctx)["c_nonce"]})


def credential(ctx: ServiceContext, *, authorization: str | None, request: Any) -> dict[str, Any]:
    """The credential endpoint: the offered badge, signed afresh for the proof's holder DID."""
    offer = _granted_offer(ctx, _bearer(authorization))
    if not isinstance(request, dict):
        raise OAuthError("invalid_credential_request", "the credential request must be a JSON object")
    draft13 = _check_requested(request, offer, _configuration_of(ctx, offer.credential_id))
    jwts = _proof_jwts(request)
    if not jwts:
        raise _retry(ctx, "invalid_proof", "a jwt proof of the holder's key is required (get a c_nonce "
                     "from the nonce endpoint)")
    try:
        proof = verify_key_proof(jwts[0], audience=issuer_url(ctx))
    except HolderProofError as exc:
        raise _retry(ctx, "invalid_proof", str(exc)) from None
    if not _spend_nonce(ctx, proof.nonce):
        raise _retry(ctx, "invalid_nonce", "the proof's nonce is missing, unknown, expired or already "
                     "used: get a new c_nonce from the nonce endpoint")
    return _deliver(ctx, offer, proof.holder, draft13)


def _deliver(ctx: ServiceContext, offer: WalletOffer, holder: str, draft13: bool) -> dict[str, Any]:
    with ctx.store.session() as session:
        claimed = session.execute(
            update(WalletOffer).where(WalletOffer.id == offer.id, WalletOffer.delivered_at.is_(None))
            .values(delivered_at=now()))
    if getattr(claimed, "rowcount", 0) != 1:
        raise OAuthError("invalid_token", "this access token was already spent on its credential", status=401)
    try:
        signed = issue_holder_copy(ctx.issuer, offer.credential_id, holder=holder, protocol="openid4vci")
    except IssuanceError as exc:
        raise OAuthError("credential_request_denied", str(exc)) from None
    except Exception:
        with ctx.store.session() as session:  # nothing was issued: the token may be spent again
            session.execute(update(WalletOffer).where(WalletOffer.id == offer.id).values(delivered_at=None))
        raise
    answer: dict[str, Any] = {"credentials": [{"credential": signed}]}
    if draft13:
        answer.update(format="ldp_vc", credential=signed)
    return answer
