"""``/api/docs``: Swagger UI from assets bundled with the service (fastapi-offline's copy), so the
page works without internet and loads no script from elsewhere; the start-up script is a static
file too (no inline script, for a strict Content-Security-Policy)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from nbcred.web.render import templates

DOCS_URL = "/api/docs"
OAUTH2_REDIRECT_URL = "/api/docs/oauth2-redirect"
ASSETS_URL = "/api/docs/assets"
SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"

router = APIRouter(include_in_schema=False)


@router.get(DOCS_URL, response_class=HTMLResponse)
async def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI over ``/api/v1/openapi.json``."""
    root = request.scope.get("root_path", "")
    return templates.TemplateResponse(request, "apidocs.html", {
        "openapi_url": root + str(request.app.openapi_url), "assets": root + ASSETS_URL,
        "static": root + "/static", "title": request.app.title,
        "csp_nonce": getattr(request.state, "csp_nonce", "")})


@router.get(OAUTH2_REDIRECT_URL, response_class=HTMLResponse)
async def oauth2_redirect() -> HTMLResponse:
    return get_swagger_ui_oauth2_redirect_html()


def install(app: FastAPI) -> None:
    """Serve the docs page and its bundled assets on ``app`` (created with ``docs_url=None``)."""
    app.mount(ASSETS_URL, StaticFiles(directory=SWAGGER_ASSETS), name="api-docs-assets")
    app.include_router(router)
