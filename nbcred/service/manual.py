"""Manual grading: an instructor scores a cell; competencies, pass, feedback and credential follow.

Every save adds a :class:`~nbcred.store.models.ManualGrade` row (who, when, score, comment) and a
new grading (``origin="manual"``) built from the submission's automatic grading with the latest
manual grade of every cell applied; the automatic grading is never changed. Saves of one
submission are serialised by bumping ``submissions.manual_revision`` as the transaction's first
statement (a row lock on PostgreSQL, the write lock on SQLite), so two instructors saving at
once both land and the second sees the first's grade. The credential is issued after the commit
through the idempotent issuer: one per learner and achievement version, however many saves pass.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from pathlib import Path

import nbformat
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from grader.assessment import Assessment, GradeCell
from grader.feedback import write_feedback
from grader.rescore import apply_manual_grades
from grader.restore import by_grade_id
from grader.results import GradeResult
from nbcred.service.context import ServiceContext
from nbcred.service.errors import Conflict, NotFound, Unprocessable
from nbcred.service.submissions import SubmissionDetail, get_submission
from nbcred.service.users import Account
from nbcred.service.versions import assessment_for
from nbcred.store.models import Grading, ManualGrade, Submission, WebSubmission
from nbcred.store.store import to_result


@dataclass(frozen=True)
class ManualCell:
    """One cell on the grading form: the learner's answer, the rubric and the current grade."""

    notebook: str
    cell: str
    kind: str
    points: float
    score: float
    needs_manual: bool
    answer: str
    rubric: str
    comment: str
    grader: str | None
    graded_at: datetime | None


@dataclass(frozen=True)
class _Target:
    row_id: str
    submission_pk: int
    assessment: Assessment
    upload_path: str


def _target(ctx: ServiceContext, submission_id: str) -> _Target:
    with ctx.store.session() as session:
        row = session.get(WebSubmission, submission_id)
        if row is None:
            raise NotFound(f"no submission {submission_id!r} (see GET /api/v1/submissions)")
        grading = session.get(Grading, row.grading_id) if row.grading_id is not None else None
        if grading is None:
            raise Conflict(f"submission {submission_id} is {row.status}: grade it by hand once the "
                           "automatic grading has finished")
        assessment_id, fingerprint, version = row.assessment_id, row.fingerprint, row.assessment_version
        submission_pk, upload_path = grading.submission_id, row.upload_path
        digest = row.content_hash
    assessment = assessment_for(ctx, assessment_id, fingerprint)
    if assessment is None:
        raise Conflict(f"version {version} of {assessment_id}, which submission {submission_id} was "
                       "graded with, is no longer stored (it was changed before versions were kept); "
                       "regrade the submission against the current version to grade it")
    from nbcred.service.shared import upload_folder

    folder = upload_folder(ctx, assessment_id, digest, upload_path)
    return _Target(submission_id, submission_pk, assessment, str(folder))


def _cell_info(assessment: Assessment, notebook: str, grade_id: str) -> GradeCell:
    for cell in assessment.grade_cells():
        if cell.notebook == notebook and cell.grade_id == grade_id:
            return cell
    known = ", ".join(c.key for c in assessment.grade_cells())
    raise NotFound(f"{notebook}/{grade_id} is not a grade cell of {assessment.id} (cells: {known})")


def _latest_manual(session: Session, submission_pk: int) -> dict[tuple[str, str], ManualGrade]:
    rows = session.scalars(select(ManualGrade).where(ManualGrade.submission_id == submission_pk)
                           .order_by(ManualGrade.id))
    return {(m.notebook, m.cell): m for m in rows}


def _base_grading(session: Session, submission_pk: int) -> Grading:
    """The submission's latest automatic grading."""
    grading = session.scalars(
        select(Grading).where(Grading.submission_id == submission_pk, Grading.origin == "auto")
        .order_by(Grading.id.desc()).limit(1)
    ).first()
    if grading is None:
        raise Conflict("this submission has no automatic grading to amend")
    return grading


def manual_cells(ctx: ServiceContext, submission_id: str) -> list[ManualCell]:
    """Every cell that needs (or had) manual grading, with the learner's answer and the rubric."""
    target = _target(ctx, submission_id)
    assessment = target.assessment
    answers = _answers(Path(target.upload_path), assessment)
    with ctx.store.session() as session:
        base = to_result(_base_grading(session, target.submission_pk))
        latest = _latest_manual(session, target.submission_pk)
    out = []
    for cell in base.cells:
        done = latest.get((cell.notebook, cell.cell))
        if cell.kind == "autograded" and done is None:
            continue
        info = _cell_info(assessment, cell.notebook, cell.cell)
        out.append(ManualCell(
            notebook=cell.notebook, cell=cell.cell, kind=cell.kind, points=info.points,
            score=done.score if done else cell.score, needs_manual=cell.needs_manual and done is None,
            answer=answers.get((cell.notebook, cell.cell), ""), rubric=_rubric(assessment, info),
            comment=done.comment if done else "", grader=done.grader if done else None,
            graded_at=done.graded_at if done else None,
        ))
    return out


