"""Score executed notebooks with nbgrader's rules, then roll up to competencies and a decision.

Cell rules are nbgrader's own (:func:`nbgrader.utils.determine_grade`): a test cell with an error
or stderr output scores 0, a numeric ``execute_result`` is partial credit, otherwise full marks;
an unchanged answer cell scores 0, a changed one needs manual grading. One rule is added: an
autograded cell whose kernel reply was not ``ok`` — or that never ran — scores 0, whatever its
outputs show.
"""

from __future__ import annotations

import logging

from nbformat import NotebookNode
from nbgrader import utils as nbutils

from grader.assessment import Assessment, GradeCell
from grader.restore import by_grade_id
from grader.results import CellScore, CompetencyScore
from grader.spec import AssessmentSpec

log = logging.getLogger(__name__)


def score_notebook(
    cells: tuple[GradeCell, ...],
    executed: NotebookNode | None,
    replies: dict[int, str] | None,
) -> list[CellScore]:
    """Score every grade cell of one source notebook; absent cells (or notebook) score 0.

    As in nbgrader's gradebook, a cell deleted from a submitted notebook is left needing manual
    grading, while the cells of a notebook missing altogether are not.
    """
    by_id = by_grade_id(executed) if executed is not None else {}
    scores = []
    for info in cells:
        found = by_id.get(info.grade_id)
        if found is None:
            scores.append(CellScore(info.notebook, info.grade_id, 0.0, info.points, info.kind,
                                    executed is not None))
            continue
        index, cell = found
        scores.append(_score_cell(info, cell, (replies or {}).get(index)))
    return scores


def _score_cell(info: GradeCell, cell: NotebookNode, reply: str | None) -> CellScore:
    if info.kind == "task" or not nbutils.is_grade(cell):
        return CellScore(info.notebook, info.grade_id, 0.0, info.points, info.kind, True)
    try:
        auto, max_points = nbutils.determine_grade(cell, log)
    except ValueError as exc:  # e.g. partial credit above the cell's points
        log.warning("cell %s: %s", info.grade_id, exc)
        auto, max_points = 0.0, info.points
    if info.kind == "autograded" and cell.cell_type == "code" and reply != "ok":
        auto = 0.0
    if auto is None:
        return CellScore(info.notebook, info.grade_id, 0.0, float(max_points), info.kind, True)
    return CellScore(info.notebook, info.grade_id, float(auto), float(max_points), info.kind, False)


def roll_up(spec: AssessmentSpec, cells: list[CellScore]) -> list[CompetencyScore]:
    """Weighted score of each competency over the rubric cells mapped to it."""
    by_key = {f"{c.notebook}/{c.cell}": c for c in cells}
    results = []
    for comp in spec.competencies:
        score = maximum = 0.0
        for entry in spec.rubric:
            cell = by_key.get(entry.cell)
            if entry.competency == comp.id and cell is not None:
                score += entry.weight * cell.score
                maximum += entry.weight * cell.max_score
        minimum = spec.pass_rule.competency_minimum if comp.min_score is None else comp.min_score
        passed = maximum > 0 and score / maximum >= minimum - 1e-9
        results.append(CompetencyScore(comp.id, comp.name, round(score, 6), round(maximum, 6),
                                       minimum, passed))
    return results


def decide(
    assessment: Assessment, score: float, max_score: float, competencies: list[CompetencyScore],
    errors: list[str], *, needs_manual: bool = False,
) -> bool:
    """Pass when nothing failed to grade, the overall fraction and every competency suffice.

    ``needs_manual`` (cells still to be graded by hand) blocks a pass only when the assessment's
    pass rule says ``wait_for_manual_grading``.
    """
    if errors or max_score <= 0:
        return False
    if needs_manual and assessment.spec.pass_rule.wait_for_manual_grading:
        return False
    overall = score / max_score >= assessment.spec.pass_rule.threshold - 1e-9
    return overall and all(c.passed for c in competencies)
