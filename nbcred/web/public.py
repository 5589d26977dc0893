"""Public URLs: what credentials point at (credential, issuer, DID, status lists, achievements),
the verify page, and the health check. No sign-in needed."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from nbcred.service import credential_page, public, verify, wallet
from nbcred.service.errors import ServiceError
from nbcred.web.auth import context, optional_account, public_form
from nbcred.web.render import render

router = APIRouter(tags=["public"])
JSON_TYPES = ("application/json", "application/ld+json")


def wants_json(request: Request) -> bool:
    """True when the client asks for JSON (or JSON-LD) rather than a page."""
    accept = request.headers.get("accept", "")
    return any(t in accept for t in JSON_TYPES)


def _json(request: Request, document: dict[str, Any]) -> JSONResponse:
    ld = "application/ld+json" in request.headers.get("accept", "")
    return JSONResponse(document, media_type="application/ld+json" if ld else "application/json",
                        headers={"Access-Control-Allow-Origin": "*", "Vary": "Accept"})


@router.get("/healthz", tags=["public"])
def healthz(request: Request) -> JSONResponse:
    """200 when the database answers, 503 otherwise."""
    try:
        with context(request).store.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:
        detail = f"database unreachable: {type(exc).__name__}"
        return JSONResponse({"status": "unavailable", "detail": detail}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/credentials/{credential_id}", response_model=None)
async def credential(request: Request, credential_id: str,
                     me: Annotated[Any, Depends(optional_account)], download: str = "") -> Response:
    """The credential: a page for browsers, the signed OB 3.0 JSON for ``Accept: application/(ld+)json``
    (``?download=json``: the same JSON as a file to save)."""
    summary, document = await run_in_threadpool(wallet.public_credential, context(request), credential_id)
    if download == "json":
        name = summary.id.removeprefix(wallet.URN)
        response = _json(request, document)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.json"'
        return response
    if wants_json(request):
        return _json(request, document)
    return await _credential_page(request, credential_id)


def _credential_view(ctx: Any, credential_id: str) -> tuple[verify.VerifyReport, Any]:
    _summary, document = wallet.public_credential(ctx, credential_id)
    report = verify.verify_document(ctx, document)  # in a verification worker process
    return report, credential_page.page(ctx, credential_id, report)


async def _credential_page(request: Request, credential_id: str, checked: tuple[str, bool] | None = None,
                           status_code: int = 200) -> Response:
    report, view = await run_in_threadpool(_credential_view, context(request), credential_id)
    return render(request, "credential.html", {
        "p": view, "c": view.summary, "report": report, "checked": checked,
        "pretty": json.dumps(view.document, indent=2, ensure_ascii=False),
    }, status_code=status_code)


@router.post("/credentials/{credential_id}/recipient", response_model=None,
             dependencies=[Depends(public_form)])
async def check_recipient(request: Request, credential_id: str,
                          email: Annotated[str, Form(max_length=320)] = "") -> Response:
    """Whether an e-mail address is the one the credential was issued to (its hashed identifier)."""
    try:
        matches = await run_in_threadpool(credential_page.recipient_matches, context(request), credential_id,
                                          email)
    except ServiceError as exc:
        if exc.status == 404:
            raise
        return await _credential_page(request, credential_id, (str(exc), False), status_code=exc.status)
    return await _credential_page(request, credential_id, (email.strip(), matches))


@router.get("/credentials/{credential_id}/image.png")
def credential_image(request: Request, credential_id: str) -> Response:
    """The badge as a PNG with the credential baked in (Open Graph and Twitter card image)."""
    from credentials.baking import bake

    summary, document = wallet.public_credential(context(request), credential_id)
    return Response(bake(document, wallet.badge_png(summary.name)), media_type="image/png",
                    headers={"Cache-Control": "public, max-age=300"})


@router.get("/issuer", response_model=None)
def issuer(request: Request, me: Annotated[Any, Depends(optional_account)]) -> Response:
    """The issuer profile (page, or JSON)."""
    view = public.issuer_profile(context(request))
    if wants_json(request):
        return _json(request, view.profile)
    return render(request, "issuer.html", {"view": view})


@router.get("/issuer/logo.svg")
def issuer_logo(request: Request) -> Response:
    """The issuer's mark: its initials in a seal (shown beside its name on credential pages)."""
    from html import escape

    name = context(request).settings.issuer_name
    initials = escape("".join(w[0] for w in name.split() if w[:1].isalnum())[:3].upper() or "?")
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img">'
           f'<title>{escape(name)}</title><circle cx="32" cy="32" r="30" fill="#1f4e79"/>'
           '<circle cx="32" cy="32" r="25" fill="none" stroke="#f2a900" stroke-width="3"/>'
           f'<text x="32" y="39" font-family="sans-serif" font-size="18" font-weight="700" '
           f'text-anchor="middle" fill="#fff">{initials}</text></svg>')
    return Response(svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=3600"})


@router.get("/.well-known/did.json")
def did_json(request: Request) -> JSONResponse:
    """The did:web DID document listing every issuer key."""
    return _json(request, public.did_document(context(request)))


@router.get("/status/revocations")
def revocation_list(request: Request) -> JSONResponse:
    """The 1EdTech revocation list the credentials embedded in CLRs point at."""
    return _json(request, public.revocation_list(context(request)))


@router.get("/status/{purpose}/{number}")
def status_list(request: Request, purpose: str, number: str) -> JSONResponse:
    """A signed Bitstring Status List credential (revocation or suspension)."""
    return _json(request, public.status_list(context(request), purpose, number))


@router.get("/achievements/{assessment_id}/{version}", response_model=None)
def achievement(request: Request, assessment_id: str, version: str,
                      me: Annotated[Any, Depends(optional_account)]) -> Response:
    """An achievement (what a badge certifies): page or JSON."""
    document = public.achievement(context(request), assessment_id, version)
    if wants_json(request):
        return _json(request, document)
    return render(request, "achievement.html", {"a": document})


@router.get("/achievements/{assessment_id}/{version}/{filename}")
def achievement_image(request: Request, assessment_id: str, version: str, filename: str) -> FileResponse:
    """A badge image linked from an achievement."""
    relative = f"achievements/{assessment_id}/{version}/{filename}"
    return FileResponse(public.public_file(context(request), relative))


@router.get("/pathways/{pathway_id}")
def pathway(request: Request, pathway_id: str) -> JSONResponse:
    """A pathway's stacked achievement."""
    return _json(request, public.pathway(context(request), pathway_id))


@router.get("/pathways/{pathway_id}/{filename}")
def pathway_image(request: Request, pathway_id: str, filename: str) -> FileResponse:
    """A pathway's badge image."""
    return FileResponse(public.public_file(context(request), f"pathways/{pathway_id}/{filename}"))


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, me: Annotated[Any, Depends(optional_account)]) -> HTMLResponse:
    """The verify form: paste JSON, upload a baked badge or give a link."""
    return render(request, "verify.html", {"report": None})


@router.post("/verify", response_class=HTMLResponse, dependencies=[Depends(public_form)])
async def verify_submit(
    request: Request,
    credential_json: Annotated[str, Form()] = "",
    link: Annotated[str, Form()] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> HTMLResponse:
    """Verify what was pasted, uploaded or linked, and explain each check."""
    ctx = context(request)
    try:
        if file is not None and file.filename:
            content = await file.read(verify.MAX_FETCH_BYTES + 1)
            source = file.filename
            report = await run_in_threadpool(verify.verify_upload, ctx, file.filename, content)
        elif credential_json.strip():
            source = "pasted JSON"
            report = await run_in_threadpool(verify.verify_text, ctx, credential_json)
        elif link.strip():
            source = link.strip()
            report = await run_in_threadpool(verify.verify_link, ctx, link)
        else:
            problem = "paste a credential, upload a badge or give a link"
            return render(request, "verify.html", {"report": None, "problem": problem}, status_code=400)
    except ServiceError as exc:
        return render(request, "verify.html", {"report": None, "problem": str(exc)}, status_code=exc.status)
    return render(request, "verify.html", {"report": report, "source": source})
