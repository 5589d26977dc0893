"""``nbcred cohort import | grade``: rosters with deadlines, graded at once."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from grader.errors import GraderError
from nbcred.cmdline import db_option
from nbcred.errors import NbcredError
from nbcred.settings import Settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
out = Console()
err = Console(stderr=True, emoji=False)

DbOption = Annotated[
    str | None, typer.Option("--db", callback=db_option,
                              help="Gradebook URL without a password (default: NBCRED_DATABASE_URL "
                              "or SQLite); a password goes in NBCRED_DATABASE_URL or ~/.pgpass.")
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


def _settings(db: str | None, **more: object) -> Settings:
    changes = {k: v for k, v in {"database_url": db, **more}.items() if v}
    settings = Settings()
    return settings.model_copy(update=changes) if changes else settings


@app.command("import")
def import_command(
    cohort: Annotated[str, typer.Argument(help="Cohort id, e.g. spring-2026.")],
    roster: Annotated[Path, typer.Argument(help="CSV: learner, name, email[, section].")],
    title: Annotated[str | None, typer.Option(help="Cohort title.")] = None,
    assessment: Annotated[list[str] | None, typer.Option(
        "--assessment", help="ID, ID@DEADLINE or ID@DEADLINE@ATTEMPTS (repeatable).")] = None,
    db: DbOption = None,
) -> None:
    """Create or update COHORT from a roster CSV and set its assessments."""
    from nbcred.bulk.cohorts import import_cohort, parse_terms
    from nbcred.catalogue import load_catalogue
    from nbcred.store import Store

    settings = _settings(db)
    try:
        terms = [parse_terms(a) for a in assessment or []]
        result = import_cohort(Store.open(settings.resolved_database_url()),
                               load_catalogue(settings.catalogue), cohort=cohort, roster=roster,
                               title=title, assessments=terms)
    except (GraderError, NbcredError) as exc:
        raise _fail(str(exc)) from exc
    out.print(f"cohort {result.cohort}: {result.members} learners ({result.added} new), assessments: "
              f"{', '.join(result.assessments) or 'none'}", highlight=False)


@app.command("grade")
def grade_command(
    cohort: Annotated[str, typer.Argument(help="Cohort id.")],
    submitted: Annotated[Path, typer.Argument(help="nbgrader's submitted/ folder "
                                                   "(submitted/<learner>/<assessment>/).")],
    db: DbOption = None,
    workers: Annotated[int | None, typer.Option(help="Parallel workers (default: cores).")] = None,
    executor: Annotated[str | None, typer.Option(help="local or celery.")] = None,
) -> None:
    """Grade everything submitted for COHORT: who passed, failed, errored, was late or is missing."""
    from nbcred.bulk.cohorts import cohort_members, cohort_terms, grade_cohort
    from nbcred.catalogue import load_catalogue
    from nbcred.issuance import issue_pathways
    from nbcred.runtime import Runtime

    settings = _settings(db, workers=workers, executor=executor)
    try:
        catalogue = load_catalogue(settings.catalogue)
        runtime = Runtime.start(settings)
        expected = len(cohort_members(runtime.store, cohort)) * len(cohort_terms(runtime.store, cohort))
        with runtime.progress(expected) as progress:
            report = grade_cohort(store=runtime.store, catalogue=catalogue, cohort=cohort,
                                  submitted=submitted, executor=runtime.executor, issuer=runtime.issuer,
                                  on_result=progress.advance)
        stacked = issue_pathways(runtime, catalogue)
    except (GraderError, NbcredError) as exc:
        raise _fail(str(exc)) from exc
    for o in report.assessments:
        out.print(f"{o.assessment}: passed {len(o.passed)}, failed {len(o.failed)}, errored "
                  f"{len(o.errored)}, late {len(o.late)}, missing {len(o.missing)}, over the attempt "
                  f"limit {len(o.over_attempts)}, not on the roster {len(o.unknown)}", highlight=False)
    for o in report.assessments:
        for label, names in (("errored", o.errored), ("late (graded, no credential)", o.late),
                             ("missing", o.missing), ("over the attempt limit (not graded)", o.over_attempts),
                             ("not on the roster (not graded)", o.unknown)):
            if names:
                out.print(f"{o.assessment} {label}: {', '.join(names)}", highlight=False)
    for line in stacked:
        out.print(line, highlight=False)
