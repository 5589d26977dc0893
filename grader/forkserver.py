"""Pre-forked kernels: a template process imports ipykernel once, then forks a fresh kernel per run.

Starting a kernel from scratch costs about half a second of CPU, nearly all of it imports. The
template (:func:`serve`, started by :class:`KernelTemplate` with a scrubbed environment) imports
ipykernel, IPython, common data libraries and what the assessments' source notebooks import
(:mod:`grader.preload`), never starts a thread or a ZMQ context, and forks one child per request.
The child enters the sandbox (namespaces, rlimits, its own user id —
:meth:`grader.sandbox.SandboxPlan.enter`), then starts ``IPKernelApp`` on the connection file it
was given. A kernel is never reused: each notebook gets a fresh fork.

:class:`ForkedRunner` is the :class:`~grader.execute.NotebookRunner` that uses it; the grader
manages the forked kernel through a pidfd (it is the template's child, not ours).
"""

from __future__ import annotations

import contextlib
import gc
import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, cast

from nbformat import NotebookNode

from grader import (
    inprocess,  # imported here: the sandbox hides the grader's folders
    sandbox_os,
)
from grader.execute import RunOutcome, setup_arguments
from grader.integrity.hook import precompiled_runtime
from grader.preload import import_modules
from grader.sandbox import (
    SandboxedRunner,
    SandboxKernelManager,
    SandboxPlan,
    ipc_kernel_manager,
    kernel_env,
    make_plan,
    release,
)
from grader.spec import ExecutionLimits

log = logging.getLogger(__name__)

#: Imported by the template before forking: what every kernel needs, and common data libraries.
#: ``ipykernel.debugger`` (debugpy/pydevd) is imported by every ``IPythonKernel.__init__``;
#: preloading it halves ``IPKernelApp.initialize`` in the fork (docs/benchmarks.md).
DEFAULT_PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
                   "ipykernel.debugger", "IPython.core.completer", "matplotlib_inline.backend_inline",
                   "numpy", "numpy.random", "pandas", "matplotlib",
                   # imported on first use: IPython's execution logger, a DataFrame's display
                   "IPython.core.logger", "pandas.io.formats.html", "pandas.io.formats.string",
                   # imported by every IPKernelApp.initialize (found by diffing sys.modules around it
                   # in a forked kernel): part of each kernel's start-up otherwise
                   "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.oinspect",
                   "IPython.extensions.storemagic", "IPython.utils.wildcard", "sqlite3", "pdb",
                   "faulthandler", "tornado.platform.asyncio")
INLINE_BACKEND = "matplotlib_inline.backend_inline"
KERNEL_ARGS = ("--HistoryManager.hist_file=:memory:", "--IPKernelApp.log_level=ERROR")


def serve(preload: tuple[str, ...]) -> None:
    """The template's main loop: one JSON request per line on stdin, one JSON reply on stdout."""
    # Forked kernels are reaped here (not auto-reaped with SIG_IGN), so their CPU time is
    # accounted to the template and, through the worker, to whoever runs the batch.
    signal.signal(signal.SIGCHLD, _reap)
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # what a module prints is not a reply
    threaded = import_modules(preload)
    if threaded is not None:  # forking now could deadlock a kernel: the client restarts us
        replies.write(json.dumps({"threaded": threaded}) + "\n")
        replies.flush()
        os._exit(0)
    precompiled_runtime()  # the integrity runtime, compiled once for every kernel forked from here
    with contextlib.suppress(Exception):  # a warm-up that fails only costs the kernels time
        _warm_up()
    with contextlib.suppress(Exception):
        _warm_up_matplotlib()
    with contextlib.suppress(Exception):  # without it, each in-process child builds its shell
        inprocess.prepare(KERNEL_ARGS)
    # Move everything imported so far out of the collector's reach: a full collection in a
    # kernel would otherwise walk (and copy-on-write) every object of the template.
    gc.collect()
    gc.freeze()
    requests = sys.stdin.buffer
    replies.write(json.dumps({"ready": os.getpid()}) + "\n")
    replies.flush()
    for line in requests:
        reply = _fork_kernel(json.loads(line), requests, replies)
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


