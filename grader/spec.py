"""The ``assessment.yaml`` schema: what nbgrader's cell metadata does not say.

Each model forbids unknown keys, so a typo is an error that names the field, never a silent
default. Fractions (thresholds, minimums) are of the points available, between 0 and 1.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator, model_validator

SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")

#: Pass threshold used for a plain nbgrader assignment folder with no ``assessment.yaml``.
DEFAULT_PASS_THRESHOLD = 0.6
#: Default fraction of its points each competency needs.
DEFAULT_COMPETENCY_MINIMUM = 0.5


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _slug(value: str) -> str:
    if not SLUG.match(value):
        raise ValueError(
            f"{value!r} is not an id: use letters, digits, '.', '_' or '-' (no spaces), "
            "starting with a letter or digit"
        )
    return value


class Alignment(_Strict):
    """An alignment of a competency to an external framework (OB3 ``Alignment``)."""

    target_name: str
    target_url: HttpUrl
    target_framework: str | None = None
    target_code: str | None = None
    target_description: str | None = None


class Competency(_Strict):
    """A named skill the assessment evidences."""

    id: str
    name: str
    description: str = ""
    alignment: list[Alignment] = Field(default_factory=list)
    min_score: float | None = Field(None, ge=0.0, le=1.0)

    _check_id = field_validator("id")(classmethod(lambda cls, v: _slug(v)))


class RubricEntry(_Strict):
    """Maps one grade cell (``<notebook stem>/<grade_id>``) to the competency it evidences."""

    cell: str
    competency: str
    weight: float = Field(1.0, gt=0.0)

    @field_validator("cell")
    @classmethod
    def _cell_has_notebook(cls, value: str) -> str:
        if value.count("/") != 1 or not all(value.split("/")):
            raise ValueError(
                f"{value!r} must be '<notebook stem>/<grade_id>', e.g. 'cleaning/test_fill_missing'"
            )
        return value


class PassRule(_Strict):
    """When an attempt passes: an overall fraction and a minimum per competency.

    With ``wait_for_manual_grading`` an attempt with cells still needing manual grading does not
    pass (so no credential is issued) until an instructor has graded every one of them.
    """

    threshold: float = Field(DEFAULT_PASS_THRESHOLD, ge=0.0, le=1.0)
    competency_minimum: float = Field(DEFAULT_COMPETENCY_MINIMUM, ge=0.0, le=1.0)
    wait_for_manual_grading: bool = False


MODULE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class ExecutionLimits(_Strict):
    """Resource limits for running one learner notebook, and the modules its kernel preloads.

    ``preload`` (modules the pre-forked kernel template imports, see :mod:`grader.preload`) is a
    speed hint that changes no grade, so it is left out of the assessment's fingerprint.
    """

    cell_timeout: float = Field(30.0, gt=0)
    notebook_timeout: float = Field(300.0, gt=0)
    memory_mb: int = Field(1024, ge=64)
    cpu_seconds: int = Field(120, ge=1)
    max_processes: int = Field(64, ge=1)
    max_open_files: int = Field(256, ge=16)
    max_output_bytes: int = Field(5_000_000, ge=1024)
    preload: tuple[str, ...] = Field((), exclude=True)

    @field_validator("preload")
    @classmethod
    def _module_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        wrong = [name for name in value if not MODULE.match(name)]
        if wrong:
            raise ValueError(f"{', '.join(map(repr, wrong))}: not a module name; use dotted "
                             "Python module names such as 'scipy.stats'")
        return value


class Badge(_Strict):
    """The badge (OB3 achievement) that passing earns."""

    name: str
    description: str
    criteria: str
    image: str | None = None
    achievement_type: Literal["Competency", "Badge"] = "Badge"
    tags: list[str] = Field(default_factory=list)
    expires_after_days: int | None = Field(None, ge=1)


class AssessmentSpec(_Strict):
    """The whole ``assessment.yaml``."""

    id: str
    title: str
    version: str = "1"
    description: str = ""
    notebooks: list[str] | None = None
    competencies: list[Competency] = Field(min_length=1)
    rubric: list[RubricEntry] = Field(default_factory=list)
    pass_rule: PassRule = Field(default_factory=PassRule, alias="pass")
    attempts: int | None = Field(None, ge=1)
    due: datetime | None = None  # submissions after it are refused (per-learner extensions aside)
    execution: ExecutionLimits = Field(default_factory=ExecutionLimits)
    parameters: dict[str, Any] = Field(default_factory=dict)
    seed_parameter: str | None = None
    badge: Badge | None = None

    _check_id = field_validator("id")(classmethod(lambda cls, v: _slug(v)))

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> str:
        return str(value)

    @model_validator(mode="after")
    def _references_resolve(self) -> AssessmentSpec:
        ids = [c.id for c in self.competencies]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"competency ids must be unique; repeated: {', '.join(duplicated)}")
        for entry in self.rubric:
            if entry.competency not in ids:
                raise ValueError(
                    f"rubric cell {entry.cell!r} names competency {entry.competency!r}, "
                    f"which is not declared; declared: {', '.join(ids)}"
                )
        cells = [e.cell for e in self.rubric]
        repeated = sorted({c for c in cells if cells.count(c) > 1})
        if repeated:
            raise ValueError(f"each rubric cell may appear once; repeated: {', '.join(repeated)}")
        return self


class PathwaySpec(_Strict):
    """A stacked credential: the badges (assessment ids) it requires."""

    id: str
    name: str
    description: str
    criteria: str
    requires: list[str] = Field(min_length=1)
    image: str | None = None

    _check_id = field_validator("id")(classmethod(lambda cls, v: _slug(v)))
