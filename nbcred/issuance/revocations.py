"""The deployment's 1EdTech revocation list, ``<base>/status/revocations``, and CLR copies of
credentials that point at it.

The credentials embedded in a CLR carry this list as their one ``credentialStatus``
(``{"id": "<base>/status/revocations", "type": "1EdTechRevocationList"}``), the only form the
CLR 2.0 JSON Schema admits; standalone badges and certificates keep their Bitstring Status List
entry. The list is derived from the gradebook (every revoked or suspended credential, with the
reason ``revoked`` or ``suspended: …``; a suspension's entry goes when it is lifted) and written
to ``<home>/public/status/revocations`` by :func:`publish`, which every revoke, suspend and
unsuspend calls right after republishing the bitstring list. The learner's reasons are never
published. The document is plain JSON, as the method defines it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from credentials import revocationlist
from nbcred.issuance.identity import IssuerIdentity, publish_json, refresh_published
from nbcred.issuance.statuslists import published_path
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import IssuedCredential

PATH = "status/revocations"


def list_url(settings: Settings) -> str:
    """The public URL of the revocation list."""
    return f"{settings.public_base_url.rstrip('/')}/{PATH}"


def build(settings: Settings, store: Store, identity: IssuerIdentity) -> dict[str, Any]:
    """The revocation list as the gradebook says now."""
    query = select(IssuedCredential.id, IssuedCredential.status).where(
        IssuedCredential.status.in_(("revoked", "suspended")))
    with store.session() as session:
        statuses = {str(cid): str(status) for cid, status in session.execute(query)}
    return revocationlist.build_list(url=list_url(settings), issuer=identity.did, statuses=statuses)


def publish(settings: Settings, store: Store, identity: IssuerIdentity, *,
            missing_only: bool = False) -> Path:
    """Write the revocation list under ``<home>/public`` (only if absent with ``missing_only``)."""
    path = published_path(settings, list_url(settings))
    if missing_only:
        refresh_published(settings, path)
    if not (missing_only and path.is_file()):
        publish_json(settings, path, build(settings, store, identity))
    return path


def published(settings: Settings) -> dict[str, Any] | None:
    """The published revocation list document, if there is one."""
    path = published_path(settings, list_url(settings))
    if not path.is_file():
        return None
    document = json.loads(path.read_text(encoding="utf-8"))
    return document if revocationlist.is_list(document) else None


def clr_copy(settings: Settings, document: dict[str, Any],
             sign: Callable[[dict[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """``document`` as embedded in a CLR: same content and ``id``, its one ``credentialStatus``
    the revocation list, signed again (``sign``) by the issuer."""
    inner = copy.deepcopy(document)
    inner.pop("proof", None)
    inner["credentialStatus"] = revocationlist.entry(list_url(settings))
    return sign(inner)
