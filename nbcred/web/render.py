"""Server-rendered pages: one Jinja environment, every page gets the caller and a CSRF token."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from nbcred.web.auth import csrf_token

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def render(request: Request, name: str, values: dict[str, Any] | None = None, *,
           status_code: int = 200) -> HTMLResponse:
    """Render template ``name`` with the caller, CSRF token and settings available."""
    ctx = request.app.state.ctx
    page = {
        "me": getattr(request.state, "account", None),
        "csrf": csrf_token(request),
        "issuer_name": ctx.settings.issuer_name,
        "csp_nonce": getattr(request.state, "csp_nonce", ""),  # <script nonce="{{ csp_nonce }}">
        "identity_providers": [(p.name, p.title) for p in ctx.settings.oidc_providers],
        "signup_open": ctx.settings.signup.strip().lower() not in ("off", "invite", ""),
        **(values or {}),
    }
    response: HTMLResponse = templates.TemplateResponse(request, name, page, status_code=status_code)
    return response
