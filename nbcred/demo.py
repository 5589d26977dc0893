"""The demo: grade every sample submission against the catalogue, then report.

It uses only embedded defaults: SQLite under ``settings.home``, the local executor, the
catalogue in ``assessments/`` and the learners in ``notebooks/``.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from grader.results import GradeResult
from nbcred.catalogue import load_catalogue, sample_submissions
from nbcred.pipeline import grade_batch
from nbcred.report import write_cohort_report
from nbcred.runtime import Runtime
from nbcred.settings import Settings


def verification_table(runtime: Runtime) -> Table:
    """Every issued credential, verified offline against the published status lists."""
    from nbcred.issuance import CredentialIssuer
    from nbcred.issuance.verification import verify_issued

    table = Table(title="Issued credentials, verified offline")
    for column in ("learner", "credential", "proof", "dates", "status", "schema", "verified"):
        table.add_column(column)
    if isinstance(runtime.issuer, CredentialIssuer):
        for item in verify_issued(runtime.issuer):
            checks = item.result.checks
            table.add_row(item.learner, item.name, checks["proof"], checks["dates"], checks["status"],
                          checks["schema"], "[green]yes[/]" if item.result.verified else "[red]no[/]")
    return table


def run_demo(settings: Settings, *, console: Console) -> Path:
    """Grade the sample cohort; print a table; write feedback and the cohort report. Returns its path."""
    from nbcred.cli import results_table

    catalogue = load_catalogue(settings.catalogue)
    runtime = Runtime.start(settings)
    jobs = [(a, sample_submissions(settings.submissions, a.id)) for a in catalogue.assessments.values()]
    total = sum(len(subs) for _, subs in jobs)
    console.print(
        f"Grading {total} sample submissions for {len(jobs)} assessments with "
        f"{settings.workers} worker(s); gradebook: {settings.resolved_database_url()}"
    )
    results: list[GradeResult] = []

    def on_result(result: GradeResult) -> None:
        progress.advance(result)
        results.append(result)

    with runtime.progress(total) as progress:
        for assessment, submissions in jobs:
            grade_batch(assessment, submissions, store=runtime.store, executor=runtime.executor,
                        issuer=runtime.issuer, on_result=on_result)
    console.print(results_table(results))
    if runtime.issuer is not None:
        from nbcred.issuance import CredentialIssuer, issue_pathways

        earned = runtime.issuer.stacked if isinstance(runtime.issuer, CredentialIssuer) else []
        for line in [*earned, *issue_pathways(runtime, catalogue)]:
            console.print(line)
        console.print(verification_table(runtime))
    from nbcred.similarity import compare_submissions

    similarity = {a.id: compare_submissions(assessment=a, submissions=subs) for a, subs in jobs}
    report = write_cohort_report(results, catalogue, settings.home / "reports", similarity)
    console.print(f"Feedback pages: {(settings.home / 'feedback').resolve()}")
    console.print(f"Cohort report:  {report.resolve()}")
    return report
