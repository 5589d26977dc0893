"""Fixtures of the differential test: the course and nbgrader's own results for it."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
def nbgrader_pending(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Future[tuple[Results, dict[str, float]]]]:
    """Real ``nbgrader autograde`` on every submission, started in the background.

    Runs once per session; a test that also runs nbcred requests this first, so
    both graders run at the same time. Cached by corpus content hash in the
    session's tmp dir, or in ``$NBCRED_NBGRADER_CACHE`` when set (to keep it
    across sessions).
    """
    cache = os.environ.get("NBCRED_NBGRADER_CACHE") or tmp_path_factory.getbasetemp() / "nbgrader"
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(reference_results, COURSE, cache)


@pytest.fixture(scope="session")
def nbgrader_run(
    nbgrader_pending: Future[tuple[Results, dict[str, float]]],
) -> tuple[Results, dict[str, float]]:
    """nbgrader's results and its autograde seconds per ``"<student>/<assignment>"``."""
    return nbgrader_pending.result()


@pytest.fixture(scope="session")
def nbgrader_results(nbgrader_run: tuple[Results, dict[str, float]]) -> Results:
    return nbgrader_run[0]


_FILE_ORDER = {"test_vs_nbgrader.py": 0, "test_nbgrader_reference.py": 1}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the nbcred comparison before the nbgrader-only checks.

    nbcred then grades while nbgrader's background run is still going, instead
    of after it. Only the order of this directory's two slow files changes.
    """
    slots = [i for i, item in enumerate(items) if item.path.name in _FILE_ORDER]
    mine = sorted(
        (items[i] for i in slots), key=lambda item: _FILE_ORDER[item.path.name]
    )  # sorted() is stable: the order inside each file is kept
    for slot, item in zip(slots, mine, strict=True):
        items[slot] = item
