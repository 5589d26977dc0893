"""LTI 1.3 endpoints and pages: login, launch, the tool's keys, the deep-linking picker, the
platforms page (admins) and the score passback page (instructors).

``/lti/login`` and ``/lti/launch`` are posted to by the LMS's page, so they carry no CSRF token
(the launch is authenticated by its signed ``id_token`` and single-use ``state``). A refused launch
is a 4xx page and opens no session. A verified launch signs in and redirects (303) through
``/lti/continue/{code}``: when the session cookie came back (the usual case) it redirects on to the
assessment; when the browser refused the cookie (third-party cookies blocked in the LMS's frame)
it shows an "open in a new window" link that spends the single-use code there.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from nbcred.service import catalogue, lti
from nbcred.service.errors import NotFound
from nbcred.service.lti import LaunchRefused, RegistrationError
from nbcred.service.users import Account
from nbcred.settings import PLACEHOLDER_URL
from nbcred.web.auth import ADMIN, STAFF, context, current_account, require, session, start_session
from nbcred.web.render import render
from nbcred.web.security import ancestors

router = APIRouter(tags=["lti"], include_in_schema=False)
Staff = Annotated[Account, Depends(require(*STAFF))]
Admin = Annotated[Account, Depends(require(*ADMIN))]
DEEP_LINK_SECONDS = 3600


def base(request: Request) -> str:
    """This service's address: the configured base URL, else the one the request came to."""
    configured = context(request).settings.links_base()
    if configured.rstrip("/") != PLACEHOLDER_URL:
        return configured
    return str(request.base_url).rstrip("/")


def _refused(request: Request, reason: str, status: int) -> HTMLResponse:
    response = render(request, "lti/refused.html", {"reason": reason}, status_code=status)
    request.state.session_changed = False  # a refused launch leaves no cookie behind
    return response


def redirect_uri(request: Request, target_link_uri: str) -> str:
    """Where the platform posts the launch: the ``target_link_uri`` when it is this service's own
    ``/lti/launch`` (as configured, or as this request reached it), else the configured one."""
    ours = {base(request), str(request.base_url).rstrip("/")}
    if any(target_link_uri == f"{origin}/lti/launch" for origin in ours):
        return target_link_uri
    return f"{base(request)}/lti/launch"


async def _params(request: Request) -> dict[str, str]:
    values: dict[str, str] = {k: v for k, v in request.query_params.items()}
    if request.method == "POST":
        form = await request.form()
        values.update({k: v for k, v in form.items() if isinstance(v, str)})
    return values


@router.api_route("/lti/login", methods=["GET", "POST"], response_model=None)
async def lti_login(request: Request) -> Response:
    params = await _params(request)
    try:
        url = await run_in_threadpool(
            lti.login, context(request), params,
            redirect_uri=redirect_uri(request, params.get("target_link_uri", "")))
    except (LaunchRefused, RegistrationError) as exc:
        return _refused(request, str(exc), getattr(exc, "status", 400))
    return RedirectResponse(url, status_code=302)


@router.post("/lti/launch", response_model=None)
def lti_launch(request: Request, id_token: Annotated[str, Form()] = "",
               state: Annotated[str, Form()] = "") -> Response:
    try:
        landing = lti.accept_launch(context(request), id_token=id_token, state=state)
    except LaunchRefused as exc:
        return _refused(request, str(exc), exc.status)
    target = landing.target
    if landing.deep_link is not None:
        target = f"/lti/deep-link?request={_deep_links(request).dumps(landing.deep_link.as_dict())}"
    if landing.roster is not None:  # an instructor's launch: the course's roster, in the background
        issuer, client_id, course = landing.roster
        lti.sync_roster_later(context(request), issuer=issuer, client_id=client_id, context_id=course)
    start_session(request, landing.account)
    session(request)["lti"] = True  # the cookie is SameSite=None; Secure under HTTPS (LMS frames)
    code = lti.continuation(context(request), landing.account, target)
    return RedirectResponse(f"/lti/continue/{code}", status_code=303)


@router.get("/lti/continue/{code}", response_model=None)
def lti_continue(request: Request, code: str) -> Response:
    try:
        user_id, target = lti.peek_continuation(context(request), code)
    except NotFound as exc:
        return _refused(request, str(exc), 404)
    me = current_account(request)
    if me is not None and me.id == user_id:
        lti.use_continuation(context(request), code)
        return RedirectResponse(target, status_code=303)
    return _refused_cookie(request, code)


def _refused_cookie(request: Request, code: str) -> HTMLResponse:
    response = render(request, "lti/new_window.html", {"code": code})
    request.state.session_changed = False
    return response


