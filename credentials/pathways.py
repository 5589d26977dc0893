"""Stacking: pathways of achievements, the stacked OB 3.0 certificate, and CLR 2.0 export.

A :class:`Pathway` requires a set of achievements, each named by achievement id or by the id of
the assessment behind it (``otherIdentifier``). Given the credentials a learner holds (already
verified and status-checked by the caller), :func:`evaluate_pathway` says what is satisfied and
what is missing; :func:`build_stacked_credential` issues the ``Certificate`` credential whose
evidence lists the components, and :func:`build_clr` packages everything as a ``ClrCredential``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from credentials import ob3
from credentials.errors import PathwayError

CLR_CONTEXT = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json"
CLR_CONTEXTS = [ob3.VC_V2_CONTEXT, CLR_CONTEXT, ob3.OB_CONTEXT, ob3.OB_EXTENSIONS_CONTEXT]
CLR_SCHEMA = "https://purl.imsglobal.org/spec/clr/v2p0/schema/json/clr_v2p0_clrcredential_schema.json"
OB_CREDENTIAL_TYPES = ("OpenBadgeCredential", "AchievementCredential")

CredentialCheck = Callable[[dict[str, Any]], str | None]
"""Returns ``None`` if a held credential may be used, else the reason it may not."""


@dataclass(frozen=True)
class Requirement:
    """One achievement a pathway needs: by achievement id, or by assessment id."""

    achievement_id: str | None = None
    assessment_id: str | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        if (self.achievement_id is None) == (self.assessment_id is None):
            raise PathwayError("a requirement names exactly one of achievement_id or assessment_id")

    def describe(self) -> str:
        """A human-readable name for messages and narratives."""
        return self.label or self.achievement_id or f"assessment {self.assessment_id}"

    def matches(self, credential: Mapping[str, Any]) -> bool:
        """True if ``credential`` awards the required achievement."""
        achievement = _achievement(credential)
        if self.achievement_id is not None:
            return achievement.get("id") == self.achievement_id
        identifiers = achievement.get("otherIdentifier") or []
        return any(isinstance(i, Mapping) and i.get("identifier") == self.assessment_id for i in identifiers)


@dataclass(frozen=True)
class Pathway:
    """A stacked achievement: all ``requirements`` earn the certificate ``id``."""

    id: str
    name: str
    description: str
    criteria_narrative: str
    requirements: tuple[Requirement, ...]
    image: ob3.ImageSpec | None = None
    tags: tuple[str, ...] = ()
    alignments: tuple[ob3.AlignmentSpec, ...] = ()
    version: str | None = None

    def __post_init__(self) -> None:
        if not self.requirements:
            raise PathwayError(f"pathway {self.id} has no requirements; list at least one")
        keys = [(r.achievement_id, r.assessment_id) for r in self.requirements]
        if len(set(keys)) != len(keys):
            raise PathwayError(f"pathway {self.id} lists a requirement twice")

    def achievement(self, *, creator: ob3.IssuerProfile | None = None) -> ob3.AchievementSpec:
        """The ``Certificate`` achievement awarded on completion."""
        required = "; ".join(r.describe() for r in self.requirements)
        return ob3.AchievementSpec(
            id=self.id,
            name=self.name,
            description=self.description,
            criteria_narrative=f"{self.criteria_narrative} Required: {required}.",
            achievement_type="Certificate",
            image=self.image,
            tags=self.tags,
            alignments=self.alignments,
            version=self.version,
            creator=creator,
        )


@dataclass(frozen=True)
class PathwayProgress:
    """Which requirements a learner's credentials satisfy, and which are missing."""

    pathway: Pathway
    satisfied: tuple[tuple[Requirement, dict[str, Any]], ...]
    missing: tuple[Requirement, ...]
    ignored: tuple[tuple[str, str], ...] = field(default=())
    """(credential id, reason) for held credentials that could not count."""

    @property
    def complete(self) -> bool:
        """True when every requirement is satisfied."""
        return not self.missing

    @property
    def components(self) -> list[dict[str, Any]]:
        """The credentials used, one per requirement, without duplicates."""
        seen: set[int] = set()
        out = []
        for _req, credential in self.satisfied:
            if id(credential) not in seen:
                seen.add(id(credential))
                out.append(credential)
        return out


def evaluate_pathway(
    pathway: Pathway,
    held: Sequence[Mapping[str, Any]],
    *,
    email: str | None = None,
    now: datetime | None = None,
    check: CredentialCheck | None = None,
) -> PathwayProgress:
    """Match the learner's held credentials to the pathway's requirements.

    Expired, not-yet-valid and non-OB credentials are ignored, as are those that do not
    identify ``email`` (when given) and those ``check`` rejects (e.g. a revoked one).
    """
    moment = now or datetime.now(UTC)
    usable: list[dict[str, Any]] = []
    ignored: list[tuple[str, str]] = []
    for credential in held:
        reason = _unusable(credential, email=email, now=moment, check=check)
        if reason is None:
            usable.append(dict(credential))
        else:
            ignored.append((str(credential.get("id", "<no id>")), reason))
    satisfied, missing = [], []
    for requirement in pathway.requirements:
        matches = [c for c in usable if requirement.matches(c)]
        if matches:
            satisfied.append((requirement, max(matches, key=lambda c: str(c.get("validFrom")))))
        else:
            missing.append(requirement)
    return PathwayProgress(pathway, tuple(satisfied), tuple(missing), tuple(ignored))


