"""A learner in Chromium: JupyterLab's Assignments tab fetches an assessment from the live service,
submits it, sees it graded, fetches the feedback, opens it in JupyterLab and follows its badge link
to the credential page, which verifies. No terminal involved.

Screenshots go to ``$NBCRED_TEST_SCREENSHOTS`` when set (the documentation's come from here).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browsing import assert_accessible, free_port
from tests.nbcred.jupyter.conftest import ASSESSMENT, PASSING, Learner, LiveService, learner_folder

pytestmark = [pytest.mark.browser, pytest.mark.integration]
LAB_TOKEN = "lab-test-token"
PLAIN_LAB = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}


def shot(page: object, name: str) -> None:
    folder = os.environ.get("NBCRED_TEST_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))  # type: ignore[attr-defined]


@pytest.fixture
def lab(sqlite_service: LiveService, tmp_path: Path) -> Iterator[tuple[str, Learner]]:
    """JupyterLab for learner bob, in his folder set up with ``nbcred jupyter setup``'s lines."""
    learner = learner_folder(tmp_path, sqlite_service, "bob")
    labconfig = Path(learner.env["JUPYTER_CONFIG_DIR"]) / "labconfig"
    labconfig.mkdir(parents=True)
    (labconfig / "page_config.json").write_text(json.dumps(PLAIN_LAB))
    port = free_port()
    command = [str(Path(sys.executable).parent / "jupyter-lab"), "--no-browser", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={LAB_TOKEN}",
               f"--ServerApp.root_dir={learner.root}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(command, cwd=learner.root, env=learner.env, stdout=log,
                              stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, (tmp_path / "lab.log").read_text()
            assert time.monotonic() < deadline, "JupyterLab did not start"
            try:
                if httpx.get(f"{url}/api/status", params={"token": LAB_TOKEN}).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield url, learner
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_learner_goes_from_jupyterlab_to_a_verified_badge(
    lab: tuple[str, Learner], sqlite_service: LiveService, chromium: Any
) -> None:
    from playwright.sync_api import expect

    url, learner = lab
    browser = chromium.new_context(viewport={"width": 1280, "height": 760})
    try:
        page = browser.new_page()
        page.set_default_timeout(60_000)
        expect.set_options(timeout=60_000)
        page.goto(f"{url}/lab?token={LAB_TOKEN}")
        page.get_by_role("menuitem", name="Nbgrader").click()
        page.get_by_role("menuitem", name="Assignment List").click()

        released = page.locator("#released_assignments_list")
        expect(released).to_contain_text(ASSESSMENT)
        shot(page, "jupyterlab-1-released")
        released.get_by_role("button", name="Fetch").click()

        fetched = page.locator("#fetched_assignments_list")
        expect(fetched).to_contain_text(ASSESSMENT)
        assert (learner.root / ASSESSMENT / "cleaning.ipynb").is_file()
        shutil.copy(PASSING, learner.root / ASSESSMENT / "cleaning.ipynb")  # the learner's work
        fetched.get_by_role("button", name="Submit").click()

        submitted = page.locator("#submitted_assignments_list")
        expect(submitted).to_contain_text(ASSESSMENT)
        sqlite_service.wait_graded("bob")
        page.locator("#refresh_assignments_list").click()
        expect(submitted).to_contain_text("(feedback available to fetch)")
        shot(page, "jupyterlab-2-graded")

        submitted.get_by_role("button", name="Fetch Feedback").click()
        view = submitted.get_by_text("(view feedback)")
        expect(view).to_be_visible()
        shot(page, "jupyterlab-3-feedback-fetched")
        view.click()
        page.locator(".jp-DirListing-item", has_text="cleaning.html").dblclick()
        frame = page.frame_locator(".jp-HTMLViewer iframe")
        badge_link = frame.locator("nav.nbcred-links a.nbcred-badge")
        expect(badge_link).to_be_visible()
        expect(frame.locator("nav.nbcred-links a.nbcred-wallet")).to_have_attribute(
            "href", f"{sqlite_service.url}/wallet")
        shot(page, "jupyterlab-4-feedback-in-jupyterlab")

        badge_url = badge_link.get_attribute("href")
        assert badge_url and badge_url.startswith(f"{sqlite_service.url}/credentials/")
        credential = browser.new_page()
        credential.goto(badge_url)
        expect(credential.locator("#standing.standing-valid")).to_be_visible()
        assert_accessible(credential)
        shot(credential, "jupyterlab-5-badge-verified")
    finally:
        browser.close()
