"""Real browser journeys: Debian's Chromium driven by playwright against a live server on loopback.

The learner signs in, downloads the student version, submits, watches the status change live,
reads the feedback, finds the badge in the wallet, opens its public page and has it verified;
a tampered copy of it is reported invalid. Screenshots go to ``tests/nbcred/web/artifacts/``.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbcred.web.app import create_app
from tests.browsing import assert_accessible, free_port, new_page, serve
from tests.nbcred.web.conftest import PASSWORD, SAMPLES, open_context, people, settings_for

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served by uvicorn on loopback, grading with its own worker pool."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings_for(tmp_path_factory.mktemp("live") / "home", public_base_url=base)
    ctx = open_context(settings)
    people(ctx)
    with serve(create_app(settings, ctx=ctx), port=port) as url:
        yield url


@pytest.fixture
def page(chromium: Any) -> Iterator[Any]:
    opened = new_page(chromium, accept_downloads=True)
    try:
        yield opened
    finally:
        opened.context.close()


def shot(page: Any, name: str, *, full_page: bool = True) -> None:
    """Every page photographed is also checked with axe-core."""
    assert_accessible(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def sign_in(page: Any, base: str) -> None:
    page.goto(f"{base}/")
    assert "/signin" in page.url  # anonymous: sent to sign in
    page.fill("input[name=email]", "ada@example.org")
    page.fill("input[name=password]", PASSWORD)
    shot(page, "01-signin")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def test_learner_journey(page: Any, live_server: str, tmp_path: Path) -> None:
    base = live_server
    sign_in(page, base)
    assert page.locator("text=Cleaning a dataset with pandas").count() or page.locator("article").count() >= 4
    shot(page, "02-catalogue")

    page.click("a[href='/assessments/pandas-cleaning']")
    with page.expect_download() as download_info:
        page.click("#download")
    downloaded = tmp_path / "release.zip"
    download_info.value.save_as(downloaded)
    names = zipfile.ZipFile(downloaded).namelist()
    assert "pandas-cleaning/cleaning.ipynb" in names
    shot(page, "03-assessment")

    # the learner's finished notebook (the passing sample) goes back through the form
    page.set_input_files("input[name=files]", str(SAMPLES / "pandas-cleaning" / "alice" / "cleaning.ipynb"))
    page.click("#submit")
    page.wait_for_url(f"{base}/submissions/*")
    seen = page.locator("#status").inner_text()
    assert seen in ("queued", "running", "graded")
    page.wait_for_selector("#verdict", timeout=120_000)  # the page updates by itself
    assert page.locator("#status").inner_text() == "graded"
    assert "Passed" in page.locator("#verdict").inner_text()
    frame = page.frame_locator("#feedback")
    frame.locator("body").wait_for()
    assert "BEGIN HIDDEN TESTS" not in frame.locator("body").inner_text()
    notebook = page.frame_locator("iframe.notebook")
    assert "parse_amount" in notebook.locator("body").inner_text()  # the learner's notebook as it ran
    shot(page, "04-graded", full_page=False)  # frames below the fold are not painted in a full page
    page.locator("iframe.notebook").scroll_into_view_if_needed()
    notebook.locator("text=Load the file").first.wait_for()
    shot(page, "04b-notebook-as-graded", full_page=False)

    page.click("a[href='/wallet']")
    card = page.locator("article.credential").first
    assert "Data Cleaning with pandas" in card.inner_text()
    linkedin = card.locator("a", has_text="Add to LinkedIn profile").get_attribute("href")
    assert linkedin is not None and linkedin.startswith("https://www.linkedin.com/profile/add?startTask=")
    with page.expect_download() as png_info:
        card.locator("a", has_text="Download badge (PNG)").click()
    assert png_info.value.suggested_filename.endswith(".png")
    shot(page, "05-wallet")

    public = card.locator("a.public-link").get_attribute("href")
    assert public is not None and public.startswith(base + "/credentials/")
    page.goto(public)
    assert page.locator("#standing-word").inner_text() == "VALID"
    shot(page, "06-public-credential")

    document = page.request.get(public, headers={"Accept": "application/ld+json"}).json()
    page.goto(f"{base}/verify")
    page.fill("textarea[name=credential_json]", json.dumps(document))
    page.click("#verify-button")
    verdict = page.locator("#verdict").inner_text()
    assert verdict.startswith("Valid"), verdict
    assert page.locator("tr[data-check=signature].ok").count() == 1
    shot(page, "07-verify-valid")

    # a baked badge verifies too
    baked = tmp_path / "badge.png"
    png_info.value.save_as(baked)
    page.goto(f"{base}/verify")
    page.set_input_files("input[name=file]", str(baked))
    page.click("#verify-button")
    assert page.locator("#verdict").inner_text().startswith("Valid")

    # the same credential, tampered with, is reported invalid
    check_tampered_copy_is_invalid(page, base, document)


def check_tampered_copy_is_invalid(page: Any, base: str, document: dict[str, Any]) -> None:
    """A copy of the learner's credential with its achievement renamed fails the signature check."""
    tampered = json.loads(json.dumps(document))
    tampered["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    page.goto(f"{base}/verify")
    page.fill("textarea[name=credential_json]", json.dumps(tampered))
    page.click("#verify-button")
    verdict = page.locator("#verdict").inner_text()
    assert verdict.startswith("Not valid: this document was altered"), verdict
    assert "Brain Surgery" not in page.content()  # nothing from the forged document is shown
    assert page.locator("tr[data-check=signature].bad").count() == 1
    shot(page, "08-verify-tampered")