def _unusable(
    credential: Mapping[str, Any],
    *,
    email: str | None,
    now: datetime,
    check: CredentialCheck | None,
) -> str | None:
    types = credential.get("type") or []
    if not any(t in types for t in OB_CREDENTIAL_TYPES):
        return "not an Open Badges credential"
    for key in ("validFrom", "validUntil"):
        if key in credential and _parse_time(credential[key]) is None:
            return f"unreadable {key} {credential[key]!r}"
    valid_until = _parse_time(credential.get("validUntil"))
    if valid_until is not None and valid_until <= now:
        return f"expired at {credential.get('validUntil')}"
    valid_from = _parse_time(credential.get("validFrom"))
    if valid_from is not None and valid_from > now:
        return f"not valid before {credential.get('validFrom')}"
    if email is not None and not ob3.credential_identifies(credential, email):
        return "issued to someone else"
    if check is not None:
        return check(dict(credential))
    return None


def build_stacked_credential(
    *,
    progress: PathwayProgress,
    issuer: ob3.IssuerProfile,
    recipient: ob3.RecipientIdentity,
    credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    valid_from: datetime | None = None,
    expires_after_days: int | None = None,
    credential_id: str | None = None,
) -> dict[str, Any]:
    """Return the unsigned stacked OB 3.0 credential (achievementType ``Certificate``).

    Its evidence lists the component credentials; it expires no later than the first of them.
    """
    if not progress.complete:
        missing = ", ".join(r.describe() for r in progress.missing)
        raise PathwayError(f"pathway {progress.pathway.id} is not complete; still missing: {missing}")
    components = progress.components
    credential = ob3.build_credential(
        achievement=progress.pathway.achievement(creator=issuer),
        issuer=issuer,
        recipient=recipient,
        evidence=[component_evidence(c) for c in components],
        credential_status=credential_status,
        valid_from=valid_from,
        expires_after_days=expires_after_days,
        credential_id=credential_id,
    )
    ends = [t for t in (_parse_time(c.get("validUntil")) for c in components) if t is not None]
    if ends:
        own = _parse_time(credential.get("validUntil"))
        earliest = min(ends)
        if own is None or earliest < own:
            credential["validUntil"] = ob3.xsd_datetime(earliest)
    return credential


def component_evidence(credential: Mapping[str, Any]) -> ob3.EvidenceSpec:
    """Evidence pointing at one component credential (id, name, narrative)."""
    achievement = _achievement(credential)
    issuer = credential.get("issuer")
    issuer_name = issuer.get("name") or issuer.get("id") if isinstance(issuer, Mapping) else issuer
    name = credential.get("name") or achievement.get("name") or "credential"
    narrative = (
        f"Earned {achievement.get('name', 'an achievement')!s} "
        f"({achievement.get('id', 'no achievement id')}) from {issuer_name}, "
        f"valid from {credential.get('validFrom', 'unknown')}; credential {credential.get('id')}."
    )
    cred_id = credential.get("id")
    return ob3.EvidenceSpec(
        id=cred_id if isinstance(cred_id, str) and ":" in cred_id else None,
        name=str(name),
        narrative=narrative,
        genre="Credential",
    )


def build_clr(
    *,
    issuer: ob3.IssuerProfile,
    recipient: ob3.RecipientIdentity,
    credentials: Sequence[Mapping[str, Any]],
    name: str,
    description: str | None = None,
    stacked: Mapping[str, Any] | None = None,
    valid_from: datetime | None = None,
    credential_id: str | None = None,
    partial: bool | None = None,
) -> dict[str, Any]:
    """Return an unsigned CLR 2.0 ``ClrCredential`` holding ``credentials`` (and ``stacked``).

    ``achievement`` lists each distinct achievement; when ``stacked`` is given, an ``isPartOf``
    association links every component achievement to the stacked one.
    """
    if not credentials:
        raise PathwayError("a CLR needs at least one credential")
    included = [dict(c) for c in credentials] + ([dict(stacked)] if stacked else [])
    achievements: dict[str, dict[str, Any]] = {}
    for credential in included:
        achievement = _achievement(credential)
        if "id" not in achievement:
            raise PathwayError(f"credential {credential.get('id')} has no achievement id")
        achievements.setdefault(achievement["id"], achievement)
    subject: dict[str, Any] = {"type": ["ClrSubject"]}
    if recipient.subject_id:
        subject["id"] = recipient.subject_id
    subject["identifier"] = [recipient.to_json()]
    subject["achievement"] = list(achievements.values())
    subject["verifiableCredential"] = included
    if stacked:
        subject["association"] = _associations(credentials, stacked)
    clr: dict[str, Any] = {
        "@context": list(CLR_CONTEXTS),
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "ClrCredential"],
        "issuer": issuer.to_json(),
        "validFrom": ob3.xsd_datetime(valid_from or datetime.now(UTC)),
        "name": _nonempty(name, "CLR name"),
        "credentialSubject": subject,
        "credentialSchema": [{"id": CLR_SCHEMA, "type": ob3.SCHEMA_VALIDATOR}],
    }
    if description:
        clr["description"] = description
    if partial is not None:
        clr["partial"] = partial
    return clr


def _associations(
    components: Sequence[Mapping[str, Any]], stacked: Mapping[str, Any]
) -> list[dict[str, Any]]:
    target = _achievement(stacked).get("id")
    sources = dict.fromkeys(str(_achievement(c).get("id")) for c in components)
    return [
        {"type": "Association", "associationType": "isPartOf", "sourceId": s, "targetId": target}
        for s in sources
        if s != target
    ]


def _achievement(credential: Mapping[str, Any]) -> dict[str, Any]:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):
        subject = subject[0] if subject else None
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    return dict(achievement) if isinstance(achievement, Mapping) else {}


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _nonempty(value: str, what: str) -> str:
    if not value or not value.strip():
        raise PathwayError(f"{what} must be a non-empty string")
    return value
