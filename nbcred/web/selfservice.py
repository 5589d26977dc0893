"""Pages for self-service accounts: sign up and confirm, invitations, e-mail, notifications, delete.

Handlers parse, call one service function, render. Links from e-mails open a page whose button
posts (a mail scanner that fetches links does not use them up).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nbcred.service import invitations, selfservice
from nbcred.service.errors import NotFound, ServiceError
from nbcred.service.selfservice import SignupPolicy
from nbcred.service.users import Account
from nbcred.web.auth import (
    ANY,
    STAFF,
    context,
    end_session,
    optional_account,
    public_form,
    require,
    start_session,
)
from nbcred.web.reach import wake_mailer
from nbcred.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
Caller = Annotated[Account, Depends(require(*ANY))]
Staff = Annotated[Account, Depends(require(*STAFF))]
Anyone = Annotated[Account | None, Depends(optional_account)]


def _invalid(request: Request, exc: ServiceError, title: str) -> HTMLResponse:
    return render(request, "link_invalid.html", {"title": title, "message": str(exc)}, status_code=exc.status)


def _policy(request: Request) -> SignupPolicy:
    return SignupPolicy.of(context(request).settings)


@router.get("/signup", response_class=HTMLResponse)
def signup_page(request: Request, me: Anyone) -> HTMLResponse:
    policy = _policy(request)
    return render(request, "signup.html", {"policy": policy, "sent": False, "problem": None, "values": {},
                                           "min_length": context(request).settings.password_min_length},
                  status_code=200 if policy.form_open else 404)


@router.post("/signup", response_class=HTMLResponse, dependencies=[Depends(public_form)])
def signup(request: Request, name: Annotated[str, Form()], email: Annotated[str, Form()],
                 password: Annotated[str, Form()]) -> HTMLResponse:
    ctx = context(request)
    values = {"policy": _policy(request), "min_length": ctx.settings.password_min_length,
              "values": {"name": name, "email": email}}
    try:
        selfservice.sign_up(ctx, name=name, email=email, password=password)
    except ServiceError as exc:
        return render(request, "signup.html", {**values, "sent": False, "problem": str(exc)},
                      status_code=exc.status)
    wake_mailer(request)
    return render(request, "signup.html", {**values, "sent": True, "problem": None})


@router.get("/signup/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str, me: Anyone) -> HTMLResponse:
    try:
        email = selfservice.confirm_email(context(request), token)
    except NotFound as exc:
        return _invalid(request, exc, "This confirmation link cannot be used")
    return render(request, "confirm.html", {"email": email, "action": f"/signup/confirm/{token}",
                                            "title": "Confirm your address",
                                            "button": "Confirm and create my account"})


@router.post("/signup/confirm/{token}", response_class=HTMLResponse, response_model=None,
             dependencies=[Depends(public_form)])
def confirm(request: Request, token: str) -> Response:
    try:
        account = selfservice.confirm(context(request), token)
    except ServiceError as exc:
        return _invalid(request, exc, "This confirmation link cannot be used")
    start_session(request, account)
    return RedirectResponse("/", status_code=303)


@router.get("/invite/{token}", response_class=HTMLResponse)
def invite_page(request: Request, token: str, me: Anyone) -> HTMLResponse:
    try:
        page = invitations.invitation(context(request), token)
    except NotFound as exc:
        return _invalid(request, exc, "This invitation cannot be used")
    return render(request, "invite.html", {"i": page, "token": token, "problem": None,
                                           "min_length": context(request).settings.password_min_length})


@router.post("/invite/{token}", response_class=HTMLResponse, response_model=None,
             dependencies=[Depends(public_form)])
def accept(request: Request, token: str, me: Anyone, name: Annotated[str, Form()] = "",
                 password: Annotated[str, Form()] = "") -> Response:
    ctx = context(request)
    try:
        account = invitations.accept(ctx, token, account=me, name=name, password=password)
    except NotFound as exc:
        return _invalid(request, exc, "This invitation cannot be used")
    except ServiceError as exc:
        page = invitations.invitation(ctx, token)
        return render(request, "invite.html", {"i": page, "token": token, "problem": str(exc),
                                               "min_length": ctx.settings.password_min_length},
                      status_code=exc.status)
    if me is None:
        start_session(request, account)
    return RedirectResponse("/", status_code=303)


@router.get("/instructor/cohorts/{cohort}/invite", response_class=HTMLResponse)
def invite_form(request: Request, me: Staff, cohort: str) -> HTMLResponse:
    return render(request, "invite_form.html", {"cohort": cohort, "report": None, "problem": None})


@router.post("/instructor/cohorts/{cohort}/invite", response_class=HTMLResponse)
def invite_upload(request: Request, me: Staff, cohort: str,
                        addresses: Annotated[UploadFile, File()]) -> HTMLResponse:
    text = addresses.file.read(1024 * 1024).decode("utf-8", errors="replace")
    try:
        report = invitations.invite(context(request), cohort=cohort,
                                    addresses=invitations.read_addresses(text), inviter=me.name)
    except ServiceError as exc:
        return render(request, "invite_form.html", {"cohort": cohort, "report": None, "problem": str(exc)},
                      status_code=exc.status)
    wake_mailer(request)
    return render(request, "invite_form.html", {"cohort": cohort, "report": report, "problem": None})


def _settings_page(request: Request, me: Account, *, message: str | None = None,
                   problem: str | None = None, status_code: int = 200) -> HTMLResponse:
    ctx = context(request)
    return render(request, "account_settings.html", {
        "notifications": selfservice.notifications(ctx, me), "message": message, "problem": problem},
        status_code=status_code)


@router.get("/account/settings", response_class=HTMLResponse)
def settings_page(request: Request, me: Caller) -> HTMLResponse:
    return _settings_page(request, me)


@router.post("/account/notifications", response_class=HTMLResponse)
def notifications(request: Request, me: Caller, wanted: Annotated[str, Form()] = "") -> HTMLResponse:
    selfservice.set_account_notifications(context(request), me, wanted == "on")
    return _settings_page(request, me, message="Saved.")


@router.post("/account/email", response_class=HTMLResponse)
def email_change(request: Request, me: Caller, email: Annotated[str, Form()],
                       password: Annotated[str, Form()]) -> HTMLResponse:
    try:
        selfservice.request_email_change(context(request), me, new_email=email, password=password)
    except ServiceError as exc:
        return _settings_page(request, me, problem=str(exc), status_code=exc.status)
    wake_mailer(request)
    return _settings_page(request, me, message=f"We sent a confirmation link to {email.strip()}: "
                          "your address changes when you open it.")


@router.get("/account/email/{token}", response_class=HTMLResponse)
def email_confirm_page(request: Request, token: str, me: Anyone) -> HTMLResponse:
    return render(request, "confirm.html", {"email": "", "action": f"/account/email/{token}",
                                            "title": "Confirm your new address",
                                            "button": "Use this address for my account"})


@router.post("/account/email/{token}", response_class=HTMLResponse, response_model=None,
             dependencies=[Depends(public_form)])
def email_confirm(request: Request, token: str) -> Response:
    try:
        selfservice.change_email(context(request), token)
    except ServiceError as exc:
        return _invalid(request, exc, "This confirmation link cannot be used")
    return RedirectResponse("/account/settings", status_code=303)


@router.post("/account/delete", response_class=HTMLResponse, response_model=None)
def delete(request: Request, me: Caller, password: Annotated[str, Form()],
                 confirm: Annotated[str, Form()] = "") -> Response:
    if confirm != "DELETE":
        return _settings_page(request, me, problem="type DELETE to confirm", status_code=400)
    try:
        selfservice.delete_account(context(request), me, password=password)
    except ServiceError as exc:
        return _settings_page(request, me, problem=str(exc), status_code=exc.status)
    end_session(request)
    return RedirectResponse("/signin", status_code=303)
