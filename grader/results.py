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
    status: str  # "passed" | "failed" | "partial" | "not run" | "needs manual grading" | ...
    message: str  # what went wrong, or ""; never quotes a hidden test (see grader.failure)
    score: float
    max_score: float
    competency: str | None
    origin: str = ""  # where it failed: "visible" | "learner" | "hidden" | "unknown" | ""
    location: str = ""  # e.g. "test_squares, line 2", "your cell squares, line 3"
    line: str = ""  # the failing line (a visible test line or the learner's own), or ""
    #: what went wrong first, when it explains this test: a limit the notebook ran into, or an
    #: earlier cell that failed ("Cell `load` raised KeyError: 'orderid'."), else ""; the
    #: feedback page lists these first (``message`` already says it for this test)
    cause: str = ""

    def as_json(self) -> dict[str, str]:
        """The learner-facing part, as carried in each ``cells`` entry of the JSON result."""
        return {"status": self.status, "origin": self.origin, "location": self.location,
                "line": self.line, "message": self.message}


@dataclass(frozen=True)
class IntegrityFlag:
    """For instructors only: a test met a learner-defined object, or a trick was contained."""

    notebook: str
    cell: str
    kind: str  # "learner-object" (the test failed) | "contained" (the originals were used)
    message: str


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
    integrity: list[IntegrityFlag] = field(default_factory=list)  # instructors only, not in as_json
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        """The documented JSON-lines record (see README, "Grading contract")."""
        tests = {(t.notebook, t.cell): t for t in self.tests}
        return {
            "learner": self.learner,
            "assessment": self.assessment,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "cells": [self._cell_json(c, tests) for c in self.cells],
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

    @staticmethod
    def _cell_json(cell: CellScore, tests: dict[tuple[str, str], TestFeedback]) -> dict[str, Any]:
        data = asdict(cell)
        test = tests.get((cell.notebook, cell.cell))
        data["feedback"] = test.as_json() if test is not None else None
        return data
