"""Open Badges 3.0 documents (on the W3C Verifiable Credentials Data Model 2.0) from typed inputs.

Nothing here knows about grading: callers describe an achievement, an issuer, a recipient, results
and evidence with the dataclasses below, and get plain JSON-LD dictionaries back (unsigned; sign
them with ``credentials.proof.sign``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from credentials.errors import DocumentError

VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
OB_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS_CONTEXT = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
OB_CONTEXTS = [VC_V2_CONTEXT, OB_CONTEXT, OB_EXTENSIONS_CONTEXT]
"""VC 2.0 and OB 3.0.3, plus 1EdTech's extensions context, which defines the schema validator
type: without it JSON-LD expansion would drop ``credentialSchema.type`` and the proof would not
cover it."""
OB_SCHEMA = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
SCHEMA_VALIDATOR = "1EdTechJsonSchemaValidator2019"

ACHIEVEMENT_TYPES = frozenset(
    """Achievement ApprenticeshipCertificate Assessment Assignment AssociateDegree Award Badge
    BachelorDegree Certificate CertificateOfCompletion Certification CommunityService Competency
    Course CoCurricular Degree Diploma DoctoralDegree Fieldwork GeneralEducationDevelopment
    JourneymanCertificate LearningProgram License Membership ProfessionalDoctorate
    QualityAssuranceCredential MasterCertificate MasterDegree MicroCredential ResearchDoctorate
    SecondarySchoolDiploma""".split()  # noqa: SIM905
)
"""The AchievementType enumeration of OB 3.0 (extensions use the ``ext:`` prefix)."""

RESULT_STATUSES = frozenset(
    {"Completed", "Enrolled", "Failed", "InProgress", "OnHold", "Provisional", "Withdrew"}
)
ResultType = Literal["Percent", "Status"]
AlignmentTargetType = Literal[
    "ceasn:Competency", "ceterms:Credential", "CFItem", "CFRubric", "CFRubricCriterion",
    "CFRubricCriterionLevel", "CTDL",
]  # fmt: skip

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- inputs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerProfile:
    """The issuing organisation: ``id`` is its DID (or URL)."""

    id: str
    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the OB 3.0 ``Profile``."""
        _uri(self.id, "issuer id")
        _text(self.name, "issuer name")
        profile: dict[str, Any] = {"id": self.id, "type": ["Profile"], "name": self.name}
        if self.url is not None:
            _uri(self.url, "issuer url")
            profile["url"] = self.url
        if self.email is not None:
            _email(self.email)
            profile["email"] = self.email
        if self.description:
            profile["description"] = self.description
        return profile


@dataclass(frozen=True)
class AlignmentSpec:
    """An alignment of an achievement to a node of a competency framework."""

    target_name: str
    target_url: str
    target_framework: str | None = None
    target_code: str | None = None
    target_type: AlignmentTargetType | None = None
    target_description: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the OB 3.0 ``Alignment``."""
        _text(self.target_name, "alignment targetName")
        _uri(self.target_url, "alignment targetUrl")
        out: dict[str, Any] = {
            "type": ["Alignment"],
            "targetName": self.target_name,
            "targetUrl": self.target_url,
        }
        optional = {
            "targetDescription": self.target_description,
            "targetFramework": self.target_framework,
            "targetCode": self.target_code,
            "targetType": self.target_type,
        }
        out.update({k: v for k, v in optional.items() if v})
        return out


@dataclass(frozen=True)
class ResultDescriptionSpec:
    """One competency assessed for the achievement and how its result is expressed.

    ``Percent`` results carry a value 0-100 and ``required_value`` is the pass mark;
    ``Status`` results carry ``Completed`` or ``Failed``.
    """

    id: str
    name: str
    result_type: ResultType = "Percent"
    required_value: float | None = None
    alignments: tuple[AlignmentSpec, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the OB 3.0 ``ResultDescription``."""
        _uri(self.id, "resultDescription id")
        _text(self.name, "resultDescription name")
        out: dict[str, Any] = {
            "id": self.id,
            "type": ["ResultDescription"],
            "name": self.name,
            "resultType": self.result_type,
        }
        if self.alignments:
            out["alignment"] = [a.to_json() for a in self.alignments]
        if self.result_type == "Percent":
            out["valueMin"] = "0"
            out["valueMax"] = "100"
            if self.required_value is not None:
                out["requiredValue"] = _percent(self.required_value, "requiredValue")
        elif self.result_type == "Status":
            out["allowedValue"] = ["Completed", "Failed"]
            out["requiredValue"] = "Completed"
        else:
            raise DocumentError(f"resultType must be 'Percent' or 'Status', not {self.result_type!r}")
        return out