@router.get("/lti/resume/{code}", response_model=None)
def lti_resume(request: Request, code: str) -> Response:
    try:
        account, target = lti.use_continuation(context(request), code)
    except NotFound as exc:
        return _refused(request, str(exc), 404)
    start_session(request, account)
    return RedirectResponse(target, status_code=303)


@router.get("/lti/jwks.json")
def lti_jwks(request: Request) -> JSONResponse:
    return JSONResponse(lti.jwks(context(request)), headers={"Cache-Control": "public, max-age=300"})


def _deep_links(request: Request) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(request.app.state.session_secret.get(), salt="nbcred-lti-deep-link")


def _deep_link_request(request: Request, token: str) -> lti.DeepLinkRequest:
    try:
        value = _deep_links(request).loads(token, max_age=DEEP_LINK_SECONDS)
        return lti.DeepLinkRequest.from_dict(value)
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise NotFound("this choice of assessment expired or was not started here: start again from "
                       "the LMS") from exc


@router.get("/lti/deep-link", response_class=HTMLResponse)
def deep_link_picker(request: Request, caller: Staff) -> HTMLResponse:
    token = request.query_params.get("request", "")
    _deep_link_request(request, token)
    return render(request, "lti/picker.html", {"assessments": catalogue.list_assessments(context(request)),
                                               "request_token": token})


@router.post("/lti/deep-link", response_class=HTMLResponse)
def deep_link_choose(request: Request, caller: Staff, assessment: Annotated[str, Form()],
                     request_token: Annotated[str, Form(alias="request")]) -> HTMLResponse:
    wanted = _deep_link_request(request, request_token)
    return_url, jwt = lti.deep_link_response(context(request), caller, wanted, assessment_id=assessment,
                                             launch_url=f"{base(request)}/lti/launch")
    response = render(request, "lti/return.html", {"return_url": return_url, "jwt": jwt})
    origin = urlparse(return_url)
    nonce = getattr(request.state, "csp_nonce", "")
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'self'; img-src 'self'; "
        f"form-action {origin.scheme}://{origin.netloc}; base-uri 'none'; object-src 'none'; "
        f"frame-ancestors {ancestors(request.app.state.frame_origins())}")
    return response


@router.get("/lti/register", response_class=HTMLResponse)
def dynamic_registration(request: Request, token: str = "", openid_configuration: str = "",
                         registration_token: str = "") -> HTMLResponse:
    """LTI Dynamic Registration: the LMS opens this URL (made by an administrator) in a frame."""
    if not openid_configuration:
        return _refused(request, "this is a registration URL for an LMS: paste it into the LMS's "
                        "\"register a tool by URL\" (dynamic registration) form", 400)
    try:
        info = lti.dynamic_registration(context(request), token=token,
                                        openid_configuration=openid_configuration,
                                        registration_token=registration_token or None, base=base(request))
    except NotFound as exc:
        return _refused(request, str(exc), 404)
    except RegistrationError as exc:
        return _refused(request, str(exc), 400)
    response = render(request, "lti/registered.html", {"p": info})
    request.state.session_changed = False
    return response


@router.get("/admin/lti", response_class=HTMLResponse)
def platforms_page(request: Request, caller: Admin) -> HTMLResponse:
    return render(request, "lti/platforms.html", {"platforms": lti.list_platforms(context(request)),
                                                  "base": base(request), "registration_url": None})


@router.post("/admin/lti/registration-url", response_class=HTMLResponse)
def new_registration_url(request: Request, caller: Admin) -> HTMLResponse:
    ctx = context(request)
    url = lti.registration_url(ctx, base=base(request))
    return render(request, "lti/platforms.html", {"platforms": lti.list_platforms(ctx), "base": base(request),
                                                  "registration_url": url})


@router.get("/instructor/lti", response_class=HTMLResponse)
def passback_page(request: Request, caller: Staff, status: str = "") -> HTMLResponse:
    ctx = context(request)
    return render(request, "lti/passback.html", {"rows": lti.list_scores(ctx, status=status or None),
                                                 "totals": lti.score_counts(ctx), "status": status})


@router.post("/instructor/lti/retry")
def passback_retry(request: Request, caller: Staff, score: Annotated[int | None, Form()] = None
                   ) -> RedirectResponse:
    lti.retry_scores(context(request), [score] if score else None)
    poster = getattr(request.app.state, "lti_poster", None)
    if poster is not None:
        poster.wake()
    return RedirectResponse("/instructor/lti", status_code=303)
