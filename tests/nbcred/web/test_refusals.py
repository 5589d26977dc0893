"""Every route is checked: anonymous callers and wrong roles are refused, and a learner never sees
another learner's submission, result, feedback or credential.

Routes are discovered from the app, so a new route is covered as soon as it exists: a route with
no role dependency must be listed in PUBLIC, or this test fails.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from nbcred.web.app import create_app
from tests.nbcred.web.conftest import Service, settings_for

PUBLIC = {  # (method, path): deliberately open to anyone
    ("GET", "/healthz"), ("GET", "/signin"), ("POST", "/signin"), ("POST", "/signout"),
    ("GET", "/verify"), ("POST", "/verify"), ("POST", "/api/v1/credentials/verify"),
    ("GET", "/credentials/{credential_id}"), ("GET", "/issuer"), ("GET", "/.well-known/did.json"),
    ("GET", "/status/{purpose}/{number}"), ("GET", "/status/revocations"),
    ("GET", "/achievements/{assessment_id}/{version}"),
    ("GET", "/achievements/{assessment_id}/{version}/{filename}"), ("GET", "/pathways/{pathway_id}"),
    ("GET", "/pathways/{pathway_id}/{filename}"),
    ("GET", "/credentials/{credential_id}/image.png"), ("POST", "/credentials/{credential_id}/recipient"),
    ("GET", "/issuer/logo.svg"),
    ("GET", "/api/v1/openapi.json"), ("GET", "/api/docs"), ("HEAD", "/api/docs"),
    ("HEAD", "/api/v1/openapi.json"), ("GET", "/api/docs/oauth2-redirect"),
    ("HEAD", "/api/docs/oauth2-redirect"),
    # wallets: OpenID4VCI metadata and endpoints (the token endpoint wants a pre-authorized code,
    # the credential endpoint an access token) and VC-API exchanges (a secret in the URL)
    ("GET", "/.well-known/openid-credential-issuer"), ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/openid4vci/logos/{name}.png"), ("POST", "/openid4vci/token"), ("POST", "/openid4vci/nonce"),
    ("POST", "/openid4vci/credential"), ("POST", "/exchanges/{handle}"),
    # links sent by e-mail (single-use tokens) and the sign-in/sign-up pages that lead to an account
    ("GET", "/claim/{token}"), ("POST", "/claim/{token}"), ("GET", "/password-reset"),
    ("POST", "/password-reset"), ("GET", "/password-reset/{token}"), ("POST", "/password-reset/{token}"),
    ("GET", "/unsubscribe/{token}"), ("POST", "/unsubscribe/{token}"), ("GET", "/signup"),
    ("POST", "/signup"), ("GET", "/signup/confirm/{token}"), ("POST", "/signup/confirm/{token}"),
    ("GET", "/invite/{token}"), ("POST", "/invite/{token}"), ("GET", "/account/email/{token}"),
    ("POST", "/account/email/{token}"), ("GET", "/signin/oidc/{name}"),
    ("GET", "/signin/oidc/{name}/callback"),
    # LTI 1.3: posted by the LMS's page (the launch is authenticated by its signed id_token and
    # single-use state), the tool's public keys, and the single-use continuation after a launch
    ("GET", "/lti/login"), ("POST", "/lti/login"), ("POST", "/lti/launch"), ("GET", "/lti/jwks.json"),
    ("GET", "/lti/continue/{code}"), ("GET", "/lti/resume/{code}"),
    ("GET", "/lti/register"),  # LTI Dynamic Registration: a single-use token made by an administrator
}
ROLE_OF = {"ada": "learner", "bob": "learner", "grace": "instructor", "alan": "admin"}


def routes() -> list[tuple[str, str, tuple[str, ...] | None]]:
    """(method, path, roles allowed or None for public) for every route of the app."""
    app = create_app(settings_for(Path("/nonexistent"), "sqlite://", serve_grading=False))
    found = []
    for prefix, route in _walk(app.routes, ""):
        for method in sorted(getattr(route, "methods", None) or []):
            roles = _roles(route) if isinstance(route, APIRoute) else None
            found.append((method, prefix + route.path, roles))  # type: ignore[attr-defined]
    return found


def _walk(routes: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
    """Every endpoint, including those of included routers (whatever way FastAPI keeps them)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            extra = getattr(getattr(route, "include_context", None), "prefix", "") or ""
            yield from _walk(inner.routes, prefix + extra)
        elif hasattr(route, "methods"):
            yield prefix, route


