"""Every setting is declared once, documented in the README and read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbcred.settings import Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name: str) -> None:
    assert Settings.model_fields[name].description, f"{name} has no description"
    assert f"NBCRED_{name.upper()}" in README, f"NBCRED_{name.upper()} is missing from README.md"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("NBCRED_HOME", str(tmp_path))
    monkeypatch.setenv("NBCRED_WORKERS", "3")
    settings = Settings()
    assert settings.home == tmp_path and settings.workers == 3
    assert settings.resolved_database_url() == f"sqlite:///{tmp_path.resolve() / 'gradebook.sqlite'}"
    monkeypatch.setenv("NBCRED_DATABASE_URL", "postgresql+psycopg://u@h/db")
    assert Settings().resolved_database_url() == "postgresql+psycopg://u@h/db"
