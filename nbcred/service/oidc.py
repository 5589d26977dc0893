"""Sign-in with an institution's OpenID Connect provider (authorization code flow with PKCE).

The provider's metadata and keys come from its discovery document. The browser is sent to the
provider with a random ``state``, ``nonce`` and PKCE ``code_challenge`` (S256, authlib), kept in
the caller's session; the callback must bring the same state back. The ID token is checked with
joserfc: signature against the provider's published keys, issuer, audience (our client id),
expiry, and a nonce that matches the session's and was never used before (used nonces are kept,
hashed, until the token would have expired). Accounts are linked by (issuer, subject).
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.oauth2.rfc7636 import create_s256_code_challenge as create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import BadSignatureError, ExpiredTokenError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nbcred.service.context import ServiceContext
from nbcred.service.errors import ServiceError
from nbcred.service.selfservice import learner_for
from nbcred.service.users import ROLES, Account, Role, account_of, new_account
from nbcred.settings import OidcProvider, Settings
from nbcred.store.models import AccountToken, ExternalIdentity, User

TIMEOUT = 10.0
ALGORITHMS = ("RS256", "PS256", "ES256", "EdDSA")


class SignInRefused(ServiceError):
    """The provider's answer is not accepted; the message says why (shown on a clear page)."""

    status = 401


@dataclass(frozen=True)
class Metadata:
    """What the discovery document says (the parts used here)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


@dataclass(frozen=True)
class Pending:
    """A sign-in in progress, kept in the browser's session until the callback."""

    provider: str
    state: str
    nonce: str
    verifier: str
    next: str

    def as_dict(self) -> dict[str, str]:
        return {"provider": self.provider, "state": self.state, "nonce": self.nonce,
                "verifier": self.verifier, "next": self.next}


def provider(settings: Settings, name: str) -> OidcProvider:
    """The configured provider ``name``; refused for an unknown one."""
    for entry in settings.oidc_providers:
        if entry.name == name:
            return entry
    raise SignInRefused(f"no identity provider {name!r} is configured here")


@functools.lru_cache(maxsize=32)
def _discover(url: str, _hour: int) -> Metadata:
    try:
        document = httpx.get(url, timeout=TIMEOUT, follow_redirects=False).raise_for_status().json()
        return Metadata(str(document["issuer"]), str(document["authorization_endpoint"]),
                        str(document["token_endpoint"]), str(document["jwks_uri"]))
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise SignInRefused(f"the identity provider's discovery document at {url} is unusable: "
                            f"{exc}") from exc


def discover(entry: OidcProvider) -> Metadata:
    """The provider's metadata (fetched at most once an hour)."""
    return _discover(entry.discovery_url, int(time.time() // 3600))


def start(settings: Settings, name: str, *, redirect_uri: str, next: str = "/") -> tuple[str, Pending]:
    """The provider's authorization URL to send the browser to, and what the callback must match."""
    entry = provider(settings, name)
    meta = discover(entry)
    pending = Pending(name, secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48),
                      next)
    query = {"response_type": "code", "client_id": entry.client_id, "redirect_uri": redirect_uri,
             "scope": "openid email profile", "state": pending.state, "nonce": pending.nonce,
             "code_challenge": create_s256_code_challenge(pending.verifier), "code_challenge_method": "S256"}
    return f"{meta.authorization_endpoint}?{urlencode(query)}", pending


def _secret(settings: Settings, name: str) -> str:
    secret = settings.oidc_client_secrets.get(name)
    return secret.get_secret_value() if secret is not None else ""


def _token_request(settings: Settings, entry: OidcProvider, meta: Metadata, code: str, verifier: str,
                   redirect_uri: str) -> str:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "code_verifier": verifier}
    try:
        answer = httpx.post(meta.token_endpoint, data=form, timeout=TIMEOUT,
                            auth=(entry.client_id, _secret(settings, entry.name)))
        body = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SignInRefused(f"the identity provider's token endpoint failed: {exc}") from exc
    if answer.status_code != 200 or not isinstance(body.get("id_token"), str):
        reason = f"{body.get('error', answer.status_code)} {body.get('error_description', '')}".strip()
        raise SignInRefused(f"the identity provider refused the sign-in: {reason}")
    return str(body["id_token"])


def _keys(meta: Metadata) -> KeySet:
    try:
        return KeySet.import_key_set(httpx.get(meta.jwks_uri, timeout=TIMEOUT).raise_for_status().json())
    except (httpx.HTTPError, ValueError, JoseError) as exc:
        raise SignInRefused(f"the identity provider's keys at {meta.jwks_uri} are unusable: {exc}") from exc


