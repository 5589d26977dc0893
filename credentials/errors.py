"""Errors raised by the ``credentials`` package.

Every error is a :class:`CredentialError`, so callers can catch one class. Messages say what was
wrong and how to fix it. All errors pickle (they cross process boundaries in task queues)::

    CredentialError
    ├── ContextError              unknown or unloadable JSON-LD context
    ├── CanonicalizationError     JSON-LD expansion / RDF canonicalisation failed
    │   ├── DroppedTermsError     properties or types that JSON-LD expansion would drop
    │   └── LimitExceeded         a document too large, deep or costly to canonicalise
    ├── KeyFormatError            key file or multibase value malformed
    │   └── KeyStoreError         encrypted key store problem (wrong passphrase, missing key)
    ├── ResolutionError           a DID / verification method cannot be resolved
    ├── ProofError                a proof cannot be created or is malformed
    │   └── HolderProofError      a wallet's key proof (JWT) or presentation does not hold
    ├── DocumentError             a credential document cannot be built (bad OB3 input)
    ├── StatusListError           a Bitstring Status List or status entry is invalid
    └── BakingError               a badge image cannot be baked or unbaked
"""

from __future__ import annotations

from typing import Any


def _rebuild(cls: type[CredentialError], message: str, state: dict[str, Any]) -> CredentialError:
    """Recreate an error from its message and attributes (the pickle protocol)."""
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    error.__dict__.update(state)
    return error


class CredentialError(Exception):
    """Base class of every error raised by the ``credentials`` package."""

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        """The human-readable message."""
        return str(self.args[0]) if self.args else ""

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.message, dict(self.__dict__)))


class ContextError(CredentialError):
    """A JSON-LD context URL is not bundled (nothing is ever fetched from the network)."""

    def __init__(self, url: str, supported: list[str]) -> None:
        self.url = url
        self.supported = list(supported)
        listing = "\n  ".join(self.supported)
        super().__init__(
            f"JSON-LD context {url!r} is not bundled with nbcred and contexts are never fetched "
            f"from the network. Use one of the supported contexts:\n  {listing}"
        )


class CanonicalizationError(CredentialError):
    """JSON-LD expansion or RDF dataset canonicalisation failed."""


class DroppedTermsError(CanonicalizationError):
    """The document uses terms or types that no context defines, so signing would ignore them."""

    def __init__(self, terms: list[str]) -> None:
        self.terms = sorted(set(terms))
        super().__init__(
            "the document uses terms that no @context defines, so JSON-LD expansion would drop "
            f"them silently and the signature would not cover them: {', '.join(self.terms)}. "
            "Fix the spelling, add a context that defines them, or make ids absolute IRIs."
        )


class LimitExceeded(CanonicalizationError):
    """A document exceeds a processing limit (size, depth, values, quads, canonicalisation work):
    it is refused rather than processed (``credentials.limits``)."""


class KeyFormatError(CredentialError):
    """A key file or multibase-encoded key is malformed."""


class KeyStoreError(KeyFormatError):
    """The encrypted key store cannot be read (wrong passphrase, missing or corrupt key)."""


class ResolutionError(CredentialError):
    """A DID or verification method could not be resolved to a public key."""


class ProofError(CredentialError):
    """A Data Integrity proof cannot be created, or is malformed."""


class HolderProofError(ProofError):
    """A holder's proof of possession (an OpenID4VCI JWT proof, a DID authentication
    presentation) is malformed, not signed by the key it names, or not for this request."""


class DocumentError(CredentialError):
    """A credential document cannot be built from the given input (e.g. invalid OB3 fields)."""


class StatusListError(CredentialError):
    """A Bitstring Status List, or a ``credentialStatus`` entry pointing into one, is invalid."""


class BakingError(CredentialError):
    """A badge image (PNG/SVG) cannot be baked with, or unbaked from, a credential."""


class PathwayError(CredentialError):
    """A pathway is invalid, or a stacked credential cannot be issued from the held ones."""


class StatusListFullError(StatusListError):
    """Every index of a status list has been handed out: open another list."""


class SchemaError(CredentialError):
    """A bundled JSON Schema is missing or unreadable (a packaging problem)."""
