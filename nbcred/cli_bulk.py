"""``nbcred credential issue-bulk | expiring | revoke-bulk``: programs' bulk credential commands."""

from __future__ import annotations

import sys
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
                          workers=workers or settings.workers, batch_size=batch_size)
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
    out.print(report.summary, highlight=False)
    out.print(f"results: {report.results_path}", highlight=False)
    raise typer.Exit(1 if report.failed else 0)


def register(credential_app: typer.Typer) -> None:
    """Add the bulk commands to ``nbcred credential``."""
    credential_app.command("issue-bulk")(issue_bulk)
