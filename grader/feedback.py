"""Learner feedback: per competency and per visible test, never hidden test code.

The page shows the *released* source of each test cell (hidden tests are not in it) and, for a
failed test, where it failed and why (:mod:`grader.failure`): the failing visible line or the
learner's own line with the error message, or only "a hidden check failed" when the failing line
is hidden. Messages that would quote a hidden test are withheld.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader
from nbformat import NotebookNode

from grader.failure import Explanation, explain, explain_stderr
from grader.integrity.flags import integrity_message
from grader.restore import by_grade_id
from grader.results import CellScore, GradeResult, TestFeedback

if TYPE_CHECKING:
    from grader.assessment import Assessment, SourceNotebook

# the templates end in .j2, which select_autoescape() would leave unescaped: learner text
# (their lines, error messages) goes into these pages, so escape everything
_env = Environment(loader=PackageLoader("grader", "templates"), autoescape=True)


def test_feedback(
    assessment: Assessment,
    source: SourceNotebook,
    scored: list[CellScore],
    executed: NotebookNode | None,
    replies: dict[int, str] | None,
) -> list[TestFeedback]:
    """One entry per graded cell of ``source``, safe to show the learner."""
    released = {gid: cell.source for gid, (_, cell) in by_grade_id(source.release).items()}
    ran = {
        gid: (cell, (replies or {}).get(index))
        for gid, (index, cell) in (by_grade_id(executed) if executed is not None else {}).items()
    }
    competency = {e.cell: e.competency for e in assessment.spec.rubric}
    hidden = {c.grade_id for c in source.grade_cells if c.has_hidden_tests}
    entries = []
    for cell in scored:
        status, why = _status(cell, ran.get(cell.cell))
        if why is None and executed is not None and status in {"failed", "partial"}:
            why = _why(ran[cell.cell][0], executed, source, cell.cell in hidden)
        why = why or Explanation("", "", "", "")
        entries.append(
            TestFeedback(
                notebook=cell.notebook, cell=cell.cell,
                source=released.get(cell.cell, "") if cell.kind == "autograded" else "",
                status=status, message=why.message, score=cell.score, max_score=cell.max_score,
                competency=competency.get(f"{cell.notebook}/{cell.cell}"),
                origin=why.origin, location=why.location, line=why.line,
            )
        )
    return entries


def _status(
    cell: CellScore, ran: tuple[NotebookNode, str | None] | None
) -> tuple[str, Explanation | None]:
    if cell.needs_manual:
        return "needs manual grading", None
    if cell.kind != "autograded":
        return ("no response" if cell.score == 0 else "graded"), None
    if ran is None or ran[1] is None:
        return "not run", Explanation(
            "", "", "", "This cell was not run (missing, or the notebook stopped early).")
    if cell.score >= cell.max_score:
        return "passed", None
    return ("partial" if cell.score > 0 else "failed"), None


def _why(
    cell: NotebookNode, executed: NotebookNode, source: SourceNotebook, has_hidden: bool
) -> Explanation | None:
    """Why a test cell lost points: its error, else what it wrote to stderr, else nothing."""
    explained = explain(cell, executed, source.reference, source.hidden)
    if explained is not None:
        plain = integrity_message(cell)  # says what the learner did, never what a test checks
        return replace(explained, message=plain) if plain else explained
    stderr = explain_stderr(cell, source.hidden, has_hidden)
    return Explanation("", "", "", stderr) if stderr else None


def write_feedback(result: GradeResult, assessment: Assessment, feedback_dir: Path) -> Path:
    """Render the learner's HTML feedback page; return its path."""
    folder = feedback_dir / result.assessment / result.learner
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"feedback-{(result.content_hash or 'none')[:12]}.html"
    html = _env.get_template("feedback.html.j2").render(
        result=result, assessment=assessment, spec=assessment.spec,
        fraction=(result.score / result.max_score) if result.max_score else 0.0,
    )
    path.write_text(html, encoding="utf-8")
    return path
