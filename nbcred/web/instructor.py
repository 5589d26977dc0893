"""Instructor pages and ``/api/v1`` routes: catalogue, gradebook, manual grading, credentials.

Every route takes the caller from the one auth dependency with the instructor or admin role;
handlers parse, call one service function and render or return JSON.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from nbcred.service import (
    courseware,
    extensions,
    gradebook,
    grading_queue,
    manual,
    regrade,
    similarity,
    submissions,
)
from nbcred.service.errors import NotFound, ServiceError, Unprocessable
from nbcred.service.users import Account
from nbcred.web.api import ERRORS
from nbcred.web.auth import STAFF, context, require
from nbcred.web.render import render

Staff = Annotated[Account, Depends(require(*STAFF))]
api = APIRouter(prefix="/api/v1", tags=["instructor"])
pages = APIRouter(tags=["instructor pages"], include_in_schema=False)
CHART_TYPES = {"png": "image/png", "svg": "image/svg+xml"}


class CellGrade(BaseModel):
    score: float = Field(description="Points for the cell, from 0 to the cell's points.")
    comment: str = Field("", max_length=10_000, description="Shown to the learner in the feedback.")


class StatusChange(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


@api.put("/submissions/{submission_id}/cells/{notebook}/{grade_id}", responses=ERRORS)
def put_cell_grade(request: Request, caller: Staff, submission_id: str, notebook: str, grade_id: str,
                   body: CellGrade) -> dict[str, Any]:
    """Grade one cell by hand; returns the submission as ``GET /api/v1/submissions/{id}`` does."""
    detail = manual.grade_cell(context(request), caller, submission_id, notebook=notebook,
                               grade_id=grade_id, score=body.score, comment=body.comment)
    return detail.as_json()


@api.get("/submissions/{submission_id}/regrade", responses=ERRORS)
def api_regrade_preview(request: Request, caller: Staff, submission_id: str) -> dict[str, Any]:
    """What regrading this submission against the catalogue's live version would change."""
    return regrade.preview(context(request), submission_id).as_json()


@api.post("/submissions/{submission_id}/regrade", responses=ERRORS, status_code=202)
def api_regrade(request: Request, caller: Staff, submission_id: str) -> dict[str, Any]:
    """Queue the submission again against the live version (the old grading stays as it was)."""
    info = regrade.regrade(context(request), caller, submission_id)
    return {"id": info.id, "status": info.status, "assessment": info.assessment, "attempt": info.attempt}


@api.get("/submissions/{submission_id}/cells", responses=ERRORS)
def list_manual_cells(request: Request, caller: Staff, submission_id: str) -> list[dict[str, Any]]:
    """The cells to grade by hand: the learner's answer, the rubric, the current grade."""
    return [_cell_json(c) for c in manual.manual_cells(context(request), submission_id)]


def _cell_json(cell: manual.ManualCell) -> dict[str, Any]:
    return {"notebook": cell.notebook, "cell": cell.cell, "kind": cell.kind, "points": cell.points,
            "score": cell.score, "needs_manual": cell.needs_manual, "answer": cell.answer,
            "rubric": cell.rubric, "comment": cell.comment, "grader": cell.grader,
            "graded_at": cell.graded_at.isoformat() if cell.graded_at else None}


@api.get("/instructor/catalogue", responses=ERRORS)
def api_catalogue(request: Request, caller: Staff) -> list[dict[str, Any]]:
    """Every assessment with its versions and the live one."""
    return [_entry_json(e) for e in courseware.catalogue_entries(context(request))]


@api.post("/instructor/catalogue/reload", responses=ERRORS)
def api_reload(request: Request, caller: Staff) -> list[dict[str, Any]]:
    """Read the catalogue folder again (422 and the old catalogue kept if it is broken)."""
    return [_entry_json(e) for e in courseware.reload_catalogue(context(request))]


@api.post("/instructor/assessments/{assessment_id}/validate", responses=ERRORS)
def api_validate(request: Request, caller: Staff, assessment_id: str) -> dict[str, Any]:
    """Grade the solution and the student version: ``ok`` and the problems, cell by cell."""
    report = courseware.validate(context(request), assessment_id)
    return {"assessment": report.assessment, "ok": report.ok, "problems": report.problems,
            "warnings": report.warnings, "solution_score": report.solution_score,
            "release_score": report.release_score, "max_score": report.max_score}


