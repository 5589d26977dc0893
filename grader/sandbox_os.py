"""Linux primitives the sandbox is built from: namespaces, mounts, loopback, rlimits, identity.

Every function here runs in a freshly forked child (before ``exec``, or before the kernel starts
in a forked template), as root unless noted; they raise ``OSError`` when the kernel refuses.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import platform
import resource
import signal
import socket
import stat
import struct
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MNT_DETACH = 2
SYS_CLONE = {"x86_64": 56, "aarch64": 220, "riscv64": 220, "ppc64le": 120, "s390x": 120}.get(
    platform.machine())
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217}.get(
    platform.machine(), 155)
#: Devices a kernel may open; every other host device stays out of its /dev.
DEVICES = ("null", "zero", "full", "random", "urandom")
#: Where the new root is assembled before the switch (any host folder: covered in this namespace).
NEW_ROOT = "/tmp"
PR_SET_PDEATHSIG = 1
PR_SET_NO_NEW_PRIVS = 38
SIOCGIFFLAGS = 0x8913
SIOCSIFFLAGS = 0x8914
IFF_UP = 0x1

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


_pylibc = ctypes.PyDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def fork_into(flags: int) -> int:
    """``fork()`` whose child starts in new namespaces: ``clone(2)`` with ``flags``.

    With ``CLONE_NEWPID`` the child is the new PID namespace's init (pid 1 there), so the
    process ``unshare`` needs in between (it stays outside the namespace, forks the init and
    waits for it) is not made. Python's own fork hooks run as for ``os.fork`` (the call holds
    the interpreter lock throughout). Returns 0 in the child, the child's pid in the parent.
    """
    if SYS_CLONE is None:
        raise OSError(f"clone: no system call number known for {platform.machine()}")
    api = ctypes.pythonapi
    api.PyOS_BeforeFork()
    pid = _pylibc.syscall(ctypes.c_long(SYS_CLONE), ctypes.c_ulong(flags | signal.SIGCHLD),
                          ctypes.c_void_p(0), ctypes.c_void_p(0), ctypes.c_void_p(0), ctypes.c_void_p(0))
    if pid == 0:
        api.PyOS_AfterFork_Child()
        return 0
    err = ctypes.get_errno()
    api.PyOS_AfterFork_Parent()
    if pid < 0:
        raise OSError(err, f"clone: {os.strerror(err)}")
    return int(pid)


def unshare(flags: int) -> None:
    """Move the calling process into new namespaces (``unshare(2)``)."""
    _check(_libc.unshare(ctypes.c_int(flags)), "unshare")


def mount(source: str, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    """``mount(2)``."""
    _check(
        _libc.mount(
            source.encode(), target.encode(), fstype.encode() if fstype else None,
            ctypes.c_ulong(flags), data.encode() if data else None,
        ),
        f"mount {target}",
    )


def prctl(option: int, value: int) -> None:
    """``prctl(2)`` with one argument."""
    _check(_libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0), "prctl")


def map_own_ids() -> None:
    """After ``unshare(CLONE_NEWUSER)`` as an ordinary user: map our uid/gid onto themselves."""
    uid, gid = os.getuid(), os.getgid()
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def loopback_up() -> None:
    """Bring up ``lo`` in a new network namespace (only this namespace's own 127.0.0.1)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def private_filesystem(
    hidden: Iterable[str], keep: Iterable[str], scratch: Iterable[str], scratch_mb: int,
    owner: int | None,
) -> None:
    """Give the kernel a filesystem built from an allow-list, and one bounded scratch disk.

    Call in a new mount namespace, as root in it. A new root (a small tmpfs, read-only once built)
    holds only: each ``keep`` path bound read-only at the same place (the Python environment, the
    system's shared libraries and data, see :func:`grader.sandbox_paths.allowed_paths`; a kept symbolic
    link is re-created as a link), the harmless devices (``/dev/null``, ``zero``, ``full``,
    ``random``, ``urandom``), ``/proc``, an ``/etc`` naming no host user, and ``/tmp``: a tmpfs of
    ``scratch_mb`` (``/var/tmp`` and ``/dev/shm`` are the same one), the only place the kernel can
    write. Each ``scratch`` folder (the notebook's working folder, the kernel's run folder) is
    re-created on it at the same path with a copy of what the host folder holds now, owned by
    ``owner``. Each ``hidden`` path that a kept one would show is covered. Then the process
    switches to the new root (``pivot_root``) and detaches the old one: nothing else of the host's
    filesystem is reachable, whatever its name.
    """
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    kept = [(path, os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)) for path in sorted(set(keep))
            if os.path.lexists(path)]
    copies = [(path, os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC))
              for path in dict.fromkeys(scratch) if os.path.isdir(path)]
    root = NEW_ROOT  # mounted over in this namespace only; what the kernel needs is open already
    mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755")
    _mount_point(root, "/tmp", folder=True)
    mount("tmpfs", root + "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={scratch_mb}m,mode=1777")
    for path, fd in kept:
        _keep(root, path, fd)
    _devices_and_proc(root)
    _etc(root, owner)
    for path in hidden:
        _cover(root, path)
    for path, _fd in copies:
        _scratch_folder(root, path, owner)
    mount("none", root, None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for path, fd in copies:
        copy_tree(fd, root + path, owner)
        os.close(fd)
    os.chdir(root)
    _check(_libc.syscall(ctypes.c_long(SYS_PIVOT_ROOT), b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", ctypes.c_int(MNT_DETACH)), "umount the old root")
    os.chdir("/")


def _mount_point(root: str, path: str, *, folder: bool) -> str:
    """Create ``path`` under ``root`` (a folder, or an empty file to bind a file on)."""
    target = root + path
    os.makedirs(target if folder else os.path.dirname(target), exist_ok=True)
    if not folder and not os.path.lexists(target):
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    return target


def _keep(root: str, path: str, fd: int) -> None:
    """Bind the host's ``path`` (open as ``fd``) read-only at the same place under ``root``."""
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISLNK(mode):
            if not os.path.lexists(root + path):
                os.makedirs(os.path.dirname(root + path), exist_ok=True)
                os.symlink(os.readlink(path), root + path)
            return
        target = _mount_point(root, path, folder=stat.S_ISDIR(mode))
        mount(f"/proc/self/fd/{fd}", target, None, MS_BIND | MS_REC)
        mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY)
    finally:
        os.close(fd)


def _devices_and_proc(root: str) -> None:
    for name in DEVICES:
        if os.path.exists(f"/dev/{name}"):
            mount(f"/dev/{name}", _mount_point(root, f"/dev/{name}", folder=False), None, MS_BIND)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, root + f"/dev/{name}")
    for path in ("/dev/shm", "/var/tmp"):
        mount(root + "/tmp", _mount_point(root, path, folder=True), None, MS_BIND)
    # the host's /proc until the kernel mounts its own (PID namespace): mounting a new proc from
    # a user namespace needs one to be visible already
    mount("/proc", _mount_point(root, "/proc", folder=True), None, MS_BIND | MS_REC)


def _etc(root: str, owner: int | None) -> None:
    """An ``/etc`` that names no host user or host: only the kernel's own user, and localhost."""
    os.makedirs(root + "/etc", exist_ok=True)
    uid = owner if owner is not None else os.getuid()
    files = {"passwd": f"nbcred-sandbox:x:{uid}:{uid}:sandbox:/tmp:/usr/sbin/nologin\n",
             "group": f"nbcred-sandbox:x:{uid}:\n",
             "hosts": "127.0.0.1 localhost\n::1 localhost\n",
             "hostname": "sandbox\n"}
    for name, text in files.items():
        if not os.path.lexists(f"{root}/etc/{name}"):
            Path(f"{root}/etc/{name}").write_text(text)


def _cover(root: str, path: str) -> None:
    """Hide ``path`` if a kept folder shows it: an empty read-only tmpfs, or /dev/null for a file."""
    target = root + path
    if not os.path.lexists(target) or os.path.islink(target):
        return
    if os.path.isdir(target):
        mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV | MS_RDONLY, "size=4k,mode=0755")
    else:
        mount("/dev/null", target, None, MS_BIND)


