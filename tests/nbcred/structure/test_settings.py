"""Every setting is declared once, documented on the settings page and read from the environment."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from nbcred.executors.celery_app import CelerySettings
from nbcred.settings import Settings
from tests.paths import ROOT

DOCS = ROOT / "docs"


def _reference() -> object:
    """docs/_ext/nbcred_reference.py, which writes the settings page's list at build time."""
    spec = importlib.util.spec_from_file_location("nbcred_reference", DOCS / "_ext" / "nbcred_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SETTINGS_PAGE = _reference().settings_markdown()  # type: ignore[attr-defined]


DECLARED = [(Settings, "NBCRED_", n) for n in sorted(Settings.model_fields)] + [
    (CelerySettings, "NBCRED_CELERY_", n) for n in sorted(CelerySettings.model_fields)
]


@pytest.mark.parametrize(("cls", "prefix", "name"), DECLARED)
def test_every_setting_is_documented(cls: type, prefix: str, name: str) -> None:
    info = cls.model_fields[name]  # type: ignore[attr-defined]
    assert info.description, f"{name} has no description"
    env = f"{prefix}{name.upper()}"
    assert f"### `{env}`" in SETTINGS_PAGE, f"{env} is not on the settings page"


def test_the_settings_page_includes_the_generated_list() -> None:
    assert "```{include} _generated/settings.md" in (DOCS / "settings.md").read_text()


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBCRED_HOME", str(tmp_path))
    monkeypatch.setenv("NBCRED_WORKERS", "3")
    settings = Settings()
    assert settings.home == tmp_path and settings.workers == 3
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path.resolve() / 'gradebook.sqlite'}"
    monkeypatch.setenv("NBCRED_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().resolved_database_url() == "postgresql+psycopg://u@h/db"