def _roles(route: APIRoute) -> tuple[str, ...] | None:
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        roles = getattr(dependant.call, "roles", None)
        if roles is not None:
            return tuple(roles)
        stack.extend(dependant.dependencies)
    return None


ROUTES = routes()


def test_every_unprotected_route_is_deliberately_public() -> None:
    unprotected = {(m, p) for m, p, roles in ROUTES if roles is None}
    assert unprotected <= PUBLIC, (
        f"routes without a role dependency (add require(...) or list them in PUBLIC): {unprotected - PUBLIC}")


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", lambda m: values.get(m.group(1), "x"), path)


#: JSON bodies for routes that need one, so the check reaches the route rather than validation.
BODIES = {"/api/v1/credentials/{credential_id}/name": {"show": False}}


def _call(client: TestClient, method: str, url: str, headers: dict[str, str], path: str = "") -> Any:
    return client.request(method, url, headers=headers, json=BODIES.get(path), follow_redirects=False)


PROTECTED = [(m, p, roles) for m, p, roles in ROUTES if roles is not None]


@pytest.mark.parametrize(("method", "path", "roles"), PROTECTED, ids=[f"{m} {p}" for m, p, _ in PROTECTED])
def test_anonymous_and_wrong_roles_are_refused(
    world: tuple[Service, dict[str, str]], method: str, path: str, roles: tuple[str, ...]
) -> None:
    service, values = world
    url = _url(path, values)
    anonymous = _call(service.client, method, url, {})
    if anonymous.status_code == 303:
        assert anonymous.headers["location"].startswith("/signin"), url
    else:
        assert anonymous.status_code == 401, (url, anonymous.text)
    bad_token = _call(service.client, method, url, {"Authorization": "Bearer nbc_forged"})
    assert bad_token.status_code == 401
    for who, role in ROLE_OF.items():
        if role not in roles:
            refused = _call(service.client, method, url, service.auth(who))
            assert refused.status_code == 403, (who, url, refused.text)


OWNED = [(m, p, roles) for m, p, roles in PROTECTED
         if ("{submission_id}" in p or "{credential_id}" in p) and "learner" in roles]


@pytest.mark.parametrize(("method", "path", "roles"), OWNED, ids=[f"{m} {p}" for m, p, _ in OWNED])
def test_another_learner_gets_not_found(
    world: tuple[Service, dict[str, str]], method: str, path: str, roles: tuple[str, ...]
) -> None:
    service, values = world
    url = _url(path, values)
    other = _call(service.client, method, url, service.auth("bob"), path)
    assert other.status_code == 404, (url, other.text)
    owner = _call(service.client, method, url, service.auth("ada"), path)
    assert owner.status_code < 400, (url, owner.text)


def test_lists_show_only_the_callers_own(world: tuple[Service, dict[str, str]]) -> None:
    service, values = world
    bob = service.auth("bob")
    assert service.client.get("/api/v1/submissions", headers=bob).json() == []
    assert service.client.get("/api/v1/credentials", headers=bob).json() == []
    assert values["submission_id"] not in service.client.get("/submissions", headers=bob).text
    assert values["credential_id"] not in service.client.get("/wallet", headers=bob).text
    ada = service.client.get("/wallet", headers=service.auth("ada")).text
    assert values["credential_id"] in ada and "linkedin.com/profile/add" in ada


def test_openapi_documents_every_api_route(world: tuple[Service, dict[str, str]]) -> None:
    service, _ = world
    document = service.client.get("/api/v1/openapi.json").json()
    api_routes = {(m.lower(), p) for m, p, _ in ROUTES
                  if p.startswith("/api/v1/") and p != "/api/v1/openapi.json" and m != "HEAD"}
    documented = {(m, p) for p, item in document["paths"].items() for m in item}
    assert api_routes <= documented
    assert "/wallet" not in document["paths"]  # pages are not part of the API
