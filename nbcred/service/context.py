"""The service context: settings, gradebook, catalogue and issuer, built once per process."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from nbcred.catalogue import Catalogue, load_catalogue
from nbcred.issuance import CredentialIssuer
from nbcred.settings import Settings
from nbcred.store import Store


@dataclass
class ServiceContext:
    """What every service function needs. Build it with :meth:`open`; share it across threads."""

    settings: Settings
    store: Store
    _catalogue: Catalogue | None = None
    _issuer: CredentialIssuer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings, *, store: Store | None = None) -> ServiceContext:
        """Open (and migrate) the gradebook named by ``settings``."""
        return cls(settings, store or Store.open(settings.resolved_database_url()))

    @property
    def catalogue(self) -> Catalogue:
        """The assessments and pathways of ``settings.catalogue``, loaded on first use."""
        with self._lock:
            if self._catalogue is not None:
                return self._catalogue
            self._catalogue = loaded = load_catalogue(self.settings.catalogue)
        from nbcred.service.versions import keep_catalogue

        keep_catalogue(self, loaded)  # past submissions keep the version they were graded with
        return loaded

    @property
    def issuer(self) -> CredentialIssuer:
        """The credential issuer (its keys are loaded on first use)."""
        with self._lock:
            if self._issuer is None:
                self._issuer = CredentialIssuer(self.settings, self.store, catalogue=lambda: self.catalogue)
            return self._issuer

    def base_url(self) -> str:
        """``NBCRED_PUBLIC_BASE_URL`` without a trailing slash."""
        return self.settings.public_base_url.rstrip("/")
