"""Exports: Canvas and Moodle gradebook CSVs follow the importers' header rules; credential and CLR zips."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from credentials.baking import unbake
from grader.assessment import load_assessment
from grader.results import CompetencyScore, GradeResult
from nbcred.bulk.exports import CANVAS_IDENTITY
from nbcred.cli import app
from nbcred.settings import Settings
from nbcred.store import Store
from tests.nbcred.bulk.bulk_helpers import write_csv
from tests.paths import ROOT

CATALOGUE = ROOT / "assessments"
runner = CliRunner()
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _record(store: Store, learner: str, fraction: float, *, content: str) -> None:
    assessment = load_assessment(CATALOGUE / "pandas-cleaning")
    competencies = [CompetencyScore(c.id, c.name, round(4 * fraction, 2), 4.0, 0.6, fraction >= 0.6)
                    for c in assessment.spec.competencies]
    result = GradeResult(learner=learner, assessment=assessment.id,
                         assessment_version=assessment.spec.version,
                         score=round(4 * fraction * len(competencies), 2), max_score=4.0 * len(competencies),
                         passed=fraction >= 0.7, cells=[], competencies=competencies, tampered_cells=[],
                         errors=[], content_hash=content * 64)
    store.record(result, fingerprint=assessment.fingerprint, title=assessment.spec.title)


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_canvas_and_moodle_files_follow_the_importers_rules(home: Path, tmp_path: Path) -> None:
    store = Store.open(Settings().resolved_database_url())
    roster = write_csv(tmp_path / "roster.csv", ["learner", "name", "email", "section"], [
        ["ada", "Ada Lovelace", "ada@example.org", "S1"], ["alan", "Alan Turing", "alan@example.org", "S2"],
        ["grace", "Grace Hopper", "grace@example.org", "S1"],
    ])
    assert runner.invoke(app, ["cohort", "import", "c1", str(roster), "--assessment",
                               "pandas-cleaning"]).exit_code == 0
    _record(store, "ada", 0.5, content="a")
    _record(store, "ada", 0.9, content="b")  # the latest grading counts
    _record(store, "alan", 0.25, content="c")
    _record(store, "outsider", 1.0, content="d")  # graded, but not in the cohort

    canvas_file, moodle_file = tmp_path / "canvas.csv", tmp_path / "moodle.csv"
    assert runner.invoke(app, ["export", "canvas", "c1", "-o", str(canvas_file)]).exit_code == 0
    assert runner.invoke(app, ["export", "moodle", "c1", "-o", str(moodle_file)]).exit_code == 0

    canvas = _rows(canvas_file.read_text())
    header, points, students = canvas[0], canvas[1], canvas[2:]
    assert tuple(header[:5]) == CANVAS_IDENTITY
    assert len(set(header)) == len(header)
    assert all(re.fullmatch(r".+ \([^()]+\)", h) for h in header[5:])
    assert header[5] == "Cleaning a dataset with pandas (pandas-cleaning)"
    assert points[0] == "Points Possible" and points[1:5] == ["", "", "", ""]
    assert all(NUMBER.match(p) for p in points[5:])
    assert [s[2] for s in students] == ["ada", "alan", "grace"]
    assert all(len(s) == len(header) for s in canvas)
    by_learner = {s[2]: s for s in students}
    assert by_learner["ada"][0] == "Lovelace, Ada" and by_learner["ada"][3] == "ada@example.org"
    assert by_learner["ada"][4] == "S1"
    assert float(by_learner["ada"][5]) == float(points[5]) * 0.9
    assert all(cell == "" for cell in by_learner["grace"][5:])  # nothing submitted: no grade
    assert all(NUMBER.match(c) or c == "" for s in students for c in s[5:])

    moodle = _rows(moodle_file.read_text())
    header = moodle[0]
    assert "Email address" in header and "ID number" in header
    assert len(set(header)) == len(header)
    assert [r[header.index("ID number")] for r in moodle[1:]] == ["ada", "alan", "grace"]
    assert all(NUMBER.match(c) or c == "-" for r in moodle[1:] for c in r[4:])
    assert moodle[1][header.index("Email address")] == "ada@example.org"

    by_assessment = tmp_path / "assessment.csv"
    exported = runner.invoke(app, ["export", "canvas", "pandas-cleaning", "-o", str(by_assessment)])
    assert exported.exit_code == 0
    assert [r[2] for r in _rows(by_assessment.read_text())[2:]] == ["ada", "alan", "outsider"]
    unknown = runner.invoke(app, ["export", "moodle", "nope", "-o", str(tmp_path / "x.csv")])
    assert unknown.exit_code == 2 and "neither a cohort nor an assessment" in unknown.output


def test_credentials_zip_and_clr_bundle(home: Path, tmp_path: Path) -> None:
    roster = write_csv(tmp_path / "r.csv", ["learner", "name", "email", "achievement"], [
        ["ada", "Ada L", "ada@example.org", "pandas-cleaning"],
        ["ada", "Ada L", "ada@example.org", "sql-from-python"],
        ["alan", "Alan T", "alan@example.org", "pandas-cleaning"],
    ])
    assert runner.invoke(app, ["credential", "issue-bulk", str(roster), "--workers", "1"]).exit_code == 0
    archive = tmp_path / "creds.zip"
    result = runner.invoke(app, ["export", "credentials", "pandas-cleaning", "-o", str(archive)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(archive) as z:
        names = sorted(z.namelist())
        assert len(names) == 4 and {n.split("/")[0] for n in names} == {"ada", "alan"}
        document = json.loads(z.read(next(n for n in names if n.endswith(".json"))))
        badge = z.read(next(n for n in names if not n.endswith(".json")))
    assert unbake(badge) == document
    bundle = tmp_path / "clr.zip"
    assert runner.invoke(app, ["export", "clr", "pandas-cleaning", "-o", str(bundle)]).exit_code == 0
    with zipfile.ZipFile(bundle) as z:
        assert sorted(z.namelist()) == ["ada.clr.json", "alan.clr.json"]
        clr = json.loads(z.read("ada.clr.json"))
    assert "ClrCredential" in clr["type"] and clr["proof"]
