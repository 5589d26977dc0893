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

from grader import cause
from grader.failure import Explanation, explain, explain_stderr
from grader.integrity.flags import integrity_message
from grader.restore import by_grade_id
from grader.results import CellScore, GradeResult, TestFeedback

if TYPE_CHECKING:
    from grader.assessment import Assessment, SourceNotebook
    from grader.spec import ExecutionLimits

# the templates end in .j2, which select_autoescape() would leave unescaped: learner text
# (their lines, error messages) goes into these pages, so escape everything
_env = Environment(loader=PackageLoader("grader", "templates"), autoescape=True)


def test_feedback(
    assessment: Assessment,
    source: SourceNotebook,
    scored: list[CellScore],
    executed: NotebookNode | None,
    replies: dict[int, str] | None,
    *,
    limit: str | None = None,
    died: bool = False,
) -> list[TestFeedback]:
    """One entry per graded cell of ``source``, safe to show the learner.

    ``limit`` and ``died`` say how the run ended (:class:`~grader.execute.RunOutcome`): a test
    that did not run, or failed because an earlier cell failed or was stopped, names that cell.
    """
    released = {gid: cell.source for gid, (_, cell) in by_grade_id(source.release).items()}
    found = by_grade_id(executed) if executed is not None else {}
    ran = {gid: (cell, (replies or {}).get(index)) for gid, (index, cell) in found.items()}
    competency = {e.cell: e.competency for e in assessment.spec.rubric}
    hidden = {c.grade_id for c in source.grade_cells if c.has_hidden_tests}
    causes = _Causes(executed, replies or {}, source, assessment.spec.execution, limit, died)
    entries = []
    for cell in scored:
        status, why = _status(cell, ran.get(cell.cell))
        if why is None and executed is not None and status in {"failed", "partial"}:
            why = _why(ran[cell.cell][0], executed, source, cell.cell in hidden)
        why, cause = causes.explain(status, found.get(cell.cell), why)
        why = why or Explanation("", "", "", "")
        entries.append(
            TestFeedback(
                notebook=cell.notebook, cell=cell.cell,
                source=released.get(cell.cell, "") if cell.kind == "autograded" else "",
                status=status, message=why.message, score=cell.score, max_score=cell.max_score,
                competency=competency.get(f"{cell.notebook}/{cell.cell}"),
                origin=why.origin, location=why.location, line=why.line, cause=cause,
            )
        )
    return entries


class _Causes:
    """The run's first causes, and how each test's feedback points at them."""

    def __init__(self, executed: NotebookNode | None, replies: dict[int, str], source: SourceNotebook,
                 limits: ExecutionLimits, limit: str | None, died: bool) -> None:
        self.replies, self.limits = replies, limits
        self.stop: cause.Cause | None = None
        self.first: cause.Cause | None = None
        if executed is not None:
            self.stop = cause.run_stop(executed, replies, limit=limit, died=died, limits=limits)
            self.first = cause.first_failure(executed, replies, source.hidden, limits)

    def explain(
        self, status: str, found: tuple[int, NotebookNode] | None, why: Explanation | None,
    ) -> tuple[Explanation | None, str]:
        """The test's explanation, replaced or annotated by what caused it; and the cause line."""
        if found is None or status not in {"failed", "partial", "not run"}:
            return why, ""
        index, cell = found
        if status == "not run" and self.stop is not None and self.stop.index <= index:
            return Explanation("", "", "", self.stop.because()), self.stop.sentence()
        if self.replies.get(index) == "timeout":
            stopped = cause.timed_out(index, cell, self.limits)
            return Explanation("", "", "", f"This test {stopped.what} (look for an endless loop or very "
                               "slow code in what it calls)."), stopped.sentence()
        first = self.first
        if first is None or first.index >= index or status == "not run":
            return why, ""
        if cause.error_name(cell) in cause.CASCADE or self.replies.get(index) is None:
            return Explanation("", "", "", first.because()), first.sentence()
        own = why.message if why is not None else ""
        message = f"{own.rstrip('.')}. {first.maybe()}" if own else first.maybe()
        return replace(why or Explanation("", "", "", ""), message=message), first.sentence()


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
