"""``nbcred credential issue-bulk | expiring | revoke-bulk``: programs' bulk credential commands."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from grader.errors import GraderError
from nbcred.cmdline import db_option
from nbcred.errors import NbcredError
from nbcred.settings import Settings

out = Console()
err = Console(stderr=True, emoji=False)

DbOption = Annotated[
    str | None, typer.Option("--db", callback=db_option,
                              help="Gradebook URL without a password (default: NBCRED_DATABASE_URL "
                              "or SQLite); a password goes in NBCRED_DATABASE_URL or ~/.pgpass.")
]


def _settings(db: str | None) -> Settings:
    settings = Settings()
    return settings.model_copy(update={"database_url": db}) if db else settings


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


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
    from nbcred.bulk.issue import BulkIssuer, RosterInvalid
    from nbcred.catalogue import load_catalogue
    from nbcred.store import Store

    settings = _settings(db)
    if not roster.is_file():
        raise _fail(f"roster {roster} not found; give the path of a CSV file")
    try:
        store = Store.open(settings.resolved_database_url())
        catalogue = load_catalogue(settings.catalogue)
        bulk = BulkIssuer(settings=settings, store=store, catalogue=catalogue,
                          workers=workers or settings.workers, batch_size=batch_size,
                          executor=executor or settings.executor, notify=notify)
        check = bulk.validate(roster)
    except RosterInvalid as exc:
        raise _fail(str(exc)) from exc
    except (GraderError, NbcredError, OSError) as exc:
        raise _fail(str(exc)) from exc
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
            raise _fail(str(exc)) from exc
    for line in report.pathway_lines:
        err.print(line, highlight=False)
    out.print(report.summary, highlight=False)
    out.print(f"results: {report.results_path}", highlight=False)
    if notify:
        out.print(f"e-mails queued: {bulk.queued_mail} (sent by `nbcred serve`, the workers or "
                  "`nbcred mail flush`)", highlight=False)
    raise typer.Exit(1 if report.failed else 0)


def expiring(
    within: Annotated[str, typer.Option("--within", help="Window: 30d, 12h, 2w.")] = "30d",
    db: DbOption = None,
    fmt: Annotated[str, typer.Option("--format", help="table or json (one object per line).")] = "table",
) -> None:
    """List active credentials that expire within the window (superseded ones left out)."""
    import json

    from nbcred.bulk.lifecycle import expiring as find_expiring
    from nbcred.bulk.lifecycle import parse_window
    from nbcred.issuance import CredentialIssuer
    from nbcred.store import Store

    settings = _settings(db)
    try:
        window = parse_window(within)
        found = find_expiring(CredentialIssuer(settings, Store.open(settings.resolved_database_url())),
                              within=window)
    except NbcredError as exc:
        raise _fail(str(exc)) from exc
    for c in found:
        if fmt == "json":
            out.print(json.dumps({"id": c.id, "learner": c.learner, "name": c.name,
                                  "achievement_id": c.achievement_id, "version": c.version,
                                  "valid_until": c.valid_until.isoformat()}), highlight=False)
        else:
            out.print(f"{c.valid_until:%Y-%m-%d %H:%M}  {c.learner}  {c.name}  {c.id}", highlight=False)
    if fmt != "json":
        err.print(f"{len(found)} credential(s) expire within {within}", highlight=False)


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
        from nbcred.bulk.lifecycle import change_status_bulk, ids_from_csv, select_credentials
        from nbcred.bulk.roster import parse_date
        from nbcred.issuance import CredentialIssuer
        from nbcred.store import Store

        settings = _settings(db)
        try:
            issuer = CredentialIssuer(settings, Store.open(settings.resolved_database_url()))
            ids = select_credentials(
                issuer, ids=ids_from_csv(csv_file) if csv_file else (), achievement=achievement,
                cohort=cohort, issued_from=parse_date(issued_from) if issued_from else None,
                issued_to=parse_date(issued_to) if issued_to else None)
            report = change_status_bulk(issuer, ids, action, reason)  # type: ignore[arg-type]
        except (NbcredError, ValueError) as exc:
            raise _fail(str(exc)) from exc
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
