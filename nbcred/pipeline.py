"""Submit → grade → record → issue: the application's one pipeline, used by the CLI and the demo.

Idempotent: content already graded for this assessment version is not graded again; its stored
result is returned. Results are recorded one by one as they arrive, so an interrupted batch keeps
everything finished before the interruption.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from grader.results import GradeResult

if TYPE_CHECKING:
    # The gradebook (SQLAlchemy, Alembic) is not imported by grading workers, and the grader
    # (nbgrader, nbclient) not before `nbcred grade` has started its workers.
    from grader.assessment import Assessment
    from grader.execute import NotebookRunner
    from grader.grade import GradeOptions
    from nbcred.settings import Settings
    from nbcred.store import Store


@dataclass(frozen=True)
class GradeJob:
    """One submission folder to grade against one assessment folder."""

    assessment: str
    submission: str
    learner: str | None = None


class Executor(Protocol):
    """Runs grading jobs somewhere and reports each result as soon as it is done."""

    def grade(
        self, jobs: Sequence[GradeJob], *, on_result: Callable[[GradeJob, GradeResult], None]
    ) -> None: ...


def grade_options(settings: Settings, runner: NotebookRunner) -> GradeOptions:
    """The grading options every executor uses, built from settings."""
    from grader.grade import GradeOptions

    return GradeOptions(
        runner=runner,
        seed_secret=settings.seed_secret.get_secret_value().encode(),
        feedback_dir=(settings.home / "feedback").resolve(),
    )


Issuer = Callable[[GradeResult, "Assessment", int], str | None]


@dataclass
class BatchReport:
    """What a batch did."""

    graded: int = 0
    reused: int = 0
    errored: int = 0
    passed: int = 0
    results: list[GradeResult] = field(default_factory=list)


def grade_batch(
    assessment: Assessment,
    submissions: Sequence[Path],
    *,
    store: Store,
    executor: Executor,
    issuer: Issuer | None = None,
    on_result: Callable[[GradeResult], None] | None = None,
) -> BatchReport:
    """Grade ``submissions``; record and (when passed) issue each result as it arrives."""
    report = BatchReport()
    jobs: list[GradeJob] = []
    for job, stored in _lookup(assessment, submissions, store):
        if stored is None:
            jobs.append(job)
            continue
        grading_id, result = stored
        report.reused += 1
        if issuer is not None and result.passed:  # idempotent: the credential already issued
            result.credential = issuer(result, assessment, grading_id)
        _finish(report, result, on_result)

    def record(job: GradeJob, result: GradeResult) -> None:
        recorded = store.record(result, fingerprint=assessment.fingerprint, title=assessment.spec.title)
        result = replace(result, attempt=recorded.attempt)
        if result.errors:
            report.errored += 1
        else:
            report.graded += 1
        if issuer is not None and result.passed:
            result.credential = issuer(result, assessment, recorded.grading_id)
        _finish(report, result, on_result)

    if jobs:
        executor.grade(jobs, on_result=record)
    return report


def _lookup(
    assessment: Assessment, submissions: Sequence[Path], store: Store
) -> Iterator[tuple[GradeJob, tuple[int, GradeResult] | None]]:
    from grader.grade import content_hash, learner_id

    for submission in submissions:
        learner = learner_id(submission, assessment)
        job = GradeJob(str(assessment.root), str(submission), learner)
        if not submission.is_dir():
            yield job, None
            continue
        stored = store.find_graded(
            learner=learner, assessment_id=assessment.id, fingerprint=assessment.fingerprint,
            content_hash=content_hash(submission, assessment),
        )
        yield job, stored


def _finish(
    report: BatchReport, result: GradeResult, on_result: Callable[[GradeResult], None] | None
) -> None:
    if result.passed:
        report.passed += 1
    if on_result is not None:
        on_result(result)
    else:
        report.results.append(result)
