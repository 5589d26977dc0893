"""Manual grading: the score lands, the pass is re-decided, one credential, concurrent saves."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nbcred.service.errors import NotFound, Unprocessable
from nbcred.service.manual import grade_cell, manual_cells
from nbcred.store.models import Grading, IssuedCredential, ManualGrade, WebSubmission
from tests.nbcred.instructor.instructor_course import ASSESSMENT, MANUAL_CELL, Course


def _count(course: Course, model: type, *where: object) -> int:
    with course.ctx.store.session() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_grading_the_manual_cell_passes_and_issues_once(course: Course) -> None:
    grace = course.account("grace")
    form = manual_cells(course.ctx, course.submission)
    assert [(c.notebook, c.cell, c.needs_manual) for c in form] == [(*MANUAL_CELL, True)]
    assert form[0].points == 2 and form[0].answer
    assert form[0].rubric.startswith("Study time and score") and "SOLUTION" not in form[0].rubric

    detail = grade_cell(course.ctx, grace, course.submission, notebook=MANUAL_CELL[0],
                        grade_id=MANUAL_CELL[1], score=2, comment="Clear and careful.")
    result = detail.as_json()["result"]
    assert result["passed"] and result["score"] == 9 and not result["needs_manual"]
    cell = next(c for c in result["cells"] if c["cell"] == MANUAL_CELL[1])
    assert cell == {**cell, "score": 2.0, "needs_manual": False}
    assert result["credential"] and _count(course, IssuedCredential) == 1

    again = grade_cell(course.ctx, grace, course.submission, notebook=MANUAL_CELL[0],
                       grade_id=MANUAL_CELL[1], score=1.5, comment="On reflection")
    assert again.as_json()["result"]["credential"] == result["credential"]
    assert _count(course, IssuedCredential) == 1
    with course.ctx.store.session() as session:
        auto = session.scalars(select(Grading).where(Grading.origin == "auto")).one()
        assert auto.score == 7 and not auto.passed  # the automatic grading is kept as it was
        grades = session.scalars(select(ManualGrade).order_by(ManualGrade.id)).all()
        assert [(g.score, g.grader, g.comment) for g in grades] == [
            (2, "grace@example.org", "Clear and careful."), (1.5, "grace@example.org", "On reflection")]
        assert all(g.graded_at is not None and g.grading_id for g in grades)
        row = session.get(WebSubmission, course.submission)
        assert row is not None and row.grading_id == grades[-1].grading_id
    feedback = manual_cells(course.ctx, course.submission)[0]
    assert feedback.comment == "On reflection" and feedback.grader == "grace@example.org"


def test_feedback_page_shows_the_manual_grade(sqlite_course: Course) -> None:
    detail = grade_cell(sqlite_course.ctx, sqlite_course.account("grace"), sqlite_course.submission,
                        notebook=MANUAL_CELL[0], grade_id=MANUAL_CELL[1], score=2, comment="Well argued")
    assert detail.feedback_path is not None
    html = Path(detail.feedback_path).read_text(encoding="utf-8")
    assert "Well argued" in html


@pytest.mark.parametrize(("score", "error"), [(2.5, Unprocessable), (-1, Unprocessable),
                                              (float("nan"), Unprocessable)])
def test_scores_outside_the_points_are_refused(sqlite_course: Course, score: float, error: type) -> None:
    with pytest.raises(error, match=r"outside 0\.\.2"):
        grade_cell(sqlite_course.ctx, sqlite_course.account("grace"), sqlite_course.submission,
                   notebook=MANUAL_CELL[0], grade_id=MANUAL_CELL[1], score=score)
    assert _count(sqlite_course, ManualGrade) == 0


def test_unknown_cell_or_submission_is_not_found(sqlite_course: Course) -> None:
    grace = sqlite_course.account("grace")
    with pytest.raises(NotFound, match="not a grade cell of exploratory-stats"):
        grade_cell(sqlite_course.ctx, grace, sqlite_course.submission, notebook="explore",
                   grade_id="nope", score=1)
    with pytest.raises(NotFound):
        grade_cell(sqlite_course.ctx, grace, "missing", notebook="explore", grade_id="interpretation",
                   score=1)


def test_two_instructors_saving_at_once_issue_one_credential(course: Course) -> None:
    barrier = threading.Barrier(2)
    answers: dict[str, dict] = {}
    failures: list[BaseException] = []

    def save(who: str, score: float) -> None:
        try:
            barrier.wait(timeout=30)
            detail = grade_cell(course.ctx, course.account(who), course.submission,
                                notebook=MANUAL_CELL[0], grade_id=MANUAL_CELL[1], score=score,
                                comment=f"by {who}")
            answers[who] = detail.as_json()["result"]
        except BaseException as exc:  # reported below
            failures.append(exc)

    threads = [threading.Thread(target=save, args=(who, score))
               for who, score in (("grace", 2.0), ("alan", 1.5))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    assert answers["grace"]["passed"] and answers["alan"]["passed"]
    assert answers["grace"]["credential"] == answers["alan"]["credential"] is not None
    assert _count(course, IssuedCredential) == 1
    assert _count(course, ManualGrade) == 2
    assert _count(course, Grading, Grading.origin == "manual") == 2
    with course.ctx.store.session() as session:  # the later save was built on the earlier one
        last = session.scalars(select(Grading).order_by(Grading.id.desc()).limit(1)).one()
        first_saved = session.scalars(select(ManualGrade).order_by(ManualGrade.id).limit(1)).one()
        assert last.graded_by != first_saved.grader or last.id == first_saved.grading_id
    assert ASSESSMENT in answers["grace"]["assessment"]
