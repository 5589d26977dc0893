"""Instructor routes: the manual-grading contract, gradebook, pictures, CSV, catalogue, credentials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nbcred.web.app import create_app
from tests.nbcred.instructor.instructor_course import ASSESSMENT, MANUAL_CELL, Course, open_course

CELL_URL = "/api/v1/submissions/{}/cells/explore/interpretation"


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Course, TestClient]]:
    course = open_course(tmp_path_factory.mktemp("instructor-web") / "home")
    with TestClient(create_app(course.ctx.settings, ctx=course.ctx)) as client:
        yield course, client


def auth(course: Course, who: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {course.tokens[who]}"}


def test_put_cell_grade_contract(web: tuple[Course, TestClient]) -> None:
    course, client = web
    url = CELL_URL.format(course.submission)
    body = {"score": 2, "comment": "Sound reasoning."}
    assert client.put(url, json=body).status_code == 401
    assert client.put(url, json=body, headers=auth(course, "ada")).status_code == 403
    too_many = client.put(url, json={"score": 2.5}, headers=auth(course, "grace"))
    assert too_many.status_code == 422 and "outside 0..2" in too_many.json()["detail"]
    assert client.put(url, json={"comment": "no score"}, headers=auth(course, "grace")).status_code == 422
    saved = client.put(url, json=body, headers=auth(course, "grace"))
    assert saved.status_code == 200, saved.text
    shown = client.get(f"/api/v1/submissions/{course.submission}", headers=auth(course, "ada")).json()
    assert saved.json()["result"] == shown["result"]
    assert shown["result"]["passed"] and shown["result"]["credential"]
    cell = next(c for c in shown["result"]["cells"] if c["cell"] == MANUAL_CELL[1])
    assert cell["score"] == 2 and not cell["needs_manual"]
    feedback = client.get(f"/api/v1/submissions/{course.submission}/feedback", headers=auth(course, "ada"))
    assert "Sound reasoning." in feedback.text
    cells = client.get(f"/api/v1/submissions/{course.submission}/cells", headers=auth(course, "grace")).json()
    assert cells[0]["grader"] == "grace@example.org" and cells[0]["comment"] == "Sound reasoning."


def test_gradebook_csv_and_pictures(web: tuple[Course, TestClient]) -> None:
    course, client = web
    staff = auth(course, "alan")
    book = client.get(f"/api/v1/instructor/gradebook/{ASSESSMENT}", headers=staff).json()
    assert [r["learner"] for r in book["rows"]] == [course.account("ada").learner]
    assert set(book["competencies"]) == set(book["rows"][0]["latest"]["competencies"])
    assert book["difficulty"]["explore/test_welch_t"] == 0
    assert book["difficulty"]["explore/test_pearson_r"] == 1
    csv = client.get(f"/api/v1/instructor/gradebook/{ASSESSMENT}/gradebook.csv", headers=staff)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.startswith("learner,attempts")
    for kind in ("heatmap", "scores", "difficulty"):
        png = client.get(f"/api/v1/instructor/gradebook/{ASSESSMENT}/charts/{kind}.png", headers=staff)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    svg = client.get(f"/api/v1/instructor/gradebook/{ASSESSMENT}/charts/heatmap.svg", headers=staff)
    assert b"<svg" in svg.content
    failed = client.get(f"/api/v1/instructor/gradebook/{ASSESSMENT}?status=failed", headers=staff).json()
    page = client.get(f"/instructor/gradebook/{ASSESSMENT}", headers=staff)
    assert page.status_code == 200 and 'id="heatmap"' in page.text
    assert failed["rows"] == [] or not failed["rows"][0]["latest"]["passed"]
    bad_sort = client.get(f"/api/v1/instructor/gradebook/{ASSESSMENT}?sort=nope", headers=staff)
    assert bad_sort.status_code == 422
    assert client.get("/api/v1/instructor/gradebook/x?cohort=none", headers=staff).status_code == 404


def test_catalogue_versions_and_reload(web: tuple[Course, TestClient]) -> None:
    course, client = web
    staff = auth(course, "grace")
    entries = client.get("/api/v1/instructor/catalogue", headers=staff).json()
    stats = next(e for e in entries if e["id"] == ASSESSMENT)
    assert stats["manual_cells"] == 1 and [v["live"] for v in stats["versions"]] == [True]
    reloaded = client.post("/api/v1/instructor/catalogue/reload", headers=staff)
    assert reloaded.status_code == 200 and {e["id"] for e in reloaded.json()} == {e["id"] for e in entries}
    assert "Reload the catalogue" in client.get("/instructor", headers=staff).text
    assert client.get("/instructor", headers=auth(course, "ada")).status_code == 403


def test_credentials_search_and_revoke_with_a_reason(web: tuple[Course, TestClient]) -> None:
    course, client = web
    staff = auth(course, "grace")
    client.put(CELL_URL.format(course.submission), json={"score": 2}, headers=staff)
    found = client.get("/api/v1/instructor/credentials?q=exploratory", headers=staff).json()
    assert len(found) == 1
    target = found[0]["id"]
    no_reason = client.post(f"/api/v1/instructor/credentials/{target}/suspend", json={"reason": ""},
                            headers=staff)
    assert no_reason.status_code == 422
    suspended = client.post(f"/api/v1/instructor/credentials/{target}/suspend",
                            json={"reason": "appeal pending"}, headers=staff).json()
    assert suspended["status"] == "suspended" and suspended["reason"] == "appeal pending"
    document = client.get(f"/api/v1/credentials/{target}/download", headers=auth(course, "ada")).json()
    checked = client.post("/api/v1/credentials/verify", json=document).json()
    assert "suspended" in str(checked["checks"]["status"])
    revoked = client.post(f"/api/v1/instructor/credentials/{target}/revoke",
                          json={"reason": "misconduct"}, headers=staff).json()
    assert revoked["status"] == "revoked"
    again = client.post(f"/api/v1/instructor/credentials/{target}/unsuspend", json={"reason": "x"},
                        headers=staff)
    assert again.status_code == 422 and "revoked" in again.json()["detail"]
    assert client.get("/instructor/credentials?q=ada", headers=staff).status_code == 200
    fresh = client.post(f"/api/v1/instructor/credentials/{target}/reissue",
                        json={"reason": "revoked by mistake"}, headers=staff)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["id"] != target and fresh.json()["status"] == "active"
    twice = client.post(f"/api/v1/instructor/credentials/{target}/reissue", json={"reason": "again"},
                        headers=staff)
    assert twice.status_code == 409 and fresh.json()["id"] in twice.json()["detail"]
    document = client.get(f"/api/v1/credentials/{fresh.json()['id']}/download", headers=auth(course, "ada"))
    assert client.post("/api/v1/credentials/verify", json=document.json()).json()["verified"]


def test_submission_page_shows_the_grading_form(web: tuple[Course, TestClient], tmp_path: Path) -> None:
    course, client = web
    page = client.get(f"/instructor/submissions/{course.submission}", headers=auth(course, "grace"))
    assert page.status_code == 200
    assert 'data-cell="explore/interpretation"' in page.text and "Rubric" in page.text
    assert "explore.ipynb" in page.text  # the submitted notebook, rendered