def _scratch_folder(root: str, path: str, owner: int | None) -> None:
    """Create ``path`` on the scratch tmpfs (bound there when it lies outside ``/tmp``)."""
    target = root + path
    if not path.startswith("/tmp/"):
        target = root + "/tmp/.scratch" + path
    os.makedirs(target, exist_ok=True)
    if target != root + path:
        os.makedirs(root + path, exist_ok=True)
        mount(target, root + path, None, MS_BIND)
    if owner is not None:
        os.chown(root + path, owner, owner)


def copy_tree(source_fd: int, target: str, owner: int | None) -> None:
    """Copy the regular files and folders below the open folder ``source_fd`` into ``target``.

    Symbolic links and special files are skipped; everything copied belongs to ``owner``.
    """
    for entry in os.scandir(source_fd):
        path = os.path.join(target, entry.name)
        if entry.is_dir(follow_symlinks=False):
            sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                          dir_fd=source_fd)
            try:
                os.makedirs(path, exist_ok=True)
                if owner is not None:
                    os.chown(path, owner, owner)
                copy_tree(sub, path, owner)
            finally:
                os.close(sub)
        elif entry.is_file(follow_symlinks=False):
            src = os.open(entry.name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=source_fd)
            dst = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC,
                          0o644)
            try:
                while os.sendfile(dst, src, None, 1 << 24):
                    pass
                if owner is not None:
                    os.fchown(dst, owner, owner)
            finally:
                os.close(src)
                os.close(dst)


