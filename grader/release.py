"""Derive nbgrader's versions of a source notebook with nbgrader's own preprocessors.

``reference_version`` is what nbgrader records in its gradebook when it generates an assignment
(solutions replaced by stubs, hidden tests kept, cells locked, checksums computed): grading
restores locked and test cells from it. ``student_version`` is what learners receive (hidden
tests cleared, checksums recomputed). The order follows nbgrader's ``generate_assignment``.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
from nbformat import NotebookNode
from nbgrader.preprocessors import (
    CheckCellMetadata,
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    ClearSolutions,
    ComputeChecksums,
    LockCells,
)

if TYPE_CHECKING:
    from grader.assessment import Assessment


def _apply(nb: NotebookNode, steps: list[Any]) -> NotebookNode:
    resources: dict[str, Any] = {}
    result = copy.deepcopy(nb)
    for step in steps:
        result, resources = step.preprocess(result, resources)
    return result


def reference_version(source: NotebookNode) -> NotebookNode:
    """Solutions cleared, outputs cleared, cells locked, checksums computed; hidden tests kept."""
    return _apply(
        source,
        [LockCells(), ClearSolutions(), ClearOutput(), CheckCellMetadata(), ComputeChecksums()],
    )


def student_version(reference: NotebookNode) -> NotebookNode:
    """The released notebook: hidden tests and marking schemes cleared, checksums recomputed."""
    return _apply(
        reference, [ClearHiddenTests(), ClearMarkScheme(), ComputeChecksums(), CheckCellMetadata()]
    )


def write_release(assessment: Assessment, out_dir: Path) -> list[Path]:
    """Write the student version of every notebook plus the data files into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for nb in assessment.notebooks:
        target = out_dir / nb.filename
        nbformat.write(nb.release, target)
        written.append(target)
    for rel in assessment.data_files:
        target = out_dir / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(assessment.source_dir / rel, target)
        written.append(target)
    return written
