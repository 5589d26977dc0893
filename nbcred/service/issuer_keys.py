"""The issuer's signing keys for a did:web issuer: rotate (a new key signs from now on) and
retire (an old key leaves the DID document). Every key in the ring is listed in ``did.json``,
so credentials signed with an older key keep verifying until that key is retired."""

from __future__ import annotations

from dataclasses import dataclass

from credentials.errors import CredentialError
from nbcred.issuance.identity import key_store, rotate_key
from nbcred.service.context import ServiceContext
from nbcred.service.errors import Conflict, NotFound


@dataclass(frozen=True)
class IssuerKey:
    """One signing key: its id in the key store, verification method, and whether it signs."""

    id: str
    verification_method: str
    signing: bool


def _did_web(ctx: ServiceContext) -> None:
    if not ctx.settings.issuer_did_web:
        raise Conflict("key rotation needs a did:web issuer (set NBCRED_ISSUER_DID_WEB): a did:key "
                       "issuer's identifier is its key, so a new key would be a new issuer")


def issuer_keys(ctx: ServiceContext) -> list[IssuerKey]:
    """The keys in the DID document, oldest first; the newest signs."""
    identity = ctx.issuer.reload_identity()
    ids = key_store(ctx.settings).key_ids()
    methods = [m["id"] for m in (identity.did_document or {}).get("verificationMethod", [])]
    if not methods:
        methods = [identity.verification_method]
    return [IssuerKey(key_id, method, method == identity.verification_method)
            for key_id, method in zip(ids, methods, strict=False)]


def rotate_issuer_key(ctx: ServiceContext) -> list[IssuerKey]:
    """Add a new signing key; the DID document lists it with the older ones."""
    _did_web(ctx)
    rotate_key(ctx.settings)
    return issuer_keys(ctx)


def retire_issuer_key(ctx: ServiceContext, key_id: str) -> list[IssuerKey]:
    """Take an old key out of the DID document: credentials it signed stop verifying."""
    _did_web(ctx)
    keys = issuer_keys(ctx)
    found = [k for k in keys if k.id == key_id]
    if not found:
        raise NotFound(f"no issuer key {key_id!r}; `nbcred credential keys` lists them")
    if found[0].signing:
        raise Conflict(f"{key_id} is the signing key: rotate first, then retire the old one")
    try:
        key_store(ctx.settings).retire(key_id)
    except CredentialError as exc:
        raise Conflict(str(exc)) from exc
    return issuer_keys(ctx)
