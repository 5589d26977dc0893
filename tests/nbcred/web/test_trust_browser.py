"""In Chromium, at desktop width and at 390 px: the public credential page (valid, revoked with its
replacement), the verify page given a tampered copy, and the feedback of a notebook that ran past
its time limit. Each page is checked with axe-core and photographed: to ``$NBCRED_TEST_SCREENSHOTS``
when set (the docs' come from here: ``NBCRED_TEST_SCREENSHOTS=docs/screenshots``), else to
``tests/nbcred/web/artifacts``."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from grader.assessment import load_assessment
from grader.execute import KernelRunner
from grader.grade import GradeOptions, grade_submission
from nbcred.service.courseware import set_status
from nbcred.service.wallet import public_credential
from nbcred.web.app import create_app
from tests.browsing import PHONE, assert_accessible, free_port, new_page, overflowing, serve
from tests.grader import factory
from tests.nbcred.web.conftest import off_loop, open_context, people, settings_for
from tests.nbcred.web.test_credential_page import issue

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("NBCRED_TEST_SCREENSHOTS") or Path(__file__).parent / "artifacts")
WIDTHS = {"desktop": 1100, "phone": PHONE}


@dataclass
class Site:
    base: str
    valid: str
    revoked: str
    replacement: str
    tampered: dict[str, Any]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings_for(tmp_path_factory.mktemp("trust") / "home", public_base_url=base,
                            serve_grading=False)
    ctx = open_context(settings)
    people(ctx)
    valid = issue(ctx, "ada-lovelace")
    revoked = issue(ctx, "ray", assessment_id="sql-from-python")
    fresh = set_status(ctx, f"urn:uuid:{revoked}", action="reissue", reason="a corrected record")
    document = public_credential(ctx, valid)[1]
    tampered = {**document, "name": "Chief Data Scientist (Distinction)"}
    with serve(create_app(settings, ctx=ctx), port=port) as url:
        yield Site(url, valid, revoked, fresh.id.removeprefix("urn:uuid:"), tampered)


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, chromium: Any) -> Iterator[tuple[Any, str]]:
    opened = new_page(chromium, width=WIDTHS[request.param])
    try:
        yield opened, request.param
    finally:
        opened.context.close()


def shot(page: Any, name: str) -> None:
    assert_accessible(page)
    assert overflowing(page) == 0, "the page scrolls sideways"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_valid_credential_page(site: Site, page: tuple[Any, str]) -> None:
    browser, width = page
    browser.goto(f"{site.base}/credentials/{site.valid}")
    assert browser.locator("#standing-word").inner_text() == "VALID"
    assert browser.locator("#standing").is_visible()
    assert "Data Cleaning with pandas" in browser.locator("h1").inner_text()
    assert browser.locator("#evidence tbody tr").count() == 3
    assert browser.locator("meta[property='og:image']").get_attribute("content").endswith("/image.png")
    browser.fill("#recipient-email", "nobody@example.org")
    browser.click("#check-recipient button[type=submit]")
    assert "No: this credential was not issued to" in browser.locator("#recipient-result").inner_text()
    with browser.expect_download() as download:
        browser.click("#json-link")
    saved = json.loads(Path(download.value.path()).read_text())
    assert saved["id"] == f"urn:uuid:{site.valid}"
    shot(browser, f"credential-valid-{width}")


def test_revoked_credential_page_points_at_its_replacement(site: Site, page: tuple[Any, str]) -> None:
    browser, width = page
    browser.goto(f"{site.base}/credentials/{site.revoked}")
    assert browser.locator("#standing-word").inner_text() == "REVOKED"
    assert "revoked this credential on" in browser.locator("#standing").inner_text()
    shot(browser, f"credential-revoked-{width}")
    browser.click("#replacement")
    assert browser.url.endswith(site.replacement)
    assert browser.locator("#standing-word").inner_text() == "VALID"


def test_tampered_copy_on_the_verify_page(site: Site, page: tuple[Any, str]) -> None:
    browser, width = page
    browser.goto(f"{site.base}/verify")
    browser.fill("textarea[name=credential_json]", json.dumps(site.tampered))
    browser.click("#verify-button")
    verdict = browser.locator("#verdict").inner_text()
    assert "altered" in verdict and "Nothing in it can be trusted" in verdict
    assert "Chief Data Scientist" not in browser.content()
    assert browser.locator("#checks tr.ok").count() == 0
    shot(browser, f"verify-tampered-{width}")


@pytest.fixture(scope="module")
def timed_out_feedback(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The feedback page of a notebook whose cleaning step loops past a 2 s cell limit."""
    root = tmp_path_factory.mktemp("slow")
    source = factory.notebook(
        factory.text("# Cleaning review text\nWrite `tidy_text(s)`: lower case, no surrounding spaces."),
        factory.solution("tidy_text", "### BEGIN SOLUTION\ndef tidy_text(s):\n    return s.strip().lower()\n"
                         "### END SOLUTION"),
        factory.test("test_tidy_text", "assert tidy_text('  Great ') == 'great'"),
        factory.test("test_tidy_empty", "assert tidy_text('') == ''"),
    )
    factory.write(source, root / "reviews" / "source" / "reviews.ipynb")
    spec = {"id": "reviews", "title": "Cleaning review text", "execution": {"cell_timeout": 2},
            "competencies": [{"id": "text", "name": "Clean text data"}],
            "rubric": [{"cell": "reviews/test_tidy_text", "competency": "text"},
                       {"cell": "reviews/test_tidy_empty", "competency": "text"}]}
    (root / "reviews" / "assessment.yaml").write_text(yaml.safe_dump(spec))
    assessment = load_assessment(root / "reviews")
    release = copy.deepcopy(assessment.notebooks[0].release)
    for cell in release.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "tidy_text":
            cell.source = ("import time\nwhile True:  # wait for the data to arrive\n    time.sleep(0.1)\n"
                           "def tidy_text(s):\n    return s.strip().lower()")
    factory.write(release, root / "subs" / "lee" / "reviews.ipynb")
    options = GradeOptions(runner=KernelRunner(), feedback_dir=root / "feedback")
    result = off_loop(lambda: grade_submission(assessment, root / "subs" / "lee", options=options))
    assert result.feedback is not None
    return Path(result.feedback)


def test_feedback_names_the_time_limit(timed_out_feedback: Path, page: tuple[Any, str]) -> None:
    browser, width = page
    browser.goto(timed_out_feedback.as_uri())
    text = browser.locator("body").inner_text()
    assert "Your notebook ran past the 2 s time limit in cell `tidy_text`." in text
    assert "KeyboardInterrupt" not in text and "NameError" not in text
    shot(browser, f"feedback-timeout-{width}")
