"""Chromium journeys: claim a badge from the e-mailed link; reset a forgotten password.

A live server (uvicorn on loopback) sends its mail to a real SMTP server from its own sender
thread; the browser follows the links in what arrives. Screenshots go to tests/nbcred/accounts/artifacts/.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nbcred.bulk.issue import BulkIssuer
from nbcred.web.app import create_app
from tests.browsing import assert_accessible, new_page, overflowing, serve
from tests.nbcred.mail.conftest import SmtpServer, link
from tests.nbcred.web.conftest import catalogue, open_context, settings_for

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
BADGE = "Data Cleaning with pandas"


def shot(page: Any, name: str) -> None:
    assert_accessible(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def live(tmp_path: Path, smtp: SmtpServer) -> Iterator[tuple[str, Any]]:
    from tests.browsing import free_port

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings_for(tmp_path / "home", serve_grading=False, public_base_url=base, base_url=base,
                            smtp_url=smtp.url, mail_poll_seconds=0.2, mail_from="Badges <badges@test>")
    ctx = open_context(settings)
    with serve(create_app(settings, ctx=ctx), port=port) as url:
        yield url, ctx


def test_claim_from_the_email_link_then_reset_the_password(
        chromium: Any, live: tuple[str, Any], smtp: SmtpServer, tmp_path: Path) -> None:
    base, ctx = live
    roster = tmp_path / "roster.csv"
    with roster.open("w", newline="") as handle:
        csv.writer(handle).writerows([["learner", "name", "email", "achievement"],
                                      ["mary-s", "Mary Somerville", "mary@example.org", "pandas-cleaning"]])
    BulkIssuer(settings=ctx.settings, store=ctx.store, catalogue=catalogue(), notify=True).run(roster)
    [mail] = smtp.mailbox.wait(1)  # sent by the server's own sender thread
    claim = link(mail, f"{base}/claim/")

    page = new_page(chromium)
    try:
        page.goto(claim)
        assert BADGE in page.locator("h1 + p").inner_text()
        shot(page, "reach-1-claim")
        page.fill("input[type=password]", "password")
        page.click("button[type=submit]")
        assert "common" in page.locator(".problem").inner_text()
        page.fill("input[type=password]", "Mary's own long passphrase")
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/wallet")
        assert BADGE in page.locator("article.credential h2").inner_text()
        shot(page, "reach-2-wallet")
        page.click("text=Sign out")
        page.wait_for_url(f"{base}/signin")
        page.goto(claim)
        assert page.locator("input[type=password]").count() == 0  # used: never again
    finally:
        page.context.close()

    phone = new_page(chromium, width=390)
    try:
        phone.goto(f"{base}/signin")
        shot(phone, "reach-3-signin-phone")
        assert overflowing(phone) == 0
        phone.click("text=Forgot your password?")
        phone.fill("input[type=email]", "mary@example.org")
        phone.click("button[type=submit]")
        assert "If an account uses that address" in phone.locator("[role=status]").inner_text()
        reset = link(smtp.mailbox.wait(2)[1], f"{base}/password-reset/")
        phone.goto(reset)
        shot(phone, "reach-4-reset")
        assert overflowing(phone) == 0
        phone.fill("input[type=password]", "a newer passphrase for Mary")
        phone.click("button[type=submit]")
        phone.wait_for_url(f"{base}/signin?reset=done")
        phone.fill("input[name=email]", "mary@example.org")
        phone.fill("input[name=password]", "a newer passphrase for Mary")
        phone.click("button[type=submit]")
        phone.wait_for_url(f"{base}/")
        phone.goto(f"{base}/wallet")
        assert BADGE in phone.locator("article.credential h2").inner_text()
    finally:
        phone.context.close()


def test_sign_in_with_the_institution(chromium: Any, tmp_path: Path) -> None:
    from nbcred.settings import OidcProvider
    from tests.browsing import free_port
    from tests.nbcred.accounts.openid_provider import CLIENT_ID, CLIENT_SECRET, provider

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with provider(free_port(), [f"{base}/signin/oidc/uni/callback"]) as issuer:
        entry = OidcProvider(name="uni", title="Example University", client_id=CLIENT_ID,
                             discovery_url=f"{issuer}/.well-known/openid-configuration")
        settings = settings_for(tmp_path / "home", serve_grading=False, public_base_url=base, base_url=base,
                                oidc_providers=[entry], oidc_client_secrets={"uni": CLIENT_SECRET})
        with serve(create_app(settings, ctx=open_context(settings)), port=port):
            page = new_page(chromium)
            try:
                page.goto(f"{base}/signin")
                shot(page, "reach-5-signin-institution")
                page.click("text=Sign in with Example University")
                page.wait_for_url(f"{issuer}/interaction/*")  # the provider's own login form
                page.fill("input[name=login]", "lin")
                page.fill("input[name=password]", "anything")
                page.click("button[type=submit]")
                page.click("button[type=submit]")  # the provider's consent
                page.wait_for_url(f"{base}/")
                page.goto(f"{base}/account")
                assert "lin@example.edu" in page.content()
            finally:
                page.context.close()


def test_the_outbox_is_in_the_administrators_navigation(
        chromium: Any, live: tuple[str, Any], smtp: SmtpServer) -> None:
    from nbcred.mail import Outgoing, enqueue, outbox
    from nbcred.service.users import add_user

    base, ctx = live
    add_user(ctx, email="root@example.org", name="Ada Admin", role="admin", password="an admin passphrase")
    smtp.mailbox.gate = lambda m: ("550 5.1.1 <nobody-with-a-long-address@example.org>: no such mailbox"
                                   if m["To"].startswith("nobody") else None)
    values = {"name": "Learner", "achievement": BADGE, "image_url": None, "link": f"{base}/credentials/x"}
    with ctx.store.session() as session:
        enqueue(session, ctx.settings, [Outgoing("badge_ready", to, values, dedupe_key=to) for to in (
            "somebody@example.org", "nobody-with-a-long-address@example.org")])
    smtp.mailbox.wait(1)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # the server's sender records the refusal
        with ctx.store.session() as session:
            if outbox.counts(session) == {"sent": 1, "failed": 1}:
                break
        time.sleep(0.1)
    for width in (1100, 390):
        page = new_page(chromium, width=width)
        try:
            page.goto(f"{base}/signin")
            page.fill("input[name=email]", "root@example.org")
            page.fill("input[name=password]", "an admin passphrase")
            page.click("button[type=submit]")
            page.wait_for_url(f"{base}/")
            page.click("header nav >> text=Mail")
            page.wait_for_url(f"{base}/admin/mail")
            page.locator("#outbox tr.mail-failed").wait_for(timeout=15_000)
            assert "no such mailbox" in page.locator("#outbox tr.mail-failed").inner_text()
            assert "sent: 1" in page.content() and "failed: 1" in page.content()
            shot(page, f"reach-6-outbox-{'phone' if width < 600 else 'desktop'}")
            assert overflowing(page) == 0
        finally:
            page.context.close()
