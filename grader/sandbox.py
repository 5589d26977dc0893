"""Run learner notebooks in a sandboxed kernel: no network, another user, hidden files, rlimits.

:class:`SandboxedRunner` is a :class:`grader.execute.NotebookRunner`. Each kernel gets:

* a private network namespace (only its own loopback), so nothing on the grader's host or the
  internet is reachable; the grader talks to the kernel over ZMQ ``ipc`` sockets in a private
  folder, which work across network namespaces;
* a private mount namespace whose root holds only an allow-list (:func:`allowed_paths`: the
  Python environment, the system's shared libraries, time-zone, font and certificate data, a few
  devices, an ``/etc`` naming no host user) bound read-only, and ``/tmp``: one tmpfs of
  ``disk_mb`` holding a copy of the notebook's folder and the kernel's run folder, the kernel's
  only writable disk, bounded in total. Everything else of the host (``/etc``, ``/usr/local``,
  ``/root``, ``/home``, the gradebook, keys, the catalogue...) is not there at all;
* a private PID namespace with its own ``/proc``: the kernel sees only its own processes, never
  another command line (the grader's, a worker's, another kernel's);
* its own numeric user id (``UID_BASE + n``, no passwd entry), so two kernels cannot see each
  other, RLIMIT_NPROC counts one kernel's processes only, and every leftover process is killed
  by uid afterwards;
* rlimits on address space, CPU seconds, processes, open files and file size, a bounded amount
  of captured output, and the per-cell / per-notebook wall-clock limits of ``ExecutionLimits``.

A mechanism this machine lacks is switched off with a warning that names it (see
:func:`grader.sandbox_probe.probe`); pass ``strict=True`` to refuse to run instead.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from queue import Empty
from typing import Any

import zmq
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbformat import NotebookNode

from grader import sandbox_os
from grader.errors import ExecutionError
from grader.execute import KernelRunner, RunOutcome, run_client
from grader.sandbox_paths import allowed_paths
from grader.sandbox_probe import UID_BASE, SandboxReport, probe
from grader.spec import ExecutionLimits

log = logging.getLogger(__name__)

MECHANISMS = ("network", "filesystem", "pid", "user", "rlimits")
_slots = itertools.count()
#: User ids per grading process, used in turn: a kernel's uid comes back only after this many
#: notebooks (pids up to 2**22 keep every uid below 2**32 - 1).
UID_SLOTS = 512
#: How often the grader retries connecting to a kernel that has not bound its sockets yet.
RECONNECT_MS = 5
#: In the kernel's run folder (on the host): how the kernel ended, written by its namespace's init.
EXIT_REPORT = "exit-report"


@dataclass(frozen=True)
class SandboxPolicy:
    """Which isolation to apply; every field is on by default."""

    network: bool = True
    filesystem: bool = True
    pid: bool = True
    user: bool = True
    rlimits: bool = True
    #: Paths covered even if an allowed path shows them (e.g. a gradebook inside the environment).
    hidden: tuple[str, ...] = ()
    max_file_mb: int = 64
    #: The kernel's whole writable disk (``/tmp``, ``/var/tmp``, ``/dev/shm``, its working folder
    #: and home), including the copy of the assessment's data files: a tmpfs of this size.
    disk_mb: int = 256
    strict: bool = False

    def effective(self, report: SandboxReport) -> tuple[SandboxPolicy, list[str]]:
        """This policy with unavailable mechanisms switched off, and a line per switched-off one."""
        off: dict[str, bool] = {}
        lines = []
        for mech in report.mechanisms:
            if mech.name in MECHANISMS and getattr(self, mech.name) and not mech.available:
                off[mech.name] = False
                lines.append(f"{mech.name}: {mech.reason}")
        if "filesystem" in off and self.user and "user" not in off:
            off["user"] = False
            lines.append("user: needs the private mount namespace (the interpreter under /root "
                         "is not readable by another user otherwise)")
        if "filesystem" in off and self.pid and "pid" not in off:
            off["pid"] = False
            lines.append("pid: needs the private mount namespace (for its own /proc)")
        return replace(self, network=off.get("network", self.network),
                       filesystem=off.get("filesystem", self.filesystem), pid=off.get("pid", self.pid),
                       user=off.get("user", self.user), rlimits=off.get("rlimits", self.rlimits)), lines


@dataclass(frozen=True)
class SandboxPlan:
    """Everything a freshly forked child needs to enter the sandbox; picklable."""

    workdir: str
    rundir: str
    uid: int | None
    network: bool
    filesystem: bool
    pid: bool
    hidden: tuple[str, ...]
    keep: tuple[str, ...]
    limits: tuple[tuple[int, int], ...]
    disk_mb: int
    env: Mapping[str, str] = field(default_factory=dict)

    def namespaces(self) -> int:
        """The namespaces the plan makes, as ``unshare(2)``/``clone(2)`` flags (with a user
        namespace when not run as root)."""
        flags = (sandbox_os.CLONE_NEWNET if self.network else 0) | (
            sandbox_os.CLONE_NEWNS if self.filesystem else 0) | (
            sandbox_os.CLONE_NEWPID if self.pid else 0)
        return flags | (sandbox_os.CLONE_NEWUSER if flags and os.geteuid() != 0 else 0)

    def enter(self, *, inside: int = 0) -> int:
        """Apply the sandbox to the calling (child) process; raises OSError if the OS refuses.

        With the PID namespace this forks twice (see
        :func:`grader.sandbox_os.enter_pid_namespace`) and returns only in the process that becomes
        the kernel. Returns that process's pid as the grader sees it. ``inside``: the
        :meth:`namespaces` the caller was made in (:func:`grader.sandbox_os.fork_into`; with the
        PID namespace it is its init): those are not entered again, and only the kernel is forked.
        """
        flags = self.namespaces()
        if flags & ~inside:
            sandbox_os.unshare(flags & ~inside)
        if flags & sandbox_os.CLONE_NEWUSER:
            sandbox_os.map_own_ids()
        if self.network:
            sandbox_os.loopback_up()
        report = None
        if self.pid:  # opened before the run folder is covered by the kernel's own copy
            report = os.open(os.path.join(self.rundir, EXIT_REPORT),
                             os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        if self.filesystem:
            sandbox_os.private_filesystem(self.hidden, self.keep, (self.workdir, self.rundir),
                                          self.disk_mb, self.uid)
        pid = sandbox_os.enter_pid_namespace(report, init=bool(inside & sandbox_os.CLONE_NEWPID)) \
            if self.pid else os.getpid()
        sandbox_os.set_limits(dict(self.limits))
        if self.uid is not None:
            sandbox_os.become(self.uid, self.uid)
        else:
            sandbox_os.prctl(sandbox_os.PR_SET_NO_NEW_PRIVS, 1)
        sandbox_os.die_with_parent()
        os.chdir(self.workdir)
        return pid

    def kernel_path(self, pid: int, path: str | Path) -> Path:
        """Where the grader finds ``path`` of the kernel ``pid``'s filesystem.

        With the private filesystem, the kernel's scratch folders exist only in its own mount
        namespace; the grader reaches them through ``/proc/<pid>/root`` (any process of the
        sandbox will do).
        """
        return Path(f"/proc/{pid}/root{path}") if self.filesystem else Path(path)


def kernel_env(home: str) -> dict[str, str]:
    """A minimal environment: no grader settings, secrets or credentials reach the kernel."""
    bindir = str(Path(sys.executable).parent)
    return {
        "PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin", "HOME": home, "USER": "nbcred-sandbox",
        "LOGNAME": "nbcred-sandbox", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TMPDIR": "/tmp",
        "MPLCONFIGDIR": "/tmp/matplotlib", "MALLOC_ARENA_MAX": "2", "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "PYTHONNOUSERSITE": "1", "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }


def rlimits(limits: ExecutionLimits, policy: SandboxPolicy) -> tuple[tuple[int, int], ...]:
    """The rlimits for one kernel, from the assessment's limits."""
    if not policy.rlimits:
        return ()
    return (
        (resource.RLIMIT_AS, limits.memory_mb * 1024 * 1024),
        (resource.RLIMIT_CPU, limits.cpu_seconds),
        (resource.RLIMIT_NPROC, limits.max_processes),
        (resource.RLIMIT_NOFILE, limits.max_open_files),
        (resource.RLIMIT_FSIZE, policy.max_file_mb * 1024 * 1024),
        (resource.RLIMIT_CORE, 0),
    )


