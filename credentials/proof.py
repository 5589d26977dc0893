"""Data Integrity ``eddsa-rdfc-2022`` proofs, exactly as W3C vc-di-eddsa specifies.

Signing: the proof configuration (type, cryptosuite, created, verificationMethod, proofPurpose,
with the document's ``@context``) and the document without ``proof`` are each canonicalised
with RDFC-1.0; ``hashData = SHA-256(canonical proof config) ‖ SHA-256(canonical document)``;
the Ed25519 signature of ``hashData`` is written to ``proofValue`` as base58btc multibase.
"""

from __future__ import annotations

import copy
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from credentials.canonical import canonicalize
from credentials.did import KeyResolver
from credentials.errors import CredentialError, KeyFormatError, ProofError
from credentials.keys import KeyPair, multibase_decode, multibase_encode

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
CRYPTOSUITES: tuple[str, ...] = (CRYPTOSUITE,)

_DATETIME_STAMP = re.compile(r"^-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class HashData:
    """The intermediate values of an eddsa-rdfc-2022 proof (useful to check test vectors)."""

    canonical_document: str
    canonical_proof_config: str
    proof_config_hash: bytes
    document_hash: bytes

    @property
    def hash_data(self) -> bytes:
        """``SHA-256(proof config) ‖ SHA-256(document)``: the bytes that are signed."""
        return self.proof_config_hash + self.document_hash


@dataclass(frozen=True)
class ProofCheck:
    """Outcome of verifying a document's proof(s): ``reason`` is ``"ok"`` or why not."""

    ok: bool
    reason: str
    verification_method: str | None = None


def format_created(created: datetime | str | None) -> str:
    """Return an XML Schema dateTimeStamp for ``created`` (now, in UTC, when ``None``)."""
    if created is None:
        created = datetime.now(UTC)
    if isinstance(created, datetime):
        if created.tzinfo is None:
            raise ProofError("created must be timezone-aware (e.g. datetime.now(UTC))")
        return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not _DATETIME_STAMP.match(created):
        raise ProofError(
            f"created {created!r} is not an ISO 8601 date-time with a timezone, e.g. 2024-05-01T12:00:00Z"
        )
    return created


def _unsecured(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "proof"}


def hash_proof(
    document: dict[str, Any], proof_config: dict[str, Any], *, canonicalizer: str = "pyld"
) -> HashData:
    """Canonicalise and hash a document (without ``proof``) and a proof configuration."""
    unsecured = _unsecured(document)
    config = {key: value for key, value in proof_config.items() if key != "proofValue"}
    config["@context"] = unsecured.get("@context")
    canonical_config = canonicalize(config, canonicalizer=canonicalizer)
    canonical_document = canonicalize(unsecured, canonicalizer=canonicalizer)
    return HashData(
        canonical_document=canonical_document,
        canonical_proof_config=canonical_config,
        proof_config_hash=hashlib.sha256(canonical_config.encode("utf-8")).digest(),
        document_hash=hashlib.sha256(canonical_document.encode("utf-8")).digest(),
    )


def sign(
    document: dict[str, Any],
    key: KeyPair,
    *,
    verification_method: str | None = None,
    created: datetime | str | None = None,
    canonicalizer: str = "pyld",
    proof_purpose: str = "assertionMethod",
    as_set: bool = True,
) -> dict[str, Any]:
    """Return a copy of ``document`` with an ``eddsa-rdfc-2022`` Data Integrity proof added.

    ``verification_method`` defaults to the key's own (its did:key unless bound to another).
    ``proof`` is written as an array (a proof set), as the Open Badges 3.0 JSON Schema requires;
    an existing proof is kept and the new one is added to the set. ``as_set=False`` writes a
    single proof object when there is no existing proof (the form of the W3C test vectors).
    Raises :class:`CredentialError` subclasses, e.g. ``DroppedTermsError`` if the document uses
    undefined terms that the signature would not cover.
    """
    if not isinstance(document, dict) or "@context" not in document:
        raise ProofError("only JSON-LD objects with an @context can be signed")
    config: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": format_created(created),
        "verificationMethod": verification_method or key.default_verification_method,
        "proofPurpose": proof_purpose,
    }
    hashed = hash_proof(document, config, canonicalizer=canonicalizer)
    proof = {**config, "proofValue": multibase_encode(key.sign(hashed.hash_data))}
    signed = copy.deepcopy(_unsecured(document))
    existing = document.get("proof")
    previous = [] if existing is None else existing if isinstance(existing, list) else [existing]
    signed["proof"] = [*copy.deepcopy(previous), proof] if previous or as_set else proof
    return signed


