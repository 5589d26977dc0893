"""Waiting for a submission's status to change, without polling: ``GET …/submissions/{id}?wait=``.

The dispatcher of this process calls :meth:`StatusWatch.changed` when it claims a submission and
once its result (and credential) is stored; a request waiting on that submission for its result
wakes at once.
A status changed by another app process (several processes, or web-only ones) is not signalled
here: :func:`wait_for_change` reads the row again every :data:`RECHECK_SECONDS` as well, so it is
seen within that time.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable, Iterator

from nbcred.service.submissions import SubmissionDetail

RECHECK_SECONDS = 0.5
MAX_WAIT_SECONDS = 30.0
FINAL = ("graded", "error")


class StatusWatch:
    """Wakes the requests of this process waiting on a submission; safe to call from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: dict[str, list[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}

    def changed(self, submission_id: str) -> None:
        """The submission's stored status changed (call after the commit)."""
        with self._lock:
            waiters = list(self._waiters.get(submission_id, ()))
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # its event loop has closed
                loop.call_soon_threadsafe(event.set)

    @contextlib.contextmanager
    def watching(self, submission_id: str) -> Iterator[asyncio.Event]:
        """An event set on every change of the submission while the block runs (in an event loop).

        Subscribe *before* reading the status, so a change between the read and the wait is not
        missed."""
        entry = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.setdefault(submission_id, []).append(entry)
        try:
            yield entry[1]
        finally:
            with self._lock:
                waiters = self._waiters.get(submission_id, [])
                if entry in waiters:
                    waiters.remove(entry)
                if not waiters:
                    self._waiters.pop(submission_id, None)


async def wait_for_change(
    watch: StatusWatch, submission_id: str, seconds: float,
    read: Callable[[], Awaitable[SubmissionDetail]],
    gone: Callable[[], Awaitable[bool]] | None = None,
) -> SubmissionDetail:
    """The submission as ``read`` gives it, once it is graded or failed, ``seconds`` (at most
    :data:`MAX_WAIT_SECONDS`) have passed, or ``gone()`` says the client went away — whichever
    comes first. (Waiting for the final status, not for any change, so a client never waits a
    whole period for a change that happened before its request arrived.)"""
    deadline = time.monotonic() + min(max(seconds, 0.0), MAX_WAIT_SECONDS)
    with watch.watching(submission_id) as changed:
        detail = await read()
        while detail.info.status not in FINAL:
            left = deadline - time.monotonic()
            if left <= 0 or (gone is not None and await gone()):
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(left, RECHECK_SECONDS))
            changed.clear()
            detail = await read()
    return detail
