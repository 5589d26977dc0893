"""Fixtures: small nbgrader-marked assessments written into tmp folders."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
import yaml
from nbformat import NotebookNode

from grader.assessment import Assessment, load_assessment
from grader.execute import KernelRunner
from grader.grade import GradeOptions
from tests.grader import factory
from tests.grader.factory import SPEC


@pytest.fixture
def make_assessment(tmp_path: Path) -> Callable[..., Path]:
    """Write an assessment folder: ``assessment.yaml`` (optional) + source notebooks + data."""

    def make(
        spec: dict | None = SPEC,
        notebooks: dict[str, NotebookNode] | None = None,
        data: dict[str, str] | None = None,
        name: str = "squares",
    ) -> Path:
        root = tmp_path / name
        source = root / "source"
        for filename, nb in (notebooks or {"problem1.ipynb": factory.squares_source()}).items():
            factory.write(nb, source / filename)
        for filename, text in (data or {}).items():
            (source / filename).write_text(text)
        if spec is not None:
            (root / "assessment.yaml").write_text(yaml.safe_dump({**spec, "id": name}))
        return root

    return make


@pytest.fixture
def squares(make_assessment: Callable[..., Path]) -> Assessment:
    return load_assessment(make_assessment())


@pytest.fixture
def options(tmp_path: Path) -> GradeOptions:
    return GradeOptions(runner=KernelRunner(), seed_secret=b"test", feedback_dir=tmp_path / "feedback")


@pytest.fixture
def submit(tmp_path: Path) -> Callable[..., Path]:
    """Write a learner's submission built from the released notebook, with cells edited."""

    def make(
        assessment: Assessment, learner: str, edits: dict[str, str] | None = None,
        notebook: str = "problem1.ipynb", raw: str | None = None,
    ) -> Path:
        folder = tmp_path / "submitted" / learner / assessment.id
        folder.mkdir(parents=True, exist_ok=True)
        if raw is not None:
            (folder / notebook).write_text(raw)
            return folder
        nb = copy.deepcopy(next(n.release for n in assessment.notebooks if n.filename == notebook))
        for cell in nb.cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in (edits or {}):
                cell.source = (edits or {})[grade_id]
        nbformat.write(nb, folder / notebook)
        return folder

    return make

