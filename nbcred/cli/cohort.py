"""``nbcred cohort import | grade | invite``: rosters with deadlines, graded at once; invitations."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from grader.errors import GraderError
from nbcred.cli._common import DbOption, fail, open_context, out
from nbcred.errors import NbcredError

app = typer.Typer(no_args_is_help=True, help=__doc__)
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
    from nbcred.service.programs import import_cohort

    try:
        result = import_cohort(open_context(db), cohort=cohort, roster=roster, title=title,
                               assessments=assessment or [])
    except (GraderError, NbcredError) as exc:
        raise fail(str(exc)) from exc
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
    from nbcred.service.programs import cohort_size, grade_cohort

    try:
        ctx = open_context(db, workers=workers, executor=executor)
        ctx.catalogue  # noqa: B018 (an invalid catalogue is reported before anything is graded)
        with ctx.progress(cohort_size(ctx, cohort)) as progress:
            graded = grade_cohort(ctx, cohort=cohort, submitted=submitted, on_result=progress.advance)
        report, stacked = graded.report, graded.stacked
    except (GraderError, NbcredError) as exc:
        raise fail(str(exc)) from exc
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


@app.command("invite")
def invite_command(
    cohort: Annotated[str, typer.Argument(help="Cohort id.")],
    addresses: Annotated[Path, typer.Argument(help="CSV with an email column, or one address per line.")],
    inviter: Annotated[str, typer.Option(help="Who invites (shown in the e-mail).")] = "Your instructor",
    db: DbOption = None,
) -> None:
    """E-mail an invitation to join COHORT to each address not yet in it (sign-up or sign-in, then join)."""
    from nbcred.service.invitations import invite, read_addresses

    if not addresses.is_file():
        raise fail(f"{addresses} not found; give the path of a CSV file")
    try:
        report = invite(open_context(db), cohort=cohort, inviter=inviter,
                        addresses=read_addresses(addresses.read_text(encoding="utf-8")))
    except NbcredError as exc:
        raise fail(str(exc)) from exc
    for problem in report.problems:
        out.print(f"skipped: {problem}", highlight=False)
    out.print(f"invited {len(report.invited)}, already members {len(report.members)}, "
              f"skipped {len(report.problems)} (e-mails queued)", highlight=False)
    raise typer.Exit(1 if report.problems else 0)
