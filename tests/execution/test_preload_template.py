"""A kernel template never forks kernels after a preloaded module started a thread."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader import forkserver
from grader.forkserver import DEFAULT_PRELOAD, ForkedRunner, KernelTemplate
from grader.sandbox import SandboxPolicy, make_plan, release
from grader.spec import ExecutionLimits
from tests.grader.factory import code, notebook

THREADED = "import threading, time\nthreading.Thread(target=time.sleep, args=(600,), daemon=True).start()\n"


@pytest.fixture()
def threaded_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A module ``nbcred_threaded`` that starts a thread when imported, importable by templates."""
    (tmp_path / "nbcred_threaded.py").write_text(THREADED)
    real = forkserver.kernel_env
    monkeypatch.setattr(forkserver, "kernel_env", lambda home: {**real(home), "PYTHONPATH": str(tmp_path)})
    return "nbcred_threaded"


def test_a_module_that_starts_a_thread_is_dropped_with_a_warning(
    threaded_module: str, tmp_path: Path
) -> None:
    runner = ForkedRunner()
    limits = ExecutionLimits(preload=("fractions", threaded_module, "decimal"))
    (tmp_path / "work").mkdir()
    try:
        with pytest.warns(RuntimeWarning, match=f"importing '{threaded_module}'.*starts a thread"):
            outcome = runner.run(notebook(code("from fractions import Fraction\nprint(Fraction(1, 3))")),
                                 workdir=tmp_path / "work", limits=limits, kernel_name="python3")
        assert runner.template.dropped == [threaded_module]
        assert runner.template.imports() == (*DEFAULT_PRELOAD, "fractions", "decimal")
        assert outcome.notebook.cells[0].outputs[0]["text"] == "1/3\n"
        runner.run(notebook(code("1")), workdir=tmp_path / "work", limits=limits, kernel_name="python3")
        assert runner.template.dropped == [threaded_module]  # remembered: no restart, no new warning
    finally:
        runner.close()


def test_a_default_module_that_starts_a_thread_is_refused(threaded_module: str, tmp_path: Path) -> None:
    template = KernelTemplate((*DEFAULT_PRELOAD[:1], threaded_module))
    (tmp_path / "work").mkdir()
    (tmp_path / "run").mkdir()
    plan = make_plan(tmp_path / "work", tmp_path / "run", ExecutionLimits(), SandboxPolicy())
    try:
        with pytest.raises(OSError, match=f"importing '{threaded_module}'.*remove it"):
            template.spawn(plan, str(tmp_path / "run" / "kernel.json"))
    finally:
        template.close()
        release(plan, tmp_path / "run")
