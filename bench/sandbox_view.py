"""What building a kernel's filesystem view costs: ``private_filesystem`` timed in forked children.

Each round forks a child that enters a new mount namespace and builds the view the sandbox gives
a kernel (the allow-list of :func:`grader.sandbox_paths.allowed_paths`, a scratch tmpfs, ``pivot_root``);
prints the median and the 90th percentile in milliseconds. Needs root (as the sandbox does)::

    .venv/bin/python bench/sandbox_view.py -n 40

Against a revision before the allow-list (its ``grader`` on the path), it times that revision's
deny-list view (the data folders covered, the interpreter bound back) for comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time

from grader import sandbox, sandbox_os


def one_view(keep: tuple[str, ...], hidden: tuple[str, ...]) -> float:
    """Seconds a forked child spends building the view."""
    workdir, rundir = tempfile.mkdtemp(prefix="nbcred-bench-"), tempfile.mkdtemp(prefix="nbcred-bench-")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            sandbox_os.unshare(sandbox_os.CLONE_NEWNS)
            start = time.perf_counter()
            sandbox_os.private_filesystem(hidden, keep, (workdir, rundir), 64, None)
            os.write(write, f"{time.perf_counter() - start}".encode())
        except BaseException:
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read) as answer:
        text = answer.read()
    os.waitpid(pid, 0)
    shutil.rmtree(workdir, ignore_errors=True)
    shutil.rmtree(rundir, ignore_errors=True)
    if not text:
        raise SystemExit("the child could not build the view (run as root)")
    return float(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=40, help="rounds")
    rounds = parser.parse_args().n
    if hasattr(sandbox, "allowed_paths"):
        keep, hidden, kind = sandbox.allowed_paths(), (), "allow-list"
    else:  # an earlier revision: its deny-list
        keep, hidden, kind = (sys.prefix, sys.base_prefix, sys.exec_prefix), sandbox.HIDDEN, "deny-list"
    times = sorted(one_view(keep, hidden) for _ in range(rounds))
    print(f"{kind}, {len(keep)} kept paths: median {1000 * times[len(times) // 2]:.1f} ms, "
          f"p90 {1000 * times[int(len(times) * 0.9)]:.1f} ms ({rounds} views, load {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
