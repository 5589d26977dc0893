"""DID authentication: a holder's signed Verifiable Presentation answering a challenge.

The DCC Learner Credential Wallet (and VC-API exchanges generally) prove control of a DID by
signing a presentation with ``proofPurpose`` ``authentication`` and the verifier's
``challenge`` and ``domain``. Two proof types are accepted: ``Ed25519Signature2020`` (what the
wallet's signing libraries produce) and ``DataIntegrityProof`` with ``eddsa-rdfc-2022``. Both
sign ``SHA-256(canonical proof options) ‖ SHA-256(canonical presentation)`` (RDFC-1.0), with
the presentation's ``@context`` on the options, so they share :func:`credentials.proof.hash_proof`.
"""

from __future__ import annotations

from typing import Any

from credentials.did import KeyResolver, resolve_did_key
from credentials.errors import CredentialError, HolderProofError, KeyFormatError
from credentials.keys import multibase_decode
from credentials.proof import CRYPTOSUITE, PROOF_TYPE, hash_proof

ED25519_2020 = "Ed25519Signature2020"
PURPOSE = "authentication"


def _holder(presentation: dict[str, Any]) -> str:
    holder = presentation.get("holder")
    if isinstance(holder, dict):
        holder = holder.get("id")
    if not isinstance(holder, str) or not holder.startswith("did:"):
        raise HolderProofError("the presentation's holder must be the wallet's DID")
    types = presentation.get("type")
    if "VerifiablePresentation" not in (types if isinstance(types, list) else [types]):
        raise HolderProofError("the document is not a VerifiablePresentation")
    return holder


def _domains(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _check_one(presentation: dict[str, Any], proof: Any, *, holder: str, challenge: str, domain: str,
               resolver: KeyResolver) -> None:
    if not isinstance(proof, dict):
        raise HolderProofError("the presentation's proof is not a JSON object")
    kind = proof.get("type")
    if not (kind == ED25519_2020 or (kind == PROOF_TYPE and proof.get("cryptosuite") == CRYPTOSUITE)):
        raise HolderProofError(f"proof type {kind!r} is not {ED25519_2020} or {PROOF_TYPE} "
                               f"({CRYPTOSUITE})")
    if proof.get("proofPurpose") != PURPOSE:
        raise HolderProofError(f"the proof's proofPurpose must be {PURPOSE}")
    if proof.get("challenge") != challenge:
        raise HolderProofError("the proof's challenge is not this exchange's")
    if domain not in _domains(proof.get("domain")):
        raise HolderProofError(f"the proof's domain must be {domain}")
    method = proof.get("verificationMethod")
    if not isinstance(method, str) or method.split("#")[0] != holder:
        raise HolderProofError("the proof must be signed with a key of the presentation's holder")
    try:
        signature = multibase_decode(str(proof.get("proofValue")))
        resolved = resolver(method)
        hashed = hash_proof(presentation, proof)
    except KeyFormatError as exc:
        raise HolderProofError(f"the proof's proofValue: {exc}") from exc
    except CredentialError as exc:
        raise HolderProofError(f"the presentation cannot be checked: {exc}") from exc
    if PURPOSE not in resolved.purposes:
        raise HolderProofError(f"key {method} is not authorised for {PURPOSE}")
    if len(signature) != 64 or not resolved.public_key.verify(signature, hashed.hash_data):
        raise HolderProofError("the presentation's signature does not verify: it was altered or "
                               "signed with another key")


def verify_authentication(presentation: Any, *, challenge: str, domain: str,
                          resolver: KeyResolver = resolve_did_key) -> str:
    """Check a DID authentication presentation; return the holder's DID.

    Every proof on it must verify, be for ``authentication``, carry ``challenge`` and
    ``domain`` and be signed by a key of the holder. Raises :class:`HolderProofError`.
    """
    if not isinstance(presentation, dict):
        raise HolderProofError("verifiablePresentation must be a JSON object")
    holder = _holder(presentation)
    proofs = presentation.get("proof")
    listed = proofs if isinstance(proofs, list) else [] if proofs is None else [proofs]
    if not listed:
        raise HolderProofError("the presentation is not signed (it has no proof)")
    for proof in listed:
        _check_one(presentation, proof, holder=holder, challenge=challenge, domain=domain,
                   resolver=resolver)
    return holder
