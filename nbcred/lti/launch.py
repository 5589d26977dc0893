"""OIDC login initiation and launch validation (LTI 1.3 Core, IMS Security Framework 1.0).

Login: the platform names itself (``iss``, ``client_id``); a random ``state`` (stored hashed) and
``nonce`` are kept server-side and the browser is sent to the platform's authorisation endpoint.
Launch: the ``state`` must be one this service handed out, unexpired and unused (it is spent by
the first launch that brings it); the ``id_token`` is verified by joserfc against the platform's
published keys (chosen by ``kid``; the key set is fetched again once when a ``kid`` is unknown),
then its issuer, audience and ``azp``, expiry, nonce, deployment, message type and version are
checked here. Any failure is a :class:`LaunchRefused` with a 4xx status.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jws, jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from nbcred.lti import claims as c
from nbcred.lti.errors import LaunchRefused
from nbcred.store.models import LtiDeployment, LtiLogin, LtiPlatform

LOGIN_LIFETIME = timedelta(minutes=10)
LEEWAY = 60
TIMEOUT = 10.0
KEYSET_TTL = 300.0
KEYSET_REFETCH_AFTER = 10.0
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "ES256"]


@dataclass(frozen=True)
class Ags:
    """The launch's Assignment and Grade Services endpoint claim."""

    lineitem: str | None
    lineitems: str | None
    scopes: tuple[str, ...]


@dataclass(frozen=True)
class DeepLinking:
    """The deep-linking settings of an ``LtiDeepLinkingRequest``."""

    return_url: str
    data: Any
    accept_types: tuple[str, ...]
    accept_multiple: bool


@dataclass(frozen=True)
class Launch:
    """A verified launch: who, from where, into what."""

    platform_id: int
    issuer: str
    client_id: str
    deployment_pk: int
    deployment_id: str
    message_type: str
    subject: str
    name: str
    email: str | None
    roles: tuple[str, ...]
    instructor: bool
    context_id: str | None
    context_title: str
    resource_link_id: str | None
    resource_link_title: str
    custom: dict[str, Any] = field(default_factory=dict)
    target_link_uri: str = ""
    ags: Ags | None = None
    memberships_url: str | None = None
    deep_linking: DeepLinking | None = None
    return_url: str | None = None


def digest(state: str) -> str:
    return hashlib.sha256(f"lti-state:{state}".encode()).hexdigest()


def find_platform(session: Session, issuer: str, client_id: str | None) -> LtiPlatform:
    """The registration of ``issuer`` (and ``client_id`` when given); refused when unknown or ambiguous."""
    query = select(LtiPlatform).where(LtiPlatform.issuer == issuer)
    if client_id:
        query = query.where(LtiPlatform.client_id == client_id)
    found = list(session.scalars(query.limit(2)))
    if not found:
        raise LaunchRefused(f"no LTI platform {issuer!r}" + (f" with client id {client_id!r}" if client_id
                            else "") + " is registered here (nbcred lti add-platform)", 400)
    if len(found) > 1:
        raise LaunchRefused(f"several registrations of {issuer!r}: the platform must send client_id", 400)
    return found[0]


def begin_login(session: Session, *, issuer: str, login_hint: str, target_link_uri: str,
                redirect_uri: str, lti_message_hint: str | None = None, client_id: str | None = None
                ) -> str:
    """Record a login and return the platform's authorisation URL to send the browser to."""
    if not issuer or not login_hint or not target_link_uri:
        raise LaunchRefused("an LTI login needs iss, login_hint and target_link_uri", 400)
    platform = find_platform(session, issuer, client_id)
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.execute(delete(LtiLogin).where(LtiLogin.expires_at < now - timedelta(days=1)))  # old logins
    session.add(LtiLogin(state_hash=digest(state), nonce=nonce, platform_id=platform.id, created_at=now,
                         expires_at=now + LOGIN_LIFETIME))
    query = {"scope": "openid", "response_type": "id_token", "response_mode": "form_post",
             "prompt": "none", "client_id": platform.client_id, "redirect_uri": redirect_uri,
             "login_hint": login_hint, "state": state, "nonce": nonce}
    if lti_message_hint:
        query["lti_message_hint"] = lti_message_hint
    separator = "&" if "?" in platform.auth_login_url else "?"
    return f"{platform.auth_login_url}{separator}{urlencode(query)}"


