"""Typed operations shared by the CLI, the web pages and the API.

Each module is one capability: ``users`` (accounts, tokens, sign-in), ``catalogue``,
``submissions`` (submit, status, result, feedback), ``queue`` (the database-backed grading queue),
``wallet`` (credentials, pathways, baking, sharing), ``verify`` and ``public`` (what the URLs in
credentials serve). Every function takes a :class:`ServiceContext` first and raises a
:class:`~nbcred.service.errors.ServiceError` whose class says which HTTP status it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbcred.service.errors import ServiceError

if TYPE_CHECKING:
    from nbcred.service.context import ServiceContext

__all__ = ["ServiceContext", "ServiceError"]


def __getattr__(name: str) -> Any:
    """``ServiceContext`` is imported on first use (it pulls in the gradebook and issuer)."""
    if name == "ServiceContext":
        from nbcred.service.context import ServiceContext

        return ServiceContext
    raise AttributeError(name)
