"""Learner feedback: per competency and per visible test, never hidden test code.

The page shows the *released* source of each test cell (hidden tests are not in it) and, for a
failed test, the error's name and message only when the cell has no hidden tests — a traceback
or message from a hidden assertion could reveal it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from jinja2 import Environment, PackageLoader, select_autoescape
from nbformat import NotebookNode

from grader.restore import by_grade_id
from grader.results import CellScore, GradeResult, TestFeedback

if TYPE_CHECKING:
    from grader.assessment import Assessment, SourceNotebook

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_env = Environment(loader=PackageLoader("grader", "templates"), autoescape=select_autoescape())


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
        status, message = _status(cell, ran.get(cell.cell))
        if cell.cell in hidden and message:
            # the error's name is safe to show; its message or traceback could quote a hidden test
            ename = message.split(":", 1)[0] if ":" in message else "error"
            message = f"A test (possibly a hidden one) did not pass ({ename})."
        entries.append(
            TestFeedback(
                notebook=cell.notebook, cell=cell.cell,
                source=released.get(cell.cell, "") if cell.kind == "autograded" else "",
                status=status, message=message, score=cell.score, max_score=cell.max_score,
                competency=competency.get(f"{cell.notebook}/{cell.cell}"),
            )
        )
    return entries


def _status(cell: CellScore, ran: tuple[NotebookNode, str | None] | None) -> tuple[str, str]:
    if cell.needs_manual:
        return "needs manual grading", ""
    if cell.kind != "autograded":
        return ("no response" if cell.score == 0 else "graded"), ""
    if ran is None or ran[1] is None:
        return "not run", "This cell was not run (missing, or the notebook stopped early)."
    if cell.score >= cell.max_score:
        return "passed", ""
    message = ""
    for output in ran[0].get("outputs", []):
        if output.get("output_type") == "error":
            message = ANSI.sub("", f"{output.get('ename', '')}: {output.get('evalue', '')}")
        elif output.get("output_type") == "stream" and output.get("name") == "stderr":
            message = message or ANSI.sub("", str(output.get("text", "")))[-500:]
    return ("partial" if cell.score > 0 else "failed"), message.strip(": ")


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
