"""The e-mail outbox as service operations for the command line and the web service: list, send now,
queue again, the sender thread, unsubscribe links."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound
from nbcred.settings import Settings

if TYPE_CHECKING:
    from nbcred.mail.outbox import MessageInfo
    from nbcred.mail.sender import SenderThread, SendReport


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


def mail_sender(ctx: ServiceContext, settings: Settings | None = None) -> SenderThread:
    """The thread that sends what any process queued (not started); ``settings`` default to the context's."""
    from nbcred.mail.sender import SenderThread

    return SenderThread(settings or ctx.settings, ctx.store)


def unsubscribe_address(ctx: ServiceContext, token: str) -> str:
    """The address an unsubscribe link was made for; NotFound when the link is not a valid one."""
    from nbcred.mail.errors import MailError
    from nbcred.mail.outbox import unsubscribe_address as address_of

    try:
        return address_of(ctx.settings, token)
    except MailError as exc:
        raise NotFound(str(exc)) from exc


def stop_notifications(ctx: ServiceContext, email: str) -> None:
    """No more notification mail to ``email`` (what an unsubscribe link does)."""
    from nbcred.mail.outbox import set_notifications

    with ctx.store.session() as session:
        set_notifications(session, email, False)
