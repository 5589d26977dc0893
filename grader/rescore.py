"""Manual re-scoring: an automatic result with a person's grades applied, re-decided.

A grading of a submission with manually graded cells is the automatic one with each cell's latest
manual grade put in its place; the competencies are rolled up and the pass decided again with
the same rules as automatic grading (:mod:`grader.score`). Pure: the application stores the
grades and the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from grader.assessment import Assessment
from grader.results import CellScore, GradeResult, TestFeedback
from grader.score import decide, roll_up


class ManualMark(Protocol):
    """A person's grade of one cell: its score and the comment the learner reads."""

    @property
    def score(self) -> float: ...

    @property
    def comment(self) -> str: ...


def apply_manual_grades(
    base: GradeResult, tests: list[dict[str, Any]], latest: Mapping[tuple[str, str], ManualMark],
    assessment: Assessment,
) -> GradeResult:
    """The automatic result with every cell's latest manual grade applied, re-decided."""
    cells = []
    for cell in base.cells:
        grade = latest.get((cell.notebook, cell.cell))
        cells.append(cell if grade is None else CellScore(
            cell.notebook, cell.cell, grade.score, cell.max_score, cell.kind, False))
    score = round(sum(c.score for c in cells), 6)
    competencies = roll_up(assessment.spec, cells)
    needs_manual = any(c.needs_manual for c in cells)
    feedback = []
    shown = set()
    for entry in tests:
        item = TestFeedback(**entry)
        grade = latest.get((item.notebook, item.cell))
        if grade is not None:
            item = replace(item, status="graded", score=grade.score, message=grade.comment)
        feedback.append(item)
        shown.add((item.notebook, item.cell))
    competency = {e.cell: e.competency for e in assessment.spec.rubric}
    for cell in cells:  # a grading recorded without feedback entries still shows the manual grades
        grade = latest.get((cell.notebook, cell.cell))
        if grade is not None and (cell.notebook, cell.cell) not in shown:
            feedback.append(TestFeedback(cell.notebook, cell.cell, "", "graded", grade.comment,
                                         grade.score, cell.max_score,
                                         competency.get(f"{cell.notebook}/{cell.cell}")))
    return replace(
        base, cells=cells, score=score, competencies=competencies, needs_manual=needs_manual,
        passed=decide(assessment, score, base.max_score, competencies, base.errors,
                      needs_manual=needs_manual),
        tests=feedback,
    )
