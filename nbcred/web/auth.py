"""Who is asking, and may they: the one dependency every page and API route goes through.

A caller is identified by ``Authorization: Bearer <token>`` (API tokens) or by the signed session
cookie set at sign-in, which carries a server-side session's token: the session must still be open
(sign-out, a password change or an administrator ends it). Roles are checked here, never inside
a handler. Requests that change something with a session cookie must carry the session's CSRF
token (form field ``csrf_token`` or header ``X-CSRF-Token``); bearer-token requests need none
(browsers never send them on their own).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Request, Response, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.concurrency import run_in_threadpool

from nbcred.service import sessions
from nbcred.service.context import ServiceContext
from nbcred.service.errors import Forbidden, NotAuthenticated
from nbcred.service.signin import Client, account_digest
from nbcred.service.users import Account, Role, account_for_token

SESSION_COOKIE = "nbcred_session"
SESSION_SECONDS = int(sessions.SESSION_LIFETIME.total_seconds())
DEVICE_COOKIE = "nbcred_device"  # a browser that signed in before (see nbcred.service.signin)
DEVICE_SECONDS = 400 * 24 * 3600
KNOWN_ACCOUNTS = 8
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
ANY: tuple[Role, ...] = ("learner", "instructor", "admin")
STAFF: tuple[Role, ...] = ("instructor", "admin")
ADMIN: tuple[Role, ...] = ("admin",)
#: the API's security scheme, declared in the OpenAPI document of every route that needs a caller
BEARER = HTTPBearer(
    scheme_name="bearer", bearerFormat="opaque token", auto_error=False,
    description="An API token: `Authorization: Bearer <token>`. Create one on the account page or "
    "with `nbcred user token EMAIL`.",
)


def context(request: Request) -> ServiceContext:
    """The app's service context."""
    ctx: ServiceContext = request.app.state.ctx
    return ctx


def _serializer(request: Request, salt: str = "nbcred-session") -> URLSafeTimedSerializer:
    secret: str = request.app.state.session_secret.get()
    return URLSafeTimedSerializer(secret, salt=salt)


def session(request: Request) -> dict[str, Any]:
    """The signed session (always holding a CSRF token); changes are written back by the middleware."""
    cached = getattr(request.state, "session", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    data: dict[str, Any] = {}
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        try:
            loaded = _serializer(request).loads(raw, max_age=SESSION_SECONDS)
            data = loaded if isinstance(loaded, dict) else {}
        except BadSignature:
            data = {}
    if not isinstance(data.get("csrf"), str):
        data["csrf"] = secrets.token_urlsafe(24)
        request.state.session_changed = True
    request.state.session = data
    return data


def client_address(request: Request) -> str | None:
    """The caller's address (behind a proxy: as the ASGI server took it from trusted headers)."""
    return request.client.host if request.client else None


def signin_client(request: Request) -> Client:
    """The sign-in slow-down's view of the caller: address, device id and accounts signed in before."""
    data: dict[str, Any] = {}
    raw = request.cookies.get(DEVICE_COOKIE)
    if raw:
        try:
            loaded = _serializer(request, "nbcred-device").loads(raw, max_age=DEVICE_SECONDS)
            data = loaded if isinstance(loaded, dict) else {}
        except BadSignature:
            data = {}
    device, known = data.get("d"), data.get("k")
    device = device if isinstance(device, str) else None
    known = known if isinstance(known, list) else []
    return Client(client_address(request), device, frozenset(k for k in known if isinstance(k, str)))


def remember_device(request: Request, response: Response, email: str) -> None:
    """Mark this browser as one that signed in to ``email`` (a long-lived signed cookie)."""
    client = signin_client(request)
    digest = account_digest(email)
    known = [*sorted(client.known - {digest})[: KNOWN_ACCOUNTS - 1], digest]
    value = _serializer(request, "nbcred-device").dumps({"d": client.device or secrets.token_urlsafe(18),
                                                         "k": known})
    response.set_cookie(DEVICE_COOKIE, value, max_age=DEVICE_SECONDS, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path="/signin")


def start_session(request: Request, account: Account) -> None:
    """Sign ``account`` in: a new server-side session (and CSRF token) replaces the current one."""
    previous = session(request).get("sid")
    ctx = context(request)
    if isinstance(previous, str):
        sessions.end_session(ctx, previous)
    opened = sessions.open_session(ctx, account, address=client_address(request),
                                   user_agent=request.headers.get("user-agent"))
    request.state.session = {"sid": opened.token, "csrf": secrets.token_urlsafe(24)}
    request.state.session_changed = True
    request.state.account, request.state.auth_via = account, "session"
    request.state.session_id = opened.id


def end_session(request: Request) -> None:
    """Sign out: the server-side session ends and the cookie's session becomes an anonymous one."""
    sid = session(request).get("sid")
    if isinstance(sid, str):
        sessions.end_session(context(request), sid)
    request.state.session = {"csrf": secrets.token_urlsafe(24)}
    request.state.session_changed = True
    request.state.account, request.state.auth_via = None, None
    request.state.session_id = None


def current_session_id(request: Request) -> int | None:
    """The id of the caller's open server-side session (None for API tokens and anonymous callers)."""
    current_account(request)
    return getattr(request.state, "session_id", None)


def csrf_token(request: Request) -> str:
    """The token forms must send back."""
    return str(session(request)["csrf"])


def write_session(request: Request, response: Response) -> None:
    """Set the session cookie if the session changed during the request."""
    if not getattr(request.state, "session_changed", False):
        return
    value = _serializer(request).dumps(request.state.session)
    secure = request.url.scheme == "https"
    # a session opened by an LMS launch lives in the LMS's frame: SameSite=None (Secure) under HTTPS
    framed = secure and request.state.session.get("lti") is True
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_SECONDS, httponly=True,
                        samesite="none" if framed else "lax", secure=secure, path="/")


