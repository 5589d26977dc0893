"""Errors raised by the nbcred application layer.

    NbcredError
    ├── StoreError             the gradebook cannot be opened, migrated or written
    └── ConfigurationError     a setting is missing or invalid
"""

from __future__ import annotations


class NbcredError(Exception):
    """Base class of the application's errors."""


class StoreError(NbcredError):
    """The gradebook failed."""


class ConfigurationError(NbcredError):
    """A setting is missing or has an invalid value."""
