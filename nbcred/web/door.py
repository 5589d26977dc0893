"""Limits at the door: what a request body may be, checked before a route reads it.

* A multipart body (a notebook upload) is only read for a signed-in caller (bearer token or
  session): an anonymous client gets 401 before a byte of its body is read or stored. The one
  public upload, the verify page's badge, is allowed without sign-in under the small cap.
* Bodies are capped while they stream: uploads at ``NBCRED_UPLOAD_MAX_BYTES`` plus 64 KiB of
  form overhead, everything else at ``NBCRED_REQUEST_MAX_BYTES``; a ``Content-Length`` above the
  cap is refused (413) without reading, a chunked body as soon as it passes the cap.
* A JSON body nesting deeper than ``NBCRED_JSON_MAX_DEPTH`` is a clear 400 (Python's parser would
  otherwise hit its recursion limit: a 500).
"""

from __future__ import annotations

from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nbcred.service.errors import BadRequest, NotAuthenticated
from nbcred.service.jsonlimits import check_depth
from nbcred.settings import Settings

BUSY = ("the gradebook is busy (another process holds it) or unreachable: nothing was changed; "
        "try again in a minute")
BODYLESS = {"GET", "HEAD", "OPTIONS", "TRACE"}
PUBLIC_UPLOADS = {"/verify"}  # multipart forms anyone may post (under NBCRED_REQUEST_MAX_BYTES)
FORM_OVERHEAD = 64 * 1024
OFF_LOOP_BYTES = 64 * 1024  # larger JSON bodies are measured in a worker thread


class BodyTooLarge(Exception):
    """The body streamed past its cap."""


class Door:
    """ASGI middleware enforcing the limits above."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODYLESS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        kind = headers.get("content-type", "").split(";")[0].strip().lower()
        cap = self.settings.request_max_bytes
        if kind.startswith("multipart/") and scope["path"] not in PUBLIC_UPLOADS:
            refusal = await _anonymous_refusal(scope)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
            cap = self.settings.upload_max_bytes + FORM_OVERHEAD
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > cap):
            answer = _refuse(scope, 400, "Content-Length is not a number") if not declared.isdigit() \
                else _too_large(scope, cap)
            await answer(scope, receive, send)
            return
        if kind == "" or (kind.startswith("application/") and kind.endswith("json")):
            await self._json(scope, receive, send, cap)
            return
        await self._streamed(scope, receive, send, cap)

    async def _streamed(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        seen = 0
        over = started = False

        async def counted() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    over = True
                    raise BodyTooLarge  # the route's parser turns it into its own error: replaced below
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if over and not started:
                return  # whatever the route answers to a cut body, the client gets the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not over or started:
                raise
        if over and not started:
            await _too_large(scope, cap)(scope, receive, send)

    async def _json(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > cap:
                await _too_large(scope, cap)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        try:
            if size > OFF_LOOP_BYTES:
                await run_in_threadpool(check_depth, body, self.settings.json_max_depth)
            else:
                check_depth(body, self.settings.json_max_depth)
        except BadRequest as exc:
            await _refuse(scope, 400, str(exc))(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _anonymous_refusal(scope: Scope) -> Response | None:
    """None when the request carries a valid token or signed-in session, else the 401 answer."""
    from nbcred.web.auth import current_account

    request = Request(scope)
    try:
        account = await run_in_threadpool(current_account, request)
    except NotAuthenticated as exc:
        return _refuse(scope, 401, str(exc))
    except OperationalError:  # locked or unreachable: the same answer the routes give
        answer = _refuse(scope, 503, BUSY)
        answer.headers["Retry-After"] = "30"
        return answer
    if account is not None:
        return None
    return _refuse(scope, 401, "sign in at /signin, or send Authorization: Bearer <token> "
                               "(create one with `nbcred user token EMAIL`)")


def _wants_page(scope: Scope) -> bool:
    headers = Headers(scope=scope)
    return not scope["path"].startswith("/api/") and "text/html" in headers.get("accept", "")


def _refuse(scope: Scope, status: int, message: str) -> Response:
    if status == 401 and _wants_page(scope):
        return RedirectResponse("/signin", status_code=303)
    if _wants_page(scope):
        from nbcred.web.render import render

        return render(Request(scope), "error.html", {"status": status, "message": message},
                      status_code=status)
    answer = JSONResponse({"detail": message}, status_code=status)
    if status == 401:
        answer.headers["WWW-Authenticate"] = "Bearer"
    return answer


def _too_large(scope: Scope, cap: int) -> Response:
    return _refuse(scope, 413, f"the request body is larger than the {cap / 1024 / 1024:.1f} MiB "
                               "allowed: submit only the notebooks, with large outputs cleared")
