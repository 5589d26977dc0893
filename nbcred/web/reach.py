"""Pages reached from e-mails: claim a badge, reset a password, unsubscribe; the outbox page.

Each handler parses the form, calls one service function and renders; the links' rules (single
use, expiry, hashing) live in the service layer.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nbcred.service import accounts, claims, outbox
from nbcred.service.errors import Conflict, NotFound, ServiceError
from nbcred.service.users import Account
from nbcred.web.auth import STAFF, context, optional_account, public_form, require, start_session
from nbcred.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)


def wake_mailer(request: Request) -> None:
    """Mail was queued by this request: the in-process sender looks now."""
    mailer = getattr(request.app.state, "mailer", None)
    if mailer is not None:
        mailer.wake()


def _min_length(request: Request) -> int:
    return context(request).settings.password_min_length


def _invalid(request: Request, exc: ServiceError, title: str) -> HTMLResponse:
    return render(request, "link_invalid.html", {"title": title, "message": str(exc)},
                  status_code=exc.status)


@router.get("/claim/{token}", response_class=HTMLResponse)
def claim_page(request: Request, token: str,
                     me: Annotated[Account | None, Depends(optional_account)]) -> HTMLResponse:
    try:
        page = claims.claim_page(context(request), token)
    except NotFound as exc:
        return _invalid(request, exc, "This claim link cannot be used")
    return render(request, "claim.html", {"c": page, "token": token, "problem": None,
                                          "min_length": _min_length(request)})


@router.post("/claim/{token}", response_class=HTMLResponse, response_model=None,
             dependencies=[Depends(public_form)])
def claim(request: Request, token: str, password: Annotated[str, Form()]) -> Response:
    ctx = context(request)
    try:
        account = claims.claim(ctx, token, password)
    except NotFound as exc:
        return _invalid(request, exc, "This claim link cannot be used")
    except (Conflict, ServiceError) as exc:
        try:
            page = claims.claim_page(ctx, token)
        except NotFound as gone:
            return _invalid(request, gone, "This claim link cannot be used")
        return render(request, "claim.html", {"c": page, "token": token, "problem": str(exc),
                                              "min_length": _min_length(request)}, status_code=exc.status)
    start_session(request, account)
    return RedirectResponse("/wallet", status_code=303)


@router.get("/password-reset", response_class=HTMLResponse)
def reset_request_page(request: Request,
                             me: Annotated[Account | None, Depends(optional_account)]) -> HTMLResponse:
    return render(request, "reset_request.html", {"sent": False})


@router.post("/password-reset", response_class=HTMLResponse, dependencies=[Depends(public_form)])
def reset_request(request: Request, email: Annotated[str, Form()]) -> HTMLResponse:
    accounts.request_reset(context(request), email)
    wake_mailer(request)
    return render(request, "reset_request.html", {"sent": True})


@router.get("/password-reset/{token}", response_class=HTMLResponse)
def reset_page(request: Request, token: str,
                     me: Annotated[Account | None, Depends(optional_account)]) -> HTMLResponse:
    try:
        email = accounts.reset_email(context(request), token)
    except NotFound as exc:
        return _invalid(request, exc, "This reset link cannot be used")
    return render(request, "reset_form.html", {"email": email, "token": token, "problem": None,
                                               "min_length": _min_length(request)})


@router.post("/password-reset/{token}", response_class=HTMLResponse, response_model=None,
             dependencies=[Depends(public_form)])
def reset(request: Request, token: str, password: Annotated[str, Form()]) -> Response:
    ctx = context(request)
    try:
        accounts.reset_password(ctx, token, password)
    except NotFound as exc:
        return _invalid(request, exc, "This reset link cannot be used")
    except ServiceError as exc:
        try:
            email = accounts.reset_email(ctx, token)
        except NotFound as gone:
            return _invalid(request, gone, "This reset link cannot be used")
        return render(request, "reset_form.html", {"email": email, "token": token, "problem": str(exc),
                                                   "min_length": _min_length(request)},
                      status_code=exc.status)
    return RedirectResponse("/signin?reset=done", status_code=303)


@router.get("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe_page(request: Request, token: str,
                           me: Annotated[Account | None, Depends(optional_account)]) -> HTMLResponse:
    try:
        email = outbox.unsubscribe_address(context(request), token)
    except NotFound as exc:
        return render(request, "error.html", {"status": 404, "message": str(exc)}, status_code=404)
    return render(request, "unsubscribe.html", {"email": email, "token": token, "done": False})


@router.post("/unsubscribe/{token}", response_class=HTMLResponse)
def unsubscribe(request: Request, token: str) -> HTMLResponse:
    """One-click unsubscribe (RFC 8058): mail clients post here without a session or CSRF token."""
    ctx = context(request)
    try:
        email = outbox.unsubscribe_address(ctx, token)
    except NotFound as exc:
        return render(request, "error.html", {"status": 404, "message": str(exc)}, status_code=404)
    outbox.stop_notifications(ctx, email)
    return render(request, "unsubscribe.html", {"email": email, "token": token, "done": True})


@router.get("/admin/mail", response_class=HTMLResponse)
def outbox_page(request: Request, me: Annotated[Account, Depends(require(*STAFF))],
                      status: str | None = None) -> HTMLResponse:
    listed = outbox.list_outbox(context(request), status=status or None, limit=500)
    return render(request, "mail_outbox.html",
                  {"rows": listed.messages, "totals": listed.counts, "status": status or ""})


@router.post("/admin/mail/retry")
def outbox_retry(request: Request,
                       me: Annotated[Account, Depends(require(*STAFF))]) -> RedirectResponse:
    outbox.retry_failed_mail(context(request))
    wake_mailer(request)
    return RedirectResponse("/admin/mail", status_code=303)
