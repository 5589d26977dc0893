"""Signing many credentials of one achievement: the shared part is built, serialised and mapped to
RDF once, each credential substitutes its own strings.

Credentials of one achievement and one *shape* (which optional fields a roster row fills) differ
only in a few strings: the id, the dates, the recipient's identity hash and salt, the status entry,
the narrative and evidence. A :class:`DocumentTemplate` is :func:`~nbcred.bulk.signing.build_document`'s
output for a probe row whose strings are unique sentinels. For each row it computes those strings
(:func:`fields_of`, with the same helpers the builder uses) and substitutes them

* into the template's JSON text, giving the stored document without building or serialising it;
* into the template's list of strings, which :class:`~credentials.template_canon.TemplateCanonicalizer`
  canonicalises without walking a document (byte for byte what the full path gives).

Nothing here decides what a credential says: a template is checked against the builder's own
document for the first row it signs and for a sample of later rows; if one ever differs (a
builder change this module does not know of), that shape falls back to the builder for good.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials import ob3
from credentials.keys import multibase_encode
from credentials.proof import CRYPTOSUITE, PROOF_TYPE, format_created
from credentials.template_canon import TemplateCanonicalizer, shape_of

FIELDS = ("id", "valid_from", "valid_until", "identity_hash", "salt", "status_id", "status_index",
          "status_list", "description", "evidence_id", "evidence_narrative")
"""The strings that differ between credentials of one template, in the order of :func:`fields_of`."""

CHECK_EVERY = 97
"""Besides its first row, every this-many-th row of a template is checked against the builder."""


@dataclass(frozen=True)
class Signed:
    """A signed credential ready to store: its id, its JSON text and its ``validUntil``."""

    id: str
    text: str
    valid_until: str | None


def shape_key(item: Any, *, expires_after_days: int | None) -> tuple[Any, ...]:
    """Which template a row belongs to: what decides the presence of each optional field."""
    entry = item.status_entry
    return (item.achievement, entry.get("statusPurpose"), entry.get("statusSize"), len(entry),
            bool(item.narrative), bool(item.evidence_url), bool(item.evidence_narrative),
            item.expires_at is not None, expires_after_days is not None)


def parse_item_time(value: str | None) -> datetime | None:
    """A row's ISO date-time (UTC when it names no zone)."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def fields_of(item: Any, *, now: datetime, salt: str | None,
              expires_after_days: int | None) -> tuple[str | None, ...]:
    """The row's strings in :data:`FIELDS` order, computed as the builder computes them."""
    recipient = ob3.RecipientIdentity(email=item.email) if salt is None else \
        ob3.RecipientIdentity(email=item.email, salt=salt)
    identity = recipient.to_json()
    issued = parse_item_time(item.issued_at) or now
    expires = parse_item_time(item.expires_at)
    if expires is not None:
        until: str | None = ob3.xsd_datetime(expires)
    elif expires_after_days is not None:
        until = ob3.xsd_datetime(issued + timedelta(days=expires_after_days))
    else:
        until = None
    entry = item.status_entry
    return (item.credential_id, ob3.xsd_datetime(issued), until, identity["identityHash"],
            identity["salt"], entry["id"], entry["statusListIndex"], entry["statusListCredential"],
            item.narrative or None, item.evidence_url or None, item.evidence_narrative or None)


class TemplateMismatch(Exception):
    """A template's document differs from the builder's (the template is not used again)."""


