"""``nbcred mail list | flush | retry``: the outbox of e-mails from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nbcred.cli._common import CHECK_FAILED, DbOption, err, fail, open_context, out
from nbcred.errors import NbcredError

app = typer.Typer(no_args_is_help=True, help=__doc__)


@app.command("list")
def list_(
    status: Annotated[str | None, typer.Option(help="pending, sending, sent or failed.")] = None,
    limit: Annotated[int, typer.Option(help="Newest messages shown.")] = 50,
    db: DbOption = None,
) -> None:
    """The newest messages of the outbox with their status and, for failures, the reason."""
    from nbcred.service.outbox import list_outbox

    try:
        outbox = list_outbox(open_context(db), status=status, limit=limit)
    except NbcredError as exc:
        raise fail(exc) from exc
    rows, totals = outbox.messages, outbox.counts
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
    from nbcred.service.outbox import flush_outbox

    try:
        ctx = open_context(db)
        if not ctx.settings.smtp_url:
            raise fail("no mail server: set NBCRED_SMTP_URL (e.g. smtp://127.0.0.1:25)")
        report = flush_outbox(ctx)
    except NbcredError as exc:
        raise fail(exc) from exc
    out.print(f"sent {report.sent}, failed {report.failed}, waiting {report.deferred}", highlight=False)
    if report.error:
        err.print(f"stopped: {escape(report.error)}", highlight=False)
    raise typer.Exit(CHECK_FAILED if report.error or report.failed else 0)


@app.command("retry")
def retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Message ids (default: every failed one).")] = None,
    db: DbOption = None,
) -> None:
    """Queue failed messages again (they are sent by the next flush or running sender)."""
    from nbcred.service.outbox import retry_failed_mail

    try:
        count = retry_failed_mail(open_context(db), ids or ())
    except NbcredError as exc:
        raise fail(exc) from exc
    out.print(f"queued again: {count}", highlight=False)
