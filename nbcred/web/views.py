"""``/render/…``: learner notebooks as script-free pages, for ``<iframe sandbox>`` on the pages.

Never inlined into a page: each view is its own document with :func:`sandbox_policy` (a CSP
sandbox, no script, only ``data:`` images), rendered once per content and cached
(:mod:`nbcred.service.notebook_view`); the browser may keep it too (``ETag``, private).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from nbcred.service import submissions
from nbcred.service.users import Account
from nbcred.web.auth import ANY, context, require
from nbcred.web.security import sandbox_policy

router = APIRouter(prefix="/render", tags=["views"], include_in_schema=False)
Caller = Annotated[Account, Depends(require(*ANY))]


def sandboxed(request: Request, page: str, key: str) -> Response:
    """``page`` with the sandbox headers; 304 when the browser already holds this content."""
    headers = {"Content-Security-Policy": sandbox_policy(context(request).settings.frame_ancestor_origins()),
               "ETag": f'"{key}"', "Cache-Control": "private, max-age=3600",
               "Cross-Origin-Resource-Policy": "same-origin"}
    if request.headers.get("if-none-match", "").strip() == f'"{key}"':
        return Response(status_code=304, headers=headers)
    return HTMLResponse(page, headers=headers)


@router.get("/submissions/{submission_id}/notebooks/{notebook}", response_class=HTMLResponse)
def executed(request: Request, caller: Caller, submission_id: str, notebook: str) -> Response:
    """A graded notebook as it ran (hidden tests removed): owner and staff; sync: runs off the event loop."""
    page, key = submissions.executed_notebook_page(context(request), caller, submission_id, notebook)
    return sandboxed(request, page, key)


@router.get("/submissions/{submission_id}/uploads/{notebook}", response_class=HTMLResponse)
def uploaded(request: Request, caller: Caller, submission_id: str, notebook: str) -> Response:
    """A notebook as the learner uploaded it: owner and staff."""
    page, key = submissions.uploaded_notebook_page(context(request), caller, submission_id, notebook)
    return sandboxed(request, page, key)
