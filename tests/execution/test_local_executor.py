"""The local executor: parallel workers, streamed results, a killed worker loses nothing."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from grader.results import GradeResult
from nbcred.executors import GradeJob, get_executor
from nbcred.executors.local import LocalExecutor
from nbcred.executors.progress import GradingProgress
from nbcred.settings import Settings

pytestmark = pytest.mark.slow


def _kill_first_busy_worker(executor: LocalExecutor, killed: list[int]) -> None:
    """SIGKILL the first worker seen running a kernel (a grandchild: worker → template → kernel)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not killed:
        for pid in list(executor.pids):
            try:
                kernels = [g for c in psutil.Process(pid).children() for g in c.children()]
            except psutil.NoSuchProcess:
                continue
            if kernels:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.05)


def test_killed_worker_still_yields_one_result_per_job(
    tmp_path: Path, slow_assessment: tuple[Path, list[Path]]
) -> None:
    root, subs = slow_assessment
    executor = LocalExecutor(settings=Settings(home=tmp_path / "home"), workers=2)
    jobs = [GradeJob(str(root), str(s)) for s in subs]
    killed: list[int] = []
    killer = threading.Thread(target=_kill_first_busy_worker, args=(executor, killed))
    killer.start()
    results: list[tuple[GradeJob, GradeResult]] = []
    executor.grade(jobs, on_result=lambda job, result: results.append((job, result)))
    killer.join()
    assert killed, "no worker was caught running a kernel"
    assert sorted(j.submission for j, _ in results) == sorted(j.submission for j in jobs)
    crashed = [r for _, r in results if r.errors]
    assert len(crashed) == 1
    assert "killed by signal 9" in crashed[0].errors[0]
    assert crashed[0].content_hash, "a crashed job keeps its content hash so it can be stored"
    assert all(r.score == 1.0 for _, r in results if not r.errors)
    assert len(executor.pids) == 3  # the dead worker was replaced
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in killed)


def test_results_stream_while_the_batch_runs(
    tmp_path: Path, slow_assessment: tuple[Path, list[Path]]
) -> None:
    root, subs = slow_assessment
    executor = get_executor("local", settings=Settings(home=tmp_path / "home"), workers=2)
    stamps: list[float] = []
    start = time.monotonic()
    with GradingProgress(len(subs), disable=True) as progress:
        def on_result(job: GradeJob, result: GradeResult) -> None:
            stamps.append(time.monotonic() - start)
            progress.advance(result)

        executor.grade([GradeJob(str(root), str(s)) for s in subs], on_result=on_result)
    assert progress.passed == 3 and progress.done == 3
    assert stamps[0] < stamps[-1] - 2, "the first result must arrive before the last job ends"


def test_missing_assessment_is_an_error_result(tmp_path: Path) -> None:
    executor = get_executor("local", settings=Settings(home=tmp_path), workers=1)
    got: list[GradeResult] = []
    executor.grade([GradeJob(str(tmp_path / "nope"), str(tmp_path))], on_result=lambda j, r: got.append(r))
    assert len(got) == 1 and "could not be loaded" in got[0].errors[0]


def test_unknown_executor_names_the_choices(tmp_path: Path) -> None:
    from nbcred.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="local"):
        get_executor("threads", settings=Settings(home=tmp_path), workers=1)


def test_workers_started_ahead_grade_the_batch_and_unused_ones_end(
    tmp_path: Path, slow_assessment: tuple[Path, list[Path]]
) -> None:
    """``start_workers`` before the jobs are known (``nbcred grade`` does); ``grade`` uses them."""
    root, subs = slow_assessment
    executor = LocalExecutor(settings=Settings(home=tmp_path / "home"), workers=2)
    executor.start_workers(3, assessment=str(root))
    got: list[GradeResult] = []
    executor.grade([GradeJob(str(root), str(subs[0]))], on_result=lambda job, result: got.append(result))
    assert len(got) == 1 and got[0].score == 1.0 and not got[0].errors
    assert len(executor.pids) == 2, "grade started workers of its own"
    unused = [p for p in executor.pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert not unused, "the worker that got no job still runs"
    executor.close()  # nothing left to end
