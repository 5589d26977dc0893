"""Copies of a learner's credential bound to their wallet's DID (OpenID4VCI, VC-API exchanges).

A copy is the original credential signed afresh with a new id and ``credentialSubject.id`` set
to the holder's DID; everything else is kept, the ``credentialStatus`` entry included, so a
status change of the original (revoke, suspend) is one of every copy too. Each copy is recorded
against its original (``holder_copies``), and ``nbcred credential revoke <copy id>`` revokes
the original with it.
"""

from __future__ import annotations

import copy
import uuid
from typing import Any

from credentials.proof import sign
from nbcred.errors import IssuanceError
from nbcred.issuance.issuer import CredentialIssuer
from nbcred.store.models import HolderCopy, IssuedCredential

PROTOCOLS = ("openid4vci", "vcapi")


def holder_document(original: dict[str, Any], holder: str) -> dict[str, Any]:
    """The unsigned copy of ``original`` for ``holder``: new id, subject id = holder, no proof."""
    document = copy.deepcopy({k: v for k, v in original.items() if k != "proof"})
    document["id"] = f"urn:uuid:{uuid.uuid4()}"
    subject = document.get("credentialSubject")
    if not isinstance(subject, dict):
        raise IssuanceError("the credential has no single credentialSubject to bind to a holder")
    document["credentialSubject"] = {"id": holder, **{k: v for k, v in subject.items() if k != "id"}}
    return document


def issue_holder_copy(issuer: CredentialIssuer, credential_id: str, *, holder: str,
                      protocol: str) -> dict[str, Any]:
    """Sign and record a copy of an active credential for ``holder``; return the signed copy."""
    if protocol not in PROTOCOLS:
        raise IssuanceError(f"unknown wallet protocol {protocol!r}")
    with issuer.store.session() as session:
        row = session.get(IssuedCredential, credential_id)
        if row is None:
            raise IssuanceError(f"no credential {credential_id!r} was issued here")
        if row.status != "active":
            raise IssuanceError(f"credential {credential_id} is {row.status}: it cannot go to a wallet")
        identity = issuer.identity
        signed = sign(holder_document(dict(row.document), holder), identity.key,
                      verification_method=identity.verification_method, created=issuer.clock())
        session.add(HolderCopy(id=signed["id"], credential_id=row.id, holder=holder, protocol=protocol,
                               document=signed, issued_at=issuer.clock()))
    return signed


def holder_copies(issuer: CredentialIssuer, credential_id: str) -> list[dict[str, Any]]:
    """Every copy of a credential handed to a wallet, oldest first."""
    from sqlalchemy import select

    with issuer.store.session() as session:
        rows = session.scalars(select(HolderCopy).where(HolderCopy.credential_id == credential_id)
                               .order_by(HolderCopy.issued_at, HolderCopy.id))
        return [{"id": r.id, "holder": r.holder, "protocol": r.protocol, "issued_at": r.issued_at,
                 "document": dict(r.document)} for r in rows]
