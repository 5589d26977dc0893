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
from grader.inprocess_runner import InProcessRunner
from grader.sandbox import SandboxedRunner
from tests.paths import ROOT

pytestmark = pytest.mark.slow
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


def test_forked_inprocess_and_sandboxed_grades_equal_plain_kernel_grades(
    forked_runner: ForkedRunner, inprocess_runner: InProcessRunner
) -> None:
    plain = json.dumps(_grade_all(KernelRunner()), sort_keys=True, indent=1)
    forked = json.dumps(_grade_all(forked_runner), sort_keys=True, indent=1)
    assert forked == plain
    assert json.dumps(_grade_all(inprocess_runner), sort_keys=True, indent=1) == plain
    assert '"score": 0.0' in plain and '"passed": true' in plain  # the corpus is not degenerate
    assert len(json.loads(plain)) >= 20
    small = CORPUS[:1]
    sandboxed = json.dumps(_grade_all(SandboxedRunner(), small), sort_keys=True, indent=1)
    assert sandboxed == json.dumps(_grade_all(KernelRunner(), small), sort_keys=True, indent=1)


def _preloaded_assessment(tmp_path: Path) -> tuple[Path, list[Path]]:
    """A notebook importing modules only its assessment's preload has (statistics, pyplot), with an
    inline figure; a correct and a wrong submission."""
    from tests.grader.factory import code, notebook, solution, test, write

    source = notebook(
        code("import statistics\nimport matplotlib.pyplot as plt\nfrom fractions import Fraction"),
        solution("mean", "def mean_of(xs):\n    ### BEGIN SOLUTION\n    return statistics.mean(xs)\n"
                 "    ### END SOLUTION"),
        code("fig, ax = plt.subplots(figsize=(3, 2))\nax.plot([1, 2, 3], [mean_of([1, 2]), 2, 3]);"),
        test("test_mean", "assert mean_of([1, 2, 3]) == 2\n"
             "assert Fraction(mean_of([1, 2])) == Fraction(3, 2)", points=1),
        code("plt.bar([1, 2], [3, 4])"),
    )
    write(source, tmp_path / "stats" / "source" / "stats.ipynb")
    wrong = source.copy()
    wrong.cells = [*source.cells[:1], solution("mean", "def mean_of(xs):\n    return 0"), *source.cells[2:]]
    subs = [write(source, tmp_path / "subs" / "ann" / "stats.ipynb").parent,
            write(wrong, tmp_path / "subs" / "ben" / "stats.ipynb").parent]
    return tmp_path / "stats", subs


def test_a_notebook_using_the_assessments_own_preload_grades_and_draws_as_in_a_fresh_kernel(
    forked_runner: ForkedRunner, inprocess_runner: InProcessRunner, tmp_path: Path
) -> None:
    from grader.forkserver import DEFAULT_PRELOAD

    root, subs = _preloaded_assessment(tmp_path)
    assessment = load_assessment(root)
    assert "statistics" in assessment.spec.execution.preload and "statistics" not in DEFAULT_PRELOAD

    def run(runner: NotebookRunner) -> tuple[str, list[Any]]:
        options = GradeOptions(runner=runner)
        grades = [grade_submission(assessment, s, options=options).as_json() for s in subs]
        workdir = tmp_path / f"run-{type(runner).__name__}"
        workdir.mkdir()
        executed = runner.run(assessment.notebooks[0].source.copy(), workdir=workdir,
                              limits=assessment.spec.execution, kernel_name="python3").notebook
        return json.dumps(grades, sort_keys=True), [cell.get("outputs") for cell in executed.cells]

    plain, forked = run(KernelRunner()), run(forked_runner)
    assert "statistics" in forked_runner.template.imports()
    assert "matplotlib.pyplot" in forked_runner.template.imports()
    assert forked == plain
    assert run(inprocess_runner) == plain
    assert "statistics" in inprocess_runner.template.imports()
    assert '"score": 1.0' in plain[0] and '"score": 0.0' in plain[0]
    figures = [o for outputs in plain[1] if outputs for o in outputs if "image/png" in o.get("data", {})]
    assert len(figures) == 2  # the inline backend showed both figures