def _entry_json(entry: courseware.CatalogueEntry) -> dict[str, Any]:
    return {"id": entry.id, "title": entry.title, "version": entry.version,
            "fingerprint": entry.fingerprint, "has_badge": entry.has_badge,
            "manual_cells": entry.manual_cells,
            "versions": [{"version": v.version, "fingerprint": v.fingerprint, "live": v.live}
                         for v in entry.versions]}


def _book(request: Request, assessment: str, cohort: str | None, status: str | None, sort: str,
          desc: bool) -> gradebook.Gradebook:
    return gradebook.gradebook(context(request), assessment=assessment, cohort=cohort or None,
                               status=status or None, sort=sort, descending=desc)


@api.get("/instructor/gradebook/{assessment}", responses=ERRORS)
def api_gradebook(request: Request, caller: Staff, assessment: str, cohort: str | None = None,
                  status: str | None = None, sort: str = "learner", desc: bool = False) -> dict[str, Any]:
    """Each learner's latest and best attempt, competencies and per-test difficulty."""
    book = _book(request, assessment, cohort, status, sort, desc)
    return {"assessment": book.assessment, "competencies": [c for c, _ in book.competencies],
            "difficulty": book.difficulty(),
            "rows": [{"learner": r.learner, "attempts": r.attempts,
                      "latest": _attempt_json(r.latest), "best": _attempt_json(r.best)} for r in book.rows]}


def _attempt_json(a: gradebook.GradedAttempt) -> dict[str, Any]:
    return {"attempt": a.attempt, "score": a.score, "max_score": a.max_score, "passed": a.passed,
            "needs_manual": a.needs_manual, "competencies": a.competencies, "submission": a.submission,
            "version": a.version}


