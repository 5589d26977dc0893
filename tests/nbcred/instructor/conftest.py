"""Instructor fixtures: a service over the sample catalogue with a graded submission to mark by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.nbcred.instructor.instructor_course import Course, open_course


@pytest.fixture
def course(tmp_path: Path, db_url: str) -> Course:
    """On SQLite and on PostgreSQL (the root conftest's ``db_url``)."""
    return open_course(tmp_path / "home", db_url)


@pytest.fixture
def sqlite_course(tmp_path: Path) -> Course:
    return open_course(tmp_path / "home")
