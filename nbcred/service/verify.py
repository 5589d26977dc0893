"""Verification for anyone: a credential as JSON, a baked PNG/SVG, or a link; each check explained.

The checks themselves are :func:`credentials.verify.verify_credential`'s, with this service's own
DID document and published status lists supplied, so nothing needs the network for credentials
issued here. :func:`verification_json` is the object ``nbcred credential verify --format json``
prints for a file, without ``file``.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from credentials.baking import unbake
from credentials.did import Resolver
from credentials.errors import CredentialError
from credentials.verify import VerificationResult, failed_result, list_status_checker, verify_credential
from nbcred.issuance.verification import published_status_lists
from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, TooLarge
from nbcred.service.jsonlimits import check_depth
from nbcred.service.wallet import public_credential

MAX_FETCH_BYTES = 2 * 1024 * 1024
MAX_JSON_DEPTH = 64  # a credential nests about 8 levels; Python's parser recurses per level


@dataclass(frozen=True)
class Check:
    """One line of the verify page: what was checked, the raw outcome, and what it means."""

    name: str
    outcome: str
    ok: bool | None  # None: could not be determined / not applicable
    meaning: str


@dataclass(frozen=True)
class VerifyReport:
    """The checks and a plain-language verdict."""

    result: VerificationResult
    checks: tuple[Check, ...]
    verdict: str
    name: str | None
    issuer_name: str | None

    def as_json(self) -> dict[str, Any]:
        return verification_json(self.result)


def verification_json(result: VerificationResult) -> dict[str, Any]:
    """What ``nbcred credential verify --format json`` prints for one file, without ``file``."""
    return result.to_json()


def verify_document(ctx: ServiceContext, document: Any) -> VerifyReport:
    """Verify one credential with this service's issuer documents and status lists."""
    resolver = Resolver()
    lists: dict[str, dict[str, Any]] = {}
    try:
        identity = ctx.issuer.identity
        if identity.did_document is not None:
            resolver.add_document(identity.did_document)
        lists = published_status_lists(ctx.issuer)
    except Exception:  # no issuer keys here yet: credentials from elsewhere still verify
        identity = None
    checker = list_status_checker(lists=lists, resolver=resolver)
    result = verify_credential(document, resolver=resolver, status_checker=checker)
    ours = identity.did if identity is not None else None
    return _explain(document, result, ours)


def _issuer(document: Any) -> tuple[str | None, str | None]:
    issuer = document.get("issuer") if isinstance(document, dict) else None
    if isinstance(issuer, dict):
        return (issuer.get("id") if isinstance(issuer.get("id"), str) else None,
                issuer.get("name") if isinstance(issuer.get("name"), str) else None)
    return (issuer if isinstance(issuer, str) else None), None


def _explain(document: Any, result: VerificationResult, ours: str | None) -> VerifyReport:
    issuer_id, issuer_name = _issuer(document)
    proof_ok = result.proof == "ok"
    checks = [
        Check("signature", result.proof, proof_ok,
              "The credential was signed by its issuer's key and has not been changed since."
              if proof_ok else "The signature does not match the content: the credential was changed "
              "after it was signed, or it was not signed by the key it names. Do not trust it."),
        _issuer_check(issuer_id, issuer_name, ours, result),
        Check("dates", result.dates, result.dates == "ok",
              {"ok": "It is within its validity period.", "expired": "It has expired.",
               "not yet valid": "It is not valid yet."}.get(result.dates,
                                                             "Its dates could not be read.")),
        _status_check(result.status),
        Check("schema", result.schema, None if result.schema == "none" else result.schema == "ok",
              "It has the structure of an Open Badges 3.0 credential." if result.schema == "ok" else
              "It is not an Open Badges credential." if result.schema == "none" else
              "It does not have the structure Open Badges 3.0 requires."),
    ]
    name = document.get("name") if isinstance(document, dict) else None
    if result.verified:
        who = issuer_name or issuer_id or "its issuer"
        verdict = f"Valid: this credential was issued by {who}, is unchanged, and is in good standing."
    else:
        failing = [c.name for c in checks if c.ok is False]
        verdict = "Not valid: " + (", ".join(failing) if failing else "it could not be checked") + \
            " failed. See each check below."
    return VerifyReport(result, tuple(checks), verdict, name if isinstance(name, str) else None,
                        issuer_name)