@api.get("/instructor/gradebook/{assessment}/gradebook.csv", responses=ERRORS, response_class=Response)
def api_gradebook_csv(request: Request, caller: Staff, assessment: str, cohort: str | None = None,
                      status: str | None = None, sort: str = "learner", desc: bool = False) -> Response:
    """The gradebook as CSV."""
    book = _book(request, assessment, cohort, status, sort, desc)
    return Response(gradebook.to_csv(book), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{assessment}-gradebook.csv"'})


@api.get("/instructor/gradebook/{assessment}/charts/{kind}.{fmt}", responses=ERRORS,
         response_class=Response)
def api_chart(request: Request, caller: Staff, assessment: str, kind: str, fmt: str,
              cohort: str | None = None) -> Response:
    """``heatmap``, ``scores`` or ``difficulty`` as PNG or SVG."""
    if kind not in ("heatmap", "scores", "difficulty") or fmt not in CHART_TYPES:
        return JSONResponse({"detail": "use heatmap, scores or difficulty, as .png or .svg"}, 404)
    book = _book(request, assessment, cohort, None, "learner", False)
    data = gradebook.chart(book, kind, fmt=fmt)  # type: ignore[arg-type]
    return Response(data, media_type=CHART_TYPES[fmt])


@api.get("/instructor/credentials", responses=ERRORS)
def api_credentials(request: Request, caller: Staff, q: str = "") -> list[dict[str, Any]]:
    """Issued credentials matching ``q`` (id, learner or achievement)."""
    return [c.as_json() for c in courseware.search_credentials(context(request), q)]


@api.post("/instructor/credentials/{credential_id}/{action}", responses=ERRORS)
def api_credential_status(request: Request, caller: Staff, credential_id: str, action: str,
                          body: StatusChange) -> dict[str, Any]:
    """``revoke``, ``suspend``, ``unsuspend`` or ``reissue`` with a reason; the status list is
    republished. ``reissue`` returns the new credential (the old one is superseded and revoked)."""
    return courseware.set_status(context(request), credential_id, action=action,
                                 reason=body.reason).as_json()


# pages -------------------------------------------------------------------------------------------


@pages.get("/instructor", response_class=HTMLResponse)
def page_home(request: Request, caller: Staff, message: str = "") -> HTMLResponse:
    ctx = context(request)
    return render(request, "instructor/home.html", {
        "entries": courseware.catalogue_entries(ctx), "message": message,
        "waiting": grading_queue.counts(ctx)})


@api.get("/instructor/grading-queue", responses=ERRORS)
def api_grading_queue(request: Request, caller: Staff, assessment: str | None = None) -> dict[str, Any]:
    """Submissions waiting for manual grading, oldest first, and how many per assessment."""
    ctx = context(request)
    return {"counts": grading_queue.counts(ctx),
            "waiting": [{"submission": w.submission, "assessment": w.assessment, "learner": w.learner,
                         "name": w.name, "attempt": w.attempt, "submitted_at": w.submitted_at.isoformat()}
                        for w in grading_queue.waiting(ctx, assessment)]}


@pages.get("/instructor/similarity/{assessment}", response_class=HTMLResponse)
def page_similarity(request: Request, caller: Staff, assessment: str,
                    threshold: float = similarity.DEFAULT_THRESHOLD) -> HTMLResponse:
    """Pairs of learners whose written code is alike, by name, fragments side by side."""
    found = similarity.similarity(context(request), assessment, threshold=threshold)
    return render(request, "instructor/similarity.html", {"s": found})


class ExtensionGrant(BaseModel):
    learner: str = Field(min_length=1, max_length=320, description="Learner id or account e-mail.")
    extra_attempts: int = Field(0, ge=0, le=extensions.MAX_EXTRA, description="Attempts to add.")
    due_until: datetime | None = Field(None, description="The learner's own due date (ISO 8601).")
    reason: str = Field("", max_length=2000)


@api.post("/instructor/assessments/{assessment_id}/extensions", responses=ERRORS)
def api_grant_extension(request: Request, caller: Staff, assessment_id: str,
                        body: ExtensionGrant) -> dict[str, Any]:
    """Grant one learner extra attempts and/or a later due date; returns the learner's totals."""
    return extensions.grant(context(request), caller, assessment_id=assessment_id, learner=body.learner,
                            extra_attempts=body.extra_attempts, due_until=body.due_until,
                            reason=body.reason).as_json()


@api.get("/instructor/assessments/{assessment_id}/extensions", responses=ERRORS)
def api_extensions(request: Request, caller: Staff, assessment_id: str) -> list[dict[str, Any]]:
    """Every extension granted for the assessment."""
    return [g.as_json() for g in extensions.list_extensions(context(request), assessment_id)]


@pages.get("/instructor/extensions/{assessment_id}", response_class=HTMLResponse)
def page_extensions(request: Request, caller: Staff, assessment_id: str, learner: str = "",
                    message: str = "") -> HTMLResponse:
    ctx = context(request)
    if assessment_id not in ctx.catalogue.assessments:
        raise NotFound(f"assessment {assessment_id!r} is not in the catalogue")
    return render(request, "instructor/extensions.html", {
        "assessment": ctx.catalogue.assessments[assessment_id], "learner": learner, "message": message,
        "granted": extensions.list_extensions(ctx, assessment_id)})


@pages.post("/instructor/extensions/{assessment_id}", response_class=HTMLResponse, response_model=None)
def page_grant_extension(request: Request, caller: Staff, assessment_id: str,
                         learner: Annotated[str, Form()], extra_attempts: Annotated[int, Form()] = 0,
                         due_until: Annotated[str, Form()] = "",
                         reason: Annotated[str, Form()] = "") -> Response:
    try:
        due = datetime.fromisoformat(due_until).replace(tzinfo=UTC) if due_until.strip() else None
    except ValueError:
        raise Unprocessable(f"{due_until!r} is not a date and time (YYYY-MM-DDTHH:MM)") from None
    done = extensions.grant(context(request), caller, assessment_id=assessment_id, learner=learner,
                            extra_attempts=extra_attempts, due_until=due, reason=reason)
    message = quote(f"{done.name}: {done.extra_attempts} extra attempt(s)"
                    + (f", due {done.due_until:%Y-%m-%d %H:%M} UTC" if done.due_until else ""))
    return RedirectResponse(f"/instructor/extensions/{assessment_id}?message={message}", status_code=303)


@pages.get("/instructor/grading", response_class=HTMLResponse)
def page_grading_queue(request: Request, caller: Staff, assessment: str = "") -> HTMLResponse:
    ctx = context(request)
    return render(request, "instructor/queue.html", {
        "assessment": assessment, "counts": grading_queue.counts(ctx),
        "waiting": grading_queue.waiting(ctx, assessment or None),
        "titles": {e.id: e.title for e in courseware.catalogue_entries(ctx)}})


@pages.post("/instructor/catalogue/reload", response_class=HTMLResponse, response_model=None)
def page_reload(request: Request, caller: Staff) -> Response:
    try:
        entries = courseware.reload_catalogue(context(request))
    except ServiceError as exc:
        return render(request, "instructor/home.html", {
            "entries": courseware.catalogue_entries(context(request)), "message": str(exc)}, status_code=422)
    return RedirectResponse(f"/instructor?message=Reloaded+{len(entries)}+assessments", status_code=303)


@pages.post("/instructor/assessments/{assessment_id}/validate", response_class=HTMLResponse)
def page_validate(request: Request, caller: Staff, assessment_id: str) -> HTMLResponse:
    report = courseware.validate(context(request), assessment_id)
    return render(request, "instructor/validate.html", {"report": report})


@pages.get("/instructor/gradebook/{assessment}", response_class=HTMLResponse)
def page_gradebook(request: Request, caller: Staff, assessment: str, cohort: str = "", status: str = "",
                   sort: str = "learner", desc: bool = False) -> HTMLResponse:
    book = _book(request, assessment, cohort, status, sort, desc)
    query = f"?cohort={cohort}" if cohort else ""
    return render(request, "instructor/gradebook.html", {
        "book": book, "cohort": cohort, "status": status, "sort": sort, "desc": desc, "query": query,
        "difficulty": book.difficulty()})


@pages.get("/instructor/submissions/{submission_id}/regrade", response_class=HTMLResponse)
def page_regrade_preview(request: Request, caller: Staff, submission_id: str) -> HTMLResponse:
    return render(request, "instructor/regrade.html",
                  {"p": regrade.preview(context(request), submission_id)})


@pages.post("/instructor/submissions/{submission_id}/regrade", response_model=None)
def page_regrade(request: Request, caller: Staff, submission_id: str) -> Response:
    info = regrade.regrade(context(request), caller, submission_id)
    return RedirectResponse(f"/instructor/submissions/{info.id}", status_code=303)


@pages.get("/instructor/submissions/{submission_id}", response_class=HTMLResponse)
def page_submission(request: Request, caller: Staff, submission_id: str, saved: str = "") -> HTMLResponse:
    ctx = context(request)
    detail = submissions.get_submission(ctx, caller, submission_id)
    cells = manual.manual_cells(ctx, submission_id) if detail.result is not None else []
    try:
        versions = regrade.preview(ctx, submission_id)
    except ServiceError:  # the assessment left the catalogue: nothing to regrade against
        versions = None
    return render(request, "instructor/submission.html", {
        "d": detail, "cells": cells, "saved": saved, "versions": versions,
        "notebooks": list(submissions.uploaded_notebooks(ctx, caller, submission_id)),
        "queue": grading_queue.neighbours(ctx, submission_id, detail.info.assessment)})


@pages.post("/instructor/submissions/{submission_id}/cells/{notebook}/{grade_id}",
            response_class=HTMLResponse, response_model=None)
def page_grade_cell(request: Request, caller: Staff, submission_id: str, notebook: str, grade_id: str,
                    score: Annotated[float, Form()], comment: Annotated[str, Form()] = "") -> Response:
    manual.grade_cell(context(request), caller, submission_id, notebook=notebook, grade_id=grade_id,
                      score=score, comment=comment)
    return RedirectResponse(f"/instructor/submissions/{submission_id}?saved={notebook}/{grade_id}",
                            status_code=303)


@pages.get("/instructor/credentials", response_class=HTMLResponse)
def page_credentials(request: Request, caller: Staff, q: str = "", message: str = "") -> HTMLResponse:
    ctx = context(request)
    found = courseware.search_credentials(ctx, q)
    return render(request, "instructor/credentials.html", {
        "q": q, "found": found, "message": message,
        "names": courseware.learner_names(ctx, [c.learner for c in found])})


#: actions that cannot be undone: the page asks again before doing them
IRREVERSIBLE = {"revoke": "Revoking cannot be undone: the credential stays invalid for good.",
                "reissue": "Reissuing revokes this credential for good and issues a new one."}


@pages.post("/instructor/credentials/{credential_id}/{action}", response_class=HTMLResponse,
            response_model=None)
def page_credential_status(request: Request, caller: Staff, credential_id: str, action: str,
                           reason: Annotated[str, Form()] = "", q: Annotated[str, Form()] = "",
                           confirmed: Annotated[str, Form()] = "") -> Response:
    ctx = context(request)
    if action in IRREVERSIBLE and confirmed != "yes":
        found = [c for c in courseware.search_credentials(ctx, credential_id) if c.id == credential_id]
        if not found:
            raise NotFound(f"no credential {credential_id!r}")
        return render(request, "instructor/confirm.html", {
            "c": found[0], "action": action, "warning": IRREVERSIBLE[action], "reason": reason, "q": q,
            "names": courseware.learner_names(ctx, [found[0].learner])})
    info = courseware.set_status(ctx, credential_id, action=action, reason=reason)
    message = quote(f"{info.id} is now {info.status}")
    return RedirectResponse(f"/instructor/credentials?q={quote(q)}&message={message}", status_code=303)


router = APIRouter()
router.include_router(api)
router.include_router(pages)
