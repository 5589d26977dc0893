"""The host paths a sandboxed kernel sees: the system's read-only parts and this Python environment.

Its own module so the sandbox (:mod:`grader.sandbox`) and the probe that tries the mechanisms
(:mod:`grader.sandbox_probe`) both read it without importing each other."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

#: What a kernel sees of the host besides its Python environment (each bound read-only where it
#: exists): shared libraries and the programs next to the interpreter, time zones, fonts, CA
#: certificates and OpenSSL's configuration, the loader's cache, and the CPU topology that
#: numerical libraries read. ``/etc`` holds only the files listed; ``/usr/local`` is not here.
SYSTEM = ("/bin", "/lib", "/lib32", "/lib64", "/libx32", "/usr/bin", "/usr/lib", "/usr/lib32",
          "/usr/lib64", "/usr/libx32", "/usr/share/zoneinfo", "/usr/share/fonts",
          "/usr/share/fontconfig", "/usr/share/ca-certificates", "/etc/ld.so.cache",
          "/etc/localtime", "/etc/ssl/certs", "/etc/ssl/openssl.cnf", "/etc/fonts", "/etc/mime.types",
          "/sys/devices/system/cpu")
#: Prefixes too broad to show whole when the interpreter lives there: only its own parts are kept.
SYSTEM_PREFIXES = ("/", "/usr", "/usr/local", "/opt")


def allowed_paths() -> tuple[str, ...]:
    """The host paths a kernel sees (read-only): :data:`SYSTEM` and this Python environment.

    The environment is the interpreter's prefixes (a virtual environment and the installation it
    was made from); when one of them is a system-wide folder (``/usr``, ``/usr/local``), only its
    standard library, the interpreter and the libraries this process has loaded from there.
    """
    prefixes = {os.path.normpath(p) for p in (sys.prefix, sys.exec_prefix, sys.base_prefix,
                                               sys.base_exec_prefix)}
    paths = [p for p in prefixes if p not in SYSTEM_PREFIXES]
    if len(paths) < len(prefixes):  # a system interpreter: its own parts only
        paths += [sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")]
        paths += [sys.executable, os.path.realpath(sys.executable), *_loaded_libraries()]
    covered = [p for p in (*SYSTEM, *paths) if os.path.isdir(p) and not os.path.islink(p)]
    kept = {p for p in (*SYSTEM, *paths)
            if os.path.lexists(p) and not any(p != c and p.startswith(c.rstrip("/") + "/") for c in covered)}
    return tuple(sorted(kept))


def _loaded_libraries() -> list[str]:
    """Shared objects mapped into this process (libpython of an interpreter under /usr/local)."""
    try:
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return []
    found = {line.split(maxsplit=5)[5] for line in maps if line.count(" ") >= 5}
    return sorted(p for p in found if p.startswith("/") and ".so" in p and os.path.isfile(p))
