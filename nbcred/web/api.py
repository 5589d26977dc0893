"""``/api/v1``: the same operations as the pages, as JSON. Each route parses, calls, returns."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from nbcred.service import catalogue, submissions, users, verify, wallet
from nbcred.service.errors import TooLarge
from nbcred.service.uploads import UploadedFile
from nbcred.service.users import Account
from nbcred.service.watch import MAX_WAIT_SECONDS, wait_for_change
from nbcred.web.auth import ADMIN, ANY, context, require
from nbcred.web.security import sandbox_policy
from nbcred.web.views import sandboxed

router = APIRouter(prefix="/api/v1", tags=["api"])
Caller = Annotated[Account, Depends(require(*ANY))]
Admin = Annotated[Account, Depends(require(*ADMIN))]


class Detail(BaseModel):
    detail: str


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": Detail} for code in (400, 401, 403, 404, 409, 413, 422)
}


@router.get("/assessments", responses=ERRORS)
def list_assessments(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """The catalogue: ``[{"id","title","version","notebooks","attempts_allowed","has_badge"}]``."""
    return [a.as_json() for a in catalogue.list_assessments(context(request))]


@router.get("/assessments/{assessment_id}", responses=ERRORS)
def get_assessment(request: Request, caller: Caller, assessment_id: str) -> dict[str, Any]:
    """One assessment of the catalogue."""
    return catalogue.assessment_info(context(request), assessment_id).as_json()


@router.get("/assessments/{assessment_id}/release.zip", responses=ERRORS,
            response_class=Response)
def release_zip(request: Request, caller: Caller, assessment_id: str) -> Response:
    """The student version of an assessment (notebooks and data files) as a zip."""
    name, data = catalogue.release_zip(context(request), assessment_id)
    return Response(data, media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def read_uploads(request: Request, files: list[UploadFile]) -> list[UploadedFile]:
    """The uploaded files' bytes, refusing (413) as soon as the total passes the limit (call it
    from a sync route: it reads the spooled files in the worker thread)."""
    limit = context(request).settings.upload_max_bytes
    out: list[UploadedFile] = []
    total = 0
    for upload in files:
        data = upload.file.read(limit - total + 1)
        total += len(data)
        if total > limit:
            raise TooLarge(f"the upload is larger than the {limit // (1024 * 1024)} MiB allowed: "
                           "submit only the notebooks, with large outputs cleared")
        out.append(UploadedFile(upload.filename or "upload", data))
    return out


@router.post("/submissions", status_code=202, responses=ERRORS)
def submit(
    request: Request, caller: Caller,
    assessment: Annotated[str, Form(description="Assessment id from the catalogue.")],
    files: Annotated[list[UploadFile], File(description=".ipynb notebooks or a .zip of the folder.")],
) -> dict[str, Any]:
    """Upload notebooks (or a zip of the folder) for grading: ``{"id","status":"queued"}``.

    The same notebooks again answer with the earlier submission (its id and status,
    ``"duplicate": true``): they are not graded again and cost no attempt.
    """
    uploads = read_uploads(request, files)
    info = submissions.submit(context(request), caller, assessment_id=assessment, files=uploads)
    wake(request)
    return {"id": info.id, "status": info.status, "attempt": info.attempt, "duplicate": info.duplicate}


def wake(request: Request) -> None:
    """Tell this process's dispatcher that something was queued."""
    dispatcher = getattr(request.app.state, "dispatcher", None)
    if dispatcher is not None:
        dispatcher.wake()


@router.get("/submissions", responses=ERRORS)
def list_submissions(request: Request, caller: Caller, assessment: str | None = None) -> list[dict[str, Any]]:
    """The caller's submissions (instructors and admins: everyone's), newest first."""
    return [s.as_json() for s in submissions.list_submissions(context(request), caller,
                                                               assessment=assessment)]


@router.get("/submissions/{submission_id}", responses=ERRORS)
async def get_submission(
    request: Request, caller: Caller, submission_id: str,
    wait: Annotated[float, Query(ge=0, le=MAX_WAIT_SECONDS, description=(
        "Long-poll: answer as soon as the submission is graded or failed, or after this many "
        "seconds with its current status; 0 (default) answers at once."))] = 0,
) -> dict[str, Any]:
    """``{"id","status","result"}``; ``result`` is the ``nbcred grade --format json`` object once graded."""
    ctx = context(request)

    async def read() -> submissions.SubmissionDetail:
        return await run_in_threadpool(submissions.get_submission, ctx, caller, submission_id)

    if not wait:
        return (await read()).as_json()
    detail = await wait_for_change(request.app.state.watch, submission_id, wait, read,
                                   request.is_disconnected)
    return detail.as_json()


