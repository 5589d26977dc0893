"""The composition root: builds the store, executor, issuer and progress display from settings once."""

from __future__ import annotations

from dataclasses import dataclass

from nbcred.executors import get_executor
from nbcred.executors.progress import GradingProgress
from nbcred.issuance import build_issuer
from nbcred.pipeline import Executor, Issuer
from nbcred.settings import Settings
from nbcred.store import Store


@dataclass
class Runtime:
    """Everything a command needs, wired from one :class:`Settings`."""

    settings: Settings
    store: Store
    executor: Executor
    issuer: Issuer | None = None

    @classmethod
    def start(cls, settings: Settings, *, issue: bool = True) -> Runtime:
        store = Store.open(settings.resolved_database_url())
        return cls(settings, store, make_executor(settings), make_issuer(settings, store) if issue else None)

    def progress(self, total: int, *, quiet: bool = False) -> GradingProgress:
        """A progress bar on stderr with live passed / failed / errored counts."""
        return GradingProgress(total, disable=quiet)


def make_executor(settings: Settings) -> Executor:
    """The executor named by ``settings.executor``."""
    return get_executor(settings.executor, settings=settings, workers=settings.workers)


def make_issuer(settings: Settings, store: Store) -> Issuer | None:
    """The credential issuer, when the credentials subsystem is configured."""
    issuer: Issuer | None = build_issuer(settings, store)
    return issuer
