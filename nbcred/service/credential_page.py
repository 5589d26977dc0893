"""The public credential page an employer reads: whose it is, who issued it, what it certifies,
the evidence, and a verdict computed now — VALID, EXPIRED, SUSPENDED, REVOKED — in plain words.

The verdict comes from the gradebook's live status and the verification result of
:mod:`nbcred.service.verify` (not re-implemented here). Everything shown about the earner and the
achievement is read from the signed document only when its signature holds. The earner's name is
shown only when the learner chose to put it in that credential (:func:`show_name`): an OB 3.0
``identifier`` of ``identityType`` "name", signed with the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from credentials import ob3
from nbcred.issuance.slots import parse_time
from nbcred.service.context import ServiceContext
from nbcred.service.errors import NotFound, Unprocessable
from nbcred.service.users import Account
from nbcred.service.verify import VerifyReport
from nbcred.service.wallet import URN, CredentialSummary, credential_url, public_credential
from nbcred.store.models import IssuedCredential, User

State = Literal["valid", "expired", "suspended", "revoked", "not-yet-valid", "altered", "unconfirmed"]


@dataclass(frozen=True)
class Standing:
    """The verdict banner: one word, one sentence, the date it applies from, a replacement."""

    state: State
    word: str  # "VALID", "REVOKED", ...
    sentence: str
    since: datetime | None = None
    replacement: str | None = None  # the public URL of the credential that replaced this one


@dataclass(frozen=True)
class Skill:
    name: str
    framework: str
    code: str
    url: str


@dataclass(frozen=True)
class Evidence:
    """One competency result: what was measured, the learner's value and what was required."""

    name: str
    value: str
    required: str
    met: bool | None


@dataclass(frozen=True)
class CredentialPage:
    """What the public page shows (everything from the signed document when it verifies)."""

    summary: CredentialSummary
    document: dict[str, Any]
    standing: Standing
    trusted: bool  # the signature holds: the document's contents may be stated as fact
    earner: str | None
    issuer_name: str
    issuer_url: str | None
    description: str
    criteria: str
    skills: tuple[Skill, ...]
    tags: tuple[str, ...]
    evidence: tuple[Evidence, ...]
    evidence_narrative: str
    issued: datetime
    expires: datetime | None
    image_url: str  # an absolute PNG URL (Open Graph and Twitter cards)
    json_url: str


def page(ctx: ServiceContext, credential_id: str, report: VerifyReport, *,
         now: datetime | None = None) -> CredentialPage:
    """The page of one credential; ``report`` is :func:`nbcred.service.verify.verify_document`'s."""
    summary, document = public_credential(ctx, credential_id)
    with ctx.store.session() as session:
        row = session.get(IssuedCredential, summary.id)
        assert row is not None
        changed, replaced_by = parse_time(row.status_changed_at), row.superseded_by
    result = report.result
    trusted = result.proof == "ok"
    standing = _standing(ctx, summary, report, changed, replaced_by, now or datetime.now(UTC))
    subject = document.get("credentialSubject") if trusted else None
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    found = document.get("issuer")
    issuer: dict[str, Any] = found if trusted and isinstance(found, dict) else {}
    url = credential_url(ctx, summary.id)
    return CredentialPage(
        summary=summary, document=document, standing=standing, trusted=trusted,
        earner=ob3.subject_name(document) if trusted else None,
        issuer_name=(ctx.settings.issuer_name if report.issuer.this_service  # a claimed name is no fact
                     else f"{report.issuer.id or 'no issuer named'} (not this service)"),
        issuer_url=issuer.get("url") if isinstance(issuer.get("url"), str) else None,
        description=str(achievement.get("description") or ""),
        criteria=str((achievement.get("criteria") or {}).get("narrative") or ""),
        skills=_skills(achievement), tags=tuple(str(t) for t in achievement.get("tag") or []),
        evidence=_evidence(subject if isinstance(subject, dict) else {}, achievement),
        evidence_narrative=" ".join(str(e.get("narrative", "")) for e in document.get("evidence") or []
                                    if trusted and isinstance(e, dict)),
        issued=summary.issued, expires=summary.valid_until,
        image_url=f"{url.removesuffix('/')}/image.png", json_url=f"{url}?download=json",
    )


