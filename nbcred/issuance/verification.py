"""Verifying with this deployment's own documents, offline: the one place a local verifier is built.

:func:`local_verifier` gives a DID resolver and a status checker over the issuer's DID document and
the status lists it publishes (plus any given ones); the web service's verify page, ``nbcred
credential verify`` and :func:`verify_issued` (the demo's check of everything issued) all use it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from credentials.did import Resolver
from credentials.verify import StatusChecker, VerificationResult, offline_verifier, verify_credential
from nbcred.issuance import revocations
from nbcred.issuance.issuer import CredentialIssuer
from nbcred.issuance.statuslists import published_path, record_urls
from nbcred.store.models import IssuedCredential


@dataclass(frozen=True)
class Verified:
    """One issued credential and what an independent check of it says."""

    credential_id: str
    learner: str
    name: str
    result: VerificationResult


def published_status_lists(issuer: CredentialIssuer) -> dict[str, dict[str, Any]]:
    """The signed status list credentials (and the 1EdTech revocation list) as served under
    ``<home>/public``, by URL."""
    lists = {}
    for url in record_urls(issuer.store):
        path = published_path(issuer.settings, url)
        if path.is_file():
            document = json.loads(path.read_text(encoding="utf-8"))
            lists[document["id"]] = document
    revocation_list = revocations.published(issuer.settings)  # what CLR copies point at
    if revocation_list is not None:
        lists[revocation_list["id"]] = revocation_list
    return lists


@dataclass(frozen=True)
class LocalVerifier:
    """A resolver and a status checker over known documents; ``issuer_did``: this deployment's."""

    resolver: Resolver
    status_checker: StatusChecker
    issuer_did: str | None = None


def local_verifier(
    issuer: CredentialIssuer | None = None,
    *,
    status_lists: Sequence[dict[str, Any]] = (),
    did_documents: Sequence[dict[str, Any]] = (),
    fetch: Callable[[str], dict[str, Any]] | None = None,
) -> LocalVerifier:
    """The verifier of this deployment: the issuer's DID document and published status lists (with
    ``issuer``: its keys are loaded), then the given documents; ``fetch`` for anything else."""
    documents: list[dict[str, Any]] = []
    lists: dict[str, dict[str, Any]] = {}
    did = None
    if issuer is not None:
        identity = issuer.identity
        if identity.did_document is not None:  # did:web: the document we publish
            documents.append(identity.did_document)
        lists.update(published_status_lists(issuer))
        did = identity.did
    lists.update({d["id"]: d for d in status_lists})
    resolver, checker = offline_verifier(did_documents=[*documents, *did_documents], status_lists=lists,
                                         fetch=fetch)
    return LocalVerifier(resolver, checker, did)


def verify_issued(
    issuer: CredentialIssuer, *, learner: str | None = None, sample: int | None = None
) -> list[Verified]:
    """Verify proof, dates, status and structure of every stored credential, without a network.

    ``sample``: only that many credentials, drawn at random (for large gradebooks).
    """
    verifier = local_verifier(issuer)
    query = select(IssuedCredential).order_by(IssuedCredential.learner_id, IssuedCredential.issued_at)
    if learner is not None:
        query = query.where(IssuedCredential.learner_id == learner)
    if sample is not None:
        query = query.order_by(None).order_by(func.random()).limit(sample)
    with issuer.store.session() as session:
        rows = [(r.id, r.learner_id, dict(r.document)) for r in session.scalars(query)]
    return [
        Verified(cid, who, str(doc.get("name", "")),
                 verify_credential(doc, resolver=verifier.resolver, status_checker=verifier.status_checker))
        for cid, who, doc in rows
    ]