@dataclass(frozen=True)
class ImageSpec:
    """A badge image: an https URL or a ``data:`` URI."""

    id: str
    caption: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the OB 3.0 ``Image``."""
        _uri(self.id, "image id")
        out: dict[str, Any] = {"id": self.id, "type": "Image"}
        if self.caption:
            out["caption"] = self.caption
        return out


@dataclass(frozen=True)
class AchievementSpec:
    """What a badge certifies (OB 3.0 ``Achievement``)."""

    id: str
    name: str
    description: str
    criteria_narrative: str
    achievement_type: str = "Badge"
    image: ImageSpec | None = None
    tags: tuple[str, ...] = ()
    alignments: tuple[AlignmentSpec, ...] = ()
    result_descriptions: tuple[ResultDescriptionSpec, ...] = ()
    version: str | None = None
    creator: IssuerProfile | None = None
    human_code: str | None = None
    assessment_id: str | None = None
    """An identifier of the assessment behind the badge (published as ``otherIdentifier``)."""


@dataclass(frozen=True)
class RecipientIdentity:
    """The learner, identified by a salted SHA-256 hash of their email address."""

    email: str
    salt: str = field(default_factory=lambda: secrets.token_hex(16))
    subject_id: str | None = None
    """Optional DID (or other URI) of the learner."""

    def to_json(self) -> dict[str, Any]:
        """Return the OB 3.0 ``IdentityObject``."""
        return {
            "type": "IdentityObject",
            "identityHash": hash_identity(normalize_email(self.email), self.salt),
            "identityType": "emailAddress",
            "hashed": True,
            "salt": self.salt,
        }


@dataclass(frozen=True)
class ResultSpec:
    """The learner's result for one ``ResultDescriptionSpec`` (by its id)."""

    result_description: str
    value: float | None = None
    status: str | None = None


@dataclass(frozen=True)
class EvidenceSpec:
    """Free-form evidence: an id (URL/URN) and/or a narrative."""

    id: str | None = None
    name: str | None = None
    narrative: str | None = None
    description: str | None = None
    genre: str | None = None
    sha256: str | None = None
    """Hex SHA-256 of the resource at ``id``, published as ``digestMultibase`` (needs ``id``)."""

    def to_json(self) -> dict[str, Any]:
        """Return the OB 3.0 ``Evidence``."""
        if not (self.id or self.narrative):
            raise DocumentError("evidence needs an id (URL) or a narrative")
        if self.sha256 and not self.id:
            raise DocumentError(
                "evidence with a digest (sha256) needs the id (URL) of what was hashed, "
                "so a verifier can fetch it and compare; give id= or drop sha256"
            )
        out: dict[str, Any] = {"type": ["Evidence"]}
        if self.id:
            _uri(self.id, "evidence id")
            out["id"] = self.id
        fields = {
            "name": self.name,
            "narrative": self.narrative,
            "description": self.description,
            "genre": self.genre,
        }
        out.update({k: v for k, v in fields.items() if v})
        if self.sha256:
            out["digestMultibase"] = sha256_multibase(self.sha256)
        return out


