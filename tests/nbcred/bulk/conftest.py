"""Bulk tests run against the sample catalogue with a fresh nbcred home each."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.paths import ROOT

CATALOGUE = ROOT / "assessments"


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """NBCRED_HOME in a temporary folder, the sample catalogue, a fixed identity salt."""
    folder = tmp_path / "home"
    monkeypatch.setenv("NBCRED_HOME", str(folder))
    monkeypatch.setenv("NBCRED_CATALOGUE", str(CATALOGUE))
    monkeypatch.setenv("NBCRED_PUBLIC_BASE_URL", "https://badges.test")
    monkeypatch.delenv("NBCRED_DATABASE_URL", raising=False)
    return folder
