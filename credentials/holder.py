"""A holder's keys: DIDs a wallet holds (did:key, did:jwk) and its OpenID4VCI key proofs.

A wallet proves it controls a key by signing a JWT (OpenID4VCI 1.0, section 8.2.1.1) naming the
credential issuer (``aud``) and a fresh ``c_nonce``; the key is named by ``kid`` (a DID URL),
``jwk`` or, as some wallets send it, by ``iss`` alone (a DID). :func:`verify_key_proof` checks
the signature with joserfc and returns the holder's DID; whether the nonce is fresh is the
caller's to decide (it keeps them).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey

from credentials.errors import HolderProofError, KeyFormatError
from credentials.keys import multibase_decode

#: JWS algorithms accepted for key proofs ("Ed25519" is the fully specified name of EdDSA).
PROOF_ALGORITHMS: tuple[str, ...] = ("EdDSA", "Ed25519", "ES256")
PROOF_TYPE = "openid4vci-proof+jwt"
#: DID methods whose keys resolve offline.
DID_METHODS: tuple[str, ...] = ("did:key", "did:jwk")
_ED25519 = b"\xed\x01"
_P256 = b"\x80\x24"
_SKEW_SECONDS = 60
_MAX_AGE_SECONDS = 600
_MAX_JWT = 8192

Jwk = dict[str, Any]


@dataclass(frozen=True)
class KeyProof:
    """A key proof that verified: who holds the key, and the nonce and algorithm it carried."""

    holder: str
    nonce: str | None
    algorithm: str


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(value: str) -> bytes:
    return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))


def did_key_jwk(did: str) -> Jwk:
    """The public JWK of an Ed25519 or P-256 ``did:key``."""
    try:
        raw = multibase_decode(did.removeprefix("did:key:"))
    except KeyFormatError as exc:
        raise HolderProofError(f"{did[:80]!r} is not a did:key: {exc}") from exc
    if raw.startswith(_ED25519) and len(raw) == 34:
        return {"kty": "OKP", "crv": "Ed25519", "x": _b64url(raw[2:])}
    if raw.startswith(_P256) and len(raw) == 35:
        try:
            point = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw[2:])
        except ValueError as exc:
            raise HolderProofError(f"{did[:80]!r} holds no valid P-256 point") from exc
        numbers = point.public_numbers()
        return {"kty": "EC", "crv": "P-256", "x": _b64url(numbers.x.to_bytes(32, "big")),
                "y": _b64url(numbers.y.to_bytes(32, "big"))}
    raise HolderProofError(f"{did[:80]!r}: only Ed25519 and P-256 did:key holders are supported")


def did_jwk_jwk(did: str) -> Jwk:
    """The public JWK a ``did:jwk`` carries (private members refused)."""
    try:
        jwk = json.loads(_unb64url(did.removeprefix("did:jwk:")))
    except (ValueError, UnicodeDecodeError) as exc:
        raise HolderProofError(f"{did[:80]!r} is not a did:jwk") from exc
    if not isinstance(jwk, dict) or "d" in jwk:
        raise HolderProofError("a did:jwk must hold a public JWK object")
    return jwk


def did_for_jwk(jwk: Jwk) -> str:
    """The ``did:jwk`` of a public JWK (its required members only, in canonical order)."""
    members = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}.get(str(jwk.get("kty")))
    if members is None or any(not isinstance(jwk.get(m), str) for m in members) or "d" in jwk:
        raise HolderProofError("the proof's jwk must be a public OKP (Ed25519) or EC (P-256) key")
    public = {m: jwk[m] for m in members}
    return "did:jwk:" + _b64url(json.dumps(public, separators=(",", ":")).encode())


def holder_jwk(did_url: str) -> tuple[str, Jwk]:
    """The DID and public JWK named by a ``did:key`` or ``did:jwk`` DID (URL)."""
    did, _, fragment = did_url.partition("#")
    if did.startswith("did:key:"):
        if fragment and fragment != did.removeprefix("did:key:"):
            raise HolderProofError(f"{did_url[:120]!r}: a did:key key id is the key itself")
        return did, did_key_jwk(did)
    if did.startswith("did:jwk:"):
        if fragment not in ("", "0"):
            raise HolderProofError(f"{did_url[:120]!r}: a did:jwk key id is #0")
        return did, did_jwk_jwk(did)
    raise HolderProofError(f"the key must be a {' or '.join(DID_METHODS)} DID, not {did_url[:80]!r}")


def _import(jwk: Jwk, algorithm: str) -> OKPKey | ECKey:
    try:
        if algorithm in ("EdDSA", "Ed25519"):
            if jwk.get("kty") != "OKP" or jwk.get("crv") != "Ed25519":
                raise HolderProofError(f"{algorithm} needs an Ed25519 key")
            return OKPKey.import_key(jwk)
        if jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise HolderProofError("ES256 needs a P-256 key")
        return ECKey.import_key(jwk)
    except (JoseError, ValueError) as exc:
        raise HolderProofError(f"the holder's key cannot be read: {exc}") from exc


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(token, str) or len(token) > _MAX_JWT or token.count(".") != 2:
        raise HolderProofError("the proof is not a compact JWT")
    head, body, _ = token.split(".")
    try:
        header, payload = json.loads(_unb64url(head)), json.loads(_unb64url(body))
    except (ValueError, UnicodeDecodeError) as exc:
        raise HolderProofError("the proof JWT's header or payload is not base64url JSON") from exc
    if not isinstance(header, dict) or not isinstance(payload, dict):
        raise HolderProofError("the proof JWT's header and payload must be JSON objects")
    return header, payload


def _holder(header: dict[str, Any], payload: dict[str, Any]) -> tuple[str, Jwk]:
    kid, jwk, iss = header.get("kid"), header.get("jwk"), payload.get("iss")
    if isinstance(kid, str) and kid.startswith("did:"):
        did, key = holder_jwk(kid)
    elif isinstance(jwk, dict):
        did, key = did_for_jwk(jwk), jwk
    elif kid is None and isinstance(iss, str) and iss.startswith("did:"):
        did, key = holder_jwk(iss)
    else:
        raise HolderProofError("the proof JWT names no key: send kid (a did:key or did:jwk URL) or jwk")
    if isinstance(iss, str) and iss.startswith("did:") and iss.split("#")[0] != did:
        raise HolderProofError("the proof JWT's iss is another DID than its key's")
    return did, key


def _check_claims(payload: dict[str, Any], *, audience: str, now: datetime) -> None:
    aud = payload.get("aud")
    audiences = aud if isinstance(aud, list) else [aud]
    if audience.rstrip("/") not in [a.rstrip("/") for a in audiences if isinstance(a, str)]:
        raise HolderProofError(f"the proof's aud must be the credential issuer {audience}")
    moment = now.timestamp()
    for claim in ("iat", "exp", "nbf"):
        if claim in payload and not isinstance(payload[claim], int | float):
            raise HolderProofError(f"the proof's {claim} must be a number")
    if "iat" in payload and not moment - _MAX_AGE_SECONDS <= payload["iat"] <= moment + _SKEW_SECONDS:
        raise HolderProofError("the proof's iat is too old or in the future: sign a new proof")
    if "exp" in payload and payload["exp"] < moment - _SKEW_SECONDS:
        raise HolderProofError("the proof has expired")
    if "nbf" in payload and payload["nbf"] > moment + _SKEW_SECONDS:
        raise HolderProofError("the proof is not valid yet")


def verify_key_proof(token: str, *, audience: str, now: datetime | None = None) -> KeyProof:
    """Verify an OpenID4VCI ``jwt`` key proof; return the holder's DID and the nonce it carries.

    Accepts ``typ`` ``openid4vci-proof+jwt`` or none (wallets that predate it), keys named by
    ``kid`` (a did:key or did:jwk URL), ``jwk`` (the holder becomes its did:jwk) or ``iss`` (a
    DID, when there is no ``kid``). Raises :class:`HolderProofError` saying what is wrong.
    """
    header, payload = _parts(token)
    algorithm = header.get("alg")
    if algorithm not in PROOF_ALGORITHMS:
        raise HolderProofError(f"proof alg {algorithm!r} is not one of {', '.join(PROOF_ALGORITHMS)}")
    if header.get("typ", PROOF_TYPE) != PROOF_TYPE:
        raise HolderProofError(f"the proof's typ must be {PROOF_TYPE}")
    did, jwk = _holder(header, payload)
    key = _import(jwk, str(algorithm))
    try:
        jws.deserialize_compact(token, key, algorithms=[str(algorithm)])
    except JoseError as exc:
        raise HolderProofError("the proof's signature does not verify with the holder's key") from exc
    _check_claims(payload, audience=audience, now=now or datetime.now(UTC))
    nonce = payload.get("nonce")
    return KeyProof(did, nonce if isinstance(nonce, str) else None, str(algorithm))
