"""The 1EdTech Revocation List Status Method: a credential's ``credentialStatus`` is
``{"id": <list URL>, "type": "1EdTechRevocationList"}`` and the URL serves a JSON document listing
the ids of the issuer's revoked credentials, each with an optional reason::

    {"id": "<list URL>", "issuer": "<issuer id>",
     "revokedCredentials": [{"id": "urn:uuid:…", "revocationReason": "revoked"}, …]}

A credential is revoked when its ``id`` is listed. The method has no suspension of its own;
nbcred lists a suspended credential with a reason starting with :data:`SUSPENDED_REASON` and
removes it when the suspension is lifted. Any verifier of the method therefore refuses a
suspended credential (as revoked); nbcred's reports it as ``suspended``.

This is the status form the CLR 2.0 JSON Schema admits (``id`` and ``type`` only), so nbcred uses
it for the credentials it embeds in a CLR (see ``nbcred.issuance.revocations``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

STATUS_TYPE = "1EdTechRevocationList"
REVOKED_REASON = "revoked"
SUSPENDED_REASON = "suspended"
CREDENTIAL_KEY = "credentialId"
ISSUER_KEY = "credentialIssuer"
"""Keys :func:`bind` adds to an entry: the id and issuer of the credential it belongs to."""

Fetcher = Callable[[str], dict[str, Any]]


def entry(url: str) -> dict[str, str]:
    """The ``credentialStatus`` of a credential whose status is in the revocation list at ``url``."""
    return {"id": url, "type": STATUS_TYPE}


def is_entry(value: Any) -> bool:
    """True for a ``credentialStatus`` entry of the 1EdTech Revocation List method."""
    return isinstance(value, Mapping) and value.get("type") == STATUS_TYPE


def is_list(document: Any) -> bool:
    """True for a revocation list document (not a status list credential)."""
    return (isinstance(document, Mapping) and isinstance(document.get("id"), str)
            and isinstance(document.get("revokedCredentials"), list))


def build_list(*, url: str, issuer: str, statuses: Mapping[str, str]) -> dict[str, Any]:
    """The revocation list document: ``statuses`` maps a credential id to ``revoked`` or
    ``suspended`` (ids in a stable order, so unchanged lists are byte-identical)."""
    listed = []
    for credential_id in sorted(statuses):
        state = statuses[credential_id]
        if state not in (REVOKED_REASON, SUSPENDED_REASON):
            raise ValueError(f"{credential_id}: status {state!r} is neither revoked nor suspended")
        reason = REVOKED_REASON if state == REVOKED_REASON else (
            f"{SUSPENDED_REASON}: temporarily, until the issuer lifts the suspension")
        listed.append({"id": credential_id, "revocationReason": reason})
    return {"id": url, "issuer": issuer, "revokedCredentials": listed}


def bind(status: Mapping[str, Any], credential: Mapping[str, Any]) -> dict[str, Any]:
    """``status`` with the id and issuer of ``credential`` added, which a status checker needs to
    look the credential up in the list (the entry itself names only the list)."""
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, Mapping) else issuer
    return {**status, CREDENTIAL_KEY: credential.get("id"), ISSUER_KEY: issuer_id}


def check_entry(status: Mapping[str, Any], *, fetch: Fetcher) -> str:
    """``ok``, ``revoked``, ``suspended`` or ``unknown: <why>`` for a bound entry (:func:`bind`)."""
    url, credential_id = status.get("id"), status.get(CREDENTIAL_KEY)
    if not isinstance(url, str) or not url:
        return "unknown: the 1EdTechRevocationList entry has no id (the list's URL)"
    if not isinstance(credential_id, str) or not credential_id:
        return "unknown: a credential needs an id to be looked up in a 1EdTech revocation list"
    try:
        document = fetch(url)
    except Exception as exc:
        return f"unknown: could not fetch revocation list {url}: {exc}"
    if not is_list(document):
        return f"unknown: {url} is not a revocation list (no id and revokedCredentials)"
    if document.get("id") != url:
        return f"unknown: the revocation list at {url} says its id is {document.get('id')!r}"
    issuer = status.get(ISSUER_KEY)
    if issuer is not None and document.get("issuer") != issuer:
        return (f"unknown: the revocation list at {url} is issued by {document.get('issuer')!r}, "
                f"not by the credential's issuer {issuer!r}")
    for item in document["revokedCredentials"]:
        if isinstance(item, Mapping) and item.get("id") == credential_id:
            reason = item.get("revocationReason")
            if isinstance(reason, str) and reason.startswith(SUSPENDED_REASON):
                return "suspended"
            return "revoked"
    return "ok"
