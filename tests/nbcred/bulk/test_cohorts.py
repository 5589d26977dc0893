"""Cohorts: roster import, grading a submitted/ folder, passed/failed/errored/late/missing/unknown."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import select
from typer.testing import CliRunner

from nbcred.bulk.cohorts import submitted_at
from nbcred.cli import app
from nbcred.settings import Settings
from nbcred.store import Store
from nbcred.store.models import IssuedCredential
from tests.nbcred.bulk.bulk_helpers import write_csv
from tests.paths import ROOT

SAMPLES = ROOT / "notebooks" / "pandas-cleaning"
runner = CliRunner()


def _submit(root: Path, learner: str, sample: str, stamp: str) -> Path:
    folder = root / learner / "pandas-cleaning"
    shutil.copytree(SAMPLES / sample, folder)
    (folder / "timestamp.txt").write_text(f"{stamp} UTC\n")
    return folder


def test_cohort_grading_sorts_every_learner(home: Path, tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "roster.csv", ["Student ID", "Name", "Email", "Section"], [
        ["alice", "Alice A", "alice@example.org", "A"], ["bob", "Bob B", "bob@example.org", "A"],
        ["frank", "Frank F", "frank@example.org", "B"], ["erin", "Erin E", "erin@example.org", "B"],
        ["zed", "Zed Z", "zed@example.org", "B"],
    ])
    imported = runner.invoke(app, ["cohort", "import", "spring", str(roster), "--title", "Spring",
                                   "--assessment", "pandas-cleaning@2026-01-01T00:00:00Z@1"])
    assert imported.exit_code == 0, imported.output
    assert "5 learners (5 new)" in imported.output
    submitted = tmp_path / "submitted"
    _submit(submitted, "alice", "alice", "2025-12-01 10:00:00")
    _submit(submitted, "frank", "frank", "2025-12-01 10:00:00")  # unreadable notebook: errored
    _submit(submitted, "erin", "frank", "2026-02-01 10:00:00")  # after the deadline
    _submit(submitted, "mallory", "alice", "2025-12-01 10:00:00")  # not on the roster

    graded = runner.invoke(app, ["cohort", "grade", "spring", str(submitted), "--workers", "1"])
    assert graded.exit_code == 0, graded.output
    assert "pandas-cleaning errored: frank" in " ".join(graded.output.split())
    assert "pandas-cleaning late (graded, no credential): erin" in " ".join(graded.output.split())
    assert "pandas-cleaning missing: bob, zed" in " ".join(graded.output.split())
    assert "pandas-cleaning not on the roster (not graded): mallory" in " ".join(graded.output.split())
    assert ("pandas-cleaning: passed 1, failed 0, errored 1, late 1, missing 2, over the attempt "
            "limit 0, not on the roster 1") in " ".join(graded.output.split())
    store = Store.open(Settings().resolved_database_url())
    with store.session() as session:
        holders = sorted(session.scalars(select(IssuedCredential.learner_id)))
    assert holders == ["alice"]

    # new content from frank is over the one-attempt limit; the rest is already graded
    notebook = next((submitted / "frank" / "pandas-cleaning").glob("*.ipynb"))
    notebook.write_text(notebook.read_text() + "\n")
    again = runner.invoke(app, ["cohort", "grade", "spring", str(submitted), "--workers", "1"])
    assert again.exit_code == 0, again.output
    assert "over the attempt limit (not graded): frank" in " ".join(again.output.split()), again.output
    with store.session() as session:
        assert sorted(session.scalars(select(IssuedCredential.learner_id))) == ["alice"]


def test_unknown_cohort_and_bad_roster_are_explained(home: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["cohort", "grade", "nope", str(tmp_path)])
    assert result.exit_code == 2 and "no cohort 'nope'" in result.output
    bad = write_csv(tmp_path / "bad.csv", ["learner", "email"], [["a", "a@example.org"], ["a", "x"]])
    result = runner.invoke(app, ["cohort", "import", "c", str(bad)])
    assert result.exit_code == 2
    assert "line 3, column learner: 'a' is listed twice" in result.output
    assert "line 3, column email: 'x' is not an email" in result.output


def test_nbgrader_timestamps_are_read_with_their_zone(tmp_path: Path) -> None:
    (tmp_path / "timestamp.txt").write_text("2015-02-02 14:58:23.948203 America/Los_Angeles\n")
    assert submitted_at(tmp_path).isoformat() == "2015-02-02T22:58:23.948203+00:00"