def _check_shape(proof: Any, expected_purpose: str) -> str | None:
    """Return why a proof object is malformed, or ``None``."""
    if not isinstance(proof, dict):
        return "proof is not a JSON object"
    if proof.get("type") != PROOF_TYPE:
        return f"unsupported proof type {proof.get('type')!r} (expected {PROOF_TYPE})"
    if proof.get("cryptosuite") not in CRYPTOSUITES:
        return f"unsupported cryptosuite {proof.get('cryptosuite')!r} (expected {CRYPTOSUITE})"
    if proof.get("proofPurpose") != expected_purpose:
        return f"proofPurpose is {proof.get('proofPurpose')!r}, expected {expected_purpose!r}"
    if not isinstance(proof.get("verificationMethod"), str):
        return "proof has no verificationMethod"
    if not isinstance(proof.get("proofValue"), str):
        return "proof has no proofValue"
    created = proof.get("created")
    if created is not None and not (isinstance(created, str) and _DATETIME_STAMP.match(created)):
        return f"proof created {created!r} is not a valid date-time"
    return None


def _context_prefix_ok(document: dict[str, Any], proof: dict[str, Any]) -> bool:
    if "@context" not in proof:
        return True
    doc_ctx = document.get("@context")
    doc_list = doc_ctx if isinstance(doc_ctx, list) else [doc_ctx]
    proof_ctx = proof["@context"]
    proof_list = proof_ctx if isinstance(proof_ctx, list) else [proof_ctx]
    return doc_list[: len(proof_list)] == proof_list


def _verify_one(
    document: dict[str, Any],
    proof: Any,
    *,
    resolver: KeyResolver,
    canonicalizer: str,
    expected_purpose: str,
) -> ProofCheck:
    problem = _check_shape(proof, expected_purpose)
    if problem:
        return ProofCheck(ok=False, reason=problem)
    vm: str = proof["verificationMethod"]
    if not _context_prefix_ok(document, proof):
        return ProofCheck(False, "the proof's @context does not match the document's", vm)
    try:
        signature = multibase_decode(proof["proofValue"])
    except KeyFormatError as error:
        return ProofCheck(False, f"proofValue: {error}", vm)
    if len(signature) != 64:
        return ProofCheck(False, "proofValue is not a 64-byte Ed25519 signature", vm)
    try:
        resolved = resolver(vm)
        hashed = hash_proof(document, proof, canonicalizer=canonicalizer)
    except CredentialError as error:
        return ProofCheck(False, str(error), vm)
    if expected_purpose not in resolved.purposes:
        return ProofCheck(False, f"key {vm} is not authorised for {expected_purpose}", vm)
    if not resolved.public_key.verify(signature, hashed.hash_data):
        return ProofCheck(False, "signature does not match: the document or proof was altered", vm)
    return ProofCheck(True, "ok", vm)


def verify_proof(
    document: dict[str, Any],
    *,
    resolver: KeyResolver,
    canonicalizer: str = "pyld",
    expected_purpose: str = "assertionMethod",
) -> ProofCheck:
    """Verify every ``eddsa-rdfc-2022`` proof on ``document``; never raises for bad input.

    A proof set verifies when each of its proofs does. ``reason`` is ``"ok"`` or the first
    failure, e.g. ``"signature does not match: the document or proof was altered"``.
    """
    if not isinstance(document, dict):
        return ProofCheck(False, "the credential is not a JSON object")
    proofs = document.get("proof")
    if proofs is None:
        return ProofCheck(False, "the credential has no proof")
    checks = [
        _verify_one(
            document,
            proof,
            resolver=resolver,
            canonicalizer=canonicalizer,
            expected_purpose=expected_purpose,
        )
        for proof in (proofs if isinstance(proofs, list) else [proofs])
    ]
    if not checks:
        return ProofCheck(False, "the credential's proof list is empty")
    for check in checks:
        if not check.ok:
            return check
    return checks[-1]
