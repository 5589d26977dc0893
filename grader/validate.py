"""``validate``: the solution must score full marks and the released version zero on autograded tests."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from grader.assessment import Assessment
from grader.grade import GradeOptions, grade_submission
from grader.results import GradeResult


@dataclass
class ValidationReport:
    """What is wrong with an assessment, cell by cell; empty ``problems`` means it is valid."""

    assessment: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    solution_score: float = 0.0
    release_score: float = 0.0
    max_score: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_assessment(assessment: Assessment, *, options: GradeOptions) -> ValidationReport:
    """Grade the instructor's solution and the student version; report every cell that is off."""
    report = ValidationReport(assessment.id, warnings=list(assessment.warnings))
    options = GradeOptions(runner=options.runner, seed_secret=options.seed_secret)
    solution = _grade_version(assessment, "source", options)
    release = _grade_version(assessment, "release", options)
    report.solution_score, report.release_score = solution.score, release.score
    report.max_score = solution.max_score
    report.problems += [f"solution: {e}" for e in solution.errors]
    report.problems += [f"student version: {e}" for e in release.errors]
    for cell in solution.cells:
        if cell.kind == "autograded" and cell.score < cell.max_score:
            report.problems.append(
                f"{cell.notebook}/{cell.cell}: the solution scores {cell.score:g} of "
                f"{cell.max_score:g}; fix the test or the solution so the solution passes"
            )
    for cell in release.cells:
        if cell.kind == "autograded" and cell.score > 0:
            report.problems.append(
                f"{cell.notebook}/{cell.cell}: the unanswered student version scores "
                f"{cell.score:g}; the test must fail when no solution is given"
            )
    return report


def _grade_version(assessment: Assessment, which: str, options: GradeOptions) -> GradeResult:
    with tempfile.TemporaryDirectory(prefix=f"nbcred-validate-{which}-") as tmp:
        folder = Path(tmp) / "instructor"
        folder.mkdir()
        for nb in assessment.notebooks:
            nbformat.write(nb.source if which == "source" else nb.release, folder / nb.filename)
        return grade_submission(assessment, folder, options=options, learner="instructor")
