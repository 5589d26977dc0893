"""Verify a credential: proof, validity dates, status and Open Badges 3.0 structure, separately.

Each check reports a short string:

* ``proof``: ``"ok"`` | ``"failed: <why>"``
* ``dates``: ``"ok"`` | ``"expired"`` | ``"not yet valid"`` | ``"failed: <why>"`` (unreadable date)
* ``status``: ``"ok"`` | ``"revoked"`` | ``"suspended"`` | ``"unknown: <why>"`` | ``"none"``
* ``schema``: ``"ok"`` | ``"failed: <why>"`` | ``"none"`` (not an Open Badges credential)

``verified`` is true only when proof, dates and status pass; ``"unknown"`` status only fails
with ``require_status``. The status check is injected (see ``credentials.statuslist``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from credentials.did import KeyResolver
from credentials.proof import verify_proof

StatusChecker = Callable[[dict[str, Any]], str]
"""Checks one ``credentialStatus`` entry: returns ok / revoked / suspended / unknown: <why>."""

OB_TYPES = ("OpenBadgeCredential", "AchievementCredential")


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of :func:`verify_credential`, one field per check."""

    verified: bool
    proof: str
    dates: str
    status: str
    schema: str
    warnings: tuple[str, ...] = field(default=())

    @property
    def checks(self) -> dict[str, str]:
        """The four checks as a dict (the CLI's JSON ``checks`` object)."""
        return {
            "proof": self.proof,
            "dates": self.dates,
            "status": self.status,
            "schema": self.schema,
        }


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
    status = document.get("credentialStatus")
    if status is None:
        return "none"
    if status_checker is None:
        return "unknown: no status checker is configured"
    entries = status if isinstance(status, list) else [status]
    results: list[str] = []
    for entry in entries:
        if not isinstance(entry, dict):
            results.append("unknown: credentialStatus entry is not an object")
            continue
        try:
            results.append(status_checker(entry))
        except Exception as error:
            results.append(f"unknown: status check failed: {error}")
    for wanted in ("revoked", "suspended"):
        if wanted in results:
            return wanted
    return next((r for r in results if r != "ok"), "ok")


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _achievement_problems(subject: Any) -> list[str]:
    if not isinstance(subject, dict):
        return ["credentialSubject must be an object"]
    achievement = subject.get("achievement")
    if not isinstance(achievement, dict):
        return ["credentialSubject.achievement is missing"]
    missing = [
        f"credentialSubject.achievement.{key}"
        for key in ("id", "type", "name", "description", "criteria")
        if key not in achievement
    ]
    return [f"{name} is missing" for name in missing]


def check_schema(document: dict[str, Any]) -> str:
    """Check the Open Badges 3.0 required structure; ``"none"`` for other credentials."""
    types = _types(document.get("type"))
    if not any(t in OB_TYPES for t in types):
        return "none"
    problems: list[str] = []
    if "VerifiableCredential" not in types:
        problems.append("type must include VerifiableCredential")
    issuer = document.get("issuer")
    if not (isinstance(issuer, dict) and isinstance(issuer.get("id"), str)):
        problems.append("issuer must be an object with an id")
    problems += _achievement_problems(document.get("credentialSubject"))
    if "validFrom" not in document:
        problems.append("validFrom is missing")
    return "ok" if not problems else "failed: " + "; ".join(problems)


def verify_credential(
    document: Any,
    *,
    resolver: KeyResolver,
    status_checker: StatusChecker | None = None,
    now: datetime | None = None,
    require_status: bool = False,
    canonicalizer: str = "pyld",
) -> VerificationResult:
    """Verify a credential's proof, dates, status and structure; never raises for bad input."""
    if not isinstance(document, dict):
        return failed_result("the credential is not a JSON object")
    moment = now or datetime.now(UTC)
    proof = verify_proof(document, resolver=resolver, canonicalizer=canonicalizer)
    proof_text = "ok" if proof.ok else f"failed: {proof.reason}"
    dates = check_dates(document, now=moment)
    status = check_status(document, status_checker=status_checker)
    schema = check_schema(document)
    status_ok = status in ("ok", "none") or (status.startswith("unknown") and not require_status)
    warnings = _issuer_warnings(document, proof.verification_method) if proof.ok else []
    return VerificationResult(
        verified=proof.ok and dates == "ok" and status_ok,
        proof=proof_text,
        dates=dates,
        status=status,
        schema=schema,
        warnings=tuple(warnings),
    )


def _issuer_warnings(document: dict[str, Any], verification_method: str | None) -> list[str]:
    """Warn when the signing key's controller is not the credential's issuer."""
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str) or not verification_method:
        return []
    controller = verification_method.split("#", 1)[0]
    if controller != issuer_id:
        return [f"signed by {controller}, which is not the issuer {issuer_id}"]
    return []


def list_status_checker(
    *,
    lists: Mapping[str, dict[str, Any]],
    resolver: KeyResolver,
    fetch: Callable[[str], dict[str, Any]] | None = None,
) -> StatusChecker:
    """A status checker over known status list credentials (by URL), falling back to ``fetch``.

    Each status list credential is itself verified (proof and dates) before its bits are read.
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

    return lambda entry: statuslist.check_status(entry, fetch=verified_fetch)
