"""The instructor journey in Debian's Chromium: grade the catalogue's manual cell, the learner passes,
exactly one credential is issued. Screenshots go to ``$NBCRED_TEST_SCREENSHOTS`` when set (the
documentation's come from here), else to ``tests/instructor/artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from instructor_course import ASSESSMENT, Course, open_course
from sqlalchemy import func, select

from nbcred.store.models import IssuedCredential
from nbcred.web.app import create_app

pytestmark = pytest.mark.browser
PASSWORD = "instructor horse battery"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SHOTS = Path(os.environ.get("NBCRED_TEST_SCREENSHOTS") or Path(__file__).parent / "artifacts")


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "chromium not found (make test installs it with apt-get install -y chromium)"
        if IN_CI:
            pytest.fail(reason + " (CI=true: browser tests must run)")
        pytest.skip(reason)
    return found


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Course, str]]:
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    course = open_course(tmp_path_factory.mktemp("instructor-live") / "home", password=PASSWORD,
                         public_base_url=base)
    server = uvicorn.Server(uvicorn.Config(create_app(course.ctx.settings, ctx=course.ctx),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    try:
        yield course, base
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"instructor-{name}.png"), full_page=True)


def test_instructor_grades_the_manual_cell_and_one_credential_is_issued(live: tuple[Course, str]) -> None:
    course, base = live
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=LAUNCH_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1100, "height": 900}).new_page()
            page.set_default_timeout(30_000)
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
            browser.close()
    with course.ctx.store.session() as session:
        assert session.scalar(select(func.count()).select_from(IssuedCredential)) == 1
