"""The in-process runner executes notebooks as a kernel does: same outputs, replies and errors.

Every notebook of :mod:`fidelity_corpus` runs through the kernel path (a pre-forked sandboxed
ipykernel driven over ZeroMQ) and through the in-process runner (one forked, sandboxed process
holding IPython's shell); the executed cells must be equal once run-to-run noise (addresses,
timings, how a stream was cut into messages) is normalised — figures' PNG bytes included.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbformat import NotebookNode

from grader.execute import RunOutcome
from grader.forkserver import ForkedRunner
from grader.inprocess_runner import InProcessRunner
from grader.spec import ExecutionLimits
from tests.execution.fidelity_corpus import CORPUS, normalised, notebook

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


#: Cells writing to the file descriptors themselves (or through a child process): that text reaches
#: the notebook through a capture thread, in a kernel as in the shell, so which cell's outputs it
#: lands in depends on timing. It is compared for the whole notebook: none lost, none added.
FD_LEVEL = re.compile(r"os\.write|os\.system|subprocess")


def _without_streams(cell: NotebookNode) -> NotebookNode:
    copy = nbformat.from_dict(dict(cell))
    copy["outputs"] = [o for o in cell.get("outputs", []) if o.get("output_type") != "stream"]
    return copy


def _fd_text(nb: NotebookNode) -> dict[str, list[str]]:
    """Each stream's lines from the fd-level cells and those after them, in sorted order."""
    lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
    started = False
    for cell in nb.cells:
        started = started or bool(FD_LEVEL.search(cell.source))
        for output in cell.get("outputs", []) if started else []:
            if output.get("output_type") == "stream":
                lines[output["name"]] += output["text"].splitlines()
    return {name: sorted(found) for name, found in lines.items()}


@pytest.mark.parametrize(("name", "cells", "timeout"), CORPUS, ids=[c[0] for c in CORPUS])
def test_same_outputs_as_a_kernel(
    runners: tuple[ForkedRunner, InProcessRunner], name: str, cells: list[str], timeout: float
) -> None:
    kernel, inprocess = (run(r, cells, timeout) for r in runners)
    for _ in range(2):  # the reference kernel's own capture thread now and then drops a child's
        if _fd_text(inprocess.notebook) == _fd_text(kernel.notebook):  # text at the very end
            break
        kernel = run(runners[0], cells, timeout)
    assert (inprocess.error, inprocess.died) == (kernel.error, kernel.died)
    assert inprocess.replies == kernel.replies
    assert inprocess.notebook.metadata == kernel.notebook.metadata
    for index, (mine, theirs) in enumerate(zip(inprocess.notebook.cells, kernel.notebook.cells, strict=True)):
        if FD_LEVEL.search(mine.source):  # compared below, notebook-wide
            mine, theirs = _without_streams(mine), _without_streams(theirs)
        assert normalised(mine) == normalised(theirs), f"{name}: cell {index} differs:\n{mine.source}"
    assert _fd_text(inprocess.notebook) == _fd_text(kernel.notebook)
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


def test_a_spare_shell_is_forked_ahead_and_gets_the_files_written_after(tmp_path: Path) -> None:
    """As the executors use it: the next notebook's shell starts while one runs, in the folder
    ``new_workdir`` hands out next; files written there later reach it, and nothing of the
    previous notebook does."""
    runner = InProcessRunner()
    try:
        outputs = []
        for value in ("first", "second", "third"):
            workdir = runner.new_workdir()
            spare = runner._shell_spare
            (workdir / "data.txt").write_text(value)
            cells = ["open('data.txt').read()", "'seen' in globals()", "seen = 1"]
            outcome = runner.run(notebook(cells), workdir=workdir,
                                 limits=ExecutionLimits(cell_timeout=30), kernel_name="python3")
            assert outcome.error is None
            outputs.append([c.outputs[0]["data"]["text/plain"] for c in outcome.notebook.cells[1:3]])
            assert (spare is not None) == (value != "first")  # the first run had none ready
            assert runner._shell_spare is not None and runner._shell_spare is not spare
    finally:
        runner.close()
    assert outputs == [["'first'", "False"], ["'second'", "False"], ["'third'", "False"]]