class DocumentTemplate:
    """The document of one achievement and shape with each of :data:`FIELDS` as a sentinel."""

    def __init__(self, build_document: Callable[..., dict[str, Any]], context: Any, item: Any, *,
                 now: datetime) -> None:
        token = secrets.token_hex(8)
        self._sentinels = [f"urn:x-nbcred-field:{token}:{name}" for name in FIELDS]
        plan = context.plans[item.achievement]
        self.expires_after_days = plan.expires_after_days
        probe_entry = dict(item.status_entry)
        probe_entry.update(id=self._sentinels[5], statusListIndex=self._sentinels[6],
                           statusListCredential=self._sentinels[7])
        probe_item = replace(
            item, credential_id=self._sentinels[0], status_entry=probe_entry,
            narrative=self._sentinels[8] if item.narrative else None,
            evidence_url=self._sentinels[9] if item.evidence_url else None,
            evidence_narrative=self._sentinels[10] if item.evidence_narrative else None)
        probe = build_document(replace(context, identity_salt=self._sentinels[4]), probe_item, now=now)
        probe["validFrom"] = self._sentinels[1]
        if "validUntil" in probe:
            probe["validUntil"] = self._sentinels[2]
        identity = probe["credentialSubject"]["identifier"][0]
        identity["identityHash"] = self._sentinels[3]
        self.probe = probe
        self.shape, leaves = shape_of(probe)
        index = {sentinel: number for number, sentinel in enumerate(self._sentinels)}
        self._leaves = leaves
        self._slots = [(position, index[leaf]) for position, leaf in enumerate(leaves) if leaf in index]
        if any(token in leaf and leaf not in index for leaf in leaves):
            raise TemplateMismatch("a field is part of a larger string")
        text = json.dumps(probe)
        parts = re.split(f"(urn:x-nbcred-field:{token}:[a-z_]+)", text)
        self._text = [index.get(part, part) if number % 2 else part for number, part in enumerate(parts)]
        if not text.endswith("}"):
            raise TemplateMismatch("the document is not a JSON object")
        self._config: tuple[str, bytes] = ("", b"")
        self.rows = 0

    def document_text(self, fields: tuple[str | None, ...]) -> str:
        """The unsigned document's JSON text (as ``json.dumps`` writes the builder's document)."""
        return "".join(part if isinstance(part, str) else json.dumps(fields[part])[1:-1]
                       for part in self._text)

    def values(self, fields: tuple[str | None, ...]) -> list[str]:
        """The document's strings in :func:`~credentials.template_canon.shape_of` order."""
        values = list(self._leaves)
        for position, field in self._slots:
            values[position] = fields[field]  # type: ignore[assignment]
        return values

    def config_hash(self, created: str, verification_method: str,
                    canonicalizer: TemplateCanonicalizer) -> bytes:
        """SHA-256 of the canonical proof configuration (one per ``created`` second)."""
        if self._config[0] != created:
            config = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": created,
                      "verificationMethod": verification_method, "proofPurpose": "assertionMethod",
                      "@context": self.probe["@context"]}
            canonical = canonicalizer.canonicalize(config)
            self._config = (created, hashlib.sha256(canonical.encode("utf-8")).digest())
        return self._config[1]

    def sign(self, fields: tuple[str | None, ...], *, created: datetime, verification_method: str,
             key: Ed25519PrivateKey, canonicalizer: TemplateCanonicalizer) -> Signed:
        """Canonicalise, hash and sign the row's document (eddsa-rdfc-2022, as ``proof.sign``)."""
        stamp = format_created(created)
        canonical = canonicalizer.canonicalize_values(self.shape, self.probe, self.values(fields))
        hashed = self.config_hash(stamp, verification_method, canonicalizer) + \
            hashlib.sha256(canonical.encode("utf-8")).digest()
        proof = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": stamp,
                 "verificationMethod": verification_method, "proofPurpose": "assertionMethod",
                 "proofValue": multibase_encode(key.sign(hashed))}
        text = self.document_text(fields)
        self.rows += 1
        return Signed(str(fields[0]), f'{text[:-1]}, "proof": {json.dumps([proof])}}}', fields[2])


def same_as_built(template: DocumentTemplate, build_document: Callable[..., dict[str, Any]], context: Any,
                  item: Any, fields: tuple[str | None, ...], *, now: datetime) -> bool:
    """True when the template gives ``build_document``'s document for this row (its salt and dates)."""
    built = build_document(replace(context, identity_salt=fields[4]), item, now=now)
    return json.loads(template.document_text(fields)) == built and \
        shape_of(built) == (template.shape, template.values(fields))
