"""What one sandboxed, pre-forked kernel costs: wall seconds and core-seconds per notebook.

Runs N two-cell notebooks through a :class:`grader.forkserver.ForkedRunner` (after two warm-up
runs) and prints the wall time per notebook, the grader's CPU and the kernels' CPU (the template
and every kernel it has reaped, from ``/proc/<template>/stat``)::

    .venv/bin/python bench/kernel_cost.py -n 12

To compare with another revision, run it with ``PYTHONPATH=<a checkout of that revision>``
(its template must reap its kernels too, or their CPU is not counted).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import nbformat

from grader.forkserver import ForkedRunner
from grader.spec import ExecutionLimits


def _tree_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=12, help="notebooks to run (default 12)")
    args = parser.parse_args()
    runner = ForkedRunner()

    def one() -> None:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                             nbformat.v4.new_code_cell("x + 1")])
        workdir = runner.new_workdir()
        (workdir / "data.csv").write_text("a,b\n1,2\n")
        outcome = runner.run(nb, workdir=workdir, limits=ExecutionLimits(), kernel_name="python3")
        if outcome.error:
            raise SystemExit(outcome.error)

    for _ in range(2):
        one()
    assert runner.template._process is not None
    template = runner.template._process.pid
    kernels, wall, cpu = _tree_cpu(template), time.perf_counter(), time.process_time()
    for _ in range(args.n):
        one()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    time.sleep(0.5)  # the last kernel's exit is reaped
    where = Path(sys.modules["grader"].__file__ or "").parent.parent
    print(f"{where}: per notebook wall {wall / args.n:.3f} s, "
          f"kernel {(_tree_cpu(template) - kernels) / args.n:.3f} core-s, grader {cpu / args.n:.3f} core-s "
          f"(load {os.getloadavg()[0]:.1f})")
    runner.close()


if __name__ == "__main__":
    main()
