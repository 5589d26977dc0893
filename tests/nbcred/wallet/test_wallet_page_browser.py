"""In Chromium, at desktop width and at 390 px: the wallet page's "Add to a wallet app" gives both
QR codes (the DCC Learner Credential Wallet's deep link and an OpenID4VCI offer) with their links
and the PIN, axe-clean, not scrolling sideways; each QR code encodes exactly its link, and the
offer and PIN shown work at the token endpoint. Photographed to ``$NBCRED_TEST_SCREENSHOTS``
when set (the docs' come from here), else to ``tests/nbcred/wallet/artifacts``."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from nbcred.service import ServiceContext
from nbcred.service.users import add_user, create_token
from nbcred.settings import Settings
from nbcred.web.app import create_app
from nbcred.web.wallets import qr_data_uri
from tests.browsing import PHONE, assert_accessible, free_port, new_page, overflowing, serve
from tests.nbcred.wallet.wallet_world import award, ctx_account

pytestmark = pytest.mark.browser
SCREENSHOTS = Path(os.environ.get("NBCRED_TEST_SCREENSHOTS") or Path(__file__).parent / "artifacts")
WIDTHS = {"desktop": 1100, "phone": PHONE}
PASSWORD = "wallet horse battery staple"
PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


@dataclass
class Site:
    base: str
    ctx: ServiceContext


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(home=tmp_path_factory.mktemp("wallet-page") / "home", public_base_url=base,
                        base_url=base, serve_grading=False, workers=1, verify_workers=1)
    ctx = ServiceContext.open(settings)
    add_user(ctx, email="ada@example.org", name="Ada Lovelace", role="learner", password=PASSWORD)
    award(ctx, ctx_account(ctx, create_token(ctx, email="ada@example.org").token))
    with serve(create_app(settings, ctx=ctx), port=port) as url:
        yield Site(url, ctx)


@pytest.fixture(params=list(WIDTHS))
def page(request: pytest.FixtureRequest, chromium: Any, site: Site) -> Iterator[tuple[Any, str]]:
    opened = new_page(chromium, width=WIDTHS[request.param])
    opened.goto(f"{site.base}/signin")
    opened.fill("input[name=email]", "ada@example.org")
    opened.fill("input[name=password]", PASSWORD)
    opened.click("button[type=submit]")
    opened.wait_for_url(lambda url: "/signin" not in url)
    try:
        yield opened, request.param
    finally:
        opened.context.close()


def test_the_wallet_page_hands_a_badge_to_wallet_apps(site: Site, page: tuple[Any, str]) -> None:
    browser, width = page
    browser.goto(f"{site.base}/wallet")
    assert_accessible(browser)
    browser.check("form.add-to-wallet input[name=tx_code]")
    browser.click("form.add-to-wallet button[type=submit]")
    browser.wait_for_selector("#offer-link")
    assert "Add “Data Cleaning with pandas” to a wallet" in browser.locator("h1").inner_text()
    offer_uri = browser.locator("#offer-link").get_attribute("href")
    lcw = browser.locator("#lcw-link").get_attribute("href")
    pin = browser.locator("#tx-code").inner_text()
    codes = browser.locator("img.qr")
    assert codes.count() == 2
    assert codes.nth(0).get_attribute("src") == qr_data_uri(lcw)
    assert codes.nth(1).get_attribute("src") == qr_data_uri(offer_uri)
    assert all(codes.nth(i).bounding_box()["width"] >= 150 for i in range(2))  # scannable on a phone
    request = json.loads(parse_qs(urlsplit(lcw).query)["request"][0])
    assert request["protocols"]["vcapi"].startswith(site.base + "/exchanges/")
    offer = json.loads(parse_qs(urlsplit(offer_uri).query)["credential_offer"][0])
    grant = offer["grants"][PRE]
    assert len(pin) == grant["tx_code"]["length"] == 6
    assert_accessible(browser)
    assert overflowing(browser) == 0, "the page scrolls sideways"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(path=str(SCREENSHOTS / f"wallet-add-{width}.png"), full_page=True)
    token = httpx.post(f"{site.base}/openid4vci/token", data={
        "grant_type": PRE, "pre-authorized_code": grant["pre-authorized_code"], "tx_code": pin})
    assert token.status_code == 200 and token.json()["token_type"] == "bearer"
    started = httpx.post(request["protocols"]["vcapi"], json={})
    assert started.json()["verifiablePresentationRequest"]["query"][0]["type"] == "DIDAuthentication"
