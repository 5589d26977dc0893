"""A catalogue change locks nobody out: past submissions stay viewable, gradable and exportable.

The course's catalogue is a copy of the sample one; after a submission is graded, the assessment
gets a new version (a changed test and version number) and the catalogue is reloaded. Every link
of the gradebook still opens the submission, graded with the version it was graded with.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from nbcred.service.courseware import reload_catalogue
from nbcred.service.versions import archived_versions, assessment_for
from nbcred.web.app import create_app
from tests.nbcred.instructor.instructor_course import ASSESSMENT, CATALOGUE, MANUAL_CELL, Course, open_course

CELL_URL = "/api/v1/submissions/{}/cells/" + "/".join(MANUAL_CELL)


def change_version(folder: Path) -> None:
    """What an instructor does: bump the version, raise the pass threshold, edit a notebook file."""
    spec_path = folder / "assessment.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec["version"] = "2.0.0"
    spec["pass"] = {**spec.get("pass", {}), "threshold": 0.8}
    spec_path.write_text(yaml.safe_dump(spec))
    notebook = next((folder / "source").glob("*.ipynb"))
    notebook.write_text(notebook.read_text() + "\n")


@pytest.fixture
def changed(tmp_path: Path) -> Iterator[tuple[Course, TestClient, str]]:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE, catalogue)
    course = open_course(tmp_path / "home", catalogue=catalogue)
    course.ctx._catalogue = None  # load the copy through the service: its versions are kept
    old = course.ctx.catalogue.assessments[ASSESSMENT].fingerprint
    change_version(catalogue / ASSESSMENT)
    reload_catalogue(course.ctx)
    assert course.ctx.catalogue.assessments[ASSESSMENT].fingerprint != old
    with TestClient(create_app(course.ctx.settings, ctx=course.ctx)) as client:
        yield course, client, old


def auth(course: Course, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {course.tokens[who]}"}


def test_every_version_with_submissions_is_kept(changed: tuple[Course, TestClient, str]) -> None:
    course, _client, old = changed
    kept = archived_versions(course.ctx, ASSESSMENT)
    assert [v for v, _ in kept] == ["1.0.0", "2.0.0"] and kept[0][1] == old
    past = assessment_for(course.ctx, ASSESSMENT, old)
    assert past is not None and past.fingerprint == old and past.spec.version == "1.0.0"


def test_a_past_submission_opens_after_the_change(changed: tuple[Course, TestClient, str]) -> None:
    course, client, _old = changed
    staff = auth(course, "grace")
    page = client.get(f"/instructor/submissions/{course.submission}", headers=staff)
    assert page.status_code == 200, page.text
    assert 'data-cell="explore/interpretation"' in page.text
    cells = client.get(f"/api/v1/submissions/{course.submission}/cells", headers=staff)
    assert cells.status_code == 200 and cells.json()[0]["cell"] == MANUAL_CELL[1]
    book = client.get(f"/api/v1/instructor/gradebook/{ASSESSMENT}", headers=staff).json()
    (row,) = book["rows"]
    assert row["latest"]["submission"] == course.submission and row["latest"]["version"] == "1.0.0"
    link = client.get(f"/instructor/submissions/{row['latest']['submission']}", headers=staff)
    assert link.status_code == 200


def test_a_past_submission_is_graded_by_hand_with_its_version(
    changed: tuple[Course, TestClient, str],
) -> None:
    course, client, _old = changed
    staff = auth(course, "grace")
    saved = client.put(CELL_URL.format(course.submission), json={"score": 2}, headers=staff)
    assert saved.status_code == 200, saved.text
    result = saved.json()["result"]
    assert result["passed"] and result["assessment_version"] == "1.0.0" and result["credential"]
    csv = client.get(f"/api/v1/instructor/gradebook/{ASSESSMENT}/gradebook.csv", headers=staff)
    header, line = csv.text.strip().splitlines()
    assert header.endswith(",latest_version") and line.endswith(",1.0.0")
    assert ",True," in line  # the manual grade that passed it is exported


def test_regrading_is_previewed_then_explicit(changed: tuple[Course, TestClient, str]) -> None:
    from tests.nbcred.web.conftest import grade_queued

    course, client, _old = changed
    staff = auth(course, "grace")
    page = client.get(f"/instructor/submissions/{course.submission}", headers=staff).text
    assert 'id="version-note"' in page and "now has version 2.0.0" in page
    preview = client.get(f"/api/v1/submissions/{course.submission}/regrade", headers=staff).json()
    assert preview["from_version"] == "1.0.0" and preview["to_version"] == "2.0.0"
    assert "version 1.0.0 → 2.0.0" in preview["changes"] and "pass threshold 70% → 80%" in preview["changes"]
    shown = client.get(f"/instructor/submissions/{course.submission}/regrade", headers=staff)
    assert shown.status_code == 200 and "pass threshold 70% → 80%" in shown.text
    assert client.get(f"/api/v1/submissions/{course.submission}/regrade",
                      headers=auth(course, "ada")).status_code == 403
    queued = client.post(f"/api/v1/submissions/{course.submission}/regrade", headers=staff)
    assert queued.status_code == 202 and queued.json()["status"] == "queued"
    again = client.post(f"/api/v1/submissions/{course.submission}/regrade", headers=staff)
    assert again.json()["id"] == queued.json()["id"]  # one regrade, however often it is asked for
    assert grade_queued(course.ctx) == ["graded"]
    fresh = client.get(f"/api/v1/submissions/{queued.json()['id']}", headers=staff).json()
    assert fresh["result"]["assessment_version"] == "2.0.0" and fresh["attempt"] == 1
    old = client.get(f"/api/v1/submissions/{course.submission}", headers=staff).json()
    assert old["result"]["assessment_version"] == "1.0.0"  # the old grading stays as it was
    up_to_date = client.get(f"/api/v1/submissions/{queued.json()['id']}/regrade", headers=staff).json()
    assert up_to_date["up_to_date"] and up_to_date["changes"] == []
