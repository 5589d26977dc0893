"""Errors raised by the nbcred application layer.

    NbcredError
    ├── StoreError             the gradebook cannot be opened, migrated or written
    ├── ConfigurationError     a setting is missing or invalid
    └── IssuanceError          a credential cannot be issued, found or changed
"""

from __future__ import annotations


class NbcredError(Exception):
    """Base class of the application's errors."""


class StoreError(NbcredError):
    """The gradebook failed."""


class ConfigurationError(NbcredError):
    """A setting is missing or has an invalid value."""


class IssuanceError(NbcredError):
    """A credential could not be issued, looked up, revoked or suspended."""
