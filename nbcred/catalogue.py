"""The catalogue: every assessment folder and pathway under one root, and their sample submissions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from grader.assessment import SPEC_FILE, Assessment, load_assessment
from grader.errors import AssessmentError
from grader.spec import PathwaySpec
from nbcred.errors import ConfigurationError

PATHWAYS = "pathways"


@dataclass(frozen=True)
class Catalogue:
    """Loaded assessments (by id) and pathways."""

    root: Path
    assessments: dict[str, Assessment]
    pathways: list[PathwaySpec]


def assessment_folders(root: Path) -> list[Path]:
    """Sub-folders of ``root`` that hold an assessment (assessment.yaml or source notebooks)."""
    return sorted(
        p for p in root.iterdir()
        if p.is_dir() and p.name != PATHWAYS and ((p / SPEC_FILE).exists() or (p / "source").is_dir())
    )


def load_catalogue(root: Path) -> Catalogue:
    """Load every assessment and pathway; pathways must name assessments that exist."""
    if not root.is_dir():
        raise ConfigurationError(
            f"the catalogue folder {str(root.resolve())!r} does not exist (setting NBCRED_CATALOGUE, "
            f"now {str(root)!r}): set NBCRED_CATALOGUE to the folder holding the assessments, one "
            "sub-folder each with its assessment.yaml")
    assessments = {a.id: a for a in (load_assessment(p) for p in assessment_folders(root))}
    pathways = []
    for path in sorted((root / PATHWAYS).glob("*.yaml")) if (root / PATHWAYS).is_dir() else []:
        pathway = load_pathway(path)
        unknown = [r for r in pathway.requires if r not in assessments]
        if unknown:
            raise AssessmentError(
                f"pathway requires unknown assessments: {', '.join(unknown)}", path=str(path),
                hint=f"use ids from the catalogue: {', '.join(sorted(assessments))}",
            )
        pathways.append(pathway)
    return Catalogue(root, assessments, pathways)


def load_pathway(path: Path) -> PathwaySpec:
    """Read and validate one pathway YAML file."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        return PathwaySpec.model_validate(raw)
    except (yaml.YAMLError, ValidationError) as exc:
        raise AssessmentError(f"invalid pathway: {exc}", path=str(path)) from exc


def sample_submissions(submissions_root: Path, assessment_id: str) -> list[Path]:
    """The learner folders under ``<submissions_root>/<assessment id>/``."""
    folder = submissions_root / assessment_id
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
