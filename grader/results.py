"""What grading produces: plain dataclasses, JSON-ready through :func:`as_json`."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class CellScore:
    """The score of one grade (or task) cell, with nbgrader's semantics."""

    notebook: str
    cell: str
    score: float
    max_score: float
    kind: str  # "autograded" | "manual" | "task"
    needs_manual: bool


@dataclass(frozen=True)
class CompetencyScore:
    """A competency's weighted score and whether it reached its minimum."""

    id: str
    name: str
    score: float
    max_score: float
    minimum: float
    passed: bool


@dataclass(frozen=True)
class TestFeedback:
    """What the learner may see about one test cell: never hidden test code."""

    notebook: str
    cell: str
    source: str  # the released (visible) test code
    status: str  # "passed" | "failed" | "partial" | "not run" | "needs manual grading"
    message: str  # error name and message, or "" — withheld when the cell has hidden tests
    score: float
    max_score: float
    competency: str | None


@dataclass
class GradeResult:
    """The outcome of grading one submission."""

    learner: str
    assessment: str
    assessment_version: str
    score: float
    max_score: float
    passed: bool
    cells: list[CellScore]
    competencies: list[CompetencyScore]
    tampered_cells: list[str]
    errors: list[str]
    content_hash: str
    feedback: str | None = None
    needs_manual: bool = False
    attempt: int | None = None
    credential: str | None = None
    tests: list[TestFeedback] = field(default_factory=list)
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The documented JSON-lines record (see README, "Grading contract")."""
        return {
            "learner": self.learner,
            "assessment": self.assessment,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "cells": [asdict(c) for c in self.cells],
            "competencies": [
                {"id": c.id, "score": c.score, "max_score": c.max_score, "passed": c.passed}
                for c in self.competencies
            ],
            "tampered_cells": self.tampered_cells,
            "feedback": self.feedback,
            "errors": self.errors,
            "assessment_version": self.assessment_version,
            "content_hash": self.content_hash,
            "needs_manual": self.needs_manual,
            "attempt": self.attempt,
            "credential": self.credential,
        }
