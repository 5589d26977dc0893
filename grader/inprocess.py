"""A notebook's cells run in this process: IPython's kernel shell, without a kernel server.

Runs in a child forked from the kernel template (:mod:`grader.forkserver`) once it is inside
the sandbox. The child holds the same shell a kernel holds — ipykernel's
``ZMQInteractiveShell`` with its display publisher, display hook, IPython tracebacks and
``XCachingCompiler`` cell names — but its "session" hands every message it would publish
straight to the grader over one Unix socket (JSON lines) instead of over ZeroMQ: no kernel
application, no event-loop threads, no connection file, no sockets to bind.

What the grader sees is the message stream a kernel sends for an ``execute_request``
(``status`` busy, ``execute_input``, outputs, ``status`` idle, then the ``execute_reply``), so
the grader side drives it with nbclient exactly as it drives a kernel
(:mod:`grader.inprocess_runner`). What ipykernel does around a cell is done here the same way:
``input()``/``getpass`` raise ``StdinNotImplementedError`` (a notebook run has no stdin),
SIGINT interrupts only a running cell, streams are buffered and flushed at most 0.2 s apart
and before every display, output written to file descriptors 1 and 2 (C extensions,
subprocesses) is captured, and a cell with
top-level ``await`` runs in the shell's running asyncio loop.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import fcntl
import functools
import getpass
import io
import json
import os
import select
import signal
import socket
import struct
import sys
import termios
import threading
import time
from typing import Any

#: How long a stream keeps text before sending it, as ipykernel's ``OutStream.flush_interval``.
FLUSH_INTERVAL = 0.2
INLINE_BACKEND = "matplotlib_inline.backend_inline"


class Channel:
    """The child's end of the socket: one JSON document per line, from any thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._lock = threading.Lock()
        self._pending = b""

    def send(self, kind: str, msg: dict[str, Any]) -> None:
        line = json.dumps({"channel": kind, "msg": msg}, default=str).encode() + b"\n"
        with self._lock:
            self.sock.sendall(line)

    def receive(self) -> dict[str, Any] | None:
        """The next request from the grader, or None when it has gone."""
        while b"\n" not in self._pending:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                return None
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        request: dict[str, Any] = json.loads(line)
        return request


@functools.cache
def _session_class() -> Any:
    """A jupyter_client ``Session`` whose ``send`` hands the message to its ``channel`` (made
    once: the template makes it before it forks)."""
    from jupyter_client.session import Session

    class ChannelSession(Session):  # type: ignore[misc]
        channel: Channel

        def send(self, stream: Any, msg_or_type: Any, content: Any = None, parent: Any = None,
                 ident: Any = None, buffers: Any = None, track: bool = False, header: Any = None,
                 metadata: Any = None) -> dict[str, Any]:
            msg = msg_or_type if isinstance(msg_or_type, dict) else self.msg(
                msg_or_type, content=content, parent=parent, header=header, metadata=metadata)
            self.channel.send("iopub", _wire(msg))
            return dict(msg)

    return ChannelSession


def _session(channel: Channel) -> Any:
    """A session that sends every message it is given over ``channel``."""
    session = _session_class()(key=b"", username="nbcred")
    session.channel = channel
    return session


def _wire(msg: dict[str, Any]) -> dict[str, Any]:
    """The parts of a message nbclient reads (no dates, no signatures)."""
    header = msg.get("header", {})
    return {"msg_type": msg["msg_type"], "content": msg.get("content", {}),
            "header": {"msg_id": header.get("msg_id", ""), "msg_type": msg["msg_type"]},
            "parent_header": {"msg_id": msg.get("parent_header", {}).get("msg_id", "")},
            "metadata": msg.get("metadata", {})}


class CellStream(io.TextIOBase):
    """``sys.stdout`` / ``sys.stderr``: text buffered and published as ``stream`` messages.

    Like ipykernel's ``OutStream``: text is sent when flushed (before a display, a result or a
    traceback, at the end of the cell) or once it has waited :data:`FLUSH_INTERVAL`, to the cell
    running at that moment; ``fileno()`` is the original descriptor (``/dev/null``), which is
    where ipykernel sends a subprocess given ``sys.stdout``.
    """

    def __init__(self, name: str, session: Any, original_fd: int) -> None:
        super().__init__()
        self.name_ = name
        self.session = session
        self.parent_header: dict[str, Any] = {}
        self._original = original_fd
        self._lock = threading.RLock()
        self._parts: list[str] = []
        self._since = 0.0
        self.capture: DescriptorCapture | None = None

    @property
    def name(self) -> str:  # type: ignore[override]
        return self.name_

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "UTF-8"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._original

    def set_parent(self, parent: dict[str, Any]) -> None:
        self.flush()
        self.parent_header = parent

    def write(self, text: str) -> int:  # type: ignore[override]
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text)}")
        with self._lock:
            if not self._parts:
                self._since = time.monotonic()
            self._parts.append(text)
            if time.monotonic() - self._since >= FLUSH_INTERVAL:
                self.flush()
        return len(text)

    def writelines(self, lines: Any) -> None:  # type: ignore[override]
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self.capture is not None:
            self.capture.settle()
        with self._lock:
            text, self._parts = "".join(self._parts), []
            if text:
                self.session.send(None, "stream", {"name": self.name_, "text": text},
                                  parent=self.parent_header)


