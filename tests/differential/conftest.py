"""Fixtures of the differential test: the course and nbgrader's own results for it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
COURSE = HERE / "course"

# the helper modules next to this file are imported by name, whatever pytest's import mode
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from nbgrader_reference import Results, reference_results  # noqa: E402


@pytest.fixture(scope="session")
def course_dir() -> Path:
    return COURSE


@pytest.fixture(scope="session")
def manifest() -> list[dict[str, Any]]:
    """What each student did, as written by make_corpus.py."""
    entries: list[dict[str, Any]] = json.loads((COURSE / "manifest.json").read_text())
    return entries


@pytest.fixture(scope="session")
def nbgrader_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Results, dict[str, float]]:
    """Real ``nbgrader autograde`` on every submission (run once per session).

    Cached by corpus content hash in the session's tmp dir, or in
    ``$NBCRED_NBGRADER_CACHE`` when set (to keep it across sessions).
    """
    cache = os.environ.get("NBCRED_NBGRADER_CACHE") or tmp_path_factory.getbasetemp() / "nbgrader"
    return reference_results(COURSE, cache_dir=cache)


@pytest.fixture(scope="session")
def nbgrader_results(nbgrader_run: tuple[Results, dict[str, float]]) -> Results:
    return nbgrader_run[0]
