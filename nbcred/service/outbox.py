"""The e-mail outbox as service operations for the command line: list, send now, queue again."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nbcred.service.context import ServiceContext

if TYPE_CHECKING:
    from nbcred.mail.outbox import MessageInfo
    from nbcred.mail.sender import SendReport


@dataclass(frozen=True)
class Outbox:
    """The newest messages and the count of messages in each status."""

    messages: list[MessageInfo]
    counts: dict[str, int]


def list_outbox(ctx: ServiceContext, *, status: str | None = None, limit: int = 50) -> Outbox:
    """The newest ``limit`` messages (of one status) and the totals per status."""
    from nbcred.mail.outbox import counts, list_messages

    with ctx.store.session() as session:
        return Outbox(list_messages(session, status=status, limit=limit), counts(session))


def flush_outbox(ctx: ServiceContext) -> SendReport:
    """Send every pending message now, waits between retries skipped (needs ``NBCRED_SMTP_URL``)."""
    from nbcred.mail.sender import Sender

    return Sender(ctx.settings, ctx.store).send_pending(due_only=False)


def retry_failed_mail(ctx: ServiceContext, ids: Sequence[int] = ()) -> int:
    """Queue failed messages again (all of them when ``ids`` is empty); how many were queued."""
    from nbcred.mail.outbox import retry_failed

    with ctx.store.session() as session:
        return retry_failed(session, ids)
