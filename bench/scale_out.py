"""The distributed path against the local executor: one cohort graded by W worker processes.

For each W in ``--workers`` (default 1, 2, 4) the same cohort of N submissions (default 500; one
learner's notebook, made distinct per learner so each is its own content) is graded

* by the local executor with W workers (the embedded default: folders on this machine), and
* by W ``nbcred worker`` processes over the shared store: NBCRED_STORAGE=database on PostgreSQL,
  Celery on Redis. The timed part includes shipping each submission to the store, the task,
  the worker fetching it, grading, shipping the feedback and executed notebook back and the
  sender pulling them into its home — everything the distributed path adds.

Each timing starts after a warm-up batch (W submissions, not counted), so worker start-up is
left out of both. Prints wall time, submissions/s, and the distributed path's overhead per
submission against the local executor at the same W, per repetition and as medians::

    NBCRED_BENCH_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench \\
    NBCRED_BENCH_REDIS_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/scale_out.py -n 500

The PostgreSQL database's public schema and the Redis database are emptied before each run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.results import GradeResult  # noqa: E402
from nbcred.executors import GradeJob, get_executor  # noqa: E402
from nbcred.settings import Settings  # noqa: E402

NBCRED = str(Path(sys.executable).parent / "nbcred")
#: As the web service does (False): the sender leaves feedback files in the store until viewed.
PULL_FEEDBACK = "--pull-feedback" in sys.argv


def cohort(learner: Path, n: int, into: Path, tag: str) -> list[Path]:
    """N submissions: the learner's notebooks, each with its own metadata (so its own content)."""
    folders = []
    for i in range(n):
        folder = into / f"learner{i:04d}"
        folder.mkdir(parents=True)
        for notebook in learner.glob("*.ipynb"):
            document = json.loads(notebook.read_text())
            document.setdefault("metadata", {})["bench"] = f"{tag}-{i}"
            (folder / notebook.name).write_text(json.dumps(document))
        folders.append(folder)
    return folders


def jobs(assessment: Path, folders: list[Path]) -> list[GradeJob]:
    return [GradeJob(str(assessment), str(f), f.name) for f in folders]


def local_run(assessment: Path, warm: list[Path], timed: list[Path], workers: int, home: Path) -> float:
    executor = get_executor("local", settings=Settings(home=home), workers=workers)
    executor.grade(jobs(assessment, warm), on_result=lambda job, result: None)
    results: list[GradeResult] = []
    start = time.perf_counter()
    executor.grade(jobs(assessment, timed), on_result=lambda job, result: results.append(result))
    elapsed = time.perf_counter() - start
    close = getattr(executor, "close", None)
    if callable(close):
        close()
    check(results, len(timed))
    return elapsed


def check(results: list[GradeResult], expected: int) -> None:
    failed = [r.errors for r in results if r.errors or not r.passed]
    if len(results) != expected or failed:
        raise SystemExit(f"{len(results)} results of {expected}; failures: {failed[:3]}")


def reset(postgres: str, redis_url: str) -> None:
    import redis
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    redis.Redis.from_url(redis_url).flushdb()


def celery_run(assessment: Path, warm: list[Path], timed: list[Path], workers: int, root: Path,
               postgres: str, redis_url: str) -> float:
    from nbcred.executors.celery_app import CeleryExecutor, CelerySettings

    reset(postgres, redis_url)
    queue = f"nbcred-bench-{uuid.uuid4().hex[:8]}"
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("NBCRED_")},
           "NBCRED_DATABASE_URL": postgres, "NBCRED_STORAGE": "database", "NBCRED_EXECUTOR": "celery",
           "NBCRED_BROKER_URL": redis_url, "NBCRED_RESULT_BACKEND": redis_url,
           "NBCRED_CELERY_QUEUE": queue, "NBCRED_HOME": str(root / "worker-home")}
    log = (root / "worker.log").open("wb")
    worker = subprocess.Popen([NBCRED, "worker", "--concurrency", str(workers), "--loglevel=WARNING"],
                              env=env, stdout=log, stderr=subprocess.STDOUT, cwd=root,
                              start_new_session=True)
    try:
        settings = Settings(home=root / "app-home", database_url=postgres, storage="database",
                            executor="celery", broker_url=redis_url, result_backend=redis_url)
        executor = CeleryExecutor(settings=settings, extra=CelerySettings(queue=queue),
                                  pull_feedback=PULL_FEEDBACK)
        executor.grade(jobs(assessment, warm), on_result=lambda job, result: None)
        results: list[GradeResult] = []
        start = time.perf_counter()
        executor.grade(jobs(assessment, timed), on_result=lambda job, result: results.append(result))
        elapsed = time.perf_counter() - start
        check(results, len(timed))
        return elapsed
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=500, help="submissions in the cohort (default 500)")
    parser.add_argument("--workers", default="1,2,4", help="worker processes to compare (default 1,2,4)")
    parser.add_argument("--repeat", type=int, default=1, help="repetitions (medians are reported)")
    parser.add_argument("--pull-feedback", action="store_true",
                        help="the sender pulls each feedback page and executed notebook into its home "
                        "as results arrive (as `nbcred grade --executor celery` does); default: left in "
                        "the store until first viewed, as the web service does")
    parser.add_argument("--assessment", type=Path, default=ROOT / "assessments" / "pandas-cleaning")
    parser.add_argument("--learner", type=Path, default=ROOT / "notebooks" / "pandas-cleaning" / "alice")
    args = parser.parse_args()
    postgres = os.environ.get("NBCRED_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
    redis_url = os.environ.get("NBCRED_BENCH_REDIS_URL", "redis://127.0.0.1:6379/4")
    counts = [int(w) for w in args.workers.split(",")]
    figures: dict[tuple[str, int], list[float]] = {}
    print(f"cohort: {args.n} submissions of {args.assessment.name} ({args.learner.name}'s notebook); "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}", flush=True)
    for repetition in range(args.repeat):
        for workers in counts:
            for mode in ("local", "celery"):
                with tempfile.TemporaryDirectory(prefix="nbcred-scale-bench-") as tmp:
                    root = Path(tmp)
                    tag = f"{repetition}-{workers}-{mode}"
                    warm = cohort(args.learner, workers, root / "warm", "warm-" + tag)
                    timed = cohort(args.learner, args.n, root / "cohort", tag)
                    if mode == "local":
                        seconds = local_run(args.assessment, warm, timed, workers, root / "home")
                    else:
                        seconds = celery_run(args.assessment, warm, timed, workers, root, postgres, redis_url)
                    shutil.rmtree(root / "cohort", ignore_errors=True)
                figures.setdefault((mode, workers), []).append(seconds)
                print(f"run {repetition + 1}: {mode:6} W={workers}: {seconds:7.1f} s, "
                      f"{args.n / seconds:6.2f} submissions/s (load {os.getloadavg()[0]:.1f})", flush=True)
    print("\nmedians (W = worker processes):")
    print(f"{'W':>2} {'local s':>9} {'celery s':>9} {'local/s':>8} {'celery/s':>9} {'overhead':>9} "
          f"{'per submission':>15}")
    for workers in counts:
        local = statistics.median(figures[("local", workers)])
        celery = statistics.median(figures[("celery", workers)])
        extra_ms = (celery - local) / args.n * 1000 * workers  # per submission, per worker process
        print(f"{workers:>2} {local:9.1f} {celery:9.1f} {args.n / local:8.2f} {args.n / celery:9.2f} "
              f"{(celery / local - 1) * 100:8.1f}% {extra_ms:12.1f} ms")


if __name__ == "__main__":
    main()
