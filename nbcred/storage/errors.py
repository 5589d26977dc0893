"""Errors of the shared store.

    StorageError (nbcred.errors.NbcredError)
    ├── BlobMissing        no blob with that digest, or no name pointing at one
    └── StoreUnreachable   the backend (folder, database, object store) cannot be used
"""

from __future__ import annotations

from nbcred.errors import NbcredError


class StorageError(NbcredError):
    """The shared store failed."""


class BlobMissing(StorageError):
    """A blob (or a name) the caller expected is not in the store."""


class StoreUnreachable(StorageError):
    """The store's backend cannot be reached or used."""