@dataclass(frozen=True)
class AssessmentEvidence:
    """Evidence of an assessed submission: score, competencies passed, content hash."""

    assessment_id: str
    assessment_version: str
    score: float
    max_score: float
    competencies_passed: tuple[str, ...]
    submission_sha256: str
    submission_id: str | None = None
    """A URL or URN of the graded submission (e.g. ``urn:uuid:...``), published as the id."""
    submission_url: str | None = None
    """A URL serving exactly the bytes whose SHA-256 is ``submission_sha256``. Only then is the
    digest published as ``digestMultibase`` (with this URL as the evidence id); otherwise the
    SHA-256 appears in the narrative only."""

    def to_spec(self) -> EvidenceSpec:
        """Return the generic evidence carrying this assessment's facts as a narrative."""
        if self.max_score <= 0 or not 0 <= self.score <= self.max_score:
            raise DocumentError(
                f"score must be between 0 and max_score (> 0); got {self.score}/{self.max_score}"
            )
        passed = ", ".join(self.competencies_passed) or "none"
        narrative = (
            f"Assessment {self.assessment_id} (version {self.assessment_version}): "
            f"scored {_number(self.score)} of {_number(self.max_score)}. "
            f"Competencies passed: {passed}. "
            f"Submission SHA-256: {self.submission_sha256}."
        )
        return EvidenceSpec(
            id=self.submission_url or self.submission_id,
            name=f"Graded submission for {self.assessment_id}",
            narrative=narrative,
            genre="Assessment",
            sha256=self.submission_sha256 if self.submission_url else None,
        )


# --- identity hashing ----------------------------------------------------------------------------


def normalize_email(email: str) -> str:
    """Trim and lower-case an email address (issuance hashes the normalised form)."""
    _email(email)
    return email.strip().lower()


def hash_identity(email: str, salt: str) -> str:
    """Return the OB 3.0 ``identityHash``: ``"sha256$" + hex(sha256(email + salt))``."""
    digest = hashlib.sha256((email + salt).encode("utf-8")).hexdigest()
    return f"sha256${digest}"


def identity_matches(identity: Mapping[str, Any], email: str) -> bool:
    """True if an ``IdentityObject`` identifies ``email`` (as given or normalised)."""
    if identity.get("identityType") != "emailAddress":
        return False
    stored = identity.get("identityHash")
    if not isinstance(stored, str):
        return False
    candidates = {email, email.strip().lower()}
    if not identity.get("hashed", False):
        return any(hmac.compare_digest(stored.lower(), c.lower()) for c in candidates)
    salt = identity.get("salt") or ""
    if not isinstance(salt, str) or not stored.lower().startswith("sha256$"):
        return False
    return any(hmac.compare_digest(stored.lower(), hash_identity(c, salt).lower()) for c in candidates)


def credential_identifies(credential: Mapping[str, Any], email: str) -> bool:
    """True if any ``credentialSubject.identifier`` of the credential identifies ``email``."""
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping):
        return False
    identifiers = subject.get("identifier") or []
    return any(isinstance(i, Mapping) and identity_matches(i, email) for i in identifiers)


def subject_name(credential: Mapping[str, Any]) -> str | None:
    """The earner's name the credential states (an ``identifier`` of ``identityType`` "name")."""
    subject = credential.get("credentialSubject")
    identifiers = subject.get("identifier") if isinstance(subject, Mapping) else None
    for entry in identifiers if isinstance(identifiers, list) else []:
        if (isinstance(entry, Mapping) and entry.get("identityType") == "name"
                and entry.get("hashed") is False and isinstance(entry.get("identityHash"), str)):
            return str(entry["identityHash"])
    return None


