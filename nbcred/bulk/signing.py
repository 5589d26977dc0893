"""Building and signing bulk credentials, in this process or in worker processes.

:func:`build_document` is the one builder of a bulk credential; the parallel path and the
plain path (:func:`sign_plain`, the full pyld JSON-LD expansion and RDFC-1.0) both use it, so
they can only differ in how the document is canonicalised, and the tests prove they do not.
Workers receive a :class:`SigningContext` once and then chunks of :class:`BulkItem`.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from credentials import ob3
from credentials.errors import CredentialError
from credentials.keys import KeyPair, multibase_encode
from credentials.proof import CRYPTOSUITE, PROOF_TYPE, format_created, hash_proof, sign
from credentials.template_canon import TemplateCanonicalizer
from nbcred.bulk.fastsign import (
    CHECK_EVERY,
    DocumentTemplate,
    Signed,
    TemplateMismatch,
    fields_of,
    parse_item_time,
    same_as_built,
    shape_key,
)


@dataclass(frozen=True)
class AchievementPlan:
    """What a roster's achievement column stands for: a catalogue badge or a pathway."""

    key: str
    kind: str  # "badge" | "pathway"
    spec: ob3.AchievementSpec
    version: str
    expires_after_days: int | None = None

    @property
    def achievement_id(self) -> str:
        """The achievement's public id (the credential key's achievement)."""
        return self.spec.id


@dataclass(frozen=True)
class SigningContext:
    """Everything a worker needs, sent once: the issuer, its key and the achievements."""

    issuer: ob3.IssuerProfile
    key: KeyPair
    verification_method: str
    plans: dict[str, AchievementPlan]
    identity_salt: str | None = None
    """A fixed salt for every recipient identity; ``None``: a fresh random salt per credential."""


@dataclass(frozen=True)
class BulkItem:
    """One credential to build and sign (plain, picklable and JSON-ready)."""

    line: int
    learner: str
    email: str
    achievement: str
    status_entry: dict[str, Any]
    issued_at: str | None = None
    expires_at: str | None = None
    narrative: str | None = None
    evidence_url: str | None = None
    evidence_narrative: str | None = None
    credential_id: str = field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")


@dataclass
class Timings:
    """Seconds spent per phase (summed over credentials)."""

    build: float = 0.0
    expansion: float = 0.0
    canonicalisation: float = 0.0
    signing: float = 0.0
    cpu: float = 0.0
    """CPU seconds of the signing processes (the phases above are wall-clock)."""

    def add(self, other: Timings) -> None:
        """Accumulate ``other`` into this one."""
        self.build += other.build
        self.expansion += other.expansion
        self.canonicalisation += other.canonicalisation
        self.signing += other.signing
        self.cpu += other.cpu


@dataclass(frozen=True)
class SignedChunk:
    """What signing a chunk gave: documents by line, failures by line, and the time it took."""

    signed: dict[int, Signed]
    failed: dict[int, str]
    timings: Timings


def build_document(context: SigningContext, item: BulkItem, *, now: datetime) -> dict[str, Any]:
    """The unsigned Open Badges 3.0 credential for one roster row."""
    plan = context.plans[item.achievement]
    evidence = []
    if item.evidence_url or item.evidence_narrative:
        evidence.append(ob3.EvidenceSpec(id=item.evidence_url, narrative=item.evidence_narrative,
                                         name=f"Evidence for {plan.spec.name}"))
    recipient = (ob3.RecipientIdentity(email=item.email) if context.identity_salt is None
                 else ob3.RecipientIdentity(email=item.email, salt=context.identity_salt))
    issued = parse_item_time(item.issued_at) or now
    expires = parse_item_time(item.expires_at)
    document = ob3.build_credential(
        achievement=plan.spec, issuer=context.issuer, recipient=recipient, evidence=evidence,
        credential_status=item.status_entry, valid_from=issued,
        expires_after_days=None if expires is not None else plan.expires_after_days,
        credential_id=item.credential_id, description=item.narrative,
    )
    if expires is not None:
        document["validUntil"] = ob3.xsd_datetime(expires)
    return document


def sign_document(context: SigningContext, document: dict[str, Any], *, created: datetime,
                  canonicalizer: str) -> dict[str, Any]:
    """Sign with the issuer key exactly as the issuer signs any credential."""
    return sign(document, context.key, verification_method=context.verification_method,
                created=created, canonicalizer=canonicalizer)


_PRIVATE_KEYS: dict[bytes, Ed25519PrivateKey] = {}


