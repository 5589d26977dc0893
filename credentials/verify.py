"""Verify a credential: proof, validity dates, status and published JSON Schema, separately.

Each check reports ``"ok"`` or, in plain words, why not:

* ``proof``: ``"ok"`` | ``"failed: <why>"`` (a correct signature by a key that is not the
  issuer's fails too: see ``credentials.binding``)
* ``dates``: ``"ok"`` | ``"expired"`` | ``"not yet valid"`` | ``"failed: <why>"`` (unreadable date)
* ``status``: ``"ok"`` | ``"revoked"`` | ``"suspended"`` | ``"unknown: <why>"`` | ``"none"``
* ``schema``: ``"ok"`` | ``"failed: <why>"`` | ``"none"`` (no published schema applies)

``verified`` is true only when proof, dates, status and schema pass (``"unknown"`` status
only fails with ``require_status``; ``"none"`` schema, no published schema applying, passes).
A CLR
(``ClrCredential``) is also checked credential by credential: every
``credentialSubject.verifiableCredential`` gets its own result in ``embedded``, and the CLR is
verified only if each of them is. The status check is injected (see ``credentials.statuslist``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from credentials.baking import detect_kind, unbake
from credentials.binding import unbound_reason
from credentials.did import KeyResolver, Resolver
from credentials.errors import CredentialError, LimitExceeded
from credentials.limits import LIMITS, check_document
from credentials.proof import verify_proof
from credentials.revocationlist import bind as bind_revocation_entry
from credentials.revocationlist import check_entry as check_revocation_entry
from credentials.revocationlist import is_entry as is_revocation_entry
from credentials.schema import CLR_TYPE
from credentials.schema import check_schema as _published_schema_check
from credentials.statuscheck import status_entries, worst_status

StatusChecker = Callable[[dict[str, Any]], str]
"""Checks one ``credentialStatus`` entry: returns ok / revoked / suspended / unknown: <why>.

