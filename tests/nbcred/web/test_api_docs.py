"""The OpenAPI document declares the bearer scheme on every route that needs a caller, and
``/api/docs`` loads nothing from another host (the browser check is in test_accessibility.py)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from nbcred.web.app import create_app
from tests.nbcred.web.conftest import settings_for


def client(tmp_path: Path) -> TestClient:
    return TestClient(create_app(settings_for(tmp_path / "home", "sqlite://", serve_grading=False)))


def test_openapi_declares_the_bearer_scheme(tmp_path: Path) -> None:
    document = client(tmp_path).get("/api/v1/openapi.json").json()
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http" and scheme["scheme"] == "bearer"
    guarded = document["paths"]["/api/v1/submissions"]["post"]
    assert guarded["security"] == [{"bearer": []}]
    assert document["paths"]["/api/v1/instructor/credentials"]["get"]["security"] == [{"bearer": []}]
    assert "security" not in document["paths"]["/api/v1/credentials/verify"]["post"]  # anyone may verify


def test_api_docs_use_only_bundled_assets(tmp_path: Path) -> None:
    with client(tmp_path) as http:
        page = http.get("/api/docs")
        assert page.status_code == 200
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        for source in sources:
            assert http.get(source).status_code == 200, source
        assert "SwaggerUIBundle" in http.get("/api/docs/assets/swagger-ui-bundle.js").text
        assert "<script>" not in page.text  # no inline script (Content-Security-Policy)
