"""The catalogue as the service shows it: assessments, and each one's student version as a zip."""

from __future__ import annotations

import io
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.release import write_release
from nbcred.service.context import ServiceContext
from nbcred.service.submissions import find_assessment

_ZIPS: dict[tuple[str, str], bytes] = {}


@dataclass(frozen=True)
class AssessmentInfo:
    """``{"id","title","version","notebooks","attempts_allowed","has_badge"}`` plus a description."""

    id: str
    title: str
    version: str
    notebooks: tuple[str, ...]
    attempts_allowed: int | None
    has_badge: bool
    badge_name: str | None
    competencies: tuple[tuple[str, str], ...]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "version": self.version,
                "notebooks": list(self.notebooks), "attempts_allowed": self.attempts_allowed,
                "has_badge": self.has_badge}


def list_assessments(ctx: ServiceContext) -> list[AssessmentInfo]:
    """Every assessment of the catalogue, by id."""
    return [assessment_info(ctx, a) for a in sorted(ctx.catalogue.assessments)]


def assessment_info(ctx: ServiceContext, assessment_id: str) -> AssessmentInfo:
    """One assessment as listed."""
    a = find_assessment(ctx, assessment_id)
    spec = a.spec
    return AssessmentInfo(
        id=a.id, title=spec.title, version=spec.version,
        notebooks=tuple(nb.name for nb in a.notebooks), attempts_allowed=spec.attempts,
        has_badge=spec.badge is not None, badge_name=spec.badge.name if spec.badge else None,
        competencies=tuple((c.id, c.name) for c in spec.competencies),
    )


def release_zip(ctx: ServiceContext, assessment_id: str) -> tuple[str, bytes]:
    """The student version (notebooks without solutions or hidden tests, plus data files) zipped."""
    assessment = find_assessment(ctx, assessment_id)
    key = (assessment.id, assessment.fingerprint)
    if key not in _ZIPS:
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(scratch) / assessment.id
            files = write_release(assessment, folder)
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(files):
                    archive.write(path, f"{assessment.id}/{path.relative_to(folder).as_posix()}")
        _ZIPS[key] = buffer.getvalue()
    return f"{assessment.id}.zip", _ZIPS[key]
