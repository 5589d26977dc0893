"""The gradebook: SQLAlchemy models, Alembic migrations and the :class:`Store` API."""

from nbcred.store.store import Recorded, Store, migrate

__all__ = ["Recorded", "Store", "migrate"]
