"""Run one prepared notebook in a fresh kernel and record each cell's execute reply.

The grade of a test cell is decided from the kernel's *execute reply* as well as from its
outputs: learner code can hide an error's output, but the reply of a cell that raised says
``error``, and a cell that never ran has no reply at all. A :class:`NotebookRunner` is the
extension point: the plain :class:`KernelRunner` here runs a local kernel with nbclient; the
sandboxed, pre-forked runners of ``nbcred`` implement the same protocol.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from jupyter_client.kernelspec import NoSuchKernel
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from grader.integrity.hook import install_integrity
from grader.spec import ExecutionLimits

#: Python source every runner executes in each new kernel before the notebook's first cell (as
#: IPython ``exec_lines``: no history, no execution count). The hook for in-kernel instrumentation,
#: e.g. installing an AST transformer that rewrites test assertions. Sandboxed kernels cannot
#: import from the grader's folders (they are hidden): give self-contained source, or a module the
#: kernel template preloads (``grader.forkserver.DEFAULT_PRELOAD``). Empty by default.
KERNEL_SETUP: list[str] = []


def setup_arguments() -> list[str]:
    """Kernel command-line arguments that run :data:`KERNEL_SETUP` at start-up."""
    return [f"--IPKernelApp.exec_lines={line}" for line in KERNEL_SETUP]


TIMEOUT_ERROR = {
    "ename": "CellTimeoutError",
    "evalue": "",
    "traceback": ["CellTimeoutError: the cell did not finish within the time limit"],
}


@dataclass
class RunOutcome:
    """An executed notebook, the reply status of each executed code cell, and what went wrong."""

    notebook: NotebookNode
    #: cell index -> "ok" | "error" | "aborted" | "timeout" (the cell ran past ``cell_timeout``
    #: and was interrupted; it scores as an error)
    replies: dict[int, str] = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    died: bool = False  # the kernel died (``error`` says so; a sandbox may name the limit it hit)
    #: the :class:`ExecutionLimits` field the run was stopped by, when one was: "notebook_timeout",
    #: "memory_mb" or "cpu_seconds" (feedback names it with the cell it stopped in)
    limit: str | None = None


class NotebookRunner(Protocol):
    """Executes a notebook whose working directory is ``workdir``."""

    def run(
        self, nb: NotebookNode, *, workdir: Path, limits: ExecutionLimits, kernel_name: str
    ) -> RunOutcome: ...


class KernelRunner:
    """Runs each notebook in a new local kernel with nbclient (no sandbox)."""

    #: The nbclient class :meth:`client` builds; subclasses may bound or filter outputs.
    client_class: type[NotebookClient] = NotebookClient

    def __init__(self, *, extra_arguments: list[str] | None = None) -> None:
        self.extra_arguments = extra_arguments or [
            "--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR"]

    def run(
        self, nb: NotebookNode, *, workdir: Path, limits: ExecutionLimits, kernel_name: str
    ) -> RunOutcome:
        outcome = RunOutcome(nb)
        client = self.client(nb, workdir=workdir, limits=limits, kernel_name=kernel_name,
                             outcome=outcome)
        return run_client(client, outcome, limits)

    def client(
        self,
        nb: NotebookNode,
        *,
        workdir: Path,
        limits: ExecutionLimits,
        kernel_name: str,
        outcome: RunOutcome,
        **kwargs: Any,
    ) -> NotebookClient:
        """An nbclient client configured as nbgrader's Execute preprocessor, recording replies."""

        def on_executed(cell: NotebookNode, cell_index: int, execute_reply: dict[str, Any]) -> None:
            content = execute_reply.get("content", {})
            status = str(content.get("status", "error"))
            if status == "error" and content.get("ename") == TIMEOUT_ERROR["ename"]:
                status = "timeout"  # nbclient's reply for a cell it interrupted (error_on_timeout)
            outcome.replies[cell_index] = status

        client = self.client_class(
            nb,
            timeout=int(limits.cell_timeout),
            kernel_name=kernel_name,
            allow_errors=True,
            interrupt_on_timeout=True,
            raise_on_iopub_timeout=True,
            error_on_timeout=TIMEOUT_ERROR,
            extra_arguments=[*self.extra_arguments, *setup_arguments()],
            resources={"metadata": {"path": str(workdir)}},
            on_cell_executed=on_executed,
            **kwargs,
        )
        install_integrity(client)  # test cells are rewritten in the kernel (grader.integrity)
        return client


def _run_to_end(coroutine: Coroutine[Any, Any, Any]) -> None:
    """``asyncio.run``, also when the caller's thread already runs an event loop (grading called
    from async code, or a leftover loop in this thread): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(coroutine)
        return
    failure: list[BaseException] = []

    def work() -> None:
        try:
            asyncio.run(coroutine)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=work, name="nbcred-notebook")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


def run_client(client: NotebookClient, outcome: RunOutcome, limits: ExecutionLimits) -> RunOutcome:
    """Execute with a whole-notebook deadline; turn kernel failures into ``outcome.error``."""
    start = time.perf_counter()
    try:
        _run_to_end(asyncio.wait_for(client.async_execute(), timeout=limits.notebook_timeout))
    except TimeoutError:
        outcome.limit = "notebook_timeout"
        outcome.error = (
            f"the notebook did not finish within {limits.notebook_timeout:g} s; cells that did "
            "not run score 0 (look for an endless loop or very slow code)"
        )
    except DeadKernelError:
        outcome.died = True
        outcome.error = (
            "the kernel died while running the notebook (the code crashed it, exited, or used "
            "too much memory); cells that did not run score 0"
        )
    except CellTimeoutError:
        outcome.error = f"a cell did not finish within {limits.cell_timeout:g} s"
    except NoSuchKernel as exc:
        outcome.error = (
            f"the notebook needs the Jupyter kernel {exc.name!r}, which is not installed on "
            "the grader (install it, or set the source notebook's kernel to python3)"
        )
    except Exception as exc:  # a broken kernel or notebook must not take the batch down
        outcome.error = f"the notebook could not be executed: {type(exc).__name__}: {exc}"
    outcome.notebook = client.nb
    outcome.seconds = time.perf_counter() - start
    return outcome