@dataclass(frozen=True)
class Login:
    """A spent login: the platform it was started for and the nonce the launch must carry."""

    platform_id: int
    nonce: str


def spend_state(session: Session, state: str) -> Login:
    """Spend the login ``state`` names (commit it before checking the token: spent either way)."""
    if not state:
        raise LaunchRefused("the launch carries no state: start it again from the LMS", 400)
    row = session.get(LtiLogin, digest(state))
    if row is None:
        raise LaunchRefused("this launch's state was not handed out here: start it again from the LMS", 400)
    now = datetime.now(UTC)
    spent = session.execute(  # type: ignore[attr-defined]
        update(LtiLogin).where(LtiLogin.state_hash == row.state_hash, LtiLogin.used_at.is_(None),
                               LtiLogin.expires_at > now)
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if spent != 1:
        reason = "was already used (a replayed launch)" if row.used_at is not None else "has expired"
        raise LaunchRefused(f"this launch's state {reason}: start it again from the LMS", 400)
    return Login(row.platform_id, row.nonce)


class KeySets:
    """Platforms' published keys, fetched on demand and kept for a few minutes (thread-safe)."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, KeySet]] = {}

    def get(self, url: str, *, fresh: bool = False) -> KeySet:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(url)
        if cached is not None and now - cached[0] < (KEYSET_REFETCH_AFTER if fresh else KEYSET_TTL):
            return cached[1]
        try:
            get = self._client.get if self._client is not None else httpx.get
            answer = get(url, timeout=TIMEOUT, follow_redirects=False)
            answer.raise_for_status()
            keys = KeySet.import_key_set(answer.json())
        except (httpx.HTTPError, ValueError, JoseError) as exc:
            raise LaunchRefused(f"the platform's keys at {url} cannot be read: {exc}", 502) from exc
        with self._lock:
            self._cache[url] = (now, keys)
        return keys


def _unverified(id_token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        token = jws.extract_compact(id_token.encode())
        payload = json.loads(token.payload)
    except (JoseError, ValueError) as exc:
        raise LaunchRefused("the id_token is not a signed JWT", 400) from exc
    if not isinstance(payload, dict):
        raise LaunchRefused("the id_token's payload is not a JSON object", 400)
    return dict(token.headers()), payload


def _verified(id_token: str, platform: LtiPlatform, keysets: KeySets) -> dict[str, Any]:
    for fresh in (False, True):
        try:
            token = jwt.decode(id_token, keysets.get(platform.keyset_url, fresh=fresh), algorithms=ALGORITHMS)
            return dict(token.claims)
        except InvalidKeyIdError as exc:
            if fresh:
                raise LaunchRefused("the id_token is signed by a key the platform does not publish "
                                    "(unknown kid)", 401) from exc
        except BadSignatureError as exc:
            raise LaunchRefused("the id_token's signature does not verify with the platform's keys",
                                401) from exc
        except (JoseError, ValueError) as exc:
            raise LaunchRefused(f"the id_token cannot be verified: {exc}", 401) from exc
    raise AssertionError("unreachable")


def _check_claims(claims: dict[str, Any], platform: LtiPlatform, nonce: str) -> None:
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if platform.client_id not in audiences:
        raise LaunchRefused(f"the id_token is for another tool (aud {audience!r}), not client "
                            f"{platform.client_id!r}", 401)
    if (len(audiences) > 1 or "azp" in claims) and claims.get("azp") != platform.client_id:
        raise LaunchRefused(f"the id_token's azp {claims.get('azp')!r} is not this tool's client id", 401)
    now = int(time.time())
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int | float) or exp + LEEWAY < now:
        raise LaunchRefused("the id_token has expired: launch again from the LMS", 401)
    if not isinstance(iat, int | float) or iat - LEEWAY > now:
        raise LaunchRefused("the id_token is issued in the future (check the clocks)", 401)
    if not isinstance(claims.get("nonce"), str) or not secrets.compare_digest(claims["nonce"], nonce):
        raise LaunchRefused("the id_token's nonce is not this login's (a replayed or foreign token)", 401)
    if claims.get(c.VERSION) != "1.3.0":
        raise LaunchRefused(f"LTI version {claims.get(c.VERSION)!r} is not supported (1.3.0 is)", 400)


def validate(session: Session, *, id_token: str, login: Login, keysets: KeySets) -> Launch:
    """Verify a launch of a spent ``login`` (see the module's docstring)."""
    _header, unverified = _unverified(id_token or "")
    platform = session.get(LtiPlatform, login.platform_id)
    if platform is None or unverified.get("iss") != platform.issuer:
        raise LaunchRefused(f"the id_token's issuer {unverified.get('iss')!r} is not the platform this "
                            "login was started for", 401)
    claims = _verified(id_token, platform, keysets)
    _check_claims(claims, platform, login.nonce)
    deployment_id = str(claims.get(c.DEPLOYMENT_ID) or "")
    deployment = session.scalars(select(LtiDeployment).where(
        LtiDeployment.platform_id == platform.id, LtiDeployment.deployment_id == deployment_id)).first()
    if deployment is None:
        raise LaunchRefused(f"deployment {deployment_id!r} of {platform.issuer} is not registered here "
                            "(nbcred lti add-platform … --deployment-id)", 403)
    return _launch(claims, platform, deployment)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _object(claims: dict[str, Any], name: str) -> dict[str, Any]:
    value = claims.get(name)
    return dict(value) if isinstance(value, dict) else {}


def _launch(claims: dict[str, Any], platform: LtiPlatform, deployment: LtiDeployment) -> Launch:
    message_type = claims.get(c.MESSAGE_TYPE)
    if message_type not in (c.RESOURCE_LINK_REQUEST, c.DEEP_LINKING_REQUEST):
        raise LaunchRefused(f"LTI message type {message_type!r} is not supported here", 400)
    subject = _text(claims.get("sub"))
    if not subject:
        raise LaunchRefused("anonymous launches (no sub) are not supported: nbcred needs the learner", 400)
    roles = tuple(r for r in claims.get(c.ROLES) or [] if isinstance(r, str))
    context, link = _object(claims, c.CONTEXT), _object(claims, c.RESOURCE_LINK)
    if message_type == c.RESOURCE_LINK_REQUEST and not _text(link.get("id")):
        raise LaunchRefused("a resource link launch needs the resource_link claim's id", 400)
    custom = _object(claims, c.CUSTOM)
    name = _text(claims.get("name")) or " ".join(
        p for p in (_text(claims.get("given_name")), _text(claims.get("family_name"))) if p)
    email = _text(claims.get("email")).lower() or None
    presentation = _object(claims, c.LAUNCH_PRESENTATION)
    return Launch(
        platform_id=platform.id, issuer=platform.issuer, client_id=platform.client_id,
        deployment_pk=deployment.id, deployment_id=deployment.deployment_id, message_type=str(message_type),
        subject=subject, name=name, email=email, roles=roles, instructor=c.is_instructor(list(roles)),
        context_id=_text(context.get("id")) or None, context_title=_text(context.get("title")),
        resource_link_id=_text(link.get("id")) or None, resource_link_title=_text(link.get("title")),
        custom=dict(custom), target_link_uri=_text(claims.get(c.TARGET_LINK_URI)),
        ags=_ags(claims.get(c.AGS_ENDPOINT)), memberships_url=_memberships(claims.get(c.NRPS)),
        deep_linking=_deep_linking(claims.get(c.DL_SETTINGS)) if message_type == c.DEEP_LINKING_REQUEST
        else None,
        return_url=_text(presentation.get("return_url")) or None,
    )


def _ags(value: Any) -> Ags | None:
    if not isinstance(value, dict):
        return None
    scopes = tuple(s for s in value.get("scope") or [] if isinstance(s, str))
    return Ags(_text(value.get("lineitem")) or None, _text(value.get("lineitems")) or None, scopes)


def _memberships(value: Any) -> str | None:
    return _text(value.get("context_memberships_url")) or None if isinstance(value, dict) else None


def _deep_linking(value: Any) -> DeepLinking:
    if not isinstance(value, dict) or not _text(value.get("deep_link_return_url")):
        raise LaunchRefused("a deep linking request needs deep_linking_settings.deep_link_return_url", 400)
    accept = tuple(t for t in value.get("accept_types") or [] if isinstance(t, str))
    data = value.get("data")
    return DeepLinking(_text(value["deep_link_return_url"]), data, accept,
                       bool(value.get("accept_multiple", True)))