def _issuer_check(issuer_id: str | None, issuer_name: str | None, ours: str | None,
                  result: VerificationResult) -> Check:
    if issuer_id is None:
        return Check("issuer", "missing", False, "The credential names no issuer.")
    key_warnings = [w for w in result.warnings if w.startswith("signed by ")]
    if key_warnings:
        return Check("issuer", "; ".join(key_warnings), False,
                     "It was signed by a key that does not belong to the issuer it names.")
    label = f"{issuer_name} ({issuer_id})" if issuer_name else issuer_id
    if result.proof != "ok":
        return Check("issuer", issuer_id, None,
                     f"It names {label} as its issuer, but without a valid signature that is unconfirmed.")
    if ours is not None and issuer_id == ours:
        return Check("issuer", issuer_id, True, f"Issued by {label}: this service.")
    return Check("issuer", issuer_id, None,
                 f"Issued by {label}, not by this service: decide whether you trust that issuer.")


def _status_check(status: str) -> Check:
    if status == "ok":
        return Check("status", status, True, "The issuer has not revoked or suspended it.")
    if status == "none":
        return Check("status", status, None, "It carries no revocation status.")
    if status in ("revoked", "suspended"):
        return Check("status", status, False, f"The issuer has {status} it.")
    return Check("status", status, None, "Its revocation status could not be determined.")


def parse_credential_text(text: str) -> Any:
    """Pasted JSON as a document (a 400 saying what is wrong otherwise)."""
    check_depth(text, MAX_JSON_DEPTH)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadRequest(f"that is not JSON ({exc}); paste the whole credential file") from exc


def credential_from_file(filename: str, content: bytes) -> Any:
    """A credential from an uploaded JSON file or a baked PNG/SVG badge."""
    if len(content) > MAX_FETCH_BYTES:
        raise TooLarge("the file is larger than 2 MiB; upload the credential JSON or the badge image")
    stripped = content.lstrip()
    if stripped[:1] in (b"{", b"["):
        return parse_credential_text(content.decode("utf-8", errors="replace"))
    try:
        baked = unbake(content)
    except CredentialError as exc:
        raise BadRequest(f"{filename}: {exc}") from exc
    if isinstance(baked, str):
        raise BadRequest(f"{filename} holds a JWT credential; only Data Integrity (JSON) "
                         "credentials are verified here")
    return baked


def credential_from_link(ctx: ServiceContext, link: str) -> Any:
    """A credential from a link: links to this service are looked up directly, others fetched."""
    link = link.strip()
    base = ctx.base_url()
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"{link!r} is not an http(s) link to a credential")
    if link.startswith(base + "/credentials/"):
        credential_id = link.removeprefix(base + "/credentials/").split("?")[0].split("#")[0]
        return public_credential(ctx, credential_id)[1]
    return _fetch(link, parts.hostname, parts.port)


def _fetch(link: str, host: str, port: int | None) -> Any:
    import httpx

    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port or 443)}
    except OSError as exc:
        raise BadRequest(f"cannot resolve {host}: {exc}") from exc
    if any(not ipaddress.ip_address(str(a).split("%")[0]).is_global for a in addresses):
        raise BadRequest(f"{host} is a private address; links must point to a public web site")
    try:
        with httpx.stream("GET", link, timeout=5.0, follow_redirects=False,
                          headers={"Accept": "application/ld+json, application/json"}) as response:
            response.raise_for_status()
            body = b""
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_FETCH_BYTES:
                    raise TooLarge(f"{link} returned more than 2 MiB")
    except httpx.HTTPError as exc:
        raise BadRequest(f"could not fetch {link}: {exc}") from exc
    return credential_from_file(link, body)


def failed(reason: str) -> VerifyReport:
    """A report for input that holds no credential at all."""
    return _explain({}, failed_result(reason), None)
