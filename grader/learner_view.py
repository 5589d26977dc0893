"""The executed notebook as the learner may see it: their own outputs, never a hidden test.

Grading runs the *restored* notebook, whose test cells hold the hidden tests again. Before it is
kept for the learner, every cell whose released source differs from the graded one (a test cell
with hidden tests) gets its released source back and loses its outputs: a traceback would quote
the hidden lines. The papermill parameters cell (it holds the learner's seed) is dropped.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from grader.assessment import SourceNotebook
from grader.restore import by_grade_id

HIDDEN_NOTE = ("[outputs not shown: this test cell also runs hidden tests; "
               "see the feedback for what failed]")


def learner_view(executed: NotebookNode, source: SourceNotebook) -> NotebookNode:
    """A copy of ``executed`` with hidden tests and their outputs removed."""
    view = copy.deepcopy(executed)
    released = by_grade_id(source.release)
    reference = by_grade_id(source.reference)
    kept = []
    for cell in view.cells:
        if "injected-parameters" in cell.get("metadata", {}).get("tags", []):
            continue
        meta = cell.get("metadata", {}).get("nbgrader")
        grade_id = meta.get("grade_id") if isinstance(meta, dict) else None
        if grade_id in released and grade_id in reference \
                and released[grade_id][1].source != reference[grade_id][1].source:
            cell.source = released[grade_id][1].source
            if cell.cell_type == "code":
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=HIDDEN_NOTE)]
                cell.execution_count = None
        kept.append(cell)
    view.cells = kept
    return view


def executed_folder(feedback_dir: Path, assessment_id: str, learner: str, digest: str) -> Path:
    """Where the learner views of a graded submission's notebooks are kept."""
    return feedback_dir / assessment_id / learner / f"executed-{(digest or 'none')[:12]}"


def write_learner_view(executed: NotebookNode, source: SourceNotebook, folder: Path) -> Path:
    """Write the learner view of one executed notebook; returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / source.filename
    # nbformat.write's bytes without its schema validation (a cost per notebook on the path to the
    # result): the executed notebook was validated when it was read
    text = nbformat.v4.writes(learner_view(executed, source))
    path.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
    return path
