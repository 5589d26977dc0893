"""Gradebook queries that more than one part of the application asks, written once."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Select, func, select

from nbcred.store.models import AssessmentVersion, Grading, Submission


def latest_gradings(assessment_id: str, *, learners: Collection[str] | None = None) -> Select[Any]:
    """Each submission's latest grading (a manual grading included) for every version of
    ``assessment_id``, oldest first; only ``learners``' when given.

    The instructor's gradebook reads every learner's attempts from it; the LMS exports take each
    learner's most recent one.
    """
    latest = select(func.max(Grading.id)).group_by(Grading.submission_id).scalar_subquery()
    query = (select(Grading).join(Submission).join(AssessmentVersion)
             .where(Grading.id.in_(latest), AssessmentVersion.assessment_id == assessment_id))
    if learners is not None:
        query = query.where(Submission.learner_id.in_(learners))
    return query.order_by(Grading.id)