#: Cells a throwaway shell runs in the template, so that what a kernel does the first time (build
#: its shell, compile and run a cell, show a result, format a traceback: IPython's traceback
#: machinery is far slower the first time in a process than after) is already done in every fork.
WARM_UP_CELLS = ("values = [1, 2, 3]\nvalues", "print(len(values))",
                 "def stub():\n    raise NotImplementedError()\nstub()",
                 "assert values == [3], 'not equal'", "undefined_name")


def _warm_up() -> None:
    """Build and discard the shells a kernel builds, and run :data:`WARM_UP_CELLS` in one.

    Nothing of them stays: the singletons are cleared, their ``atexit`` hooks unregistered and
    their in-memory history closed; what remains is what any kernel's shell leaves in a fresh
    process (IPython's ``display`` and ``__IPYTHON__`` builtins) and warm caches. Output goes
    nowhere (this process's stdout is the protocol pipe).
    """
    import atexit
    import io

    from ipykernel.zmqshell import ZMQInteractiveShell
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for cls in (ZMQInteractiveShell, InteractiveShell):
            shell = cls.instance(config=config)
            try:
                if cls is InteractiveShell:  # the ZMQ shell publishes on sockets it does not have
                    for cell in WARM_UP_CELLS:
                        shell.run_cell(cell, store_history=False)
            finally:
                atexit.unregister(shell.atexit_operations)
                history = shell.history_manager
                if history is not None:
                    history.end_session()
                    history.db.close()
                cls.clear_instance()


def _warm_up_matplotlib() -> None:
    """Read the installed packages' matplotlib backend entry points once, here.

    Every kernel sets matplotlib's backend to the inline one (see :func:`_start_kernel`); the
    first validation of that name scans the entry points of every installed distribution, in
    each kernel's start-up unless done here (docs/benchmarks.md).
    """
    if "matplotlib" in sys.modules:
        from matplotlib.backends.registry import backend_registry

        backend_registry.is_valid_backend(f"module://{INLINE_BACKEND}")


def _reap(_signum: int, _frame: object) -> None:
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _fork_kernel(request: dict[str, Any], requests: IO[bytes], replies: IO[str]) -> dict[str, Any]:
    """Fork a child that sandboxes itself and runs a kernel; reply with its pid or the error."""
    plan = SandboxPlan(**{**request["plan"], "hidden": tuple(request["plan"]["hidden"]),
                          "keep": tuple(request["plan"]["keep"]),
                          "limits": tuple(tuple(x) for x in request["plan"]["limits"])})
    status_r, status_w = os.pipe()
    # With a PID namespace the child is cloned into the plan's namespaces as their init: one
    # process fewer per kernel than forking a child that unshares, then forks the init.
    inside = plan.namespaces() if plan.pid else 0
    try:
        pid = sandbox_os.fork_into(inside) if inside else os.fork()
    except OSError:  # clone refused: the child unshares instead (and reports why if that fails too)
        inside = 0
        pid = os.fork()
    if pid == 0:  # pragma: no cover - the kernel process
        os.close(status_r)
        _child(plan, request["connection_file"], request["args"], status_w, (requests, replies),
               request.get("shell"), inside)
    os.close(status_w)
    with os.fdopen(status_r, "rb") as status:
        text = status.read().decode(errors="replace")
    if not text.startswith("ok "):
        return {"error": text or "the kernel process exited before entering the sandbox"}
    return {"pid": int(text[3:])}  # the kernel: this child's grandchild in a PID namespace


def _child(plan: SandboxPlan, connection_file: str, args: list[str], status_w: int,
           protocol: tuple[IO[bytes], IO[str]], shell: dict[str, Any] | None = None,
           inside: int = 0) -> None:
    """In the forked child: detach, sandbox, report, then become the kernel. Never returns.

    With ``shell`` (see :mod:`grader.inprocess`) the child connects to the grader's socket
    ``shell["socket"]`` before it enters the sandbox and runs the notebook's cells itself.
    """
    code = 0
    try:
        connection = _connect(shell["socket"]) if shell else None
        os.setsid()
        for stream in protocol:
            stream.close()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(plan.env)
        pid = plan.enter(inside=inside)
        os.write(status_w, f"ok {pid}".encode())
        os.close(status_w)
        if connection is not None and shell is not None:
            argv = ["ipykernel_launcher", "-f", connection_file, *args]  # what a kernel's sys.argv is
            inprocess.serve(connection, list(shell["setup"]), argv)
        else:
            _start_kernel(connection_file, args)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.write(status_w, f"could not start the sandboxed kernel: {type(exc).__name__}: {exc}".encode())
        code = 70
    os._exit(code)


