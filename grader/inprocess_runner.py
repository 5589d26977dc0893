"""The grader's side of an in-process notebook run: nbclient drives a forked shell, not a kernel.

:class:`InProcessRunner` is a :class:`~grader.execute.NotebookRunner`. For a Python notebook it
asks the kernel template (:mod:`grader.forkserver`) for one sandboxed child that runs the cells
itself (:mod:`grader.inprocess`) and talks JSON lines over a Unix socket; a notebook for another
language gets a kernel as before. The child is driven by the *same* nbclient client a kernel is
driven by (:class:`grader.sandbox.BoundedClient`, configured as nbgrader's ``Execute``, with the
integrity hook): :class:`ShellManager` and :class:`ShellClient` stand in for jupyter_client's
kernel manager and client, so timeouts (interrupt, then the ``CellTimeoutError`` reply), dead
processes, output bounds, display updates and the execute replies are handled by nbclient's own
code, exactly as for a kernel.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import uuid
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from queue import Empty
from typing import Any

from nbformat import NotebookNode

from grader.execute import KERNEL_SETUP, RunOutcome, run_client
from grader.forkserver import KERNEL_ARGS, ForkedRunner, KernelTemplate, PidfdProcess, _hand_over
from grader.sandbox import BoundedClient, SandboxPlan, make_plan, reject_forged_results, release, why_it_died
from grader.spec import ExecutionLimits

#: A line of the protocol may carry a large figure; nothing else bounds it (outputs are bounded
#: by :class:`~grader.sandbox.BoundedClient`, memory by the sandbox's limits).
MAX_LINE = 1 << 30
log = logging.getLogger(__name__)
SOCKET = "shell.sock"


@dataclass(frozen=True)
class _Spec:
    language: str


#: What ipykernel answers in ``language_info`` (nbclient copies it into the notebook's metadata).
LANGUAGE_INFO = {
    "name": "python", "version": sys.version.split()[0], "mimetype": "text/x-python",
    "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
    "pygments_lexer": f"ipython{sys.version_info[0]}", "nbconvert_exporter": "python",
    "file_extension": ".py",
}


@cache
def kernel_language(kernel_name: str) -> str | None:
    """The language of an installed kernel, or None when there is no such kernel."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        return str(KernelSpecManager().get_kernel_spec(kernel_name).language).lower()
    except NoSuchKernel:
        return None


class _Channel:
    """An nbclient-facing channel: ``get_msg`` from what the reader task received."""

    def __init__(self, *, empty_at_end: bool) -> None:
        self.queue: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.empty_at_end = empty_at_end
        self.ended = False

    async def get_msg(self, timeout: float | None = None) -> dict[str, Any]:
        if self.ended and self.queue.empty():
            if self.empty_at_end:
                raise Empty
            await asyncio.Event().wait()  # like a kernel's silent socket: nbclient cancels us
        try:
            msg = await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            raise Empty from None
        if msg is None:  # the process is gone
            self.ended = True
            return await self.get_msg(timeout)
        return msg


