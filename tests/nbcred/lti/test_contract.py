"""The LTI 1.3 contract end to end over HTTP, against ``nbcred serve`` and a platform built on
``lti1p3platform``: registration by the command line, login → launch → the assessment page,
an API token for the launched learner, a graded submission's score posted to the line item
(validated against AGS 2.0) and nothing new for the same content again; the deep-linking picker;
a roster sync; and the launches that must be refused with no session."""

from __future__ import annotations

import re
import time
from pathlib import Path
from urllib.parse import unquote

import httpx

from tests.nbcred.lti.ags import check_score
from tests.nbcred.lti.conftest import ROOT, Tool, launch, launch_form
from tests.nbcred.lti.platform import INSTRUCTOR, Scenario

SAMPLE = ROOT / "notebooks" / "pandas-cleaning" / "alice" / "cleaning.ipynb"
TITLE = "Cleaning a dataset with pandas"


def wait_for(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return bool(condition())


def submission_done(client: httpx.Client, token: str, submission: str) -> bool:
    state = client.get(f"/api/v1/submissions/{submission}", headers={"Authorization": f"Bearer {token}"})
    return state.json()["status"] in ("graded", "error")


def test_launch_grade_and_score_posted(tool: Tool) -> None:
    platform = tool.platform
    learner = Scenario(user_id="lms-user-42", name="Ada Lovelace", email="ada@uni.example",
                       custom={"assessment": "pandas-cleaning"})
    with httpx.Client(base_url=tool.base, timeout=30) as client:
        landed = launch(client, platform, "ada", learner)
        assert landed.status_code == 200, landed.text
        assert str(landed.url) == f"{tool.base}/assessments/pandas-cleaning"
        assert f"<h1>{TITLE}</h1>" in landed.text
        assert "ada@uni.example" not in landed.text or "Ada Lovelace" in landed.text
        me = client.get("/api/v1/me")
        assert me.status_code == 200 and me.json()["email"] == "ada@uni.example"

        token = tool.cli("user", "token", "ada@uni.example").stdout.strip().split()[-1]
        with SAMPLE.open("rb") as notebook:
            sent = client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {token}"},
                               data={"assessment": "pandas-cleaning"},
                               files={"files": ("cleaning.ipynb", notebook, "application/json")})
        assert sent.status_code == 202, sent.text
        assert wait_for(lambda: submission_done(client, token, sent.json()["id"]), 300), tool.log.read_text()
        graded_at = time.monotonic()
        assert wait_for(lambda: platform.received.scores, 60), tool.log.read_text()
        assert time.monotonic() - graded_at < 60
        item, headers, body = platform.received.scores[0]
        assert item == "item-1"
        check_score(headers, body, user_id="lms-user-42")
        result = client.get(f"/api/v1/submissions/{sent.json()['id']}",
                            headers={"Authorization": f"Bearer {token}"}).json()["result"]
        assert body["gradingProgress"] in ("FullyGraded", "PendingManual")
        assert body["activityProgress"] == "Completed"
        assert body["scoreGiven"] == result["score"] and body["scoreMaximum"] == result["max_score"]
        assert platform.received.tokens and platform.received.tokens[0]["grant_type"] == "client_credentials"

        with SAMPLE.open("rb") as notebook:  # the same content again: not graded, nothing posted
            again = client.post("/api/v1/submissions", headers={"Authorization": f"Bearer {token}"},
                                data={"assessment": "pandas-cleaning"},
                                files={"files": ("cleaning.ipynb", notebook, "application/json")})
        assert again.status_code == 202 and again.json()["duplicate"] is True
        time.sleep(4)
        assert len(platform.received.scores) == 1
    listed = tool.cli("lti", "scores").stdout
    assert "posted: 1" in listed