def _connect(path: str) -> socket.socket:
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    connection.connect(path)
    return connection


def _start_kernel(connection_file: str, args: list[str]) -> None:
    """What ``python -m ipykernel_launcher -f <file>`` does, in this already-warm process."""
    if sys.path and sys.path[0] in ("", os.getcwd()):
        del sys.path[0]
    sys.argv = ["ipykernel_launcher", "-f", connection_file, *args]
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()  # the template's state is shared by every fork
    inprocess.discard_prepared()  # the kernel application builds its own shell
    from ipykernel.kernelapp import IPKernelApp

    app = IPKernelApp.instance()
    app.initialize(sys.argv[1:])
    if "matplotlib" in sys.modules:  # imported before the kernel chose its backend
        sys.modules["matplotlib"].rcParams["backend"] = os.environ["MPLBACKEND"]
    # The inline backend hooks itself into IPython when it is imported with a shell running;
    # imported by the template (no shell), it would not: the kernel imports it again, when
    # matplotlib first selects it, as a fresh kernel does.
    sys.modules.pop(INLINE_BACKEND, None)
    app.start()


class KernelTemplate:
    """Client side of the template process: start it, ask it to fork kernels, stop it.

    The template imports ``preload`` (what every kernel needs), then ``extra`` (what the
    assessments graded with it import, see :mod:`grader.preload`). An extra module after whose
    import the template runs a thread is dropped, with a warning naming it, and the template
    restarted without it: forking a multithreaded process can deadlock the child.
    """

    def __init__(self, preload: tuple[str, ...] = DEFAULT_PRELOAD, *, extra: tuple[str, ...] = (),
                 dropped: tuple[str, ...] = ()) -> None:
        self.preload = preload
        self.extra = tuple(name for name in dict.fromkeys(extra) if name not in preload)
        self.dropped = list(dropped)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()

    def covers(self, modules: tuple[str, ...]) -> bool:
        """Whether the template was asked to import every one of ``modules``."""
        return set(modules) <= {*self.preload, *self.extra}

    def grown(self, modules: tuple[str, ...]) -> KernelTemplate:
        """A (not yet started) template importing this one's modules and ``modules``."""
        return KernelTemplate(self.preload, extra=(*self.extra, *modules), dropped=tuple(self.dropped))

    def imports(self) -> tuple[str, ...]:
        """What the template process imports: the preload, then the extras not dropped."""
        return (*self.preload, *(name for name in self.extra if name not in self.dropped))

    def _start(self) -> subprocess.Popen[bytes]:
        while True:
            process = self._launch(self.imports())
            assert process.stdout is not None
            ready = process.stdout.readline()
            if not ready:
                raise OSError("the kernel template exited during start-up")
            threaded = json.loads(ready).get("threaded")
            if threaded is None:
                return process
            process.wait()
            self._drop(str(threaded))

    def _drop(self, name: str) -> None:
        if name not in self.extra:
            raise OSError(f"importing {name!r} in the kernel template started a thread, and forking a "
                          "multithreaded process can deadlock its kernels; remove it from "
                          "grader.forkserver.DEFAULT_PRELOAD")
        self.dropped.append(name)
        text = (f"kernel template: importing {name!r} (execution.preload, or imported by a source "
                "notebook) starts a thread, and forking a multithreaded process can deadlock the "
                "kernel; kernels are forked without it and import it themselves")
        warnings.warn(text, RuntimeWarning, stacklevel=2)
        log.warning(text)

    @staticmethod
    def _launch(imports: tuple[str, ...]) -> subprocess.Popen[bytes]:
        code = f"from grader.forkserver import serve; serve({imports!r})"
        return subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=kernel_env("/nonexistent"), cwd="/", start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def start(self) -> None:
        """Start the template now, ahead of the first :meth:`spawn` (which starts it otherwise)."""
        with self._lock:
            self._running()

    def _running(self) -> subprocess.Popen[bytes]:
        """The template process, started (again) if it is not running; call with the lock held."""
        if self._process is None or self._process.poll() is not None:
            self._process = self._start()
        return self._process

    def spawn(self, plan: SandboxPlan, connection_file: str, args: tuple[str, ...] = KERNEL_ARGS,
              shell: dict[str, Any] | None = None) -> int:
        """Fork a fresh sandboxed kernel (with ``shell``, an in-process runner); return its pid."""
        with self._lock:
            process = self._running()
            assert process.stdin is not None and process.stdout is not None
            request = {"plan": asdict(plan), "connection_file": connection_file, "args": list(args),
                       "shell": shell}
            process.stdin.write((json.dumps(request) + "\n").encode())
            process.stdin.flush()
            line = process.stdout.readline()
        if not line:
            self._process = None
            raise OSError("the kernel template died")
        reply = json.loads(line)
        if "error" in reply:
            raise OSError(reply["error"])
        return int(reply["pid"])

    def close(self) -> None:
        """Stop the template (running kernels are not affected)."""
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._process = None


