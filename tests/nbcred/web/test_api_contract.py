"""The API contract on SQLite and PostgreSQL, graded for real by the app's own worker pool."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from nbcred.service import ServiceContext
from nbcred.web.app import create_app
from tests.conftest import empty_public_schema
from tests.nbcred.web.conftest import BASE_URL, Service, open_context, people, sample, settings_for

GRADE_KEYS = {"learner", "assessment", "score", "max_score", "passed", "cells", "competencies",
              "tampered_cells", "feedback", "errors", "assessment_version", "content_hash",
              "needs_manual", "attempt", "credential"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    home = tmp_path_factory.mktemp(f"web-{request.param}")
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
        empty_public_schema(url)
    settings = settings_for(home, url)
    ctx = open_context(settings)
    tokens = people(ctx)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        yield Service(ctx, client, tokens)


@pytest.fixture(scope="module")
def graded(service: Service) -> dict[str, object]:
    """Ada submits the passing sample of pandas-cleaning; the app grades it."""
    response = service.client.post("/api/v1/submissions", headers=service.auth("ada"),
                                   data={"assessment": "pandas-cleaning"},
                                   files=sample("pandas-cleaning", "alice"))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "queued" and body["id"]
    return service.wait(body["id"])


def test_healthz(service: Service) -> None:
    assert service.client.get("/healthz").status_code == 200


def test_catalogue_lists_every_assessment(service: Service) -> None:
    listed = service.client.get("/api/v1/assessments", headers=service.auth("ada")).json()
    assert {a["id"] for a in listed} == set(service.ctx.catalogue.assessments)
    cleaning = next(a for a in listed if a["id"] == "pandas-cleaning")
    assert cleaning == {"id": "pandas-cleaning", "title": cleaning["title"], "version": "1.0.0",
                        "notebooks": ["cleaning"], "attempts_allowed": 3, "has_badge": True}


def test_release_zip_is_the_student_version(service: Service) -> None:
    response = service.client.get("/api/v1/assessments/pandas-cleaning/release.zip",
                                  headers=service.auth("ada"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert "pandas-cleaning/cleaning.ipynb" in archive.namelist()
    notebook = archive.read("pandas-cleaning/cleaning.ipynb").decode()
    assert "### BEGIN SOLUTION" not in notebook and "### BEGIN HIDDEN TESTS" not in notebook


def test_submission_is_graded_with_the_grade_json(service: Service, graded: dict[str, object]) -> None:
    assert graded["status"] == "graded"
    result = graded["result"]
    assert isinstance(result, dict) and set(result) == GRADE_KEYS
    assert result["learner"] == "ada@example.org" and result["assessment"] == "pandas-cleaning"
    assert result["passed"] is True and result["score"] == result["max_score"] and result["attempt"] == 1
    assert str(result["credential"]).startswith("urn:uuid:")


def test_another_learner_cannot_see_it(service: Service, graded: dict[str, object]) -> None:
    sid = graded["id"]
    for path in (f"/api/v1/submissions/{sid}", f"/api/v1/submissions/{sid}/feedback"):
        refused = service.client.get(path, headers=service.auth("bob"))
        assert refused.status_code == 404 and "detail" in refused.json()
    assert service.client.get("/api/v1/submissions", headers=service.auth("bob")).json() == []
    mine = service.client.get("/api/v1/submissions?assessment=pandas-cleaning", headers=service.auth("ada"))
    assert [s["id"] for s in mine.json()] == [sid]
    assert set(mine.json()[0]) == {"id", "assessment", "learner", "status", "submitted_at", "attempt"}
    staff = service.client.get("/api/v1/submissions", headers=service.auth("grace")).json()
    assert sid in {s["id"] for s in staff}


def test_feedback_page_is_html_without_hidden_tests(service: Service, graded: dict[str, object]) -> None:
    response = service.client.get(f"/api/v1/submissions/{graded['id']}/feedback", headers=service.auth("ada"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "BEGIN HIDDEN TESTS" not in response.text and "<html" in response.text.lower()


def test_credentials_resolve_and_verify(service: Service, graded: dict[str, object]) -> None:
    listed = service.client.get("/api/v1/credentials", headers=service.auth("ada")).json()
    assert len(listed) == 1 and {"id", "achievement", "issued", "url"} <= set(listed[0])
    entry = listed[0]
    assert entry["id"] == graded["result"]["credential"]  # type: ignore[index]
    assert entry["url"].startswith(f"{BASE_URL}/credentials/")
    assert service.client.get("/api/v1/credentials", headers=service.auth("bob")).json() == []
    signed = service.client.get(entry["url"], headers={"Accept": "application/json"}).json()
    assert signed["id"] == entry["id"] and signed["proof"]
    page = service.client.get(entry["url"], headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and signed["name"] in page.text
    verdict = service.client.post("/api/v1/credentials/verify", json=signed).json()
    assert verdict == {"verified": True, "checks": {"proof": "ok", "dates": "ok", "status": "ok",
                                                    "schema": "ok"}}
    tampered = {**signed, "name": "Something else"}
    refused = service.client.post("/api/v1/credentials/verify", json=tampered).json()
    assert refused["verified"] is False and refused["checks"]["proof"].startswith("failed")


def test_urls_inside_the_credential_resolve(service: Service, graded: dict[str, object]) -> None:
    listed = service.client.get("/api/v1/credentials", headers=service.auth("ada")).json()
    signed = service.client.get(listed[0]["url"], headers={"Accept": "application/ld+json"}).json()
    achievement = signed["credentialSubject"]["achievement"]["id"]
    status_urls = [e["statusListCredential"] for e in _entries(signed["credentialStatus"])]
    for url in [achievement, *status_urls]:
        assert url.startswith(BASE_URL)
        response = service.client.get(url, headers={"Accept": "application/json"})
        assert response.status_code == 200, url
    status_list = service.client.get(status_urls[0]).json()
    assert "BitstringStatusListCredential" in status_list["type"]


def _entries(status: object) -> list[dict[str, str]]:
    return status if isinstance(status, list) else [status]  # type: ignore[list-item,return-value]


def test_healthz_is_503_without_a_database(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    settings = settings_for(tmp_path / "home", f"sqlite:///{folder / 'g.sqlite'}", serve_grading=False)
    ctx = ServiceContext.open(settings)
    with TestClient(create_app(settings, ctx=ctx)) as client:
        assert client.get("/healthz").status_code == 200
        ctx.store.engine.dispose()
        (folder / "g.sqlite").unlink()
        for leftover in folder.iterdir():
            leftover.unlink()
        folder.rmdir()
        assert client.get("/healthz").status_code == 503


def test_executed_notebook_is_shown_without_hidden_tests(service: Service, graded: dict[str, object]) -> None:
    sid = graded["id"]
    page = service.client.get(f"/submissions/{sid}", headers=service.auth("ada"))
    assert f'sandbox\n            src="/render/submissions/{sid}/notebooks/cleaning"' in page.text
    url = f"/api/v1/submissions/{sid}/notebooks/cleaning"
    response = service.client.get(url, headers=service.auth("ada"))
    framed = service.client.get(f"/render/submissions/{sid}/notebooks/cleaning", headers=service.auth("ada"))
    assert framed.text == response.text and framed.headers["etag"] == response.headers["etag"]
    assert response.status_code == 200
    assert response.headers["content-security-policy"].startswith("sandbox")
    html = response.text
    assert "parse_amount" in html  # the learner's own code, executed
    assert "raw[&quot;quantity&quot;].isna().sum() == 5" not in html and "isna().sum() == 5" not in html
    assert "HIDDEN TESTS" not in html and "outputs not shown" in html
    other = service.client.get(url, headers=service.auth("bob"))
    assert other.status_code == 404
