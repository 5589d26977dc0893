"""Signing a bulk run on Celery workers (the grading executor's broker).

The parent builds each unsigned credential and sends batches to the ``nbcred.bulk_sign`` task;
a worker signs them with the issuer key from its own ``NBCRED_HOME`` key store (shared storage,
unlocked with ``NBCRED_KEY_PASSPHRASE``) and sends the signed documents back. Workers never open
the gradebook: the parent stores what comes back, inserting only credentials whose key is still
free, so the gradebook stays the single source of truth. A batch whose worker dies is delivered
again (late acknowledgement) and signed again; whichever copy arrives is stored once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from credentials.errors import CredentialError
from credentials.keys import multibase_encode
from credentials.proof import CRYPTOSUITE, PROOF_TYPE, format_created, hash_proof
from nbcred.issuance.identity import IssuerIdentity, load_identity
from nbcred.settings import Settings

TASK = "nbcred.bulk_sign"
_IDENTITIES: dict[int, IssuerIdentity] = {}


def sign_batch(identity: IssuerIdentity, documents: list[dict[str, Any]]) -> list[dict[str, Any] | str]:
    """Each document signed (template canonicaliser), or why it could not be."""
    out: list[dict[str, Any] | str] = []
    for document in documents:
        created = datetime.now(UTC)
        config = {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": format_created(created),
                  "verificationMethod": identity.verification_method, "proofPurpose": "assertionMethod"}
        try:
            hashed = hash_proof(document, config, canonicalizer="template")
        except CredentialError as exc:
            out.append(f"{type(exc).__name__}: {exc}")
            continue
        proof = {**config, "proofValue": multibase_encode(identity.key.sign(hashed.hash_data))}
        out.append({**document, "proof": [proof]})
    return out


def bulk_sign_task(self: Any, documents: list[dict[str, Any]], verification_method: str) -> list[Any]:
    """Celery task: sign a batch with this worker's issuer key (refused if it is not the parent's)."""
    settings: Settings = self.app.conf.nbcred_settings
    identity = _IDENTITIES.get(id(self.app))
    if identity is None:
        identity = _IDENTITIES[id(self.app)] = load_identity(settings)
    if identity.verification_method != verification_method:
        reason = (f"this worker signs as {identity.verification_method}, the run needs "
                  f"{verification_method}: give workers the same NBCRED_HOME keys and passphrase")
        return [reason] * len(documents)
    return sign_batch(identity, documents)
