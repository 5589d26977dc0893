"""Find out which sandbox mechanisms work on this machine, each with the reason.

Each mechanism is tried for real in a short-lived forked child, so the answer reflects the
running kernel, container and privileges rather than guesses from configuration files.
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from grader import sandbox_os
from grader.sandbox_paths import allowed_paths

#: Numeric ids for sandboxed kernels are ``UID_BASE + pid``: unique per live kernel, no passwd entry.
UID_BASE = 1_600_000_000


@dataclass(frozen=True)
class Mechanism:
    """One isolation mechanism and whether it works here."""

    name: str
    available: bool
    reason: str


@dataclass(frozen=True)
class SandboxReport:
    """What the sandbox can use on this machine."""

    mechanisms: tuple[Mechanism, ...] = field(default=())

    def available(self, name: str) -> bool:
        """Whether the mechanism called ``name`` works."""
        return any(m.name == name and m.available for m in self.mechanisms)

    def unavailable(self) -> list[Mechanism]:
        """The mechanisms that do not work, with why."""
        return [m for m in self.mechanisms if not m.available]


def _in_child(action: Callable[[], None]) -> str | None:
    """Run ``action`` in a forked child; None if it succeeded, else the error text."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.close(read_fd)
        message = b""
        try:
            action()
        except BaseException as exc:
            message = f"{type(exc).__name__}: {exc}".encode()[:500] or b"failed"
        os.write(write_fd, message)
        os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        text = pipe.read().decode(errors="replace")
    os.waitpid(pid, 0)
    return text or None


def _unshare(flags: int) -> None:
    """Enter new namespaces; without root, inside a user namespace mapping our own ids."""
    if os.geteuid() != 0:
        flags |= sandbox_os.CLONE_NEWUSER
    sandbox_os.unshare(flags)
    if os.geteuid() != 0:
        sandbox_os.map_own_ids()


def _try_network() -> None:
    _unshare(sandbox_os.CLONE_NEWNET)
    sandbox_os.loopback_up()


def _try_mounts() -> None:
    _unshare(sandbox_os.CLONE_NEWNS)
    sandbox_os.private_filesystem([], allowed_paths(), [], 8, None)
    if not os.path.exists(sys.executable):
        raise OSError("the interpreter is not visible in the allow-listed filesystem")
    if os.path.exists("/etc/shadow"):
        raise OSError("the host's /etc is visible in the allow-listed filesystem")


def _try_pid() -> None:
    _unshare(sandbox_os.CLONE_NEWNS | sandbox_os.CLONE_NEWPID)
    sandbox_os.mount("none", "/", None, sandbox_os.MS_REC | sandbox_os.MS_PRIVATE)
    error = _in_child(_own_proc)
    if error:
        raise OSError(error)


def _own_proc() -> None:
    sandbox_os.mount("proc", "/proc", "proc", sandbox_os.MS_NOSUID | sandbox_os.MS_NODEV)
    visible = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
    if visible != [1]:
        raise OSError(f"a fresh /proc shows processes {visible[:5]}, not only its own")


def _try_disk() -> None:
    _unshare(sandbox_os.CLONE_NEWNS)
    sandbox_os.private_filesystem([], [], [], 1, None)
    try:
        with open("/tmp/fill", "wb") as fh:
            for _ in range(4):
                fh.write(b"\0" * (1 << 19))
    except OSError:
        return
    raise OSError("wrote 2 MB to a 1 MB scratch disk")


def _try_user() -> None:
    if os.geteuid() != 0:
        raise PermissionError("not running as root, so kernels keep the grader's own user id")
    uid = UID_BASE + os.getpid()
    sandbox_os.become(uid, uid)


def _try_rlimits() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
    sandbox_os.set_limits({resource.RLIMIT_AS: 1 << 30, resource.RLIMIT_CPU: 60,
                           resource.RLIMIT_NOFILE: 64, resource.RLIMIT_FSIZE: 1 << 20,
                           resource.RLIMIT_NPROC: min(64, hard if hard >= 0 else 64)})


def _try_pidfd() -> None:
    fd = os.pidfd_open(os.getpid())
    os.close(fd)


CHECKS: dict[str, tuple[Callable[[], None], str]] = {
    "network": (_try_network, "private network namespace: no route to other hosts or local services"),
    "filesystem": (_try_mounts, "private mount namespace showing an allow-list: the Python environment, "
                   "system libraries and data; /etc, /usr/local, /root, /home, /work absent"),
    "pid": (_try_pid, "private PID namespace with its own /proc: the kernel sees only its own "
            "processes, no other command line"),
    "disk": (_try_disk, "one bounded scratch disk per notebook (a tmpfs of disk_mb for /tmp, its "
             "working folder and home; everything else read-only)"),
    "user": (_try_user, "a per-kernel unprivileged user id (files of the grader unreadable)"),
    "rlimits": (_try_rlimits, "rlimits on memory, CPU time, processes, open files and file size"),
    "pidfd": (_try_pidfd, "pidfds, needed by the pre-forked kernel template"),
}


def probe() -> SandboxReport:
    """Try each mechanism in a child process and report which work, with a reason for each."""
    found = []
    for name, (action, what) in CHECKS.items():
        error = _in_child(action)
        reason = what if error is None else f"unavailable: {error}"
        found.append(Mechanism(name, error is None, reason))
    return SandboxReport(tuple(found))
