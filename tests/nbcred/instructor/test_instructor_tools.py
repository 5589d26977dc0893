"""Instructor pages people rely on: the grading form (model answer without nbgrader's markers, no
score filled in for an ungraded cell), tampered cells shown, credential search by learner name and
badge name, and revoke/reissue asking for confirmation before acting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nbcred.service import manual
from nbcred.service.users import account_for_token, add_user, create_token
from nbcred.web.app import create_app
from tests.nbcred.instructor.instructor_course import (
    ASSESSMENT,
    MANUAL_CELL,
    Course,
    graded_submission,
    open_course,
)

PAGE = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Course, TestClient, dict[str, Any]]]:
    course = open_course(tmp_path_factory.mktemp("instructor-tools") / "home")
    ctx = course.ctx
    add_user(ctx, email="bob@example.org", name="Robert Tables", role="learner")
    bob = account_for_token(ctx, create_token(ctx, email="bob@example.org").token)
    assert bob is not None
    tampered = graded_submission(ctx, bob, content="two", tampered=("explore/load",))
    passed = manual.grade_cell(ctx, course.account("grace"), course.submission, notebook=MANUAL_CELL[0],
                               grade_id=MANUAL_CELL[1], score=2)
    with TestClient(create_app(ctx.settings, ctx=ctx)) as client:
        yield course, client, {"tampered": tampered, "credential": passed.credential}


def staff(course: Course) -> dict[str, str]:
    return {**PAGE, "Authorization": f"Bearer {course.tokens['grace']}"}


def test_grading_form_shows_the_model_answer_without_markers_and_no_score(web: Any) -> None:
    course, client, made = web
    page = client.get(f"/instructor/submissions/{made['tampered']}", headers=staff(course))
    assert page.status_code == 200
    html = page.text
    assert "Study time and score are strongly positively correlated" in html
    assert "BEGIN SOLUTION" not in html and "END SOLUTION" not in html
    field = html.split('name="score"')[1].split(">")[0]
    assert 'value=""' in field and "required" in field  # nothing pre-filled: the grader must choose


def test_tampered_cells_are_flagged_in_the_gradebook_and_on_the_submission(web: Any) -> None:
    course, client, made = web
    book = client.get(f"/instructor/gradebook/{ASSESSMENT}", headers=staff(course)).text
    row = next(r for r in book.split("<tr") if "bob" in r)
    assert "tampered: 1 cell" in row and "explore/load" in row
    clean = next(r for r in book.split("<tr") if "ada" in r)
    assert "tampered" not in clean
    page = client.get(f"/instructor/submissions/{made['tampered']}", headers=staff(course)).text
    assert 'id="tampered"' in page and "explore/load" in page.split('id="tampered"')[1]


@pytest.mark.parametrize(("query", "found"), [
    ("Ada", True), ("ada@example", True), ("exploratory statistics", True), ("Statistics", True),
    ("Robert", False), ("Brain Surgery", False)])
def test_credential_search_finds_learner_and_badge_names(web: Any, query: str, found: bool) -> None:
    course, client, made = web
    hits = client.get("/api/v1/instructor/credentials", params={"q": query},
                      headers={"Authorization": f"Bearer {course.tokens['grace']}"}).json()
    assert [h["id"] for h in hits] == ([made["credential"]] if found else [])
    page = client.get("/instructor/credentials", params={"q": query}, headers=staff(course)).text
    assert (made["credential"] in page) is found
    if found:
        assert "Ada &lt;ada@example.org&gt;" in page  # the learner's name, not only an id


def test_revoke_asks_for_confirmation_first(web: Any) -> None:
    course, client, made = web
    target = made["credential"]
    url = f"/instructor/credentials/{target}/revoke"
    asked = client.post(url, data={"reason": "copied work"}, headers=staff(course), follow_redirects=False)
    assert asked.status_code == 200 and 'id="confirm-action"' in asked.text
    assert "cannot be undone" in asked.text and 'value="copied work"' in asked.text
    status = client.get("/api/v1/instructor/credentials", params={"q": target},
                        headers={"Authorization": f"Bearer {course.tokens['grace']}"}).json()[0]["status"]
    assert status == "active"  # nothing happened yet
    done = client.post(url, data={"reason": "copied work", "confirmed": "yes"}, headers=staff(course),
                       follow_redirects=False)
    assert done.status_code == 303 and "revoked" in done.headers["location"]
    status = client.get("/api/v1/instructor/credentials", params={"q": target},
                        headers={"Authorization": f"Bearer {course.tokens['grace']}"}).json()[0]["status"]
    assert status == "revoked"
