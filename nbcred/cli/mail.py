"""``nbcred mail list | flush | retry``: the outbox of e-mails from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nbcred.cmdline import db_option
from nbcred.errors import NbcredError
from nbcred.settings import Settings

app = typer.Typer(no_args_is_help=True, help=__doc__)
out = Console()
err = Console(stderr=True, emoji=False)

DbOption = Annotated[
    str | None, typer.Option("--db", callback=db_option,
                              help="Gradebook URL (default: NBCRED_DATABASE_URL or SQLite).")
]


def _open(db: str | None) -> tuple[Settings, object]:
    from nbcred.store import Store

    settings = Settings()
    if db:
        settings = settings.model_copy(update={"database_url": db})
    return settings, Store.open(settings.resolved_database_url())


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return typer.Exit(code)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="pending, sending, sent or failed.")] = None,
    limit: Annotated[int, typer.Option(help="Newest messages shown.")] = 50,
    db: DbOption = None,
) -> None:
    """The newest messages of the outbox with their status and, for failures, the reason."""
    from nbcred.mail.outbox import counts, list_messages

    try:
        _settings, store = _open(db)
        with store.session() as session:  # type: ignore[attr-defined]
            rows = list_messages(session, status=status, limit=limit)
            totals = counts(session)
    except NbcredError as exc:
        raise _fail(str(exc)) from exc
    table = Table("id", "kind", "to", "status", "tries", "created", "reason")
    for m in rows:
        table.add_row(str(m.id), m.kind, m.recipient, m.status, str(m.tries),
                      f"{m.created_at:%Y-%m-%d %H:%M}", m.last_error or "")
    out.print(table)
    out.print(" · ".join(f"{k}: {v}" for k, v in sorted(totals.items())) or "the outbox is empty",
              highlight=False)


@app.command("flush")
def flush(db: DbOption = None) -> None:
    """Send every pending message now (waits between retries are skipped); exit 1 if some could not go."""
    from nbcred.mail.sender import Sender

    try:
        settings, store = _open(db)
        if not settings.smtp_url:
            raise _fail("no mail server: set NBCRED_SMTP_URL (e.g. smtp://127.0.0.1:25)")
        report = Sender(settings, store).send_pending(due_only=False)  # type: ignore[arg-type]
    except NbcredError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"sent {report.sent}, failed {report.failed}, waiting {report.deferred}", highlight=False)
    if report.error:
        err.print(f"stopped: {escape(report.error)}", highlight=False)
    raise typer.Exit(1 if report.error or report.failed else 0)


@app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Message ids (default: every failed one).")] = None,
    db: DbOption = None,
) -> None:
    """Queue failed messages again (they are sent by the next flush or running sender)."""
    from nbcred.mail.outbox import retry_failed

    try:
        _settings, store = _open(db)
        with store.session() as session:  # type: ignore[attr-defined]
            count = retry_failed(session, ids or ())
    except NbcredError as exc:
        raise _fail(str(exc)) from exc
    out.print(f"queued again: {count}", highlight=False)
