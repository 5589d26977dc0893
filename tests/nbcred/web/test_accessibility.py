"""Every page, every width, every user: axe-core (WCAG 2.2 A/AA, contrast included) finds no serious
or critical violation on any page a learner, an instructor, an admin or a visitor opens, at desktop
width and at 390 px; nothing scrolls sideways at 390 px (tables reflow); no word is broken in the
middle; every page starts with a working skip link.

One live server (tests/site.py) and one browser; the world (a learner with a credential, two
waiting for manual grading) is built through the service layer, without kernels.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from credentials.keys import KeyPair
from credentials.proof import sign
from tests.browsing import PHONE, assert_accessible, axe_violations, describe, new_page, overflowing
from tests.site import ASSESSMENT, Site

pytestmark = pytest.mark.browser
WIDTHS = (1100, PHONE)


def pages_of(who: str | None, site: Site) -> list[str]:
    uid = site.credential.removeprefix("urn:uuid:")
    if who is None:
        return ["/signin", "/verify", "/issuer", f"/credentials/{uid}", f"/achievements/{ASSESSMENT}/1.0.0",
                "/no-such-page"]
    if who == "ada":
        return ["/", f"/assessments/{ASSESSMENT}", "/submissions", f"/submissions/{site.submission}",
                "/wallet", "/account"]
    if who == "grace":
        return ["/instructor", f"/instructor/gradebook/{ASSESSMENT}",
                f"/instructor/submissions/{site.waiting[-1]}",  # waiting, with a tampered cell
                f"/instructor/submissions/{site.submission}", "/instructor/credentials?q=ada",
                "/instructor/grading", f"/instructor/similarity/{ASSESSMENT}",
                f"/instructor/extensions/{ASSESSMENT}?learner=bob@example.org", "/instructor/bulk"]
    return ["/", "/account", "/admin/mail"]  # an admin's views of pages the others cover; the outbox


WORDS_BROKEN = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.querySelector('main') || document.body,
                                           NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest('pre, code, .token, script, style, [hidden]')) continue;
    for (const match of node.data.matchAll(/\b[A-Z]?[a-z]{3,}\b/g)) {  // words, not identifiers
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const lines = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}"""


def problems_on(page: Any, path: str) -> list[str]:
    """axe, sideways scrolling, mid-word breaks and the skip link on the open page, at each width."""
    found = []
    skip = page.locator("body > a.skip-link:first-child")
    if skip.count() != 1 or skip.get_attribute("href") != "#main" or page.locator("#main").count() != 1:
        found.append(f"{path}: no skip link to #main as the first thing on the page")
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        violations = axe_violations(page)
        if violations:
            found.append(f"{path} at {width} px:\n{describe(violations)}")
        if overflowing(page):
            found.append(f"{path} scrolls sideways by {overflowing(page)} px at {width} px")
        broken = page.evaluate(WORDS_BROKEN)
        if broken:
            found.append(f"{path} at {width} px breaks words in the middle: {broken[:10]}")
    return found


@pytest.mark.parametrize("who", [None, "ada", "grace", "alan"])
def test_every_page_is_accessible(chromium: Any, site: Site, who: str | None) -> None:
    """Each page as this person sees it, at desktop width and at 390 px."""
    page = site.page(chromium, who, WIDTHS[0])
    try:
        problems = []
        for path in pages_of(who, site):
            page.goto(site.base + path)
            problems += problems_on(page, path)
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()


