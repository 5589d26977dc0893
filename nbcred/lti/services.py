"""Calling the platform: access tokens (client credentials with a signed JWT assertion, IMS
Security Framework 1.0 §4.1), then AGS line items and scores and NRPS memberships.

Tokens are cached per (token endpoint, client id, scopes) until a minute before they expire.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from nbcred.lti import claims as c
from nbcred.lti.errors import PlatformCallFailed

TIMEOUT = 15.0
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
MAX_PAGES = 200

Signer = Callable[[dict[str, Any]], str]
"""Signs claims with the tool's current key (see :func:`nbcred.lti.keys.sign`)."""


@dataclass(frozen=True)
class Registration:
    """What a call to a platform needs of its registration."""

    issuer: str
    client_id: str
    token_url: str
    audience: str | None = None
    """The ``aud`` of client assertions (default: the token URL)."""


class Tokens:
    """Access tokens by client-credentials grant, cached until shortly before they expire."""

    def __init__(self, client: httpx.Client | None = None) -> None:
        self._client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], tuple[float, str]] = {}

    def token(self, registration: Registration, scopes: list[str], sign: Signer) -> str:
        key = (registration.token_url, registration.client_id, " ".join(sorted(scopes)))
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and cached[0] > time.time():
            return cached[1]
        now = int(time.time())
        assertion = sign({"iss": registration.client_id, "sub": registration.client_id,
                          "aud": registration.audience or registration.token_url,
                          "iat": now, "exp": now + 300,
                          "jti": secrets.token_urlsafe(24)})
        form = {"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion, "scope": " ".join(scopes)}
        answer = self._send("POST", registration.token_url, data=form,
                            headers={"Accept": "application/json"}, what="the token endpoint")
        try:
            body = answer.json()
            token = str(body["access_token"])
            lifetime = int(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError) as exc:
            raise PlatformCallFailed(f"the token endpoint's answer is not a token: "
                                     f"{answer.text[:200]}") from exc
        granted = str(body.get("scope") or "").split() if "scope" in body else scopes  # RFC 6749 §5.1
        missing = [s for s in scopes if s not in granted]
        if missing:
            raise PlatformCallFailed(f"the platform did not grant the scope(s) {', '.join(missing)}: "
                                     "enable the service for this tool in the LMS", retry=False)
        with self._lock:
            self._cache[key] = (time.time() + max(0, lifetime - 60), token)
        return token

    def forget(self, registration: Registration) -> None:
        """Drop cached tokens of ``registration`` (after the platform refused one)."""
        with self._lock:
            for key in [k for k in self._cache if k[:2] == (registration.token_url, registration.client_id)]:
                del self._cache[key]

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> httpx.Response:
        try:
            answer = self._client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            raise PlatformCallFailed(f"{what} at {url} cannot be reached: {exc}") from exc
        if answer.status_code >= 400:
            retry = answer.status_code >= 500 or answer.status_code in (401, 408, 429)
            raise PlatformCallFailed(f"{what} at {url} answered {answer.status_code}: "
                                     f"{answer.text[:300]}", retry=retry)
        return answer

    def call(self, registration: Registration, scopes: list[str], sign: Signer, method: str, url: str,
             *, what: str, **kwargs: Any) -> httpx.Response:
        """A service call with a bearer token (a refused token is replaced once)."""
        for attempt in (1, 2):
            headers = {**kwargs.pop("headers", {}),
                       "Authorization": f"Bearer {self.token(registration, scopes, sign)}"}
            try:
                return self._send(method, url, headers=headers, what=what, **kwargs)
            except PlatformCallFailed as exc:
                if attempt == 2 or "answered 401" not in str(exc):
                    raise
                self.forget(registration)
                kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
        raise AssertionError("unreachable")


def scores_url(lineitem: str) -> str:
    """``{lineitem}/scores``, the query string (if any) kept after the path (AGS 2.0 §3.4)."""
    path, _, query = lineitem.partition("?")
    return f"{path.rstrip('/')}/scores" + (f"?{query}" if query else "")


def post_score(tokens: Tokens, registration: Registration, sign: Signer, lineitem: str,
               score: dict[str, Any]) -> int:
    """POST ``score`` to the line item's scores endpoint; the platform's status code."""
    answer = tokens.call(registration, [c.SCOPE_SCORE], sign, "POST", scores_url(lineitem),
                         what="the scores endpoint", json=score,
                         headers={"Content-Type": c.SCORE_MEDIA_TYPE})
    return answer.status_code


def find_or_create_lineitem(tokens: Tokens, registration: Registration, sign: Signer, lineitems: str, *,
                            resource_link_id: str, resource_id: str, label: str,
                            score_maximum: float) -> str:
    """The line item of ``resource_id`` under ``lineitems``, created when missing (never twice)."""
    scopes = [c.SCOPE_LINEITEM]
    for item in _pages(tokens, registration, sign, scopes, lineitems, {"resource_id": resource_id},
                       c.LINEITEMS_MEDIA_TYPE):
        if item.get("resourceId") == resource_id and isinstance(item.get("id"), str):
            return str(item["id"])
    body = {"scoreMaximum": score_maximum, "label": label, "resourceId": resource_id,
            "resourceLinkId": resource_link_id}
    answer = tokens.call(registration, scopes, sign, "POST", lineitems, what="the line items endpoint",
                         json=body, headers={"Content-Type": c.LINEITEM_MEDIA_TYPE,
                                             "Accept": c.LINEITEM_MEDIA_TYPE})
    try:
        return str(answer.json()["id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PlatformCallFailed(f"the created line item has no id: {answer.text[:200]}") from exc


def memberships(tokens: Tokens, registration: Registration, sign: Signer, url: str) -> list[dict[str, Any]]:
    """Every member of the context (NRPS 2.0; pages followed by the ``Link: rel=next`` header)."""
    members: list[dict[str, Any]] = []
    for page in _raw_pages(tokens, registration, sign, [c.SCOPE_MEMBERSHIPS], url, {},
                           c.MEMBERSHIPS_MEDIA_TYPE, what="the memberships endpoint"):
        found = page.get("members") if isinstance(page, dict) else None
        members.extend(m for m in found or [] if isinstance(m, dict))
    return members


def _pages(tokens: Tokens, registration: Registration, sign: Signer, scopes: list[str], url: str,
           params: dict[str, str], accept: str) -> Iterator[dict[str, Any]]:
    for page in _raw_pages(tokens, registration, sign, scopes, url, params, accept,
                           what="the line items endpoint"):
        yield from (item for item in page if isinstance(item, dict)) if isinstance(page, list) else ()


def _raw_pages(tokens: Tokens, registration: Registration, sign: Signer, scopes: list[str], url: str,
               params: dict[str, str], accept: str, *, what: str) -> Iterator[Any]:
    next_url: str | None = url
    first = True
    for _ in range(MAX_PAGES):
        if next_url is None:
            return
        answer = tokens.call(registration, scopes, sign, "GET", next_url, what=what,
                             params=params if first else None, headers={"Accept": accept})
        first = False
        try:
            yield answer.json()
        except ValueError as exc:
            raise PlatformCallFailed(f"{what} did not answer JSON: {answer.text[:200]}") from exc
        link = answer.links.get("next")
        next_url = link.get("url") if link else None
        if next_url is None and isinstance(body := answer.json(), dict) and isinstance(body.get("next"), str):
            next_url = body["next"]  # some platforms put the next page's URL in the body