def enter_pid_namespace(report_fd: int | None = None, *, init: bool = False) -> int:
    """After ``unshare(CLONE_NEWPID)``: fork the namespace's init and the kernel; return in the kernel.

    The calling process stays outside the new namespace; it waits for the init (pid 1) and exits
    with it. The init forks the kernel (pid 2), reaps orphans and exits when the kernel does —
    which ends every process left in the namespace — after writing how the kernel ended to
    ``report_fd`` (see :func:`read_exit_report`). The kernel mounts its own ``/proc``, so it sees
    only the namespace's processes. Returns the kernel's pid as the grader sees it. ``init``:
    the caller already is the namespace's init (made by :func:`fork_into`) and forks the kernel.
    """
    if not init:
        child = os.fork()
        if child:
            _wait_then_exit(child, ignore=(signal.SIGINT,))
    kernel = os.fork()
    if kernel:
        _wait_then_exit(kernel, ignore=(), reap=True, report_fd=report_fd)
    if report_fd is not None:
        os.close(report_fd)
    outside = int(os.readlink("/proc/self"))  # the grader's /proc, still mounted here
    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    return outside


def _wait_then_exit(
    child: int, *, ignore: tuple[int, ...], reap: bool = False, report_fd: int | None = None
) -> None:
    """Keep only /dev/null open, wait for ``child`` (reaping any orphan) and exit with its status.

    The namespace's init keeps default signal dispositions: the kernel ignores those signals for
    a pid 1 without a handler, so learner code cannot kill it except by ending the kernel.
    """
    code = 1
    try:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
            signal.signal(signum, signal.SIG_IGN if signum in ignore else signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        keep = 3 if report_fd is None else os.dup2(report_fd, 3) + 1
        os.closerange(keep, 65536)
        die_with_parent()
        while True:
            pid, status, usage = os.wait4(-1 if reap else child, 0)
            if pid == child:
                code = os.waitstatus_to_exitcode(status)
                if report_fd is not None:
                    os.write(3, f"{code} {usage.ru_utime + usage.ru_stime:.3f} {usage.ru_maxrss}".encode())
                code = 128 - code if code < 0 else code
                break
    except BaseException:  # nothing to report to: just exit
        pass
    os._exit(code)


@dataclass(frozen=True)
class ExitReport:
    """How a kernel in a PID namespace ended, as its init saw it."""

    code: int  # exit status, or -signal
    cpu_seconds: float
    max_rss_kb: int

    @property
    def signal(self) -> int | None:
        """The signal that ended the kernel, if one did."""
        return -self.code if self.code < 0 else None


def read_exit_report(path: Path, wait: float = 1.0) -> ExitReport | None:
    """The report the init writes when the kernel ends (waits up to ``wait`` s for it to appear)."""
    deadline = time.monotonic() + wait
    while True:
        try:
            parts = path.read_text().split()
            if len(parts) == 3:
                return ExitReport(int(parts[0]), float(parts[1]), int(parts[2]))
        except (OSError, ValueError):
            pass
        if time.monotonic() > deadline:
            return None
        time.sleep(0.02)


def set_limits(limits: Mapping[int, int]) -> None:
    """Apply ``setrlimit`` for each resource: soft = the value, hard = the value (+1 s for CPU)."""
    for res, value in limits.items():
        hard = value + 1 if res == resource.RLIMIT_CPU else value
        resource.setrlimit(res, (value, hard))


def become(uid: int, gid: int) -> None:
    """Drop root for good: no supplementary groups, real/effective/saved ids, no new privileges."""
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    prctl(PR_SET_NO_NEW_PRIVS, 1)


def die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when its parent dies (set after changing ids)."""
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def kill_all_of(uid: int) -> None:
    """SIGKILL every process running as ``uid`` (a fork bomb's leftovers) from a forked child."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        except OSError:
            code = 1
        os._exit(code)
    os.waitpid(pid, 0)