A ``1EdTechRevocationList`` entry names only the list, so it is passed bound to its credential
(``credentials.revocationlist.bind``: the credential's id and issuer added)."""

OB_TYPES = ("OpenBadgeCredential", "AchievementCredential")
MAX_EMBEDDED_DEPTH = 2


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of :func:`verify_credential`, one field per check.

    ``embedded`` holds one result per credential inside a CLR (empty for other credentials);
    ``is_clr`` tells whether the ``embedded`` list applies. :meth:`to_json` is the object that
    ``nbcred credential verify --format json`` prints and the verify API returns.
    """

    verified: bool
    proof: str
    dates: str
    status: str
    schema: str
    warnings: tuple[str, ...] = field(default=())
    embedded: tuple[VerificationResult, ...] = field(default=())
    credential_id: str | None = None
    is_clr: bool = False

    @property
    def checks(self) -> dict[str, str]:
        """The four checks as a dict (the CLI's JSON ``checks`` object)."""
        return {
            "proof": self.proof,
            "dates": self.dates,
            "status": self.status,
            "schema": self.schema,
        }

    def to_json(self) -> dict[str, Any]:
        """``{"verified", "checks"}``, ``warnings`` when there are any and, for a CLR,
        ``embedded``: the same object for each credential of
        ``credentialSubject.verifiableCredential``, in order."""
        out: dict[str, Any] = {"verified": self.verified, "checks": self.checks}
        if self.warnings:
            out["warnings"] = list(self.warnings)
        if self.is_clr:
            out["embedded"] = [e.to_json() for e in self.embedded]
        return out


def failed_result(reason: str) -> VerificationResult:
    """A result for input that is not a credential at all (e.g. not JSON)."""
    return VerificationResult(
        verified=False, proof=f"failed: {reason}", dates="none", status="none", schema="none"
    )


def parse_datetime(value: Any) -> datetime:
    """Parse an XML Schema dateTime with timezone (``Z`` or offset); naive means UTC."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a date-time string")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_dates(document: dict[str, Any], *, now: datetime) -> str:
    """Check ``validFrom``/``validUntil`` (or VC 1.1 ``issuanceDate``/``expirationDate``)."""
    start_key = "validFrom" if "validFrom" in document else "issuanceDate"
    end_key = "validUntil" if "validUntil" in document else "expirationDate"
    try:
        start = parse_datetime(document[start_key]) if start_key in document else None
        end = parse_datetime(document[end_key]) if end_key in document else None
    except ValueError as error:
        return f"failed: unreadable date: {error}"
    if start is not None and now < start:
        return "not yet valid"
    if end is not None and now >= end:
        return "expired"
    return "ok"


def check_status(document: dict[str, Any], *, status_checker: StatusChecker | None) -> str:
    """Run the injected status checker on every ``credentialStatus`` entry; the worst wins."""
    entries = status_entries(document)
    if not entries:
        return "none"
    if status_checker is None:
        return "unknown: no status checker is configured"
    results: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            results.append("unknown: credentialStatus entry is not an object")
            continue
        if is_revocation_entry(entry):
            entry = bind_revocation_entry(entry, document)
        try:
            results.append(status_checker(entry))
        except Exception as error:
            results.append(f"unknown: status check failed: {error}")
    return worst_status(results)


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def check_schema(document: dict[str, Any]) -> str:
    """Validate against the published schema for the credential's type (``credentials.schema``)."""
    return _published_schema_check(document)


def check_proof(document: dict[str, Any], *, resolver: KeyResolver, canonicalizer: str = "pyld") -> str:
    """``"ok"`` when every proof verifies *and* was made with a key of the issuer
    (:mod:`credentials.binding`); otherwise ``"failed: <why>"``."""
    proof = verify_proof(document, resolver=resolver, canonicalizer=canonicalizer)
    if not proof.ok:
        return f"failed: {proof.reason}"
    unbound = unbound_reason(document, resolver)
    return "ok" if unbound is None else f"failed: {unbound}"


def verify_credential(
    document: Any,
    *,
    resolver: KeyResolver,
    status_checker: StatusChecker | None = None,
    now: datetime | None = None,
    require_status: bool = False,
    require_schema: bool = False,
    canonicalizer: str = "pyld",
    _depth: int = 0,
) -> VerificationResult:
    """Verify a credential's proof, dates, status and schema (and a CLR's contents); never raises."""
    if not isinstance(document, dict):
        return failed_result("the credential is not a JSON object")
    try:
        check_document(document)
    except LimitExceeded as error:
        return failed_result(str(error))
    moment = now or datetime.now(UTC)
    proof_text = check_proof(document, resolver=resolver, canonicalizer=canonicalizer)
    dates = check_dates(document, now=moment)
    status = check_status(document, status_checker=status_checker)
    schema = check_schema(document)
    status_ok = status in ("ok", "none") or (status.startswith("unknown") and not require_status)
    schema_ok = not schema.startswith("failed")
    warnings: list[str] = []
    is_clr = CLR_TYPE in _types(document.get("type"))
    embedded: list[VerificationResult] = []
    if is_clr:
        embedded = [
            _verify_embedded(item, resolver=resolver, status_checker=status_checker, now=moment,
                             require_status=require_status, require_schema=require_schema,
                             canonicalizer=canonicalizer, depth=_depth + 1)
            for item in _embedded_credentials(document)
        ]
    all_embedded = all(e.verified for e in embedded)
    if is_clr and not all_embedded:
        failing = sum(1 for e in embedded if not e.verified)
        warnings.append(f"{failing} of {len(embedded)} embedded credential(s) do not verify")
        warnings += [f"embedded credential {e.credential_id or '(no id)'} does not verify: "
                     + ", ".join(f"{k} {v}" for k, v in e.checks.items() if v not in ("ok", "none"))
                     for e in embedded if not e.verified]
    credential_id = document.get("id")
    return VerificationResult(
        verified=proof_text == "ok" and dates == "ok" and status_ok and schema_ok and all_embedded,
        proof=proof_text,
        dates=dates,
        status=status,
        schema=schema,
        warnings=tuple(warnings),
        embedded=tuple(embedded),
        credential_id=credential_id if isinstance(credential_id, str) else None,
        is_clr=is_clr,
    )


def _embedded_credentials(document: dict[str, Any]) -> list[Any]:
    subject = document.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    found: list[Any] = []
    for item in subjects:
        if isinstance(item, dict):
            inner = item.get("verifiableCredential")
            found += inner if isinstance(inner, list) else [] if inner is None else [inner]
    return found


def _verify_embedded(item: Any, *, depth: int, **options: Any) -> VerificationResult:
    if isinstance(item, str):
        return failed_result(
            "the embedded credential is a compact JWS (VC-JWT), which this verifier does not check"
        )
    if depth > MAX_EMBEDDED_DEPTH:
        return failed_result("credentials nested more than two levels deep are not checked")
    return verify_credential(item, _depth=depth, **options)


def load_credential(data: bytes) -> dict[str, Any]:
    """A credential from the bytes of a JSON file or of a baked PNG or SVG badge.

    Raises ``ValueError`` saying, in plain words, why the bytes hold no credential (also when
    they exceed :data:`credentials.limits.LIMITS`).
    """
    if len(data) > LIMITS.max_bytes:
        raise ValueError(f"the file is larger than {LIMITS.max_bytes // (1024 * 1024)} MiB, "
                         "more than any credential needs")
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith((b"{", b"[")):
        try:
            detect_kind(data)
        except CredentialError:
            raise ValueError(
                "this is not a credential: it is not JSON, nor a PNG or SVG badge image"
            ) from None
        try:
            baked = unbake(data)
        except CredentialError as error:
            raise ValueError(f"no credential could be read from the badge image: {error}") from None
        if isinstance(baked, str):
            raise ValueError(
                "the badge holds a compact JWS (VC-JWT), which this verifier does not check"
            )
        return baked
    try:
        document = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("the file is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"the file is not JSON: {error}") from None
    except RecursionError:
        raise ValueError(f"the JSON is nested more than {LIMITS.max_depth} levels deep") from None
    if not isinstance(document, dict):
        raise ValueError("the JSON is not a credential object")
    return document


def verify_bytes(data: bytes, **options: Any) -> VerificationResult:
    """Verify the credential in a JSON file or a baked PNG/SVG (options of :func:`verify_credential`)."""
    try:
        document = load_credential(data)
    except ValueError as error:
        return failed_result(str(error))
    return verify_credential(document, **options)


def list_status_checker(
    *,
    lists: Mapping[str, dict[str, Any]],
    resolver: KeyResolver,
    fetch: Callable[[str], dict[str, Any]] | None = None,
) -> StatusChecker:
    """A status checker over known status list credentials (by URL), falling back to ``fetch``.

    Each status list credential is itself verified (proof and dates) before its bits are read.
    ``lists`` may also hold 1EdTech revocation lists (plain JSON documents, by URL): entries of
    type ``1EdTechRevocationList`` are looked up in them (``credentials.revocationlist``).
    """
    from credentials import statuslist

    def offline(url: str) -> dict[str, Any]:
        raise ConnectionError(
            f"status list {url} was not supplied and network access is disabled"
        )

    def verified_fetch(url: str) -> dict[str, Any]:
        document = lists.get(url) or (fetch or offline)(url)
        result = verify_credential(document, resolver=resolver)
        if result.proof != "ok" or result.dates != "ok":
            raise ValueError(f"status list credential does not verify ({result.proof})")
        return document

    def plain_fetch(url: str) -> dict[str, Any]:
        return lists.get(url) or (fetch or offline)(url)

    def checker(entry: dict[str, Any]) -> str:
        if is_revocation_entry(entry):
            return check_revocation_entry(entry, fetch=plain_fetch)
        return statuslist.check_status(entry, fetch=verified_fetch)

    return checker


def offline_verifier(
    *,
    did_documents: Sequence[dict[str, Any]] = (),
    status_lists: Mapping[str, dict[str, Any]] | None = None,
    fetch: Callable[[str], dict[str, Any]] | None = None,
) -> tuple[Resolver, StatusChecker]:
    """A DID resolver over known DID documents and a status checker over known status list
    credentials (by URL); ``fetch`` for anything else (None: nothing is fetched). The one place
    the application builds what :func:`verify_credential` needs."""
    resolver = Resolver(fetch=fetch)
    for document in did_documents:
        resolver.add_document(document)
    return resolver, list_status_checker(lists=dict(status_lists or {}), resolver=resolver, fetch=fetch)
