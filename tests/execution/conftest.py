"""Fixtures for execution tests: the hostile corpus, sandboxed runners, a tiny slow assessment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.forkserver import ForkedRunner
from grader.inprocess_runner import InProcessRunner


@pytest.fixture(scope="session")
def forked_runner() -> Iterator[ForkedRunner]:
    """One pre-forked sandboxed runner for the session (its template is stopped afterwards)."""
    runner = ForkedRunner()
    yield runner
    runner.close()


@pytest.fixture(scope="session")
def inprocess_runner() -> Iterator[InProcessRunner]:
    """One in-process runner (forked sandboxed shells) for the session."""
    runner = InProcessRunner()
    yield runner
    runner.close()


@pytest.fixture()
def slow_assessment(tmp_path: Path) -> tuple[Path, list[Path]]:
    """An assessment whose answer cell sleeps 3 s, and three correct submissions of it."""
    from tests.grader.factory import notebook, solution, test, write

    source = notebook(
        solution("answer", "import time\ntime.sleep(3)\n### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"),
        test("test_answer", "assert answer == 42", points=1),
    )
    root = tmp_path / "slow"
    write(source, root / "source" / "slow.ipynb")
    subs = []
    for learner in ("ann", "ben", "cat"):
        write(source, tmp_path / "subs" / learner / "slow.ipynb")
        subs.append(tmp_path / "subs" / learner)
    return root, subs