def test_refused_launches_open_no_session(tool: Tool) -> None:
    from tests.nbcred.lti.platform import rsa_pem

    platform = tool.platform
    stranger_key = (rsa_pem()[0], "someone-elses-key")
    cases = {
        "unknown-key": Scenario("u1", "Eve", "eve@uni.example", custom={"assessment": "pandas-cleaning"},
                                signing_key=stranger_key),
        "wrong-aud": Scenario("u2", "Eve", "eve@uni.example", custom={"assessment": "pandas-cleaning"},
                              tamper=lambda m: {**m, "aud": "another-tool", "azp": "another-tool"}),
        "deployment": Scenario("u3", "Eve", "eve@uni.example", custom={"assessment": "pandas-cleaning"},
                               deployment_id="not-registered"),
        "expired": Scenario("u4", "Eve", "eve@uni.example", custom={"assessment": "pandas-cleaning"},
                            tamper=lambda m: {**m, "exp": int(time.time()) - 3600,
                                              "iat": int(time.time()) - 7200}),
    }
    for hint, scenario in cases.items():
        with httpx.Client(base_url=tool.base, timeout=30) as client:
            answer = launch(client, platform, hint, scenario)
            assert 400 <= answer.status_code < 500, (hint, answer.status_code, answer.text)
            assert "nbcred_session" not in client.cookies, hint
            assert client.get("/api/v1/me").status_code == 401, hint

    # a reused nonce / replayed state: the same id_token and state posted twice
    with httpx.Client(base_url=tool.base, timeout=30) as client:
        start = client.get(platform.login_url("replay", Scenario(
            "u5", "Grace", "grace@uni.example", custom={"assessment": "pandas-cleaning"})))
        form = client.get(start.headers["location"])
        action, fields = launch_form(form.text)
        assert client.post(action, data=fields, follow_redirects=True).status_code == 200
    with httpx.Client(base_url=tool.base, timeout=30) as replayer:
        replayed = replayer.post(action, data=fields, follow_redirects=True)
        assert replayed.status_code == 400 and "already used" in replayed.text
        assert "nbcred_session" not in replayer.cookies
        # the same id_token (same nonce) with a fresh state of a new login: the nonce is not that login's
        fresh = replayer.get(platform.login_url("replay2", Scenario("u5", "Grace", "grace@uni.example")))
        state = re.search(r"state=([^&]+)", fresh.headers["location"])
        assert state is not None
        reused = replayer.post(action, data={"id_token": fields["id_token"],
                                             "state": unquote(state.group(1))})
        assert reused.status_code == 401 and "nonce" in reused.text
        assert "nbcred_session" not in replayer.cookies


def test_deep_linking_and_roster(tool: Tool, tmp_path: Path) -> None:
    platform = tool.platform
    teacher = Scenario("lms-teacher-1", "Grace Hopper", "grace@uni.example", roles=[INSTRUCTOR],
                       deep_linking=True, lineitem=None)
    with httpx.Client(base_url=tool.base, timeout=30) as client:
        picker = launch(client, platform, "teacher", teacher)
        assert picker.status_code == 200, picker.text
        assert str(picker.url).startswith(f"{tool.base}/lti/deep-link?request=")
        assert TITLE in picker.text
        forms = re.findall(r'<form method="post" action="/lti/deep-link".*?</form>', picker.text, re.S)
        chosen = next(f for f in forms if 'value="pandas-cleaning"' in f)
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', chosen))
        answer = client.post("/lti/deep-link", data=fields)
        assert answer.status_code == 200, answer.text
        action = re.search(r'<form method="post" action="([^"]+)" id="deep-link-return">', answer.text)
        assert action is not None and action.group(1) == f"{platform.issuer}/deep_link_return"
        jwt = re.search(r'name="JWT" value="([^"]+)"', answer.text)
        assert jwt is not None
        back = httpx.post(action.group(1), data={"JWT": jwt.group(1)})
        assert back.status_code == 200, back.text
    (items,) = platform.received.deep_links
    assert len(items) == 1 and items[0]["type"] == "ltiResourceLink"
    assert items[0]["custom"] == {"assessment": "pandas-cleaning"}
    assert items[0]["lineItem"]["scoreMaximum"] > 0 and items[0]["lineItem"]["label"] == TITLE

    platform.members = [
        {"user_id": "lms-user-42", "name": "Ada Lovelace", "email": "ada@uni.example",
         "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"], "status": "Active"},
        {"user_id": "lms-user-43", "name": "Alan Turing", "email": "alan@uni.example",
         "roles": ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]},
        {"user_id": "lms-teacher-1", "name": "Grace Hopper", "email": "grace@uni.example",
         "roles": [INSTRUCTOR]},
    ]
    synced = tool.cli("lti", "sync-roster", "--issuer", platform.issuer, "--context", "course-101")
    for name, email in (("Ada Lovelace", "ada@uni.example"), ("Alan Turing", "alan@uni.example"),
                        ("Grace Hopper", "grace@uni.example")):
        assert name in synced.stdout and email in synced.stdout, synced.stdout
    assert "3 members" in synced.stdout and "holds 2 learners" in synced.stdout