def _answers(folder: Path, assessment: Assessment) -> dict[tuple[str, str], str]:
    answers: dict[tuple[str, str], str] = {}
    for nb in assessment.notebooks:
        path = folder / nb.filename
        try:
            submitted = nbformat.read(path, as_version=4)
        except Exception:  # a missing or corrupt notebook has no answers to show
            continue
        for grade_id, (_, cell) in by_grade_id(submitted).items():
            answers[(nb.name, grade_id)] = str(cell.source)
    return answers


#: nbgrader's marker lines (any comment prefix), which are not part of the model answer
MARKER = re.compile(r"^\s*(?:#+|//|%+|--|;+)?\s*(?:BEGIN|END) (?:SOLUTION|HIDDEN TESTS)\s*$"
                    r"|^\s*=== (?:BEGIN|END) MARK SCHEME ===\s*$")


def model_answer(source: str) -> str:
    """A solution cell's source without nbgrader's BEGIN/END markers."""
    return "\n".join(line for line in source.splitlines() if not MARKER.match(line)).strip("\n")


def _rubric(assessment: Assessment, info: GradeCell) -> str:
    source = assessment.notebook(info.notebook).source
    found = by_grade_id(source).get(info.grade_id)
    return "" if found is None else model_answer(str(found[1].source))


def grade_cell(
    ctx: ServiceContext, account: Account, submission_id: str, *, notebook: str, grade_id: str,
    score: float, comment: str = "",
) -> SubmissionDetail:
    """Record ``score`` for one cell, re-decide the submission and return it as the API shows it."""
    target = _target(ctx, submission_id)
    info = _cell_info(target.assessment, notebook, grade_id)
    if not math.isfinite(score) or score < 0 or score > info.points + 1e-9:
        raise Unprocessable(f"score {score:g} is outside 0..{info.points:g}, the points of "
                            f"{notebook}/{grade_id}")
    result, grading_id = _save(ctx, account, target, notebook, grade_id, float(score), comment)
    if result.passed and not result.errors:
        credential = ctx.issuer(result, target.assessment, grading_id)
        if credential is None:  # lost a race with a concurrent save's issuance: theirs is found now
            credential = ctx.issuer.issue(result, target.assessment, grading_id)
        if credential is not None:
            ours = select(Grading.id).where(Grading.submission_id == target.submission_pk)
            with ctx.store.session() as session:
                session.execute(update(WebSubmission).where(WebSubmission.grading_id.in_(ours))
                                .values(credential_id=credential)
                                .execution_options(synchronize_session=False))
    return get_submission(ctx, account, submission_id)


def _save(
    ctx: ServiceContext, account: Account, target: _Target, notebook: str, grade_id: str,
    score: float, comment: str,
) -> tuple[GradeResult, int]:
    assessment = target.assessment
    with ctx.store.session() as session:
        session.execute(  # first statement: serialises concurrent saves of this submission
            update(Submission).where(Submission.id == target.submission_pk)
            .values(manual_revision=Submission.manual_revision + 1)
            .execution_options(synchronize_session=False)
        )
        base = _base_grading(session, target.submission_pk)
        grade = ManualGrade(submission_id=target.submission_pk, notebook=notebook, cell=grade_id,
                            score=score, comment=comment.strip(), grader=account.email)
        session.add(grade)
        session.flush()
        latest = _latest_manual(session, target.submission_pk)
        result = apply_manual_grades(to_result(base), base.tests or [], latest, assessment)
        result.feedback = str(write_feedback(result, assessment, (ctx.settings.home / "feedback").resolve()))
        grading = _grading_row(result, base, account.email)
        session.add(grading)
        session.flush()
        grade.grading_id = grading.id
        previous = select(Grading.id).where(Grading.submission_id == target.submission_pk)
        session.execute(update(WebSubmission).where(WebSubmission.grading_id.in_(previous))
                        .values(grading_id=grading.id).execution_options(synchronize_session=False))
        from nbcred.service.lti import grading_recorded  # the changed score goes to the LMS too

        grading_recorded(ctx, session, learner_id=base.submission.learner_id, assessment_id=assessment.id)
        return replace(result, attempt=base.submission.attempt), grading.id


def _grading_row(result: GradeResult, base: Grading, grader: str) -> Grading:
    from nbcred.store.models import CompetencyResult, GradedCell

    return Grading(
        submission_id=base.submission_id, status=base.status, score=result.score,
        max_score=result.max_score, passed=result.passed, needs_manual=result.needs_manual,
        errors=list(result.errors), tampered_cells=list(result.tampered_cells),
        feedback_path=result.feedback, seconds=base.seconds, origin="manual", based_on=base.id,
        graded_by=grader, tests=[asdict(t) for t in result.tests], integrity=base.integrity,
        cells=[GradedCell(notebook=c.notebook, cell=c.cell, kind=c.kind, score=c.score,
                         max_score=c.max_score, needs_manual=c.needs_manual) for c in result.cells],
        competencies=[CompetencyResult(competency_id=c.id, name=c.name, score=c.score,
                                       max_score=c.max_score, minimum=c.minimum, passed=c.passed)
                      for c in result.competencies],
    )
