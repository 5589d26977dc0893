"""The forked runner forks only Python kernels; other installed kernels are started normally."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest

from grader.assessment import load_assessment
from grader.forkserver import ForkedRunner, ForkKernelManager
from grader.grade import GradeOptions, grade_submission
from tests.grader.factory import CORRECT, squares_source, write


def test_non_python_kernel_is_started_not_forked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = tmp_path / "jupyter" / "kernels" / "other"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Other", "language": "other",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    source = squares_source()
    source.metadata["kernelspec"] = {"name": "other", "display_name": "Other", "language": "python"}
    write(source, tmp_path / "ps1" / "problem1.ipynb")
    assessment = load_assessment(tmp_path / "ps1")
    released = assessment.notebooks[0].release
    for cell in released.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "squares":
            cell.source = CORRECT
    (tmp_path / "ann").mkdir()
    nbformat.write(released, tmp_path / "ann" / "problem1.ipynb")

    answers: list[bool] = []
    real = ForkKernelManager.forkable

    def spy(self: ForkKernelManager) -> bool:
        answers.append(real(self))
        return answers[-1]

    monkeypatch.setattr(ForkKernelManager, "forkable", spy)
    runner = ForkedRunner()
    try:
        runner.new_workdir()  # keep a spare, as the executors do
        results = [grade_submission(assessment, tmp_path / "ann", options=GradeOptions(runner=runner))
                   for _ in range(2)]
    finally:
        runner.close()
    assert [(r.score, r.errors) for r in results] == [(3.0, []), (3.0, [])]
    assert answers and not any(answers)  # the "other" kernel was never forked from the template


@pytest.mark.parametrize("kind", ["forked", "sandboxed"])
def test_kernel_setup_runs_before_the_first_cell(
    kind: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """grader.execute.KERNEL_SETUP (the in-kernel instrumentation hook) runs in every kernel."""
    from grader import execute
    from grader.sandbox import SandboxedRunner
    from grader.spec import ExecutionLimits
    from tests.grader.factory import code, notebook

    monkeypatch.setattr(execute, "KERNEL_SETUP", ["import builtins; builtins.HOOKED = 'yes'"])
    runner = ForkedRunner() if kind == "forked" else SandboxedRunner()
    try:
        outcome = runner.run(notebook(code("print(HOOKED)"), code("1 + 1")), workdir=tmp_path,
                             limits=ExecutionLimits(), kernel_name="python3")
    finally:
        getattr(runner, "close", lambda: None)()
    assert outcome.notebook.cells[0].outputs[0]["text"] == "yes\n"
    assert outcome.notebook.cells[0].execution_count == 1  # the hook took no execution count


@pytest.mark.parametrize("kind", ["forked", "forked, other runtime version", "sandboxed"])
def test_integrity_runtime_is_compiled_once_by_the_template(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forked kernel installs the integrity runtime the template compiled; others compile it,
    and so does a forked kernel whose template holds another version of the runtime.

    The check is the runtime at work: a learner object that claims equality with everything
    fails the test cell in every kind of kernel.
    """
    from grader.integrity import hook
    from grader.sandbox import SandboxedRunner
    from tests.grader.factory import code, notebook, test

    if kind == "forked, other runtime version":
        monkeypatch.setattr(hook, "runtime_digest", lambda: "0" * 64)
    from grader.spec import ExecutionLimits

    probe = ("import sys\nhook = sys.modules.get('grader.integrity.hook')\n"
             "print(hook.precompiled_runtime.cache_info().hits if hook else 'not forked')")
    nb = notebook(code("class Any:\n    def __eq__(self, other):\n        return True\nanswer = Any()"),
                  test("test_answer", "assert answer == 42"), code(probe))
    runner = ForkedRunner() if kind.startswith("forked") else SandboxedRunner()
    try:
        outcome = runner.run(nb, workdir=tmp_path, limits=ExecutionLimits(), kernel_name="python3")
    finally:
        getattr(runner, "close", lambda: None)()
    assert outcome.replies[1] == "error"  # the forged equality was caught by the runtime
    printed = outcome.notebook.cells[2].outputs[0]["text"].strip()
    assert printed == ("2" if kind.startswith("forked") else "not forked")


def test_template_warm_up_leaves_nothing_a_fresh_kernel_would_not_have(tmp_path: Path) -> None:
    """The template runs warm-up cells in a throwaway shell (grader.forkserver.WARM_UP_CELLS);
    a forked kernel's namespace, history and counters are those of a plain fresh kernel."""
    from grader.execute import KernelRunner
    from grader.forkserver import WARM_UP_CELLS
    from grader.spec import ExecutionLimits
    from tests.grader.factory import code, notebook

    probe = ("import sys, threading\n"
             "print(sorted(k for k in globals() if not k.startswith('_')), len(In), len(Out), "
             "get_ipython().execution_count, 'values' in dir(), threading.active_count() > 0)")
    outputs = []
    for runner in (KernelRunner(), ForkedRunner()):
        nb = notebook(code("1 + 1"), code("raise ValueError('x')"), code(probe))
        try:
            outcome = runner.run(nb, workdir=tmp_path, limits=ExecutionLimits(), kernel_name="python3")
        finally:
            getattr(runner, "close", lambda: None)()
        outputs.append(outcome.notebook.cells[2].outputs[0]["text"])
    assert "values" in WARM_UP_CELLS[0]  # the probe looks for a name the warm-up defines
    assert outputs[0] == outputs[1]
