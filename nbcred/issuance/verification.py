"""Verify every credential nbcred issued, offline, against the published status lists."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from credentials.did import Resolver
from credentials.verify import VerificationResult, list_status_checker, verify_credential
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


def verify_issued(
    issuer: CredentialIssuer, *, learner: str | None = None, sample: int | None = None
) -> list[Verified]:
    """Verify proof, dates, status and structure of every stored credential, without a network.

    ``sample``: only that many credentials, drawn at random (for large gradebooks).
    """
    resolver = Resolver()
    if issuer.identity.did_document is not None:  # did:web: the document we publish
        resolver.add_document(issuer.identity.did_document)
    checker = list_status_checker(lists=published_status_lists(issuer), resolver=resolver)
    query = select(IssuedCredential).order_by(IssuedCredential.learner_id, IssuedCredential.issued_at)
    if learner is not None:
        query = query.where(IssuedCredential.learner_id == learner)
    if sample is not None:
        query = query.order_by(None).order_by(func.random()).limit(sample)
    with issuer.store.session() as session:
        rows = [(r.id, r.learner_id, dict(r.document)) for r in session.scalars(query)]
    return [
        Verified(cid, who, str(doc.get("name", "")),
                 verify_credential(doc, resolver=resolver, status_checker=checker))
        for cid, who, doc in rows
    ]
