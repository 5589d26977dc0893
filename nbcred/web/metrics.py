"""``GET /metrics``: Prometheus text for monitoring, for an admin's API token or the settings'
``NBCRED_METRICS_TOKEN``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials

from nbcred.service import metrics
from nbcred.service.errors import Forbidden, NotAuthenticated
from nbcred.web.auth import BEARER, context, current_account

router = APIRouter(tags=["operations"], include_in_schema=False)


async def metrics_reader(
    request: Request, bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)] = None
) -> None:
    """The monitoring token, or an admin (bearer token or session); anyone else is refused."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and metrics.token_allowed(context(request), token.strip()):
        return
    account = await run_in_threadpool(current_account, request)
    if account is None:
        raise NotAuthenticated("send Authorization: Bearer <NBCRED_METRICS_TOKEN or an admin's API token>")
    if account.role != "admin":
        raise Forbidden(f"metrics need the admin role or the monitoring token; you are {account.role}")


metrics_reader.roles = ("admin",)  # type: ignore[attr-defined]  # read by the refusal tests


@router.get("/metrics", dependencies=[Security(metrics_reader)])
def metrics_page(request: Request) -> Response:
    """Queue depth, workers alive and grading rate, in Prometheus' text format."""
    return Response(metrics.render(context(request)), media_type=metrics.CONTENT_TYPE)