def _die_with_parent() -> None:
    from grader import sandbox_os

    sandbox_os.die_with_parent()


class PidfdProcess:
    """The little of :class:`subprocess.Popen` jupyter_client uses, for a process that is not our child."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self._fd = os.pidfd_open(pid)
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """None while the process runs, else -9 (the real status belongs to the template)."""
        if self.returncode is None and select.select([self._fd], [], [], 0)[0]:
            self.returncode = -9
            os.close(self._fd)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Block until the process has exited."""
        if self.returncode is None:
            select.select([self._fd], [], [], timeout)
        code = self.poll()
        if code is None:
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
        return code

    def send_signal(self, signum: int) -> None:
        """Signal the process if it still runs."""
        if self.poll() is None:
            signal.pidfd_send_signal(self._fd, signum)

    def kill(self) -> None:
        """SIGKILL, then give the process a moment to go (so jupyter_client need not poll)."""
        self.send_signal(signal.SIGKILL)
        if self.returncode is None:
            select.select([self._fd], [], [], 0.2)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)


class ForkKernelManager(SandboxKernelManager):
    """Gets its kernel forked by the template instead of starting a new interpreter."""

    template: KernelTemplate | None = None

    #: A kernel already forked on this manager's connection file (see :meth:`fork_now`).
    forked: PidfdProcess | None = None

    def forkable(self) -> bool:
        """Only Python kernels can come from the (Python) template; others start as usual."""
        try:
            spec = self.kernel_spec
        except Exception:  # no such kernel: starting it normally reports that clearly
            return False
        return spec is not None and str(spec.language).lower() == "python"

    def fork_now(self) -> PidfdProcess:
        """Write the connection file and fork the kernel now; :meth:`start_kernel` adopts it later."""
        assert self.plan is not None and self.template is not None
        if not self.forkable():
            raise OSError(f"kernel {self.kernel_name!r} is not a Python kernel; it is started normally")
        self.write_connection_file()
        if self.plan.uid is not None:
            os.chown(self.connection_file, self.plan.uid, self.plan.uid)
        args = (*KERNEL_ARGS, *setup_arguments())  # the same start-up hook as started kernels
        self.forked = PidfdProcess(self.template.spawn(self.plan, self.connection_file, args))
        return self.forked

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        assert self.plan is not None and self.template is not None and self.provisioner is not None
        if self.forked is None and not self.forkable():
            await super()._async_launch_kernel(kernel_cmd, **kw)  # e.g. an R or Julia kernel
            return
        process = self.forked or self.fork_now()
        pid = process.pid
        provisioner: Any = self.provisioner
        provisioner.process = process
        provisioner.pid = provisioner.pgid = pid
        provisioner.cwd = self.plan.workdir
        self._reconcile_connection_info(provisioner.connection_info)
        self.connect_through(pid)


def _hand_over(workdir: Path, plan: SandboxPlan, pid: int) -> None:
    """Give a kernel forked ahead of its notebook the files written to ``workdir`` since.

    With the private filesystem the kernel has its own copy of the folder, on its bounded
    scratch disk, reached through its ``/proc/<pid>/root``; no learner code has run in it yet.
    """
    uid = plan.uid
    if plan.filesystem:
        target = plan.kernel_path(pid, workdir)
        shutil.copytree(workdir, target, symlinks=True, dirs_exist_ok=True)
        paths = [target, *target.rglob("*")]
    else:
        paths = [workdir, *workdir.rglob("*")]
    if uid is not None:
        for path in paths:
            os.chown(path, uid, uid, follow_symlinks=False)


