"""Institutional sign-in pages: "Sign in with …" starts at the provider, the callback signs in.

A refusal (unknown provider, state mismatch, bad signature, wrong audience, replayed nonce,
expired token, the provider's own error) is a page that says why, never a stack trace.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nbcred.service import oidc
from nbcred.web.auth import context, session, start_session
from nbcred.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
PENDING = "oidc"


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


def _callback(request: Request, name: str) -> str:
    return f"{context(request).settings.links_base()}/signin/oidc/{name}/callback"


def refused(request: Request, reason: str, status_code: int = 401) -> HTMLResponse:
    """The clear page a refused institutional sign-in shows."""
    return render(request, "signin_refused.html", {"reason": reason}, status_code=status_code)


@router.get("/signin/oidc/{name}", response_model=None)
def begin(request: Request, name: str, next: str = "/") -> Response:
    try:
        url, pending = oidc.start(context(request).settings, name, redirect_uri=_callback(request, name),
                                  next=_safe_next(next))
    except oidc.SignInRefused as exc:
        return refused(request, str(exc), 404 if "configured" in str(exc) else exc.status)
    session(request)[PENDING] = pending.as_dict()
    request.state.session_changed = True
    return RedirectResponse(url, status_code=303)


@router.get("/signin/oidc/{name}/callback", response_model=None)
def callback(request: Request, name: str, state: str = "", code: str = "", error: str = "",
             error_description: str = "") -> Response:
    stored = session(request).pop(PENDING, None)
    request.state.session_changed = True
    if error:
        return refused(request, f"the identity provider answered: {error} {error_description}".strip())
    if not isinstance(stored, dict) or not code:
        return refused(request, "no sign-in was started in this browser (or it was already completed): "
                       "start again from the sign-in page")
    pending = oidc.Pending(**{k: str(stored.get(k, "")) for k in ("provider", "state", "nonce", "verifier",
                                                                  "next")})
    try:
        account = oidc.finish(context(request), pending, name=name, state=state, code=code,
                              redirect_uri=_callback(request, name))
    except oidc.SignInRefused as exc:
        return refused(request, str(exc))
    start_session(request, account)
    return RedirectResponse(_safe_next(pending.next), status_code=303)
