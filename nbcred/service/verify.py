"""Verification for anyone: a credential as JSON, a baked PNG/SVG, or a link; each check explained.

The checks themselves are :func:`credentials.verify.verify_credential`'s, with this service's own
DID document and published status lists supplied, so nothing needs the network for credentials
issued here. They run in worker processes with a deadline (:mod:`nbcred.service.verify_worker`),
never in the caller. :class:`VerifyReport` is the typed outcome the pages render:
a verdict, who the issuer is and whether this service recognises it, and each check with its
status and a plain-language message. :func:`verification_json` is the object
``nbcred credential verify --format json`` prints for a file, without ``file``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from credentials.binding import issuer_id
from credentials.errors import LimitExceeded
from credentials.limits import LIMITS, check_document
from credentials.verify import VerificationResult, failed_result
from nbcred.issuance.verification import published_status_lists
from nbcred.service import fetch
from nbcred.service.context import ServiceContext
from nbcred.service.errors import BadRequest, TooLarge
from nbcred.service.verify_worker import (
    DeadlineExceeded,
    Trust,
    credential_from_file,
    document_job,
    file_job,
    parse_credential_text,
    text_job,
    workers,
)
from nbcred.service.wallet import public_credential

MAX_FETCH_BYTES = LIMITS.max_bytes
MAX_JSON_DEPTH = LIMITS.max_depth  # a credential nests about 12 levels
__all__ = ["Check", "IssuerView", "VerifyReport", "credential_from_file", "parse_credential_text",
           "verify_document", "verify_link", "verify_text", "verify_upload"]

CheckStatus = Literal["ok", "failed", "unknown", "none"]
Verdict = Literal["valid", "issuer-not-recognised", "not-valid"]


@dataclass(frozen=True)
class Check:
    """One line of the verify page: what was checked, its status, the raw outcome, what it means."""

    name: str
    status: CheckStatus
    outcome: str
    message: str

    @property
    def ok(self) -> bool | None:
        """True (passed), False (failed) or None (could not be determined / not applicable)."""
        return True if self.status == "ok" else False if self.status == "failed" else None


@dataclass(frozen=True)
class IssuerView:
    """Who the credential says issued it, and whether this service recognises that issuer.

    ``claimed_name`` is the name the document gives its issuer: anyone can write any name, so
    it is shown only as a claim; ``label`` is what the pages may state as fact.
    """

    id: str | None
    claimed_name: str | None
    recognised: bool
    this_service: bool
    known_name: str | None = None

    @property
    def label(self) -> str:
        """The issuer as the pages may state it: this service's own name, or the bare id."""
        if self.this_service and self.known_name:
            return f"{self.known_name} ({self.id})"
        return self.id or "no issuer"


@dataclass(frozen=True)
class VerifyReport:
    """The outcome of verifying one credential, for people."""

    result: VerificationResult
    verdict: Verdict
    headline: str
    issuer: IssuerView
    checks: tuple[Check, ...]
    claimed_name: str | None

    @property
    def valid(self) -> bool:
        """The credential verified (whoever its issuer is)."""
        return self.result.verified

    def as_json(self) -> dict[str, Any]:
        """What the API returns: the CLI's JSON object (``verified``, ``checks``, ``warnings``)."""
        return verification_json(self.result)


def verification_json(result: VerificationResult) -> dict[str, Any]:
    """What ``nbcred credential verify --format json`` prints for one file, without ``file``."""
    return result.to_json()


# --- running verification -------------------------------------------------------------------------

@dataclass(frozen=True)
class _Ours:
    did: str | None
    name: str | None
    trusted: frozenset[str]


def _trust(ctx: ServiceContext) -> tuple[Trust, _Ours]:
    trusted = frozenset(ctx.settings.trusted_issuers)
    try:
        identity = ctx.issuer.identity
        lists = published_status_lists(ctx.issuer)
    except Exception:  # no issuer keys here yet: credentials from elsewhere still verify
        return Trust(), _Ours(None, None, trusted)
    documents = (identity.did_document,) if identity.did_document is not None else ()
    return Trust(documents, lists), _Ours(identity.did, identity.profile.name, trusted)


def _run(ctx: ServiceContext, function: Any, *args: Any) -> VerifyReport:
    trust, ours = _trust(ctx)
    settings = ctx.settings
    try:
        document, result = workers(settings.verify_workers).run(
            function, *args, trust, deadline=settings.verify_deadline_seconds)
    except DeadlineExceeded:
        document, result = {}, failed_result(
            f"checking this credential took longer than {settings.verify_deadline_seconds:g} s "
            "and was stopped; it was not verified")
    return _explain(document, result, ours)


def verify_document(ctx: ServiceContext, document: Any) -> VerifyReport:
    """Verify one credential (parsed JSON) with this service's issuer documents and status lists."""
    try:
        check_document(document)  # before it is pickled for the worker (pickling recurses)
    except LimitExceeded as exc:
        return failed(str(exc))
    return _run(ctx, document_job, document)


def verify_upload(ctx: ServiceContext, filename: str, content: bytes) -> VerifyReport:
    """Verify an uploaded JSON file or baked PNG/SVG badge (read in the worker too)."""
    if len(content) > MAX_FETCH_BYTES:
        raise TooLarge(f"the file is larger than {MAX_FETCH_BYTES // (1024 * 1024)} MiB; upload the "
                       "credential JSON or the badge image")
    return _run(ctx, file_job, filename, content)


