"""``nbcred credential issue-bulk | expiring | revoke-bulk``: programs' bulk credential commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from grader.errors import GraderError
from nbcred.cli._common import CHECK_FAILED, DbOption, err, fail, open_context, out
from nbcred.errors import NbcredError


def issue_bulk(
    roster: Annotated[Path, typer.Argument(help="Roster CSV: learner, name, email, achievement "
                                                "(Credly and Canvas Credentials templates work too).")],
    db: DbOption = None,
    workers: Annotated[int | None, typer.Option(help="Signing processes (default: cores).")] = None,
    batch_size: Annotated[int, typer.Option(help="Rows signed and stored per batch.")] = 500,
    executor: Annotated[str | None, typer.Option(help="local (process pool) or celery (sign on "
                                                      "the grading workers).")] = None,
    notify: Annotated[bool, typer.Option("--notify", help="E-mail each learner whose credential is new "
                                                          "a claim link (queued in the outbox).")] = False,
) -> None:
    """Issue a credential for every row of ROSTER not issued before; write ROSTER.results.csv."""
    from nbcred.service.programs import bulk_issuer

    if not roster.is_file():
        raise fail(f"roster {roster} not found; give the path of a CSV file")
    try:
        bulk = bulk_issuer(open_context(db), workers=workers, batch_size=batch_size, executor=executor,
                           notify=notify)
        check = bulk.validate(roster)
    except (GraderError, NbcredError, OSError) as exc:  # an invalid roster is an NbcredError
        raise fail(exc) from exc
    if check.ignored_columns:
        err.print(f"ignored columns: {', '.join(check.ignored_columns)}", highlight=False)
    bar = Progress(TextColumn("[bold]issuing"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[counts]}"), TimeElapsedColumn(), TextColumn("ETA"),
                   TimeRemainingColumn(), console=err, disable=not sys.stderr.isatty())
    with bar:
        task = bar.add_task("issuing", total=check.rows, counts="")
        try:
            report = bulk.run(roster, check=check, progress=lambda r: bar.update(
                task, completed=r.issued + r.skipped + r.failed,
                counts=f"{r.issued} issued · {r.skipped} skipped · {r.failed} failed"))
        except (NbcredError, OSError) as exc:
            raise fail(str(exc)) from exc
    for line in report.pathway_lines:
        err.print(line, highlight=False)
    out.print(report.summary, highlight=False)
    out.print(f"results: {report.results_path}", highlight=False)
    if notify:
        out.print(f"e-mails queued: {bulk.queued_mail} (sent by `nbcred serve`, the workers or "
                  "`nbcred mail flush`)", highlight=False)
    raise typer.Exit(CHECK_FAILED if report.failed else 0)


def expiring(
    within: Annotated[str, typer.Option("--within", help="Window: 30d, 12h, 2w.")] = "30d",
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json (one object per line).")] = "table",
    notify: Annotated[bool, typer.Option("--notify", help="E-mail each learner whose badge expires "
                                                          "(once per credential and date).")] = False,
) -> None:
    """List active credentials that expire within the window (superseded ones left out)."""
    import json

    from nbcred.service.programs import expiring as find_expiring

    try:
        ctx = open_context(db)
        found = find_expiring(ctx, within=within)
    except NbcredError as exc:
        raise fail(str(exc)) from exc
    for c in found:
        if fmt == "json":
            out.print(json.dumps({"id": c.id, "learner": c.learner, "name": c.name,
                                  "achievement_id": c.achievement_id, "version": c.version,
                                  "valid_until": c.valid_until.isoformat()}), highlight=False)
        else:
            out.print(f"{c.valid_until:%Y-%m-%d %H:%M}  {c.learner}  {c.name}  {c.id}", highlight=False)
    if fmt != "json":
        err.print(f"{len(found)} credential(s) expire within {within}", highlight=False)
    if notify:
        from nbcred.service.claims import expiring_notices

        with ctx.store.session() as session:
            queued = expiring_notices(session, ctx.settings, [c.id for c in found])
        err.print(f"e-mails queued: {queued}", highlight=False)


def _status_command(action: str) -> Callable[..., None]:
    def command(
        reason: Annotated[str, typer.Option("--reason", help="Why (kept in the gradebook).")],
        csv_file: Annotated[Path | None, typer.Option("--csv", help="CSV with a credential_id column "
                                                                    "(e.g. a bulk result file).")] = None,
        achievement: Annotated[str | None, typer.Option(help="Assessment or pathway id.")] = None,
        cohort: Annotated[str | None, typer.Option(help="Cohort id.")] = None,
        issued_from: Annotated[str | None, typer.Option(help="Issued on or after (ISO date).")] = None,
        issued_to: Annotated[str | None, typer.Option(help="Issued before (ISO date).")] = None,
        db: DbOption = None,
    ) -> None:
        from nbcred.service.programs import change_status_many

        try:
            report = change_status_many(
                open_context(db), action, reason, csv_file=csv_file,  # type: ignore[arg-type]
                achievement=achievement, cohort=cohort, issued_from=issued_from, issued_to=issued_to)
        except (NbcredError, ValueError) as exc:
            raise fail(str(exc)) from exc
        for cid, why in report.skipped:
            err.print(f"skipped {cid}: {why}", highlight=False)
        out.print(f"{action}: {len(report.changed)} credential(s), {len(report.cascaded)} stacked "
                  f"certificate(s) built on them; status lists updated: {len(report.lists)}", highlight=False)

    command.__doc__ = (f"{action.capitalize()} many credentials at once (by CSV or by query); stacked "
                       "certificates built on them follow.")
    return command


def register(credential_app: typer.Typer) -> None:
    """Add the bulk commands to ``nbcred credential``."""
    credential_app.command("issue-bulk")(issue_bulk)
    credential_app.command("expiring")(expiring)
    for action in ("revoke", "suspend", "unsuspend"):
        credential_app.command(f"{action}-bulk")(_status_command(action))
