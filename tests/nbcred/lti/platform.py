"""An LTI 1.3 platform for the tests, built on ``lti1p3platform`` (code nobody on this project
wrote): OIDC authorisation, signed launches, its JWKS, the token endpoint, AGS line items and
scores, NRPS memberships and the deep-linking return, served by uvicorn on loopback.

A test names a launch by registering a :class:`Scenario` under a message hint, then starts the
login at the tool with :meth:`TestPlatform.login_url`. Everything the tool sends back (scores
with their headers, line items, deep-linking items, token requests) is recorded for assertions.
"""

from __future__ import annotations

import html
import threading
import time
import typing as t
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as PlatformRequest
from lti1p3platform.request import TRequest

from tests.browsing import free_port, serve

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
CLIENT_ID = "nbcred-tool"
DEPLOYMENT_ID = "deployment-1"


def rsa_pem() -> tuple[str, str]:
    """A fresh RSA key pair as (private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@dataclass
class Scenario:
    """One launch: who, in which course, from which link, with which services."""

    user_id: str
    name: str
    email: str
    roles: list[str] = field(default_factory=lambda: [LEARNER])
    custom: dict[str, str] = field(default_factory=dict)
    context_id: str = "course-101"
    context_title: str = "Data Skills 101"
    resource_link_id: str = "link-1"
    lineitem: str | None = "item-1"  # None: no AGS claim
    lineitems_only: bool = False  # an AGS claim with the container only: the tool creates its item
    nrps: bool = True
    deep_linking: bool = False
    deployment_id: str = DEPLOYMENT_ID
    tamper: t.Callable[[dict[str, Any]], dict[str, Any]] | None = None  # change the claims
    signing_key: tuple[str, str] | None = None  # (private PEM, kid): sign with another key


class _Request(PlatformRequest):
    def build_metadata(self, request: Any) -> TRequest:
        return request  # type: ignore[no-any-return]


class _Config(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, **kwargs: Any) -> None:
        self._registration = kwargs["registration"]

    def get_registration_by_params(self, **kwargs: Any) -> Registration:
        assert self._registration is not None
        return self._registration


class _Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: Any) -> None:
        self._lti_message_hint = kwargs["hint"]

    def get_redirect(self, url: str) -> str:
        return url


class _Launch(LTIAdvantageMessageLaunchAbstract):
    tamper: t.Callable[[dict[str, Any]], dict[str, Any]] | None = None
    signing_key: tuple[str, str] | None = None
    deployment_id: str | None = None

    def get_launch_message(self, include_extra_claims: bool = True) -> dict[str, Any]:
        message = super().get_launch_message(include_extra_claims)
        if self.deployment_id:
            message["https://purl.imsglobal.org/spec/lti/claim/deployment_id"] = self.deployment_id
        return message

    def generate_launch_request(self) -> Any:
        if self.tamper is None and self.signing_key is None:
            return super().generate_launch_request()
        message, state = self.get_launch_data()
        if self._dl is not None:
            message["https://purl.imsglobal.org/spec/lti/claim/message_type"] = "LtiDeepLinkingRequest"
            message.update(self._deep_linking_launch_data or {})
        message.update({"iat": int(time.time()), "exp": int(time.time()) + 300})
        if self.tamper is not None:
            message = self.tamper(message)
        assert self._registration is not None
        if self.signing_key is not None:
            private, kid = self.signing_key
            token = Registration.encode_and_sign(message, private, {"kid": kid})
        else:
            token = self._registration.platform_encode_and_sign(message)
        return {"state": state, "id_token": token}

    def render_launch_form(self, launch_data: dict[str, Any], **kwargs: Any) -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang=en><head><title>Launching</title></head><body>"
            f'<form method="post" action="{html.escape(str(launch_data["launch_url"]))}" id="launch">'
            f'<input type="hidden" name="id_token" value="{html.escape(launch_data["id_token"])}">'
            f'<input type="hidden" name="state" value="{html.escape(launch_data["state"])}">'
            '<button type="submit">Continue</button></form>'
            '<script>document.getElementById("launch").submit()</script></body></html>')


@dataclass
class Received:
    """What the tool sent to the platform."""

    scores: list[tuple[str, dict[str, str], dict[str, Any]]] = field(default_factory=list)
    lineitems: list[dict[str, Any]] = field(default_factory=list)
    deep_links: list[list[dict[str, Any]]] = field(default_factory=list)
    tokens: list[dict[str, str]] = field(default_factory=list)


class TestPlatform:
    """The platform app and its state (``base`` is set once it is served)."""

    __test__ = False

    def __init__(self, issuer: str, tool: str) -> None:
        self.issuer = issuer
        self.tool = tool
        self.private, self.public = rsa_pem()
        self.registration = (
            Registration().set_iss(issuer).set_client_id(CLIENT_ID).set_deployment_id(DEPLOYMENT_ID)
            .set_oidc_login_url(f"{tool}/lti/login").set_launch_url(f"{tool}/lti/launch")
            .set_deeplink_launch_url(f"{tool}/lti/launch").set_tool_key_set_url(f"{tool}/lti/jwks.json")
            .set_platform_public_key(self.public).set_platform_private_key(self.private))
        self.scenarios: dict[str, Scenario] = {}
        self.received = Received()
        self.members: list[dict[str, Any]] = []
        self.down = False  # the AGS endpoints answer 503 while True
        self.withheld: set[str] = set()  # scopes the token endpoint does not grant
        self.refused_users: dict[str, str] = {}  # user id -> why the scores endpoint refuses them
        self.registrations: list[tuple[dict[str, str], dict[str, Any]]] = []  # dynamic registration
        self.issuer_in_configuration = issuer  # what /.well-known/openid-configuration calls the issuer
        self.lock = threading.Lock()
        self._pending_frames: dict[str, str] = {}
        self.app = self._app()

    def config(self) -> _Config:
        return _Config(registration=self.registration)

    def cli_args(self) -> list[str]:
        """``nbcred lti add-platform`` arguments for this platform."""
        return ["--issuer", self.issuer, "--client-id", CLIENT_ID, "--deployment-id", DEPLOYMENT_ID,
                "--auth-login-url", f"{self.issuer}/authorize", "--auth-token-url", f"{self.issuer}/token",
                "--keyset-url", f"{self.issuer}/jwks"]

    def login_url(self, hint: str, scenario: Scenario) -> str:
        """Register ``scenario`` under ``hint``; the tool's login initiation URL for it."""
        self.scenarios[hint] = scenario
        login = _Login(None, self.config())
        login.set_lti_message_hint(hint=hint)
        return str(login.initiate_login(scenario.user_id))

    def lineitem_url(self, item: str) -> str:
        return f"{self.issuer}/lineitems/{item}"

    def _authorize(self, request: Request) -> Response:
        query = dict(request.query_params)
        scenario = self.scenarios.get(query.get("lti_message_hint", ""))
        if scenario is None:
            return HTMLResponse("unknown message hint", status_code=400)
        launch = _Launch(_Request({"method": "GET", "get_data": query, "form_data": {}}), self.config())
        launch.tamper, launch.signing_key = scenario.tamper, scenario.signing_key
        launch.deployment_id = scenario.deployment_id
        launch.set_user_data(scenario.user_id, scenario.roles, scenario.name, scenario.email)
        launch.set_launch_context_claim(scenario.context_id, context_title=scenario.context_title)
        if scenario.deep_linking:
            launch.set_dl(f"{self.issuer}/deep_link_return", title="Add an activity",
                          accept_types={"ltiResourceLink"}, extra_data={"course": scenario.context_id})
        else:
            link = scenario.resource_link_id
            launch.set_resource_link_claim(link, title=f"Link {link}")
            launch.set_custom_parameters_claim(scenario.custom)
        if scenario.lineitems_only:
            launch.set_ags(f"{self.issuer}/lineitems")
        elif scenario.lineitem is not None:
            launch.set_ags(f"{self.issuer}/lineitems", self.lineitem_url(scenario.lineitem))
        if scenario.nrps:
            launch.set_nrps(f"{self.issuer}/memberships/{scenario.context_id}")
        try:
            return launch.lti_launch()  # type: ignore[no-any-return]
        except Exception as exc:  # the library refuses the tool's authorisation request
            return HTMLResponse(f"refused: {type(exc).__name__} {exc}", status_code=400)

    def _service_request(self, request: Request, body: Any) -> _Request:
        return _Request({"method": request.method, "headers": dict(request.headers), "json": body,
                         "get_data": dict(request.query_params), "form_data": {}})

    def _app(self) -> FastAPI:
        app = FastAPI()
        platform = self
        issuer = self.issuer

        @app.get("/authorize")
        def authorize(request: Request) -> Response:
            return platform._authorize(request)

        @app.get("/jwks")
        def jwks() -> dict[str, Any]:
            return dict(platform.config().get_jwks())

        @app.post("/token")
        async def token(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            platform.received.tokens.append(form)
            form["scope"] = " ".join(s for s in form.get("scope", "").split() if s not in platform.withheld)
            config = platform.config()
            try:
                return JSONResponse(dict(config.get_access_token(form)))
            except Exception as exc:
                return JSONResponse({"error": "invalid_client", "error_description": str(exc)}, 400)

        @app.post("/lineitems/{item}/scores")
        async def scores(request: Request, item: str) -> Response:
            if platform.down:
                return JSONResponse({"error": "down for maintenance"}, 503)
            body = await request.json()
            if not platform._authorised(request, "https://purl.imsglobal.org/spec/lti-ags/scope/score"):
                return JSONResponse({"error": "unauthorised"}, 401)
            if body.get("userId") in platform.refused_users:
                return JSONResponse({"errors": [platform.refused_users[body["userId"]]]}, 422)
            with platform.lock:
                platform.received.scores.append((item, dict(request.headers), body))
            return Response(status_code=200)

        @app.get("/lineitems")
        def lineitems(request: Request) -> Response:
            if not platform._authorised(request, "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"):
                return JSONResponse({"error": "unauthorised"}, 401)
            wanted = request.query_params.get("resource_id")
            found = [i for i in platform.received.lineitems if not wanted or i.get("resourceId") == wanted]
            return JSONResponse(found, media_type="application/vnd.ims.lis.v2.lineitemcontainer+json")

        @app.post("/lineitems")
        async def create_lineitem(request: Request) -> Response:
            if not platform._authorised(request, "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"):
                return JSONResponse({"error": "unauthorised"}, 401)
            body = await request.json()
            body["id"] = platform.lineitem_url(f"created-{len(platform.received.lineitems) + 1}")
            platform.received.lineitems.append(body)
            return JSONResponse(body, 201, media_type="application/vnd.ims.lis.v2.lineitem+json")

        @app.get("/memberships/{context}")
        def memberships(request: Request, context: str) -> Response:
            scope = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
            if not platform._authorised(request, scope):
                return JSONResponse({"error": "unauthorised"}, 401)
            return JSONResponse({"id": str(request.url), "context": {"id": context},
                                 "members": platform.members},
                                media_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json")

        @app.post("/deep_link_return")
        async def deep_link_return(request: Request) -> Response:
            form = {k: str(v) for k, v in (await request.form()).items()}
            items = platform.config().validate_deeplinking_resp(form)
            platform.received.deep_links.append(items)
            return HTMLResponse("<!doctype html><html lang=en><head><title>Added</title></head>"
                                f"<body><h1 id=added>Added {len(items)} item(s)</h1></body></html>")

        @app.get("/.well-known/openid-configuration")
        def openid_configuration() -> dict[str, Any]:
            """Written from LTI Dynamic Registration 1.0 §3.4 (lti1p3platform has none)."""
            return {"issuer": platform.issuer_in_configuration,
                    "authorization_endpoint": f"{issuer}/authorize",
                    "token_endpoint": f"{issuer}/token", "jwks_uri": f"{issuer}/jwks",
                    "registration_endpoint": f"{issuer}/register",
                    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                    "scopes_supported": ["openid"], "response_types_supported": ["id_token"],
                    "id_token_signing_alg_values_supported": ["RS256"],
                    "claims_supported": ["sub", "iss", "name", "email"],
                    "https://purl.imsglobal.org/spec/lti-platform-configuration": {
                        "product_family_code": "test-lms", "version": "1.0",
                        "messages_supported": [{"type": "LtiResourceLinkRequest"},
                                               {"type": "LtiDeepLinkingRequest"}]}}

        @app.post("/register")
        async def register(request: Request) -> Response:
            if request.headers.get("authorization") != "Bearer one-time-registration":
                return JSONResponse({"error": "invalid_token"}, 401)
            body = await request.json()
            platform.registrations.append((dict(request.headers), body))
            platform.registration.set_tool_key_set_url(body["jwks_uri"])
            return JSONResponse({**body, "client_id": CLIENT_ID,
                                 "https://purl.imsglobal.org/spec/lti-tool-configuration": {
                                     **body["https://purl.imsglobal.org/spec/lti-tool-configuration"],
                                     "deployment_id": "deployment-dr"}})

        @app.get("/course/{hint}")
        def course(hint: str) -> Response:
            """A course page framing the tool (the login starts inside the iframe)."""
            src = html.escape(platform._pending_frames[hint])
            return HTMLResponse(
                "<!doctype html><html lang=en><head><title>Data Skills 101 · Test LMS</title><style>"
                "body{margin:0;font-family:sans-serif;display:flex;min-height:100vh;background:#f4f4f4}"
                "nav{width:200px;background:#2d3b45;color:#fff;padding:16px}nav a{color:#fff;display:block;"
                "margin:10px 0}main{flex:1;padding:16px 24px}h1{font-size:22px;margin:4px 0 12px}"
                "iframe{width:100%;height:760px;border:1px solid #c7cdd1;background:#fff}</style></head>"
                "<body><nav aria-label=course><strong>Test LMS</strong><a href=#>Home</a>"
                "<a href=#>Assignments</a><a href=#>Grades</a><a href=#>People</a></nav><main>"
                f'<h1>Data Skills 101 › Assignments › {html.escape(hint)}</h1>'
                f'<iframe id="tool" title="nbcred" src="{src}"></iframe></main></body></html>')

        return app

    def frame(self, hint: str, scenario: Scenario) -> str:
        """A course page URL whose iframe launches ``scenario``."""
        self._pending_frames[hint] = self.login_url(hint, scenario)
        return f"{self.issuer}/course/{hint}"

    def _authorised(self, request: Request, scope: str) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        try:
            return bool(self.config().validate_token(token, [scope]))
        except Exception:
            return False


@contextmanager
def running_platform(tool: str) -> Iterator[TestPlatform]:
    """A :class:`TestPlatform` served on loopback for the tool at ``tool``."""
    port = free_port()
    platform = TestPlatform(f"http://127.0.0.1:{port}", tool)
    with serve(platform.app, port=port):
        yield platform
