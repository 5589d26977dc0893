"""No learner notebook runs script in a browser: the instructor's and the learner's submission pages.

A learner submits, through the API, a notebook whose Markdown and outputs carry every script payload
of the hostile corpus (an image ``width`` with ``onerror``, ``text/html`` with ``<script>`` and
handlers, SVG with ``onload``, ``javascript:`` links, CSS imports...). Each payload would set
``window.__pwned``, log ``PWNED``, open a dialog and call a beacon server. Debian's Chromium opens
``/instructor/submissions/{id}`` as the instructor and ``/submissions/{id}`` as the learner, every
frame loaded; nothing may reach the beacon, no dialog may open, no frame may hold ``__pwned``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from nbcred.web.app import create_app
from tests.browsing import serve
from tests.execution.hostile_corpus import hostile_view_notebook
from tests.nbcred.web.conftest import SAMPLES, grade_queued, open_context, people, settings_for

pytestmark = pytest.mark.browser


class Beacon:
    """A loopback HTTP server that records every request (a payload that ran would call it)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        self.page = ""  # served at /framing (another origin framing ours)
        hits = self.hits
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/framing" and owner.page:
                    body = owner.page.encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                hits.append(self.path)
                self.send_response(204)
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture(scope="module")
def beacon() -> Iterator[Beacon]:
    server = Beacon()
    yield server
    server.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str], Any]]:
    """The app on loopback (graded by the test, with a plain kernel), everyone's API token, its context."""
    from tests.browsing import free_port

    port = free_port()
    settings = settings_for(tmp_path_factory.mktemp("xss") / "home", serve_grading=False,
                            public_base_url=f"http://127.0.0.1:{port}")
    ctx = open_context(settings)
    tokens = people(ctx)
    with serve(create_app(settings, ctx=ctx), port=port) as base:
        yield base, tokens, ctx


@pytest.fixture(scope="module")
def submitted(site: tuple[str, dict[str, str], Any], beacon: Beacon) -> str:
    """The hostile notebook, submitted by Ada through the API and graded."""
    base, tokens, ctx = site
    sample = json.loads((SAMPLES / "pandas-cleaning" / "alice" / "cleaning.ipynb").read_text())
    notebook = json.dumps(hostile_view_notebook(sample, beacon.url)).encode()
    ada = {"Authorization": f"Bearer {tokens['ada']}"}
    with httpx.Client(base_url=base, headers=ada, timeout=60) as client:
        queued = client.post("/api/v1/submissions", data={"assessment": "pandas-cleaning"},
                             files=[("files", ("cleaning.ipynb", notebook))])
        assert queued.status_code == 202, queued.text
        sid: str = queued.json()["id"]
        assert grade_queued(ctx) == ["graded"]
        done = client.get(f"/api/v1/submissions/{sid}").json()
        assert done["status"] == "graded", done
    return sid


@pytest.fixture(scope="module")
def browser(chromium: Any) -> Any:
    return chromium


def open_and_watch(browser: Any, base: str, token: str, path: str) -> dict[str, Any]:
    """Open ``path`` with every notebook frame loaded; what ran, was logged, asked or requested."""
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {token}"},
                                  viewport={"width": 1100, "height": 900})
    seen: dict[str, Any] = {"dialogs": [], "console": [], "requests": [], "pwned": [], "frames": 0}
    context.on("request", lambda r: seen["requests"].append(r.url))
    page = context.new_page()
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.on("console", lambda m: seen["console"].append(m.text))
    try:
        response = page.goto(base + path)
        assert response is not None and response.status == 200
        for summary in page.locator("details > summary").all():
            summary.click()  # the instructor's notebooks open on demand
        frames = page.locator("iframe")
        for i in range(frames.count()):
            frames.nth(i).scroll_into_view_if_needed()
        page.wait_for_load_state("networkidle")
        time.sleep(1.0)  # a payload on a timer or a load event would have fired by now
        for frame in page.frames:
            frame.wait_for_load_state("load")
            if frame == page.main_frame:
                continue  # the page's own links lead elsewhere; the learner's content is framed
            for selector in ("a", "img", "h1", "div"):  # hover and click what a payload hangs on
                for element in frame.locator(selector).all()[:15]:
                    try:
                        element.hover(timeout=300)
                        if selector == "a":
                            element.click(timeout=300, no_wait_after=True)
                    except Exception:
                        pass  # hidden or detached elements are fine
        time.sleep(0.5)
        for frame in page.frames:
            try:
                seen["pwned"].append(frame.evaluate("() => window.__pwned || null"))
            except Exception:  # a frame navigated away by a click: nothing ran there either
                seen["pwned"].append(None)
        seen["frames"] = len(page.frames)
        seen["text"] = "\n".join(f.locator("body").inner_text() for f in page.frames
                                  if f.url != "about:blank")
    finally:
        context.close()
    return seen


