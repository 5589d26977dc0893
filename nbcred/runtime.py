"""The composition root: builds the store, executor, issuer and progress display from settings once.

Imports of the gradebook and the credentials subsystem happen when they are built, so a command
can start its grading workers before paying for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from nbcred.executors import get_executor
from nbcred.executors.progress import GradingProgress
from nbcred.pipeline import Executor, Issuer
from nbcred.settings import Settings

if TYPE_CHECKING:
    from nbcred.store import Store


@dataclass
class Runtime:
    """Everything a command needs, wired from one :class:`Settings`."""

    settings: Settings
    store: Store
    executor: Executor
    issuer: Issuer | None = None

    @classmethod
    def start(cls, settings: Settings, *, issue: bool = True, executor: Executor | None = None) -> Runtime:
        """Open the gradebook and build what is missing (``executor``: one already started)."""
        from nbcred.store import Store

        store = Store.open(settings.resolved_database_url())
        return cls(settings, store, executor or make_executor(settings),
                   make_issuer(settings, store) if issue else None)

    def progress(self, total: int, *, quiet: bool = False) -> GradingProgress:
        """A progress bar on stderr with live passed / failed / errored counts."""
        return GradingProgress(total, disable=quiet)


def make_executor(settings: Settings) -> Executor:
    """The executor named by ``settings.executor``."""
    return get_executor(settings.executor, settings=settings, workers=settings.workers)


def make_issuer(settings: Settings, store: Store) -> Issuer | None:
    """The credential issuer, when the credentials subsystem is configured."""
    from nbcred.issuance import build_issuer

    issuer: Issuer | None = build_issuer(settings, store)
    return issuer