def _private_key(key: KeyPair) -> Ed25519PrivateKey:
    """The key's Ed25519 object, made once per process (``KeyPair.sign`` remakes it per call)."""
    private = _PRIVATE_KEYS.get(key.seed)
    if private is None:
        private = _PRIVATE_KEYS[key.seed] = Ed25519PrivateKey.from_private_bytes(key.seed)
    return private


def sign_owned(context: SigningContext, document: dict[str, Any], *, created: datetime) -> dict[str, Any]:
    """What :func:`sign_document` returns, without copying a document the caller owns.

    ``credentials.proof.sign`` deep-copies its input; a bulk run builds each document for
    signing only, so the copy is skipped. The tests check the two give equal documents.
    """
    config = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": format_created(created),
              "verificationMethod": context.verification_method, "proofPurpose": "assertionMethod"}
    hashed = hash_proof(document, config, canonicalizer="template")
    proof = {**config, "proofValue": multibase_encode(_private_key(context.key).sign(hashed.hash_data))}
    return {**document, "proof": [proof]}


def sign_plain(context: SigningContext, item: BulkItem, *, now: datetime) -> dict[str, Any]:
    """The reference path: the same document through full JSON-LD expansion (pyld)."""
    return sign_document(context, build_document(context, item, now=now), created=now,
                         canonicalizer="pyld")


class Signer:
    """Signs rows through one :class:`~nbcred.bulk.fastsign.DocumentTemplate` per achievement and
    shape (made on first use, kept for the process's life), or through the builder and the
    generic template canonicaliser for a shape whose template is refused."""

    def __init__(self, context: SigningContext) -> None:
        self.context = context
        self.canonicalizer = TemplateCanonicalizer()
        self.templates: dict[tuple[Any, ...], DocumentTemplate | None] = {}
        self.refused = 0
        """Rows signed through the builder because their template was refused."""

    def sign(self, item: BulkItem, *, now: datetime) -> Signed:
        """The row's signed credential."""
        plan = self.context.plans[item.achievement]
        key = shape_key(item, expires_after_days=plan.expires_after_days)
        if key not in self.templates:
            try:
                self.templates[key] = DocumentTemplate(build_document, self.context, item, now=now)
            except TemplateMismatch:
                self.templates[key] = None
        template = self.templates[key]
        if template is not None:
            fields = fields_of(item, now=now, salt=self.context.identity_salt,
                               expires_after_days=plan.expires_after_days)
            if template.rows % CHECK_EVERY or same_as_built(template, build_document, self.context, item,
                                                            fields, now=now):
                return template.sign(fields, created=now, canonicalizer=self.canonicalizer,
                                     verification_method=self.context.verification_method,
                                     key=_private_key(self.context.key))
            self.templates[key] = None
        self.refused += 1
        document = sign_owned(self.context, build_document(self.context, item, now=now), created=now)
        return Signed(document["id"], json.dumps(document), document.get("validUntil"))


_SIGNER: list[Signer] = []


def _signer(context: SigningContext) -> Signer:
    """The signer of this run's context (one kept per process: a run signs with one context)."""
    if not _SIGNER or _SIGNER[0].context is not context:
        _SIGNER[:] = [Signer(context)]
    return _SIGNER[0]


def sign_items(context: SigningContext, items: list[BulkItem]) -> SignedChunk:
    """Build and sign ``items`` (see :class:`Signer`); failures are per item."""
    signer = _signer(context)
    canonicalizer = signer.canonicalizer
    timings = Timings()
    signed: dict[int, Signed] = {}
    failed: dict[int, str] = {}
    cpu_started = time.process_time()
    started = time.perf_counter()
    expansion_before = canonicalizer.build_seconds
    canon_before = canonicalizer.seconds
    for item in items:
        try:
            signed[item.line] = signer.sign(item, now=datetime.now(UTC))
        except (CredentialError, ValueError, KeyError) as exc:
            failed[item.line] = f"{type(exc).__name__}: {exc}"
    expansion = canonicalizer.build_seconds - expansion_before
    timings.expansion = expansion
    timings.canonicalisation = canonicalizer.seconds - canon_before - expansion
    timings.signing = time.perf_counter() - started - timings.canonicalisation - expansion
    timings.cpu = time.process_time() - cpu_started
    return SignedChunk(signed, failed, timings)


_WORKER_CONTEXT: SigningContext | None = None


def init_worker(context: SigningContext) -> None:
    """Process-pool initializer: keep the context for every chunk this worker signs."""
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context


def sign_in_worker(items: list[BulkItem]) -> SignedChunk:
    """Process-pool task: sign a chunk with the context given to :func:`init_worker`."""
    if _WORKER_CONTEXT is None:
        raise RuntimeError("init_worker was not called in this process")
    return sign_items(_WORKER_CONTEXT, items)