class ShellClient:
    """The parts of jupyter_client's kernel client nbclient uses, over the child's socket."""

    allow_stdin = False

    def __init__(self, manager: ShellManager) -> None:
        self.manager = manager
        self.session_id = uuid.uuid4().hex
        self._reader: asyncio.Task[None] | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._ready: asyncio.Future[bool] | None = None
        self.shell_channel = self.iopub_channel = None  # type: Any
        self.failure = ""

    async def start_channels(self) -> None:
        assert self.manager.connection is not None
        reader, self._writer = await asyncio.open_unix_connection(
            sock=self.manager.connection, limit=MAX_LINE)
        self.shell_channel = _Channel(empty_at_end=True)
        self.iopub_channel = _Channel(empty_at_end=False)
        self._ready = asyncio.get_running_loop().create_future()
        self._reader = asyncio.ensure_future(self._read(reader))

    async def _read(self, reader: asyncio.StreamReader) -> None:
        try:
            while line := await reader.readline():
                data = json.loads(line)
                kind, msg = data["channel"], data["msg"]
                if kind == "control":
                    if msg["msg_type"] == "failed":
                        self.failure = str(msg["content"].get("traceback", ""))[-4000:]
                        log.warning("the notebook process failed to start:\n%s", self.failure)
                    elif self._ready is not None and not self._ready.done():
                        self._ready.set_result(True)
                elif kind in ("shell", "iopub"):
                    channel = self.shell_channel if kind == "shell" else self.iopub_channel
                    channel.queue.put_nowait(msg)
        except (ValueError, KeyError, TypeError, OSError, asyncio.LimitOverrunError):
            pass  # a broken line: the process is treated as dead
        finally:
            self.manager.ended = True
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(False)
            for channel in (self.shell_channel, self.iopub_channel):
                channel.queue.put_nowait(None)

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        assert self._ready is not None
        try:
            ready = await asyncio.wait_for(asyncio.shield(self._ready), timeout)
        except TimeoutError:
            raise RuntimeError(f"Kernel didn't respond in {timeout} seconds") from None
        if not ready:
            raise RuntimeError("Kernel died before replying to kernel_info"
                               + (f": {self.failure.strip().splitlines()[-1]}" if self.failure else ""))

    def _request(self, msg_type: str, content: dict[str, Any]) -> str:
        msg_id = uuid.uuid4().hex
        header = {"msg_id": msg_id, "msg_type": msg_type, "session": self.session_id,
                  "username": "nbcred", "version": "5.3"}
        if self._writer is not None and not self.manager.ended:
            self._writer.write(json.dumps({"msg_type": msg_type, "header": header,
                                           "content": content}).encode() + b"\n")
        return msg_id

    def execute(self, code: str, silent: bool = False, store_history: bool = True,
                user_expressions: dict[str, Any] | None = None, allow_stdin: bool | None = None,
                stop_on_error: bool = True) -> str:
        return self._request("execute_request", {
            "code": code, "silent": silent, "store_history": store_history,
            "user_expressions": user_expressions or {}, "allow_stdin": False,
            "stop_on_error": stop_on_error})

    def kernel_info(self) -> str:
        """Answered here: the child is this interpreter's IPython."""
        msg_id = uuid.uuid4().hex
        self.shell_channel.queue.put_nowait({
            "msg_type": "kernel_info_reply", "header": {"msg_id": f"reply-{msg_id}"},
            "parent_header": {"msg_id": msg_id}, "metadata": {},
            "content": {"status": "ok", "implementation": "ipython", "language_info": LANGUAGE_INFO}})
        return msg_id

    async def is_alive(self) -> bool:
        return await self.manager.is_alive()

    def stop_channels(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()


class ShellManager:
    """The parts of jupyter_client's kernel manager nbclient uses, for one forked shell."""

    ipykernel = False  # nbclient would add a history-file argument for an ipykernel
    kernel_spec = _Spec("python")

    def __init__(self, template: KernelTemplate, plan: SandboxPlan, kernel_name: str) -> None:
        self.template = template
        self.plan = plan
        self.kernel_name = kernel_name
        self.forked: PidfdProcess | None = None  # the integrity hook's "forked from the template"
        self.connection: socket.socket | None = None
        self.ended = False

    @property
    def has_kernel(self) -> bool:
        return self.forked is not None

    async def start_kernel(self, **_kwargs: Any) -> None:
        """Fork the sandboxed child (nbclient's start; a spare was forked already)."""
        if self.forked is None:
            self.fork()

    def fork(self) -> None:
        """Fork the sandboxed child through the template; it connects to our socket first."""
        path = os.path.join(self.plan.rundir, SOCKET)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            listener.bind(path)
            listener.listen(1)
            options = {"socket": path, "setup": list(KERNEL_SETUP)}
            pid = self.template.spawn(self.plan, os.path.join(self.plan.rundir, "kernel.json"),
                                      KERNEL_ARGS, shell=options)
            self.forked = PidfdProcess(pid)
            listener.settimeout(10)
            self.connection, _ = listener.accept()
        os.unlink(path)
        self.connection.setblocking(False)

    def client(self) -> ShellClient:
        return ShellClient(self)

    async def is_alive(self) -> bool:
        return not self.ended and self.forked is not None and self.forked.poll() is None

    async def interrupt_kernel(self) -> None:
        if self.forked is not None:
            self.forked.send_signal(signal.SIGINT)

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:
        self.kill()

    async def cleanup_resources(self, restart: bool = False) -> None:
        if self.connection is not None:
            self.connection.close()

    def kill(self) -> None:
        """SIGKILL the child (the PID namespace ends whatever it started)."""
        if self.forked is not None:
            self.forked.kill()


@dataclass
class _SpareShell:
    """A shell forked ahead of its notebook, sandboxed to a scratch folder made for it."""

    key: tuple[ExecutionLimits, str, KernelTemplate]
    manager: ShellManager
    rundir: Path
    workdir: Path

    def discard(self, *, remove_workdir: bool = True) -> None:
        self.manager.kill()
        if self.manager.connection is not None:
            self.manager.connection.close()
        release(self.manager.plan, self.rundir)
        if remove_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


class InProcessRunner(ForkedRunner):
    """Runs each Python notebook in one forked, sandboxed process holding an IPython shell.

    The template, preload, sandbox plan and limits are the :class:`ForkedRunner`'s; only the
    kernel application is gone. Notebooks for other languages are run by kernels as before.
    Once :meth:`new_workdir` has been asked for, the next notebook's shell is forked (and builds
    itself) while the current one runs, in the folder :meth:`new_workdir` hands out next — as
    :class:`ForkedRunner` keeps a spare kernel: latency, not CPU.
    """

    _shell_spare: _SpareShell | None = None

    def new_workdir(self) -> Path:
        """A fresh scratch folder for the next notebook (the spare shell's, when there is one)."""
        self._keep_spare = True
        if self._shell_spare is not None:
            return self._shell_spare.workdir
        return Path(tempfile.mkdtemp(prefix="nbcred-run-"))

    def _fork_shell(self, limits: ExecutionLimits, kernel_name: str) -> _SpareShell | None:
        workdir = Path(tempfile.mkdtemp(prefix="nbcred-run-"))
        rundir = Path(tempfile.mkdtemp(prefix="nbcred-k-"))
        manager = ShellManager(self.template, make_plan(workdir, rundir, limits, self.policy), kernel_name)
        spare = _SpareShell((limits, kernel_name, self.template), manager, rundir, workdir)
        try:
            manager.fork()
        except OSError:
            spare.discard()
            return None
        return spare

    def _take_spare(self, workdir: Path, limits: ExecutionLimits, kernel_name: str) -> ShellManager | None:
        """The spare shell if it was made for this folder and these limits and still runs."""
        spare, self._shell_spare = self._shell_spare, None
        if spare is None:
            return None
        forked = spare.manager.forked
        if (spare.workdir != workdir or spare.key != (limits, kernel_name, self.template)
                or forked is None or forked.poll() is not None):
            spare.discard(remove_workdir=spare.workdir != workdir)  # the caller's to remove
            return None
        _hand_over(workdir, spare.manager.plan, forked.pid)  # what was written after the fork
        return spare.manager

    def run(
        self, nb: NotebookNode, *, workdir: Path, limits: ExecutionLimits, kernel_name: str
    ) -> RunOutcome:
        if kernel_language(kernel_name) != "python":
            return super().run(nb, workdir=workdir, limits=limits, kernel_name=kernel_name)
        self.use_preload(limits.preload)
        manager = self._take_spare(workdir, limits, kernel_name)
        if self._keep_spare:
            self._shell_spare = self._fork_shell(limits, kernel_name)  # the next one starts meanwhile
        if manager is None:
            rundir = Path(tempfile.mkdtemp(prefix="nbcred-k-"))
            plan = make_plan(workdir, rundir, limits, self.policy)
            manager = ShellManager(self.template, plan, kernel_name)
        plan, rundir = manager.plan, Path(manager.plan.rundir)
        try:
            outcome = RunOutcome(nb)
            client = self.client(nb, workdir=workdir, limits=limits, kernel_name=kernel_name,
                                 outcome=outcome, km=manager, shutdown_kernel="immediate")
            client.owns_km = True
            assert isinstance(client, BoundedClient)
            client.max_output_bytes = limits.max_output_bytes
            outcome = reject_forged_results(run_client(client, outcome, limits))
            found = why_it_died(plan, limits) if outcome.died else None
            if found is not None:
                outcome.limit, outcome.error = found
            return outcome
        finally:
            manager.kill()
            if manager.connection is not None:
                manager.connection.close()
            release(plan, rundir)
            shutil.rmtree(rundir, ignore_errors=True)

    def close(self) -> None:
        """Stop the spare shell, then what :class:`ForkedRunner` stops."""
        if self._shell_spare is not None:
            self._shell_spare.discard()
            self._shell_spare = None
        super().close()
