"""Programs as service operations: cohorts, bulk issuance, expiry, bulk status changes and exports.

The command line calls these (``nbcred cohort``, ``nbcred credential issue-bulk|expiring|
revoke-bulk…``, ``nbcred export``); each takes the :class:`ServiceContext` first.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from grader.results import GradeResult
from nbcred.bulk import exports
from nbcred.bulk.cohorts import CohortImport, CohortReport, cohort_members, cohort_terms, parse_terms
from nbcred.bulk.cohorts import grade_cohort as _grade_cohort
from nbcred.bulk.cohorts import import_cohort as _import_cohort
from nbcred.bulk.issue import BulkIssuer
from nbcred.bulk.roster import parse_date
from nbcred.issuance.lifecycle import (
    ExpiringCredential,
    StatusReport,
    change_status_bulk,
    ids_from_csv,
    parse_window,
    select_credentials,
)
from nbcred.issuance.lifecycle import expiring as _expiring
from nbcred.issuance.pathways import issue_pathways_with
from nbcred.service.context import ServiceContext

ExportKind = Literal["canvas", "moodle", "credentials", "clr"]


def import_cohort(ctx: ServiceContext, *, cohort: str, roster: Path, title: str | None,
                  assessments: Sequence[str]) -> CohortImport:
    """Create or update ``cohort`` from a roster CSV; ``assessments``: ``ID[@DEADLINE[@ATTEMPTS]]``."""
    terms = [parse_terms(a) for a in assessments]
    return _import_cohort(ctx.store, ctx.catalogue, cohort=cohort, roster=roster, title=title,
                          assessments=terms)


@dataclass(frozen=True)
class CohortGrading:
    """A cohort graded: who passed, failed, errored…, and the stacked certificates it completed."""

    report: CohortReport
    stacked: list[str]


def cohort_size(ctx: ServiceContext, cohort: str) -> int:
    """How many gradings a cohort expects: its members × its assessments."""
    return len(cohort_members(ctx.store, cohort)) * len(cohort_terms(ctx.store, cohort))


def grade_cohort(ctx: ServiceContext, *, cohort: str, submitted: Path,
                 on_result: Callable[[GradeResult], None] | None = None) -> CohortGrading:
    """Grade everything ``submitted/<learner>/<assessment>/`` holds for the cohort, then stack."""
    report = _grade_cohort(store=ctx.store, catalogue=ctx.catalogue, cohort=cohort, submitted=submitted,
                           executor=ctx.executor, issuer=ctx.issuer, on_result=on_result)
    return CohortGrading(report, issue_pathways_with(ctx.issuer, ctx.catalogue))


def bulk_issuer(ctx: ServiceContext, *, workers: int | None = None, batch_size: int = 500,
                executor: str | None = None, notify: bool = False) -> BulkIssuer:
    """The bulk issuer over this context (``validate`` a roster, then ``run`` it); ``notify``: queue
    a claim e-mail for each learner whose credential is new."""
    return BulkIssuer(settings=ctx.settings, store=ctx.store, catalogue=ctx.catalogue,
                      workers=workers or ctx.settings.workers, batch_size=batch_size,
                      executor=executor or ctx.settings.executor, notify=notify)


def expiring(ctx: ServiceContext, *, within: str) -> list[ExpiringCredential]:
    """Active credentials whose ``validUntil`` falls within ``within`` (``30d``, ``12h``, ``2w``)."""
    return _expiring(ctx.issuer, within=parse_window(within))


def change_status_many(
    ctx: ServiceContext, action: Literal["revoke", "suspend", "unsuspend"], reason: str, *,
    csv_file: Path | None = None, achievement: str | None = None, cohort: str | None = None,
    issued_from: str | None = None, issued_to: str | None = None,
) -> StatusReport:
    """Change the status of the credentials a CSV or a query selects, in one transaction."""
    ids = select_credentials(
        ctx.issuer, ids=ids_from_csv(csv_file) if csv_file else (), achievement=achievement,
        cohort=cohort, issued_from=parse_date(issued_from) if issued_from else None,
        issued_to=parse_date(issued_to) if issued_to else None)
    return change_status_bulk(ctx.issuer, ids, action, reason)


def export(ctx: ServiceContext, kind: ExportKind, target: str, output: Path) -> str:
    """Write the export of an assessment or cohort to ``output``; say what it holds."""
    if kind in ("canvas", "moodle"):
        book = exports.gradebook(ctx.store, ctx.catalogue, target)
        text = exports.canvas_csv(book) if kind == "canvas" else exports.moodle_csv(book)
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
        return f"{len(book.rows)} learners, {len(book.columns)} grade columns"
    make = exports.credentials_zip if kind == "credentials" else exports.clr_bundle
    count = make(ctx.store, ctx.catalogue, ctx.issuer, target, output)
    return f"{count} {'credentials' if kind == 'credentials' else 'learners'}"
