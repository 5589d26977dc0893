"""The app factory: one FastAPI app for pages, ``/api/v1`` and the public credential URLs."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from nbcred import __version__
from nbcred.errors import NbcredError
from nbcred.service.context import ServiceContext
from nbcred.service.errors import ServiceError, TooManyAttempts
from nbcred.service.notify import Listener
from nbcred.service.paths import scrub
from nbcred.service.watch import StatusWatch
from nbcred.settings import Settings
from nbcred.web import (
    api,
    apidocs,
    bulk_pages,
    instructor,
    lti,
    metrics,
    oidc,
    pages,
    public,
    reach,
    selfservice,
    sessions,
    views,
    wallets,
)
from nbcred.web.auth import write_session
from nbcred.web.door import BUSY, Door
from nbcred.web.render import render
from nbcred.web.secret import LazySecret
from nbcred.web.security import SecurityHeaders

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
API_PREFIX = "/api/"


def create_app(settings: Settings | None = None, *, ctx: ServiceContext | None = None) -> FastAPI:
    """The ASGI app over ``settings`` (grading in this process unless ``serve_grading`` is off)."""
    settings = settings or Settings()
    ctx = ctx or ServiceContext.open(settings)
    watch = StatusWatch()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from nbcred.service.verify_worker import workers

        workers(settings.verify_workers)  # start the verification processes now, not on first use
        dispatcher = None
        if settings.serve_grading:
            from nbcred.service.pools import make_pool
            from nbcred.service.queue import Dispatcher

            dispatcher = Dispatcher(ctx, make_pool(settings), on_change=watch.changed)
            dispatcher.start()
        app.state.dispatcher = dispatcher
        # other processes' uploads and results, on PostgreSQL (elsewhere: polling)
        listener = Listener(ctx.store.engine, queued=dispatcher.wake if dispatcher else None,
                            status=watch.changed)
        listener.start()
        app.state.listener = listener
        mailer = None
        if settings.smtp_url:  # mail queued by any process goes out from here within a poll
            from nbcred.service.outbox import mail_sender

            mailer = mail_sender(ctx, settings)
            mailer.start()
        app.state.mailer = mailer
        from nbcred.service.lti import score_poster

        poster = score_poster(ctx)  # scores for LMS gradebooks queued by any process go out from here
        poster.start()
        app.state.lti_poster = poster
        try:
            yield
        finally:
            poster.close()
            if mailer is not None:
                mailer.close()
            listener.close()
            if dispatcher is not None:
                dispatcher.close()

    app = FastAPI(
        title="nbcred", version=__version__, lifespan=lifespan,
        description="Jupyter assessments, auto-grading and Open Badges 3.0 credentials. "
        "Authenticate with `Authorization: Bearer <token>` (`nbcred user token EMAIL`).",
        openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
        swagger_ui_oauth2_redirect_url=apidocs.OAUTH2_REDIRECT_URL,
    )
    app.state.ctx = ctx
    app.state.session_secret = LazySecret(settings)
    app.state.dispatcher = None
    app.state.mailer = None
    app.state.watch = watch
    app.state.lti_poster = None
    app.state.frame_origins = frame_origins = FrameOrigins(ctx)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    apidocs.install(app)
    app.include_router(api.router)
    app.include_router(wallets.router)
    app.include_router(sessions.router)
    app.include_router(instructor.router)
    app.include_router(bulk_pages.router)
    app.include_router(public.router)
    app.include_router(reach.router)
    app.include_router(selfservice.router)
    app.include_router(oidc.router)
    app.include_router(lti.router)
    app.include_router(pages.router)
    app.include_router(views.router)
    app.include_router(metrics.router)
    _handlers(app)

    @app.middleware("http")
    async def session_cookie(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        write_session(request, response)
        return response

    app.add_middleware(Door, settings=settings)  # body limits, sign-in before an upload is read
    # outermost: every answer, errors and refusals at the door included, carries the headers
    app.add_middleware(SecurityHeaders, frame_ancestors=frame_origins)
    return app


class FrameOrigins:
    """Who may frame the pages: ``NBCRED_FRAME_ANCESTORS`` plus the registered LMS platforms'
    origins (looked up at most every 30 s)."""

    def __init__(self, ctx: ServiceContext, ttl: float = 30.0) -> None:
        self.ctx = ctx
        self.ttl = ttl
        self._cached: tuple[float, list[str]] | None = None

    def __call__(self) -> list[str]:
        now = time.monotonic()
        if self._cached is None or now - self._cached[0] > self.ttl:
            from nbcred.service.lti import frame_origins

            try:
                platforms = frame_origins(self.ctx)
            except OperationalError:  # the database is busy: the setting alone this time
                platforms = []
            configured = self.ctx.settings.frame_ancestor_origins()
            self._cached = (now, configured + [o for o in platforms if o not in configured])
        return self._cached[1]


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIX) and "text/html" in request.headers.get("accept", "")


def _unavailable(request: Request, message: str) -> Response:
    """503 with a retry hint: the database is locked or unreachable; nothing was changed."""
    headers = {"Retry-After": "30"}
    if _wants_html(request):
        answer = render(request, "error.html", {"status": 503, "message": message}, status_code=503)
        answer.headers.update(headers)
        return answer
    return JSONResponse({"detail": message}, status_code=503, headers=headers)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, TooManyAttempts) else None
        if _wants_html(request):
            if exc.status == 401 and request.method == "GET":
                target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
                return RedirectResponse(f"/signin?next={target}", status_code=303)
            response = render(request, "error.html", {"status": exc.status, "message": str(exc)},
                              status_code=exc.status)
            write_session(request, response)
            return response
        answer = JSONResponse({"detail": str(exc)}, status_code=exc.status, headers=headers)
        if exc.status == 401:
            answer.headers["WWW-Authenticate"] = "Bearer"
        return answer

    @app.exception_handler(NbcredError)
    async def app_error(request: Request, exc: NbcredError) -> Response:
        log.warning("%s %s failed: %s", request.method, request.url.path, exc)
        first = str(exc).split("\n")[0].split(" [SQL:")[0]  # never a statement or a server path
        return _unavailable(request, scrub(first, app.state.ctx.settings))

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> Response:
        log.warning("%s %s: the database did not answer: %s", request.method, request.url.path, exc)
        return _unavailable(request, BUSY)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path"))
            problems.append(f"{where or 'request'}: {error.get('msg', 'invalid')}")
        message = "; ".join(problems) or "invalid request"
        if _wants_html(request):
            return render(request, "error.html", {"status": 422, "message": message}, status_code=422)
        return JSONResponse({"detail": message}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            return render(request, "error.html", {"status": exc.status_code, "message": str(exc.detail)},
                          status_code=exc.status_code)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))


__all__ = ["create_app"]
