"""What the service publishes at the URLs written into credentials: issuer, DID, status, achievements."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from credentials import ob3
from nbcred.issuance import badges, revocations, statuslists
from nbcred.issuance.identity import did_document_path
from nbcred.issuance.pathways import to_pathway
from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound

OB_CONTEXTS = ["https://www.w3.org/ns/credentials/v2",
               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]


@dataclass(frozen=True)
class PublishedIssuer:
    """The issuer profile and its keys, for ``/issuer``."""

    profile: dict[str, Any]
    did: str
    keys: tuple[str, ...]
    did_web: bool


def issuer_profile(ctx: ServiceContext) -> PublishedIssuer:
    """The issuer's OB 3.0 Profile (the ``issuer`` of every credential issued here)."""
    identity = ctx.issuer.identity
    profile = {"@context": OB_CONTEXTS, "id": identity.did, "type": ["Profile"],
               "name": ctx.settings.issuer_name, "url": ctx.settings.issuer_url}
    keys: tuple[str, ...] = (identity.key.public_key_multibase,)
    if identity.did_document is not None:
        methods = identity.did_document.get("verificationMethod", [])
        keys = tuple(str(m.get("publicKeyMultibase")) for m in methods if isinstance(m, dict))
    return PublishedIssuer(profile, identity.did, keys, identity.did_document is not None)


def did_document(ctx: ServiceContext) -> dict[str, Any]:
    """The did:web document (``/.well-known/did.json``); a did:key issuer has none to serve."""
    identity = ctx.issuer.identity
    if identity.did_document is None:
        raise NotFound("this issuer is a did:key (it resolves by itself); set NBCRED_ISSUER_DID_WEB "
                       "to publish a did:web document")
    path = did_document_path(ctx.settings, identity.did)
    if path.is_file():
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded
    return identity.did_document


def status_list(ctx: ServiceContext, purpose: str, number: str) -> dict[str, Any]:
    """A published, signed status list credential (signed on first request if not yet written)."""
    path = statuslists.published_list(ctx.settings, ctx.store, ctx.issuer.identity, purpose, number)
    if path is None:
        raise NotFound(f"no status list {purpose}/{number}; the lists are "
                       f"{', '.join(statuslists.served_names(ctx.settings, ctx.store))}")
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def revocation_list(ctx: ServiceContext) -> dict[str, Any]:
    """The 1EdTech revocation list (written on first request if not yet published)."""
    revocations.publish(ctx.settings, ctx.store, ctx.issuer.identity, missing_only=True)
    document = revocations.published(ctx.settings)
    if document is None:
        raise NotFound("the revocation list could not be read; revoke or suspend a credential "
                       "to publish it again")
    return document


def achievement(ctx: ServiceContext, assessment_id: str, version: str) -> dict[str, Any]:
    """The OB 3.0 Achievement of an assessment version's badge."""
    assessment = ctx.catalogue.assessments.get(assessment_id)
    if assessment is None or assessment.spec.badge is None or assessment.spec.version != version:
        raise NotFound(f"no achievement {assessment_id}/{version} in the current catalogue")
    document = ob3.build_achievement(badges.achievement_spec(ctx.settings, assessment))
    return {"@context": OB_CONTEXTS, **document}


def pathway(ctx: ServiceContext, pathway_id: str) -> dict[str, Any]:
    """A pathway's stacked achievement."""
    for spec in ctx.catalogue.pathways:
        if spec.id == pathway_id:
            found = to_pathway(ctx.issuer, ctx.catalogue, spec)
            return {"@context": OB_CONTEXTS, "id": found.id, "type": ["Achievement"],
                    "achievementType": "Certificate", "name": found.name,
                    "description": found.description,
                    "criteria": {"narrative": found.criteria_narrative},
                    "requires": [r.describe() for r in found.requirements]}
    raise NotFound(f"no pathway {pathway_id!r} in the catalogue")


def public_file(ctx: ServiceContext, relative: str) -> Path:
    """A file published under ``<home>/public`` (badge images linked from achievements)."""
    root = (ctx.settings.home / "public").resolve()
    target = (root / relative).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise NotFound(f"no published file {relative!r}")
    return target