@pytest.mark.parametrize(("who", "path"), [("grace", "/instructor/submissions/{sid}"),
                                           ("ada", "/submissions/{sid}")])
def test_no_payload_runs_in_any_frame(browser: Any, site: tuple[str, dict[str, str], Any], beacon: Beacon,
                                      submitted: str, who: str, path: str) -> None:
    base, tokens, _ = site
    seen = open_and_watch(browser, base, tokens[who], path.format(sid=submitted))
    assert seen["frames"] >= 2, "the notebook views were not framed"
    assert "Cleaning a dataset with pandas" in seen["text"]  # the notebook is shown, Markdown rendered
    assert seen["dialogs"] == []
    assert [m for m in seen["console"] if m.startswith("PWNED")] == []  # a payload's own log line
    assert [p for p in seen["pwned"] if p] == []
    assert beacon.hits == []
    assert [u for u in seen["requests"] if u.startswith(beacon.url)] == []


def test_views_are_framed_not_inlined(site: tuple[str, dict[str, str], Any], submitted: str) -> None:
    base, tokens, _ = site
    with httpx.Client(base_url=base, timeout=30) as client:
        staff = {"Authorization": f"Bearer {tokens['grace']}"}
        page = client.get(f"/instructor/submissions/{submitted}", headers=staff).text
        assert "Cleaning a dataset with pandas" not in page  # no learner content on the page itself
        assert f'src="/render/submissions/{submitted}/uploads/cleaning"' in page
        view = client.get(f"/render/submissions/{submitted}/uploads/cleaning", headers=staff)
        policy = view.headers["content-security-policy"]
        assert policy.startswith("sandbox;") and "script-src" not in policy and "default-src 'none'" in policy
        assert "<h1>Cleaning a dataset with pandas</h1>" in view.text
        assert len(view.content) < 200 * 1024 and "cdn" not in view.text.lower()
        again = client.get(f"/render/submissions/{submitted}/uploads/cleaning",
                           headers={**staff, "If-None-Match": view.headers["etag"]})
        assert again.status_code == 304
        assert client.get(f"/render/submissions/{submitted}/uploads/cleaning",
                          headers={"Authorization": f"Bearer {tokens['bob']}"}).status_code == 404
        executed = client.get(f"/render/submissions/{submitted}/notebooks/cleaning", headers=staff).text
        assert 'src="data:image/svg+xml;base64,' in executed  # the hostile cell ran and was shown


def test_screenshot_of_the_instructor_view(browser: Any, site: tuple[str, dict[str, str], Any],
                                           submitted: str) -> None:
    base, tokens, _ = site
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {tokens['grace']}"},
                                  viewport={"width": 1100, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/instructor/submissions/{submitted}")
    page.locator("details:has(iframe.notebook) > summary").first.click()
    frame = page.frame_locator("details iframe.notebook").first
    frame.locator("h1").first.wait_for()
    assert frame.locator("h2", has_text="Load the file").count() == 1  # Markdown rendered
    page.locator("details iframe.notebook").first.scroll_into_view_if_needed()
    artifacts = Path(__file__).parent / "artifacts"
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "instructor-notebook-view.png"))
    context.close()


def test_no_other_site_can_frame_a_page(browser: Any, site: tuple[str, dict[str, str], Any],
                                        beacon: Beacon) -> None:
    """A signed-in instructor's credentials page stays blank inside another origin's frame."""
    base, tokens, _ = site
    beacon.page = ('<!doctype html><title>elsewhere</title>'
                   f'<iframe src="{base}/instructor/credentials"></iframe>')
    context = browser.new_context(extra_http_headers={"Authorization": f"Bearer {tokens['grace']}"})
    page = context.new_page()
    try:
        page.goto(f"{beacon.url}/framing")
        page.wait_for_timeout(1500)
        framed = [f for f in page.frames if f != page.main_frame]
        assert framed, "the frame was not created"
        texts = []
        for frame in framed:
            try:
                texts.append(frame.locator("body").inner_text(timeout=2000))
            except Exception:
                texts.append("")  # an error page without a body: nothing of ours was shown
        assert not any("Credentials" in t or "Sign out" in t for t in texts), texts
    finally:
        context.close()
        beacon.page = ""
