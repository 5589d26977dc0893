"""Wallet protocol endpoints: OpenID4VCI 1.0 (metadata, token, nonce, credential), VC-API
exchanges, the API routes that open an offer or exchange, and the page that shows them as QR
codes. Each route parses, calls one service function and answers as the protocol says."""

from __future__ import annotations

import json
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from nbcred.service import oid4vci, oid4vci_metadata, vcapi
from nbcred.service.errors import OAuthError
from nbcred.service.users import Account
from nbcred.service.vcapi import EXCHANGE_PATH
from nbcred.web.api import ERRORS
from nbcred.web.auth import ANY, context, require
from nbcred.web.render import render

router = APIRouter(tags=["wallets"])
Caller = Annotated[Account, Depends(require(*ANY))]
NO_STORE = {"Cache-Control": "no-store"}
LEARNER_ROUTES: dict[int | str, dict[str, Any]] = {
    code: spec for code, spec in ERRORS.items() if code in (401, 404, 409, 422)}


def _oauth(exc: OAuthError) -> JSONResponse:
    headers = dict(NO_STORE)
    if exc.status == 401:
        headers["WWW-Authenticate"] = f'Bearer error="{exc.error}"'
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


@router.get("/.well-known/openid-credential-issuer")
def credential_issuer_metadata(request: Request) -> dict[str, Any]:
    """OpenID4VCI 1.0 credential issuer metadata."""
    return oid4vci_metadata.issuer_metadata(context(request))


@router.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata(request: Request) -> dict[str, Any]:
    """RFC 8414 metadata of the authorization server (the pre-authorized code grant)."""
    return oid4vci_metadata.authorization_server_metadata(context(request))


@router.get(oid4vci_metadata.LOGO_PATH + "/{name}.png", response_class=Response)
def logo(request: Request, name: str) -> Response:
    """The issuer's or a credential configuration's logo (PNG) that wallets show."""
    return Response(oid4vci_metadata.logo(context(request), name), media_type="image/png",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.post(oid4vci_metadata.TOKEN_PATH)
async def token(request: Request) -> JSONResponse:
    """The token endpoint (``application/x-www-form-urlencoded``; JSON is accepted too)."""
    form: dict[str, str]
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            return _oauth(OAuthError("invalid_request", "the body is not JSON"))
        if not isinstance(body, dict):
            return _oauth(OAuthError("invalid_request", "the body must be an object"))
        form = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
    else:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        answer = await run_in_threadpool(oid4vci.token, context(request), form)
    except OAuthError as exc:
        return _oauth(exc)
    return JSONResponse(answer, headers=NO_STORE)


@router.post(oid4vci_metadata.NONCE_PATH)
def nonce(request: Request) -> JSONResponse:
    """The nonce endpoint: a fresh ``c_nonce`` for the next key proof."""
    return JSONResponse(oid4vci.new_nonce(context(request)), headers=NO_STORE)


@router.post(oid4vci_metadata.CREDENTIAL_PATH)
async def credential(request: Request) -> JSONResponse:
    """The credential endpoint (``Authorization: Bearer <access token>``, a JSON request)."""
    try:
        body: Any = json.loads(await request.body() or b"null")
    except ValueError:
        return _oauth(OAuthError("invalid_credential_request", "the credential request is not JSON"))
    try:
        answer = await run_in_threadpool(oid4vci.credential, context(request),
                                         authorization=request.headers.get("authorization"), request=body)
    except OAuthError as exc:
        return _oauth(exc)
    return JSONResponse(answer, headers=NO_STORE)


@router.post(EXCHANGE_PATH + "/{handle}", responses=ERRORS)
async def exchange(request: Request, handle: str) -> JSONResponse:
    """A VC-API exchange step: ``{}`` → a DID authentication request; a signed presentation → the
    credential in ``verifiablePresentation.verifiableCredential``."""
    raw = await request.body()
    try:
        body: Any = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return JSONResponse({"detail": "the body is not JSON"}, status_code=400)
    answer = await run_in_threadpool(vcapi.exchange_step, context(request), handle, body)
    return JSONResponse(answer, headers=NO_STORE)


class OfferRequest(BaseModel):
    tx_code: bool = Field(False, description="Protect the offer with a transaction code (a PIN the "
                          "wallet asks for; returned as tx_code).")


@router.post("/api/v1/credentials/{credential_id}/offer", status_code=201, responses=LEARNER_ROUTES)
def make_offer(request: Request, caller: Caller, credential_id: str,
               body: OfferRequest | None = None) -> dict[str, Any]:
    """An OpenID4VCI credential offer (pre-authorized code, single-use, short-lived) for one of
    your badges: ``{"credential_offer", "offer_uri", "expires_at"}`` (+ ``tx_code``)."""
    wanted = body.tx_code if body is not None else False
    return oid4vci.make_offer(context(request), caller, credential_id, tx_code=wanted).as_json()


@router.post("/api/v1/credentials/{credential_id}/exchange", status_code=201, responses=LEARNER_ROUTES)
def open_exchange(request: Request, caller: Caller, credential_id: str) -> dict[str, Any]:
    """A VC-API exchange handing one of your badges to the DCC Learner Credential Wallet:
    ``{"exchange_url", "lcw_request", "expires_at"}``."""
    return vcapi.open_exchange(context(request), caller, credential_id).as_json()


def qr_data_uri(text: str) -> str:
    """An SVG QR code of ``text`` as a ``data:`` URI."""
    return str(segno.make(text, error="m").svg_data_uri(scale=4, border=2))


@router.post("/wallet/credentials/{credential_id}/add", response_class=HTMLResponse,
             include_in_schema=False)
def add_to_wallet(request: Request, me: Caller, credential_id: str,
                  tx_code: Annotated[str, Form()] = "") -> HTMLResponse:
    """The page with both QR codes and links (a new offer and exchange each time)."""
    ctx = context(request)
    offer = oid4vci.make_offer(ctx, me, credential_id, tx_code=tx_code == "yes")
    exchange_ = vcapi.open_exchange(ctx, me, credential_id)
    from nbcred.service.wallet import own_credential

    summary, _document = own_credential(ctx, me, credential_id)
    return render(request, "wallet_add.html", {
        "credential": summary, "offer": offer, "exchange": exchange_,
        "offer_qr": qr_data_uri(offer.offer_uri), "lcw_qr": qr_data_uri(exchange_.lcw_request),
        "minutes": ctx.settings.wallet_offer_minutes,
    })
