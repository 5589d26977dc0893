"""The in-process runner executes notebooks as a kernel does: same outputs, replies and errors.

Every notebook of :mod:`fidelity_corpus` runs through the kernel path (a pre-forked sandboxed
ipykernel driven over ZeroMQ) and through the in-process runner (one forked, sandboxed process
holding IPython's shell); the executed cells must be equal once run-to-run noise (addresses,
timings, how a stream was cut into messages) is normalised — figures' PNG bytes included.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fidelity_corpus import CORPUS, normalised, notebook

from grader.execute import RunOutcome
from grader.forkserver import ForkedRunner
from grader.inprocess_runner import InProcessRunner
from grader.spec import ExecutionLimits

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runners() -> Iterator[tuple[ForkedRunner, InProcessRunner]]:
    kernel, inprocess = ForkedRunner(), InProcessRunner()
    yield kernel, inprocess
    kernel.close()
    inprocess.close()


def run(runner: ForkedRunner, cells: list[str], timeout: float) -> RunOutcome:
    workdir = Path(tempfile.mkdtemp(prefix="nbcred-run-"))
    limits = ExecutionLimits(cell_timeout=timeout, notebook_timeout=120)
    return runner.run(notebook(cells), workdir=workdir, limits=limits, kernel_name="python3")


@pytest.mark.parametrize(("name", "cells", "timeout"), CORPUS, ids=[c[0] for c in CORPUS])
def test_same_outputs_as_a_kernel(
    runners: tuple[ForkedRunner, InProcessRunner], name: str, cells: list[str], timeout: float
) -> None:
    kernel, inprocess = (run(r, cells, timeout) for r in runners)
    assert (inprocess.error, inprocess.died) == (kernel.error, kernel.died)
    assert inprocess.replies == kernel.replies
    assert inprocess.notebook.metadata == kernel.notebook.metadata
    for index, (mine, theirs) in enumerate(zip(inprocess.notebook.cells, kernel.notebook.cells, strict=True)):
        assert normalised(mine) == normalised(theirs), f"{name}: cell {index} differs:\n{mine.source}"
    assert any(cell.get("outputs") for cell in kernel.notebook.cells)  # the corpus shows something


def test_corpus_covers_display_kinds(runners: tuple[ForkedRunner, InProcessRunner]) -> None:
    """The comparison above is not vacuous: the in-process run shows every kind of output."""
    _, inprocess = runners
    kinds: set[str] = set()
    mimes: set[str] = set()
    for _name, cells, timeout in CORPUS[:4]:
        for cell in run(inprocess, cells, timeout).notebook.cells:
            for output in cell.get("outputs", []):
                kinds.add(output["output_type"] + ":" + output.get("name", ""))
                mimes.update(output.get("data", {}))
    assert {"stream:stdout", "stream:stderr", "execute_result:", "display_data:", "error:"} <= kinds
    assert {"image/png", "text/html", "text/markdown", "text/latex", "application/json"} <= mimes
