"""The demo as a service operation: grade every sample submission against the catalogue, issue
credentials and stacked certificates, verify what was issued and write the cohort report.

It uses only embedded defaults: SQLite under ``settings.home``, the local executor, the
catalogue in ``assessments/`` and the learners in ``notebooks/``. The command line renders what
:func:`run_demo` returns (``nbcred demo``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from grader.results import GradeResult
from nbcred.service.context import ServiceContext

if TYPE_CHECKING:
    from nbcred.issuance.verification import Verified


@dataclass(frozen=True)
class DemoRun:
    """What the demo did: every result, the pathway lines, the issued credentials verified."""

    results: list[GradeResult]
    pathway_lines: list[str]
    verified: list[Verified]
    report: Path
    feedback: Path


def run_demo(ctx: ServiceContext, *, on_start: Callable[[int, int], None] | None = None) -> DemoRun:
    """Grade the sample cohort, issue, verify and write the report.

    ``on_start(submissions, assessments)`` is called once the work is known, before grading.
    """
    from nbcred.catalogue import sample_submissions
    from nbcred.issuance.pathways import issue_pathways_with
    from nbcred.issuance.verification import verify_issued
    from nbcred.pipeline import grade_batch
    from nbcred.report import write_cohort_report
    from nbcred.similarity import compare_submissions

    settings = ctx.settings
    catalogue = ctx.catalogue
    jobs = [(a, sample_submissions(settings.submissions, a.id)) for a in catalogue.assessments.values()]
    total = sum(len(subs) for _, subs in jobs)
    if on_start is not None:
        on_start(total, len(jobs))
    results: list[GradeResult] = []

    with ctx.progress(total) as progress:
        def on_result(result: GradeResult) -> None:
            progress.advance(result)
            results.append(result)

        for assessment, submissions in jobs:
            grade_batch(assessment, submissions, store=ctx.store, executor=ctx.executor,
                        issuer=ctx.issuer, on_result=on_result)
    issuer = ctx.issuer
    lines = [*issuer.stacked, *issue_pathways_with(issuer, catalogue)]
    verified = verify_issued(issuer)
    similarity = {a.id: compare_submissions(assessment=a, submissions=subs) for a, subs in jobs}
    report = write_cohort_report(results, catalogue, settings.home / "reports", similarity)
    return DemoRun(results, lines, verified, report, settings.home / "feedback")
