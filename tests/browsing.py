"""What every browser test shares: Debian's Chromium, a live server on loopback and axe-core.

``chromium`` (a session fixture in tests/conftest.py) is one browser per test process;
``assert_accessible(page)`` runs axe-core (installed from tests/nbcred/web/a11y/package-lock.json with
``npm ci`` on first use, under a lock) in the page and fails on any serious or critical WCAG 2.2
A/AA violation, colour contrast included; ``serve(app)`` runs an app under uvicorn on a free
loopback port for the duration of a ``with`` block.

    def test_my_page(chromium, my_live_server):
        page = new_page(chromium, width=390)
        page.goto(my_live_server + "/wallet")
        assert_accessible(page)
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.paths import TESTS

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
AXE_DIR = TESTS / "nbcred" / "web" / "a11y"
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = 1100
PHONE = 390
#: WCAG 2.0, 2.1 and 2.2, levels A and AA (axe-core's tags)
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = ("serious", "critical")


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: browser tests must run)")
    pytest.skip(reason)


def chromium_path() -> str:
    """Debian's chromium (never a downloaded one); skip, or fail under CI=true, without it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and Path("/usr/bin/chromium").exists():
        found = "/usr/bin/chromium"
    if found is None:
        _missing("chromium not found (make test installs it with apt-get install -y chromium)")
    assert found is not None
    return found


@contextmanager
def launch() -> Iterator[Any]:
    """One headless Chromium through playwright."""
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Any, *, width: int = DESKTOP, height: int = 900, **options: Any) -> Any:
    """A page in a fresh context (its own cookies) at ``width`` CSS pixels; close its ``.context``."""
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveServer:
    """An app served by uvicorn in a thread on loopback (``start_server``); ``stop()`` ends it."""

    url: str
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_server(app: Any, *, port: int | None = None, **config: Any) -> LiveServer:
    """``app`` under uvicorn in a thread on ``port`` (or a free one), once it accepts connections;
    ``config`` goes to ``uvicorn.Config`` (``lifespan="on"``…). The one live server of the tests."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **config))
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    return LiveServer(f"http://127.0.0.1:{port}", server, thread)


@contextmanager
def serve(app: Any, *, port: int | None = None, **config: Any) -> Iterator[str]:
    """``start_server`` for the duration of a ``with`` block; yields the base URL."""
    live = start_server(app, port=port, **config)
    try:
        yield live.url
    finally:
        live.stop()


# axe-core -----------------------------------------------------------------------------------------


@functools.cache
def axe_source() -> str:
    """axe.min.js from tests/nbcred/web/a11y, installed with ``npm ci`` once (locked, checked by digest)."""
    npm = shutil.which("npm")
    script = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
    marker = AXE_DIR / "node_modules" / ".installed-from"
    digest = hashlib.sha256((AXE_DIR / "package-lock.json").read_bytes()).hexdigest()
    with open(AXE_DIR / ".install.lock", "w") as held:  # git-ignored; one installer at a time
        fcntl.flock(held, fcntl.LOCK_EX)
        if not (marker.is_file() and marker.read_text() == digest and script.is_file()):
            if npm is None:
                _missing("npm not installed: cannot install axe-core for the accessibility checks")
            done = subprocess.run([str(npm), "ci", "--no-audit", "--no-fund"], cwd=AXE_DIR,
                                  capture_output=True, text=True, timeout=300, check=False)
            if done.returncode != 0 or not script.is_file():
                _missing(f"npm ci of axe-core failed: {done.stderr[-2000:]}")
            marker.write_text(digest)
    return script.read_text(encoding="utf-8")


def axe_violations(page: Any, *, exclude: list[str] | None = None) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG A/AA violations on ``page`` as it is now.

    Text in the colour of its own background (contrast 1:1) is only "incomplete" for axe (it could
    be hidden on purpose); on these pages it is a white-on-white button, so it counts as a violation.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # through the DevTools protocol, so a strict Content-Security-Policy does not refuse it
        page.evaluate(axe_source())
    context = {"exclude": [[selector] for selector in exclude]} if exclude else None
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations", "incomplete"]}
    results = page.evaluate("([context, options]) => axe.run(context || document, options)",
                            [context, options])
    found = [v for v in results["violations"] if v.get("impact") in FAILING_IMPACTS]
    for rule in results.get("incomplete", []):
        invisible = [n for n in rule["nodes"] if rule["id"] == "color-contrast"
                     and any((c.get("data") or {}).get("messageKey") == "equalRatio" for c in n["any"])]
        if invisible:
            found.append({**rule, "impact": "serious", "nodes": invisible,
                          "help": "Text is the colour of its background (contrast 1:1)"})
    return found


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['impact']}: {v['id']} — {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'])}: {node.get('failureSummary', '')[:300]}")
    return "\n".join(lines)


def assert_accessible(page: Any, *, exclude: list[str] | None = None) -> None:
    """No serious or critical WCAG 2.2 A/AA violation (axe-core) on ``page``, contrast included.

    ``exclude`` takes CSS selectors axe should not look inside (say, a sandboxed frame showing
    learner content, which is checked on its own page).
    """
    violations = axe_violations(page, exclude=exclude)
    assert not violations, f"{page.url} at {page.viewport_size['width']} px:\n{describe(violations)}"


def overflowing(page: Any) -> int:
    """How many CSS pixels the page is wider than the viewport (0 when nothing scrolls sideways)."""
    width: int = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    return max(0, width)
