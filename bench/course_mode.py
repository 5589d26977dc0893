"""Course mode: a plain nbgrader problem set graded by ``nbgrader autograde`` and by nbcred, side by side.

The problem set is ``ps1`` of the differential corpus (``tests/differential/course``: two
notebooks and a data file, nbgrader metadata as nbgrader writes it); the N submissions cycle
through its seven learners (full marks, partial credit, errors, tampering, a missing notebook…).
Each repetition runs, one after another on the same machine:

* ``nbgrader autograde`` on the N submissions (a fresh course and gradebook);
* ``nbcred grade SOURCE SUBMISSIONS... --workers 2 --format json`` as a new user would run it
  (cold: CLI, workers and kernel templates start inside the measured time);
* nbcred's local executor on the same N submissions with warm workers: the steady-state
  per-submission time is measured between the first and the last result once every worker has
  returned one, which is what a long batch (240 submissions) converges to.

It prints, per repetition and as medians: seconds, seconds per submission, the ratio to
nbgrader, p50/p95 of one submission's grading, peak memory (PSS of the whole process tree) and
the machine's load, then the split of one submission's time by stage (in-process, pre-forked
kernels)::

    .venv/bin/python bench/grade_throughput.py --course -n 24 --repeat 3

``--engines shell,kernel`` runs the CLI and the warm executor once per notebook engine
(``NBCRED_NOTEBOOK_ENGINE``: the in-process runner, pre-forked kernels), side by side with the
same nbgrader run; the default is the configured default (``shell``).
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "differential" / "course"
PROBLEM_SET = "ps1"
BIN = Path(sys.executable).parent


@dataclass
class Run:
    """One measured grading of the N submissions."""

    name: str
    seconds: float
    per_submission: float
    latencies: list[float] = field(default_factory=list)
    peak_mb: float = 0.0
    load: float = 0.0
    cpu_per_submission: float | None = None  # core-seconds of the whole process tree


def build_course(n: int, into: Path) -> tuple[Path, list[Path]]:
    """``course/source/ps1`` and N submissions ``course/submitted/learnerNNNN/ps1``."""
    course = into / "course"
    shutil.copytree(CORPUS / "source" / PROBLEM_SET, course / "source" / PROBLEM_SET)
    learners = sorted(p for p in (CORPUS / "submitted").iterdir() if (p / PROBLEM_SET).is_dir())
    subs = []
    for i in range(n):
        target = course / "submitted" / f"learner{i:04d}" / PROBLEM_SET
        shutil.copytree(learners[i % len(learners)] / PROBLEM_SET, target)
        subs.append(target)
    return course, subs


class TreeMemory:
    """Samples the proportional memory (PSS) of a process and all its descendants."""

    def __init__(self, root: int, interval: float = 0.25) -> None:
        self.root, self.interval, self.peak_kb = root, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak_kb = max(self.peak_kb, sum(_pss_kb(pid) for pid in _descendants(self.root)))


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        found += frontier
    return found


def _pss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _env(course: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            "JUPYTER_CONFIG_DIR": str(course / ".jupyter")}


def run_nbgrader(course: Path, n: int, subs: list[Path] | None = None, problem_set: str = PROBLEM_SET) -> Run:
    """``nbgrader autograde`` on the N first submissions of a fresh course (generate_assignment first).

    With ``subs`` given, the course's other submissions are moved aside for the run.
    """
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        f"c.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.course_id = 'bench'\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(course / 'gradebook.db')!r}\n"
        "c.Execute.timeout = 60\n")
    for stale in ("gradebook.db", "autograded", "release"):
        path = course / stale
        shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
    env = _env(course)
    subprocess.run([str(BIN / "nbgrader"), "generate_assignment", problem_set, "--force"], cwd=course,
                   check=True, capture_output=True, env=env)
    keep = {s.parent.name for s in subs} if subs is not None else None
    aside = course / "aside"
    aside.mkdir(exist_ok=True)
    moved = [p for p in (course / "submitted").iterdir() if keep is not None and p.name not in keep]
    for learner in moved:
        learner.rename(aside / learner.name)
    try:
        load, cpu = os.getloadavg()[0], _children_cpu()
        start = time.perf_counter()
        process = subprocess.Popen([str(BIN / "nbgrader"), "autograde", problem_set, "--force"],
                                   cwd=course, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                   text=True)
        with TreeMemory(process.pid) as memory:
            _out, err = process.communicate()
        seconds = time.perf_counter() - start
    finally:
        for learner in moved:
            (aside / learner.name).rename(course / "submitted" / learner.name)
    if process.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{err[-3000:]}")
    return Run("nbgrader autograde", seconds, seconds / n, [], memory.peak_kb / 1024, load,
               (_children_cpu() - cpu) / n)


def run_cli(course: Path, subs: list[Path], workers: int, home: Path, problem_set: str = PROBLEM_SET,
            settings: dict[str, str] | None = None, label: str = "") -> tuple[Run, list[dict[str, Any]]]:
    """``nbcred grade`` as a new user runs it: a cold process, SQLite gradebook, JSON lines
    (``settings``: extra ``NBCRED_*`` environment variables, named in the row by ``label``)."""
    shutil.rmtree(home, ignore_errors=True)
    env = {**_env(course), "NBCRED_HOME": str(home), **(settings or {})}
    command = [str(BIN / "nbcred"), "grade", str(course / "source" / problem_set), *map(str, subs),
               "--workers", str(workers), "--format", "json"]
    load, cpu = os.getloadavg()[0], _children_cpu()
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with TreeMemory(process.pid) as memory:
        out, err = process.communicate()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"nbcred grade failed ({process.returncode}):\n{err[-3000:]}")
    results = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if len(results) != len(subs):
        raise SystemExit(f"nbcred grade printed {len(results)} results for {len(subs)} submissions")
    run = Run(f"nbcred grade (CLI, cold, workers={workers}){label}", seconds, seconds / len(subs), [],
              memory.peak_kb / 1024, load, (_children_cpu() - cpu) / len(subs))
    return run, results


def run_warm(course: Path, subs: list[Path], workers: int, home: Path, engine: str = "shell",
             label: str = "") -> tuple[Run, list[Any]]:
    """The local executor; the per-submission time counts only once every worker has returned."""
    from nbcred.executors import GradeJob, get_executor
    from nbcred.settings import Settings

    settings = Settings(home=home, notebook_engine=engine)  # type: ignore[arg-type]
    executor = get_executor("local", settings=settings, workers=workers)
    source = str(course / "source" / PROBLEM_SET)
    arrivals: list[float] = []
    results: list[Any] = []

    def collect(job: Any, result: Any) -> None:
        arrivals.append(time.perf_counter())
        results.append(result)

    load = os.getloadavg()[0]
    start = time.perf_counter()
    with TreeMemory(os.getpid()) as memory:
        executor.grade([GradeJob(source, str(s), s.parent.name) for s in subs], on_result=collect)
    seconds = time.perf_counter() - start
    steady = arrivals[workers - 1:]
    per = (steady[-1] - steady[0]) / max(1, len(steady) - 1)
    run = Run(f"nbcred local executor, steady state, workers={workers}{label}", seconds, per,
              [r.seconds for r in results], memory.peak_kb / 1024, load)
    return run, results


def differing_grades(cli: list[dict[str, Any]], warm: list[Any]) -> list[str]:
    """The learners of the cold CLI run whose cells or score the warm executor graded otherwise
    (the executor's results arrive in completion order, so they are matched by learner)."""
    by_cli = {r["learner"]: (r["score"], [c["score"] for c in r["cells"]]) for r in cli}
    by_warm = {r.learner: (r.score, [c.score for c in r.cells]) for r in warm}
    return [f"{learner}: CLI {grades}, executor {by_warm.get(learner)}"
            for learner, grades in by_cli.items() if by_warm.get(learner) != grades]


# --- where one submission's time goes -------------------------------------------------------------

@contextmanager
def _patched(target: Any, name: str, totals: dict[str, list[float]], key: str) -> Iterator[None]:
    original = getattr(target, name)

    def add(wall: float, cpu: float) -> None:
        totals.setdefault(key, [0.0, 0.0])
        totals[key][0] += time.perf_counter() - wall
        totals[key][1] += time.process_time() - cpu

    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        result = original(*args, **kwargs)
        if not asyncio.iscoroutine(result):
            add(wall, cpu)
            return result

        async def awaited() -> Any:
            try:
                return await result
            finally:
                add(wall, cpu)

        return awaited()

    setattr(target, name, timed)
    try:
        yield
    finally:
        setattr(target, name, original)


def stage_split(course: Path, subs: list[Path], home: Path, count: int = 8,
                engine: str = "kernel") -> dict[str, tuple[float, float]]:
    """Wall and grader-CPU seconds per submission for each stage, in this process, with
    pre-forked kernels (``engine="kernel"``) or the in-process runner (``"shell"``)."""
    import grader.grade as grade
    from grader.assessment import load_assessment
    from grader.forkserver import ForkedRunner, KernelTemplate
    from grader.inprocess_runner import InProcessRunner, ShellClient, ShellManager
    from grader.sandbox import FastKernelClient, SandboxedRunner
    from nbcred.store import Store

    assessment = load_assessment(course / "source" / PROBLEM_SET)
    runner = InProcessRunner() if engine == "shell" else ForkedRunner()
    options = grade.GradeOptions(runner=runner, feedback_dir=home / "feedback")
    grade.grade_submission(assessment, subs[0], options=options)  # template started outside
    store = Store.open(f"sqlite:///{home / 'split.sqlite'}")
    totals: dict[str, list[float]] = {}
    patches: list[tuple[Any, str, str]] = [
        (grade, "read_submission", "read + validate notebook"), (grade, "restore", "restore"),
        (grade, "parameterize", "parameters"), (KernelTemplate, "spawn", "fork (template round trip)"),
        (FastKernelClient, "wait_for_ready", "kernel ready (after fork)"),
        (SandboxedRunner, "execute", "execute (kernel start to shutdown)"),
        (ShellManager, "start_kernel", "fork + connect (in-process runner)"),
        (ShellClient, "wait_for_ready", "shell ready (after fork)"),
        (InProcessRunner, "run", "run (fork to end, in-process runner)"),
        (grade, "score_notebook", "scoring"), (grade, "test_feedback", "feedback data"),
        (grade, "write_feedback", "feedback HTML"), (store, "record", "store (SQLite)"),
    ]
    assert runner.template._process is not None
    template = runner.template._process.pid
    with _stack(patches, totals):
        start, cpu, kernels = time.perf_counter(), time.process_time(), _tree_cpu(template)
        for sub in subs[:count]:
            store.record(grade.grade_submission(assessment, sub, options=options),
                         fingerprint=assessment.fingerprint, title=assessment.spec.title)
        whole = (time.perf_counter() - start, time.process_time() - cpu)
        kernels = _tree_cpu(template) - kernels
    runner.close()
    split = {key: (wall / count, cpu / count) for key, (wall, cpu) in totals.items()}
    split["whole submission"] = (whole[0] / count, whole[1] / count)
    split["kernels (template + its ended kernels)"] = (float("nan"), kernels / count)
    return split


def _tree_cpu(pid: int) -> float:
    """CPU seconds of ``pid`` and every child it has reaped (utime, stime, cutime, cstime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _stack(patches: list[tuple[Any, str, str]], totals: dict[str, list[float]]) -> Iterator[None]:
    if not patches:
        yield
        return
    (target, name, key), rest = patches[0], patches[1:]
    with _patched(target, name, totals, key), _stack(rest, totals):
        yield


# --- report -------------------------------------------------------------------------------------

def _row(run: Run, base: float | None) -> str:
    ratio = f"{base / run.per_submission:.1f}x" if base else "1.0x"
    p50 = f"{statistics.median(run.latencies):.3f}" if run.latencies else "-"
    p95 = f"{sorted(run.latencies)[round(0.95 * (len(run.latencies) - 1))]:.3f}" if run.latencies else "-"
    cpu = f"{run.cpu_per_submission:.3f}" if run.cpu_per_submission is not None else "-"
    return (f"{run.name:46} {run.seconds:8.1f} {run.per_submission:8.3f} {ratio:>8} {p50:>7} {p95:>7} "
            f"{run.peak_mb:8.0f} {run.load:5.1f} {cpu:>9}")


#: The throughput targets (issue: lean grading path), as multiples of nbgrader's rate.
STEADY_GOAL, COLD_GOAL = 25.0, 12.0
HEADER = (f"{'runner':46} {'seconds':>8} {'s/sub':>8} {'vs nbg':>8} {'p50 s':>7} {'p95 s':>7} "
          f"{'peak MB':>8} {'load':>5} {'cpu s/sub':>9}")


def _median_or_none(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def targets(medians: dict[str, Run], cold: str, steady: str, small: Run | None,
            say: Callable[[str], None]) -> None:
    """The issue's targets next to what this run measured (every engine's rows)."""
    base = medians.get("nbgrader autograde")
    lines = []
    if base is not None:
        for name, run in medians.items():
            goal, what = ((STEADY_GOAL, "steady state") if name.startswith("nbcred local") else
                          (COLD_GOAL, "cold CLI batch") if name.startswith("nbcred grade") else (0, ""))
            if goal:
                ratio = base.per_submission / run.per_submission
                engine = name.rsplit("[", 1)[-1].rstrip("]") if "[" in name else ""
                lines.append(f"  {what + ' ' + engine:34} {ratio:5.1f}x nbgrader  (target >= {goal:.0f}x): "
                             f"{'met' if ratio >= goal else 'NOT met'}")
    if small is not None and steady in medians:
        big = medians[steady]
        growth = big.peak_mb / small.peak_mb if small.peak_mb else float("nan")
        lines.append(f"  {'memory, warm executor':34} {small.peak_mb:.0f} MB at {len(small.latencies)} -> "
                     f"{big.peak_mb:.0f} MB at {len(big.latencies)} submissions ({growth:.2f}x; flat "
                     f"= within 1.15x): {'met' if growth <= 1.15 else 'NOT met'}")
    if lines:
        say("\ntargets (issue: throughput)\n" + "\n".join(lines))


def main(n: int, repeat: int, workers: int, skip_nbgrader: bool, split: bool,
         say: Callable[[str], None] = print, steady_n: int | None = None,
         engines: tuple[str, ...] = ("shell",)) -> None:
    """Run the course benchmark ``repeat`` times and print every run, the medians and the split.

    ``steady_n`` (default ``n``): how many submissions the warm executor grades for the steady
    state (the issue measures it on 240); nbgrader and the cold CLI grade ``n``. With a larger
    ``steady_n`` the warm executor also grades ``n`` once, so peak memory is shown at both sizes.
    """
    steady_n = max(n, steady_n or n)
    with tempfile.TemporaryDirectory(prefix="nbcred-course-") as tmp_name:
        tmp = Path(tmp_name)
        course, subs = build_course(steady_n, tmp)
        say(f"course mode: {n} submissions of {PROBLEM_SET} (2 notebooks + data.csv) from "
            f"{CORPUS.relative_to(ROOT)} (steady state on {steady_n}), {os.cpu_count()} cores, "
            f"load {os.getloadavg()[0]:.1f}")
        rows: dict[str, list[Run]] = {}
        small: Run | None = None
        for rep in range(repeat):
            runs = [] if skip_nbgrader else [run_nbgrader(course, n, subs[:n])]
            for engine in engines:
                label = f" [{engine}]" if len(engines) > 1 else ""
                cli, cli_results = run_cli(course, subs[:n], workers, tmp / f"cli{rep}",
                                           settings={"NBCRED_NOTEBOOK_ENGINE": engine}, label=label)
                if steady_n > n and small is None:
                    small, _ = run_warm(course, subs[:n], workers, tmp / "warm-small", engine, label)
                warm, warm_results = run_warm(course, subs, workers, tmp / f"warm{rep}{engine}",
                                              engine, label)
                differing = differing_grades(cli_results, warm_results)
                if differing:
                    raise SystemExit("the CLI and the executor disagree on a grade:\n" + "\n".join(differing))
                runs += [cli, warm]
            base = None if skip_nbgrader else runs[0].per_submission
            say(f"\nrepetition {rep + 1}\n{HEADER}")
            for run in runs:
                say(_row(run, base))
                rows.setdefault(run.name, []).append(run)
        say(f"\nmedians of {repeat} repetitions (ratios of the medians)\n{HEADER}")
        medians = {name: Run(name, statistics.median(r.seconds for r in rs),
                             statistics.median(r.per_submission for r in rs),
                             [x for r in rs for x in r.latencies],
                             statistics.median(r.peak_mb for r in rs), statistics.median(r.load for r in rs),
                             _median_or_none([r.cpu_per_submission for r in rs]))
                   for name, rs in rows.items()}
        base = None if skip_nbgrader else medians["nbgrader autograde"].per_submission
        for run in medians.values():
            say(_row(run, base))
        cold_name = next((k for k in medians if k.startswith("nbcred grade")), "")
        steady_name = next((k for k in medians if k.startswith("nbcred local")), "")
        targets(medians, cold_name, steady_name, small, say)
        if split:
            for engine in engines:
                what = "the in-process runner" if engine == "shell" else "pre-forked kernels"
                say(f"\nwhere one submission's time goes ({min(8, n)} submissions in this process, "
                    f"{what}; wall s / grader CPU s per submission; load {os.getloadavg()[0]:.1f}):")
                for key, (wall, cpu) in stage_split(course, subs[:n], tmp / f"split-{engine}",
                                                    engine=engine).items():
                    say(f"  {key:38} {wall:7.4f} {cpu:7.4f}")
