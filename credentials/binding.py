"""Does a proof's key belong to the credential's issuer?

A valid signature only says *some* key signed; a credential is the issuer's only when that key
is the issuer's:

* ``did:key`` issuer: the verification method's DID must be the issuer's DID;
* ``did:web`` (or https controller document) issuer: the verification method must be listed
  under ``assertionMethod`` in the issuer's own document (a method of the issuer's document, or
  any other method the issuer lists there by reference);
* any other issuer id (``did:example``, ``urn:…``) cannot be bound to a key, so it fails.
"""

from __future__ import annotations

from typing import Any

from credentials.did import KeyResolver, Resolver, assertion_methods
from credentials.errors import CredentialError

BINDABLE = ("did:key:", "did:web:", "https://")


def issuer_id(document: dict[str, Any]) -> str | None:
    """The issuer's id: ``issuer`` as a string, or ``issuer.id``; ``None`` when there is none."""
    issuer = document.get("issuer")
    found = issuer.get("id") if isinstance(issuer, dict) else issuer
    return found if isinstance(found, str) and found else None


def verification_methods(document: dict[str, Any]) -> list[str]:
    """The ``verificationMethod`` of every proof on the document, in order."""
    proofs = document.get("proof")
    items = proofs if isinstance(proofs, list) else [proofs]
    return [p["verificationMethod"] for p in items
            if isinstance(p, dict) and isinstance(p.get("verificationMethod"), str)]


def unbound_reason(document: dict[str, Any], resolver: KeyResolver) -> str | None:
    """Why a proof's key does not belong to the issuer, or ``None`` when every proof's does."""
    issuer = issuer_id(document)
    if issuer is None:
        return "the credential names no issuer, so no key can be checked against it"
    if not issuer.startswith(BINDABLE):
        return (f"the issuer {issuer} is not a did:key, did:web or https identifier, so its keys "
                "cannot be looked up")
    methods = verification_methods(document)
    if not methods:
        return "the credential has no proof"
    for method in methods:
        if not _belongs(issuer, method, resolver):
            return f"signed with {method}, which is not a key of the issuer {issuer}"
    return None


def _belongs(issuer: str, method: str, resolver: KeyResolver) -> bool:
    try:
        resolved = resolver(method)
    except CredentialError:
        return False
    if issuer.startswith("did:key:"):
        return resolved.controller == issuer and method.split("#", 1)[0] == issuer
    if resolved.controller == issuer and "assertionMethod" in resolved.purposes:
        return True
    if not isinstance(resolver, Resolver):
        return False
    try:
        listed = assertion_methods(resolver.controller_document(issuer))
    except CredentialError:
        return False
    return method in listed
