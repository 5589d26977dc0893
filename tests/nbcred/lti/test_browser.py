"""LTI in Chromium: the launch inside the LMS's iframe (same site: signed in, the assessment in the
frame; cross-site, where the browser refuses the frame's cookie: the "open in a new window" page,
whose link signs in there), the deep-linking picker in the frame posting its choice back, the
passback page and the platforms page; axe-core on each, at desktop and phone width.

Screenshots go to ``$NBCRED_TEST_SCREENSHOTS`` when set (the docs' come from here), else to
``tests/nbcred/lti/artifacts/``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbcred.service import lti
from nbcred.service.sessions import set_password
from nbcred.service.users import account_for_token, add_user, create_token
from nbcred.web.app import create_app
from tests.browsing import PHONE, assert_accessible, free_port, new_page, serve
from tests.nbcred.instructor.instructor_course import ASSESSMENT, Course, graded_submission, open_course
from tests.nbcred.lti.conftest import launch
from tests.nbcred.lti.platform import CLIENT_ID, DEPLOYMENT_ID, INSTRUCTOR, Scenario, TestPlatform

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ.get("NBCRED_TEST_SCREENSHOTS") or Path(__file__).parent / "artifacts")
PASSWORD = "accessible horse battery"
TITLE = "Exploratory statistics with pandas"


def shots(page: Any, name: str, *, phone: bool = True) -> None:
    """Check with axe and photograph at desktop width (and at 390 px)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for width, label in ((1100, "desktop"), (PHONE, "phone")) if phone else ((1100, "desktop"),):
        page.set_viewport_size({"width": width, "height": 900})
        assert_accessible(page)
        page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
    page.set_viewport_size({"width": 1100, "height": 900})


@dataclass
class Stage:
    tool: str
    course: Course
    same_site: TestPlatform  # at http://localhost:<port>, as the tool
    cross_site: TestPlatform  # at http://127.0.0.1:<port>


@pytest.fixture(scope="module")
def stage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stage]:
    port = free_port()
    tool = f"http://localhost:{port}"
    course = open_course(tmp_path_factory.mktemp("lti") / "home", password=PASSWORD, public_base_url=tool,
                         lti_poll_seconds=0.5)
    set_password(course.ctx, email="alan@example.org", password=PASSWORD)
    with ExitStack() as stack:
        platforms = []
        for host in ("localhost", "127.0.0.1"):
            platform_port = free_port()
            platform = TestPlatform(f"http://{host}:{platform_port}", tool)
            stack.enter_context(serve(platform.app, port=platform_port))
            lti.add_platform(course.ctx, issuer=platform.issuer, client_id=CLIENT_ID,
                             deployment_id=DEPLOYMENT_ID, auth_login_url=f"{platform.issuer}/authorize",
                             auth_token_url=f"{platform.issuer}/token",
                             keyset_url=f"{platform.issuer}/jwks", title=f"Test LMS on {host}")
            platforms.append(platform)
        stack.enter_context(serve(create_app(course.ctx.settings, ctx=course.ctx), port=port))
        yield Stage(tool, course, platforms[0], platforms[1])


def signed_in(browser: Any, stage: Stage, who: str) -> Any:
    page = new_page(browser)
    page.goto(f"{stage.tool}/signin")
    page.fill("input[name=email]", f"{who}@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/signin" not in url)
    return page


def test_iframe_launch_and_the_score_in_the_gradebook(chromium: Any, stage: Stage) -> None:
    page = new_page(chromium)
    try:
        page.goto(stage.same_site.frame("ada", Scenario("lms-ada", "Ada", "ada@example.org",
                                                        custom={"assessment": ASSESSMENT})))
        frame = page.frame_locator("#tool")
        frame.locator("h1").filter(has_text=TITLE).wait_for()
        assert frame.locator("#submit").is_visible()
        shots(page, "lti-iframe-launch", phone=False)
    finally:
        page.context.close()
    deadline = time.monotonic() + 20
    while not stage.same_site.received.scores and time.monotonic() < deadline:
        time.sleep(0.2)
    assert stage.same_site.received.scores[0][2]["userId"] == "lms-ada"


