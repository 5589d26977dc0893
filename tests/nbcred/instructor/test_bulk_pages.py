"""Bulk issue, revoke and suspend from a CSV upload on the instructor pages: a preview that changes
nothing, then a confirmation that acts once (a second confirmation issues nothing twice)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from nbcred.mail.outbox import letter_of
from nbcred.store.models import IssuedCredential, MailMessage
from nbcred.web.app import create_app
from tests.nbcred.instructor.instructor_course import Course, open_course

ROSTER = ("learner,name,email,achievement\n"
          "zoe,Zoe Q,zoe@example.org,pandas-cleaning\n"
          "yan,Yan R,yan@example.org,pandas-cleaning\n")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Course, TestClient]]:
    course = open_course(tmp_path_factory.mktemp("bulk-pages") / "home")
    with TestClient(create_app(course.ctx.settings, ctx=course.ctx)) as client:
        yield course, client


def staff(course: Course) -> dict[str, str]:
    return {"Accept": "text/html", "Authorization": f"Bearer {course.tokens['grace']}"}


def statuses(course: Course) -> dict[str, str]:
    with course.ctx.store.session() as session:
        return {r.learner_id: r.status for r in session.scalars(select(IssuedCredential))}


def upload(web: tuple[Course, TestClient], action: str, text: str) -> Any:
    course, client = web
    return client.post("/instructor/bulk/preview", headers=staff(course), data={"action": action},
                       files={"file": ("list.csv", text.encode(), "text/csv")})


def confirm(web: tuple[Course, TestClient], page: Any, **extra: str) -> Any:
    course, client = web
    token = re.search(r'name="token" value="([0-9a-f]{32})"', page.text)
    assert token, page.text
    action = re.search(r'name="action" value="(\w+)"', page.text.split('id="bulk-confirm"')[1])
    assert action
    return client.post("/instructor/bulk/confirm", headers=staff(course),
                       data={"token": token.group(1), "action": action.group(1), **extra})


def test_a_broken_roster_is_explained_and_cannot_be_confirmed(web: tuple[Course, TestClient]) -> None:
    page = upload(web, "issue", "learner,name,achievement\nzoe,Zoe,pandas-cleaning\n")
    assert page.status_code == 200
    assert "Nothing can be done with this file" in page.text and "email" in page.text
    assert 'id="bulk-confirm"' not in page.text
    assert statuses(web[0]) == {}


def test_issue_then_revoke_and_suspend_with_previews(web: tuple[Course, TestClient]) -> None:
    course, _ = web
    shown = upload(web, "issue", ROSTER)
    assert "<strong>2</strong> rows to issue" in shown.text and "Zoe Q" in shown.text
    assert statuses(course) == {}  # a preview changes nothing
    done = confirm(web, shown)
    assert done.status_code == 200 and "Issued 2, skipped 0" in done.text
    again = confirm(web, shown)
    assert "Issued 0, skipped 2" in again.text  # confirming twice issues nothing twice
    assert statuses(course) == {"zoe": "active", "yan": "active"}

    with course.ctx.store.session() as session:
        ids = {r.learner_id: r.id for r in session.scalars(select(IssuedCredential))}
    listing = f"credential_id\n{ids['zoe']}\nurn:uuid:00000000-0000-0000-0000-000000000000\n"
    shown = upload(web, "revoke", listing)
    assert "<strong>1</strong> credential to revoke; 1 id not issued here" in shown.text
    assert "cannot be undone" in shown.text and statuses(course)["zoe"] == "active"
    assert confirm(web, shown).status_code == 422  # a reason is required
    done = confirm(web, shown, reason="plagiarism confirmed")
    assert done.status_code == 200 and "1 credential revoked" in done.text
    assert statuses(course) == {"zoe": "revoked", "yan": "active"}

    shown = upload(web, "suspend", f"credential_id\n{ids['yan']}\n")
    done = confirm(web, shown, reason="under review")
    assert "1 credential suspended" in done.text
    assert statuses(course) == {"zoe": "revoked", "yan": "suspended"}


def test_learners_cannot_use_bulk_pages(web: tuple[Course, TestClient]) -> None:
    course, client = web
    learner = {"Accept": "text/html", "Authorization": f"Bearer {course.tokens['ada']}"}
    assert client.get("/instructor/bulk", headers=learner).status_code == 403
    refused = client.post("/instructor/bulk/preview", headers=learner, data={"action": "issue"},
                          files={"file": ("list.csv", ROSTER.encode(), "text/csv")})
    assert refused.status_code == 403


def test_issue_from_the_page_can_mail_claim_links(web: tuple[Course, TestClient]) -> None:
    course, _ = web
    roster = ("learner,name,email,achievement\n"
              "xia,Xia S,xia@example.org,pandas-cleaning\n"
              "wes,Wes T,wes@example.org,pandas-cleaning\n")
    shown = upload(web, "issue", roster)
    assert 'name="notify"' in shown.text.split('id="bulk-confirm"')[1]
    first = confirm(web, shown, notify="true").text
    assert "Issued 2, skipped 0" in first and "E-mails queued: 2" in first
    again = confirm(web, shown, notify="true").text
    assert "Issued 0, skipped 2" in again and "E-mails queued: 0" in again
    with course.ctx.store.session() as session:
        mails = [(m.recipient, letter_of(m).text) for m in session.scalars(select(MailMessage))
                 if m.recipient in {"xia@example.org", "wes@example.org"}]
    assert sorted(r for r, _ in mails) == ["wes@example.org", "xia@example.org"]  # once each
    assert all("/claim/" in body for _, body in mails)
