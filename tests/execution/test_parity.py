"""Sandboxed and pre-forked kernels grade exactly like the plain nbclient kernel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grader.assessment import load_assessment
from grader.execute import KernelRunner, NotebookRunner
from grader.forkserver import ForkedRunner
from grader.grade import GradeOptions, grade_submission
from grader.sandbox import SandboxedRunner

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
#: The sample catalogue's learners (strong, partial, wrong, tampering, erroring, corrupt), plus
#: hostile cases whose grade does not depend on the sandbox.
CORPUS = [(ROOT / "assessments" / name, ROOT / "notebooks" / name) for name in
          ("pandas-cleaning", "data-visualisation", "exploratory-stats", "sql-from-python")]
HOSTILE = [ROOT / "notebooks" / "hostile" / name for name in ("hide_errors", "wrong_kernel", "corrupt_json")]


def _grade_all(runner: NotebookRunner, corpus: list[tuple[Path, Path]] = CORPUS) -> list[dict[str, Any]]:
    records = []
    for folder, learners in [*corpus, (HOSTILE[0].parent / "assessment", HOSTILE[0].parent)]:
        if not folder.is_dir():
            continue
        assessment = load_assessment(folder)
        for submission in sorted(learners.iterdir()):
            if submission.is_dir() and (submission.parent != HOSTILE[0].parent or submission in HOSTILE):
                result = grade_submission(assessment, submission, options=GradeOptions(runner=runner))
                record = result.as_json()
                record["tests"] = [t.__dict__ for t in result.tests]
                records.append(record)
    return records


def test_forked_and_sandboxed_grades_equal_plain_kernel_grades(forked_runner: ForkedRunner) -> None:
    plain = json.dumps(_grade_all(KernelRunner()), sort_keys=True, indent=1)
    forked = json.dumps(_grade_all(forked_runner), sort_keys=True, indent=1)
    assert forked == plain
    assert '"score": 0.0' in plain and '"passed": true' in plain  # the corpus is not degenerate
    assert len(json.loads(plain)) >= 20
    small = CORPUS[:1]
    sandboxed = json.dumps(_grade_all(SandboxedRunner(), small), sort_keys=True, indent=1)
    assert sandboxed == json.dumps(_grade_all(KernelRunner(), small), sort_keys=True, indent=1)
