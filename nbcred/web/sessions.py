"""Sessions as routes: a user lists and ends their own; an administrator ends anyone's.

``/api/v1/sessions`` (the caller's), ``/api/v1/users/{email}/sessions`` (admins) and the account
page's forms; each calls :mod:`nbcred.service.sessions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from nbcred.service import sessions
from nbcred.service.sessions import SessionInfo
from nbcred.service.users import Account
from nbcred.web.auth import ADMIN, ANY, context, current_session_id, require

router = APIRouter(tags=["sessions"])
Caller = Annotated[Account, Depends(require(*ANY))]
Admin = Annotated[Account, Depends(require(*ADMIN))]


class SessionOut(BaseModel):
    id: int
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str | None
    user_agent: str | None
    current: bool


class Ended(BaseModel):
    ended: int


def _out(info: SessionInfo, current: int | None) -> SessionOut:
    return SessionOut(id=info.id, created_at=info.created_at, last_seen_at=info.last_seen_at,
                      expires_at=info.expires_at, address=info.address, user_agent=info.user_agent,
                      current=info.id == current)


@router.get("/api/v1/sessions")
def my_sessions(request: Request, caller: Caller) -> list[SessionOut]:
    """The caller's open browser sessions (``current`` marks the one making this request)."""
    current = current_session_id(request)
    return [_out(s, current) for s in sessions.list_sessions(context(request), email=caller.email)]


@router.delete("/api/v1/sessions/{session_id}", status_code=204)
def end_my_session(request: Request, caller: Caller, session_id: int) -> Response:
    """End one of the caller's sessions (a cookie holding it no longer signs in)."""
    sessions.end_session_by_id(context(request), session_id, email=caller.email,
                               reason=sessions.ENDED_BY_USER)
    return Response(status_code=204)


@router.post("/api/v1/sessions/end-others")
def end_my_other_sessions(request: Request, caller: Caller) -> Ended:
    """End every session of the caller except the one making this request."""
    ended = sessions.end_sessions(context(request), email=caller.email, keep=current_session_id(request),
                                  reason=sessions.ENDED_BY_USER)
    return Ended(ended=ended)


@router.get("/api/v1/users/{email}/sessions")
def user_sessions(request: Request, caller: Admin, email: str) -> list[SessionOut]:
    """A user's open sessions (admins only)."""
    return [_out(s, None) for s in sessions.list_sessions(context(request), email=email)]


@router.post("/api/v1/users/{email}/sessions/end")
def end_user_sessions(
    request: Request, caller: Admin, email: str,
    session_id: Annotated[int | None, Body(embed=True)] = None,
) -> Ended:
    """End one session (``{"session_id": n}``) or all sessions of a user (admins only)."""
    ctx = context(request)
    if session_id is not None:
        sessions.end_session_by_id(ctx, session_id, email=email)
        return Ended(ended=1)
    keep = current_session_id(request) if email.strip().lower() == caller.email else None
    return Ended(ended=sessions.end_sessions(ctx, email=email, keep=keep))


@router.post("/account/sessions/end-others", include_in_schema=False)
def end_others_page(request: Request, caller: Caller) -> RedirectResponse:
    sessions.end_sessions(context(request), email=caller.email, keep=current_session_id(request),
                          reason=sessions.ENDED_BY_USER)
    return RedirectResponse("/account", status_code=303)


@router.post("/account/sessions/{session_id}/end", include_in_schema=False)
def end_one_page(request: Request, caller: Caller, session_id: int) -> RedirectResponse:
    sessions.end_session_by_id(context(request), session_id, email=caller.email,
                               reason=sessions.ENDED_BY_USER)
    return RedirectResponse("/account", status_code=303)
