"""Instructor tools in Chromium, at desktop width and at 390 px, axe-core on every page: the
manual-grading queue (counts, next/previous, keyboard shortcuts, no score filled in), the
similarity page (pairs by learner name, fragments side by side) and revoke's confirmation.

Screenshots go to ``$NBCRED_TEST_SCREENSHOTS`` when set (the docs' come from here), else to
``tests/nbcred/instructor/artifacts/``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.browsing import PHONE, assert_accessible
from tests.site import ASSESSMENT, Site

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("NBCRED_TEST_SCREENSHOTS") or Path(__file__).parent / "artifacts")


def shots(page: Any, name: str) -> None:
    """Check with axe and photograph at desktop width and at 390 px (then back to desktop)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, label in ((1100, "desktop"), (PHONE, "phone")):
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 900})


def test_manual_grading_queue_with_counts_next_previous_and_keys(chromium: Any, site: Site) -> None:
    bob, cyrus = site.waiting
    page = site.page(chromium, "grace")
    try:
        page.goto(f"{site.base}/instructor")
        assert page.inner_text("#grading-queue") == "Manual grading (2 waiting)"
        row = page.locator("#catalogue tr", has=page.locator(f"a[href='/instructor/gradebook/{ASSESSMENT}']"))
        assert "2 waiting" in row.locator("a.waiting").inner_text()
        page.click("#grading-queue")
        assert page.inner_text(f"#counts strong[data-assessment='{ASSESSMENT}']") == "2"
        learners = page.locator("#queue td[data-label=learner]").all_inner_texts()
        assert learners == ["Bob Copier", "Cyrus Obi"]  # oldest first
        shots(page, "manual-grading-queue")

        page.click("#start")
        page.wait_for_url(f"**/instructor/submissions/{bob}")
        assert page.inner_text("#queue-position") == "1 of 2 waiting"
        score = page.locator("form.manual-cell input[name=score]")
        assert score.input_value() == ""  # ungraded: nothing pre-filled
        assert "BEGIN SOLUTION" not in page.inner_text("form.manual-cell pre.rubric")
        page.keyboard.press("j")
        page.wait_for_url(f"**/instructor/submissions/{cyrus}")
        assert page.inner_text("#queue-position") == "2 of 2 waiting"
        assert "explore/load" in page.inner_text("#tampered")  # the changed locked cell is flagged
        page.keyboard.press("k")
        page.wait_for_url(f"**/instructor/submissions/{bob}")
        shots(page, "manual-grading-submission")

        page.keyboard.press("?")
        assert page.evaluate("document.activeElement.id") == "shortcuts"
        page.keyboard.press("g")
        assert page.evaluate("document.activeElement.name") == "score"
        page.keyboard.type("j1")  # typing in a field is not a shortcut
        assert page.url.endswith(bob)
        score.fill("1.5")
        page.keyboard.press("Control+Enter")
        page.wait_for_selector("#saved")
        assert page.inner_text("#queue-position") == "1 waiting"
        page.keyboard.press("j")  # the next one still waiting
        page.wait_for_url(f"**/instructor/submissions/{cyrus}")
        page.goto(f"{site.base}/instructor")
        assert page.inner_text("#grading-queue") == "Manual grading (1 waiting)"
    finally:
        page.context.close()


def test_similarity_page_names_learners_and_shows_fragments_side_by_side(chromium: Any, site: Site) -> None:
    page = site.page(chromium, "grace")
    try:
        page.goto(f"{site.base}/instructor/similarity/{ASSESSMENT}")
        pair = page.locator("section.pair").first
        heading = pair.locator("h2").inner_text()
        assert "Ada" in heading and "Bob Copier" in heading and heading.endswith("100%"), heading
        sides = pair.locator(".side-by-side").first.locator("figure")
        assert sides.count() == 2
        captions = {sides.nth(i).locator("figcaption strong").inner_text() for i in range(2)}
        assert captions == {"Ada", "Bob Copier"}
        code = sides.nth(0).locator("pre").inner_text()
        assert code.strip() and code == sides.nth(1).locator("pre").inner_text()
        assert "Cyrus Obi" not in page.inner_text("main")  # his work is not alike
        shots(page, "similarity")
        boxes = [sides.nth(i).bounding_box() for i in range(2)]
        assert boxes[0]["y"] == boxes[1]["y"]  # side by side at desktop width
        page.set_viewport_size({"width": PHONE, "height": 900})
        boxes = [sides.nth(i).bounding_box() for i in range(2)]
        assert boxes[1]["y"] > boxes[0]["y"]  # one above the other on a phone
    finally:
        page.context.close()


def test_revoke_asks_before_acting(chromium: Any, site: Site) -> None:
    page = site.page(chromium, "grace")
    try:
        page.goto(f"{site.base}/instructor/credentials?q=ada")
        form = page.locator("#credentials form[action$='/revoke']").first
        form.locator("input[name=reason]").fill("checking the confirmation")
        form.locator("button").click()
        page.wait_for_selector("#confirm-action")
        assert "cannot be undone" in page.inner_text("#confirm")
        assert_accessible(page)
        page.click("#cancel")
        page.wait_for_selector("#credentials")
        assert page.locator("#credentials .status-active").count() == 1  # nothing was revoked
    finally:
        page.context.close()


def test_bulk_issue_from_a_csv_with_a_preview(chromium: Any, site: Site, tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("learner,name,email,achievement\nzed,Zed Bulk,zed@example.org,pandas-cleaning\n")
    page = site.page(chromium, "grace")
    try:
        page.goto(f"{site.base}/instructor/bulk")
        page.check("input[name=action][value=issue]")
        page.set_input_files("input[name=file]", str(roster))
        page.click("#preview-button")
        page.wait_for_selector("#preview-rows")
        assert "Zed Bulk" in page.inner_text("#preview-rows")
        shots(page, "bulk-preview")
        page.click("#confirm-button")
        page.wait_for_selector("#bulk-result")
        assert "Issued 1" in page.inner_text("#bulk-result")
        assert_accessible(page)
    finally:
        page.context.close()