def _standing(ctx: ServiceContext, summary: CredentialSummary, report: VerifyReport,
              changed: datetime | None, replaced_by: str | None, now: datetime) -> Standing:
    result = report.result
    replacement = credential_url(ctx, replaced_by) if replaced_by else None
    if result.proof != "ok":
        return Standing("altered", "NOT VALID", "This credential does not match what its issuer signed: "
                        "it was altered. Do not rely on it.")
    if summary.status == "revoked":
        why = " It was replaced by a newer credential." if replacement else ""
        return Standing("revoked", "REVOKED", f"The issuer revoked this credential{_on(changed)}.{why}",
                        changed, replacement)
    if summary.status == "suspended":
        return Standing("suspended", "SUSPENDED", f"The issuer suspended this credential{_on(changed)}; "
                        "it is not valid while suspended.", changed, replacement)
    if summary.valid_until is not None and summary.valid_until <= now:
        return Standing("expired", "EXPIRED", f"This credential expired{_on(summary.valid_until)}.",
                        summary.valid_until, replacement)
    if result.dates == "not yet valid":
        return Standing("not-yet-valid", "NOT YET VALID", "This credential is not valid yet.")
    if not result.verified:
        return Standing("unconfirmed", "NOT CONFIRMED", "This credential could not be confirmed: "
                        "see the checks on the verify page.")
    if report.verdict == "issuer-not-recognised":
        return Standing("unconfirmed", "ISSUER NOT RECOGNISED", report.headline)
    newer = " A newer credential replaces it." if replacement else ""
    return Standing("valid", "VALID", f"Issued by {ctx.settings.issuer_name}, unchanged since, and not "
                    f"revoked or expired.{newer}", None, replacement)


def _on(moment: datetime | None) -> str:
    return f" on {moment:%d %B %Y}" if moment is not None else ""


def _skills(achievement: dict[str, Any]) -> tuple[Skill, ...]:
    out = []
    for al in achievement.get("alignment") or []:
        if isinstance(al, dict) and al.get("targetName"):
            out.append(Skill(str(al["targetName"]), str(al.get("targetFramework") or ""),
                             str(al.get("targetCode") or ""), str(al.get("targetUrl") or "")))
    return tuple(out)


def _evidence(subject: dict[str, Any], achievement: dict[str, Any]) -> tuple[Evidence, ...]:
    described = {d.get("id"): d for d in achievement.get("resultDescription") or [] if isinstance(d, dict)}
    out = []
    for entry in subject.get("result") or []:
        if not isinstance(entry, dict):
            continue
        what = described.get(entry.get("resultDescription"), {})
        value, required = str(entry.get("value", "")), str(what.get("requiredValue", ""))
        percent = what.get("resultType") == "Percent"
        met = _at_least(value, required)
        out.append(Evidence(str(what.get("name") or entry.get("resultDescription") or "result"),
                            f"{value}%" if percent and value else value,
                            f"{required}%" if percent and required else required, met))
    return tuple(out)


def _at_least(value: str, required: str) -> bool | None:
    try:
        return float(value) >= float(required)
    except ValueError:
        return None


def recipient_matches(ctx: ServiceContext, credential_id: str, email: str) -> bool:
    """Whether ``email`` is the one the credential's hashed identifier was made from."""
    address = email.strip()
    if "@" not in address or len(address) > 320:
        raise Unprocessable("give the e-mail address to check, e.g. name@example.org")
    _summary, document = public_credential(ctx, credential_id)
    return ob3.credential_identifies(document, address)


def show_name(ctx: ServiceContext, account: Account, credential_id: str, show: bool) -> bool:
    """Put the learner's name in one of their credentials (or take it out); it is signed again.

    Returns whether the name is now shown. Off until the learner turns it on, credential by
    credential (bulk-issued ones too, once claimed).
    """
    key = credential_id if credential_id.startswith(URN) else URN + credential_id
    with ctx.store.session() as session:
        row = session.get(IssuedCredential, key)
        if row is None or row.learner_id != account.learner:
            raise NotFound(f"no credential {credential_id!r} in your wallet")
        user = session.get(User, account.id)
        name = (user.name or "").strip() if user is not None else ""
        if show and not name:
            raise Unprocessable("your account has no name to show; add it on the account page first")
        if (ob3.subject_name(row.document) is not None) == show:
            return show
        row.document = ctx.issuer.sign(ob3.with_subject_name(row.document, name if show else None))
    return show
