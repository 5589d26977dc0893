"""The learner view is written as ``nbformat.write`` writes it (without re-validating)."""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.assessment import load_assessment
from grader.learner_view import HIDDEN_NOTE, learner_view, write_learner_view
from tests.paths import ROOT


def test_written_bytes_are_nbformats(tmp_path: Path) -> None:
    assessment = load_assessment(ROOT / "assessments" / "pandas-cleaning")
    source = assessment.notebooks[0]
    executed = source.reference  # holds the hidden tests, as an executed notebook does
    path = write_learner_view(executed, source, tmp_path / "view")
    nbformat.write(learner_view(executed, source), tmp_path / "expected.ipynb")
    assert path.read_bytes() == (tmp_path / "expected.ipynb").read_bytes()
    assert "BEGIN HIDDEN TESTS" not in path.read_text(encoding="utf-8")
    assert HIDDEN_NOTE in path.read_text(encoding="utf-8")