def current_account(request: Request) -> Account | None:
    """The caller: bearer token first, then the session cookie; None when anonymous."""
    if hasattr(request.state, "account"):
        return request.state.account  # type: ignore[no-any-return]
    ctx = context(request)
    account: Account | None = None
    via = None
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthenticated("use Authorization: Bearer <token> "
                                   "(create one with `nbcred user token EMAIL`)")
        account = account_for_token(ctx, token.strip())
        if account is None:
            raise NotAuthenticated("this API token is not valid or was revoked; create a new one "
                                   "with `nbcred user token EMAIL`")
        via = "token"
    else:
        data = session(request)
        sid = data.get("sid")
        signed = sessions.session_account(ctx, sid) if isinstance(sid, str) else None
        if signed is not None:
            account, via = signed.account, "session"
            request.state.session_id = signed.session_id
        elif "sid" in data or "uid" in data:  # ended, expired or from before sessions were kept
            request.state.session = {"csrf": data["csrf"]}
            request.state.session_changed = True
    request.state.account = account
    request.state.auth_via = via
    return account


async def check_csrf(request: Request) -> None:
    """Unsafe requests authenticated (or anonymous) by cookie must echo the session's CSRF token."""
    if request.method in SAFE_METHODS or getattr(request.state, "auth_via", None) == "token":
        return
    expected = csrf_token(request)
    sent = request.headers.get("x-csrf-token", "")
    if not sent and "form" in request.headers.get("content-type", ""):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else ""
    if not sent or not hmac.compare_digest(sent, expected):
        raise Forbidden("the form expired or did not come from this site (CSRF check failed): "
                        "reload the page and try again")


def require(*roles: Role) -> Callable[[Request], Awaitable[Account]]:
    """A dependency: the signed-in caller, refused unless their role is one of ``roles``."""
    allowed = roles or ANY

    async def dependency(
        request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None
    ) -> Account:
        # reads the header itself (``bearer`` declares the scheme); the database off the event loop
        account = await run_in_threadpool(current_account, request)
        if account is None:
            raise NotAuthenticated("sign in at /signin, or send Authorization: Bearer <token> "
                                   "(create one with `nbcred user token EMAIL`)")
        if account.role not in allowed:
            raise Forbidden(f"this needs the {' or '.join(allowed)} role; you are {account.role}")
        await check_csrf(request)
        return account

    dependency.roles = allowed  # type: ignore[attr-defined]  # read by the refusal tests
    return dependency


async def optional_account(request: Request) -> Account | None:
    """The caller if signed in (public pages show a menu), never refusing."""
    try:
        return await run_in_threadpool(current_account, request)
    except NotAuthenticated:
        return None


async def public_form(request: Request) -> None:
    """CSRF check for forms anyone may post (sign-in, verify)."""
    await optional_account(request)
    await check_csrf(request)
