"""Derive nbgrader's versions of a source notebook with nbgrader's own preprocessors.

``reference_version`` is what nbgrader records in its gradebook when it generates an assignment
(solutions replaced by stubs, hidden tests kept, cells locked, checksums computed): grading
restores locked and test cells from it. ``student_version`` is what learners receive (hidden
tests cleared, checksums recomputed). The order follows nbgrader's ``generate_assignment``, whose
first two steps (``IncludeHeaderFooter``, ``InstantiateTests``) are :func:`prepare_source`. Each
preprocessor gets the course's traitlets config (``nbgrader_config.py``), as in nbgrader.
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
    IncludeHeaderFooter,
    InstantiateTests,
    LockCells,
)
from traitlets.config import Config

from grader.errors import AssessmentError

if TYPE_CHECKING:
    from grader.assessment import Assessment


def _apply(nb: NotebookNode, steps: list[Any], resources: dict[str, Any] | None = None) -> NotebookNode:
    resources = dict(resources or {})
    result = copy.deepcopy(nb)
    for step in steps:
        result, resources = step.preprocess(result, resources)
    return result


def prepare_source(
    source: NotebookNode,
    *,
    config: Config | None = None,
    header: Path | None = None,
    footer: Path | None = None,
    folder: Path | None = None,
    autotests: Path | None = None,
) -> NotebookNode:
    """nbgrader's first release steps: add the course header/footer, expand ``### AUTOTEST``.

    ``InstantiateTests`` runs the source notebook's code in a kernel to pick a test template by
    the type of each value, as ``nbgrader generate_assignment`` does; it is only started when a
    code cell holds the autotest delimiter. ``autotests`` is the templates file when it is not
    in ``folder`` (nbgrader then looks in the course root).
    """
    config = Config(config or Config())
    result = source
    if header or footer:
        config.IncludeHeaderFooter.header = str(header or "")
        config.IncludeHeaderFooter.footer = str(footer or "")
        result = _apply(result, [IncludeHeaderFooter(config=config)])
    expander = InstantiateTests(config=_autotest_config(config, autotests))
    if any(c.cell_type == "code" and expander.autotest_delimiter in c.source for c in result.cells):
        resources = {"metadata": {"path": str(folder or Path.cwd())}}
        try:
            result = _apply(result, [expander], resources)
        except Exception as exc:  # nbgrader raises bare exceptions from a failing template
            raise AssessmentError(
                f"nbgrader could not expand the ### AUTOTEST lines: {type(exc).__name__}: {exc}",
                hint="put an autotests.yml (nbgrader's test templates) in the assignment folder "
                "or the course root, mark every cell with AUTOTEST lines as an autograded test, "
                "and make sure the solution cells above it run",
            ) from exc
    return result


def _autotest_config(config: Config, autotests: Path | None) -> Config:
    if autotests is None:
        return config
    config = Config(config)
    config.InstantiateTests.autotest_filename = str(autotests)  # absolute: wins in nbgrader's join
    return config


def reference_version(source: NotebookNode, *, config: Config | None = None) -> NotebookNode:
    """Solutions cleared, outputs cleared, cells locked, checksums computed; hidden tests kept."""
    cfg = config or Config()
    return _apply(
        source,
        [LockCells(config=cfg), ClearSolutions(config=cfg), ClearOutput(config=cfg),
         CheckCellMetadata(config=cfg), ComputeChecksums(config=cfg)],
    )


def student_version(reference: NotebookNode, *, config: Config | None = None) -> NotebookNode:
    """The released notebook: hidden tests and marking schemes cleared, checksums recomputed."""
    cfg = config or Config()
    return _apply(
        reference, [ClearHiddenTests(config=cfg), ClearMarkScheme(config=cfg),
                    ComputeChecksums(config=cfg), CheckCellMetadata(config=cfg)]
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
