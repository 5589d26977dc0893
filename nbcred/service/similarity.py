"""Similarity for instructors in the service: each learner's latest graded submission of an
assessment compared with :mod:`nbcred.similarity`, pairs named by learner (a lead to read, never a
verdict or a score change)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select

from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound, Unprocessable
from nbcred.similarity import DEFAULT_THRESHOLD as DEFAULT_THRESHOLD
from nbcred.similarity import SimilarityOptions, SimilarityReport, compare_submissions
from nbcred.store.models import User, WebSubmission


@dataclass(frozen=True)
class Compared:
    """One learner's submission in the comparison."""

    submission: str
    learner: str
    name: str
    attempt: int


@dataclass(frozen=True)
class CohortSimilarity:
    """The report, with each label (a web submission id) resolved to its learner."""

    assessment: str
    title: str
    threshold: float
    report: SimilarityReport
    people: dict[str, Compared]  # submission id -> who


def similarity(ctx: ServiceContext, assessment_id: str, *,
               threshold: float = DEFAULT_THRESHOLD) -> CohortSimilarity:
    """Compare the latest graded submission of every learner of ``assessment_id``."""
    assessment = ctx.catalogue.assessments.get(assessment_id)
    if assessment is None:
        raise NotFound(f"assessment {assessment_id!r} is not in the catalogue")
    if not 0.0 <= threshold <= 1.0:
        raise Unprocessable("threshold must be between 0 and 1")
    latest: dict[str, tuple[WebSubmission, str]] = {}
    query = (select(WebSubmission, User.name).outerjoin(User, User.id == WebSubmission.user_id)
             .where(WebSubmission.assessment_id == assessment_id, WebSubmission.status == "graded")
             .order_by(WebSubmission.submitted_at, WebSubmission.id))
    with ctx.store.session() as session:
        for row, name in session.execute(query):
            latest[row.learner_id] = (row, name or row.learner_id)  # later uploads replace earlier
        people = {row.id: Compared(row.id, row.learner_id, name, row.attempt)
                  for row, name in latest.values()}
        where = [(row.assessment_id, row.content_hash, row.upload_path) for row, _ in latest.values()]
    from nbcred.service.shared import upload_folder

    folders = [upload_folder(ctx, *w) for w in where]
    report = compare_submissions(assessment=assessment, submissions=folders, labels=list(people),
                                 options=SimilarityOptions(threshold=threshold, workers=1))
    return CohortSimilarity(assessment_id, assessment.spec.title, threshold, report, people)


def similar_pairs(assessment: Path, submissions: list[Path], *, threshold: float = DEFAULT_THRESHOLD,
                  workers: int = 2) -> SimilarityReport:
    """Pairs among submission folders of an assessment folder (``nbcred similarity``)."""
    from grader.assessment import load_assessment

    return compare_submissions(assessment=load_assessment(assessment), submissions=list(submissions),
                               options=SimilarityOptions(threshold=threshold, workers=workers))


def similarity_html(report: SimilarityReport, *, threshold: float) -> str:
    """The side-by-side HTML report of the pairs at or above ``threshold``."""
    from nbcred.similarity import render_html

    return render_html(report, threshold=threshold)
