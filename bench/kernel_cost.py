"""What one sandboxed, pre-forked kernel costs: wall seconds and core-seconds per notebook.

Runs N two-cell notebooks through a :class:`grader.forkserver.ForkedRunner` (after two warm-up
runs) and prints the wall time per notebook, the grader's CPU and the kernels' CPU (the template
and every kernel it has reaped, from ``/proc/<template>/stat``)::

    .venv/bin/python bench/kernel_cost.py -n 12

``--course`` grades the seven learners of the differential corpus's ``ps1`` (two notebooks,
full marks, partial credit, errors, a missing notebook…) N times in-process instead, and prints
per *submission* the wall time, the kernels' core-seconds and the grader's::

    .venv/bin/python bench/kernel_cost.py --course -n 3

``--engine shell`` runs the in-process runner (one forked shell per notebook, no kernel
server) instead of pre-forked kernels; ``--engine both`` alternates the two, ``--rounds`` times.

To compare with another revision, run this script with the Python of that revision's own
virtual environment (the template is started from the installed package, so ``PYTHONPATH`` is
not enough), alternating runs: ``cd <other checkout> && .venv/bin/python <this>/bench/kernel_cost.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import nbformat

from grader.forkserver import ForkedRunner
from grader.spec import ExecutionLimits


def _tree_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


COURSE = Path(__file__).resolve().parents[1] / "tests" / "differential" / "course"


def measure(runner: ForkedRunner, one: Callable[[], None], rounds: int, per: int, unit: str) -> None:
    """Warm up, run ``one`` ``rounds`` times (``per`` units each) and print the costs per unit."""
    for _ in range(2):
        one()
    assert runner.template._process is not None
    template = runner.template._process.pid
    kernels, wall, cpu = _tree_cpu(template), time.perf_counter(), time.process_time()
    for _ in range(rounds):
        one()
    count = rounds * per
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    time.sleep(0.5)  # the last kernel's exit is reaped
    where = Path(sys.modules["grader"].__file__ or "").parent.parent
    print(f"{where} [{type(runner).__name__}]: per {unit} wall {wall / count * 1000:.0f} ms, kernels "
          f"{(_tree_cpu(template) - kernels) / count * 1000:.0f} core-ms, grader {cpu / count * 1000:.0f} "
          f"core-ms ({count} {unit}s, load {os.getloadavg()[0]:.1f})")
    runner.close()


def course_round(runner: ForkedRunner) -> tuple[Callable[[], None], int]:
    """Grading ps1's learners once, and how many submissions that is."""
    from grader.assessment import load_assessment
    from grader.grade import GradeOptions, grade_submission

    assessment = load_assessment(COURSE / "source" / "ps1")
    subs = [p / "ps1" for p in sorted((COURSE / "submitted").iterdir()) if (p / "ps1").is_dir()]
    runner.new_workdir()  # keep a spare kernel, as the executors do
    options = GradeOptions(runner=runner)

    def one() -> None:
        for sub in subs:
            grade_submission(assessment, sub, options=options)

    return one, len(subs)


def notebook_round(runner: ForkedRunner) -> Callable[[], None]:
    """Running one trivial two-cell notebook."""

    def one() -> None:
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1"),
                                             nbformat.v4.new_code_cell("x + 1")])
        workdir = runner.new_workdir()
        (workdir / "data.csv").write_text("a,b\n1,2\n")
        outcome = runner.run(nb, workdir=workdir, limits=ExecutionLimits(), kernel_name="python3")
        if outcome.error:
            raise SystemExit(outcome.error)

    return one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=12, help="notebooks to run (default 12; --course: rounds)")
    parser.add_argument("--course", action="store_true", help="grade ps1's seven learners -n times")
    parser.add_argument("--engine", choices=("kernel", "shell", "both"), default="kernel",
                        help="pre-forked kernels (default), the in-process shell, or both alternating")
    parser.add_argument("--rounds", type=int, default=1, help="with --engine both: alternations")
    args = parser.parse_args()
    engines = ("kernel", "shell") if args.engine == "both" else (args.engine,)
    for _ in range(args.rounds if args.engine == "both" else 1):
        for engine in engines:
            runner = make(engine)
            if args.course:
                one, per = course_round(runner)
                measure(runner, one, args.n, per, "ps1 submission")
            else:
                measure(runner, notebook_round(runner), args.n, 1, "notebook")


def make(engine: str) -> ForkedRunner:
    """A runner of pre-forked kernels, or the in-process runner."""
    if engine == "shell":
        from grader.inprocess_runner import InProcessRunner

        return InProcessRunner()
    return ForkedRunner()


if __name__ == "__main__":
    main()