class DescriptorCapture:
    """Output written to a file descriptor (C code, ``os.system``) goes to a stream, as in ipykernel."""

    def __init__(self, fd: int, stream: CellStream) -> None:
        self.read_fd, write_fd = os.pipe()
        os.dup2(write_fd, fd)
        os.close(write_fd)
        self.stream = stream
        stream.capture = self
        self._carrying = False
        self._thread = threading.Thread(target=self._pump, name=f"fd{fd}-capture", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        # Marked as carrying while the bytes are still counted in the pipe (after select, before
        # read), so settle() never sees an empty pipe and an idle pump with text in between.
        with contextlib.suppress(OSError):
            while True:
                select.select([self.read_fd], [], [])
                self._carrying = True
                try:
                    chunk = os.read(self.read_fd, 1 << 16)
                    if not chunk:
                        return
                    self.stream.write(chunk.decode(errors="replace"))
                finally:
                    self._carrying = False

    def settle(self, wait: float = 0.05) -> None:
        """Before the stream is flushed: let the pump take what is already in the pipe.

        ipykernel's flush waits for its I/O thread the same way, so what a subprocess printed
        before a result is shown before it.
        """
        if threading.current_thread() is self._thread:
            return
        deadline = time.monotonic() + wait
        while self._carrying or struct.unpack(
                "i", fcntl.ioctl(self.read_fd, termios.FIONREAD, b"\0" * 4))[0]:
            if time.monotonic() > deadline:
                return
            time.sleep(0.0005)


class _Kernel:
    """What the shell and common libraries ask of ``get_ipython().kernel``.

    ``raw_input`` and ``getpass`` are ipykernel's own (a notebook run has no stdin, so they
    raise ``StdinNotImplementedError`` with ipykernel's words and traceback frame).
    """

    eventloop = None
    _allow_stdin = False

    def __init__(self, shell: Any, session: Any) -> None:
        self.shell = shell
        self.session = session
        self._parent: dict[str, Any] = {}

    def get_parent(self, channel: str | None = None) -> dict[str, Any]:
        """The request being answered (its ``content.code`` is the running cell's source)."""
        return self._parent

    @property
    def execution_count(self) -> int:
        return int(self.shell.execution_count)

    from ipykernel.kernelbase import Kernel as _Base

    raw_input: Any = _Base.raw_input
    getpass: Any = _Base.getpass
    del _Base


def kernel_config(args: list[str]) -> Any:
    """The configuration ``IPKernelApp.parse_command_line(args)`` gives, for the arguments the
    grader passes (``-f FILE`` and ``--Class.trait=value``), without building its argument parser
    (a cost per notebook): the kernel application's own traits typed, other classes' deferred."""
    from traitlets.config import Config
    from traitlets.config.loader import DeferredConfigString

    config = Config()
    pending = list(args)
    while pending:
        arg = pending.pop(0)
        if arg == "-f" and pending:
            config.IPKernelApp.connection_file = pending.pop(0)
            continue
        key, _, value = arg.removeprefix("--").partition("=")
        section, _, name = key.rpartition(".")
        if section == "IPKernelApp" and name == "exec_lines":
            config.IPKernelApp.exec_lines = [*config.IPKernelApp.get("exec_lines", []), value]
        elif section == "IPKernelApp":
            config.IPKernelApp[name] = value
        elif section:
            config[section][name] = DeferredConfigString(value)
    return config


_PREPARED: dict[str, Any] = {}
"""The shell (and its kernel application) the template built for the children forked from it."""


def prepare(args: tuple[str, ...]) -> None:
    """In the template: build the shell of every in-process child whose kernel arguments are ``args``.

    Its construction (traitlets configuration, magics, prefilters, formatters, history: most of a
    child's start-up CPU, see docs/benchmarks.md) is then done once; each child takes a fresh copy by the fork
    and makes its own what the shell took from the template's process (:func:`_renew`).
    """
    import atexit

    from ipykernel.compiler import XCachingCompiler
    from ipykernel.kernelapp import IPKernelApp
    from ipykernel.zmqshell import ZMQInteractiveShell

    app = IPKernelApp.instance(config=kernel_config(["-f", "", *args]))
    shell: Any = ZMQInteractiveShell.instance(config=app.config, compiler_class=XCachingCompiler)
    shell.extension_manager.load_extension("storemagic")  # IPython's default extension
    atexit.unregister(shell.atexit_operations)  # a child ends with os._exit, the template never
    _session_class()(key=b"", username="nbcred")  # a process's first session costs more than later ones
    _PREPARED.update(args=tuple(args), app=app, shell=shell)


def discard_prepared() -> None:
    """In a child that builds its own (a kernel, or other arguments): forget the template's shell."""
    if _PREPARED:
        from ipykernel.kernelapp import IPKernelApp
        from ipykernel.zmqshell import ZMQInteractiveShell

        ZMQInteractiveShell.clear_instance()
        IPKernelApp.clear_instance()
        _PREPARED.clear()


def _renew(shell: Any) -> None:
    """What a shell built in the template took from the template's process becomes this child's:
    the folders (IPython's, the profile's and its store, home, start), the environment variables
    it sets and the directory history, as a shell built here has them."""
    from pathlib import Path

    from IPython.utils.path import get_home_dir

    shell.init_ipython_dir(None)
    shell.init_profile_dir(None)
    shell.db = None  # made again on first use, in the new profile folder
    shell.starting_dir = os.getcwd()
    shell.home_dir = get_home_dir()
    shell.init_environment()
    shell.history_manager.dir_hist[:] = [Path.cwd()]


def _shell(argv: list[str], session: Any) -> Any:
    """ipykernel's shell, configured and connected as ``IPythonKernel.__init__`` does it.

    The kernel application is configured from the same command line but never started: it
    holds the configuration the shell sees (``get_ipython().config``) and the kernel that
    ``%matplotlib`` / ``%gui`` look up through ``Application.instance()``. The shell is the
    one the template built (:func:`prepare`) when it was built for the same arguments.
    """
    from ipykernel.compiler import XCachingCompiler
    from ipykernel.kernelapp import IPKernelApp
    from ipykernel.zmqshell import ZMQInteractiveShell

    shell: Any
    if _PREPARED and _PREPARED["args"] == tuple(argv[3:]) and argv[1] == "-f":
        app, shell = _PREPARED["app"], _PREPARED["shell"]
        app.connection_file = app.config.IPKernelApp.connection_file = argv[2]
        _renew(shell)
    else:
        discard_prepared()
        app = IPKernelApp.instance(config=kernel_config(argv[1:]))
        shell = ZMQInteractiveShell.instance(config=app.config, compiler_class=XCachingCompiler)
        shell.extension_manager.load_extension("storemagic")  # IPython's default extension
    shell.kernel = app.kernel = _Kernel(shell, session)
    hook: Any
    for hook in (shell.displayhook, shell.display_pub):
        hook.session = session
        hook.pub_socket = None
    shell.displayhook.topic = b"execute_result"
    shell.displayhook.get_execution_count = lambda: shell.execution_count
    return shell


class ShellRunner:
    """The shell of one notebook and the request loop that runs its cells."""

    def __init__(self, channel: Channel, setup: list[str], argv: list[str]) -> None:
        self.channel = channel
        self.session = _session(channel)
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # as a kernel between requests
        if sys.path and sys.path[0] in ("", os.getcwd()):
            del sys.path[0]
        sys.argv = argv
        devnull = os.open(os.devnull, os.O_WRONLY)
        self.streams = {name: CellStream(name, self.session, os.dup(devnull))
                        for name in ("stdout", "stderr")}
        sys.stdout, sys.stderr = self.streams["stdout"], self.streams["stderr"]
        self.captures = [DescriptorCapture(1, self.streams["stdout"]),
                         DescriptorCapture(2, self.streams["stderr"])]
        os.close(devnull)
        os.environ.setdefault("MPLBACKEND", f"module://{INLINE_BACKEND}")
        if "numpy" in sys.modules:
            sys.modules["numpy"].random.seed()  # the template's state is shared by every fork
        self.shell = _shell(argv, self.session)
        self.kernel: _Kernel = self.shell.kernel
        for line in setup:  # IPKernelApp's exec_lines
            self.shell.run_cell(line, store_history=False)
        for stream in self.streams.values():
            stream.flush()
        self.shell.user_ns_hidden.update(self.shell.user_ns)
        if "matplotlib" in sys.modules:  # imported before the backend was chosen
            sys.modules["matplotlib"].rcParams["backend"] = os.environ["MPLBACKEND"]
        # Imported by the template without a shell, the inline backend did not hook itself into
        # IPython: it is imported again when matplotlib first selects it, as in a fresh kernel.
        sys.modules.pop(INLINE_BACKEND, None)
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

    def serve(self) -> None:
        """Answer requests until the grader closes the socket.

        ``exit()`` in a cell ends nothing, as in ipykernel 7 (it only asks the front end).
        """
        while (request := self.channel.receive()) is not None:
            if request.get("msg_type") != "execute_request":
                continue
            self.loop.run_until_complete(self.execute(request))

    def _publish(self, msg_type: str, content: dict[str, Any], parent: dict[str, Any]) -> None:
        self.session.send(None, msg_type, content, parent=parent)

    async def execute(self, request: dict[str, Any]) -> None:
        """One ``execute_request``: the messages and the reply an IPython kernel sends."""
        content = request["content"]
        parent = request["header"]
        wrapped = {"header": parent}
        self.kernel._parent = request
        silent = bool(content.get("silent"))
        store_history = bool(content.get("store_history", not silent))
        self.shell.set_parent(wrapped)
        for stream in self.streams.values():
            stream.set_parent(wrapped)
        self._publish("status", {"execution_state": "busy"}, wrapped)
        if not silent:
            self._publish("execute_input", {"code": content["code"],
                                            "execution_count": self.shell.execution_count}, wrapped)
        reply = await self._run(content["code"], silent=silent, store_history=store_history)
        for stream in self.streams.values():
            stream.flush()
        self.channel.send("shell", {"msg_type": "execute_reply", "content": reply,
                                    "header": {"msg_id": f"reply-{parent['msg_id']}",
                                               "msg_type": "execute_reply"},
                                    "parent_header": {"msg_id": parent["msg_id"]}, "metadata": {}})
        self._publish("status", {"execution_state": "idle"}, wrapped)

    async def _run(self, code: str, *, silent: bool, store_history: bool) -> dict[str, Any]:
        shell = self.shell
        saved_input, saved_getpass = builtins.input, getpass.getpass
        builtins.input = self.kernel.raw_input
        getpass.getpass = self.kernel.getpass
        signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            result = await self._run_cell(code, silent=silent, store_history=store_history)
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            builtins.input, getpass.getpass = saved_input, saved_getpass
        reply: dict[str, Any] = {"status": "ok"}
        failed = result.error_before_exec if result.error_before_exec is not None else result.error_in_exec
        if not result.success or getattr(shell, "_last_traceback_during_displayhook", False):
            reply = {"status": "error", "traceback": shell._last_traceback or [],
                     "ename": type(failed).__name__, "evalue": str(failed)}
        reply["execution_count"] = shell.execution_count - 1
        reply["user_expressions"] = {}
        reply["payload"] = shell.payload_manager.read_payload()
        shell.payload_manager.clear_payload()
        return reply

    async def _run_cell(self, code: str, *, silent: bool, store_history: bool) -> Any:
        """As ipykernel's ``do_execute``: a cell with top-level ``await`` runs in this loop."""
        shell = self.shell
        failure = None
        try:
            transformed = shell.transform_cell(code)
        except Exception:
            transformed, failure = code, sys.exc_info()
        if shell.should_run_async(code, transformed_cell=transformed, preprocessing_exc_tuple=failure):
            result = None
            try:
                result = await shell.run_cell_async(
                    code, store_history=store_history, silent=silent, transformed_cell=transformed,
                    preprocessing_exc_tuple=failure)
            finally:
                shell.events.trigger("post_execute")
                if not silent:
                    shell.events.trigger("post_run_cell", result)
            return result
        return shell.run_cell(code, store_history=store_history, silent=silent)


def serve(sock: socket.socket, setup: list[str], argv: list[str]) -> None:
    """In the sandboxed child: build the shell, then run what the grader sends. Returns at the end."""
    channel = Channel(sock)
    try:
        runner = ShellRunner(channel, setup, argv)
    except BaseException as exc:  # the grader reports why no cell ran
        import traceback

        text = "".join(traceback.format_exception(exc))
        channel.send("control", {"msg_type": "failed", "content": {"traceback": text}})
        raise
    channel.send("control", {"msg_type": "ready", "content": {}})
    runner.serve()
    for stream in runner.streams.values():
        with contextlib.suppress(Exception):
            stream.flush()