@functools.cache
def _within(path: str, folder: str) -> bool:
    """``path`` is ``folder`` or lies below it."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def make_plan(workdir: Path, rundir: Path, limits: ExecutionLimits, policy: SandboxPolicy) -> SandboxPlan:
    """Allocate a user id, hand the scratch and run folders to it, and describe the sandbox."""
    uid = UID_BASE + os.getpid() * UID_SLOTS + next(_slots) % UID_SLOTS if policy.user else None
    (rundir / "home").mkdir(exist_ok=True)
    if uid is not None:
        for folder in (workdir, rundir):
            os.chown(folder, uid, uid)
            for path in folder.rglob("*"):
                os.chown(path, uid, uid, follow_symlinks=False)
    keep = allowed_paths() if policy.filesystem else ()
    hidden = tuple(h for h in policy.hidden if not any(_within(k, h) for k in keep))  # never the interpreter
    return SandboxPlan(
        workdir=str(workdir), rundir=str(rundir), uid=uid, network=policy.network,
        filesystem=policy.filesystem, pid=policy.pid, hidden=hidden, keep=keep,
        limits=rlimits(limits, policy), disk_mb=policy.disk_mb, env=kernel_env(str(rundir / "home")),
    )


def release(plan: SandboxPlan, rundir: Path) -> None:
    """After a kernel: kill every process left running as its user, remove its run folder.

    In a PID namespace nothing is left to kill: when the kernel ends, the namespace's init exits
    and the OS kills every process in the namespace, so the forked child that would kill by uid
    (a fork of this whole process, once per notebook) is needed only without one.
    """
    if plan.uid is not None and not plan.pid:
        sandbox_os.kill_all_of(plan.uid)
    shutil.rmtree(rundir, ignore_errors=True)


class SandboxKernelManager(AsyncKernelManager):
    """Launches the kernel command in the sandbox described by :attr:`plan`."""

    plan: SandboxPlan | None = None

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        assert self.plan is not None
        if self.plan.uid is not None:
            os.chown(self.connection_file, self.plan.uid, self.plan.uid)
        kw["env"] = dict(self.plan.env)
        kw["preexec_fn"] = self.plan.enter
        kw["cwd"] = "/"  # the working folder is entered inside the sandbox
        # No JPY_PARENT_PID: in its PID namespace the kernel's parent is pid 1, which ipykernel's
        # parent poller takes for "orphaned" and exits. The sandbox ends with the grader anyway.
        kw["independent"] = True
        await super()._async_launch_kernel(kernel_cmd, **kw)
        self.connect_through(self.provisioner.process.pid)  # type: ignore[union-attr]

    def connect_through(self, pid: int) -> None:
        """Reach the kernel's ``ipc`` sockets (made in its own ``/tmp``) through process ``pid``."""
        assert self.plan is not None
        if self.transport == "ipc":
            self.ip = str(self.plan.kernel_path(pid, self.ip))

    async def _async_wait(self, pollinterval: float = 0.01) -> None:
        await super()._async_wait(pollinterval=min(pollinterval, 0.01))