@dataclass
class _Spare:
    """A kernel forked ahead of its notebook, sandboxed to a scratch folder made for it."""

    key: tuple[ExecutionLimits, str]
    km: ForkKernelManager
    plan: SandboxPlan
    rundir: Path
    workdir: Path


class ForkedRunner(SandboxedRunner):
    """A :class:`SandboxedRunner` whose kernels are forked from a warm template process.

    While a notebook runs, the next kernel is already forked and starting (a *spare*) in its own,
    still empty scratch folder; :meth:`new_workdir` hands that folder out, and a notebook run in it
    gets the spare. A spare is used once, by one notebook, like any forked kernel; a notebook in
    any other folder (or with other limits) gets a kernel forked for it. It shortens the latency of
    one submission (docs/benchmarks.md) but saves no CPU, so with one worker per core on a busy
    machine throughput is unchanged; each worker holds
    two kernels (the running one and the spare).
    """

    manager_class = ForkKernelManager

    def __init__(self, *, preload: tuple[str, ...] = DEFAULT_PRELOAD, assessment_preload: bool = True,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.template = KernelTemplate(preload)
        self.assessment_preload = assessment_preload
        self._spare: _Spare | None = None
        self._keep_spare = False

    def prepare(self, km: Any, plan: SandboxPlan) -> None:
        """Give the kernel manager its plan and the template."""
        super().prepare(km, plan)
        km.template = self.template

    def new_workdir(self) -> Path:
        """A fresh scratch folder for the next notebook (the spare kernel's, when there is one).

        Asking for one also tells :meth:`run` to keep a spare from then on.
        """
        self._keep_spare = True
        if self._spare is not None:
            return self._spare.workdir
        return Path(tempfile.mkdtemp(prefix="nbcred-run-"))

    def use_preload(self, modules: tuple[str, ...]) -> None:
        """Have kernels forked from a template that has imported ``modules`` too.

        One template per runner: when an assessment needs modules the template was not asked for,
        it is replaced by one importing the union (measured against one template per set in the
        README: the union costs one restart and less memory).
        """
        if self.assessment_preload and not self.template.covers(modules):
            old, self.template = self.template, self.template.grown(modules)
            old.close()

    def run(
        self, nb: NotebookNode, *, workdir: Path, limits: ExecutionLimits, kernel_name: str
    ) -> RunOutcome:
        self.use_preload(limits.preload)
        spare, self._spare = self._spare, None
        if spare is not None and (spare.workdir != workdir or spare.key != (limits, kernel_name)
                                  or spare.km.forked is None or spare.km.forked.poll() is not None):
            self._discard(spare, remove_workdir=spare.workdir != workdir)  # the caller's to remove
            spare = None
        if self._keep_spare:
            self._spare = self._fork(limits, kernel_name)  # the next kernel starts meanwhile
        if spare is None:
            return super().run(nb, workdir=workdir, limits=limits, kernel_name=kernel_name)
        try:
            assert spare.km.forked is not None
            _hand_over(workdir, spare.plan, spare.km.forked.pid)  # written after the fork
            return self.execute(spare.km, nb, workdir=workdir, limits=limits, kernel_name=kernel_name)
        finally:
            release(spare.plan, spare.rundir)

    def _fork(self, limits: ExecutionLimits, kernel_name: str) -> _Spare | None:
        workdir = Path(tempfile.mkdtemp(prefix="nbcred-run-"))
        rundir = Path(tempfile.mkdtemp(prefix="nbcred-k-"))
        plan = make_plan(workdir, rundir, limits, self.policy)
        km = ipc_kernel_manager(self.manager_class, kernel_name, rundir)
        self.prepare(km, plan)
        spare = _Spare((limits, kernel_name), cast(ForkKernelManager, km), plan, rundir, workdir)
        try:
            spare.km.fork_now()
        except OSError:
            self._discard(spare)
            return None
        return spare

    @staticmethod
    def _discard(spare: _Spare, *, remove_workdir: bool = True) -> None:
        if spare.km.forked is not None:
            spare.km.forked.kill()
        release(spare.plan, spare.rundir)
        if remove_workdir:
            shutil.rmtree(spare.workdir, ignore_errors=True)

    def close(self) -> None:
        """Stop the spare kernel and the template process."""
        if self._spare is not None:
            self._discard(self._spare)
            self._spare = None
        self.template.close()