def test_verify_results_are_accessible(chromium: Any, site: Site) -> None:
    """The verify page with a valid, a tampered and a stranger's credential."""
    uid = site.credential.removeprefix("urn:uuid:")
    page = new_page(chromium)
    try:
        document = page.request.get(f"{site.base}/credentials/{uid}",
                                    headers={"Accept": "application/ld+json"}).json()
        tampered = json.loads(json.dumps(document))
        tampered["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
        stranger = KeyPair.generate()  # a genuine credential from an issuer this service does not know
        unsigned = {k: v for k, v in document.items() if k != "proof"}
        unrecognised = sign({**unsigned, "issuer": {**unsigned["issuer"], "id": stranger.did_key}}, stranger)
        problems = []
        for name, sent in (("valid", document), ("tampered", tampered), ("unrecognised", unrecognised)):
            page.set_viewport_size({"width": WIDTHS[0], "height": 900})
            page.goto(f"{site.base}/verify")
            page.fill("textarea[name=credential_json]", json.dumps(sent))
            page.click("#verify-button")
            page.wait_for_selector("#verdict")
            problems += problems_on(page, f"/verify ({name})")
        assert not problems, "\n".join(problems)
    finally:
        page.context.close()


def test_skip_link_moves_focus_to_the_main_content(chromium: Any, site: Site) -> None:
    page = site.page(chromium, "ada", 1100)
    try:
        page.goto(f"{site.base}/wallet")
        page.keyboard.press("Tab")
        focused = page.evaluate("() => document.activeElement.className")
        assert "skip-link" in focused
        assert page.locator("a.skip-link").is_visible()  # shown when focused
        page.keyboard.press("Enter")
        assert page.evaluate("() => location.hash") == "#main"
    finally:
        page.context.close()


@pytest.mark.parametrize(("who", "path", "button"), [
    ("grace", "/instructor", "button:has-text('validate')"),
    ("ada", "/account", "button:has-text('revoke')"),
])
def test_link_buttons_are_visible(chromium: Any, site: Site, who: str, path: str, button: str) -> None:
    """"validate" and "revoke" were white text on a white card."""
    page = site.page(chromium, who, 1100)
    try:
        page.goto(f"{site.base}{path}")
        colours = page.locator(button).first.evaluate(
            "b => [getComputedStyle(b).color, getComputedStyle(b.closest('.card') || document.body)"
            ".backgroundColor]")
        assert colours[0] != colours[1], colours
        assert colours[0] not in ("rgb(255, 255, 255)", "rgba(0, 0, 0, 0)"), colours
    finally:
        page.context.close()


def test_api_docs_work_offline_with_the_bearer_scheme(chromium: Any, site: Site) -> None:
    """/api/docs renders from the service's own assets with every other host unreachable, and
    offers the bearer scheme (its "Authorize" dialog) declared in the OpenAPI document."""
    page = new_page(chromium)
    elsewhere: list[str] = []

    def only_loopback(route: Any) -> None:
        if route.request.url.startswith(site.base):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    try:
        page.route("**/*", only_loopback)
        page.goto(f"{site.base}/api/docs")
        page.wait_for_selector(".swagger-ui .info .title")
        assert "nbcred" in page.inner_text(".swagger-ui .info .title")
        assert page.locator(".opblock").count() > 10  # the operations are listed
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            assert_accessible(page)
        page.click("button.authorize")
        dialog = page.locator(".dialog-ux .modal-ux")
        dialog.wait_for()
        assert "bearer" in dialog.inner_text() and "http, Bearer" in dialog.inner_text()
        page.keyboard.press("Escape")
        assert not elsewhere, elsewhere
    finally:
        page.context.close()


@pytest.mark.parametrize(("path", "table"), [
    (f"/instructor/gradebook/{ASSESSMENT}", "#gradebook"), ("/instructor/credentials?q=ada", "#credentials")])
def test_tables_reflow_on_a_phone(chromium: Any, site: Site, path: str, table: str) -> None:
    """At 390 px each row is a card: cells one under the other, each with its column's name."""
    page = site.page(chromium, "grace", PHONE)
    try:
        page.goto(site.base + path)
        cells = page.locator(f"{table} tr:not(:has(th))").first.locator("td")
        first, second = cells.nth(0).bounding_box(), cells.nth(1).bounding_box()
        assert second["y"] >= first["y"] + first["height"] - 1  # stacked, not side by side
        assert first["width"] > 300  # the cell has the width of the phone, not of a column
        label = cells.nth(1).evaluate("td => getComputedStyle(td, '::before').content")
        assert label.strip('"').rstrip(": ") == cells.nth(1).get_attribute("data-label")
        assert overflowing(page) == 0
    finally:
        page.context.close()
