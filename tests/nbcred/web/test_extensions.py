"""Extensions: a learner who used every attempt, or missed the due date, is told to ask; an
instructor grants extra attempts or a later due date (API and page), and the learner can submit
again — only that learner, only that assessment."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from nbcred.service.errors import Conflict
from nbcred.service.submissions import submit
from nbcred.service.users import Account, account_for_token
from nbcred.web.app import create_app
from tests.nbcred.web.conftest import Service, open_context, people, settings_for
from tests.nbcred.web.test_attempts import LIMIT, content

ASSESSMENT = "pandas-cleaning"


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    settings = settings_for(tmp_path / "home", serve_grading=False)
    ctx = open_context(settings)
    tokens = people(ctx)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        yield Service(ctx, client, tokens)


def learner(service: Service, who: str) -> Account:
    found = account_for_token(service.ctx, service.tokens[who])
    assert found is not None
    return found


def assessment_page(service: Service) -> Any:
    headers = {**service.auth("ada"), "Accept": "text/html"}
    return service.client.get(f"/assessments/{ASSESSMENT}", headers=headers)


def test_extra_attempts_granted_by_the_api_let_that_learner_submit_again(service: Service) -> None:
    ada, bob = learner(service, "ada"), learner(service, "bob")
    for variant in range(LIMIT):
        submit(service.ctx, ada, assessment_id=ASSESSMENT, files=content(variant))
    with pytest.raises(Conflict, match="ask your instructor for another attempt"):
        submit(service.ctx, ada, assessment_id=ASSESSMENT, files=content(99))
    page = assessment_page(service)
    assert 'id="attempts-left">0<' in page.text and "Ask your instructor for another attempt" in page.text

    url = f"/api/v1/instructor/assessments/{ASSESSMENT}/extensions"
    body = {"learner": "ada@example.org", "extra_attempts": 1, "reason": "illness"}
    assert service.client.post(url, json=body, headers=service.auth("ada")).status_code == 403
    granted = service.client.post(url, json=body, headers=service.auth("grace"))
    assert granted.status_code == 200, granted.text
    assert granted.json()["extra_attempts"] == 1 and granted.json()["granted_by"] == "grace@example.org"
    fourth = submit(service.ctx, ada, assessment_id=ASSESSMENT, files=content(99))
    assert fourth.attempt == LIMIT + 1
    with pytest.raises(Conflict):
        submit(service.ctx, ada, assessment_id=ASSESSMENT, files=content(100))
    for variant in range(LIMIT):  # Bob got nothing extra
        submit(service.ctx, bob, assessment_id=ASSESSMENT, files=content(variant))
    with pytest.raises(Conflict):
        submit(service.ctx, bob, assessment_id=ASSESSMENT, files=content(99))
    listed = service.client.get(url, headers=service.auth("grace")).json()
    assert [(g["learner"], g["extra_attempts"]) for g in listed] == [(ada.learner, 1)]
    unknown = service.client.post(url, json={**body, "learner": "nobody@example.org"},
                                  headers=service.auth("grace"))
    assert unknown.status_code == 404


def test_due_date_and_its_extension_from_the_page(service: Service) -> None:
    ada = learner(service, "ada")
    assessment = service.ctx.catalogue.assessments[ASSESSMENT]
    past = datetime.now(UTC) - timedelta(days=1)
    due = dataclasses.replace(assessment, spec=assessment.spec.model_copy(update={"due": past}))
    service.ctx._catalogue = dataclasses.replace(
        service.ctx.catalogue, assessments={**service.ctx.catalogue.assessments, ASSESSMENT: due})
    with pytest.raises(Conflict, match="ask your instructor for an extension"):
        submit(service.ctx, ada, assessment_id=ASSESSMENT, files=content(1))
    page = assessment_page(service)
    assert "The due date has passed" in page.text

    later = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    staff = {**service.auth("grace"), "Accept": "text/html"}
    form = service.client.get(f"/instructor/extensions/{ASSESSMENT}?learner=ada@example.org", headers=staff)
    assert form.status_code == 200 and 'value="ada@example.org"' in form.text
    done = service.client.post(f"/instructor/extensions/{ASSESSMENT}", headers=staff, follow_redirects=False,
                               data={"learner": "ada@example.org", "extra_attempts": "0", "due_until": later,
                                     "reason": "hospital"})
    assert done.status_code == 303, done.text
    assert submit(service.ctx, ada, assessment_id=ASSESSMENT, files=content(1)).attempt == 1
    page = assessment_page(service)
    assert "(your extension)" in page.text and "has passed" not in page.text
    listing = service.client.get(f"/instructor/extensions/{ASSESSMENT}", headers=staff).text
    assert "hospital" in listing and later.replace("T", " ") in listing
