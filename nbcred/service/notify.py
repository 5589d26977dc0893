"""Wake-ups across app processes that share a PostgreSQL database (LISTEN/NOTIFY).

Within one process the dispatcher is woken by the upload that queued a submission, and waiting
requests by the dispatcher that changed its status, in memory. Another process would only see
them at its next poll (the dispatcher's 0.5 s) or re-read. On PostgreSQL, :func:`announce` sends
a notification inside the transaction that queues a submission or changes its status (PostgreSQL
delivers it at commit, never for a rolled-back change), and each process's :class:`Listener`
turns it into the same in-memory wake-up. Other databases keep polling; a lost notification
(a listener reconnecting) only costs that poll.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
QUEUED = "nbcred_queued"
STATUS = "nbcred_status"


def announce(session: Session, channel: str, payload: str = "") -> None:
    """Notify ``channel`` when ``session``'s transaction commits (PostgreSQL; elsewhere nothing)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_notify(:channel, :payload)"),
                        {"channel": channel, "payload": payload})


class Listener:
    """A thread that listens on its own connection and calls ``queued()`` or ``status(id)``."""

    def __init__(self, engine: Engine, *, queued: Callable[[], None] | None,
                 status: Callable[[str], None]) -> None:
        self.engine = engine
        self.queued = queued
        self.status = status
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.listening = threading.Event()  # set while the LISTENs are in place

    def start(self) -> bool:
        """Start listening; False (nothing started) when the database is not PostgreSQL."""
        if self.engine.dialect.name != "postgresql":
            return False
        self._thread = threading.Thread(target=self._run, name="nbcred-listener", daemon=True)
        self._thread.start()
        return True

    def _run(self) -> None:
        import psycopg

        url = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not self._stop.is_set():
            try:
                with psycopg.connect(url, autocommit=True) as conn:
                    conn.execute(f"LISTEN {QUEUED}")
                    conn.execute(f"LISTEN {STATUS}")
                    self.listening.set()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=1.0):
                            self._deliver(note.channel, note.payload)
            except Exception:  # the database went away: polling covers the gap; listen again
                self.listening.clear()
                log.warning("listening for queue notifications failed; retrying", exc_info=True)
                self._stop.wait(2.0)

    def _deliver(self, channel: str, payload: str) -> None:
        if channel == QUEUED and self.queued is not None:
            self.queued()
        elif channel == STATUS and payload:
            self.status(payload)

    def close(self) -> None:
        """Stop listening (within a second)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
