"""The public credential page an employer reads: verdict banner, earner (when allowed), issuer,
skills, criteria, evidence, dates, the recipient check, card tags and a real JSON download."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from credentials import ob3
from nbcred.issuance import CredentialIssuer
from nbcred.service import ServiceContext
from nbcred.service.courseware import set_status
from nbcred.service.users import account_for_token
from nbcred.service.verify import verify_document
from tests.nbcred.web.conftest import Service
from tests.nbcred.web.test_pathway_paths import passing

ASSESSMENT = "pandas-cleaning"


def issue(ctx: ServiceContext, learner: str, *, issuer: CredentialIssuer | None = None,
          assessment_id: str = ASSESSMENT) -> str:
    assessment = ctx.catalogue.assessments[assessment_id]
    result = passing(assessment, learner, content=learner[0])
    recorded = ctx.store.record(result, fingerprint=assessment.fingerprint, title=assessment.spec.title)
    credential = (issuer or ctx.issuer)(result, assessment, recorded.grading_id)
    assert credential is not None
    return credential.removeprefix("urn:uuid:")


def banner(html: str) -> str:
    found = re.search(r'id="standing-word" class="standing-word">([^<]+)<', html)
    assert found, html[:2000]
    return found.group(1)


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_a_valid_credential_page_has_what_an_employer_needs(shared_quiet_service: Service) -> None:
    service = shared_quiet_service
    credential = issue(service.ctx, "ada-page")
    page = service.client.get(f"/credentials/{credential}")
    html = page.text
    assert page.status_code == 200 and banner(html) == "VALID"
    assert "Data Cleaning with pandas" in html and "nbcred Data Skills Academy" in html
    assert 'id="criteria"' in html and "Data preparation — missing data" in html  # skills
    assert "DS-PREP-2" in html and 'id="evidence"' in html and "Handle missing values" in html
    assert 'id="issued"' in html and 'id="expires"' in html
    assert 'id="earner-hidden"' in html  # off by default
    image = re.search(r'<meta property="og:image" content="([^"]+)"', html)
    assert image and image.group(1) == f"https://badges.test/credentials/{credential}/image.png"
    assert '<meta name="twitter:card" content="summary">' in html and 'property="og:title"' in html
    png = service.client.get(f"/credentials/{credential}/image.png")
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    link = re.search(r'id="json-link" href="([^"]+)"', html)
    assert link is not None
    download = service.client.get(link.group(1).replace("https://badges.test", "").replace("&amp;", "&"))
    assert download.status_code == 200 and download.headers["content-type"].startswith("application/json")
    assert "attachment" in download.headers["content-disposition"]
    assert download.json()["id"] == f"urn:uuid:{credential}"
    assert "<script" not in html and "style=" not in html  # nothing that a strict CSP blocks


def test_the_recipient_check_compares_with_the_hashed_identifier(shared_quiet_service: Service) -> None:
    service = shared_quiet_service
    ada = account_for_token(service.ctx, service.tokens["ada"])
    assert ada is not None
    credential = issue(service.ctx, ada.learner)
    token = csrf(service.client.get(f"/credentials/{credential}").text)
    url = f"/credentials/{credential}/recipient"
    yes = service.client.post(url, data={"email": " Ada@Example.org ", "csrf_token": token})
    assert yes.status_code == 200 and "Yes: this credential was issued to Ada@Example.org" in yes.text
    no = service.client.post(url, data={"email": "eve@example.org", "csrf_token": token})
    assert "No: this credential was not issued to eve@example.org" in no.text
    bad = service.client.post(url, data={"email": "nobody", "csrf_token": token})
    assert bad.status_code == 422 and "give the e-mail address" in bad.text
    assert service.client.post(url, data={"email": "ada@example.org"}).status_code == 403  # no CSRF


def test_the_earners_name_is_shown_only_when_they_choose(shared_quiet_service: Service) -> None:
    service = shared_quiet_service
    ada = account_for_token(service.ctx, service.tokens["ada"])
    assert ada is not None
    credential = issue(service.ctx, ada.learner, assessment_id="sql-from-python")
    url = f"/wallet/credentials/{credential}/name"
    shown = service.client.post(url, data={"show": "yes"}, headers=service.auth("ada"),
                                follow_redirects=False)
    assert shown.status_code == 303
    page = service.client.get(f"/credentials/{credential}").text
    assert 'Earned by <strong id="earner">Ada</strong>' in page and banner(page) == "VALID"
    document = service.client.get(f"/credentials/{credential}?download=json").json()
    assert ob3.subject_name(document) == "Ada"
    assert verify_document(service.ctx, document).result.verified  # signed again, still valid
    assert service.client.post(url, data={"show": "yes"}, headers=service.auth("bob")).status_code == 404
    api = f"/api/v1/credentials/{credential}/name"
    hide = service.client.put(api, json={"show": False}, headers=service.auth("ada"))
    assert hide.status_code == 200 and hide.json()["shows_name"] is False
    hidden = service.client.get(f"/credentials/{credential}?download=json").json()
    assert ob3.subject_name(hidden) is None and "Ada" not in str(hidden["credentialSubject"])


def test_revoked_suspended_and_reissued_credentials_say_so(shared_quiet_service: Service) -> None:
    service = shared_quiet_service
    ctx = service.ctx
    suspended = issue(ctx, "sam-page")
    set_status(ctx, f"urn:uuid:{suspended}", action="suspend", reason="appeal pending")
    page = service.client.get(f"/credentials/{suspended}").text
    today = datetime.now(UTC).strftime("%d %B %Y")
    assert banner(page) == "SUSPENDED" and f"suspended this credential on {today}" in page
    revoked = issue(ctx, "rex-page")
    set_status(ctx, f"urn:uuid:{revoked}", action="revoke", reason="misconduct")
    page = service.client.get(f"/credentials/{revoked}").text
    assert banner(page) == "REVOKED" and f"revoked this credential on {today}" in page
    assert "misconduct" not in page.split('id="standing"')[1].split("</section>")[0]
    replaced = issue(ctx, "ray-page")
    fresh = set_status(ctx, f"urn:uuid:{replaced}", action="reissue", reason="name corrected")
    old = service.client.get(f"/credentials/{replaced}").text
    assert banner(old) == "REVOKED" and "replaced by a newer credential" in old
    new_id = fresh.id.removeprefix("urn:uuid:")
    assert f'id="replacement" href="https://badges.test/credentials/{new_id}"' in old
    assert banner(service.client.get(f"/credentials/{fresh.id}").text) == "VALID"


def test_an_expired_credential_says_when(shared_quiet_service: Service) -> None:
    ctx = shared_quiet_service.ctx
    long_ago = datetime.now(UTC) - timedelta(days=3 * 365)
    old_issuer = CredentialIssuer(ctx.settings, ctx.store, clock=lambda: long_ago)
    credential = issue(ctx, "eli-page", issuer=old_issuer)
    page = shared_quiet_service.client.get(f"/credentials/{credential}").text
    assert banner(page) == "EXPIRED" and "This credential expired on " in page


def test_a_tampered_document_is_announced_and_nothing_in_it_shown(shared_quiet_service: Service) -> None:
    service = shared_quiet_service
    credential = issue(service.ctx, "tia-page", assessment_id="exploratory-stats")
    document = service.client.get(f"/credentials/{credential}?download=json").json()
    forged = {**document, "name": "Doctor of Everything", "validUntil": "2099-01-01T00:00:00Z"}
    page = service.client.get("/verify").text
    shown = service.client.post("/verify", data={"credential_json": json.dumps(forged),
                                                 "csrf_token": csrf(page)}).text
    verdict = re.search(r'<h2 id="verdict"[^>]*>([^<]+)<', shown)
    assert verdict and "altered" in verdict.group(1) and "Nothing in it can be trusted" in verdict.group(1)
    assert "Doctor of Everything" not in shown and "2099" not in shown
    rows = dict((name, state) for state, name in
                re.findall(r'<tr class="(ok|bad|unknown)" data-check="(\w+)">', shown))
    assert rows == {"signature": "bad", "issuer": "unknown", "dates": "unknown", "status": "unknown",
                    "schema": "unknown"}  # no tick computed from forged data


def test_a_credential_signed_by_another_issuer_is_not_passed_off_as_ours(
    shared_quiet_service: Service, tmp_path: Path,
) -> None:
    ctx = shared_quiet_service.ctx
    elsewhere = ctx.settings.model_copy(update={"home": tmp_path / "elsewhere"})  # other keys
    credential = issue(ctx, "ivy-page", issuer=CredentialIssuer(elsewhere, ctx.store))
    page = shared_quiet_service.client.get(f"/credentials/{credential}").text
    assert banner(page) == "ISSUER NOT RECOGNISED" and "(not this service)" in page
