"""Executors: where grading jobs run. A registry built on request, never at import time.

``local``  — worker processes on this machine (:mod:`nbcred.executors.local`);
``celery`` — Celery workers on any number of machines (:mod:`nbcred.executors.celery_app`);
``inline`` — one job after another in this process, unsandboxed (tests, debugging).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from grader.results import GradeResult
from nbcred.errors import ConfigurationError
from nbcred.pipeline import Executor, GradeJob
from nbcred.settings import Settings

__all__ = ["EXECUTORS", "Executor", "GradeJob", "get_executor"]


def _local(settings: Settings, workers: int, runner: str) -> Executor:
    from nbcred.executors.local import LocalExecutor

    return LocalExecutor(settings=settings, workers=workers, runner=runner)


def _celery(settings: Settings, workers: int, runner: str) -> Executor:
    from nbcred.executors.celery_app import CeleryExecutor

    executor: Executor = CeleryExecutor(settings=settings)
    return executor


class InlineExecutor:
    """Grades jobs one after another in this process with a plain local kernel (tests, debugging)."""

    def __init__(self, settings: Settings) -> None:
        from nbcred.executors.work import JobGrader

        self.grader = JobGrader(settings, "plain")

    def grade(
        self, jobs: Sequence[GradeJob], *, on_result: Callable[[GradeJob, GradeResult], None]
    ) -> None:
        for job in jobs:
            on_result(job, self.grader.grade(job))


def _inline(settings: Settings, workers: int, runner: str) -> Executor:
    return InlineExecutor(settings)


EXECUTORS: dict[str, Callable[[Settings, int, str], Executor]] = {
    "local": _local, "celery": _celery, "inline": _inline,
}


def get_executor(name: str, *, settings: Settings, workers: int, runner: str = "auto") -> Executor:
    """The executor called ``name`` with ``workers`` processes; ``runner`` picks how kernels start.

    ``runner`` is ``auto`` (when the machine allows forking from a template: Python notebooks
    run in-process in one forked, sandboxed shell per notebook, or in pre-forked kernels with
    ``notebook_engine = "kernel"``; else sandboxed kernels started from scratch), ``inprocess``,
    ``forked`` (pre-forked kernels), ``sandboxed`` or ``plain`` (no sandbox).
    """
    try:
        factory = EXECUTORS[name]
    except KeyError:
        raise ConfigurationError(
            f"unknown executor {name!r}; choose one of: {', '.join(sorted(EXECUTORS))}"
        ) from None
    return factory(settings, max(1, workers), runner)
