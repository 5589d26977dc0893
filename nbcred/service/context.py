"""The one composition root: settings, gradebook, catalogue, issuer and executor, built once per
process and shared by every front end (the command line, the web service).

Only the settings and the gradebook are built when the context opens; the catalogue, the issuer
(its keys) and the executor (grading workers) are built on first use. Importing this module is
cheap, so ``nbcred grade`` can start its workers before it pays for the gradebook and the issuer.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from nbcred.settings import Settings

if TYPE_CHECKING:
    from nbcred.catalogue import Catalogue
    from nbcred.executors.progress import GradingProgress
    from nbcred.issuance import CredentialIssuer
    from nbcred.pipeline import Executor
    from nbcred.store import Store


@dataclass
class ServiceContext:
    """What every service function needs. Build it with :meth:`open`; share it across threads."""

    settings: Settings
    store: Store
    _catalogue: Catalogue | None = None
    _issuer: CredentialIssuer | None = None
    _executor: Executor | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings, *, store: Store | None = None,
             executor: Executor | None = None) -> ServiceContext:
        """Open (and migrate) the gradebook named by ``settings``; ``executor``: one already started."""
        if store is None:
            from nbcred.store import Store

            store = Store.open(settings.resolved_database_url())
        return cls(settings, store, _executor=executor)

    @property
    def catalogue(self) -> Catalogue:
        """The assessments and pathways of ``settings.catalogue``, loaded on first use."""
        with self._lock:
            if self._catalogue is not None:
                return self._catalogue
            from nbcred.catalogue import load_catalogue

            self._catalogue = loaded = load_catalogue(self.settings.catalogue)
        from nbcred.service.versions import keep_catalogue

        keep_catalogue(self, loaded)  # past submissions keep the version they were graded with
        return loaded

    @property
    def issuer(self) -> CredentialIssuer:
        """The credential issuer (its keys are loaded on first use)."""
        with self._lock:
            if self._issuer is None:
                from nbcred.issuance import CredentialIssuer

                self._issuer = CredentialIssuer(self.settings, self.store, catalogue=lambda: self.catalogue)
            return self._issuer

    @property
    def executor(self) -> Executor:
        """The executor ``settings.executor`` names (local worker pool or Celery), built on first use."""
        with self._lock:
            if self._executor is None:
                self._executor = make_executor(self.settings)
            return self._executor

    def progress(self, total: int, *, quiet: bool = False) -> GradingProgress:
        """A progress bar on stderr with live passed / failed / errored counts."""
        from nbcred.executors.progress import GradingProgress

        return GradingProgress(total, disable=quiet)

    def base_url(self) -> str:
        """``NBCRED_PUBLIC_BASE_URL`` without a trailing slash."""
        return self.settings.public_base_url.rstrip("/")


def make_executor(settings: Settings) -> Executor:
    """The executor named by ``settings.executor``, with ``settings.workers`` workers."""
    from nbcred.executors import get_executor

    return get_executor(settings.executor, settings=settings, workers=settings.workers)
