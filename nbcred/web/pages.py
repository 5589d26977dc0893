"""Pages for people: sign in, catalogue, assessment, submission status, wallet, account.

Each handler parses the form, calls the same service function the API calls, and renders.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from nbcred.service import catalogue, extensions, sessions, submissions, users, wallet
from nbcred.service.errors import NotAuthenticated, ServiceError, TooManyAttempts
from nbcred.service.users import Account
from nbcred.web.api import read_uploads, wake
from nbcred.web.auth import (
    ANY,
    context,
    current_session_id,
    end_session,
    optional_account,
    public_form,
    remember_device,
    require,
    signin_client,
    start_session,
)
from nbcred.web.render import render

router = APIRouter(tags=["pages"], include_in_schema=False)
Caller = Annotated[Account, Depends(require(*ANY))]


def _safe_next(target: str) -> str:
    """Only same-site paths are followed after sign-in."""
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/"


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, me: Annotated[Account | None, Depends(optional_account)],
                      next: str = "/", reset: str = "") -> HTMLResponse:
    return render(request, "signin.html", {"next": _safe_next(next), "problem": None,
                                           "reset_done": reset == "done"})


@router.post("/signin", response_class=HTMLResponse, response_model=None,
             dependencies=[Depends(public_form)])
def signin(
    request: Request,
    email: Annotated[str, Form()], password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    try:
        account = users.sign_in(context(request), email=email, password=password,
                                client=signin_client(request))
    except TooManyAttempts as exc:
        response = render(request, "signin.html", {"next": _safe_next(next), "problem": str(exc),
                                                   "email": email}, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except NotAuthenticated as exc:
        return render(request, "signin.html", {"next": _safe_next(next), "problem": str(exc),
                                               "email": email}, status_code=401)
    start_session(request, account)
    redirect = RedirectResponse(_safe_next(next), status_code=303)
    remember_device(request, redirect, account.email)
    return redirect


@router.post("/signout", dependencies=[Depends(public_form)])
def signout(request: Request) -> RedirectResponse:
    end_session(request)
    return RedirectResponse("/signin", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, me: Caller) -> HTMLResponse:
    ctx = context(request)
    mine = submissions.list_submissions(ctx, me) if not me.is_staff else []
    latest: dict[str, submissions.SubmissionInfo] = {}
    for s in mine:
        latest.setdefault(s.assessment, s)
    return render(request, "catalogue.html", {"assessments": catalogue.list_assessments(ctx),
                                              "latest": latest})


@router.get("/assessments/{assessment_id}", response_class=HTMLResponse)
def assessment_page(request: Request, me: Caller, assessment_id: str) -> HTMLResponse:
    ctx = context(request)
    info = catalogue.assessment_info(ctx, assessment_id)
    mine = [s for s in submissions.list_submissions(ctx, me, assessment=info.id) if s.learner == me.learner]
    used = len({s.attempt for s in mine})
    allowed = extensions.learner_allowance(ctx, me.learner, info.id)
    left = None if allowed.attempts is None else max(0, allowed.attempts - used)
    return render(request, "assessment.html", {"a": info, "mine": mine, "left": left, "problem": None,
                                               "allowed": allowed})


@router.post("/assessments/{assessment_id}/submit", response_class=HTMLResponse, response_model=None)
def submit_page(
    request: Request, me: Caller, assessment_id: str,
    files: Annotated[list[UploadFile], File()],
) -> Response:
    ctx = context(request)
    try:
        uploads = read_uploads(request, [f for f in files if f.filename])
        info = submissions.submit(ctx, me, assessment_id=assessment_id, files=uploads)
    except ServiceError as exc:
        a = catalogue.assessment_info(ctx, assessment_id)
        mine = [s for s in submissions.list_submissions(ctx, me, assessment=a.id) if s.learner == me.learner]
        return render(request, "assessment.html", {"a": a, "mine": mine, "left": None, "problem": str(exc)},
                      status_code=exc.status)
    wake(request)
    return RedirectResponse(f"/submissions/{info.id}", status_code=303)


@router.get("/submissions", response_class=HTMLResponse)
def submissions_page(request: Request, me: Caller, assessment: str | None = None) -> HTMLResponse:
    rows = submissions.list_submissions(context(request), me, assessment=assessment)
    return render(request, "submissions.html", {"rows": rows})


@router.get("/submissions/{submission_id}", response_class=HTMLResponse)
def submission_page(request: Request, me: Caller, submission_id: str) -> HTMLResponse:
    ctx = context(request)
    detail = submissions.get_submission(ctx, me, submission_id)
    title, names = detail.info.assessment, {}
    if detail.info.assessment in ctx.catalogue.assessments:
        info = catalogue.assessment_info(ctx, detail.info.assessment)
        title, names = info.title, dict(info.competencies)
    credential_url = wallet.credential_url(ctx, detail.credential) if detail.credential else None
    notebooks = list(submissions.executed_notebooks(ctx, me, submission_id))
    return render(request, "submission.html", {"d": detail, "title": title, "names": names,
                                               "credential_url": credential_url, "notebooks": notebooks})


@router.get("/wallet", response_class=HTMLResponse)
def wallet_page(request: Request, me: Caller) -> HTMLResponse:
    ctx = context(request)
    return render(request, "wallet.html", {"credentials": wallet.list_credentials(ctx, me),
                                           "pathways": wallet.pathway_progress(ctx, me),
                                           "wallet_tx_code": ctx.settings.wallet_tx_code})


def _account(request: Request, me: Account, new_token: str | None = None,
             status_code: int = 200) -> HTMLResponse:
    ctx = context(request)
    return render(request, "account.html", {
        "tokens": users.list_tokens(ctx, email=me.email), "new_token": new_token,
        "sessions": sessions.list_sessions(ctx, email=me.email), "current": current_session_id(request),
    }, status_code=status_code)


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, me: Caller) -> HTMLResponse:
    return _account(request, me)


@router.post("/wallet/credentials/{credential_id}/name")
def wallet_show_name(request: Request, me: Caller, credential_id: str,
                           show: Annotated[str, Form()] = "") -> Response:
    """Show (or hide) the learner's name on one credential's public page (it is signed again)."""
    from nbcred.service.credential_page import show_name

    try:
        show_name(context(request), me, credential_id, show == "yes")
    except ServiceError as exc:
        if exc.status == 404:
            raise
        ctx = context(request)
        return render(request, "wallet.html", {"credentials": wallet.list_credentials(ctx, me),
                                               "pathways": wallet.pathway_progress(ctx, me),
                                               "problem": str(exc)}, status_code=exc.status)
    return RedirectResponse("/wallet", status_code=303)


@router.post("/account/tokens", response_class=HTMLResponse)
def new_token(request: Request, me: Caller, label: Annotated[str, Form()] = "") -> HTMLResponse:
    created = users.create_token(context(request), email=me.email, label=label.strip()[:200])
    return _account(request, me, created.token, status_code=201)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(request: Request, me: Caller, token_id: int) -> RedirectResponse:
    users.revoke_tokens(context(request), email=me.email, token_id=token_id)
    return RedirectResponse("/account", status_code=303)
