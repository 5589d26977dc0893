"""LTI Dynamic Registration 1.0: the platform hands the tool its OpenID configuration URL (and a
registration token); the tool reads the configuration, posts its own registration to the
platform's registration endpoint, and keeps the client id and deployment id it gets back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx

from nbcred.lti import claims as c
from nbcred.lti.errors import RegistrationError

TIMEOUT = 15.0
TOOL_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-tool-configuration"
PLATFORM_CONFIGURATION = "https://purl.imsglobal.org/spec/lti-platform-configuration"
SCOPES = (c.SCOPE_LINEITEM, c.SCOPE_LINEITEM_READONLY, c.SCOPE_RESULT_READONLY, c.SCOPE_SCORE,
          c.SCOPE_MEMBERSHIPS)


@dataclass(frozen=True)
class PlatformConfiguration:
    """What the platform's OpenID configuration says (the parts a registration needs)."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    registration_endpoint: str
    product: str


@dataclass(frozen=True)
class Registered:
    """The platform's answer: this tool's client id and deployment there."""

    client_id: str
    deployment_id: str


def _host(url: str) -> str:
    return urlparse(url).netloc.lower()


def read_configuration(url: str, client: httpx.Client | None = None) -> PlatformConfiguration:
    """The platform's OpenID configuration; its issuer must be on the configuration URL's host."""
    if urlparse(url).scheme not in ("https", "http"):
        raise RegistrationError(f"openid_configuration {url!r} is not an http(s) URL")
    try:
        get = client.get if client is not None else httpx.get
        answer = get(url, timeout=TIMEOUT, follow_redirects=False)
        answer.raise_for_status()
        document = answer.json()
        config = PlatformConfiguration(
            str(document["issuer"]), str(document["authorization_endpoint"]), str(document["token_endpoint"]),
            str(document["jwks_uri"]), str(document["registration_endpoint"]),
            str((document.get(PLATFORM_CONFIGURATION) or {}).get("product_family_code") or ""))
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RegistrationError(f"the platform's configuration at {url} is unusable: {exc}") from exc
    if _host(config.issuer) != _host(url):
        raise RegistrationError(f"the configuration at {url} names the issuer {config.issuer}, "
                                "on another host")
    return config


def tool_registration(*, base: str, name: str) -> dict[str, Any]:
    """This tool's client registration (OpenID Connect Dynamic Client Registration + LTI)."""
    return {
        "application_type": "web",
        "response_types": ["id_token"],
        "grant_types": ["implicit", "client_credentials"],
        "initiate_login_uri": f"{base}/lti/login",
        "redirect_uris": [f"{base}/lti/launch"],
        "client_name": name,
        "jwks_uri": f"{base}/lti/jwks.json",
        "token_endpoint_auth_method": "private_key_jwt",
        "scope": " ".join(SCOPES),
        TOOL_CONFIGURATION: {
            "domain": _host(base),
            "target_link_uri": f"{base}/lti/launch",
            "claims": ["iss", "sub", "name", "given_name", "family_name", "email"],
            "messages": [{"type": c.DEEP_LINKING_REQUEST, "target_link_uri": f"{base}/lti/launch",
                          "label": f"{name}: add an assessment"}],
            "description": "Jupyter assessments, auto-grading and Open Badges 3.0 credentials.",
        },
    }


def register(config: PlatformConfiguration, body: dict[str, Any], registration_token: str | None,
             client: httpx.Client | None = None) -> Registered:
    """Post the registration; the client id and deployment id the platform assigned."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if registration_token:
        headers["Authorization"] = f"Bearer {registration_token}"
    try:
        post = client.post if client is not None else httpx.post
        answer = post(config.registration_endpoint, json=body, headers=headers, timeout=TIMEOUT,
                      follow_redirects=False)
        if answer.status_code >= 400:
            raise RegistrationError(f"the platform refused the registration ({answer.status_code}): "
                                    f"{answer.text[:300]}")
        document = answer.json()
        client_id = str(document["client_id"])
        deployment = str((document.get(TOOL_CONFIGURATION) or {}).get("deployment_id") or "")
    except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise RegistrationError(f"the platform's registration endpoint failed: {exc}") from exc
    if not deployment:
        raise RegistrationError("the platform registered the tool without a deployment id; add one with "
                                "nbcred lti add-platform once the LMS shows it")
    return Registered(client_id, deployment)