def test_blocked_cookie_in_a_cross_site_frame_offers_a_new_window(chromium: Any, stage: Stage) -> None:
    page = new_page(chromium)
    try:
        page.goto(stage.cross_site.frame("alan-t", Scenario("lms-turing", "Alan Turing", "turing@uni.example",
                                                            custom={"assessment": ASSESSMENT})))
        frame = page.frame_locator("#tool")
        frame.locator("#new-window").wait_for()
        assert "Open in a new window" in frame.locator("#new-window").inner_text()
        shots(page, "lti-new-window-in-lms", phone=False)
        with page.context.expect_page() as opened:
            frame.locator("#new-window").click()
        window = opened.value
        window.wait_for_load_state()
        assert window.url == f"{stage.tool}/assessments/{ASSESSMENT}"
        assert window.locator("h1").inner_text() == TITLE
        assert "Alan Turing" in window.locator("header").inner_text()
        assert_accessible(window)
    finally:
        page.context.close()


def test_deep_linking_picker_in_the_frame(chromium: Any, stage: Stage) -> None:
    page = new_page(chromium)
    try:
        teacher = Scenario("lms-grace", "Grace", "grace@example.org", roles=[INSTRUCTOR], deep_linking=True,
                           lineitem=None)
        page.goto(stage.same_site.frame("teacher", teacher))
        frame = page.frame_locator("#tool")
        frame.locator("#picker").wait_for()
        shots(page, "lti-picker-in-lms", phone=False)
        inner = next(f for f in page.frames if "/lti/deep-link?request=" in f.url)
        alone = page.context.new_page()  # the same picker at the top level, for axe at both widths
        alone.goto(inner.url)
        shots(alone, "lti-picker")
        alone.close()
        frame.locator(f"#choose-{ASSESSMENT}").click()
        frame.locator("#added").wait_for()
    finally:
        page.context.close()
    (items,) = stage.same_site.received.deep_links
    assert items[0]["custom"] == {"assessment": ASSESSMENT} and items[0]["title"] == TITLE
    picker = signed_in(chromium, stage, "grace")  # the picker on its own, for axe at both widths
    try:
        picker.goto(f"{stage.tool}/lti/deep-link?request=nonsense")
        assert picker.locator("h1").count() == 1 and "expired" in picker.content()
    finally:
        picker.context.close()


def test_passback_and_platform_pages(chromium: Any, stage: Stage) -> None:
    ctx, platform = stage.course.ctx, stage.same_site
    add_user(ctx, email="bob@example.org", name="Bob Okafor", role="learner")
    bob = account_for_token(ctx, create_token(ctx, email="bob@example.org").token)
    assert bob is not None
    graded_submission(ctx, bob, content="bob")
    with httpx.Client(base_url=stage.tool, timeout=30) as client:  # Ada's score (posted already, or now)
        ada = Scenario("lms-ada", "Ada", "ada@example.org", custom={"assessment": ASSESSMENT})
        assert launch(client, platform, "ada-again", ada).status_code == 200
    deadline = time.monotonic() + 20
    while not lti.list_scores(ctx, status="posted") and time.monotonic() < deadline:
        time.sleep(0.2)
    platform.refused_users = {"lms-bob": "user not found in course or is not a student"}
    with httpx.Client(base_url=stage.tool, timeout=30) as client:
        assert launch(client, platform, "bob", Scenario("lms-bob", "Bob Okafor", "bob@example.org",
                                                        custom={"assessment": ASSESSMENT})).status_code == 200
    deadline = time.monotonic() + 20
    while not lti.list_scores(ctx, status="failed") and time.monotonic() < deadline:
        time.sleep(0.2)
    page = signed_in(chromium, stage, "grace")
    try:
        page.goto(f"{stage.tool}/instructor/lti")
        text = page.locator("#scores").inner_text()
        assert "posted" in text and "failed" in text and "is not a student" in text
        shots(page, "lti-passback")
        platform.refused_users = {}  # the instructor enrolled Bob in the LMS course
        page.click("button[aria-label='post again: Bob Okafor']")
        page.wait_for_url(f"{stage.tool}/instructor/lti")
        deadline = time.monotonic() + 20
        while platform.received.scores[-1][2]["userId"] != "lms-bob" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert platform.received.scores[-1][2]["userId"] == "lms-bob"
        page.reload()
        assert "failed" not in page.locator("#scores").inner_text()
    finally:
        page.context.close()
    admin = signed_in(chromium, stage, "alan")
    try:
        admin.goto(f"{stage.tool}/admin/lti")
        text = admin.locator("#platforms").inner_text()
        assert "Test LMS on localhost" in text and DEPLOYMENT_ID in text
        assert f"{stage.tool}/lti/jwks.json" in admin.locator("#tool-urls").inner_text()
        shots(admin, "lti-platforms")
    finally:
        admin.context.close()
