"""From an assessment and its grading to Open Badges 3.0 inputs; the files written per credential."""

from __future__ import annotations

import base64
import html
import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from credentials import ob3
from credentials.baking import bake
from grader.assessment import Assessment
from grader.results import GradeResult
from grader.spec import Competency
from nbcred.issuance.identity import write_json
from nbcred.settings import Settings
from nbcred.store.models import Learner

DATA_URI_LIMIT = 16 * 1024
"""Badge images up to this size are embedded as ``data:`` URIs; larger ones are linked."""
MEDIA_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}


def achievement_id(settings: Settings, assessment_id: str, version: str) -> str:
    """The public id of an assessment version's achievement."""
    return f"{settings.public_base_url.rstrip('/')}/achievements/{assessment_id}/{version}"


def learner_email(session: Session, settings: Settings, learner: str) -> str:
    """The learner's recorded email, else ``<learner>@<learner_email_domain>``."""
    row = session.get(Learner, learner)
    if row is not None and row.email:
        return row.email
    local = "".join(c if c.isalnum() or c in "._+-" else "-" for c in learner) or "learner"
    return f"{local}@{settings.learner_email_domain}"


def recipient(settings: Settings, email: str) -> ob3.RecipientIdentity:
    """The learner's hashed email identity: a fresh random salt per credential, unless the
    deployment sets one ``identity_salt`` for all (which makes a learner's credentials linkable)."""
    if settings.identity_salt is None or not settings.identity_salt.get_secret_value():
        return ob3.RecipientIdentity(email=email)
    return ob3.RecipientIdentity(email=email, salt=settings.identity_salt.get_secret_value())


def _alignments(competency: Competency) -> tuple[ob3.AlignmentSpec, ...]:
    return tuple(
        ob3.AlignmentSpec(target_name=a.target_name, target_url=str(a.target_url),
                          target_framework=a.target_framework, target_code=a.target_code,
                          target_description=a.target_description)
        for a in competency.alignment
    )


def _minimum(assessment: Assessment, competency: Competency) -> float:
    if competency.min_score is not None:
        return competency.min_score
    return assessment.spec.pass_rule.competency_minimum


def image_file(assessment: Assessment) -> Path | None:
    """The badge image in the assessment folder: ``badge.image``, else ``badge.svg``/``badge.png``."""
    badge = assessment.spec.badge
    names = [badge.image] if badge is not None and badge.image else ["badge.svg", "badge.png"]
    for name in names:
        if name and not name.startswith(("http://", "https://")) and (assessment.root / name).is_file():
            return assessment.root / name
    return None


def image_spec(
    settings: Settings, path: Path | None, public_prefix: str, caption: str
) -> ob3.ImageSpec | None:
    """A ``data:`` URI for a small image, else its URL (the file is copied under ``<home>/public``)."""
    if path is None or path.suffix.lower() not in MEDIA_TYPES:
        return None
    content = path.read_bytes()
    if len(content) <= DATA_URI_LIMIT:
        encoded = base64.b64encode(content).decode("ascii")
        return ob3.ImageSpec(id=f"data:{MEDIA_TYPES[path.suffix.lower()]};base64,{encoded}", caption=caption)
    target = settings.home / "public" / public_prefix / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, target)
    return ob3.ImageSpec(id=f"{settings.public_base_url.rstrip('/')}/{public_prefix}/{path.name}",
                         caption=caption)


def achievement_spec(settings: Settings, assessment: Assessment) -> ob3.AchievementSpec:
    """The OB 3.0 achievement an assessment version's badge describes."""
    spec, badge = assessment.spec, assessment.spec.badge
    if badge is None:
        raise ValueError(f"assessment {spec.id} has no badge")
    base = achievement_id(settings, spec.id, spec.version)
    badge_url = image_spec(settings, image_file(assessment),
                           f"achievements/{spec.id}/{spec.version}", badge.name)
    return ob3.AchievementSpec(
        id=base, name=badge.name, description=badge.description, criteria_narrative=badge.criteria,
        achievement_type=badge.achievement_type, image=badge_url, tags=tuple(badge.tags),
        alignments=tuple(a for c in spec.competencies for a in _alignments(c)),
        result_descriptions=tuple(
            ob3.ResultDescriptionSpec(id=f"{base}#{c.id}", name=c.name, result_type="Percent",
                                      required_value=round(_minimum(assessment, c) * 100, 2),
                                      alignments=_alignments(c))
            for c in spec.competencies
        ),
        version=spec.version, assessment_id=spec.id,
    )


def results(result: GradeResult, achievement: ob3.AchievementSpec) -> list[ob3.ResultSpec]:
    """One percent result per competency the achievement describes."""
    scores = {c.id: c for c in result.competencies}
    out = []
    for description in achievement.result_descriptions:
        score = scores.get(description.id.rsplit("#", 1)[-1])
        if score is not None:
            percent = 100 * score.score / score.max_score if score.max_score > 0 else 0.0
            out.append(ob3.ResultSpec(result_description=description.id, value=min(100.0, percent)))
    return out


def evidence(result: GradeResult) -> ob3.AssessmentEvidence:
    """The graded submission: score, maximum, competencies passed and content hash."""
    return ob3.AssessmentEvidence(
        assessment_id=result.assessment, assessment_version=result.assessment_version,
        score=result.score, max_score=result.max_score,
        competencies_passed=tuple(c.id for c in result.competencies if c.passed),
        submission_sha256=result.content_hash,
    )


def generated_svg(title: str) -> bytes:
    """A plain round badge with the achievement's name, for achievements without an image."""
    name = html.escape(title[:40])
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">'
        '<circle cx="128" cy="128" r="120" fill="#1f4e79"/>'
        '<circle cx="128" cy="128" r="104" fill="none" stroke="#f2c14e" stroke-width="6"/>'
        f'<text x="128" y="136" font-family="sans-serif" font-size="16" fill="#fff" '
        f'text-anchor="middle">{name}</text></svg>\n'
    ).encode()


def write_credential_files(
    folder: Path, stem: str, document: dict[str, Any], image: Path | None, *, overwrite: bool = False
) -> list[Path]:
    """Write ``<stem>.json`` and a baked ``<stem>.svg``/``.png`` badge (unless they exist)."""
    json_path = folder / f"{stem}.json"
    suffix = image.suffix.lower() if image is not None and image.suffix.lower() in MEDIA_TYPES else ".svg"
    badge_path = folder / f"{stem}{suffix}"
    if json_path.exists() and badge_path.exists() and not overwrite:
        return []
    write_json(json_path, document)
    name = str(document.get("name") or "Badge")
    usable = image is not None and image.suffix.lower() in MEDIA_TYPES
    picture = image.read_bytes() if image is not None and usable else generated_svg(name)
    badge_path.write_bytes(bake(document, picture))
    return [json_path, badge_path]
