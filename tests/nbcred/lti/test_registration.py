"""LTI Dynamic Registration against the test platform: an administrator's single-use URL, the
platform's configuration read and checked, the tool's registration posted with the platform's
token, the platform and deployment stored (a launch through them works), refusals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from nbcred.service import lti
from nbcred.web.app import create_app
from tests.browsing import free_port, serve
from tests.nbcred.instructor.instructor_course import ASSESSMENT, Course, open_course
from tests.nbcred.lti.conftest import launch
from tests.nbcred.lti.platform import CLIENT_ID, Scenario, TestPlatform, running_platform


@pytest.fixture
def tool(tmp_path: Path, db_url: str) -> Iterator[tuple[str, Course, TestPlatform]]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    course = open_course(tmp_path / "home", db_url, public_base_url=base)
    app = create_app(course.ctx.settings, ctx=course.ctx)
    with running_platform(base) as platform, serve(app, port=port):
        yield base, course, platform


def test_dynamic_registration_then_a_launch(tool: tuple[str, Course, TestPlatform]) -> None:
    base, course, platform = tool
    url = lti.registration_url(course.ctx, base=base)
    config = quote(f"{platform.issuer}/.well-known/openid-configuration", safe="")
    with httpx.Client(base_url=base, timeout=30) as client:
        bare = client.get(url.removeprefix(base))
        assert bare.status_code == 400 and "paste it into the LMS" in bare.text
        done = client.get(f"{url.removeprefix(base)}&openid_configuration={config}"
                          "&registration_token=one-time-registration")
        assert done.status_code == 200, done.text
        assert "org.imsglobal.lti.close" in done.text and CLIENT_ID in done.text
        again = client.get(f"{url.removeprefix(base)}&openid_configuration={config}"
                           "&registration_token=one-time-registration")
        assert again.status_code == 404  # the registration URL works once
    ((headers, body),) = platform.registrations
    assert headers["content-type"] == "application/json"
    assert body["initiate_login_uri"] == f"{base}/lti/login"
    assert body["redirect_uris"] == [f"{base}/lti/launch"] and body["jwks_uri"] == f"{base}/lti/jwks.json"
    assert body["token_endpoint_auth_method"] == "private_key_jwt"
    assert "https://purl.imsglobal.org/spec/lti-ags/scope/score" in body["scope"].split()
    tool_config = body["https://purl.imsglobal.org/spec/lti-tool-configuration"]
    assert tool_config["domain"] == base.removeprefix("http://")
    assert tool_config["messages"][0]["type"] == "LtiDeepLinkingRequest"
    (registered,) = lti.list_platforms(course.ctx)
    assert (registered.issuer, registered.client_id, registered.deployments) == (
        platform.issuer, CLIENT_ID, ("deployment-dr",))
    assert registered.auth_token_url == f"{platform.issuer}/token" and registered.title == "test-lms"
    with httpx.Client(base_url=base, timeout=30) as client:
        landed = launch(client, platform, "ada", Scenario("lms-ada", "Ada", "ada@example.org",
                                                          custom={"assessment": ASSESSMENT},
                                                          deployment_id="deployment-dr"))
        assert landed.status_code == 200 and str(landed.url).endswith(f"/assessments/{ASSESSMENT}")


def test_registration_refusals(tool: tuple[str, Course, TestPlatform]) -> None:
    base, course, platform = tool
    config = quote(f"{platform.issuer}/.well-known/openid-configuration", safe="")
    with httpx.Client(base_url=base, timeout=30) as client:
        forged = client.get(f"/lti/register?token=guessed&openid_configuration={config}")
        assert forged.status_code == 404 and not platform.registrations
        platform.issuer_in_configuration = "https://lms.elsewhere.example"
        url = lti.registration_url(course.ctx, base=base).removeprefix(base)
        token = "&registration_token=one-time-registration"
        elsewhere = client.get(f"{url}&openid_configuration={config}{token}")
        assert elsewhere.status_code == 400 and "on another host" in elsewhere.text
        platform.issuer_in_configuration = platform.issuer
        refused = client.get(f"{url}&openid_configuration={config}&registration_token=wrong")
        assert refused.status_code == 400 and "refused the registration (401)" in refused.text
        assert client.get(f"{url}&openid_configuration={config}"
                          "&registration_token=one-time-registration").status_code == 200  # still usable
    assert lti.list_platforms(course.ctx)[0].deployments == ("deployment-dr",)
