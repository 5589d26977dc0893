"""Response headers every answer carries: one ASGI middleware, one policy per kind of page.

* Pages: a strict Content-Security-Policy — scripts and ``<style>`` only with this response's
  nonce (``request.state.csp_nonce``; templates write ``nonce="{{ csp_nonce }}"``), style sheets,
  images, fetches and frames from this origin only, no plugins, no ``<base>``, forms post here.
* Learner content (``/render/…``, the feedback page): :func:`sandbox_policy` — a CSP sandbox, no
  script at all, nothing loaded but ``data:`` images and inline style; only this site may frame it.
* Everything: ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, and
  ``frame-ancestors`` from ``NBCRED_FRAME_ANCESTORS`` (empty: ``'none'``, nobody may frame a page;
  an LMS origin listed there may frame pages once it is registered).

A route that sets its own ``Content-Security-Policy`` (the sandboxed views, the API docs) keeps it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REFERRER_POLICY = "same-origin"


def ancestors(origins: Sequence[str], *, self_too: bool = False) -> str:
    """The ``frame-ancestors`` source list: ``'none'``, or ``'self'`` and/or the listed origins."""
    sources = (["'self'"] if self_too else []) + [o.rstrip("/") for o in origins if o.strip()]
    return " ".join(sources) if sources else "'none'"


def page_policy(nonce: str, origins: Sequence[str]) -> str:
    """The CSP of every page and API answer."""
    return (f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
            "img-src 'self' data:; font-src 'self'; connect-src 'self'; frame-src 'self'; "
            "form-action 'self'; base-uri 'none'; object-src 'none'; "
            f"frame-ancestors {ancestors(origins)}")


def sandbox_policy(origins: Sequence[str]) -> str:
    """The CSP of HTML that holds learner content: a sandbox without scripts, framed by this site."""
    return ("sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; "
            "base-uri 'none'; form-action 'none'; "
            f"frame-ancestors {ancestors(origins, self_too=True)}")


class SecurityHeaders:
    """Adds the headers above to every HTTP response; a fresh CSP nonce per request."""

    def __init__(self, app: ASGIApp, frame_ancestors: Callable[[], Sequence[str]] = tuple) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors  # asked per response: registrations may change

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})["csp_nonce"] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    origins = self.frame_ancestors()
                    headers["Content-Security-Policy"] = page_policy(nonce, origins)
                    if not origins:
                        headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                headers["Referrer-Policy"] = REFERRER_POLICY
            await send(message)

        await self.app(scope, receive, send_with_headers)


__all__ = ["SecurityHeaders", "page_policy", "sandbox_policy"]
