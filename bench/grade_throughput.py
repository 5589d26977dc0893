"""Throughput of nbcred's grading against ``nbgrader autograde`` on the same submissions.

Generates N copies of one learner's submission, grades them with real ``nbgrader autograde``
(a temporary course) and with nbcred's local executor (pre-forked sandboxed kernels) at 1 and 2
workers, and prints submissions/hour, the ratio to nbgrader, the p50/p95 latency of one
submission (grading start → feedback written) and a profile of where nbcred's time goes::

    .venv/bin/python bench/grade_throughput.py            # N = 24
    .venv/bin/python bench/grade_throughput.py -n 48 --assessment assessments/sql-from-python \\
        --learner notebooks/sql-from-python/alice

``--course`` (bench/course_mode.py) and ``--data-science`` (bench/data_science.py) are the
side-by-side modes of issue 14.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.assessment import load_assessment  # noqa: E402
from grader.grade import GradeOptions, grade_submission  # noqa: E402
from grader.results import GradeResult  # noqa: E402
from nbcred.executors import GradeJob, get_executor  # noqa: E402
from nbcred.settings import Settings  # noqa: E402


def make_submissions(learner: Path, n: int, into: Path) -> list[Path]:
    """N copies of the learner's submission folder, one per fake learner."""
    folders = []
    for i in range(n):
        folder = into / f"learner{i:04d}"
        shutil.copytree(learner, folder)
        folders.append(folder)
    return folders


def run_nbgrader(assessment: Path, learner: Path, n: int, tmp: Path) -> float:
    """Seconds ``nbgrader autograde`` takes for N submissions in a fresh course."""
    course = tmp / "course"
    name = "bench"
    source = course / "source" / name
    src_dir = assessment / "source" if (assessment / "source").is_dir() else assessment
    shutil.copytree(src_dir, source)
    for i in range(n):
        shutil.copytree(learner, course / "submitted" / f"learner{i:04d}" / name)
    (course / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.root = {str(course)!r}\n"
        f"c.CourseDirectory.course_id = 'bench'\n"
        f"c.CourseDirectory.db_url = {'sqlite:///' + str(tmp / 'gradebook.db')!r}\nc.Execute.timeout = 60\n")
    bindir = str(Path(sys.executable).parent)  # nbgrader runs ``alembic`` from PATH
    env = {**os.environ, "PATH": f"{bindir}:{os.environ.get('PATH', '')}",
           "JUPYTER_CONFIG_DIR": str(course / ".jupyter")}
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    subprocess.run([nbgrader, "generate_assignment", name, "--force"], cwd=course, check=True,
                   capture_output=True, env=env)
    start = time.perf_counter()
    done = subprocess.run([nbgrader, "autograde", name, "--force"], cwd=course, capture_output=True,
                          text=True, env=env)
    if done.returncode != 0:
        raise SystemExit(f"nbgrader autograde failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return time.perf_counter() - start


def run_nbcred(
    assessment: Path, subs: list[Path], workers: int, home: Path
) -> tuple[float, list[GradeResult]]:
    """Seconds nbcred's local executor takes for the submissions, and the results."""
    executor = get_executor("local", settings=Settings(home=home), workers=workers)
    results: list[GradeResult] = []
    start = time.perf_counter()
    executor.grade([GradeJob(str(assessment), str(s)) for s in subs],
                   on_result=lambda job, result: results.append(result))
    return time.perf_counter() - start, results


def profile(assessment: Path, subs: list[Path], home: Path, top: int = 18) -> str:
    """cProfile summary of grading a few submissions in this process with pre-forked kernels."""
    from grader.forkserver import ForkedRunner

    loaded = load_assessment(assessment)
    runner = ForkedRunner()
    options = GradeOptions(runner=runner, feedback_dir=home / "feedback")
    grade_submission(loaded, subs[0], options=options)  # start the template outside the profile
    prof = cProfile.Profile()
    prof.enable()
    for sub in subs[:8]:
        grade_submission(loaded, sub, options=options)
    prof.disable()
    runner.close()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=24, help="number of submissions (default 24)")
    parser.add_argument("--assessment", type=Path, default=ROOT / "assessments" / "pandas-cleaning")
    parser.add_argument("--learner", type=Path, default=ROOT / "notebooks" / "pandas-cleaning" / "alice")
    parser.add_argument("--skip-nbgrader", action="store_true")
    parser.add_argument("--no-profile", action="store_true")
    parser.add_argument("--course", action="store_true",
                        help="course mode: a plain nbgrader problem set, nbgrader vs nbcred CLI vs warm "
                        "executor, medians of --repeat runs (see bench/course_mode.py)")
    parser.add_argument("--data-science", action="store_true",
                        help="data-science mode: a compute-heavy pandas/numpy/matplotlib problem set, "
                        "nbgrader vs nbcred with and without the per-assessment preload, against the "
                        "bound its own cell time allows (see bench/data_science.py)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="course and data-science modes: repetitions (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="course mode: nbcred workers (default 2)")
    parser.add_argument("--engines", default="shell",
                        help="course mode: notebook engines to compare, comma-separated: shell "
                        "(in-process runner, the default) and/or kernel (pre-forked kernels)")
    parser.add_argument("--steady-n", type=int, default=None,
                        help="course mode: submissions for the warm executor's steady state "
                        "(default -n; the issue's figure is 240)")
    args = parser.parse_args()
    if args.data_science:
        from data_science import main as data_science_main

        data_science_main(args.n, args.repeat, args.workers, args.skip_nbgrader)
        return
    if args.course:
        from course_mode import main as course_main

        course_main(args.n, args.repeat, args.workers, args.skip_nbgrader, not args.no_profile,
                    steady_n=args.steady_n, engines=tuple(args.engines.split(",")))
        return
    with tempfile.TemporaryDirectory(prefix="nbcred-bench-") as tmp_name:
        tmp = Path(tmp_name)
        subs = make_submissions(args.learner, args.n, tmp / "subs")
        print(f"{args.n} copies of {args.learner.relative_to(ROOT)} against "
              f"{args.assessment.relative_to(ROOT)}")
        rows: list[tuple[str, float, list[float]]] = []
        if not args.skip_nbgrader:
            rows.append(("nbgrader autograde", run_nbgrader(args.assessment, args.learner, args.n, tmp), []))
        for workers in (1, 2):
            seconds, results = run_nbcred(args.assessment, subs, workers, tmp / f"home{workers}")
            assert len(results) == args.n and len({r.score for r in results}) == 1, "inconsistent grades"
            rows.append((f"nbcred local, workers={workers}", seconds, [r.seconds for r in results]))
        base = rows[0][1] if not args.skip_nbgrader else None
        print(f"{'runner':28} {'seconds':>8} {'subs/hour':>10} {'vs nbgrader':>12} {'p50 s':>7} {'p95 s':>7}")
        for name, seconds, lat in rows:
            ratio = f"{base / seconds:.1f}x" if base else "-"
            p50 = f"{statistics.median(lat):.3f}" if lat else "-"
            p95 = f"{percentile(lat, 0.95):.3f}" if lat else "-"
            print(f"{name:28} {seconds:8.1f} {args.n / seconds * 3600:10.0f} {ratio:>12} {p50:>7} {p95:>7}")
        print("(seconds include starting the workers and their kernel templates; latency is one "
              "submission's grading, from reading it to its feedback file written)")
        if not args.no_profile:
            print("\nWhere the time goes (8 submissions, pre-forked kernels, in-process):")
            print(profile(args.assessment, subs, tmp / "profile"))


if __name__ == "__main__":
    main()
