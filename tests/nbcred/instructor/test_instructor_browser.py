"""The instructor journey in Debian's Chromium: grade the catalogue's manual cell, the learner passes,
exactly one credential is issued. Screenshots go to ``$NBCRED_TEST_SCREENSHOTS`` when set (the
documentation's come from here), else to ``tests/nbcred/instructor/artifacts/``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from nbcred.store.models import IssuedCredential
from nbcred.web.app import create_app
from tests.browsing import assert_accessible, free_port, new_page, serve
from tests.nbcred.instructor.instructor_course import ASSESSMENT, Course, open_course

pytestmark = pytest.mark.browser
PASSWORD = "instructor horse battery"
SHOTS = Path(os.environ.get("NBCRED_TEST_SCREENSHOTS") or Path(__file__).parent / "artifacts")


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Course, str]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    course = open_course(tmp_path_factory.mktemp("instructor-live") / "home", password=PASSWORD,
                         public_base_url=base)
    with serve(create_app(course.ctx.settings, ctx=course.ctx), port=port):
        yield course, base


def shot(page: Any, name: str) -> None:
    """Every page photographed is also checked with axe-core."""
    assert_accessible(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"instructor-{name}.png"), full_page=True)


def test_instructor_grades_the_manual_cell_and_one_credential_is_issued(
    live: tuple[Course, str], chromium: Any
) -> None:
    course, base = live
    page = new_page(chromium)
    try:
        page.goto(f"{base}/instructor")
        assert "/signin" in page.url
        page.fill("input[name=email]", "grace@example.org")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/instructor")
        shot(page, "1-catalogue")
        page.click(f"#catalogue a[href='/instructor/gradebook/{ASSESSMENT}']")
        page.wait_for_selector("#gradebook")
        assert "needs manual grading" in page.inner_text("#gradebook")
        page.click("#gradebook a:has-text('grade')")
        form = page.locator("form[data-cell='explore/interpretation']")
        form.wait_for()
        assert page.inner_text("#verdict").startswith("Not passed")
        form.locator("input[name=score]").fill("2")
        form.locator("textarea[name=comment]").fill("A careful interpretation, limits included.")
        shot(page, "2-manual-grading")
        form.locator("button[type=submit]").click()
        page.wait_for_selector("#saved")
        assert page.inner_text("#verdict").startswith("Passed")
        assert page.locator("#credential a").count() == 1
        shot(page, "3-passed")
        page.goto(f"{base}/instructor/gradebook/{ASSESSMENT}")
        page.wait_for_selector("#heatmap")
        page.wait_for_function("document.querySelector('#heatmap').naturalWidth > 0")
        shot(page, "4-gradebook")
    finally:
        page.context.close()
    with course.ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(IssuedCredential)) == 1
