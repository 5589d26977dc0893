"""Login initiation: the launch is posted back to this service's own ``/lti/launch`` — the
platform's ``target_link_uri`` when it is ours (as configured or as the request reached us), the
configured address otherwise, never a foreign one; an unknown platform is a clear 400."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx

from nbcred.service import lti
from nbcred.web.app import create_app
from tests.browsing import free_port, serve
from tests.nbcred.instructor.instructor_course import ASSESSMENT, open_course
from tests.nbcred.lti.conftest import launch, launch_form
from tests.nbcred.lti.platform import CLIENT_ID, DEPLOYMENT_ID, Scenario, running_platform


def test_redirect_uri_is_always_this_service(tmp_path: Path) -> None:
    port = free_port()
    here = f"http://127.0.0.1:{port}"
    course = open_course(tmp_path / "home", public_base_url="https://badges.test")  # not how we're reached
    app = create_app(course.ctx.settings, ctx=course.ctx)
    with running_platform(here) as platform, serve(app, port=port):
        lti.add_platform(course.ctx, issuer=platform.issuer, client_id=CLIENT_ID,
                         deployment_id=DEPLOYMENT_ID, auth_login_url=f"{platform.issuer}/authorize",
                         auth_token_url=f"{platform.issuer}/token", keyset_url=f"{platform.issuer}/jwks")
        with httpx.Client(base_url=here, timeout=30) as client:
            landed = launch(client, platform, "ada", Scenario("lms-ada", "Ada", "ada@example.org",
                                                              custom={"assessment": ASSESSMENT}))
            assert landed.status_code == 200 and str(landed.url) == f"{here}/assessments/{ASSESSMENT}"

            def redirect_for(target: str) -> str:
                query = {"iss": platform.issuer, "login_hint": "u", "target_link_uri": target,
                         "client_id": CLIENT_ID}
                answer = client.post("/lti/login", data=query)
                assert answer.status_code == 302
                return parse_qs(urlparse(answer.headers["location"]).query)["redirect_uri"][0]

            assert redirect_for(f"{here}/lti/launch") == f"{here}/lti/launch"
            assert redirect_for("https://badges.test/lti/launch") == "https://badges.test/lti/launch"
            assert redirect_for("https://evil.example/lti/launch") == "https://badges.test/lti/launch"
            query = {"iss": "https://nobody.example", "login_hint": "u",
                     "target_link_uri": f"{here}/lti/launch"}
            unknown = client.get("/lti/login?" + urlencode(query))
            assert unknown.status_code == 400 and "nbcred lti add-platform" in unknown.text
            assert "nbcred_session" not in unknown.cookies

            foreign = Scenario("lms-eve", "Eve", "eve@example.org", custom={"assessment": ASSESSMENT},
                               tamper=lambda m: {**m, "aud": "another-tool", "azp": "another-tool"})
            start = client.get(platform.login_url("eve", foreign))
            action, fields = launch_form(client.get(start.headers["location"]).text)
            first = client.post(action, data=fields)
            assert first.status_code == 401 and "another tool" in first.text
            second = client.post(action, data=fields)  # a refused launch spent its state too
            assert second.status_code == 400 and "already used" in second.text
