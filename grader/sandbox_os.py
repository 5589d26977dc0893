"""Linux primitives the sandbox is built from: namespaces, mounts, loopback, rlimits, identity.

Every function here runs in a freshly forked child (before ``exec``, or before the kernel starts
in a forked template), as root unless noted; they raise ``OSError`` when the kernel refuses.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import fcntl
import os
import resource
import signal
import socket
import struct
from collections.abc import Iterable, Mapping
from pathlib import Path

CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
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


def hide_paths(hidden: Iterable[str], keep: Iterable[str], tmp_size_mb: int) -> None:
    """Cover each ``hidden`` folder with an empty tmpfs, then bind the ``keep`` paths back in.

    Call in a new mount namespace. Kept paths are opened before anything is covered, so a kept
    path below a hidden folder (the interpreter under /root, the scratch folder under /tmp) is
    re-attached at the same place.
    """
    mount("none", "/", None, MS_REC | MS_PRIVATE)
    kept = []
    for path in sorted(set(keep)):
        if os.path.exists(path):
            kept.append((path, os.open(path, os.O_PATH | os.O_CLOEXEC)))
    for path in hidden:
        if os.path.isdir(path) and not os.path.islink(path):
            mode = "1777" if path in ("/tmp", "/var/tmp", "/dev/shm") else "0755"
            mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV,
                  f"size={tmp_size_mb}m,mode={mode}")
    for path, fd in kept:
        if os.path.isdir(f"/proc/self/fd/{fd}"):
            os.makedirs(path, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        os.close(fd)


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