def check_id_token(id_token: str, *, keys: KeySet, issuer: str, client_id: str, nonce: str,
                   now: int | None = None) -> dict[str, Any]:
    """The ID token's claims if its signature, issuer, audience, expiry and nonce are right."""
    try:
        token = jwt.decode(id_token, keys, algorithms=list(ALGORITHMS))
    except BadSignatureError as exc:
        raise SignInRefused("the ID token's signature does not verify with the provider's keys") from exc
    except JoseError as exc:
        raise SignInRefused(f"the ID token cannot be read: {exc}") from exc
    claims = dict(token.claims)
    if claims.get("iss") != issuer:
        raise SignInRefused(f"the ID token comes from an unknown issuer {claims.get('iss')!r} "
                            f"(expected {issuer})")
    audience = claims.get("aud")
    if client_id not in (audience if isinstance(audience, list) else [audience]):
        raise SignInRefused(f"the ID token is for another client (audience {audience!r}), not this service")
    if claims.get("nonce") != nonce:
        raise SignInRefused("the ID token's nonce does not match this sign-in (a replayed or foreign token)")
    registry = jwt.JWTClaimsRegistry(now=now, leeway=60, sub={"essential": True}, exp={"essential": True})
    try:
        registry.validate(claims)
    except ExpiredTokenError as exc:
        raise SignInRefused("the ID token has expired: sign in again") from exc
    except JoseError as exc:
        raise SignInRefused(f"the ID token is not acceptable: {exc}") from exc
    return claims


def _spend_nonce(ctx: ServiceContext, nonce: str, expires: int) -> None:
    """Remember a nonce as used; a second use is refused (replay)."""
    digest = hashlib.sha256(f"oidc-nonce:{nonce}".encode()).hexdigest()
    until = datetime.fromtimestamp(max(expires, int(time.time())), UTC) + timedelta(minutes=5)
    try:
        with ctx.store.session() as session:
            session.add(AccountToken(token_hash=digest, purpose="oidc_nonce", email="", data={},
                                     expires_at=until, used_at=datetime.now(UTC)))
    except IntegrityError as exc:
        raise SignInRefused("this ID token was already used to sign in (replayed nonce)") from exc


def role_for(entry: OidcProvider, claims: dict[str, Any]) -> Role:
    """The role a new account gets: from the roles claim, else by e-mail domain, else learner."""
    wanted: list[str] = []
    if entry.roles_claim:
        values = claims.get(entry.roles_claim)
        for value in values if isinstance(values, list) else [values]:
            if isinstance(value, str) and value in entry.role_values:
                wanted.append(entry.role_values[value])
    domain = str(claims.get("email") or "").rpartition("@")[2].lower()
    if domain in entry.domain_roles:
        wanted.append(entry.domain_roles[domain])
    for role in reversed(ROLES):  # the highest role granted wins
        if role in wanted:
            return role
    return "learner"


def finish(ctx: ServiceContext, pending: Pending, *, name: str, state: str, code: str,
           redirect_uri: str) -> Account:
    """Check the callback, the code exchange and the ID token; the linked (or new) account."""
    if name != pending.provider or not secrets.compare_digest(state, pending.state):
        raise SignInRefused("this sign-in answer does not belong to a sign-in started here (state mismatch)")
    entry = provider(ctx.settings, name)
    meta = discover(entry)
    id_token = _token_request(ctx.settings, entry, meta, code, pending.verifier, redirect_uri)
    claims = check_id_token(id_token, keys=_keys(meta), issuer=meta.issuer, client_id=entry.client_id,
                            nonce=pending.nonce)
    _spend_nonce(ctx, pending.nonce, int(claims.get("exp", 0)))
    return link_account(ctx, entry, meta.issuer, claims)


def link_account(ctx: ServiceContext, entry: OidcProvider, issuer: str, claims: dict[str, Any]) -> Account:
    """The account linked to (issuer, subject); else the verified address's, linked now; else a new one."""
    subject = str(claims["sub"])
    with ctx.store.session() as session:
        linked = session.scalars(select(ExternalIdentity).where(
            ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject)).first()
        if linked is not None:
            user = session.get(User, linked.user_id)
            if user is None or not user.active:
                raise SignInRefused("the account linked to this sign-in is disabled")
            return account_of(user)
        email = str(claims.get("email") or "").strip().lower()
        if not email or claims.get("email_verified") is not True:
            raise SignInRefused("the identity provider did not give a verified e-mail address")
        user = session.scalars(select(User).where(User.email == email)).first()
        if user is not None and not user.active:
            raise SignInRefused("the account of this address is disabled")
        account = account_of(user) if user is not None else new_account(
            session, email=email, name=str(claims.get("name") or email), role=role_for(entry, claims),
            password_hash=None, learner=learner_for(session, email))
        session.add(ExternalIdentity(user_id=account.id, issuer=issuer, subject=subject))
        return account