def verify_text(ctx: ServiceContext, text: str) -> VerifyReport:
    """Verify pasted JSON (a 400 saying what is wrong when it is not JSON)."""
    if len(text) > MAX_FETCH_BYTES:
        raise TooLarge(f"the text is larger than {MAX_FETCH_BYTES // (1024 * 1024)} MiB")
    return _run(ctx, text_job, text)


def verify_link(ctx: ServiceContext, link: str) -> VerifyReport:
    """Verify the credential a link points at: this service's own looked up directly, any other
    fetched (:func:`nbcred.service.fetch.fetch_public`) and read in the worker."""
    link = link.strip()
    base = ctx.base_url()
    parts = urlsplit(link)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"{link!r} is not an http(s) link to a credential")
    if link.startswith(base + "/credentials/"):
        credential_id = link.removeprefix(base + "/credentials/").split("?")[0].split("#")[0]
        return verify_document(ctx, public_credential(ctx, credential_id)[1])
    body = fetch.fetch_public(link, deadline=ctx.settings.verify_link_deadline_seconds,
                              max_bytes=MAX_FETCH_BYTES)
    return verify_upload(ctx, "the linked file", body)


# --- explaining the result ------------------------------------------------------------------------

def _issuer_view(document: Any, ours: _Ours) -> IssuerView:
    found = issuer_id(document) if isinstance(document, dict) else None
    issuer = document.get("issuer") if isinstance(document, dict) else None
    claimed = issuer.get("name") if isinstance(issuer, dict) else None
    this_service = found is not None and found == ours.did
    return IssuerView(found, claimed if isinstance(claimed, str) else None,
                      this_service or (found is not None and found in ours.trusted), this_service,
                      ours.name if this_service else None)


def _explain(document: Any, result: VerificationResult, ours: _Ours) -> VerifyReport:
    issuer = _issuer_view(document, ours)
    checks = (_signature_check(result), _issuer_check(issuer, result), _dates_check(result.dates),
              _status_check(result.status), _schema_check(result.schema))
    name = document.get("name") if isinstance(document, dict) else None
    verdict, headline = _verdict(result, issuer, checks)
    return VerifyReport(result, verdict, headline, issuer, checks, name if isinstance(name, str) else None)


def _verdict(result: VerificationResult, issuer: IssuerView,
             checks: tuple[Check, ...]) -> tuple[Verdict, str]:
    if not result.verified:
        failing = [c.name for c in checks if c.status == "failed"]
        return "not-valid", ("Not valid: " + (", ".join(failing) if failing else "it could not be checked")
                             + " failed. Nothing it says is confirmed. See each check below.")
    if not issuer.recognised:
        return "issuer-not-recognised", (
            "Issuer not recognised: the credential is intact and in good standing, but its issuer "
            "is neither this service nor one it trusts.")
    trusted = "" if issuer.this_service else " (an issuer this service trusts)"
    return "valid", (f"Valid: this credential was issued by {issuer.label}{trusted}, is unchanged, "
                     "and is in good standing.")


def _signature_check(result: VerificationResult) -> Check:
    if result.proof == "ok":
        return Check("signature", "ok", result.proof,
                     "The credential was signed with a key of its issuer and has not been changed since.")
    return Check("signature", "failed", result.proof,
                 "The signature does not hold: the credential was changed after it was signed, it was "
                 "signed with a key that is not its issuer's, or it could not be checked. Do not trust it.")


def _issuer_check(issuer: IssuerView, result: VerificationResult) -> Check:
    if issuer.id is None:
        return Check("issuer", "failed", "missing", "The credential names no issuer.")
    claim = f" It calls itself “{issuer.claimed_name}”; that name is not confirmed." if (
        issuer.claimed_name and not issuer.this_service) else ""
    if result.proof != "ok":
        return Check("issuer", "unknown", issuer.id,
                     f"It names {issuer.id} as its issuer, but without a valid signature by that "
                     f"issuer's key this is unconfirmed.{claim}")
    if issuer.this_service:
        return Check("issuer", "ok", issuer.id, f"Issued by {issuer.label}: this service.")
    if issuer.recognised:
        return Check("issuer", "ok", issuer.id,
                     f"Issued by {issuer.id}, an issuer this service trusts.{claim}")
    return Check("issuer", "unknown", "not recognised",
                 f"Issuer not recognised: {issuer.id} is not this service nor an issuer it trusts.{claim}")


def _dates_check(dates: str) -> Check:
    meaning = {"ok": "It is within its validity period.", "expired": "It has expired.",
               "not yet valid": "It is not valid yet."}.get(dates, "Its dates could not be read.")
    return Check("dates", "ok" if dates == "ok" else "failed", dates, meaning)


def _status_check(status: str) -> Check:
    if status == "ok":
        return Check("status", "ok", status, "The issuer has not revoked or suspended it.")
    if status == "none":
        return Check("status", "none", status, "It carries no revocation status.")
    if status in ("revoked", "suspended"):
        return Check("status", "failed", status, f"The issuer has {status} it.")
    return Check("status", "unknown", status, "Its revocation status could not be determined.")


def _schema_check(schema: str) -> Check:
    if schema == "ok":
        return Check("schema", "ok", schema, "It has the structure of an Open Badges 3.0 credential.")
    if schema == "none":
        return Check("schema", "none", schema, "It is not an Open Badges credential.")
    return Check("schema", "failed", schema, "It does not have the structure Open Badges 3.0 requires.")


def failed(reason: str) -> VerifyReport:
    """A report for input that holds no credential at all."""
    return _explain({}, failed_result(reason), _Ours(None, None, frozenset()))