@router.get("/submissions/{submission_id}/feedback", responses=ERRORS, response_class=HTMLResponse)
def feedback(request: Request, caller: Caller, submission_id: str) -> HTMLResponse:
    """The learner feedback page (HTML)."""
    html = submissions.feedback_html(context(request), caller, submission_id)
    policy = sandbox_policy(context(request).settings.frame_ancestor_origins())
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})


@router.get("/submissions/{submission_id}/notebooks/{notebook}", responses=ERRORS,
            response_class=HTMLResponse)
def executed_notebook(request: Request, caller: Caller, submission_id: str, notebook: str) -> Response:
    """A graded notebook with its outputs (hidden tests removed), as script-free HTML in a sandbox
    (the page ``/render/submissions/{id}/notebooks/{notebook}`` shows)."""
    page, key = submissions.executed_notebook_page(context(request), caller, submission_id, notebook)
    return sandboxed(request, page, key)


@router.get("/credentials", responses=ERRORS)
def list_credentials(request: Request, caller: Caller) -> list[dict[str, Any]]:
    """The caller's credentials: ``[{"id","achievement","issued","url"}]``."""
    return [c.as_json() for c in wallet.list_credentials(context(request), caller)]


@router.get("/credentials/{credential_id}/badge.png", responses=ERRORS, response_class=Response)
def badge_png(request: Request, caller: Caller, credential_id: str) -> Response:
    """One of the caller's credentials baked into a PNG badge."""
    name, data = wallet.baked_png(context(request), caller, credential_id)
    return Response(data, media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/credentials/{credential_id}/download", responses=ERRORS)
def download_credential(request: Request, caller: Caller, credential_id: str) -> JSONResponse:
    """One of the caller's signed credentials as a JSON file."""
    summary, document = wallet.own_credential(context(request), caller, credential_id)
    name = summary.id.removeprefix(wallet.URN)
    return JSONResponse(document, media_type="application/ld+json",
                        headers={"Content-Disposition": f'attachment; filename="{name}.json"'})


class ShowName(BaseModel):
    show: bool = Field(description="Put your account's name in the credential (true) or take it out.")


@router.put("/credentials/{credential_id}/name", responses=ERRORS)
def show_name(request: Request, caller: Caller, credential_id: str, body: ShowName) -> dict[str, Any]:
    """Show (or hide) your name on one of your credentials: an OB 3.0 ``identifier`` of type
    ``name``, signed again; off until you turn it on. Returns ``{"id", "shows_name"}``."""
    from nbcred.service.credential_page import show_name as change

    shown = change(context(request), caller, credential_id, body.show)
    return {"id": credential_id, "shows_name": shown}


@router.post("/credentials/verify", responses={400: {"model": Detail}, 503: {"model": Detail}})
def verify_credential(
    request: Request, credential: Annotated[Any, Body(description="A signed credential (JSON).")],
) -> dict[str, Any]:
    """Verify a credential (no sign-in needed): the object ``nbcred credential verify --format json``
    prints, without ``file``."""
    return verify.verify_document(context(request), credential).as_json()


class Me(BaseModel):
    id: int
    email: str
    name: str
    role: str
    learner: str


@router.get("/me", responses=ERRORS)
def me(caller: Caller) -> Me:
    """Who the token or session belongs to."""
    return Me(id=caller.id, email=caller.email, name=caller.name, role=caller.role, learner=caller.learner)


class NewUser(BaseModel):
    email: str
    name: str
    role: str = Field("learner", description="learner, instructor or admin")
    password: str | None = None


@router.get("/users", responses=ERRORS)
def list_users(request: Request, caller: Admin) -> list[Me]:
    """Every user (admins only)."""
    return [Me(id=u.id, email=u.email, name=u.name, role=u.role, learner=u.learner)
            for u in users.list_users(context(request))]


@router.post("/users", status_code=201, responses=ERRORS)
def add_user(request: Request, caller: Admin, body: NewUser) -> Me:
    """Create a user (admins only)."""
    u = users.add_user(context(request), email=body.email, name=body.name, role=body.role,
                       password=body.password)
    return Me(id=u.id, email=u.email, name=u.name, role=u.role, learner=u.learner)


@router.post("/tokens", status_code=201, responses=ERRORS)
def create_token(
    request: Request, caller: Caller, label: Annotated[str, Body(embed=True)] = ""
) -> dict[str, Any]:
    """A new API token for the caller (shown once)."""
    token = users.create_token(context(request), email=caller.email, label=label)
    return {"id": token.id, "token": token.token}