def with_subject_name(credential: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    """An unsigned copy of ``credential`` stating the earner's ``name`` (None: stating none).

    OB 3.0 puts a plain name in an ``IdentityObject`` with ``identityType`` "name" and
    ``hashed`` false; the proof is dropped, the caller signs the copy again.
    """
    copy = {k: v for k, v in credential.items() if k != "proof"}
    subject = dict(copy.get("credentialSubject") or {})
    kept = [dict(i) for i in subject.get("identifier") or []
            if not (isinstance(i, Mapping) and i.get("identityType") == "name")]
    if name is not None:
        _text(name, "earner name")
        kept.append({"type": "IdentityObject", "identityHash": name, "identityType": "name",
                     "hashed": False})
    subject["identifier"] = kept
    copy["credentialSubject"] = subject
    return copy


def sha256_multibase(hex_digest: str) -> str:
    """Return a VC 2.0 ``digestMultibase`` (base64url multihash) for a hex SHA-256 digest."""
    if not re.fullmatch(r"[0-9a-fA-F]{64}", hex_digest or ""):
        raise DocumentError(f"expected a 64-character hex SHA-256 digest, got {hex_digest!r}")
    multihash = bytes([0x12, 0x20]) + bytes.fromhex(hex_digest)
    return "u" + base64.urlsafe_b64encode(multihash).rstrip(b"=").decode("ascii")


# --- builders ------------------------------------------------------------------------------------


def build_achievement(spec: AchievementSpec) -> dict[str, Any]:
    """Return the OB 3.0 ``Achievement`` for ``spec``."""
    _uri(spec.id, "achievement id")
    _text(spec.name, "achievement name")
    _text(spec.description, "achievement description")
    _text(spec.criteria_narrative, "criteria narrative")
    if spec.achievement_type not in ACHIEVEMENT_TYPES and not spec.achievement_type.startswith("ext:"):
        raise DocumentError(
            f"achievementType {spec.achievement_type!r} is not an OB 3.0 AchievementType; "
            "use e.g. 'Badge', 'Competency' or 'Certificate' (or an 'ext:' extension)"
        )
    _unique([r.id for r in spec.result_descriptions], "resultDescription ids")
    achievement: dict[str, Any] = {
        "id": spec.id,
        "type": ["Achievement"],
        "achievementType": spec.achievement_type,
        "name": spec.name,
        "description": spec.description,
        "criteria": {"narrative": spec.criteria_narrative},
    }
    if spec.image is not None:
        achievement["image"] = spec.image.to_json()
    if spec.tags:
        achievement["tag"] = [_text(t, "tag") for t in spec.tags]
    if spec.alignments:
        achievement["alignment"] = [a.to_json() for a in spec.alignments]
    if spec.result_descriptions:
        achievement["resultDescription"] = [r.to_json() for r in spec.result_descriptions]
    if spec.version:
        achievement["version"] = spec.version
    if spec.human_code:
        achievement["humanCode"] = spec.human_code
    if spec.assessment_id:
        achievement["otherIdentifier"] = [
            {"type": "IdentifierEntry", "identifier": spec.assessment_id,
             "identifierType": "systemId"}
        ]  # fmt: skip
    if spec.creator is not None:
        achievement["creator"] = spec.creator.to_json()
    return achievement


def build_result(spec: ResultSpec, description: ResultDescriptionSpec) -> dict[str, Any]:
    """Return the OB 3.0 ``Result`` for ``spec``, checked against its description."""
    result: dict[str, Any] = {"type": ["Result"], "resultDescription": description.id}
    if description.result_type == "Percent":
        if spec.value is None:
            raise DocumentError(f"result for {description.id} needs a value (0-100)")
        result["value"] = _percent(spec.value, "result value")
        if spec.status is not None:
            result["status"] = _status(spec.status)
    else:
        if spec.status is None:
            raise DocumentError(f"result for {description.id} needs a status (e.g. 'Completed')")
        result["status"] = _status(spec.status)
    return result


def build_credential(
    *,
    achievement: AchievementSpec,
    issuer: IssuerProfile,
    recipient: RecipientIdentity,
    results: Sequence[ResultSpec] = (),
    evidence: Sequence[EvidenceSpec | AssessmentEvidence] = (),
    credential_status: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    valid_from: datetime | None = None,
    expires_after_days: int | None = None,
    credential_id: str | None = None,
    name: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    """Return an unsigned OB 3.0 ``OpenBadgeCredential`` awarding ``achievement``."""
    issued = valid_from or datetime.now(UTC)
    credential: dict[str, Any] = {
        "@context": list(OB_CONTEXTS),
        "id": credential_id or f"urn:uuid:{uuid.uuid4()}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": issuer.to_json(),
        "validFrom": xsd_datetime(issued),
        "name": name or achievement.name,
        "credentialSubject": _subject(achievement, recipient, results),
        "credentialSchema": [{"id": OB_SCHEMA, "type": SCHEMA_VALIDATOR}],
    }
    _uri(credential["id"], "credential id")
    if description:
        credential["description"] = description
    if expires_after_days is not None:
        if expires_after_days <= 0:
            raise DocumentError("expires_after_days must be positive (or None: never expires)")
        credential["validUntil"] = xsd_datetime(issued + timedelta(days=expires_after_days))
    if evidence:
        specs = [e.to_spec() if isinstance(e, AssessmentEvidence) else e for e in evidence]
        credential["evidence"] = [e.to_json() for e in specs]
    if credential_status is not None:
        credential["credentialStatus"] = _status_entry(credential_status)
    return credential


def _subject(
    achievement: AchievementSpec, recipient: RecipientIdentity, results: Sequence[ResultSpec]
) -> dict[str, Any]:
    subject: dict[str, Any] = {"type": ["AchievementSubject"]}
    if recipient.subject_id:
        _uri(recipient.subject_id, "recipient subject_id")
        subject["id"] = recipient.subject_id
    subject["identifier"] = [recipient.to_json()]
    subject["achievement"] = build_achievement(achievement)
    descriptions = {d.id: d for d in achievement.result_descriptions}
    _unique([r.result_description for r in results], "results (one per resultDescription)")
    built = []
    for result in results:
        if result.result_description not in descriptions:
            raise DocumentError(
                f"result refers to unknown resultDescription {result.result_description!r}; "
                f"known: {sorted(descriptions)}"
            )
        built.append(build_result(result, descriptions[result.result_description]))
    if built:
        subject["result"] = built
    return subject


def _status_entry(status: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    entries = [status] if isinstance(status, Mapping) else list(status)
    if len(entries) != 1:
        raise DocumentError(
            f"a credential carries exactly one credentialStatus (Open Badges 3.0), got {len(entries)}; "
            "use one entry, e.g. a 'message' status list entry (StatusList(purpose='message').entry()) "
            "that covers both revocation and suspension"
        )
    entry = entries[0]
    for key in ("type", "statusPurpose", "statusListIndex", "statusListCredential"):
        if key not in entry:
            raise DocumentError(f"credentialStatus entry lacks {key!r}; build it with StatusList.entry()")
    return dict(entry)


# --- small validators ----------------------------------------------------------------------------


def xsd_datetime(moment: datetime) -> str:
    """Format a timezone-aware datetime as an XSD dateTime in UTC (``...Z``)."""
    if moment.tzinfo is None:
        raise DocumentError("datetimes must be timezone-aware (e.g. datetime.now(UTC))")
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _uri(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _URI.match(value):
        raise DocumentError(f"{what} must be an absolute URI (https://..., did:..., urn:...), got {value!r}")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise DocumentError(f"{what} must be a non-empty string")
    return value


def _email(value: Any) -> None:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise DocumentError(f"{value!r} is not an email address")


def _unique(values: Sequence[str], what: str) -> None:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise DocumentError(f"{what} must be unique; duplicated: {duplicates}")


def _number(value: float) -> str:
    return f"{value:g}"


def _percent(value: float, what: str) -> str:
    if not isinstance(value, int | float) or not 0 <= value <= 100:
        raise DocumentError(f"{what} must be a number between 0 and 100, got {value!r}")
    return _number(round(float(value), 2))


def _status(value: str) -> str:
    if value not in RESULT_STATUSES:
        raise DocumentError(f"result status must be one of {sorted(RESULT_STATUSES)}, got {value!r}")
    return value