class FastKernelClient(AsyncKernelClient):
    """Waits for a new kernel as jupyter_client does, without its fixed 0.2 s IOPub drain.

    Afterwards only the IOPub messages already received are dropped (a quiet-period wait costs
    its whole length per kernel; nbclient ignores messages of other requests anyway).

    The client connects before the kernel has bound its ``ipc`` sockets, and ZMQ retries a failed
    connect only every 100 ms by default, so the kernel sat idle waiting for the first
    ``kernel_info_request``. Retrying every :data:`RECONNECT_MS` shortens a forked kernel's ready
    time (docs/benchmarks.md).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)

    async def _async_wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout if timeout is not None else 60.0)
        while True:
            self.kernel_info()
            with contextlib.suppress(Empty):
                reply = await self.shell_channel.get_msg(timeout=1)
                if reply["msg_type"] == "kernel_info_reply":
                    with contextlib.suppress(Empty):  # IOPub is connected once it delivers a message
                        await self.iopub_channel.get_msg(timeout=0.5)
                        self._handle_kernel_info_reply(reply)
                        break
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")
        with contextlib.suppress(Empty):  # what has arrived; nbclient skips other requests' messages
            while True:
                await self.iopub_channel.get_msg(timeout=0)

    wait_for_ready = _async_wait_for_ready


def ipc_kernel_manager(
    cls: type[AsyncKernelManager], kernel_name: str, rundir: Path
) -> AsyncKernelManager:
    """A kernel manager using ZMQ ``ipc`` sockets in ``rundir`` (no TCP port on the host)."""
    km = cls(kernel_name=kernel_name, transport="ipc", ip=str(rundir / "k"),
             client_class="grader.sandbox.FastKernelClient")
    km.connection_file = str(rundir / "kernel.json")
    return km


class BoundedClient(NotebookClient):
    """An nbclient client that stops keeping outputs past ``max_output_bytes`` for the notebook.

    Results and errors are still kept (shortened), so partial credit and failures are never lost
    by flooding the output first; streams and displays beyond the budget are dropped with a note.
    """

    max_output_bytes: int = 5_000_000
    _used: int = 0
    _noted: bool = False

    def output(
        self, outs: list[NotebookNode], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> NotebookNode | None:
        size = len(repr(msg.get("content", {})))
        self._used += size
        if self._used <= self.max_output_bytes:
            return super().output(outs, msg, display_id, cell_index)
        if msg["msg_type"] in ("execute_result", "error"):
            return super().output(outs, _shortened(msg), None, cell_index)
        if not self._noted:
            self._noted = True
            note = {"msg_type": "stream", "parent_header": msg["parent_header"],
                    "header": {**msg.get("header", {}), "msg_type": "stream"},
                    "content": {"name": "stdout", "text": f"\n[output truncated: the notebook "
                                f"printed more than {self.max_output_bytes} bytes]\n"}}
            return super().output(outs, note, None, cell_index)
        return None


def _shortened(msg: dict[str, Any], limit: int = 2000) -> dict[str, Any]:
    content = dict(msg["content"])
    if "data" in content:
        content["data"] = {k: v[:limit] for k, v in content["data"].items()
                           if isinstance(v, str) and (k == "text/plain" or len(v) <= limit)}
    if "traceback" in content:
        content["traceback"] = [line[:limit] for line in content["traceback"][-20:]]
    if "evalue" in content:
        content["evalue"] = str(content["evalue"])[:limit]
    return {**msg, "content": content}


def why_it_died(plan: SandboxPlan, limits: ExecutionLimits) -> tuple[str, str] | None:
    """The limit a dead kernel ran into (its ``ExecutionLimits`` field) and a sentence naming it,
    when its exit report shows one; else None."""
    if not plan.pid:
        return None
    report = sandbox_os.read_exit_report(Path(plan.rundir) / EXIT_REPORT)
    if report is None or report.signal is None:
        return None
    after = "; cells that did not run score 0"
    if report.signal == signal.SIGXCPU or (
            report.signal == signal.SIGKILL and report.cpu_seconds >= limits.cpu_seconds - 0.05):
        return "cpu_seconds", (f"the kernel exceeded its CPU-time limit of {limits.cpu_seconds} s "
                f"(execution.cpu_seconds; it used {report.cpu_seconds:.1f} s) and was stopped{after} "
                "(look for an endless loop or very slow code)")
    if report.max_rss_kb * 1024 >= 0.9 * limits.memory_mb * 1024 * 1024:
        name = signal.Signals(report.signal).name
        return "memory_mb", (f"the kernel exceeded its memory limit of {limits.memory_mb} MB "
                f"(execution.memory_mb) and was ended by {name}{after}")
    return None


def reject_forged_results(outcome: RunOutcome) -> RunOutcome:
    """A grade cell showing more than one ``execute_result`` had results injected: fail it.

    IPython's display hook publishes at most one result per execution; extra ones come from
    learner code sending messages on the kernel's IOPub socket (e.g. a fake partial-credit number
    ahead of the real one), so the cell's reply is treated as an error and it scores 0.
    """
    for index, cell in enumerate(outcome.notebook.cells):
        results = [o for o in cell.get("outputs", []) if o.get("output_type") == "execute_result"]
        if len(results) > 1 and cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            outcome.replies[index] = "error"
    return outcome


class SandboxedRunner(KernelRunner):
    """Runs each notebook in a fresh, sandboxed local kernel."""

    client_class = BoundedClient
    manager_class: type[SandboxKernelManager] = SandboxKernelManager

    def __init__(
        self, *, policy: SandboxPolicy | None = None, report: SandboxReport | None = None,
        extra_arguments: list[str] | None = None,
    ) -> None:
        super().__init__(extra_arguments=extra_arguments)
        requested = policy or SandboxPolicy()
        self.report = report or probe()
        self.policy, self.disabled = requested.effective(self.report)
        if self.disabled:
            text = "sandbox mechanisms unavailable, running without them: " + "; ".join(self.disabled)
            if requested.strict:
                raise ExecutionError(text, hint="run the grader as root on Linux, or allow user "
                                     "namespaces (sysctl kernel.unprivileged_userns_clone=1)")
            warnings.warn(text, RuntimeWarning, stacklevel=2)
            log.warning(text)

    def run(
        self, nb: NotebookNode, *, workdir: Path, limits: ExecutionLimits, kernel_name: str
    ) -> RunOutcome:
        rundir = Path(tempfile.mkdtemp(prefix="nbcred-k-"))
        plan = make_plan(workdir, rundir, limits, self.policy)
        try:
            km = ipc_kernel_manager(self.manager_class, kernel_name, rundir)
            self.prepare(km, plan)
            return self.execute(km, nb, workdir=workdir, limits=limits, kernel_name=kernel_name)
        finally:
            release(plan, rundir)

    def execute(
        self, km: AsyncKernelManager, nb: NotebookNode, *, workdir: Path, limits: ExecutionLimits,
        kernel_name: str,
    ) -> RunOutcome:
        """Run ``nb`` with the prepared kernel manager ``km`` (it starts and stops the kernel)."""
        outcome = RunOutcome(nb)
        client = self.client(nb, workdir=workdir, limits=limits, kernel_name=kernel_name,
                             outcome=outcome, km=km, shutdown_kernel="immediate")
        client.owns_km = True
        assert isinstance(client, BoundedClient)
        client.max_output_bytes = limits.max_output_bytes
        outcome = reject_forged_results(run_client(client, outcome, limits))
        if outcome.died and isinstance(km, SandboxKernelManager) and km.plan is not None:
            found = why_it_died(km.plan, limits)
            if found is not None:
                outcome.limit, outcome.error = found
        return outcome

    def prepare(self, km: AsyncKernelManager, plan: SandboxPlan) -> None:
        """Give the kernel manager its sandbox plan (subclasses add more)."""
        assert isinstance(km, SandboxKernelManager)
        km.plan = plan
