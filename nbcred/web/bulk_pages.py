"""Instructor pages: bulk issue, revoke and suspend from an uploaded CSV, previewed before acting."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse

from nbcred.service import bulk_upload
from nbcred.service.users import Account
from nbcred.web.auth import STAFF, context, require
from nbcred.web.reach import wake_mailer
from nbcred.web.render import render

Staff = Annotated[Account, Depends(require(*STAFF))]
router = APIRouter(tags=["instructor pages"], include_in_schema=False)


@router.get("/instructor/bulk", response_class=HTMLResponse)
def page_bulk(request: Request, caller: Staff) -> HTMLResponse:
    return render(request, "instructor/bulk.html", {"preview": None})


@router.post("/instructor/bulk/preview", response_class=HTMLResponse)
def page_bulk_preview(request: Request, caller: Staff, action: Annotated[str, Form()],
                      file: Annotated[UploadFile, File()]) -> HTMLResponse:
    """Store the CSV and show what confirming would do; nothing changes yet."""
    data = file.file.read(context(request).settings.upload_max_bytes + 1)  # in the threadpool
    shown = bulk_upload.preview(context(request), action, data)
    return render(request, "instructor/bulk.html", {"preview": shown, "filename": file.filename or "CSV"})


@router.post("/instructor/bulk/confirm", response_class=HTMLResponse)
def page_bulk_confirm(request: Request, caller: Staff, action: Annotated[str, Form()],
                      token: Annotated[str, Form()], reason: Annotated[str, Form()] = "",
                      notify: Annotated[bool, Form()] = False) -> HTMLResponse:
    ctx = context(request)
    if action == "issue":
        issued = bulk_upload.confirm_issue(ctx, token, notify=notify)
        if issued.mail_queued:
            wake_mailer(request)
        done: dict[str, object] = {"issued": issued.report, "mail_queued": issued.mail_queued,
                                   "notify": notify, "changed": None}
    else:
        done = {"issued": None, "changed": bulk_upload.confirm_status(ctx, token, action, reason)}
    return render(request, "instructor/bulk_done.html", {"action": action, **done})
