"""Defaults a new user meets: where nbcred keeps its files, and what "passed" says without a badge."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from grader.results import GradeResult
from nbcred.cli import results_table
from nbcred.settings import Settings


def test_home_is_not_created_in_the_current_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("NBCRED_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    assert Settings().home == tmp_path / "data" / "nbcred"
    (tmp_path / ".nbcred").mkdir()  # an existing local home (make demo, a checkout) is kept
    assert Settings().home == Path(".nbcred")


def test_a_pass_without_a_badge_says_so() -> None:
    result = GradeResult(learner="ada", assessment="Lab2", assessment_version="1", score=5, max_score=5,
                         passed=True, cells=[], competencies=[], tampered_cells=[], errors=[],
                         content_hash="x")
    console = Console(width=200, record=True)
    console.print(results_table([result], has_badge=False))
    assert "no badge for this assessment" in console.export_text()
    console.print(results_table([result], has_badge=True))
    assert console.export_text().count("no badge") == 0
