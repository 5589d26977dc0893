"""Scores to the LMS gradebook, through the durable queue, against the test platform: a grading
from before the first launch, a manual grade that changes it (PendingManual → FullyGraded), a
platform that is down (the score waits and goes once), a line item created when the link has
none (and never twice), a scope the platform withholds (failed with the reason, posted again
from the passback page), and the best-attempt policy."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from nbcred.service import lti, manual
from nbcred.store.models import LtiScore
from nbcred.web.app import create_app
from tests.browsing import free_port, serve
from tests.nbcred.instructor.instructor_course import (
    ASSESSMENT,
    MANUAL_CELL,
    Course,
    graded_submission,
    open_course,
)
from tests.nbcred.lti.ags import check_score
from tests.nbcred.lti.conftest import launch
from tests.nbcred.lti.platform import CLIENT_ID, DEPLOYMENT_ID, Scenario, TestPlatform, running_platform

ADA = Scenario("lms-ada", "Ada", "ada@example.org", custom={"assessment": ASSESSMENT})


@dataclass
class Served:
    base: str
    course: Course
    platform: TestPlatform


@pytest.fixture
def served(tmp_path: Path, db_url: str) -> Iterator[Served]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    course = open_course(tmp_path / "home", db_url, public_base_url=base, lti_poll_seconds=0.5,
                         lti_max_tries=3)
    with running_platform(base) as platform:
        lti.add_platform(course.ctx, issuer=platform.issuer, client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID,
                         auth_login_url=f"{platform.issuer}/authorize",
                         auth_token_url=f"{platform.issuer}/token", keyset_url=f"{platform.issuer}/jwks")
        with serve(create_app(course.ctx.settings, ctx=course.ctx), port=port):
            yield Served(base, course, platform)


def wait_scores(platform: TestPlatform, count: int, seconds: float = 20) -> list[tuple[str, dict, Any]]:
    deadline = time.monotonic() + seconds
    while len(platform.received.scores) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return list(platform.received.scores)


def statuses(served: Served) -> list[str]:
    with served.course.ctx.store.session() as session:
        return list(session.scalars(select(LtiScore.status).order_by(LtiScore.id)))


def test_manual_grade_and_an_lms_that_is_down(served: Served) -> None:
    platform, course = served.platform, served.course
    with httpx.Client(base_url=served.base, timeout=30) as client:
        assert launch(client, platform, "ada", ADA).status_code == 200
    (first,) = wait_scores(platform, 1)
    item, headers, body = first
    check_score(headers, body, user_id="lms-ada")
    assert item == "item-1" and body["gradingProgress"] == "PendingManual"
    before = body["scoreGiven"]

    notebook, cell = MANUAL_CELL
    manual.grade_cell(course.ctx, course.account("grace"), course.submission, notebook=notebook,
                      grade_id=cell, score=2, comment="good")
    _, _, second = wait_scores(platform, 2)[1]
    assert second["gradingProgress"] == "FullyGraded" and second["scoreGiven"] == before + 2
    assert second["timestamp"] > body["timestamp"]

    platform.down = True
    manual.grade_cell(course.ctx, course.account("grace"), course.submission, notebook=notebook,
                      grade_id=cell, score=1, comment="on reflection")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with course.ctx.store.session() as session:
            waiting = session.scalars(select(LtiScore).where(LtiScore.status == "pending",
                                                             LtiScore.last_error.is_not(None))).first()
            if waiting is not None:
                assert "503" in (waiting.last_error or "")
                break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the score did not wait for the platform: {statuses(served)}")
    assert len(platform.received.scores) == 2
    platform.down = False
    report = lti.post_scores_now(course.ctx)
    assert report.posted + len(wait_scores(platform, 3)) >= 3
    time.sleep(1.5)
    scores = platform.received.scores
    assert len(scores) == 3 and scores[2][2]["scoreGiven"] == before + 1
    manual.grade_cell(course.ctx, course.account("grace"), course.submission, notebook=notebook,
                      grade_id=cell, score=1, comment="same points, another comment")
    time.sleep(1.5)
    assert len(platform.received.scores) == 3  # the same score is not posted again
    assert statuses(served) == ["posted", "posted", "posted"]


def test_line_item_created_once_and_a_withheld_scope(served: Served) -> None:
    platform, course = served.platform, served.course
    bob = course.ctx
    from nbcred.service.users import account_for_token, add_user, create_token

    add_user(bob, email="bob@example.org", name="Bob", role="learner")
    learner = account_for_token(bob, create_token(bob, email="bob@example.org").token)
    assert learner is not None
    graded_submission(bob, learner, content="bob")
    platform.withheld = {"https://purl.imsglobal.org/spec/lti-ags/scope/score"}
    for hint, who in (("ada", ADA), ("bob", Scenario("lms-bob", "Bob", "bob@example.org",
                                                     custom={"assessment": ASSESSMENT}))):
        who.lineitems_only, who.resource_link_id = True, "link-container"
        with httpx.Client(base_url=served.base, timeout=30) as client:
            assert launch(client, platform, hint, who).status_code == 200
    deadline = time.monotonic() + 20
    while statuses(served) != ["failed", "failed"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert statuses(served) == ["failed", "failed"]
    assert len(platform.received.lineitems) == 1  # created for the link once, found the second time
    (created,) = platform.received.lineitems
    assert created["resourceId"] == f"nbcred:{ASSESSMENT}" and created["scoreMaximum"] > 0
    rows = lti.list_scores(course.ctx, status="failed")
    assert all("did not grant the scope" in (r.last_error or "") for r in rows)

    platform.withheld = set()
    with httpx.Client(base_url=served.base, timeout=30) as client:
        grace = {"Authorization": f"Bearer {course.tokens['grace']}"}
        page = client.get("/instructor/lti?status=failed", headers=grace)
        assert page.status_code == 200 and "did not grant the scope" in page.text
        assert "post again" in page.text
        again = client.post("/instructor/lti/retry", headers=grace)
        assert again.status_code == 303
    got = wait_scores(platform, 2)
    assert sorted(body["userId"] for _, _, body in got) == ["lms-ada", "lms-bob"]
    assert {item for item, _, _ in got} == {"created-1"}
    assert statuses(served) == ["posted", "posted"]


def test_best_attempt_policy(tmp_path: Path) -> None:
    course = open_course(tmp_path / "home", lti_score_policies={ASSESSMENT: "best"})
    from nbcred.lti.scores import chosen_grading
    from nbcred.service.users import account_for_token

    learner = account_for_token(course.ctx, course.tokens["ada"])
    assert learner is not None
    graded_submission(course.ctx, learner, content="two")  # a second attempt, same points
    notebook, cell = MANUAL_CELL
    manual.grade_cell(course.ctx, course.account("grace"), course.submission, notebook=notebook,
                      grade_id=cell, score=2)  # the first attempt is now the better one
    with course.ctx.store.session() as session:
        best = chosen_grading(session, learner.learner, ASSESSMENT, "best")
        latest = chosen_grading(session, learner.learner, ASSESSMENT, "latest")
        assert best is not None and latest is not None
        assert best.score == latest.score + 2 and best.origin == "manual" and latest.origin == "auto"
    assert course.ctx.settings.score_policy(ASSESSMENT) == "best"
    assert course.ctx.settings.score_policy("other") == "latest"


def test_client_assertion_audience_and_key_rotation(served: Served) -> None:
    from joserfc import jws, jwt
    from joserfc.jwk import KeySet

    platform, ctx = served.platform, served.course.ctx
    audience = "https://api.brightspace.com/auth/token"
    lti.add_platform(ctx, issuer=platform.issuer, client_id=CLIENT_ID, deployment_id=DEPLOYMENT_ID,
                     auth_login_url=f"{platform.issuer}/authorize", auth_token_url=f"{platform.issuer}/token",
                     keyset_url=f"{platform.issuer}/jwks", token_audience=audience)
    with httpx.Client(base_url=served.base, timeout=30) as client:
        assert launch(client, platform, "ada", ADA).status_code == 200
        published = KeySet.import_key_set(client.get("/lti/jwks.json").json())
    wait_scores(platform, 1)
    assertion = platform.received.tokens[0]["client_assertion"]
    claims = jwt.decode(assertion, published, algorithms=["RS256"]).claims  # signed by a published key
    assert claims["aud"] == audience and claims["iss"] == claims["sub"] == CLIENT_ID
    assert platform.received.tokens[0]["client_assertion_type"] == (
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")

    first_kid = jws.extract_compact(assertion.encode()).headers()["kid"]
    new_kid = lti.rotate_key(ctx)
    kids = [k["kid"] for k in lti.jwks(ctx)["keys"]]
    assert kids == [first_kid, new_kid]  # the previous key stays published through the rotation
    token = lti.sign(ctx, {"probe": 1})
    assert jws.extract_compact(token.encode()).headers()["kid"] == new_kid
    third = lti.rotate_key(ctx)
    assert [k["kid"] for k in lti.jwks(ctx)["keys"]] == [new_kid, third]  # the oldest is retired


def test_an_instructors_launch_syncs_the_roster(served: Served) -> None:
    from nbcred.store.models import CohortMember
    from tests.nbcred.lti.platform import INSTRUCTOR, LEARNER

    platform, ctx = served.platform, served.course.ctx
    platform.members = [
        {"user_id": "lms-ada", "name": "Ada", "email": "ada@example.org", "roles": [LEARNER]},
        {"user_id": "lms-new", "name": "Nadia New", "email": "nadia@uni.example", "roles": [LEARNER]},
        {"user_id": "lms-gone", "name": "Gone", "email": "gone@uni.example", "roles": [LEARNER],
         "status": "Inactive"},
        {"user_id": "lms-grace", "name": "Grace", "email": "grace@example.org", "roles": [INSTRUCTOR]},
    ]
    teacher = Scenario("lms-grace", "Grace", "grace@example.org", roles=[INSTRUCTOR],
                       custom={"assessment": ASSESSMENT}, context_id="course-7")
    with httpx.Client(base_url=served.base, timeout=30) as client:
        landed = launch(client, platform, "teacher", teacher)
        assert landed.status_code == 200 and client.get("/api/v1/me").json()["role"] == "instructor"
    deadline = time.monotonic() + 20
    members: list[tuple[str, str]] = []
    while time.monotonic() < deadline and len(members) < 2:
        with ctx.store.session() as session:
            members = sorted(session.execute(select(CohortMember.email, CohortMember.learner_id)
                                             .where(CohortMember.cohort_id.like("lti-%-course-7"))).tuples())
        time.sleep(0.3)
    assert [email for email, _ in members] == ["ada@example.org", "nadia@uni.example"]
    ada_learner = served.course.account("ada").learner
    assert dict(members)["ada@example.org"] == ada_learner  # matched by e-mail, not a second learner
